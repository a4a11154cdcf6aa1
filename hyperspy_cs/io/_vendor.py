"""Vendor files in: the spectrum image (or image) and the guide image recorded with it.

:func:`load_acquisition` reads any RosettaSciIO format and returns the spectrum
image (or image) with the fully sampled guide image (HAADF, BSE...) recorded on the
same scan, when the file has one, or the guide file ``hyperspy-cs subsample``
wrote beside it; a file written by :func:`hyperspy_cs.save_compact` is expanded
to the zero-filled signal. Every guide, found or given, goes through
``fit_guide``, so that all are checked and put on the scan grid alike.
"""

import logging
import os
import pathlib
import re

import numpy as np

from .. import _scan
from .._guide import on_scan_grid, resample_guide
from .._metadata import COMPACT_NODE
from ._files import SIGNAL_SUFFIXES, guide_file_for, check_path, load_file

__all__ = ["load_acquisition"]

# What "hyperspy-cs subsample" writes (HyperSpy's own formats keep the metadata).

_logger = logging.getLogger(__name__)

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

    ``image`` may be changed (its axes converted to the scan's units): callers
    pass a copy.
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
        return on_scan_grid(image.data, image, x_axis, y_axis)
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


def _is_single_image(signal):
    return signal.axes_manager.signal_dimension == 2 and not signal.axes_manager.navigation_dimension


def _on_scan_grid(image, signal, layout):
    """:func:`_fit_guide` on a copy of ``image``, computed; ValueError with the bare reason."""
    # A copy of everything but the data: the unit conversion must not reach the
    # caller's image, and copying the data would only cost memory.
    image = image._deepcopy_with_new_data(image.data)
    try:
        fitted = _fit_guide(image, signal, layout)
    except ValueError as error:
        # resample_guide names its own argument, which the callers name again.
        raise ValueError(str(error).removeprefix("guide: ")) from None
    if fitted._lazy:
        # One image is small, and the reconstructions need it whole: a guide is
        # always in memory, even from a lazily loaded file.
        fitted.compute(show_progressbar=False)
    return fitted


def fit_guide(image, signal, *, name="guide"):
    """``image`` on the scan grid of the spectrum image ``signal``: the guide's one door.

    :func:`load_acquisition` passes every guide through here, the images found in
    the file, the guide file beside it and a guide file it is given, and so does
    ``hyperspy-cs``: each is checked and fitted alike.

    Parameters
    ----------
    image : hyperspy.signals.Signal2D
        A single image (no navigation axes): on the scan grid already (same
        pixels; it takes the scan's axes calibration), or covering the same
        field of view at another resolution (it is resampled with
        :func:`hyperspy_cs.resample_guide`, after converting its axis units to
        the scan's). Not modified.
    signal : hyperspy.signal.BaseSignal
        The spectrum image the guide goes with.
    name : str
        The argument named in error messages.

    Returns
    -------
    hyperspy.signals.Signal2D
        The guide, in memory (computed if ``image`` is lazy), shape
        ``(rows, cols)`` of the scan, with the scan axes' calibration and
        ``image``'s metadata.

    Raises
    ------
    TypeError
        If ``image`` is not a HyperSpy signal.
    ValueError
        If ``image`` is not a single image, if ``signal`` is not a spectrum
        image, or if ``image`` cannot be put on the scan grid (other pixels and
        uncalibrated axes, incompatible units, another field of view).
    """
    from hyperspy.signal import BaseSignal

    if not isinstance(image, BaseSignal):
        raise TypeError(f"{name}: expected a HyperSpy image (Signal2D), got {type(image).__name__}")
    if not _is_single_image(image):
        raise ValueError(f"{name}: {_describe(image)} is not a single image")
    layout = _scan.scan_layout(signal)
    if layout.kind != "spectrum_image":
        raise ValueError(f"{name}: {_describe(signal)} is an image; a guide goes with a spectrum "
                         "image")
    try:
        return _on_scan_grid(image, signal, layout)
    except ValueError as error:
        raise ValueError(f"{name}: {str(image.metadata.General.title)!r}: {error}") from None


def guide_beside(path):
    """The guide file ``hyperspy-cs subsample`` writes beside ``path``, or None.

    ``sub.hspy`` -> ``sub_guide.hspy`` (then ``sub_guide.zspy``): the suffix of
    ``path`` first, then HyperSpy's own formats, whichever exists.
    """
    path = pathlib.Path(path)
    for suffix in dict.fromkeys((path.suffix, *SIGNAL_SUFFIXES)):
        candidate = guide_file_for(path.with_suffix(suffix))
        if candidate.exists():
            return candidate
    return None


def _read_guide_file(path, *, name="guide"):
    """The single image in the file ``path`` (read eagerly: an image is small)."""
    path = check_path(path, name=name)
    loaded = load_file(path, name=name)
    signals = loaded if isinstance(loaded, list) else [loaded]
    images = [s for s in signals if _is_single_image(s)]
    if len(images) != 1:
        raise ValueError(f"{name}: {path.name} does not hold a single image; it has "
                         + ", ".join(_describe(s) for s in signals))
    return images[0]


def _find_guide(signals, signal, layout, guide):
    """The guide among ``signals`` (those loaded with ``signal``), on the scan grid.

    ``guide`` is ``"auto"`` (best detector title, same grid first; None if no
    image fits) or the title to pick (None if no image has it, ValueError if
    those that have it cannot be put on the scan grid).
    """
    images = [(i, s) for i, s in enumerate(signals) if s is not signal and _is_single_image(s)]
    if guide == "auto":
        images = [(i, s) for i, s in images if not _is_element_map(str(s.metadata.General.title))]
    else:
        images = [(i, s) for i, s in images if str(s.metadata.General.title).lower() == guide.lower()]
        if not images:
            return None
    images.sort(key=lambda item: (
        _detector_rank(str(item[1].metadata.General.title)),
        tuple(item[1].data.shape) != tuple(layout.scan_shape),
        item[0],
    ))
    reasons = []
    for _, image in images:
        title = str(image.metadata.General.title)
        try:
            return _on_scan_grid(image, signal, layout)
        except ValueError as error:
            reasons.append(f"{title!r}: {error}")
            if guide == "auto":
                _logger.warning("guide %r not used: %s", title, error)
    if guide != "auto":
        raise ValueError("guide: " + "; ".join(reasons))
    return None


def _guide_from_beside(path, signal, guide):
    """``(guide, its file)`` from the guide file beside ``path``, or ``(None, None)``.

    With ``guide="auto"`` a file that cannot be read or fitted is passed over
    with a log message (as images in the file are); with a title it is used
    only if its image has that title, and then must fit.
    """
    beside = guide_beside(path)
    if beside is None:
        return None, None
    try:
        image = _read_guide_file(beside)
        if guide != "auto" and str(image.metadata.General.title).lower() != guide.lower():
            return None, None
        return fit_guide(image, signal), beside
    except ValueError as error:
        if guide != "auto":
            raise
        _logger.warning("guide file %s beside %s not used: %s", beside.name, path.name,
                        str(error).removeprefix("guide: "))
        return None, None


def read_acquisition(path, *, guide="auto", lazy=False, **hs_load_kwargs):
    """:func:`load_acquisition`, and the file the guide came from.

    Returns
    -------
    signal, guide
        As :func:`load_acquisition`.
    guide_file : pathlib.Path or None
        The file the guide was read from (``path`` itself, the file beside it,
        or the file given as ``guide``); None with no guide. For callers that
        tell the user which guide they use (``hyperspy-cs``).
    """
    path = check_path(path)
    if guide is not None and not isinstance(guide, (str, os.PathLike)):
        raise TypeError("guide: expected 'auto', an image title, an image file (os.PathLike) or "
                        f"None, got {type(guide).__name__}")
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy: expected True or False, got {lazy!r}")
    loaded = load_file(path, lazy=lazy, **hs_load_kwargs)
    signals = loaded if isinstance(loaded, list) else [loaded]
    if len(signals) == 1 and signals[0].metadata.has_item(COMPACT_NODE):
        # A compact file holds the visited spectra and nothing else: its guide,
        # if any, is the file beside it.
        # Imported here: it needs dask, which a failing read should not wait for.
        from ._compact import expand_compact

        signal = expand_compact(signals[0])
        signals = [signal]
        layout = _scan.scan_layout(signal)
    else:
        layouts = [(s, _scan.layout_or_none(s)) for s in signals]
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
        return signal, None, None
    if layout.kind == "image":
        if guide != "auto":
            raise ValueError(
                f"guide: {path.name} holds no spectrum image ({_describe(signal)} is read as the "
                "acquisition); a guide goes with a spectrum image"
            )
        return signal, None, None
    if isinstance(guide, os.PathLike):
        guide_file = pathlib.Path(guide)
        return signal, fit_guide(_read_guide_file(guide_file), signal), guide_file

    found = _find_guide(signals, signal, layout, guide)
    if found is not None:
        return signal, found, path
    found, beside = _guide_from_beside(path, signal, guide)
    if found is not None:
        return signal, found, beside
    if guide != "auto":
        titles = [str(s.metadata.General.title) for s in signals
                  if s is not signal and _is_single_image(s)]
        hint = ""
        if pathlib.Path(guide).is_file():
            hint = "; for the image in that file pass guide=pathlib.Path(...)"
        raise ValueError(f"guide: no image titled {guide!r} in the file; its images are "
                         f"{titles}{hint}")
    _logger.info("no guide image on the scan grid of %s, in %s or beside it", _describe(signal),
                 path.name)
    return signal, None, None


def load_acquisition(path, *, guide="auto", lazy=False, **hs_load_kwargs):
    """Read a spectrum image (or an image) and its guide image from a vendor file.

    Parameters
    ----------
    path : str or os.PathLike
        Any file RosettaSciIO reads with ``hs.load`` (Bruker ``.bcf``, Velox
        ``.emd``, DigitalMicrograph ``.dm3/.dm4``, TIA ``.emi``, ripple ``.rpl``,
        ``.hspy``/``.zspy``...). A file written by :func:`save_compact` is
        expanded as :func:`load_compact` does.
    guide : "auto", str, os.PathLike or None
        ``"auto"`` picks the fully sampled image recorded with the spectrum image
        by its title (HAADF, ADF, DF, BSE/AsB, SE, BF, then any other title;
        element maps are never used); with none that fits, the guide file
        ``hyperspy-cs subsample`` writes beside ``path`` (``sub.hspy`` ->
        ``sub_guide.hspy``); and returns None, with a
        log message, when neither fits the scan. A string picks the image with
        that title (case-insensitive), in the file or beside it, and raises if
        it is missing or does not fit. A path (``pathlib.Path``) reads the
        single image in that file. None skips the guide.
    lazy : bool
        Passed to ``hs.load``. A lazy spectrum image is rechunked so that its
        spectral axis is one chunk (Velox files come chunked along energy,
        and the reconstructions work on whole spectra). The guide is always
        computed (in memory): one image is small, and the reconstructions need
        it whole.
    **hs_load_kwargs
        Further keyword arguments of ``hs.load`` (e.g. ``reader="HSPY"``) for
        ``path`` (a guide file is read with the defaults).

    Returns
    -------
    signal : hyperspy.signal.BaseSignal
        The spectrum image (2 or more navigation axes, 1 signal axis; the
        largest when there are several), else the largest image; lazy if
        ``lazy``.
    guide : hyperspy.signals.Signal2D or None
        The guide image on the scan grid of ``signal``, in memory: shape
        ``(rows, cols)`` with the scan axes' calibration. An image at another resolution is resampled with
        :func:`hyperspy_cs.resample_guide` when its field of view matches the
        scan's (after unit conversion), and rejected otherwise. Always None for
        a file with no spectrum image.

    Raises
    ------
    FileNotFoundError
        If ``path`` (or the guide file given) does not exist.
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
    >>> sub, haadf = cs.load_acquisition("tem_25.hspy")  # with tem_25_guide.hspy  # doctest: +SKIP
    """
    signal, guide, _ = read_acquisition(path, guide=guide, lazy=lazy, **hs_load_kwargs)
    return signal, guide
