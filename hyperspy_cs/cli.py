"""The ``hyperspy-cs`` command line: simulate, reconstruct and compare sub-sampled scans.

Every subcommand checks its arguments and its output paths before it reads or
computes anything, never replaces an existing output without ``--overwrite``,
and on bad input exits with status 2 and a one-line reason on stderr.

This module imports only the standard library and the light part of the
package at import time: the readers, the engines, dask, exspy and matplotlib
load inside the command that needs them, so that ``--help`` and argument
errors answer at once.
"""

import argparse
import math
import pathlib
import sys
import warnings

from .classical import METHODS
from .io._files import SIGNAL_SUFFIXES, guide_file_for
from .patterns import PATTERNS

_EPILOG = """examples:
  hyperspy-cs demo -o demo/
  hyperspy-cs subsample haadf.dm3 --fraction 0.1 --pattern line_hop --seed 0 -o haadf_10.hspy
  hyperspy-cs inpaint map.bcf --fraction 0.15 --seed 0 -o map_rec.hspy
  hyperspy-cs inpaint haadf_10.hspy --method cubic -o haadf_cubic.hspy
  hyperspy-cs compare haadf.dm3 --fractions 0.05 0.1 0.2 --methods cubic bpfa -o comparison/

Run 'hyperspy-cs COMMAND --help' for the options of a command.
"""

_SUBSAMPLE_EPILOG = """examples:
  hyperspy-cs subsample haadf.dm3 --fraction 0.1 --pattern line_hop --seed 0 -o haadf_10.hspy
  hyperspy-cs subsample map.bcf --fraction 0.2 --compact -o map_20.hspy
  hyperspy-cs subsample haadf.dm3 --fraction 0.1 --dose 20 -o haadf_10_lowdose.hspy

A file with a spectrum image and a guide image (BSE, HAADF) also gets OUT_guide.hspy,
which 'hyperspy-cs inpaint OUT' finds beside OUT and uses (--guide auto).
"""

_INPAINT_EPILOG = """examples:
  hyperspy-cs inpaint map_20.hspy -o map_rec.hspy                 (guide: map_20_guide.hspy)
  hyperspy-cs inpaint map_20.hspy --guide bse_overview.hspy -o map_rec.hspy
  hyperspy-cs inpaint map.bcf --fraction 0.15 --seed 0 --n-iter 60 -o map_rec.hspy
  hyperspy-cs inpaint map.bcf --fraction 0.15 --guide none --layers lines -o map_rec.hspy
  hyperspy-cs inpaint haadf_10.hspy --method cubic -o haadf_cubic.hspy
  hyperspy-cs inpaint lowdose.dm3 -o lowdose_denoised.hspy       (nothing skipped: denoises)

--guide auto takes the guide image (HAADF, BSE...) recorded in FILE, else FILE_guide.hspy
beside FILE (what 'hyperspy-cs subsample' writes); the command says which guide it uses.

Writes OUT (the reconstruction, with metadata.Reconstruction), OUT_comparison.png
(input against output) and, for EDS with known elements, OUT_maps.png (element maps
of the reconstruction).
"""

_COMPARE_EPILOG = """examples:
  hyperspy-cs compare haadf.dm3 --fractions 0.05 0.1 0.2 --methods cubic bpfa -o comparison/
  hyperspy-cs compare map.bcf --fractions 0.1 --patterns line_hop random --n-iter 40 -o cmp/

FILE is the fully sampled reference. Writes DIR/comparison.csv, DIR/comparison.md and
DIR/comparison.png.
"""

_BPFA_METHODS = ("bpfa", "bpfa3d")
_DEFAULT_PATTERN = "line_hop"


class _UsageError(Exception):
    """A command line that argparse rejects; ``main`` turns it into exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints the whole usage and exits; one line is easier to read
        # in a log and lets main() return the status to in-process callers.
        raise _UsageError(f"{self.prog}: error: {message}")


# --------------------------------------------------------------------------
# Argument types
# --------------------------------------------------------------------------


def _number(*, maximum, expected):
    """An argparse type for finite numbers in ``(0, maximum]``."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not 0 < value <= maximum or math.isinf(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_fraction = _number(maximum=1.0, expected="a number in (0, 1]")
_positive_float = _number(maximum=math.inf, expected="a positive number")


def _guide_weight(text):
    """``auto`` or a positive number."""
    if text == "auto":
        return text
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto or a positive number, got {text!r}") \
            from None


