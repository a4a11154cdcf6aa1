"""Real sub-sampled acquisitions: what an instrument with a custom scan writes.

:func:`from_positions`, :func:`from_mask` and :func:`read_scan_positions` turn
visited positions and their spectra, or a zero-filled map and its mask, into a
sub-sampled signal with ``metadata.Acquisition.Subsampling`` as
:func:`hyperspy_cs.subsample` writes it. A measured pattern has no seed
(``seed = None``) and no simulated dose (``dose = 0.0``, as ``subsample``
without ``dose``).

The full, zero-filled form needs nothing from this package to be stored:
``signal.save("map.hspy")`` (or ``.zspy``) keeps ``sampled`` and ``order`` in the
metadata, and ``hs.load`` gives them back without ``hyperspy_cs`` installed.
"""

import os
import re
from collections.abc import Mapping

import dask
import dask.array as da
import numpy as np
from dask.utils import parse_bytes

from .. import _scan
from .._metadata import COMPACT_NODE, SUBSAMPLING_NODE, subsampling_metadata
from .._subsample import subsample
from .._validate import check_positive_int, check_real_dtype
from ..patterns import pattern_from_positions
from ._files import check_path

__all__ = ["from_mask", "from_positions", "read_scan_positions"]


def zero_filled(values, flat, canonical_shape):
    """Zeros of ``canonical_shape`` (F, R, C, N) with ``values[i]`` at flat position ``flat[i]``.

    ``values`` is ``(n, N)``, numpy or dask; ``flat`` indexes ``(F, R, C)``. A
    dask input gives a dask output chunked along scan rows, each chunk reading
    only the visited values that fall into it.
    """
    n_frames, n_rows, n_cols, n_channels = canonical_shape
    if not isinstance(values, da.Array):
        out = np.zeros((n_frames * n_rows * n_cols, n_channels), dtype=values.dtype)
        out[flat] = values
        return out.reshape(canonical_shape)

    def fill(block_values, local_flat, shape):
        block = np.zeros((shape[0] * shape[1], shape[2]), dtype=values.dtype)
        block[local_flat] = block_values
        return block.reshape(shape)

    perm = np.argsort(flat, kind="stable")
    sorted_flat = flat[perm]
    chunk_bytes = parse_bytes(dask.config.get("array.chunk-size"))
    row_bytes = n_cols * n_channels * values.dtype.itemsize
    rows_per_chunk = int(min(n_rows, max(1, chunk_bytes // row_bytes)))
    frames = []
    for f in range(n_frames):
        blocks = []
        for r0 in range(0, n_rows, rows_per_chunk):
            r1 = min(n_rows, r0 + rows_per_chunk)
            start, stop = (f * n_rows + r0) * n_cols, (f * n_rows + r1) * n_cols
            k0, k1 = np.searchsorted(sorted_flat, [start, stop])
            shape = (r1 - r0, n_cols, n_channels)
            block = dask.delayed(fill)(values[perm[k0:k1]], sorted_flat[k0:k1] - start, shape)
            blocks.append(da.from_delayed(block, shape, dtype=values.dtype))
        frames.append(da.concatenate(blocks, axis=0))
    return da.stack(frames)


def make_signal(data, axes, metadata, original_metadata):
    from hyperspy.io import dict2signal

    return dict2signal(
        {"data": data, "axes": axes, "metadata": metadata, "original_metadata": original_metadata},
        lazy=isinstance(data, da.Array),
    )


def _check_scan_shape(scan_shape):
    if isinstance(scan_shape, (str, bytes)) or not hasattr(scan_shape, "__len__") or len(scan_shape) != 2:
        raise ValueError(f"scan_shape: expected (n_rows, n_cols), got {scan_shape!r}")
    return tuple(check_positive_int(n, name="scan_shape") for n in scan_shape)


def _output_axes(kind, scan_shape, n_channels, axes, template):
    """Axis dictionaries, in data-array order, of a signal built by :func:`from_positions`."""
    navigate = kind == "spectrum_image"
    sizes = [*scan_shape, n_channels] if navigate else list(scan_shape)
    if axes is not None:
        if isinstance(axes, Mapping) or not all(isinstance(a, Mapping) for a in axes) \
                or len(axes) != len(sizes):
            raise ValueError(
                f"axes: expected {len(sizes)} axis dictionaries in data-array order "
                f"({'[y, x, spectral]' if navigate else '[y, x]'}), got {axes!r}"
            )
        dicts = [dict(a) for a in axes]
    else:
        dicts = [{"name": "y"}, {"name": "x"}] + ([{}] if navigate else [])
        if template is not None:
            t_layout = _scan.layout_or_none(template)
            if t_layout is not None:
                if tuple(t_layout.scan_shape) != scan_shape:
                    raise ValueError(
                        f"template: its scan grid {tuple(t_layout.scan_shape)} (rows, cols) differs "
                        f"from scan_shape {scan_shape}"
                    )
                x_axis, y_axis = _scan.scan_axes(template, t_layout)
                dicts[:2] = [y_axis.get_axis_dictionary(), x_axis.get_axis_dictionary()]
            if navigate and template.axes_manager.signal_dimension == 1:
                spectral = template.axes_manager.signal_axes[0]
                if spectral.size != n_channels:
                    raise ValueError(
                        f"template: its spectral axis has {spectral.size} channels, the spectra {n_channels}"
                    )
                dicts[2] = spectral.get_axis_dictionary()
    for d, size, nav in zip(dicts, sizes, [navigate, navigate, False]):
        if d.get("size", size) != size:
            raise ValueError(f"axes: axis {d.get('name')!r} has size {d['size']}, the data {size}")
        d.update(size=size, navigate=nav)
    return dicts


def drop_item(md, item):
    if md.has_item(item):
        parent, _, key = item.rpartition(".")
        delattr(md.get_item(parent) if parent else md, key)


def _output_metadata(template, signal_dimension, signal_type, metadata):
    from hyperspy.misc.utils import DictionaryTreeBrowser

    md = DictionaryTreeBrowser()
    original = {}
    if template is not None:
        md = template.metadata.deepcopy()
        original = template.original_metadata.as_dictionary()
        for item in (SUBSAMPLING_NODE, COMPACT_NODE, "Markers"):
            drop_item(md, item)
        if template.axes_manager.signal_dimension != signal_dimension:
            # A guide image calibrates the scan of a spectrum image, but its title
            # and signal type describe another kind of data.
            md.set_item("General.title", "")
            md.set_item("Signal.signal_type", "")
    if signal_type is not None:
        if not isinstance(signal_type, str):
            raise TypeError(f"signal_type: expected a string such as 'EDS_TEM', got {signal_type!r}")
        md.set_item("Signal.signal_type", signal_type)
    if metadata is not None:
        if isinstance(metadata, DictionaryTreeBrowser):
            metadata = metadata.as_dictionary()
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata: expected a dict, got {type(metadata).__name__}")
        md.add_dictionary(dict(metadata))
    return md.as_dictionary(), original


def from_positions(positions, spectra, *, scan_shape, axes=None, signal_type=None, metadata=None,
                   template=None):
    """Build a zero-filled sub-sampled signal from the positions an instrument visited.

    Parameters
    ----------
    positions : array_like of int, shape (n, 2)
        ``(row, col)`` grid indices of each visit, in acquisition order (see
        :func:`read_scan_positions` to read them from a file). A position
        visited twice raises: sum (counts) or average the repeated spectra first.
    spectra : numpy.ndarray or dask.array.Array, shape (n, E) or (n,)
        The spectrum measured at each position (a spectrum image results), or
        one value per position (an image results). A dask array gives a lazy
        signal. Not modified.
    scan_shape : tuple of int
        ``(n_rows, n_cols)`` of the scan grid.
    axes : list of dict, optional
        HyperSpy axis dictionaries in data-array order: ``[y, x, spectral]``
        for a spectrum image, ``[y, x]`` for an image (sizes may be left out).
        Takes precedence over the template's axes.
    signal_type : str, optional
        E.g. ``"EDS_TEM"``, ``"EDS_SEM"``, ``"EELS"``; sets the signal class.
    metadata : dict, optional
        Nested metadata merged last (e.g. ``{"Acquisition_instrument": {"TEM":
        {"beam_energy": 200}}}``).
    template : hyperspy.signal.BaseSignal, optional
        A signal from the same instrument whose data are not used: a spectrum
        image of the same scan gives all axes; an image of the scan grid (e.g.
        the guide) gives the scan axes; a single spectrum gives the spectral
        axis. Its metadata and original_metadata are carried over (title and
        signal type only when it has the output's signal dimension).

    Returns
    -------
    hyperspy.signal.BaseSignal
        Shape ``(n_rows, n_cols, E)`` (or ``(n_rows, n_cols)``), zero at
        unvisited positions, with ``metadata.Acquisition.Subsampling`` as
        :func:`hyperspy_cs.subsample` writes it: ``pattern = "positions"``,
        ``order`` the acquisition order as flat indices ``row * n_cols + col``,
        ``fraction = requested_fraction`` the visited fraction, ``seed = None``
        (a measured pattern) and ``dose = 0.0`` (no simulated dose).

    Raises
    ------
    ValueError
        If a position lies outside the grid or repeats, if the number of
        spectra differs from the number of positions, or if the axes or the
        template do not fit.
    """
    from hyperspy.signal import BaseSignal

    scan_shape = _check_scan_shape(scan_shape)
    if template is not None and not isinstance(template, BaseSignal):
        raise TypeError(f"template: expected a HyperSpy signal, got {type(template).__name__}")
    if isinstance(spectra, BaseSignal):
        raise TypeError("spectra: expected an array; pass signal.data (and the signal as template=)")
    if not isinstance(spectra, da.Array):
        spectra = np.asarray(spectra)
    check_real_dtype(spectra.dtype, name="spectra")
    if spectra.ndim not in (1, 2):
        raise ValueError(f"spectra: expected shape (n, E) or (n,), got {spectra.shape}")
    sampled, order = pattern_from_positions(positions, scan_shape)
    if spectra.shape[0] != order.size:
        raise ValueError(
            f"spectra: {spectra.shape[0]} spectra for {order.size} positions; expected one per position"
        )
    kind = "spectrum_image" if spectra.ndim == 2 else "image"
    n_channels = spectra.shape[1] if kind == "spectrum_image" else 1
    axis_dicts = _output_axes(kind, scan_shape, n_channels, axes, template)
    md, original = _output_metadata(template, 1 if kind == "spectrum_image" else 2, signal_type, metadata)
    layout = _scan.ScanLayout(kind, (), scan_shape, (n_channels,) if kind == "spectrum_image" else ())
    data = zero_filled(spectra.reshape(order.size, n_channels), order, layout.canonical_shape)
    signal = make_signal(_scan.from_canonical(data, layout), axis_dicts, md, original)
    signal.metadata.set_item(SUBSAMPLING_NODE, subsampling_metadata(sampled, order, pattern="positions"))
    return signal


def _parse_positions_text(path):
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f for f in re.split(r"[,;\s]+", line) if f]
        try:
            values = [float(f) for f in fields]
        except ValueError:
            if not rows:  # a column header such as "row,col" or "x y"
                continue
            raise ValueError(f"path: {path.name} line {number}: not a number in {line!r}") from None
        if len(values) != 2:
            raise ValueError(
                f"path: {path.name} line {number}: expected 2 columns (row, col or x, y), got {len(values)}"
            )
        rows.append(values)
    if not rows:
        raise ValueError(f"path: {path.name} holds no positions")
    return np.array(rows)


def _as_grid_indices(values, path):
    rounded = np.rint(values)
    if not np.array_equal(rounded, values):
        raise ValueError(f"path: {path.name} holds non-integer positions; expected grid indices")
    return rounded.astype(np.int64)


def _read_visits(path, columns):
    """``("mask", bool array)`` for a ``.npy`` mask, else ``("positions", (n, 2) row, col)``."""
    path = check_path(path)
    if columns not in ("rc", "xy"):
        raise ValueError(f"columns: expected 'rc' (row, col) or 'xy' (x = col, y = row), got {columns!r}")
    if path.suffix.lower() == ".npy":
        array = np.load(path, allow_pickle=False)
        if array.dtype == bool:
            return "mask", array
        if array.ndim != 2 or array.shape[1] != 2 or array.dtype.kind not in "iuf":
            raise ValueError(
                f"path: {path.name} holds a {array.dtype} array of shape {array.shape}; expected a "
                "bool mask (True = visited) or (n, 2) integer positions"
            )
    else:
        array = _parse_positions_text(path)
    positions = _as_grid_indices(array, path)
    return "positions", positions[:, ::-1] if columns == "xy" else positions


def read_scan_positions(path, *, columns="rc"):
    """Read the visited positions of a custom scan from a file.

    Parameters
    ----------
    path : str or os.PathLike
        A text file (``.txt``, ``.csv``, ...) with one position per line, two
        columns separated by commas, semicolons, tabs or spaces; ``#`` starts a
        comment and one header line (e.g. ``row,col``) is skipped. Or a
        ``.npy`` file holding ``(n, 2)`` positions or a bool mask of the scan
        grid (True = visited).
    columns : {"rc", "xy"}
        Column order of the positions: ``"rc"`` (row, col) or ``"xy"`` (x =
        col, y = row). Ignored for a mask.

    Returns
    -------
    numpy.ndarray of int64, shape (n, 2)
        ``(row, col)`` grid indices in file order (raster order for a mask).
        Checked against the scan grid by :func:`from_positions`.
    """
    kind, visits = _read_visits(path, columns)
    return np.argwhere(visits) if kind == "mask" else visits


def from_mask(signal, mask_or_path, *, columns="rc"):
    """Mark a zero-filled acquisition as sub-sampled.

    For instruments that write the whole scan grid with zeros (or NaN) at the
    positions they skipped, plus the mask or the list of visited positions.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        The full-grid spectrum image or image. Not modified.
    mask_or_path : array_like or str or os.PathLike
        A bool mask of the scan grid ``(n_rows, n_cols)`` (True = visited; one
        per frame for a stack), ``(n, 2)`` integer ``(row, col)`` positions in
        acquisition order, or a file as read by :func:`read_scan_positions`.
    columns : {"rc", "xy"}
        Column order in a positions file.

    Returns
    -------
    hyperspy.signal.BaseSignal
        A copy with unvisited positions set to 0 and
        ``metadata.Acquisition.Subsampling`` (``pattern`` ``"mask"`` or
        ``"positions"``, ``seed = None``, ``dose = 0.0``); title unchanged.
    """
    if isinstance(mask_or_path, (str, os.PathLike)):
        kind, visits = _read_visits(mask_or_path, columns)
    else:
        visits = np.asarray(mask_or_path)
        if visits.dtype == bool:
            kind = "mask"
        elif visits.dtype.kind in "iu" and visits.ndim == 2 and visits.shape[1] == 2:
            kind = "positions"
        else:
            raise TypeError(
                f"mask_or_path: expected a bool mask, (n, 2) integer positions or a file name, "
                f"got a {visits.dtype} array of shape {visits.shape}"
            )
    out = subsample(signal, **{kind: visits})
    out.metadata.set_item(f"{SUBSAMPLING_NODE}.seed", None)
    out.metadata.General.title = signal.metadata.General.title
    return out
