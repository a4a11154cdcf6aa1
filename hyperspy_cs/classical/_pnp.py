"""Plug-and-play (PnP) reconstruction with off-the-shelf denoisers.

The reference idea (Venkatakrishnan, Bouman & Wohlberg 2013; Sreehari et al. 2016
for sparse-sampling electron microscopy): alternate a data-consistency step on the
sampled positions with a denoiser used as an implicit image prior,

    z = denoise(x, sigma_t);   x = z, with x[observed] = w * data + (1 - w) * z,

starting from an interpolation, with a denoiser strength ``sigma_t`` that decreases
geometrically (coarse structure first, detail last). ``w = 1`` replaces the measured
values (noise-free data); ``w < 1`` is the proximal step of a quadratic data term,
for noisy data. With ``equivariant=True`` the denoiser is averaged over the 8
rotations and flips of the square (the dihedral group D4): a denoiser that is not
itself equivariant (wavelets on a fixed grid, anisotropic TV) then stops imposing its
own orientation on the image, which improves the reconstruction (Terris et al. 2024,
"Equivariant plug-and-play image reconstruction").

Denoisers: ``"tv"`` (``skimage.restoration.denoise_tv_chambolle``), ``"nl_means"``
(``denoise_nl_means``), ``"wavelet"`` (``denoise_wavelet``, needs PyWavelets) and
``"bm3d"`` (needs the ``bm3d`` package); the last two are optional.
"""

import numbers

import numpy as np
from skimage import restoration

from hyperspy_cs.classical._interpolate import KINDS, check_inputs, interpolate
from hyperspy_cs.classical._nonlocal import sample_spread
from hyperspy_cs._validate import check_bool, check_choice, check_positive_int, check_positive_number

DENOISERS = ("tv", "nl_means", "wavelet", "bm3d")
# Default schedule: from the spread of neighbouring samples (the interpolation error
# scale) down by this factor over the iterations.
_SIGMA_DECAY = 10.0


def _tv(image, sigma):
    # Chambolle's weight acts like a noise level for data of unit scale.
    return restoration.denoise_tv_chambolle(image, weight=sigma, channel_axis=-1)


def _nl_means(image, sigma):
    return restoration.denoise_nl_means(image, patch_size=5, patch_distance=6, h=0.8 * sigma,
                                        sigma=sigma, fast_mode=True, channel_axis=-1)


def _wavelet(image, sigma):
    return restoration.denoise_wavelet(image, sigma=sigma, wavelet="db2", method="BayesShrink",
                                       mode="soft", rescale_sigma=True, channel_axis=-1)


def _bm3d(image, sigma):
    import bm3d

    return np.stack([bm3d.bm3d(image[..., n], sigma_psd=sigma) for n in range(image.shape[-1])],
                    axis=-1)


_DENOISE = {"tv": _tv, "nl_means": _nl_means, "wavelet": _wavelet, "bm3d": _bm3d}
# Import needed by each optional denoiser.
_NEEDS = {"wavelet": "pywt", "bm3d": "bm3d"}


def available_denoisers():
    """Denoisers usable here: the optional ones only when their package imports."""
    usable = []
    for name in DENOISERS:
        try:
            if name in _NEEDS:
                __import__(_NEEDS[name])
        except ImportError:
            continue
        usable.append(name)
    return tuple(usable)


def _dihedral(image, index):
    """Element ``index`` (0-7) of D4 applied to the two leading axes."""
    if index >= 4:
        image = image[:, ::-1]
    return np.rot90(image, index % 4, axes=(0, 1))


def _dihedral_inverse(image, index):
    image = np.rot90(image, -(index % 4), axes=(0, 1))
    return image[:, ::-1] if index >= 4 else image


