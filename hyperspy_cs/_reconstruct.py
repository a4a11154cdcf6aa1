"""The contract every reconstruction method shares: which positions count as measured,
and how the result becomes a HyperSpy signal.

Mask rules (the same for BPFA and every classical method): an explicit ``mask``
first, else ``metadata.Acquisition.Subsampling.sampled``, else every position
counts as acquired and the method denoises. The mask is never inferred from zeros.
"""

import logging

import dask.array as da
import numpy as np

from . import _scan
from ._validate import check_magnitude, wants_lazy
from ._metadata import RECONSTRUCTION_NODE, SUBSAMPLING_NODE, get_mask

_logger = logging.getLogger(__name__)


def resolve_mask(signal, layout, mask):
    """``(observed, source)``: the ``(F, R, C)`` bool mask and where it came from.

    ``source`` is ``"argument"``, ``"metadata"`` or ``"none"`` (denoising).
    """
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"mask: expected a bool array (True = visited), got dtype {mask.dtype}")
        if mask.shape not in (tuple(layout.scan_shape), layout.mask_shape):
            raise ValueError(
                f"mask: expected shape {tuple(layout.scan_shape)} (rows, cols of the scan grid)"
                + (f" or {layout.mask_shape}" if layout.frame_shape else "")
                + f", got {mask.shape}"
            )
        observed, source = _scan.mask_to_canonical(mask, layout), "argument"
    elif signal.metadata.has_item(f"{SUBSAMPLING_NODE}.sampled"):
        sampled = get_mask(signal)
        if sampled.shape not in (tuple(layout.scan_shape), layout.mask_shape):
            raise ValueError(
                f"signal: metadata.Acquisition.Subsampling.sampled has shape {sampled.shape}, "
                f"which does not match the scan grid {layout.mask_shape}"
            )
        observed, source = _scan.mask_to_canonical(sampled, layout), "metadata"
    else:
        _logger.info(
            "no mask given and no metadata.Acquisition.Subsampling: every position counts "
            "as acquired, so the reconstruction denoises"
        )
        observed, source = np.ones((layout.n_frames, *layout.scan_shape), dtype=bool), "none"
    if not observed.any(axis=(1, 2)).all():
        raise ValueError("mask: a frame has no sampled position; nothing to reconstruct from")
    return np.ascontiguousarray(observed), source


def check_finite_samples(values):
    """Raise if the measured ``values`` hold NaN or inf (they would spread into the result),
    or values so large that their squares overflow (see :data:`MAX_MAGNITUDE
    <hyperspy_cs._validate.MAX_MAGNITUDE>`)."""
    if not np.isfinite(values).all():
        raise ValueError("signal: NaN or inf at sampled positions")
    check_magnitude(values)


def scan_data(signal, layout):
    """The signal's data as a float ``(F, R, C, N)`` numpy array (computed if lazy)."""
    data = signal.data
    if hasattr(data, "compute"):
        data = data.compute()
    return np.asarray(_scan.to_canonical(data, layout))


def output_signal(signal, layout, canonical, *, method, parameters, mask_source, extra=None,
                  lazy_output=None):
    """A new signal like ``signal`` holding ``canonical`` ``(F, R, C, N)`` (numpy or dask).

    Axes, metadata and original_metadata are carried over, the title says how it
    was made, and ``metadata.Reconstruction`` records ``method``, ``parameters``,
    ``mask_source`` and ``extra``.
    """
    if isinstance(canonical, da.Array):
        # Already lazy (a tiled reconstruction): wrap it, never compute it.
        source = signal if signal._lazy else signal.as_lazy()
        out = source._deepcopy_with_new_data(_scan.from_canonical(canonical, layout))
    else:
        out = _new_like(signal, _scan.from_canonical(canonical, layout))
    record = {"method": method, "parameters": _storable(parameters), "mask_source": mask_source}
    record.update(extra or {})
    out.metadata.set_item(RECONSTRUCTION_NODE, record)
    title = signal.metadata.get_item("General.title", "")
    out.metadata.General.title = f"{title} ({method})".strip()
    lazy = wants_lazy(signal, lazy_output)
    return out.as_lazy() if lazy and not out._lazy else out


def _new_like(signal, data):
    """An eager signal of ``signal``'s (eager) class with ``data`` and its axes and metadata."""
    if not signal._lazy:
        return signal._deepcopy_with_new_data(data)
    return eager_class(signal)(
        data,
        axes=_scan.axis_dicts(signal),
        metadata=signal.metadata.as_dictionary(),
        original_metadata=signal.original_metadata.as_dictionary(),
    )


def eager_class(signal):
    from hyperspy.io import assign_signal_subclass

    return assign_signal_subclass(
        dtype=np.dtype(signal.data.dtype),
        signal_dimension=len(signal.axes_manager.signal_axes),
        signal_type=signal.metadata.get_item("Signal.signal_type", ""),
        lazy=False,
    )


def _storable(parameters):
    """Parameters as metadata can store them (no None, which .hspy drops)."""
    return {k: ("None" if v is None else v) for k, v in parameters.items()}
