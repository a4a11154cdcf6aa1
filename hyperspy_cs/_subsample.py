"""Simulate the sub-sampled acquisition a microscope would record."""

import logging

import dask.array as da
import numpy as np

from . import _scan
from ._metadata import SUBSAMPLING_NODE, get_mask, is_count_data, subsampling_metadata
from ._validate import (
    as_rng,
    check_choice,
    check_dose,
    check_fraction,
    check_magnitude,
    check_positive_int,
    check_real_dtype,
    wants_lazy,
)
from .patterns import PATTERNS, pattern_from_mask, pattern_from_positions, scan_pattern

__all__ = ["subsample"]

_logger = logging.getLogger(__name__)


def _frame_masks(layout, frames, fraction, pattern, rng, mask, positions):
    """One ``(sampled, order)`` per output frame, plus the pattern's name."""
    n_out = layout.n_frames * frames
    if positions is not None:
        return [pattern_from_positions(positions, layout.scan_shape)] * n_out, "positions"
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape == tuple(layout.scan_shape):
            return [pattern_from_mask(mask, layout.scan_shape)] * n_out, "mask"
        if layout.frame_shape and mask.shape == layout.mask_shape:
            flat = mask.reshape(-1, *layout.scan_shape)
            return [pattern_from_mask(m, layout.scan_shape) for m in flat], "mask"
        expected = f"{tuple(layout.scan_shape)}" + (
            f" or {layout.mask_shape}" if layout.frame_shape else ""
        )
        raise ValueError(
            f"mask: expected a bool array of shape {expected} in (row, col) order, got {mask.shape}"
        )
    return [
        scan_pattern(layout.scan_shape, fraction=fraction, pattern=pattern, seed=rng)
        for _ in range(n_out)
    ], pattern


def _count_dtype(dtype, dose):
    """A type for ``Poisson(dose)`` counts of ``dtype`` data: integers widen so that the
    counts (at most about ``dose``) cannot wrap around; floats stay floats."""
    most = dose + 10 * np.sqrt(dose) + 10
    if most < np.iinfo(np.uint32).max:
        return np.promote_types(dtype, np.uint32)
    # int64 holds every drawable count (check_dose), and keeps signed types signed.
    return np.promote_types(dtype, np.uint64 if dtype.kind == "u" else np.int64)


def _check_within(masks, measured, *, name):
    """Further sub-sampling keeps to positions the signal has values for."""
    for index, (sampled, _) in enumerate(masks):
        outside = int((sampled & ~measured[index % len(measured)]).sum())
        if outside:
            raise ValueError(
                f"{name}: {outside} position(s) were not visited in the sub-sampled signal "
                "(metadata.Acquisition.Subsampling.sampled), so they hold no measurement; "
                "combine with hyperspy_cs.get_mask(signal) & your_mask"
            )


def _poisson_block(lam, dose, integer, block_seed, scale=1.0):
    """Counts ``Poisson(lam * dose)`` (``integer``), else in data units (float64)."""
    # Only visited values reach here (the others are 0 in ``lam``).
    if not np.isfinite(lam).all():
        raise ValueError("signal: NaN or inf at visited positions; `dose` needs finite values")
    if (lam < 0).any():
        raise ValueError("signal: negative values at visited positions; `dose` needs values >= 0")
    counts = np.random.default_rng(block_seed).poisson(lam * dose)
    if integer:
        return counts
    # In float64: a float32 peak times a few counts per unit dose may exceed float32.
    return counts / dose * float(scale)


def _float_result(values, dtype):
    """``values`` (float64) as ``dtype``, widened to float64 where ``dtype`` cannot hold them."""
    if dtype != np.float64 and values.size and np.max(values) > np.finfo(dtype).max:
        _logger.info("dose: the noisy values exceed the %s range; the result is float64", dtype)
        return values
    return values.astype(dtype)