def _integer(minimum):
    """An argparse type for integers ``>= minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


_positive_int = _integer(1)
_non_negative_int = _integer(0)


def _existing_path(text):
    path = pathlib.Path(text)
    if not path.exists():  # a .zspy "file" is a folder
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def _guide(text):
    """``--guide`` as :func:`load_acquisition` takes it: "auto", None, a title or a file."""
    if text.lower() in ("auto", "none"):
        return None if text.lower() == "none" else "auto"
    path = pathlib.Path(text)
    if path.exists():
        return path
    if path.suffix:  # a missing file, not a title: say so before reading anything
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return text


def _layers(text):
    if text in ("auto", "pca", "lines"):
        return text
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected auto, pca, lines or a number of PCA components, got {text!r}") from None


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


# exspy (imported with the EDS and EELS signal classes) imports two classes
# from their old HyperSpy modules, and HyperSpy warns about it on every import:
# nothing the user did or can change.
_THIRD_PARTY_WARNINGS = (r"Importing `Lazy(Complex)?Signal1D` from `hyperspy\._signals\.",)


def _pyplot():
    """``matplotlib.pyplot`` on the Agg backend: figures go to files, and no display may exist."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _signal_file(path):
    """``path`` if HyperSpy can store the sub-sampling and reconstruction metadata in it."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in SIGNAL_SUFFIXES:
        raise ValueError(
            f"output: expected a .hspy or .zspy file (they keep the metadata that records the "
            f"sub-sampling and the reconstruction), got {path.name}"
        )
    return path


def _sibling(path, suffix):
    """``map_rec.hspy`` -> ``map_rec{suffix}``."""
    return path.with_name(path.stem + suffix)


def _check_outputs(paths, overwrite):
    """Refuse, before any work, to replace an existing output unless asked to."""
    if overwrite:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")


def _progressbar(args):
    """``show_progressbar`` argument: off with --quiet, else HyperSpy's preference."""
    return False if args.quiet else None


def _write_figure(figure, path):
    figure.savefig(path, dpi=100, bbox_inches="tight")
    _pyplot().close(figure)


def _comparison_paths(folder, name):
    """``{suffix: path}`` of the table (CSV, Markdown) and figure of a comparison."""
    return {suffix: folder / f"{name}.{suffix}" for suffix in ("csv", "md", "png")}


def _write_comparison(comparison, paths):
    """Print ``comparison`` and write its tables and its figure to ``paths``."""
    paths["png"].parent.mkdir(parents=True, exist_ok=True)
    print(comparison)
    comparison.to_csv(paths["csv"])
    paths["md"].write_text(comparison.to_markdown())
    _pyplot()  # before comparison.plot() draws
    _write_figure(comparison.plot(), paths["png"])
    print("written: " + ", ".join(str(p) for p in paths.values()))


def _scan_image(signal):
    """An image of the scan: the signal itself, or a spectrum image summed over its spectra."""
    if signal.axes_manager.signal_dimension == 2:
        return signal
    return signal.sum(-1).T


