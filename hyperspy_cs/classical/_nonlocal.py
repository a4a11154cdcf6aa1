"""Non-local patch averaging (NL-means) as a refinement of any reconstruction.

The reference idea (Buades, Coll & Morel 2005): every pixel is replaced by a weighted
average of the pixels of its search window, weighted by how similar the patches
around them are, ``w = exp(-max(d^2 - 2 sigma^2, 0) / h^2)`` with ``d^2`` the mean
squared difference of the two patches. Applied to an interpolated sub-sampled image,
the errors of interpolation differ from one unit cell (or one repeated texture) to the
next, because the samples fall at different places in each: averaging similar
patches averages those errors away. For crystals the patch size and search window
default to the lattice period found in the FFT, so that whole motifs are compared and
several unit cells are searched.

The patch distances for one offset are computed for all pixels at once with running
box sums (cost independent of the patch size), in a numba kernel parallel over rows.
"""

import numba
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from hyperspy_cs.classical._fourier import STRICT_PEAK_MARGIN, lattice_peaks
from hyperspy_cs.classical._interpolate import KINDS, check_inputs, interpolate
from hyperspy_cs._jit import PARALLEL
from hyperspy_cs._validate import (
    check_choice,
    check_positive_int,
    check_positive_number,
    check_real_dtype,
)

# Patch side and search window used when the image shows no lattice.
_DEFAULT_PATCH = 7
_DEFAULT_WINDOW = 21
# Largest automatic search window: its cost grows with its area.
_MAX_WINDOW = 61


def noise_std(images):
    """Estimate the standard deviation of white noise in images (Immerkaer 1996).

    The image is filtered with the difference of two Laplacians, which cancels
    locally linear structure; for white noise the mean absolute response is
    ``6 sigma sqrt(2 / pi)``.

    Parameters
    ----------
    images : numpy.ndarray, shape (F, R, C, N)

    Returns
    -------
    float
        Mean over frames and channels, in the units of the data.
    """
    kernel = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
    response = ndimage.convolve(images, kernel[None, :, :, None], mode="reflect")
    return float(np.sqrt(np.pi / 2.0) * np.abs(response[:, 1:-1, 1:-1]).mean() / 6.0)


def lattice_period(image):
    """Period (pixels) of the strongest lattice fringe of an ``(R, C, N)`` image, or None.

    None when no peak passes the strict threshold, i.e. the image is not a lattice.
    """
    peaks = lattice_peaks(image, margin=STRICT_PEAK_MARGIN)
    if len(peaks) == 0:
        return None
    return 1.0 / np.hypot(*peaks[0])


def sample_spread(values, observed):
    """rms difference between measured values and their nearest measured neighbour / sqrt(2)."""
    squares, count = 0.0, 0
    for frame, mask in zip(values, observed):
        points = np.argwhere(mask)
        if len(points) < 2:
            continue
        nearest = cKDTree(points).query(points, k=2)[1][:, 1]
        measured = frame[mask]
        squares += float(((measured - measured[nearest]) ** 2).sum())
        count += measured.size
    return np.sqrt(squares / (2 * count)) if count else 0.0


def _odd(value):
    value = int(round(value))
    return value if value % 2 else value + 1


def nonlocal_refine(estimate, *, observed=None, patch_size=None, search_window=None, h=None):
    """Refine a full estimate by non-local patch averaging.

    Parameters
    ----------
    estimate : numpy.ndarray, shape (F, R, C, N)
        A complete reconstruction (from any method), finite everywhere. Patch
        distances sum over all N channels, so N should be small.
    observed : numpy.ndarray of bool, shape (F, R, C), optional
        If given, these positions keep their value in ``estimate`` (the measured
        values, for methods that keep them).
    patch_size : int, optional
        Odd side of the compared patches, pixels. Default: about half the lattice
        period when the image shows a lattice (clipped to 5-15), else 7.
    search_window : int, optional
        Odd side of the square searched around each pixel, pixels. Default: large
        enough to hold the neighbouring unit cells (twice the period plus one,
        clipped to 21-61), else 21.
    h : float, optional
        Filtering strength in data units. Default with ``observed``: the typical
        difference between a measured value and its nearest measured neighbour,
        ``rms(difference) / sqrt(2)``, the scale of the errors an interpolant makes
        at this sampling density (on SrTiO3 and camera crops at 10-20 % sampling it
        is within a factor 2 of the best ``h``). Without ``observed``: the noise
        standard deviation of ``estimate`` (Immerkaer's method), i.e. denoising.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
    """
    estimate = _check_estimate(estimate)
    if observed is not None:
        estimate, observed = check_inputs(estimate, observed, data_name="estimate")
    period = None
    if patch_size is None or search_window is None:
        period = lattice_period(estimate.mean(axis=0))
    patch_size = _check_odd(patch_size, "patch_size", _DEFAULT_PATCH if period is None
                            else int(np.clip(_odd(period / 2), 5, 15)))
    search_window = _check_odd(search_window, "search_window", _DEFAULT_WINDOW if period is None
                               else int(np.clip(_odd(2 * period), _DEFAULT_WINDOW, _MAX_WINDOW)))
    sigma = noise_std(estimate)
    if h is None:
        h = sigma if observed is None else sample_spread(estimate, observed)
        # A constant image has nothing to average; keep the weights finite.
        h = max(h, np.finfo(float).eps * max(float(np.abs(estimate).max()), 1.0))
    h = check_positive_number(h, name="h")

    half_patch, half_window = patch_size // 2, search_window // 2
    margin = half_patch + half_window
    out = np.empty(estimate.shape)
    for frame in range(len(estimate)):
        padded = np.pad(estimate[frame], ((margin, margin), (margin, margin), (0, 0)),
                        mode="symmetric")
        out[frame] = _nlm_kernel(padded, estimate.shape[1], estimate.shape[2], half_patch,
                                 half_window, 1.0 / h**2, 2.0 * sigma**2)
    if observed is not None:
        out[observed] = estimate[observed]
    return out