def _apply_dose(data, sampled, dose, integer, seed):
    """Poisson noise at ``dose`` electrons per visited position (see ``subsample``).

    Each dask block draws from its own stream spawned from ``seed`` by block
    index, so a lazy result is reproducible for a given chunking.
    """
    lazy = isinstance(data, da.Array)
    xp = da if lazy else np
    visited = np.broadcast_to(sampled[..., None], data.shape)
    # Unvisited positions are never measured: their values (NaN, negative, above the
    # visited peak) must neither raise nor enter the draw.
    data = xp.where(visited, data, 0)
    out_dtype = (_count_dtype(data.dtype, dose) if integer
                 else np.promote_types(data.dtype, np.float32))
    if lazy:
        peak = data.max()
        scale = da.where(peak > 0, peak, 1)

        def block(data_block, scale, block_info=None):
            index = block_info[0]["chunk-location"]
            key = int(np.ravel_multi_index(index, block_info[0]["num-chunks"]))
            block_seed = np.random.SeedSequence(seed, spawn_key=(key,))
            scale = float(np.asarray(scale).reshape(()))
            check_magnitude(np.asarray([scale]))
            noisy = _poisson_block(data_block / scale, dose, integer, block_seed, scale)
            if not integer and noisy.size and np.max(noisy) > np.finfo(out_dtype).max:
                raise ValueError(
                    f"signal: with dose={dose:g} the noisy values exceed the {out_dtype} "
                    "range; convert the data with signal.change_dtype('float64') first"
                )
            return noisy.astype(out_dtype)

        return da.map_blocks(block, data, scale.reshape((1,) * data.ndim), dtype=out_dtype)
    peak = data.max() if data.size else 0
    # Finite values only: NaN and inf are named as such by _poisson_block.
    check_magnitude(np.asarray([peak]))
    scale = peak if peak > 0 else 1
    noisy = _poisson_block(data / scale, dose, integer,
                           np.random.SeedSequence(seed, spawn_key=(0,)), scale)
    return noisy.astype(out_dtype) if integer else _float_result(noisy, out_dtype)


