"""Vendor files in, real sub-sampled acquisitions, and compact storage.

* :func:`load_acquisition` reads any RosettaSciIO format and returns the spectrum
  image (or image) with the fully sampled guide image (HAADF, BSE...) recorded on
  the same scan, when the file has one.
* :func:`from_positions`, :func:`from_mask` and :func:`read_scan_positions` turn
  what an instrument with a custom scan writes (visited positions and their
  spectra, or a zero-filled map and its mask) into a sub-sampled signal with
  ``metadata.Acquisition.Subsampling`` as :func:`hyperspy_cs.subsample` writes it.
  A measured pattern has no seed (``seed = None``) and no simulated dose
  (``dose = 0.0``, as ``subsample`` without ``dose``).
* :func:`save_compact` / :func:`load_compact` store only the visited spectra, in a
  ``.hspy``/``.zspy`` file that plain HyperSpy still reads.

The full, zero-filled form needs nothing from this module to be stored:
``signal.save("map.hspy")`` (or ``.zspy``) keeps ``sampled`` and ``order`` in the
metadata, and ``hs.load`` gives them back without ``hyperspy_cs`` installed.
"""

import logging
import os
import pathlib
import re
import shutil
import tempfile
from collections.abc import Mapping

import dask
import dask.array as da
import numpy as np
from dask.utils import parse_bytes

from . import _scan
from ._validate import check_positive_int, check_real_dtype
from .guide import _on_scan_grid, resample_guide
from .patterns import pattern_from_positions
from .subsample import SUBSAMPLING_NODE, _as_numpy, get_mask, subsample, subsampling_metadata

__all__ = [
    "from_mask",
    "from_positions",
    "load_acquisition",
    "load_compact",
    "read_scan_positions",
    "save_compact",
]

_logger = logging.getLogger(__name__)

COMPACT_NODE = "Acquisition.Compact"
_COMPACT_VERSION = 1
_COMPACT_SUFFIXES = (".hspy", ".zspy")

# Detector names, best guide first; matched against the words of an image title
# with trailing digits dropped ("DF4" -> "DF"), case-insensitively. Images with
# other titles (e.g. Bruker's "Ch 1") come after these.
_GUIDE_DETECTORS = (
    ("HAADF",),
    ("ADF", "MAADF", "LAADF"),
    ("DF",),
    ("BSE", "BSD", "ASB", "BEI", "CBS", "COMPO"),
    ("SE", "SEI", "INLENS", "ETD", "TLD"),
    ("BF", "ABF"),
)


# --------------------------------------------------------------------------
# Vendor files
# --------------------------------------------------------------------------


def _check_path(path, *, name="path"):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file name (str or os.PathLike), got {type(path).__name__}")
    path = pathlib.Path(path)
    if not path.exists():  # a .zspy "file" is a folder
        raise FileNotFoundError(f"{name}: no such file: {path}")
    return path


def _load_file(path, *, name="path", **hs_load_kwargs):
    """``hs.load(path)``, with a reader's failure on the file as a ValueError naming it.

    RosettaSciIO's readers fail on a truncated, damaged or foreign file with
    whatever their parsing raised (struct.error, IndexError, h5py's OSError...),
    and the message rarely says which file.
    """
    import hyperspy.api as hs

    try:
        return hs.load(path, **hs_load_kwargs)
    except (FileNotFoundError, PermissionError, MemoryError):
        raise  # about the file system or the machine, not the file's content
    except Exception as error:
        kind = type(error).__qualname__
        if type(error).__module__ != "builtins":
            kind = f"{type(error).__module__}.{kind}"  # "struct.error", not "error"
        reason = f"{kind}: {error}" if str(error) else kind
        raise ValueError(f"{name}: cannot read {path.name}: {reason}") from error


def _layout_or_none(signal):
    try:
        return _scan.scan_layout(signal)
    except _scan.ScanAxesError:
        return None


def _describe(signal):
    am = signal.axes_manager
    return (f"{type(signal).__name__} {signal.metadata.General.title!r} "
            f"({am.navigation_shape}|{am.signal_shape})")


