"""Fourier-domain reconstruction of sub-sampled images of periodic crystals.

A randomly sub-sampled image ``x * m`` has the spectrum ``X (*) M``: for a uniformly
random mask of density ``f``, ``M`` is ``f`` times a delta at zero frequency plus a
flat, noise-like floor. Dividing the zero-filled image by ``f`` therefore keeps the
lattice peaks of a crystal at their true amplitude on top of a flat floor, which two
classical filters exploit:

- :func:`fourier_lowpass`: normalised convolution (Knutsson & Westin 1993): the
  zero-filled image and the mask are low-pass filtered with the same Gaussian window
  and divided, which is a local, density-normalised average (the mean level is right
  wherever the sampling density varies), then the measured pixels are put back;
- :func:`fourier_global`: keep only the ``top_k`` strongest Fourier amplitudes inside
  a radius (the lattice peaks and their immediate neighbours), which gives the
  "global structure" (unit-cell average) image used to study periodic crystals.

Defaults come from the lattice peaks of the data (:func:`lattice_peaks`). Frames are
treated as repeated scans of the same region: they are summed before filtering (each
adds its own samples) and the result is broadcast to every frame.
"""

import warnings

import numpy as np
from scipy import fft

from hyperspy_cs.classical._interpolate import channel_blocks, check_inputs
from hyperspy_cs._validate import check_bool, check_positive_int, check_positive_number

# Peaks closer to zero frequency than this many frequency bins are the image's slow
# background (illumination, thickness), not the lattice.
_DC_EXCLUSION_BINS = 3
# A lattice peak must exceed the median of its frequency ring by this factor times the
# expected maximum of pure-noise bins (see lattice_peaks). 1.5 keeps weak high-order
# peaks of a known lattice; use STRICT_PEAK_MARGIN to decide whether there is one.
_PEAK_MARGIN = 1.5
# 4 puts the threshold at ~64 for a 256 x 256 image: above the strongest
# ring-normalised bins of a natural image (~45 for skimage's camera, fully sampled),
# far below those of an atomic-resolution lattice (hundreds for SrTiO3 at 10 %).
STRICT_PEAK_MARGIN = 4.0
# Least reference level of lattice_peaks, as a fraction of the mean power per bin.
_POWER_FLOOR = 0.1
# "Just beyond" the highest-order lattice peak that is kept.
_BEYOND_PEAK = 1.15
# A window sharper than the sampling allows leaves gaps: the half-amplitude cutoff is
# at least this fraction of the Nyquist frequency of a regular grid of equal density
# (spacing 1 / sqrt(f) pixels, Nyquist 0.5 sqrt(f) cycles/pixel).
_DENSITY_CUTOFF = 0.7
# Least smoothed sampling density of fourier_lowpass, relative to its maximum: where
# the density is lower the kernel reaches no sample beyond round-off.
_DENSITY_FLOOR = 1e-6


def zero_filled(data, observed):
    """Sum the measured values and the visit counts over frames.

    Parameters
    ----------
    data : numpy.ndarray, float64, shape (F, R, C, N)
    observed : numpy.ndarray of bool, shape (F, R, C)

    Returns
    -------
    sums : numpy.ndarray, shape (R, C, N)
        Sum over frames of the measured values, zero where nothing was measured
        (unobserved entries of ``data`` are never read, even if NaN).
    counts : numpy.ndarray, shape (R, C)
        Number of frames that measured each position.
    """
    sums = np.where(observed[..., None], data, 0.0).sum(axis=0)
    return sums, observed.sum(axis=0).astype(np.float64)


