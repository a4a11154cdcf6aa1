"""Vendor files in: the spectrum image (or image) and the guide image recorded with it.

:func:`load_acquisition` reads any RosettaSciIO format and returns the spectrum
image (or image) with the fully sampled guide image (HAADF, BSE...) recorded on the
same scan, when the file has one; a file written by
:func:`hyperspy_cs.save_compact` is expanded to the zero-filled signal.
"""

import logging
import re

import numpy as np

from .. import _scan
from .._guide import on_scan_grid, resample_guide
from .._metadata import COMPACT_NODE
from ._compact import expand_compact
from ._files import check_path, load_file

__all__ = ["load_acquisition"]

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
    path = check_path(path)
    if guide is not None and not isinstance(guide, str):
        raise TypeError(f"guide: expected 'auto', an image title or None, got {type(guide).__name__}")
    if not isinstance(lazy, bool):
        raise TypeError(f"lazy: expected True or False, got {lazy!r}")
    loaded = load_file(path, lazy=lazy, **hs_load_kwargs)
    signals = loaded if isinstance(loaded, list) else [loaded]
    if len(signals) == 1 and signals[0].metadata.has_item(COMPACT_NODE):
        return expand_compact(signals[0]), None

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
        return signal, None
    if layout.kind == "image":
        if guide != "auto":
            raise ValueError(
                f"guide: {path.name} holds no spectrum image ({_describe(signal)} is read as the "
                "acquisition); a guide goes with a spectrum image"
            )
        return signal, None
    return signal, _find_guide(signals, signal, layout, guide)