def _is_element_map(title):
    """Velox and Esprit name element maps after the element ("Cu", "Fe_Ka", "O K")."""
    from exspy.material import elements

    first = re.split(r"[\s_\-]+", title.strip(), maxsplit=1)[0]
    # Case-sensitive on purpose: "Se" is selenium, "SE" the secondary-electron detector.
    return first in elements.keys()


def _detector_rank(title):
    words = {w.upper() for w in re.findall(r"[A-Za-z]+", title)}
    for rank, names in enumerate(_GUIDE_DETECTORS):
        if words.intersection(names):
            return rank
    return len(_GUIDE_DETECTORS)


def _units_defined(units):
    return units is not None and str(units) not in ("", "<undefined>", "None")


def _fit_guide(image, signal, layout):
    """``image`` on the scan grid of ``signal``, or ValueError saying why it cannot be.

    ``image`` is a freshly loaded signal (never the caller's) and may be changed.
    """
    x_axis, y_axis = _scan.scan_axes(signal, layout)
    g_axes = image.axes_manager.signal_axes
    if tuple(image.data.shape) == tuple(layout.scan_shape):
        # An image of the same pixel grid from the same file was recorded by the
        # same scan; readers sometimes calibrate the two differently (Velox gives
        # the HAADF no offset), so the guide takes the spectrum image's axes.
        if any((g.name, str(g.units)) != (s.name, str(s.units))
               or not np.allclose(g.axis, s.axis, rtol=1e-9, atol=0)
               for g, s in zip(g_axes, (x_axis, y_axis))):
            _logger.info("guide %r: same scan grid as the spectrum image; it takes the spectrum "
                         "image's axes calibration", image.metadata.General.title)
        return _on_scan_grid(image.data, image, x_axis, y_axis)
    for g, s in zip(g_axes, (x_axis, y_axis)):
        if not (_units_defined(g.units) and _units_defined(s.units)):
            raise ValueError(
                f"its {image.data.shape[::-1]} pixels differ from the scan grid "
                f"{tuple(layout.scan_shape)[::-1]} (x, y) and its axes or the scan's are not "
                "calibrated, so their fields of view cannot be compared"
            )
        if str(g.units) != str(s.units):
            try:
                g.convert_to_units(str(s.units))
            except Exception as error:  # pint raises several types for incompatible units
                raise ValueError(
                    f"its axis units {g.units!r} cannot be converted to the scan's {s.units!r} ({error})"
                ) from None
    return resample_guide(image, signal)


def _find_guide(signals, signal, layout, guide):
    """The guide among ``signals`` (those loaded with ``signal``), on the scan grid.

    ``guide`` is ``"auto"`` (best detector title, same grid first; None if no
    image fits) or the title to pick (ValueError if it is missing or cannot be
    put on the scan grid).
    """
    images = [
        (i, s) for i, s in enumerate(signals)
        if s is not signal and s.axes_manager.signal_dimension == 2
        and s.axes_manager.navigation_dimension == 0
    ]
    if guide == "auto":
        images = [(i, s) for i, s in images if not _is_element_map(str(s.metadata.General.title))]
    else:
        titles = [str(s.metadata.General.title) for _, s in images]
        images = [(i, s) for i, s in images if str(s.metadata.General.title).lower() == guide.lower()]
        if not images:
            raise ValueError(f"guide: no image titled {guide!r} in the file; its images are {titles}")
    images.sort(key=lambda item: (
        _detector_rank(str(item[1].metadata.General.title)),
        tuple(item[1].data.shape) != tuple(layout.scan_shape),
        item[0],
    ))
    reasons = []
    for _, image in images:
        title = str(image.metadata.General.title)
        try:
            return _fit_guide(image, signal, layout)
        except ValueError as error:
            reason = str(error).removeprefix("guide: ")  # resample_guide names its argument
            reasons.append(f"{title!r}: {reason}")
            if guide == "auto":
                _logger.warning("guide %r not used: %s", title, reason)
    if guide != "auto":
        raise ValueError("guide: " + "; ".join(reasons))
    _logger.info("no guide image on the scan grid of %s", _describe(signal))
    return None


