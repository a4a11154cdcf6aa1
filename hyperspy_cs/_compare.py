"""Compare reconstruction methods on one reference in one call.

:func:`compare` sub-samples a fully sampled reference at every fraction and scan
pattern, reconstructs each sub-sampled scan with every method, times it, and
scores it with PSNR, SSIM and SRE (:mod:`hyperspy_cs.metrics`). Counting data
(EDS, EELS, integer detectors) are scored with the split-half reference of the
SPEC: the counts are split into two independent halves, one is sub-sampled and
reconstructed, the other is the reference, so the noise of the reference does
not reward a method for reproducing it.
"""

import csv
import numbers
import time
import warnings
from collections.abc import Mapping

import numpy as np
from hyperspy.external.progressbar import progressbar
from hyperspy.signal import BaseSignal

from . import _scan
from ._guide import check_guide
from ._inpaint import METHODS, check_options, inpaint
from ._metadata import SUBSAMPLING_NODE, get_mask, is_count_data
from ._subsample import subsample
from ._validate import as_rng, check_bool, check_fraction, resolve_progressbar
from .metrics import psnr, split_counts, sre, ssim
from .patterns import PATTERNS

__all__ = ["Comparison", "compare"]

# Options compare sets itself for every run.
_RESERVED_OPTIONS = ("seed", "mask", "method")
# (row key, table title, cell format) of the tables, in print order.
_TABLE_METRICS = (
    ("psnr", "PSNR (dB)", "{:.2f}"),
    ("ssim", "SSIM", "{:.3f}"),
    ("sre", "SRE (dB)", "{:.2f}"),
    ("seconds", "time (s)", "{:.3g}"),
)
# What the input panel of Comparison.plot shows where the probe did not go.
_UNVISITED_COLOUR = "#3d7a55"
# Columns of the tables that hold words (left-aligned) rather than numbers.
_TEXT_COLUMNS = ("method", "guide")
_LINE_TABLE_METRICS = (
    ("psnr_lines", "PSNR of the X-ray line maps (dB, mean over lines)", "{:.2f}"),
    ("ssim_lines", "SSIM of the X-ray line maps (mean over lines)", "{:.3f}"),
)


def _as_tuple(values):
    """A single value or a sequence as a tuple (a string is one value)."""
    if isinstance(values, (str, numbers.Number)):
        return (values,)
    return tuple(values)


def _method_runs(methods):
    """``{label: method}``; an entry is a method name or a ``(label, method)`` pair."""
    runs = {}
    for entry in _as_tuple(methods):
        if isinstance(entry, str):
            label, method = entry, entry
        elif (isinstance(entry, tuple) and len(entry) == 2
              and all(isinstance(item, str) for item in entry)):
            label, method = entry
        else:
            raise TypeError(
                f"methods: expected method names or (label, method) pairs, got {entry!r}"
            )
        if method not in METHODS:
            raise ValueError(f"methods: unknown method {method!r}; expected one of {list(METHODS)}")
        if label in runs:
            raise ValueError(f"methods: label {label!r} appears twice; labels must be unique")
        runs[label] = method
    if not runs:
        raise ValueError("methods: expected at least one method")
    return runs


def _fractions(fractions):
    checked = tuple(check_fraction(f, name="fractions") for f in _as_tuple(fractions))
    if not checked:
        raise ValueError("fractions: expected at least one fraction in (0, 1]")
    if len(set(checked)) != len(checked):
        raise ValueError(f"fractions: each fraction once, got {list(checked)}")
    return checked


def _patterns(patterns):
    checked = _as_tuple(patterns)
    for pattern in checked:
        if not isinstance(pattern, str):
            raise TypeError(f"patterns: expected names from {sorted(PATTERNS)}, got {pattern!r}")
        if pattern not in PATTERNS:
            raise ValueError(f"patterns: expected names from {sorted(PATTERNS)}, got {pattern!r}")
    if not checked:
        raise ValueError(f"patterns: expected at least one of {sorted(PATTERNS)}")
    if len(set(checked)) != len(checked):
        raise ValueError(f"patterns: each pattern once, got {list(checked)}")
    return checked