def subsample(
    signal,
    fraction=0.1,
    pattern="random",
    *,
    seed=None,
    dose=None,
    frames=1,
    mask=None,
    positions=None,
    lazy_output=None,
):
    """Simulate a sub-sampled scan of ``signal``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        An image (Signal2D; a stack of images gets one mask per frame) or a
        spectrum image (2 navigation axes, 1 signal axis; extra navigation axes
        are frames). A signal that is already sub-sampled is sub-sampled further
        only with a ``mask`` or ``positions`` within its visited positions
        (``mask=hyperspy_cs.get_mask(signal) & your_mask``); its ``dose`` is
        kept unless a new one is given.
    fraction : float
        Fraction of scan positions visited, in (0, 1]. Ignored with ``mask`` or
        ``positions``.
    pattern : str
        ``"random"``, ``"line_hop"``, ``"jittered"``, ``"regular"`` or
        ``"spiral"``, see :mod:`hyperspy_cs.patterns`.
    seed : None, int or numpy.random.Generator
        Seed of the pattern and of the noise; the integer actually used is stored
        in the metadata so the result can be reproduced.
    dose : float, optional
        Electrons per visited position. A visited value ``v`` of normalised
        intensity ``u = v / max(v)`` becomes ``Poisson(dose * u) / dose * max(v)``
        (same units as the input); for count data (integers, EDS, EELS) the
        result is the integer counts ``Poisson(dose * u)``. Without ``dose`` the
        visited values are kept as they are. Float32 values whose noisy values
        exceed float32 come back as float64; values beyond 1e150 are refused.
    frames : int
        Number of independent frames (dose fractionation, time series): each
        gets its own mask and noise, and a navigation axis ``frame`` is added.
    mask : array_like of bool, optional
        Visited positions, shape ``(n_rows, n_cols)`` in numpy (row, col) order,
        True = visited; or one mask per frame for a stack.
    positions : array_like of int, optional
        ``(n, 2)`` visited ``(row, col)`` positions in acquisition order.
    lazy_output : bool, optional
        None (default) returns a lazy signal for a lazy input; True or False
        force it.

    Returns
    -------
    hyperspy.signal.BaseSignal
        A new signal of the same class (shape, axes, metadata and
        original_metadata carried over) with unvisited positions set to 0 and
        ``metadata.Acquisition.Subsampling`` holding ``sampled`` (bool, (row,
        col) order, True = visited; frames first), ``order`` (visit order as flat
        indices; one row per frame, padded with -1, when there are frames),
        ``pattern``, ``fraction`` (achieved), ``requested_fraction``, ``seed`` and
        ``dose``.

    Examples
    --------
    >>> import hyperspy_cs as cs
    >>> s = cs.data.atomic_resolution_image()
    >>> sub = s.subsample(0.1, "line_hop", seed=0)
    >>> cs.get_mask(sub).mean()  # doctest: +SKIP
    0.0999...
    """
    layout = _scan.scan_layout(signal)
    check_real_dtype(signal.data.dtype)
    if mask is not None and positions is not None:
        raise ValueError("mask, positions: pass one of them, not both")
    if mask is None and positions is None:
        fraction = check_fraction(fraction)
        check_choice(pattern, sorted(PATTERNS), name="pattern")
    frames = check_positive_int(frames, name="frames")
    if frames > 1 and layout.frame_shape:
        raise ValueError(
            f"frames: the signal already has frame axes {layout.frame_shape}; "
            "frames > 1 needs a single image or spectrum image"
        )
    dose = check_dose(dose)
    measured = None
    if signal.metadata.has_item(SUBSAMPLING_NODE):
        if mask is None and positions is None:
            raise ValueError(
                "signal: it is already sub-sampled; to sub-sample it further pass "
                "mask=hyperspy_cs.get_mask(signal) & your_mask"
            )
        measured = get_mask(signal).reshape(layout.n_frames, *layout.scan_shape)
    lazy = wants_lazy(signal, lazy_output)

    rng, recorded_seed = as_rng(seed)
    masks, pattern_name = _frame_masks(layout, frames, fraction, pattern, rng, mask, positions)
    if measured is not None:
        _check_within(masks, measured, name="mask" if mask is not None else "positions")

    source = signal
    if lazy and not signal._lazy:
        source = signal.as_lazy()
    elif signal._lazy and not lazy:
        source = signal.deepcopy()
        source.compute(show_progressbar=False)
    data = _scan.to_canonical(source.data, layout)
    if frames > 1:
        data = (da if lazy else np).broadcast_to(data, (frames, *data.shape[1:]))
    sampled = np.stack([m for m, _ in masks])
    visited = sampled[..., None]
    if dose is None:
        new = (da if lazy else np).where(visited, data, 0).astype(data.dtype)
    else:
        integer = is_count_data(signal)
        # Unvisited positions draw Poisson(0) = 0: already zero.
        new = _apply_dose(data, sampled, dose, integer, recorded_seed)

    out_layout = _scan.ScanLayout(
        layout.kind,
        (frames,) if frames > 1 else layout.frame_shape,
        layout.scan_shape,
        layout.channel_shape,
    )
    new = _scan.from_canonical(new, out_layout)
    if frames > 1:
        frame_axis = {"name": "frame", "size": frames, "navigate": True, "units": ""}
        out = type(source)(
            new,
            axes=[frame_axis, *_scan.axis_dicts(source)],
            metadata=source.metadata.as_dictionary(),
            original_metadata=source.original_metadata.as_dictionary(),
        )
    else:
        out = source._deepcopy_with_new_data(new)

    orders = [o for _, o in masks]
    if len(orders) == 1:
        order = orders[0]
    else:
        order = np.full((len(orders), max(o.size for o in orders)), -1, dtype=np.int64)
        for row, o in zip(order, orders):
            row[: o.size] = o
    explicit = mask is not None or positions is not None
    out.metadata.set_item(
        SUBSAMPLING_NODE,
        subsampling_metadata(
            sampled.reshape(out_layout.mask_shape), order, pattern=pattern_name,
            requested_fraction=None if explicit else fraction, seed=recorded_seed,
            # Sub-sampled further without new noise: the values keep the dose they had.
            dose=dose if dose is not None or measured is None
            else signal.metadata.get_item(f"{SUBSAMPLING_NODE}.dose", None),
        ),
    )
    title = signal.metadata.get_item("General.title", "")
    out.metadata.General.title = f"{title} (sub-sampled {100 * sampled.mean():.1f} %)".strip()
    _logger.info(
        "sub-sampled %s: %d of %d positions per frame (%s)",
        title or "signal",
        int(sampled[0].sum()),
        sampled[0].size,
        pattern_name,
    )
    return out