def load_acquisition(path, *, guide="auto", lazy=False, **hs_load_kwargs):
    """Read a spectrum image (or an image) and its guide image from a vendor file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file RosettaSciIO reads with ``hs.load`` (Bruker ``.bcf``, Velox
        ``.emd``, DigitalMicrograph ``.dm3/.dm4``, TIA ``.emi``, ripple ``.rpl``,
        ``.hspy``/``.zspy``...). A file written by :func:`save_compact` is
        expanded as :func:`load_compact` does.
    guide : "auto", str or None
        ``"auto"`` picks the fully sampled image recorded with the spectrum image
        by its title (HAADF, ADF, DF, BSE/AsB, SE, BF, then any other title;
        element maps are never used) and returns None, with a log message, when
        no image fits the scan. A string picks the image with that title
        (case-insensitive) and raises if it is missing or does not fit. None
        skips the guide.
    lazy : bool
        Passed to ``hs.load``. A lazy spectrum image is rechunked so that its
        spectral axis is one chunk (Velox files come chunked along energy,
        and the reconstructions work on whole spectra).
    **hs_load_kwargs
        Further keyword arguments of ``hs.load`` (e.g. ``reader="HSPY"``).

    Returns
    -------
    signal : hyperspy.signal.BaseSignal
        The spectrum image (2 or more navigation axes, 1 signal axis; the
        largest when there are several), else the largest image.
    guide : hyperspy.signals.Signal2D or None
        The guide image on the scan grid of ``signal``: shape ``(rows, cols)``
        with the scan axes' calibration. An image at another resolution is
        resampled with :func:`hyperspy_cs.resample_guide` when its field of view
        matches the scan's (after unit conversion), and rejected otherwise. Always
        None for a file with no spectrum image.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    hyperspy_cs._scan.ScanAxesError
        (a ValueError) If the file holds neither a spectrum image nor an image.
    ValueError
        If no reader can read the file (unknown format, truncated or damaged
        file: the message names it, the reader's error is the ``__cause__``),
        or if the guide named by ``guide`` is missing or does not fit the scan.

    Examples
    --------
    >>> import hyperspy_cs as cs
    >>> eds, haadf = cs.load_acquisition("test_TEM.bcf")  # doctest: +SKIP
    """
    path = _check_path(path)
    if guide is not None and not isinstance(guide, str):
        raise TypeError(f"guide: expected 'auto', an image title or None, got {type(guide).__name__}")
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy: expected True or False, got {lazy!r}")
    loaded = _load_file(path, lazy=lazy, **hs_load_kwargs)
    signals = loaded if isinstance(loaded, list) else [loaded]
    if len(signals) == 1 and signals[0].metadata.has_item(COMPACT_NODE):
        return _expand_compact(signals[0]), None

    layouts = [(s, _layout_or_none(s)) for s in signals]
    for kind in ("spectrum_image", "image"):
        found = [(s, lay) for s, lay in layouts if lay is not None and lay.kind == kind]
        if found:
            break
    else:
        raise _scan.ScanAxesError(
            f"path: {path.name} holds no spectrum image (2 navigation axes, 1 signal axis) "
            "and no image (2 signal axes); it has "
            + ", ".join(_describe(s) for s in signals)
        )
    signal, layout = max(found, key=lambda item: int(np.prod(item[0].data.shape)))
    if layout.kind == "spectrum_image" and lazy and len(signal.data.chunks[-1]) > 1:
        signal.rechunk(nav_chunks="auto", sig_chunks=-1)
    if guide is None:
        return signal, None
    if layout.kind == "image":
        if guide != "auto":
            raise ValueError(
                f"guide: {path.name} holds no spectrum image ({_describe(signal)} is read as the "
                "acquisition); a guide goes with a spectrum image"
            )
        return signal, None
    return signal, _find_guide(signals, signal, layout, guide)


