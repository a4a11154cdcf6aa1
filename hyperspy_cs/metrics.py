"""Reconstruction quality: PSNR, SSIM, SRE, and binomial thinning of counts.

The metrics compare a ``reference`` (ground truth or an independent measurement)
with an ``estimate`` (a reconstruction). Both can be HyperSpy signals, numpy or
dask arrays, in any mix; lazy data are computed (the inputs are not modified).

:func:`split_counts` makes the unbiased reference used for counting data: two
independent halves of one acquisition, so a method can be run on one half and
scored against the other.
"""

import numbers

import dask.array as da
import numpy as np
from hyperspy.signal import BaseSignal
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from . import _scan
from ._metadata import THINNING_NODE
from ._validate import as_rng, check_positive_number, check_real_dtype

__all__ = ["psnr", "ssim", "sre", "split_counts"]

# skimage's default SSIM window is 7 x 7 pixels.
_SSIM_MIN_SIZE = 7


def _as_array(x, name):
    """The values of a signal or array as a numpy array (lazy data computed)."""
    data = x.data if isinstance(x, BaseSignal) else x
    data = np.asarray(data.compute() if isinstance(data, da.Array) else data)
    check_real_dtype(data.dtype, name=name)
    if data.size == 0:
        raise ValueError(f"{name}: empty data (shape {data.shape})")
    return data


def _pair(reference, estimate):
    """Checked float64 arrays of the two inputs."""
    ref = _as_array(reference, "reference")
    est = _as_array(estimate, "estimate")
    if ref.shape != est.shape:
        raise ValueError(
            f"reference, estimate: data shapes differ, {ref.shape} and {est.shape}"
        )
    for name, values in (("reference", ref), ("estimate", est)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name}: contains NaN or inf values")
    return ref.astype(np.float64, copy=False), est.astype(np.float64, copy=False)


def _data_range(ref, data_range):
    if data_range is not None:
        return check_positive_number(data_range, name="data_range")
    span = float(ref.max() - ref.min())
    if span == 0:
        raise ValueError(
            "data_range: the reference is constant, so its range (max - min) is 0; "
            "pass data_range explicitly"
        )
    return span


def psnr(reference, estimate, *, data_range=None):
    """Peak signal-to-noise ratio of ``estimate`` against ``reference``.

    ``PSNR = 10 log10(data_range**2 / MSE)`` over all values (scikit-image's
    :func:`~skimage.metrics.peak_signal_noise_ratio`).

    Parameters
    ----------
    reference, estimate : hyperspy.signal.BaseSignal or array_like
        Data of the same shape (any shape, any mix of signals and arrays;
        lazy data are computed). Real values only.
    data_range : float, optional
        Peak-to-peak range of the data. Default: ``reference.max() -
        reference.min()``.

    Returns
    -------
    float
        PSNR in dB; ``inf`` when the two are identical.

    Raises
    ------
    ValueError
        For different shapes, NaN or inf values, or a constant reference
        without ``data_range``.
    TypeError
        For complex or non-numeric data.
    """
    ref, est = _pair(reference, estimate)
    data_range = _data_range(ref, data_range)
    # MSE = 0 gives inf, the documented value for identical inputs.
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(ref, est, data_range=data_range))


def _scan_image_stack(reference, estimate, ref):
    """The layout of the 2-D scan images: ``(R, C, L)`` for ``L`` images.

    A signal says where its scan axes are (the signal axes of an image, the
    navigation axes of a spectrum image); plain arrays are ``(..., R, C)``.
    """
    signal = next((s for s in (reference, estimate) if isinstance(s, BaseSignal)), None)
    if signal is None:
        if ref.ndim < 2:
            raise ValueError(
                f"reference: SSIM needs 2-D images, got an array of shape {ref.shape}"
            )
        return lambda a: np.moveaxis(a.reshape(-1, *a.shape[-2:]), 0, -1)
    layout = _scan.scan_layout(signal)
    # (F, R, C, N) -> (R, C, F * N): every frame and channel is one scan image.
    return lambda a: np.moveaxis(_scan.to_canonical(a, layout), 0, 2).reshape(
        *layout.scan_shape, -1
    )


def ssim(reference, estimate, *, data_range=None):
    """Mean structural similarity over the 2-D scan images.

    Each 2-D image of the scan grid (every channel of a spectrum image, every
    frame of a stack) is compared with scikit-image's
    :func:`~skimage.metrics.structural_similarity` (default 7 x 7 uniform
    window) and the mean is returned.

    Parameters
    ----------
    reference, estimate : hyperspy.signal.BaseSignal or array_like
        Data of the same shape. For a signal the scan axes are the signal axes
        of an image (Signal2D, possibly a stack) or the two navigation axes of
        a spectrum image; when only one input is a signal, the array follows
        its layout. Plain arrays are ``(..., n_rows, n_cols)``: the last two
        axes are the scan images (move the energy axis of a numpy spectrum
        image first, or wrap it in a signal). Scan images need at least 7 x 7
        pixels.
    data_range : float, optional
        Peak-to-peak range of the data, one value for all images. Default:
        ``reference.max() - reference.min()`` over the whole reference.

    Returns
    -------
    float
        Mean SSIM, 1 for identical inputs.

    Raises
    ------
    ValueError
        For different shapes, NaN or inf values, a constant reference without
        ``data_range``, or scan images smaller than 7 x 7 pixels.
    TypeError
        For complex or non-numeric data.
    """
    ref, est = _pair(reference, estimate)
    data_range = _data_range(ref, data_range)
    as_stack = _scan_image_stack(reference, estimate, ref)
    ref, est = as_stack(ref), as_stack(est)
    if min(ref.shape[:2]) < _SSIM_MIN_SIZE:
        raise ValueError(
            f"reference: SSIM needs scan images of at least {_SSIM_MIN_SIZE} x "
            f"{_SSIM_MIN_SIZE} pixels, got {ref.shape[0]} x {ref.shape[1]}"
        )
    return float(structural_similarity(ref, est, data_range=data_range, channel_axis=-1))