def _significance(image, margin, *, windowed=True):
    """Ring-normalised power spectrum of an ``(R, C, N)`` image and its peak threshold.

    Returns ``(normalised, threshold, power, ring, k_row, k_col)``; see
    :func:`lattice_peaks` for the normalisation. ``windowed`` applies a Hann window
    (clean peaks, but each spread over its 3 x 3 neighbours).
    """
    rows, cols = image.shape[:2]
    window = np.outer(np.hanning(rows), np.hanning(cols))[..., None] if windowed else 1.0
    centred = (image - image.mean(axis=(0, 1))) * window
    power = np.zeros((rows, cols))
    for block in channel_blocks(rows * cols, image.shape[-1]):
        power += (np.abs(fft.fft2(centred[..., block], axes=(0, 1))) ** 2).sum(axis=-1)
    k_row = fft.fftfreq(rows)[:, None]
    k_col = fft.fftfreq(cols)[None, :]
    # Rings one frequency bin (of the shorter side) wide.
    ring = np.rint(np.hypot(k_row, k_col) * min(rows, cols)).astype(np.int64)
    ring_median = np.array([np.median(power[ring == r]) if (ring == r).any() else 0.0
                            for r in range(ring.max() + 1)])
    # Rings far below the mean power (the high frequencies of a smooth or noise-free
    # image) would make round-off and resampling ripples look like peaks: a lattice
    # fringe carries a good part of the image's power, so the reference level is at
    # least a tenth of the mean power per bin.
    floor = _POWER_FLOOR * power.mean() + np.finfo(float).tiny
    normalised = power / np.maximum(ring_median[ring], floor)
    threshold = margin * np.log(power.size) / np.log(2.0)
    return normalised, threshold, power, ring, k_row, k_col


def lattice_peaks(image, *, margin=_PEAK_MARGIN):
    """Find the lattice peaks of an image (or a density-normalised zero-filled image).

    The power spectrum (Hann-windowed, summed over channels) is divided by the median
    of its own frequency ring (but no less than a tenth of the mean power), which
    flattens the smooth ``1/k^2`` decay of natural
    images and of the sampling floor. A bin is a peak when it is a local maximum
    above ``margin * ln(n_bins) / ln(2)``: ring-normalised noise is roughly
    exponential with median 1, so ``ln(n_bins) / ln(2)`` is where the largest of
    ``n_bins`` pure-noise bins lands.

    Parameters
    ----------
    image : numpy.ndarray, shape (R, C, N)
    margin : float
        Factor over the expected largest pure-noise bin.

    Returns
    -------
    numpy.ndarray, float64, shape (n_peaks, 2)
        Peak frequencies ``(k_row, k_col)`` in cycles per pixel, strongest first; both
        members of each ``+k / -k`` pair are included. Empty when the image shows no
        lattice.
    """
    normalised, threshold, power, ring, k_row, k_col = _significance(image, margin)
    # Local maxima on the periodic frequency grid (3 x 3 neighbourhood).
    neighbours = np.max([np.roll(normalised, (dr, dc), axis=(0, 1))
                         for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)], axis=0)
    is_peak = (normalised > threshold) & (normalised >= neighbours) & (ring >= _DC_EXCLUSION_BINS)
    peak_rows, peak_cols = np.nonzero(is_peak)
    # Ranked by raw power: the ring normalisation that decides what is a peak favours
    # weak high-frequency peaks (scan noise) over the main lattice fringes.
    order = np.argsort(-power[peak_rows, peak_cols], kind="stable")
    return np.column_stack([k_row[peak_rows[order], 0], k_col[0, peak_cols[order]]])


def _significant_bins(image, radius):
    """Number of non-zero frequencies within ``radius`` that stand above the noise.

    Same test as :func:`lattice_peaks` without asking for a local maximum, and on the
    unwindowed spectrum that fourier_global filters, so the bins into which a peak
    leaks (field of view not a whole number of unit cells) count when they are
    strong, and those of an exactly periodic image do not.
    """
    normalised, threshold, _, ring, k_row, k_col = _significance(image, _PEAK_MARGIN,
                                                                 windowed=False)
    inside = (np.hypot(k_row, k_col) <= radius) & (ring > 0)
    return int((inside & (normalised > threshold)).sum())