# --------------------------------------------------------------------------
# Real sub-sampled acquisitions
# --------------------------------------------------------------------------


def _zero_filled(values, flat, canonical_shape):
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


def _make_signal(data, axes, metadata, original_metadata):
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
            t_layout = _layout_or_none(template)
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


def _drop_item(md, item):
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
            _drop_item(md, item)
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
    data = _zero_filled(spectra.reshape(order.size, n_channels), order, layout.canonical_shape)
    signal = _make_signal(_scan.from_canonical(data, layout), axis_dicts, md, original)
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
    path = _check_path(path)
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


# --------------------------------------------------------------------------
# Compact storage
# --------------------------------------------------------------------------


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
    if path.suffix.lower() not in _COMPACT_SUFFIXES:
        raise ValueError(
            f"path: expected a {' or '.join(_COMPACT_SUFFIXES)} file (the formats that keep the "
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
        "format_version": _COMPACT_VERSION,
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
    _drop_item(md, f"{SUBSAMPLING_NODE}.sampled")
    md.set_item(COMPACT_NODE, compact_node)
    visited_axis = {"name": "visited position", "size": flat.size}
    if layout.kind == "spectrum_image":
        axes = [visited_axis | {"navigate": True},
                signal.axes_manager.signal_axes[0].get_axis_dictionary()]
    else:
        values = values[:, 0]
        axes = [visited_axis | {"navigate": False}]
        md.set_item("Signal.signal_type", "")  # the image's type does not fit a 1-D signal
    compact = _make_signal(values, axes, md.as_dictionary(), signal.original_metadata.as_dictionary())
    path = path.resolve()  # a symbolic link keeps pointing at the new file, as with signal.save
    if path.exists():
        # signal.save's rule, which cannot be left to it: it only sees the new file.
        from rsciio.utils.path import overwrite as ask_overwrite

        if overwrite is False or (overwrite is None and not ask_overwrite(path)):
            return
    _write_then_replace(path, lambda new: compact.save(new, overwrite=True, **save_kwargs))


def _expand_compact(compact):
    """The zero-filled signal of a :func:`save_compact` file read by ``hs.load`` (eager or lazy)."""
    node = compact.metadata.get_item(COMPACT_NODE)
    if node.get_item("format_version", None) != _COMPACT_VERSION:
        raise ValueError(
            f"path: compact format version {node.get_item('format_version', None)!r}; this "
            f"version of hyperspy_cs reads version {_COMPACT_VERSION}"
        )
    scan_shape = tuple(int(n) for n in _as_numpy(node.scan_shape))
    frame_shape = tuple(int(n) for n in _as_numpy(node.frame_shape)) if len(node.frame_shape) else ()
    positions = _as_numpy(node.positions).astype(np.int64).reshape(-1, 2)
    frames = _as_numpy(node.frames).astype(np.int64) if node.has_item("frames") else np.zeros(
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

    data = _zero_filled(compact.data.reshape(n_values, layout.n_channels), flat, layout.canonical_shape)

    md = compact.metadata.deepcopy()
    _drop_item(md, COMPACT_NODE)
    md.set_item("Signal.signal_type", node.signal_type)
    subsampling = md.get_item(SUBSAMPLING_NODE)
    for key, value in subsampling.as_dictionary().items():
        if isinstance(value, da.Array):  # lazily read metadata arrays come as dask arrays
            subsampling.set_item(key, _as_numpy(value))
    subsampling.set_item("sampled", sampled.reshape(layout.mask_shape))
    return _make_signal(_scan.from_canonical(data, layout), axis_dicts, md.as_dictionary(),
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
    path = _check_path(path)
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy: expected True or False, got {lazy!r}")
    compact = _load_file(path, lazy=lazy)
    if isinstance(compact, list) or not compact.metadata.has_item(COMPACT_NODE):
        raise ValueError(
            f"path: {path.name} was not written by hyperspy_cs.save_compact (no "
            "metadata.Acquisition.Compact); load it with hs.load or load_acquisition"
        )
    return _expand_compact(compact)
