"""Frames of one area (dose fractionation) merged into one sub-sampled scan."""

import logging

import dask.array as da
import numpy as np

from . import _scan
from ._metadata import (SUBSAMPLING_NODE, get_mask, get_order, is_count_data,
                        subsampling_metadata)

__all__ = ["merge_frames"]

_logger = logging.getLogger(__name__)


def _merged_order(order, first_visits, n_positions):
    """Visited positions in the order of their first visit: frame by frame, and in
    each frame in its visit order (``order``: ``(F, n)`` padded with -1, or one
    order shared by the frames)."""
    order = np.atleast_2d(order)
    order = np.broadcast_to(order, (first_visits.shape[0], order.shape[1]))
    seen = np.zeros(n_positions, bool)
    merged = []
    for frame, row in enumerate(order):
        row = row[row >= 0]
        new = row[first_visits[frame].ravel()[row] & ~seen[row]]
        seen[new] = True
        merged.append(new)
    return np.concatenate(merged)


def merge_frames(signal):
    """Merge sub-sampled frames of one area into one sub-sampled image or spectrum image.

    Several frames of the same area, each with its own positions (dose
    fractionation: ``subsample(frames=N)``, or frames acquired so), give a
    better reconstruction merged into one scan than reconstructed one by one
    and averaged: each patch of the merged scan sees the positions of every
    frame (see the user guide, "Sub-sampling").

    Every position keeps the same number of visits, ``k``, the fewest any
    visited position had (1 for sparse frames, the number of frames for fully
    sampled ones): its first ``k`` visits in frame order, summed for count data
    (integers, EDS, EELS) and averaged otherwise. The merged values then have
    one noise level, as the reconstructions assume, and a simulated ``dose``
    becomes ``k`` times the frames'. Later visits are dropped; their number is
    logged and recorded. The frames must be registered (no drift between them).

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A sub-sampled stack: an image stack (Signal2D with navigation axes) or a
        spectrum image with navigation axes beyond its two scan axes, with
        ``metadata.Acquisition.Subsampling`` (:func:`subsample`,
        :func:`from_mask`, :func:`from_positions`). All its frames are merged.

    Returns
    -------
    hyperspy.signal.BaseSignal
        A new signal of the same class without the frame axes (scan and signal
        axes, metadata and original_metadata carried over; lazy for a lazy
        input), 0 at the positions no frame visited. Integer counts are summed in
        64 bits. ``metadata.Acquisition.Subsampling`` holds the union of the
        frames' masks as ``sampled``, the positions in the order of their first
        visit as ``order``, the frames' ``pattern`` and ``seed``, the ``dose``
        of the merged values, and ``merged_frames`` (frames merged),
        ``visits_per_position`` (``k``) and ``visits_dropped``.

    Raises
    ------
    ValueError
        When ``signal`` has no frame axes or no visited position.

    Examples
    --------
    >>> import hyperspy_cs as cs
    >>> s = cs.data.atomic_resolution_image()
    >>> frames = s.subsample(0.0625, "jittered", dose=10, frames=4, seed=0)
    >>> merged = frames.merge_frames()
    >>> round(float(cs.get_mask(merged).mean()), 3)  # doctest: +SKIP
    0.228
    """
    layout = _scan.scan_layout(signal)
    if not layout.frame_shape:
        raise ValueError(
            "signal: merge_frames needs a stack of frames (an image stack, or a spectrum "
            f"image with navigation axes beyond x and y); this one is a single scan of "
            f"{layout.scan_shape[0]} x {layout.scan_shape[1]} positions")
    sampled = _scan.mask_to_canonical(get_mask(signal), layout)
    order = get_order(signal)
    visits = sampled.sum(axis=0)
    union = visits > 0
    if not union.any():
        raise ValueError("signal: no frame visited any position "
                         "(metadata.Acquisition.Subsampling.sampled is all False)")
    per_position = int(visits[union].min())
    kept = sampled & (np.cumsum(sampled, axis=0) <= per_position)
    dropped = int(sampled.sum() - kept.sum())

    data = _scan.to_canonical(signal.data, layout)
    xp = da if isinstance(data, da.Array) else np
    counts = is_count_data(signal)
    if counts and data.dtype.kind in "iu":
        dtype = np.int64 if data.dtype.kind == "i" else np.uint64
    else:
        dtype = np.promote_types(data.dtype, np.float32)
    total = xp.where(kept[..., None], data, 0).astype(dtype).sum(axis=0)
    values = total if counts else total / per_position
    merged_layout = _scan.ScanLayout(layout.kind, (), layout.scan_shape, layout.channel_shape)
    out = type(signal)(
        _scan.from_canonical(values[None], merged_layout),
        axes=_scan.axis_dicts(signal)[len(layout.frame_shape):],
        metadata=signal.metadata.as_dictionary(),
        original_metadata=signal.original_metadata.as_dictionary(),
    )
    node = signal.metadata.get_item(SUBSAMPLING_NODE)
    dose = node.get_item("dose", 0.0) or 0.0
    out.metadata.set_item(SUBSAMPLING_NODE, subsampling_metadata(
        union, _merged_order(order, kept, union.size), pattern=node.get_item("pattern", "mask"),
        seed=node.get_item("seed", None), dose=per_position * dose))
    for key, value in (("merged_frames", layout.n_frames),
                       ("visits_per_position", per_position), ("visits_dropped", dropped)):
        out.metadata.set_item(f"{SUBSAMPLING_NODE}.{key}", value)
    title = signal.metadata.get_item("General.title", "")
    out.metadata.General.title = f"{title} (merged {layout.n_frames} frames)".strip()
    if dropped:
        _logger.info("merge_frames: kept %d visit(s) per position; %d later visit(s) of "
                     "%d dropped", per_position, dropped, int(sampled.sum()))
    return out