def _check_inputs(data, observed, cutoff_like, name):
    data, observed = check_inputs(data, observed)
    if cutoff_like is not None:
        check_positive_number(cutoff_like, name=name)
        if cutoff_like > np.sqrt(0.5):
            raise ValueError(f"{name}: expected a frequency in cycles/pixel <= sqrt(0.5), "
                             f"got {cutoff_like}")
    return data, observed


def _broadcast(estimate, data, observed, reblend):
    """Repeat the ``(R, C, N)`` estimate over frames, putting measured pixels back."""
    out = np.repeat(estimate[None], data.shape[0], axis=0)
    if reblend:
        out[observed] = data[observed]
    return out


def fourier_lowpass(data, observed, *, cutoff=None, reblend=True):
    """Low-pass, density-normalised reconstruction (normalised convolution).

    Parameters
    ----------
    data : numpy.ndarray, shape (F, R, C, N)
        Measured values; the F frames are repeated scans of one region.
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited.
    cutoff : float, optional
        Frequency (cycles/pixel, at most ``sqrt(0.5)``) where the Gaussian window
        falls to one half. Default: just beyond the highest-order lattice peak
        (``1.15 |k|max``), but no lower than ``0.7 * 0.5 * sqrt(f)`` for a mean
        sampling density ``f``, below which the window is too sharp for the gaps
        between samples.
    reblend : bool
        Put the measured values back at the observed positions of each frame.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
        The same estimate in every frame (measured pixels re-blended per frame).
    """
    data, observed = _check_inputs(data, observed, cutoff, "cutoff")
    reblend = check_bool(reblend, name="reblend")
    sums, counts = zero_filled(data, observed)
    if cutoff is None:
        cutoff = default_cutoff(sums / counts.mean(), observed.mean())
    rows, cols = counts.shape
    # Even (mirror) extension makes the image periodic, so the FFT does not wrap the
    # left edge onto the right one.
    window = _positive_window(2 * rows, 2 * cols, cutoff)

    def smooth(values):
        padded = np.pad(values, ((0, rows), (0, cols), (0, 0)), mode="symmetric")
        spectrum = fft.rfft2(padded, axes=(0, 1)) * window[..., None]
        return fft.irfft2(spectrum, s=padded.shape[:2], axes=(0, 1))[:rows, :cols]

    # The kernel is positive, so each estimate is a weighted mean of the measured
    # values. Far from every sample (a sharp window, large gaps) both smoothed terms
    # come down to round-off: the values are centred on their mean and the density
    # floored relative to its maximum, so the estimate there tends to the mean
    # instead of a ratio of round-off errors.
    mean = sums.sum(axis=(0, 1)) / counts.sum()
    density = smooth(counts[..., None])[..., 0]
    density = np.maximum(density, _DENSITY_FLOOR * density.max())
    estimate = np.empty(sums.shape)
    for block in channel_blocks(4 * rows * cols, sums.shape[-1]):
        centred = sums[..., block] - mean[block] * counts[..., None]
        estimate[..., block] = mean[block] + smooth(centred) / density[..., None]
    return _broadcast(estimate, data, observed, reblend)


def _positive_window(rows, cols, cutoff):
    """Transfer function ``(rows, cols // 2 + 1)`` of a periodic Gaussian kernel whose
    amplitude falls to one half at ``cutoff`` cycles/pixel.

    The kernel is built in real space (so it is positive, however sharp the window:
    a Gaussian cut off at the Nyquist frequency would ring, and its smoothed density
    could come near 0 or below it between samples), then transformed.
    """
    sigma = np.sqrt(np.log(2.0) / 2.0) / (np.pi * cutoff)
    d_row = np.minimum(np.arange(rows), rows - np.arange(rows))[:, None]
    d_col = np.minimum(np.arange(cols), cols - np.arange(cols))[None, :]
    kernel = np.exp(-(d_row ** 2 + d_col ** 2) / (2.0 * sigma ** 2))
    return fft.rfft2(kernel / kernel.sum()).real