def nonlocal_means(data, observed, *, base="cubic", patch_size=None, search_window=None, h=None):
    """Interpolate, then refine by non-local patch averaging, keeping measured pixels.

    Parameters
    ----------
    data : numpy.ndarray, shape (F, R, C, N)
        Measured values; values at unobserved positions are ignored.
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited.
    base : {"nearest", "linear", "cubic", "biharmonic"}
        Interpolation giving the estimate to refine.
    patch_size, search_window, h
        See :func:`nonlocal_refine`.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
        Refined reconstruction, equal to ``data`` at observed positions.
    """
    check_choice(base, KINDS, name="base")
    estimate = interpolate(data, observed, kind=base)
    return nonlocal_refine(estimate, observed=observed, patch_size=patch_size,
                           search_window=search_window, h=h)


def _check_estimate(estimate):
    if not isinstance(estimate, np.ndarray):
        estimate = np.asarray(estimate)
    check_real_dtype(estimate.dtype, name="estimate")
    if estimate.ndim != 4:
        raise ValueError(f"estimate: expected a 4-D array (F, R, C, N), got shape {estimate.shape}")
    estimate = estimate.astype(np.float64, copy=False)
    if not np.isfinite(estimate).all():
        raise ValueError("estimate: expected finite values everywhere")
    return estimate


def _check_odd(value, name, default):
    if value is None:
        return default
    value = check_positive_int(value, name=name)
    if value % 2 == 0:
        raise ValueError(f"{name}: expected an odd number of pixels, got {value}")
    return value


@numba.njit(**PARALLEL)
def _nlm_kernel(padded, rows, cols, half_patch, half_window, inv_h2, offset2):
    """NL-means of the ``(rows, cols, N)`` image centred in ``padded``.

    ``padded`` has a margin of ``half_patch + half_window`` on each side. For each
    offset of the search window, the squared differences summed over channels are
    box-summed over the patch by running sums (vertical, then horizontal), turned into
    weights and accumulated. The centre pixel gets the largest weight of the others.
    One parallel region over the window's rows of offsets, each with its own
    accumulators (summed at the end): on a busy machine, thousands of short parallel
    regions (one per offset) stall on their barriers.
    """
    n_channels = padded.shape[2]
    side = 2 * half_patch + 1
    area = side * side * n_channels
    span_rows, span_cols = rows + 2 * half_patch, cols + 2 * half_patch
    window = 2 * half_window + 1
    total = np.zeros((window, rows, cols, n_channels))
    weight_sum = np.zeros((window, rows, cols))
    weight_max = np.zeros((window, rows, cols))
    origin = half_window  # padded index of the first row/column of diff
    centre = half_window + half_patch  # padded index of the image's first pixel
    for row_of_offsets in numba.prange(window):
        dy = row_of_offsets - half_window
        diff = np.empty((span_rows, span_cols))
        vertical = np.empty((rows, span_cols))
        for dx in range(-half_window, half_window + 1):
            if dy == 0 and dx == 0:
                continue
            for y in range(span_rows):
                for x in range(span_cols):
                    value = 0.0
                    for n in range(n_channels):
                        d = (padded[origin + y, origin + x, n]
                             - padded[origin + y + dy, origin + x + dx, n])
                        value += d * d
                    diff[y, x] = value
            vertical[0] = diff[0]
            for k in range(1, side):
                vertical[0] += diff[k]
            for y in range(1, rows):
                vertical[y] = vertical[y - 1] + diff[y + side - 1] - diff[y - 1]
            for y in range(rows):
                running = 0.0
                for k in range(side):
                    running += vertical[y, k]
                for x in range(cols):
                    if x > 0:
                        running += vertical[y, x + side - 1] - vertical[y, x - 1]
                    distance = max(running / area - offset2, 0.0)
                    weight = np.exp(-distance * inv_h2)
                    weight_sum[row_of_offsets, y, x] += weight
                    if weight > weight_max[row_of_offsets, y, x]:
                        weight_max[row_of_offsets, y, x] = weight
                    for n in range(n_channels):
                        total[row_of_offsets, y, x, n] += (
                            weight * padded[centre + y + dy, centre + x + dx, n])
    out = np.empty((rows, cols, n_channels))
    for y in numba.prange(rows):
        for x in range(cols):
            weight = 0.0
            norm = 0.0
            for r in range(window):
                weight = max(weight, weight_max[r, y, x])
                norm += weight_sum[r, y, x]
            if weight == 0.0:
                weight = 1.0
            for n in range(n_channels):
                value = weight * padded[centre + y, centre + x, n]
                for r in range(window):
                    value += total[r, y, x, n]
                out[y, x, n] = value / (norm + weight)
    return out