def _denoise(image, sigma, denoiser, equivariant):
    """Denoise an ``(R, C, N)`` image, averaged over D4 if ``equivariant``."""
    def denoise(values, strength):
        # Some scikit-image denoisers drop a channel axis of length 1.
        return _DENOISE[denoiser](values, strength).reshape(values.shape)

    if not equivariant:
        return denoise(image, sigma)
    total = np.zeros(image.shape)
    for index in range(8):
        transformed = np.ascontiguousarray(_dihedral(image, index))
        total += _dihedral_inverse(denoise(transformed, sigma), index)
    return total / 8.0


def pnp(data, observed, *, denoiser="nl_means", n_iter=10, equivariant=False, sigma=None,
        data_weight=1.0, init="biharmonic"):
    """Plug-and-play reconstruction: data consistency alternated with a denoiser.

    Parameters
    ----------
    data : numpy.ndarray, shape (F, R, C, N)
        Measured values; frames are reconstructed independently.
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited.
    denoiser : {"tv", "nl_means", "wavelet", "bm3d"}
        Off-the-shelf denoiser; "wavelet" needs PyWavelets and "bm3d" the ``bm3d``
        package (:func:`available_denoisers` lists what is installed). NL-means is
        the default: it gives the best results of the always-available ones, and
        averaging it over D4 gains 0.3-0.4 dB on SrTiO3 at 10-20 % sampling.
    n_iter : int
        Number of denoise / data-consistency iterations. More is not better with
        these denoisers: their fixed point is over-smooth.
    equivariant : bool
        Average the denoiser over the 8 rotations and flips (8 times the cost).
    sigma : float or (float, float), optional
        Denoiser strength in data units, fixed or ``(first, last)`` of a geometric
        schedule. Default: from the rms difference between neighbouring measured
        values divided by sqrt(2) (the error scale of an interpolant at this
        sampling) down to a tenth of it.
    data_weight : float
        Weight ``w`` in ``(0, 1]`` of the measured value at observed positions; 1
        keeps measured pixels exactly, less trusts the prior more (noisy data).
    init : {"nearest", "linear", "cubic", "biharmonic"}
        Interpolation giving the starting image.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
        Reconstruction; at observed positions ``w * data + (1 - w) * denoised``
        (the measured values when ``data_weight=1``).
    """
    data, observed = check_inputs(data, observed)
    check_choice(denoiser, DENOISERS, name="denoiser")
    if denoiser not in available_denoisers():
        raise ImportError(f"denoiser: {denoiser!r} needs the {_NEEDS[denoiser]!r} package, "
                          f"which is not installed; available: {available_denoisers()}")
    n_iter = check_positive_int(n_iter, name="n_iter")
    equivariant = check_bool(equivariant, name="equivariant")
    data_weight = check_positive_number(data_weight, name="data_weight")
    if data_weight > 1:
        raise ValueError(f"data_weight: expected a number in (0, 1], got {data_weight}")
    check_choice(init, KINDS, name="init")
    first, last = _schedule_ends(sigma, data, observed)
    schedule = np.geomspace(first, last, n_iter) if n_iter > 1 else np.array([last])

    estimate = interpolate(data, observed, kind=init)
    for frame, mask in enumerate(observed):
        image = estimate[frame]
        for strength in schedule:
            image = _denoise(image, strength, denoiser, equivariant)
            # With w = 1 this is exactly the measured value (1.0 * x + 0.0 * y == x).
            image[mask] = data_weight * data[frame][mask] + (1.0 - data_weight) * image[mask]
        estimate[frame] = image
    return estimate


def _schedule_ends(sigma, data, observed):
    """``(first, last)`` denoiser strengths from the ``sigma`` argument."""
    if sigma is None:
        first = sample_spread(data, observed)
        if first == 0:
            first = 1e-3 * max(float(np.abs(data[observed]).max()), 1.0)
        return first, first / _SIGMA_DECAY
    if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
        value = check_positive_number(sigma, name="sigma")
        return value, value
    if isinstance(sigma, (tuple, list)) and len(sigma) == 2:
        return tuple(check_positive_number(value, name="sigma") for value in sigma)
    raise TypeError(f"sigma: expected None, a positive number or a (first, last) pair, "
                    f"got {sigma!r}")