def default_cutoff(image, density):
    """Default low-pass cutoff (cycles/pixel) of :func:`fourier_lowpass`, see there."""
    floor = _DENSITY_CUTOFF * 0.5 * np.sqrt(density)
    peaks = lattice_peaks(image)
    if len(peaks) == 0:
        return floor
    return max(floor, _BEYOND_PEAK * np.hypot(*peaks.T).max())


def fourier_global(data, observed, *, top_k=None, radius=None, reblend=False):
    """Global-structure image: the strongest Fourier components within a radius.

    Parameters
    ----------
    data : numpy.ndarray, shape (F, R, C, N)
        Measured values; the F frames are repeated scans of one region.
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited.
    top_k : int, optional
        Number of Fourier coefficients kept (zero frequency included), chosen by
        amplitude summed over channels, the same ones for every channel. Default:
        zero frequency plus the frequencies within ``radius`` that stand above the
        noise floor like a lattice peak (see :func:`lattice_peaks`): the peaks, their
        ``-k`` partners, and the neighbours a peak leaks into when the field of view
        holds a non-integer number of unit cells.
    radius : float, optional
        Only frequencies up to this radius (cycles/pixel, at most ``sqrt(0.5)``) are
        candidates. Default: just beyond the highest-order lattice peak
        (``1.15 |k|max``).
    reblend : bool
        Put the measured values back at the observed positions of each frame. Off
        by default: the global-structure image is a unit-cell average, and measured
        pixels (with their noise and defects) would be out of place in it.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
        The same estimate in every frame.

    Warns
    -----
    UserWarning
        When a default is needed and the data show no lattice peak: only zero
        frequency (the mean) is then kept, unless ``top_k`` says otherwise.
    """
    data, observed = _check_inputs(data, observed, radius, "radius")
    reblend = check_bool(reblend, name="reblend")
    if top_k is not None:
        top_k = check_positive_int(top_k, name="top_k")
    sums, counts = zero_filled(data, observed)
    # Divided by the mean visit count, the zero-filled sum has the right mean level
    # and lattice-peak amplitudes.
    image = sums / counts.mean()
    if top_k is None or radius is None:
        peaks = lattice_peaks(image)
        if len(peaks) == 0:
            warnings.warn("fourier_global: no lattice peak found; keeping only the mean level. "
                          "Pass top_k and radius to choose the components.", UserWarning,
                          stacklevel=2)
        if radius is None:
            radius = _BEYOND_PEAK * np.hypot(*peaks.T).max() if len(peaks) else np.sqrt(0.5)
        if top_k is None:
            top_k = 1 + _significant_bins(image, radius) if len(peaks) else 1
    rows, cols = image.shape[:2]
    blocks = channel_blocks(rows * cols, image.shape[-1])
    amplitude = np.zeros((rows, cols))
    for block in blocks:
        amplitude += np.abs(fft.fft2(image[..., block], axes=(0, 1))).sum(axis=-1)
    inside = np.hypot(fft.fftfreq(rows)[:, None], fft.fftfreq(cols)[None, :]) <= radius
    amplitude[~inside] = -1.0
    # Zero frequency (the mean level) is always kept: a sparse sampling (one sample:
    # a delta) has a flat spectrum, where a tie could keep one lone fringe instead.
    amplitude[0, 0] = np.inf
    top_k = min(top_k, int(inside.sum()))
    keep = np.zeros(amplitude.size, dtype=bool)
    keep[np.argpartition(amplitude.ravel(), -top_k)[-top_k:]] = True
    keep = keep.reshape(rows, cols)
    estimate = np.empty(image.shape)
    for block in blocks:
        spectrum = fft.fft2(image[..., block], axes=(0, 1))
        spectrum[~keep] = 0.0
        # The real part: the kept set is conjugate-symmetric except where an
        # amplitude tie at the top_k boundary is split.
        estimate[..., block] = fft.ifft2(spectrum, axes=(0, 1)).real
    return _broadcast(estimate, data, observed, reblend)