def _options(method_options, runs):
    if method_options is None:
        return {label: {} for label in runs}
    if not isinstance(method_options, Mapping):
        raise TypeError(
            f"method_options: expected a dict {{method label: {{option: value}}}}, "
            f"got {type(method_options).__name__}"
        )
    unknown = sorted(set(method_options) - set(runs))
    if unknown:
        raise ValueError(f"method_options: {unknown} are not among the methods {list(runs)}")
    options = {}
    for label in runs:
        given = method_options.get(label, {})
        if not isinstance(given, Mapping):
            raise TypeError(
                f"method_options[{label!r}]: expected a dict of options, got {type(given).__name__}"
            )
        reserved = sorted(set(given) & set(_RESERVED_OPTIONS))
        if reserved:
            raise ValueError(
                f"method_options[{label!r}]: {reserved} are set by compare (use its seed argument)"
            )
        options[label] = dict(given)
    return options


def _is_counts(reference, count_data):
    """Whether to use the split-half reference (see :func:`compare`)."""
    if check_bool(count_data, name="count_data", allow_none=True) is not None:
        return count_data
    if not is_count_data(reference):
        return False
    values = reference.data
    if values.dtype.kind == "f" and not (
        (values >= 0).all() and (values == np.round(values)).all()
    ):
        # Gain-normalised EELS or processed EDS: no longer Poisson counts that
        # binomial thinning could split.
        warnings.warn(
            "reference: EDS/EELS data with non-integer or negative values are not counts; "
            "the methods are scored against the reference itself (its noise included). "
            "Pass count_data=False to silence this warning.",
            UserWarning,
            stacklevel=3,
        )
        return False
    return True


def _line_names(reference):
    """The X-ray lines exspy integrates for ``reference`` that can be scored, or None."""
    if not hasattr(reference, "get_lines_intensity"):
        return None
    if not (reference.metadata.get_item("Sample.xray_lines")
            or reference.metadata.get_item("Sample.elements")):
        return None
    lines = []
    for intensity in reference.get_lines_intensity():
        line = intensity.metadata.Sample.xray_lines[0]
        # PSNR and SRE are undefined against a constant (e.g. empty) map.
        if np.ptp(np.asarray(intensity.data)) > 0:
            lines.append(line)
        else:
            warnings.warn(f"reference: the {line} map is constant; it is not scored",
                          UserWarning, stacklevel=3)
    return lines or None


def _line_maps(signal, lines):
    """``(L, *frames, R, C)`` X-ray line intensities (exspy, 2 FWHM windows)."""
    return np.stack([np.asarray(m.data) for m in signal.get_lines_intensity(xray_lines=lines)])


def _scores(reference, estimate, ref_lines, lines):
    """The metrics of one reconstruction, as the row stores them."""
    row = {"psnr": psnr(reference, estimate), "ssim": ssim(reference, estimate),
           "sre": sre(reference, estimate)}
    if lines:
        est_lines = _line_maps(estimate, lines)
        per_line = [(psnr(r, e), ssim(r, e), sre(r, e)) for r, e in zip(ref_lines, est_lines)]
        row["psnr_lines"], row["ssim_lines"], row["sre_lines"] = (
            float(np.mean(values)) for values in zip(*per_line)
        )
        row.update({f"psnr_{line}": p for line, (p, _, _) in zip(lines, per_line)})
    return row


def _guide_used(result):
    """The title of the guide a reconstruction used, as it recorded it, or ``"none"``."""
    # BPFA records its guide's title, or "None" without one; the other methods
    # take no guide and record nothing.
    recorded = result.metadata.get_item("Reconstruction.parameters.guide", "None")
    return "none" if recorded == "None" else str(recorded)