def _plot_images(images, labels, path, *, per_row=4):
    import hyperspy.api as hs

    n_cols = min(len(images), per_row)
    n_rows = -(-len(images) // per_row)
    figure = _pyplot().figure(figsize=(3.2 * n_cols, 3.0 * n_rows))
    hs.plot.plot_images(images, label=labels, axes_decor="off", colorbar="multi",
                        per_row=per_row, scalebar=[0], tight_layout=True, fig=figure)
    _write_figure(figure, path)


def _load(args):
    """``(signal, guide)`` of ``args.file`` with ``args.guide``, saying which guide is used.

    Reading and guide fitting are the library's (``read_acquisition``, the door
    of :func:`load_acquisition`), so that ``--guide auto``, a title and a file
    are checked and fitted alike.
    """
    from .io._vendor import guide_beside, read_acquisition

    signal, guide, source = read_acquisition(args.file, guide=args.guide)
    print(f"read {signal} from {args.file}")
    if signal.axes_manager.signal_dimension == 2:
        return signal, None  # an image: no guide to speak of
    if guide is not None:
        # The name alone where it sits beside FILE (the folder is FILE's).
        where = source.name if source.parent == args.file.parent else str(source)
        if isinstance(args.guide, str) and source != args.file:
            where += f" (found beside {args.file.name})"
        line = f"guide: {guide.metadata.General.title!r} from {where}"
        if getattr(args, "method", "bpfa") not in _BPFA_METHODS:
            line += f"; {args.method} takes no guide, only bpfa does"
        print(line)
    elif args.guide is None:
        print("guide: none (--guide none); the reconstruction is unguided")
    else:
        beside = guide_beside(args.file)
        looked = (f"{beside.name} beside it does not fit (see above)" if beside is not None
                  else f"no {args.file.stem}_guide.hspy beside it")
        print(f"guide: none; no guide image in {args.file.name} fits its scan and {looked}, "
              "so the reconstruction is unguided (pass --guide FILE to give one)")
    return signal, guide


def _model_options(args):
    """Model options the user set; unset ones are left to the method's defaults."""
    options = {"patch_size": args.patch_size, "n_iter": args.n_iter, "n_atoms": args.n_atoms,
               "burn_in": args.burn_in}
    return {k: v for k, v in options.items() if v is not None}


def _add_model_arguments(parser, description):
    group = parser.add_argument_group("model options", description)
    group.add_argument("--patch-size", type=_positive_int, metavar="B",
                       help="patch side in pixels: about the smallest feature to resolve "
                            "(an atomic column, a grain boundary); default for BPFA: chosen "
                            "from the sampling fraction")
    group.add_argument("--n-iter", type=_positive_int, metavar="N",
                       help="Gibbs sweeps in all (fewer: faster, rougher)")
    group.add_argument("--burn-in", type=_non_negative_int, metavar="N",
                       help="sweeps discarded before averaging (default: half of --n-iter)")
    group.add_argument("--n-atoms", type=_positive_int, metavar="K", help="dictionary size")
    return group


# --------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------


def _demo(args):
    """Compare cubic and BPFA on 10 % and 20 % scans of a simulated atomic-resolution image."""
    from ._compare import compare
    from .data import atomic_resolution_image

    out = pathlib.Path(args.output)
    paths = _comparison_paths(out, "demo")
    _check_outputs(paths.values(), args.overwrite)
    # Noise-free, so that the scores measure the inpainting alone; 128 x 128
    # keeps the whole demo to seconds on a laptop.
    truth = atomic_resolution_image(shape=(128, 128), lattice_spacing=12.0, seed=0)
    truth.metadata.General.title = "simulated HAADF (noise-free)"
    comparison = compare(truth, fractions=[0.1, 0.2], patterns=["line_hop"],
                         methods=["cubic", "bpfa"], seed=1, show_progressbar=_progressbar(args))
    _write_comparison(comparison, paths)
    return 0


# --------------------------------------------------------------------------
# subsample
# --------------------------------------------------------------------------


def _subsample(args):
    """Simulate a sub-sampled scan of a fully sampled acquisition."""
    output = _signal_file(args.output)
    _check_outputs([output], args.overwrite)
    from ._metadata import get_mask
    from ._report import acquisition_report
    from .io import load_acquisition, save_compact

    signal, guide = load_acquisition(args.file)
    guide_path = guide_file_for(output)
    if guide is not None:
        _check_outputs([guide_path], args.overwrite)
    sub = signal.subsample(args.fraction, args.pattern or _DEFAULT_PATTERN, seed=args.seed,
                           dose=args.dose)
    if args.compact:
        save_compact(sub, output, overwrite=True)
    else:
        sub.save(output, overwrite=True)
    node = sub.metadata.Acquisition.Subsampling
    sampled = get_mask(sub)
    print(f"{sub.metadata.General.title}: {int(sampled.sum())} of {sampled.size} positions "
          f"({100 * node.fraction:.2f} %), pattern {node.pattern}, seed {node.seed}")
    try:
        # Without --dwell-time, the one the file records, if any (DigitalMicrograph,
        # FEI and Zeiss files do).
        print(acquisition_report(sub, dwell_time=args.dwell_time))
    except ValueError as error:
        if args.dwell_time is not None or not str(error).startswith("dwell_time:"):
            raise
    print(f"written to {output}")
    if guide is not None:
        guide.save(guide_path, overwrite=True)
        print(f"guide image {guide.metadata.General.title!r} written to {guide_path}; "
              f"'hyperspy-cs inpaint {output} -o ...' uses it (--guide auto looks beside "
              "its FILE)")
    return 0


# --------------------------------------------------------------------------
# inpaint
# --------------------------------------------------------------------------


def _load_dictionary(path):
    from .bpfa import BPFADictionary, get_dictionary
    from .io._files import load_file

    loaded = load_file(path, name="--dictionary")
    return loaded if isinstance(loaded, BPFADictionary) else get_dictionary(loaded)


def _reconstruct(args, signal, guide):
    is_image = signal.axes_manager.signal_dimension == 2
    if args.method == "bpfa3d" and is_image:
        raise ValueError(f"--method bpfa3d: {args.file.name} holds an image, not a spectrum "
                         "image; use --method bpfa")
    bpfa = args.method in _BPFA_METHODS
    if not bpfa and (args.dictionary is not None or args.uncertainty
                     or args.patch_stride is not None):
        raise ValueError(f"--dictionary, --uncertainty and --patch-stride are BPFA options, "
                         f"not {args.method}'s")
    from ._inpaint import inpaint

    options = _model_options(args)
    if bpfa:
        options["show_progressbar"] = _progressbar(args)
        if args.uncertainty:
            options["uncertainty"] = True
        if args.patch_stride is not None:
            options["patch_stride"] = args.patch_stride
        if args.dictionary is not None:
            options["dictionary"] = _load_dictionary(args.dictionary)
            options["learn_dictionary"] = not args.fixed_dictionary
        options["likelihood"] = args.likelihood
        if not is_image:
            options.update(guide=guide, guide_weight=args.guide_weight)
    if not is_image:
        options["layers"] = args.layers
    return inpaint(signal, method="bpfa" if bpfa else args.method, seed=args.seed, **options)


def _element_maps(signal):
    """X-ray line maps of an EDS signal, or [] when no element is known."""
    if not hasattr(signal, "get_lines_intensity"):
        return []
    if not (signal.metadata.get_item("Sample.xray_lines")
            or signal.metadata.get_item("Sample.elements")):
        return []
    return [m.T for m in signal.get_lines_intensity(integration_windows=2.0)]


def _inpaint(args):
    """Reconstruct a sub-sampled (or denoise a noisy) image or spectrum image."""
    output = _signal_file(args.output)
    comparison_path = _sibling(output, "_comparison.png")
    maps_path = _sibling(output, "_maps.png")
    _check_outputs([output, comparison_path, maps_path], args.overwrite)
    if args.fixed_dictionary and args.dictionary is None:
        raise ValueError("--fixed-dictionary: pass the dictionary with --dictionary FILE")
    if args.fraction is None and (args.pattern is not None or args.dose is not None):
        raise ValueError("--pattern and --dose describe the simulated scan: they need --fraction")

    signal, guide = _load(args)
    if args.elements:
        if not hasattr(signal, "add_elements"):
            raise ValueError(f"--elements: {args.file.name} holds no EDS data")
        signal.add_elements(args.elements)
        signal.add_lines()
    reference = None
    if args.fraction is not None:
        reference = signal
        signal = signal.subsample(args.fraction, args.pattern or _DEFAULT_PATTERN,
                                  seed=args.seed, dose=args.dose)
    elif not signal.metadata.has_item("Acquisition.Subsampling.sampled"):
        print("no sub-sampling recorded in the file: every position counts as measured, so "
              "this denoises (pass --fraction to simulate a sub-sampled scan first)")

    result = _reconstruct(args, signal, guide)
    result.save(output, overwrite=True)
    record = result.metadata.Reconstruction
    summary = f"{record.method} in {record.runtime:.1f} s"
    if isinstance(record.get_item("noise_std"), float):  # one value for an image
        summary += f", estimated noise std {record.noise_std:.4g}"
    print(f"{summary}; written to {output}")

    from .metrics import psnr

    images = [_scan_image(signal), _scan_image(result)]
    labels = ["input", f"output ({record.method})"]
    if reference is not None:
        images.insert(0, _scan_image(reference))
        labels.insert(0, "fully sampled")
        if signal.axes_manager.signal_dimension == 2:
            score = psnr(reference, result)
            labels[-1] += f", {score:.1f} dB"
            print(f"PSNR against the fully sampled image: {score:.2f} dB")
    if guide is not None:
        images.append(guide)
        labels.append(f"guide ({guide.metadata.General.title})")
    _plot_images(images, labels, comparison_path)
    print(f"comparison figure written to {comparison_path}")

    maps = _element_maps(result)
    if maps:
        _plot_images(maps, [m.metadata.Sample.xray_lines[0] for m in maps], maps_path)
        print(f"element maps written to {maps_path}")
    return 0


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------


def _compare(args):
    """Compare reconstruction methods on simulated sub-sampled scans of a full acquisition."""
    paths = _comparison_paths(pathlib.Path(args.output), "comparison")
    _check_outputs(paths.values(), args.overwrite)
    from ._compare import compare

    methods = ["bpfa" if m == "bpfa3d" else m for m in args.methods]
    reference, guide = _load(args)
    bpfa = _model_options(args)
    if bpfa and "bpfa" not in methods:
        raise ValueError("the model options are for bpfa, which is not among --methods")
    comparison = compare(reference, fractions=args.fractions, patterns=args.patterns,
                         methods=methods, seed=args.seed, guide=guide,
                         method_options={"bpfa": bpfa} if bpfa else None,
                         show_progressbar=_progressbar(args))
    _write_comparison(comparison, paths)
    return 0


# --------------------------------------------------------------------------
# Parser and entry point
# --------------------------------------------------------------------------


def _summary(function):
    """The first line of ``function``'s docstring, escaped for argparse's %-formatted help."""
    return function.__doc__.splitlines()[0].replace("%", "%%")


def _add_common(parser, *, output_help, metavar="OUT", default=None):
    """``--output`` (required unless it has a ``default``), ``--overwrite`` and ``--quiet``."""
    parser.add_argument("--output", "-o", required=default is None, default=default,
                        metavar=metavar, help=output_help)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def _add_scan_arguments(parser, *, fraction_help, required):
    parser.add_argument("--fraction", type=_fraction, metavar="F", required=required,
                        help=fraction_help)
    # No argparse default, so that inpaint can tell a --pattern given without --fraction.
    parser.add_argument("--pattern", choices=sorted(PATTERNS), metavar="PATTERN",
                        help=f"scan pattern, from {', '.join(sorted(PATTERNS))} (default: "
                             f"{_DEFAULT_PATTERN}, what most scan coils can do)")
    parser.add_argument("--dose", type=_positive_float, metavar="E",
                        help="electrons per visited position: adds Poisson noise (default: keep "
                             "the measured values)")


def _add_command(commands, run, *, epilog, file_help=None):
    """The subcommand ``run`` (``_name``) implements, with a FILE argument if ``file_help``."""
    parser = commands.add_parser(run.__name__.lstrip("_"), help=_summary(run),
                                 description=run.__doc__, epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run)
    if file_help is not None:
        parser.add_argument("file", type=_existing_path, metavar="FILE", help=file_help)
    return parser


def build_parser():
    """The argument parser of ``hyperspy-cs`` (its subcommands set ``run``)."""
    parser = _Parser(
        prog="hyperspy-cs",
        description="Compressive (sub-sampled) scanning electron microscopy with HyperSpy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _add_command(commands, _demo, epilog="example:\n  hyperspy-cs demo -o demo/")
    _add_common(demo, output_help="folder for demo.png (the figure), demo.md and demo.csv (the "
                                  "table) (default: %(default)s)",
                metavar="DIR", default="hyperspy-cs-demo")

    subsample = _add_command(
        commands, _subsample, epilog=_SUBSAMPLE_EPILOG,
        file_help="any file hs.load reads (.bcf, .emd, .dm3/.dm4, .hspy...)")
    _add_scan_arguments(subsample, fraction_help="fraction of positions visited, in (0, 1]",
                        required=True)
    subsample.add_argument("--seed", type=_non_negative_int,
                           help="seed of the pattern and the noise (default: a random one, "
                                "printed and stored in the file)")
    subsample.add_argument("--compact", action="store_true",
                           help="store only the visited spectra (hyperspy_cs.save_compact)")
    subsample.add_argument("--dwell-time", type=_positive_float, metavar="S",
                           help="seconds per position: print the time and dose saved (default: "
                                "the dwell time FILE records, e.g. metadata."
                                "Acquisition_instrument.TEM.dwell_time, if any)")
    _add_common(subsample, output_help="output .hspy or .zspy file")

    inpaint = _add_command(
        commands, _inpaint, epilog=_INPAINT_EPILOG,
        file_help="a sub-sampled acquisition (written by 'hyperspy-cs subsample', "
                  "hyperspy_cs.save_compact or from_positions), or a full one with --fraction")
    inpaint.add_argument("--method", choices=[*METHODS, "bpfa3d"], default="bpfa",
                         metavar="METHOD",
                         help=f"reconstruction method, from {', '.join(METHODS)}, bpfa3d "
                              "(default: %(default)s; for a spectrum image bpfa and bpfa3d are "
                              "the same, guided 3-D BPFA)")
    _add_scan_arguments(inpaint, fraction_help="simulate a sub-sampled scan of FILE first",
                        required=False)
    inpaint.add_argument("--guide", type=_guide, default="auto", metavar="auto|none|TITLE|FILE",
                         help="guide image of a spectrum image: auto (the HAADF, BSE... image in "
                              "FILE, else FILE_guide.hspy beside FILE), none, the title of an "
                              "image in FILE, or an image file (default: auto)")
    inpaint.add_argument("--guide-weight", type=_guide_weight, default="auto", metavar="auto|W",
                         help="trust in the guide: auto learns every layer's noise level, a "
                              "number ties them, above 1 trusting the guide more, below 1 less "
                              "(default: %(default)s)")
    inpaint.add_argument("--layers", type=_layers, default="auto",
                         metavar="auto|pca|lines|N",
                         help="spectral layers of a spectrum image: PCA scores (auto, pca, or N "
                              "components) or X-ray line intensities (lines) (default: "
                              "%(default)s)")
    inpaint.add_argument("--elements", nargs="+", metavar="EL",
                         help="EDS elements to add to the metadata (for --layers lines and the "
                              "element maps)")
    inpaint.add_argument("--seed", type=_non_negative_int,
                         help="seed of the scan simulation and the sampler (default: random, "
                              "stored in the output)")
    bpfa = _add_model_arguments(
        inpaint, "for BPFA, and for ksvd and pnp where they apply (default: the method's)")
    bpfa.add_argument("--uncertainty", action="store_true",
                      help="also store the posterior standard deviation")
    bpfa.add_argument("--patch-stride", type=_positive_int, metavar="S",
                      help="pixels between the patches' corners: 2 codes a quarter of them, "
                           "a quick look in about a third to a half of the time (default: 1, "
                           "every patch)")
    bpfa.add_argument("--likelihood", choices=["auto", "gaussian", "poisson"], default="auto",
                      help="BPFA's noise model: poisson samples counts (an image of counts, "
                           "X-ray line maps) through the Anscombe transform; auto does so for "
                           "dose simulations and line maps of counts (default: %(default)s)")
    bpfa.add_argument("--dictionary", type=_existing_path, metavar="FILE",
                      help="start from a dictionary: a saved BPFA dictionary or reconstruction")
    bpfa.add_argument("--fixed-dictionary", action="store_true",
                      help="use --dictionary as it is (sparse coding only, faster)")
    _add_common(inpaint, output_help="output .hspy or .zspy file for the reconstruction")

    compare = _add_command(commands, _compare, epilog=_COMPARE_EPILOG,
                           file_help="a fully sampled acquisition (the reference)")
    compare.add_argument("--fractions", type=_fraction, nargs="+", default=[0.1],
                         metavar="F", help="sampled fractions (default: 0.1)")
    compare.add_argument("--patterns", choices=sorted(PATTERNS), nargs="+",
                         default=["line_hop"], metavar="PATTERN",
                         help=f"scan patterns, from {', '.join(sorted(PATTERNS))} "
                              "(default: line_hop)")
    compare.add_argument("--methods", choices=[*METHODS, "bpfa3d"], nargs="+",
                         default=["nearest", "cubic", "bpfa"], metavar="METHOD",
                         help=f"methods, from {', '.join(METHODS)} (default: nearest cubic "
                              "bpfa)")
    compare.add_argument("--guide", type=_guide, default="auto", metavar="auto|none|TITLE|FILE",
                         help="guide image for BPFA on a spectrum image, as for inpaint "
                              "(default: auto)")
    compare.add_argument("--seed", type=_non_negative_int, default=0,
                         help="seed of the scans and the methods (default: %(default)s)")
    _add_model_arguments(compare, "for the bpfa runs (default: the library's)")
    _add_common(compare, output_help="folder for comparison.csv, .md and .png", metavar="DIR")
    return parser


def main(argv=None):
    """Run ``hyperspy-cs`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as error:
        print(error, file=sys.stderr)
        return 2
    with warnings.catch_warnings():
        for message in _THIRD_PARTY_WARNINGS:
            warnings.filterwarnings("ignore", message=message)
        try:
            return args.run(args)
        except (ValueError, TypeError, OSError) as error:
            reason = " ".join(str(error).split())  # one line, whatever the message
            if hasattr(args, "guide") and reason.startswith("guide: "):
                reason = "--" + reason  # the library's guide argument is the --guide option
            print(f"hyperspy-cs {args.command}: error: {reason}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