def sre(reference, estimate):
    """Signal-to-reconstruction error, ``10 log10(||x||^2 / ||x - x_hat||^2)``.

    Parameters
    ----------
    reference, estimate : hyperspy.signal.BaseSignal or array_like
        ``x`` and ``x_hat``: data of the same shape (any mix of signals and
        arrays; lazy data are computed). Real values only.

    Returns
    -------
    float
        SRE in dB; ``inf`` when the two are identical.

    Raises
    ------
    ValueError
        For different shapes, NaN or inf values, or an all-zero reference.
    TypeError
        For complex or non-numeric data.
    """
    ref, est = _pair(reference, estimate)
    power = float(np.sum(ref * ref))
    if power == 0:
        raise ValueError("reference: all values are 0, so the SRE is undefined")
    error = float(np.sum((ref - est) ** 2))
    return np.inf if error == 0 else float(10 * np.log10(power / error))


def _check_counts(counts):
    if not np.isfinite(counts).all():
        raise ValueError("s: contains NaN or inf values; expected counts")
    if (counts < 0).any():
        raise ValueError("s: contains negative values; expected counts >= 0")
    if counts.dtype.kind == "f" and (counts != np.round(counts)).any():
        raise ValueError("s: contains non-integer values; expected counts")


def _thin(counts, fraction, seed, key):
    """Binomial(counts, fraction) drawn from stream ``key`` of ``seed``."""
    _check_counts(counts)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))
    return rng.binomial(counts.astype(np.int64), fraction).astype(counts.dtype)


def _thin_block(block, fraction, seed, block_info=None):
    info = block_info[0]
    key = int(np.ravel_multi_index(info["chunk-location"], info["num-chunks"]))
    return _thin(block, fraction, seed, key)


def _thinned_signal(s, data, fraction, seed, part):
    out = s._deepcopy_with_new_data(data)
    out.metadata.set_item(THINNING_NODE, {"fraction": fraction, "seed": seed, "part": part})
    # A thinned half is what a shorter dwell would have recorded.
    for microscope in ("SEM", "TEM"):
        item = f"Acquisition_instrument.{microscope}.Detector.EDS.live_time"
        if out.metadata.has_item(item):
            out.metadata.set_item(item, out.metadata.get_item(item) * fraction)
    title = s.metadata.get_item("General.title", "")
    out.metadata.General.title = f"{title} (thinned {part}, {100 * fraction:.3g} %)".strip()
    return out


def split_counts(s, *, fraction=0.5, seed=None):
    """Split count data into two independent halves by binomial thinning.

    Each count is kept in ``a`` with probability ``fraction``:
    ``a ~ Binomial(counts, fraction)`` and ``b = counts - a``. For Poisson
    counts of mean ``lam`` the halves are independent Poisson counts of means
    ``fraction * lam`` and ``(1 - fraction) * lam``: two acquisitions with
    shorter dwell times, so a reconstruction from ``a`` can be scored against
    ``b`` without knowing the truth.

    Parameters
    ----------
    s : hyperspy.signal.BaseSignal, numpy.ndarray or dask.array.Array
        Counts: finite, non-negative, integer-valued (integer or float dtype),
        any shape. Not modified.
    fraction : float
        Expected share of the counts that goes to ``a``, in (0, 1).
    seed : None, int or numpy.random.Generator
        Seed of the draw. Each dask block (one block for numpy data) draws from
        its own stream ``numpy.random.SeedSequence(seed, spawn_key=(block,))``
        keyed on its flat block index, so the result is the same for the same
        seed and chunking, however the blocks are scheduled.

    Returns
    -------
    a, b : same type as ``s``
        Same shape and dtype, ``a + b == s`` exactly. Signals are new signals
        of the same class with deep copies of the axes, metadata and
        original_metadata; lazy input gives lazy output. Each half records
        ``metadata.Acquisition.Thinning`` with ``fraction`` (its own expected
        share: ``fraction`` for ``a``, ``1 - fraction`` for ``b``), ``seed``
        (the integer used) and ``part`` (``"a"`` or ``"b"``), and its EDS
        ``live_time``, if set, is scaled by that share.

    Raises
    ------
    ValueError
        For ``fraction`` outside (0, 1), or negative, non-integer or non-finite
        counts (for lazy data, when the result is computed).
    TypeError
        For complex or non-numeric data, or a ``fraction`` that is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperspy_cs.metrics import split_counts
    >>> counts = np.random.default_rng(0).poisson(20, size=(64, 64))
    >>> a, b = split_counts(counts, seed=1)
    >>> bool((a + b == counts).all())
    True
    """
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction: expected a number in (0, 1), got {fraction!r}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction: expected a number in (0, 1), got {fraction}")
    fraction = float(fraction)
    _, seed = as_rng(seed)

    data = s.data if isinstance(s, BaseSignal) else s
    if not isinstance(data, da.Array):
        data = np.asarray(data)
    dtype = check_real_dtype(data.dtype, name="s")
    if dtype.kind == "b":
        raise TypeError("s: expected counts (integer or float data), got bool")

    if isinstance(data, da.Array):
        a = da.map_blocks(_thin_block, data, fraction, seed, dtype=dtype)
    else:
        a = _thin(data, fraction, seed, 0)
    b = data - a

    if not isinstance(s, BaseSignal):
        return a, b
    return (
        _thinned_signal(s, a, fraction, seed, "a"),
        _thinned_signal(s, b, 1 - fraction, seed, "b"),
    )
