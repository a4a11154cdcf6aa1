"""Compact storage: only the visited spectra, in a file plain HyperSpy still reads."""

import os
import pathlib
import shutil
import tempfile

import dask.array as da
import numpy as np

from .. import _scan
from .._metadata import COMPACT_NODE, COMPACT_VERSION, SUBSAMPLING_NODE, as_numpy, get_mask
from ..patterns import pattern_from_positions
from ._files import SIGNAL_SUFFIXES, check_path, load_file
from ._positions import drop_item, make_signal, zero_filled

__all__ = ["save_compact", "load_compact"]


def _small_uint(array):
    return array.astype(np.min_scalar_type(max(int(array.max(initial=0)), 1)))


def _write_then_replace(path, write):
    """``write(new)`` to a new file next to ``path``, then move it onto ``path``.

    Writing in place would truncate ``path`` while a lazy signal loaded from it
    is still being read to write it (h5py then fails half-way, zarr reads
    zeros). Written aside, ``path`` stays intact if writing fails, and is then
    replaced by renames only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        new = folder / path.name
        write(new)
        if not (path.is_dir() or new.is_dir()):
            os.replace(new, path)
            return
        # A .zspy store is a folder, which os.replace cannot put over a
        # non-empty one: move the old one aside, and back if the new one fails.
        old = folder / "old"
        if path.exists():
            os.replace(path, old)
        try:
            os.replace(new, path)
        except BaseException:
            if old.exists():
                os.replace(old, path)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def save_compact(signal, path, *, overwrite=None, **save_kwargs):
    """Save only the visited spectra of a sub-sampled signal.

    The file is a HyperSpy signal of shape ``(n_visited | E)`` (``(| n_visited)``
    for an image) of the same class, readable by plain HyperSpy: one row per
    visited position in raster order (frames first), the spectral axis and all
    metadata and original_metadata kept, and ``metadata.Acquisition.Compact``
    holding ``positions`` (``(n_visited, 2)`` ``(row, col)``; ``frames``, the flat
    frame index of each row, for a stack), ``scan_shape``, ``frame_shape``,
    ``axes`` (the full signal's axis dictionaries, data-array order), ``kind``
    and ``signal_type``. ``metadata.Acquisition.Subsampling`` is kept except
    ``sampled``, which ``positions`` replace (a full-grid bool array would
    dominate the file for images). :func:`load_compact` rebuilds the
    zero-filled signal.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A sub-sampled signal (with ``metadata.Acquisition.Subsampling.sampled``),
        eager or lazy. Not modified.
    path : str or os.PathLike
        A ``.hspy`` or ``.zspy`` file name. It may be the file a lazy ``signal``
        was loaded from: the new file is written next to it and then renamed
        onto it, so ``path`` is never left half-written (reload it afterwards;
        a lazy signal of a ``.zspy`` store then reads the new one).
    overwrite : None or bool
        As in ``signal.save``, when ``path`` exists: True replaces it, False
        keeps it (nothing is written) and None asks, or keeps it when there is
        no terminal to ask.
    **save_kwargs
        Further keyword arguments of ``signal.save`` (e.g. ``compression``).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a file name (str or os.PathLike), got {type(path).__name__}")
    path = pathlib.Path(path)
    if path.suffix.lower() not in SIGNAL_SUFFIXES:
        raise ValueError(
            f"path: expected a {' or '.join(SIGNAL_SUFFIXES)} file (the formats that keep the "
            f"metadata arrays), got {path.name!r}"
        )
    if overwrite is not None and not isinstance(overwrite, bool):
        raise TypeError(f"overwrite: expected None, True or False, got {overwrite!r}")
    layout = _scan.scan_layout(signal)
    sampled = _scan.mask_to_canonical(get_mask(signal), layout)
    if sampled.shape != (layout.n_frames, *layout.scan_shape):
        raise ValueError(
            f"signal: metadata.Acquisition.Subsampling.sampled has shape {get_mask(signal).shape}, "
            f"the scan {layout.mask_shape}"
        )
    flat = np.flatnonzero(sampled)
    values = _scan.to_canonical(signal.data, layout).reshape(-1, layout.n_channels)[flat]
    frame, row, col = np.unravel_index(flat, sampled.shape)
    compact_node = {
        "format_version": COMPACT_VERSION,
        "kind": layout.kind,
        "signal_type": signal.metadata.get_item("Signal.signal_type", ""),
        "scan_shape": list(layout.scan_shape),
        "frame_shape": list(layout.frame_shape),
        "axes": _scan.axis_dicts(signal),
        "positions": _small_uint(np.stack([row, col], axis=1)),
    }
    if layout.frame_shape:
        compact_node["frames"] = _small_uint(frame)
    md = signal.metadata.deepcopy()
    drop_item(md, f"{SUBSAMPLING_NODE}.sampled")
    md.set_item(COMPACT_NODE, compact_node)
    visited_axis = {"name": "visited position", "size": flat.size}
    if layout.kind == "spectrum_image":
        axes = [visited_axis | {"navigate": True},
                signal.axes_manager.signal_axes[0].get_axis_dictionary()]
    else:
        values = values[:, 0]
        axes = [visited_axis | {"navigate": False}]
        md.set_item("Signal.signal_type", "")  # the image's type does not fit a 1-D signal
    compact = make_signal(values, axes, md.as_dictionary(), signal.original_metadata.as_dictionary())
    path = path.resolve()  # a symbolic link keeps pointing at the new file, as with signal.save
    if path.exists():
        # signal.save's rule, which cannot be left to it: it only sees the new file.
        from rsciio.utils.path import overwrite as ask_overwrite

        if overwrite is False or (overwrite is None and not ask_overwrite(path)):
            return
    _write_then_replace(path, lambda new: compact.save(new, overwrite=True, **save_kwargs))


def expand_compact(compact):
    """The zero-filled signal of a :func:`save_compact` file read by ``hs.load`` (eager or lazy)."""
    node = compact.metadata.get_item(COMPACT_NODE)
    if node.get_item("format_version", None) != COMPACT_VERSION:
        raise ValueError(
            f"path: compact format version {node.get_item('format_version', None)!r}; this "
            f"version of hyperspy_cs reads version {COMPACT_VERSION}"
        )
    scan_shape = tuple(int(n) for n in as_numpy(node.scan_shape))
    frame_shape = tuple(int(n) for n in as_numpy(node.frame_shape)) if len(node.frame_shape) else ()
    positions = as_numpy(node.positions).astype(np.int64).reshape(-1, 2)
    frames = as_numpy(node.frames).astype(np.int64) if node.has_item("frames") else np.zeros(
        len(positions), dtype=np.int64)
    axis_dicts = [dict(a) for a in node.axes]
    kind = node.kind
    layout = _scan.ScanLayout(
        kind, frame_shape, scan_shape, (axis_dicts[-1]["size"],) if kind == "spectrum_image" else ()
    )
    n_values = compact.data.shape[0]
    if len(positions) != n_values:
        raise ValueError(f"path: {len(positions)} positions for {n_values} stored values")
    for f in range(layout.n_frames):
        pattern_from_positions(positions[frames == f], scan_shape)  # on the grid, no repeats
    flat = (frames * scan_shape[0] + positions[:, 0]) * scan_shape[1] + positions[:, 1]
    sampled = np.zeros(layout.n_frames * scan_shape[0] * scan_shape[1], dtype=bool)
    sampled[flat] = True

    data = zero_filled(compact.data.reshape(n_values, layout.n_channels), flat, layout.canonical_shape)

    md = compact.metadata.deepcopy()
    drop_item(md, COMPACT_NODE)
    md.set_item("Signal.signal_type", node.signal_type)
    subsampling = md.get_item(SUBSAMPLING_NODE)
    for key, value in subsampling.as_dictionary().items():
        if isinstance(value, da.Array):  # lazily read metadata arrays come as dask arrays
            subsampling.set_item(key, as_numpy(value))
    subsampling.set_item("sampled", sampled.reshape(layout.mask_shape))
    return make_signal(_scan.from_canonical(data, layout), axis_dicts, md.as_dictionary(),
                        compact.original_metadata.as_dictionary())


def load_compact(path, *, lazy=False):
    """Rebuild the zero-filled sub-sampled signal from a :func:`save_compact` file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.hspy`` or ``.zspy`` file written by :func:`save_compact`.
    lazy : bool
        Return a lazy signal, chunked along scan rows; each chunk reads only the
        stored spectra that fall into it.

    Returns
    -------
    hyperspy.signal.BaseSignal
        The signal :func:`save_compact` was given: same class, shape, axes,
        metadata (with ``metadata.Acquisition.Subsampling.sampled`` and
        ``order``) and original_metadata, zero at unvisited positions.

    Raises
    ------
    ValueError
        If the file cannot be read or was not written by :func:`save_compact`.
    """
    path = check_path(path)
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy: expected True or False, got {lazy!r}")
    compact = load_file(path, lazy=lazy)
    if isinstance(compact, list) or not compact.metadata.has_item(COMPACT_NODE):
        raise ValueError(
            f"path: {path.name} was not written by hyperspy_cs.save_compact (no "
            "metadata.Acquisition.Compact); load it with hs.load or load_acquisition"
        )
    return expand_compact(compact)