def compare(
    reference,
    *,
    fractions=(0.1, 0.25),
    patterns=("random",),
    methods=("nearest", "cubic", "bpfa"),
    seed=0,
    method_options=None,
    guide=None,
    count_data=None,
    show_progressbar=None,
):
    """Sub-sample ``reference``, reconstruct it with several methods and score them.

    For every fraction and pattern, the reference (or, for counts, one half of
    it) is sub-sampled with :func:`hyperspy_cs.subsample`, reconstructed with
    :func:`hyperspy_cs.inpaint` by every method, timed, and compared with the
    reference by PSNR, SSIM and SRE (:mod:`hyperspy_cs.metrics`). All methods of
    one fraction and pattern see the same sub-sampled scan.

    Parameters
    ----------
    reference : hyperspy.signal.BaseSignal
        A fully sampled image or spectrum image (not itself sub-sampled); not
        modified. Lazy data are computed once.
    fractions : float or sequence of float
        Fractions of visited positions, each in (0, 1].
    patterns : str or sequence of str
        Scan patterns, names from :data:`hyperspy_cs.patterns.PATTERNS`.
    methods : sequence of str or (label, method) pairs
        Methods of :func:`hyperspy_cs.inpaint` (``inpaint.METHODS``). A
        ``(label, method)`` pair runs a method under another name, so that one
        method can be compared with itself under different options (e.g.
        ``("bpfa, no guide", "bpfa")`` with ``{"guide": None}``).
    seed : None, int or numpy.random.Generator
        One integer seed (the one used is stored in ``Comparison.seed``) is
        passed to :func:`~hyperspy_cs.metrics.split_counts`, to every
        :func:`~hyperspy_cs.subsample` and to every method, so that any row can
        be reproduced alone: ``inpaint(subsample(ref, f, p, seed=seed), m,
        seed=seed)``.
    method_options : dict, optional
        ``{label: {option: value}}``, passed to ``inpaint`` for that method
        (e.g. ``{"bpfa": {"n_iter": 50}}``). BPFA's own progress bar is off
        unless its options set ``show_progressbar``.
    guide : hyperspy.signals.Signal2D or numpy.ndarray, optional
        A fully sampled image of the scan grid (HAADF, BSE), passed to every
        ``"bpfa"`` run on a spectrum image unless its options set ``guide``
        (``{"guide": None}`` runs it without). Spectrum images only.
    count_data : bool, optional
        Whether the reference holds counts. None: counts for integer data and
        for EDS/EELS signals whose values are non-negative integers. For counts
        the reference is split by binomial thinning into two independent
        halves ``a, b = split_counts(reference, seed=seed)`` of equal
        expectation; ``a`` is sub-sampled and reconstructed and ``b`` is the
        reference of the metrics (SPEC: this ranks methods as a comparison with
        the unknown truth would).
    show_progressbar : bool, optional
        A progress bar over the runs; default ``hs.preferences``.

    Returns
    -------
    Comparison
        ``rows`` (one dict per run: ``method``, for a spectrum image
        ``guide``, then ``pattern``, ``fraction``, ``sampled_fraction``,
        ``psnr``, ``ssim``, ``sre``, ``seconds``), ``results`` (the reconstructions keyed by ``(method, pattern,
        fraction)``), printable tables, ``to_markdown``, ``to_csv`` and
        ``plot``.

    Notes
    -----
    For a spectrum image the metrics are computed on the whole reconstructed
    cube (every channel of every position). When X-ray lines are known
    (``metadata.Sample.xray_lines``, else the lines exspy picks for
    ``metadata.Sample.elements``), the rows also hold the metrics of the line
    intensity maps (``get_lines_intensity``, what microscopists look at):
    ``psnr_lines``, ``ssim_lines``, ``sre_lines`` (means over the lines, each
    map with its own data range) and ``psnr_<line>`` per line.

    ``seconds`` is the wall time of the ``inpaint`` call, including the first
    call's just-in-time compilation of numba methods (warm them up for
    benchmarks).

    Examples
    --------
    >>> import hyperspy_cs as cs
    >>> s = cs.data.atomic_resolution_image(shape=(64, 64), seed=0)
    >>> result = cs.compare(s, methods=("nearest", "cubic"), fractions=0.2)
    >>> print(result)  # doctest: +SKIP
    >>> result.plot()  # doctest: +SKIP
    """
    if not isinstance(reference, BaseSignal):
        raise TypeError(f"reference: expected a HyperSpy signal, got {type(reference).__name__}")
    layout = _scan.scan_layout(reference)
    if reference.metadata.has_item(SUBSAMPLING_NODE):
        raise ValueError(
            "reference: it is already sub-sampled (it has metadata.Acquisition.Subsampling); "
            "compare needs the fully sampled data it sub-samples itself"
        )
    fractions = _fractions(fractions)
    patterns = _patterns(patterns)
    runs = _method_runs(methods)
    options = _options(method_options, runs)
    for label, method in runs.items():  # before hours of runs, not after some
        check_options(method, options[label], image=layout.kind == "image")
    if guide is not None:
        if layout.kind == "image":
            raise ValueError("guide: only spectrum images take a guide image")
        check_guide(guide, layout)
    _, seed = as_rng(seed)
    show = resolve_progressbar(show_progressbar)

    if reference._lazy:
        reference = reference.deepcopy()
        reference.compute(show_progressbar=False)
    if reference.data.dtype.kind == "f" and not np.isfinite(reference.data).all():
        raise ValueError("reference: contains NaN or inf values")
    counts = _is_counts(reference, count_data)
    if counts:
        try:
            source, target = split_counts(reference, seed=seed)
        except ValueError as error:
            raise ValueError(
                f"reference: count_data=True needs counts ({error}); pass count_data=False"
            ) from error
    else:
        source, target = reference, reference
    # Scoring the reference against itself fails now, not after the methods
    # ran, if the metrics cannot score it (constant, all zero, too small).
    _scores(target, target, None, None)
    lines = _line_names(target) if layout.kind == "spectrum_image" else None
    ref_lines = _line_maps(target, lines) if lines else None

    rows, results, inputs = [], {}, {}
    with progressbar(total=len(fractions) * len(patterns) * len(runs), disable=not show,
                     desc="compare") as bar:
        for pattern in patterns:
            for fraction in fractions:
                sub = subsample(source, fraction, pattern, seed=seed)
                inputs[pattern, fraction] = sub
                for label, method in runs.items():
                    bar.set_postfix_str(f"{label}, {pattern}, {fraction:g}")
                    kwargs = dict(options[label])
                    if method == "bpfa":
                        kwargs.setdefault("show_progressbar", False)
                        if layout.kind == "spectrum_image":
                            kwargs.setdefault("guide", guide)
                    start = time.perf_counter()
                    result = inpaint(sub, method=method, seed=seed, **kwargs)
                    seconds = time.perf_counter() - start
                    results[label, pattern, fraction] = result
                    row = {"method": label}
                    if layout.kind == "spectrum_image":
                        row["guide"] = _guide_used(result)
                    rows.append({
                        **row,
                        "pattern": pattern,
                        "fraction": fraction,
                        "sampled_fraction": float(get_mask(sub).mean()),
                        **_scores(target, result, ref_lines, lines),
                        "seconds": seconds,
                    })
                    bar.update()
    return Comparison(rows=rows, results=results, inputs=inputs, reference=target,
                      count_data=counts, lines=lines, seed=seed,
                      title=reference.metadata.get_item("General.title", "") or "signal")


class Comparison:
    """The outcome of :func:`compare`: scores, reconstructions, tables and a figure.

    Attributes
    ----------
    rows : list of dict
        One per run, in run order (pattern, fraction, method): ``method`` (its
        label), for a spectrum image ``guide`` (the title of the guide image
        the method used, as its ``metadata.Reconstruction`` records it, or
        ``"none"``), ``pattern``, ``fraction`` (requested),
        ``sampled_fraction`` (achieved), ``psnr``, ``ssim``, ``sre`` (dB for
        PSNR and SRE), ``seconds``; with X-ray lines also ``psnr_lines``, ``ssim_lines``,
        ``sre_lines`` and ``psnr_<line>``.
    results : dict
        ``{(method, pattern, fraction): reconstruction}``.
    inputs : dict
        ``{(pattern, fraction): sub-sampled signal}`` the methods reconstructed.
    reference : hyperspy.signal.BaseSignal
        What the metrics compare with: the reference itself, or for counts its
        independent half ``b``.
    count_data : bool
        Whether the split-half reference was used.
    lines : list of str or None
        X-ray lines scored as maps, if any.
    seed : int
        The seed of every split, sub-sampling and method.
    title : str
        Title of the compared signal.
    """

    def __init__(self, *, rows, results, inputs, reference, count_data, lines, seed, title):
        self.rows = rows
        self.results = results
        self.inputs = inputs
        self.reference = reference
        self.count_data = count_data
        self.lines = lines
        self.seed = seed
        self.title = title

    @property
    def methods(self):
        """Method labels, in run order."""
        return list(dict.fromkeys(row["method"] for row in self.rows))

    @property
    def fractions(self):
        return list(dict.fromkeys(row["fraction"] for row in self.rows))

    @property
    def patterns(self):
        return list(dict.fromkeys(row["pattern"] for row in self.rows))

    def _description(self):
        if self.count_data:
            text = (f"{self.title}: counts split in two halves (seed {self.seed}); half a "
                    "sub-sampled and reconstructed, scored against half b")
        else:
            text = f"{self.title}: scored against the fully sampled reference (seed {self.seed})"
        note = self._guide_note()
        return text if note is None else f"{text}; {note}"

    def _tables(self):
        """``(title, header, body)`` of one method x fraction table per pattern and metric.

        A spectrum image's tables also name each method's guide (a column).
        """
        metrics = _TABLE_METRICS + (_LINE_TABLE_METRICS if self.lines else ())
        cells = {(r["method"], r["pattern"], r["fraction"]): r for r in self.rows}
        # A method's options, its guide among them, are the same in all its runs.
        guides = {r["method"]: r["guide"] for r in self.rows if "guide" in r}
        header = (["method"] + (["guide"] if guides else [])
                  + [f"{100 * f:g} %" for f in self.fractions])
        for pattern in self.patterns:
            for key, name, fmt in metrics:
                body = [[label] + ([guides[label]] if guides else [])
                        + [fmt.format(cells[label, pattern, f][key]) for f in self.fractions]
                        for label in self.methods]
                yield f"{name}, {pattern} pattern", header, body

    def __str__(self):
        blocks = [self._description()]
        for title, header, body in self._tables():
            widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
            text = [title]
            for line in [header, *body]:
                text.append("  ".join(
                    cell.ljust(w) if name in _TEXT_COLUMNS else cell.rjust(w)
                    for name, cell, w in zip(header, line, widths)
                ))
            blocks.append("\n".join(text))
        return "\n\n".join(blocks)

    def __repr__(self):
        return (f"<Comparison: {len(self.methods)} method(s) x {len(self.fractions)} "
                f"fraction(s) x {len(self.patterns)} pattern(s)>")

    def to_markdown(self):
        """The tables of ``str(self)`` as Markdown (one per pattern and metric).

        Returns
        -------
        str
        """
        blocks = [self._description() + "."]
        for title, header, body in self._tables():
            lines = [f"**{title}**", "", "| " + " | ".join(header) + " |",
                     "|" + "|".join("---" if name in _TEXT_COLUMNS else "---:"
                                    for name in header) + "|"]
            lines += ["| " + " | ".join(line) + " |" for line in body]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    def to_csv(self, path):
        """Write ``rows`` to a CSV file, one line per run.

        Parameters
        ----------
        path : str or os.PathLike
        """
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def _map(self, signal, line):
        """The 2-D map shown for ``signal``: the image, the ``line`` map or the sum over E."""
        layout = _scan.scan_layout(signal)
        if layout.kind == "image":
            data = _scan.to_canonical(np.asarray(signal.data), layout)[0, ..., 0]
        elif line is not None:
            data = _line_maps(signal, [line]).reshape(-1, *layout.scan_shape)[0]
        else:
            data = _scan.to_canonical(np.asarray(signal.data), layout)[0].sum(axis=-1)
        return np.asarray(data, dtype=np.float64)

    def _guide_note(self, methods=None):
        """``"<labels> guided by <title>"`` or ``"no guide"``; None for images (no guide)."""
        if not self.rows or "guide" not in self.rows[0]:
            return None
        guided = {}
        for row in self.rows:
            if (methods is None or row["method"] in methods) and row["guide"] != "none":
                guided.setdefault(row["guide"], []).append(row["method"])
        if not guided:
            return "no guide"
        return "; ".join(f"{', '.join(dict.fromkeys(labels))} guided by {title}"
                         for title, labels in guided.items())

    def plot(self, *, fraction=None, pattern=None, line=None):
        """Reconstructions and error maps of one fraction and pattern.

        The top row shows the reference and each method's reconstruction
        (titled with the PSNR of the map shown), on one intensity scale with one
        colour bar. The bottom row shows the sub-sampled input (unvisited
        positions in green) and, beneath each reconstruction, its signed error
        ``reconstruction - reference``, on one colour scale symmetric around 0
        for all methods (red: too bright, blue: too dark), with its own colour
        bar. Both scales clip the 0.5 % most extreme values. When the scan axes
        are calibrated (uniform, with units), the reference carries a scale bar;
        every panel shows the same field of view. The figure title names the
        signal, the scan and, for a spectrum image, the guide the methods used
        (``"guided by <title>"`` or ``"no guide"``). A spectrum image is shown
        as an X-ray line map, or summed over the signal axis without lines.

        Parameters
        ----------
        fraction : float, optional
            One of the compared fractions; default the first.
        pattern : str, optional
            One of the compared patterns; default the first.
        line : str, optional
            The X-ray line shown for a spectrum image, one of ``lines``;
            default the first.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        fraction = self.fractions[0] if fraction is None else fraction
        pattern = self.patterns[0] if pattern is None else pattern
        if fraction not in self.fractions:
            raise ValueError(f"fraction: expected one of {self.fractions}, got {fraction!r}")
        if pattern not in self.patterns:
            raise ValueError(f"pattern: expected one of {self.patterns}, got {pattern!r}")
        if line is None:
            line = self.lines[0] if self.lines else None
        elif line not in (self.lines or ()):
            raise ValueError(f"line: expected one of the scored lines {self.lines}, got {line!r}")

        reference = self._map(self.reference, line)
        sub = self.inputs[pattern, fraction]
        layout = _scan.scan_layout(sub)
        visited = _scan.mask_to_canonical(get_mask(sub), layout)[0]
        reconstructions = {label: self._map(self.results[label, pattern, fraction], line)
                           for label in self.methods}
        errors = {label: rec - reference for label, rec in reconstructions.items()}
        # One intensity scale for the reference, the input and every
        # reconstruction, and one error scale, symmetric around 0, for every
        # method, so that the maps compare by eye; percentiles keep a few hot
        # pixels from washing the rest out.
        low, high = np.percentile(reference, [0.5, 99.5])
        error_max = max(float(np.percentile(np.abs(e), 99.5)) for e in errors.values()) or 1.0
        x_axis, y_axis = _scan.scan_axes(self.reference)
        aspect = (abs(y_axis.scale / x_axis.scale)
                  if x_axis.is_uniform and y_axis.is_uniform and y_axis.units == x_axis.units
                  else 1.0)

        n = len(self.methods) + 1
        figure, axes = plt.subplots(2, n, figsize=(2.6 * n + 1.0, 5.8), layout="constrained",
                                    squeeze=False)
        # Unvisited positions in a colour neither the gray scale nor the error
        # map uses, so that they do not read as dark pixels or as errors.
        gray = plt.get_cmap("gray").with_extremes(bad=_UNVISITED_COLOUR)
        shown = "" if line is None else f" ({line})"
        top = {"reference" + (", half b" if self.count_data else "") + shown: reference}
        top |= {f"{label}: {psnr(reference, rec):.2f} dB": rec
                for label, rec in reconstructions.items()}
        for ax, (title, data) in zip(axes[0], top.items()):
            intensity = ax.imshow(data, cmap=gray, vmin=low, vmax=high, aspect=aspect,
                                  interpolation="nearest")
            ax.set_title(title, fontsize=10)
        ax = axes[1, 0]
        ax.imshow(np.ma.masked_array(self._map(sub, line), mask=~visited), cmap=gray, vmin=low,
                  vmax=high, aspect=aspect, interpolation="nearest")
        ax.set_title(f"input: {100 * visited.mean():.3g} % {pattern}{shown}\n"
                     "green: not visited", fontsize=10)
        for ax, (label, error) in zip(axes[1, 1:], errors.items()):
            error_image = ax.imshow(error, cmap="RdBu_r", vmin=-error_max, vmax=error_max,
                                    aspect=aspect, interpolation="nearest")
            ax.set_title(f"{label} - reference", fontsize=10)
        for ax in axes.flat:
            ax.set_axis_off()

        quantity = self.reference.metadata.get_item("Signal.quantity") or "intensity"
        what = quantity if line is None else f"{line} map, {quantity}"
        if line is None and layout.kind == "spectrum_image":
            what = f"sum over the spectrum, {quantity}"
        figure.colorbar(intensity, ax=axes[0, :], label=what, extend="both", shrink=0.9)
        figure.colorbar(error_image, ax=axes[1, 1:], label="reconstruction - reference",
                        extend="both", shrink=0.9)
        _add_scale_bar(axes[0, 0], x_axis)
        note = self._guide_note()
        figure.suptitle(f"{self.title}\n{100 * fraction:g} % {pattern} scan{shown}"
                        + ("" if note is None else f", {note}"), fontsize=12)
        return figure


def _nice_length(limit):
    """The largest 1, 2 or 5 times a power of ten that is at most ``limit``."""
    power = 10.0 ** np.floor(np.log10(limit))
    return max(m * power for m in (1, 2, 5) if m * power <= limit)


def _add_scale_bar(ax, x_axis):
    """A scale bar in ``x_axis`` units on an image drawn in pixels, if the axis is calibrated.

    Uncalibrated (no units) and non-uniform axes get none: a bar would claim a
    length the data do not have.
    """
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    units = x_axis.units
    if not (x_axis.is_uniform and isinstance(units, str) and units.strip()):
        return None
    scale = abs(x_axis.scale)
    # About a fifth of the field of view: long enough to read, short enough
    # to leave the image visible.
    length = _nice_length(0.25 * scale * x_axis.size)
    bar = AnchoredSizeBar(ax.transData, length / scale, f"{length:g} {units}", "lower left",
                          pad=0.3, borderpad=0.4, sep=3, color="white", frameon=True,
                          size_vertical=max(1.0, 0.015 * x_axis.size),
                          fontproperties=FontProperties(size=9))
    # White on a translucent black box reads on bright and dark images alike.
    bar.patch.set(facecolor="black", alpha=0.55, edgecolor="none")
    ax.add_artist(bar)
    return bar
