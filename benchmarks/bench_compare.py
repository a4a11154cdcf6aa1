"""Compare the reconstruction methods on real data with :func:`hyperspy_cs.compare`.

1. The atomic-resolution ADF image of SrTiO3 (``tests/data/SrTiO3_ADF_cropped.hdf5``),
   a central 256 x 256 crop normalised to [0, 1], at 5, 10 and 25 % random
   sampling, with every classical method and BPFA (default options), scored
   against the full image.
2. The SiO2 STEM-EDS map (``tests/data/SiO2_EDS_SI.hspy``, elements C, O, Si) at
   10 %, with nearest, cubic and BPFA with and without the HAADF guide
   (``tests/data/SiO2_HAADF.hspy``), scored by the split-half reference on the
   cube and on the C, O and Si line maps.

Every method is first run once on a small crop so that the timings leave out
just-in-time compilation and library start-up.

Usage::

    nice python benchmarks/bench_compare.py            # writes benchmarks/results/
    python benchmarks/bench_compare.py --quick         # smoke run on small crops, writes nothing

Writes ``compare_srtio3.md``, ``compare_sio2.md`` (tables), ``.csv`` (every row)
and ``.png`` (reconstructions and error maps) to ``--out``.
"""

import argparse
import os
import pathlib
import platform
import sys
import time

import matplotlib

matplotlib.use("Agg")  # files only, no window

import hyperspy.api as hs  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

import hyperspy_cs  # noqa: E402
from hyperspy_cs import compare  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
IMAGE_METHODS = ("nearest", "cubic", "biharmonic", "fourier_lowpass", "nonlocal", "pnp", "ksvd",
                 "bpfa")
IMAGE_OPTIONS = {"pnp": {"equivariant": True}}
EDS_METHODS = ("nearest", "cubic", "bpfa", ("bpfa, no guide", "bpfa"))
EDS_OPTIONS = {"bpfa, no guide": {"guide": None}}
# BPFA options of the quick smoke run and the warm-up (the benchmark uses the defaults).
CHEAP_BPFA = {"n_iter": 6, "burn_in": 3, "n_atoms": 32}


def cheap(method_options, labels):
    """``method_options`` with the cheap BPFA options for the BPFA ``labels``."""
    return {**method_options,
            **{label: {**method_options.get(label, {}), **CHEAP_BPFA} for label in labels}}


def srtio3(size):
    """The central ``size`` x ``size`` crop of the SrTiO3 ADF image, in [0, 1]."""
    s = hs.load(DATA / "SrTiO3_ADF_cropped.hdf5", file_format="HSPY")
    n_cols, n_rows = s.axes_manager.signal_shape
    top, left = (n_rows - size) // 2, (n_cols - size) // 2
    s = s.isig[left:left + size, top:top + size]
    s.change_dtype("float64")  # the file stores float16
    s.data = (s.data - s.data.min()) / (s.data.max() - s.data.min())
    s.metadata.General.title = "SrTiO3 ADF"
    return s


def sio2(size=None):
    """The SiO2 EDS spectrum image (C, O, Si) and its HAADF guide, optionally cropped."""
    si = hs.load(DATA / "SiO2_EDS_SI.hspy")
    guide = hs.load(DATA / "SiO2_HAADF.hspy")
    if size is not None:
        si, guide = si.inav[:size, :size], guide.isig[:size, :size]
    si.add_elements(["C", "O", "Si"])
    si.metadata.General.title = "SiO2 EDS"
    return si, guide


def warm_up(image, si, guide):
    """Run every method once on small crops so that the timings skip compilation."""
    compare(image.isig[:32, :32], fractions=0.25, methods=IMAGE_METHODS, show_progressbar=False,
            method_options=cheap(IMAGE_OPTIONS, ["bpfa"]))
    compare(si.inav[:16, :16], fractions=0.25, methods=EDS_METHODS, guide=guide.isig[:16, :16],
            method_options=cheap(EDS_OPTIONS, ["bpfa", "bpfa, no guide"]),
            show_progressbar=False)


def header(title, command, seconds):
    blas_threads = max((pool["num_threads"] for pool in threadpool_info()
                        if pool["user_api"] == "blas"), default=0)
    return "\n".join([
        f"# {title}",
        "",
        f"Command: `{command}` (total {seconds:.0f} s).",
        f"hyperspy-cs {hyperspy_cs.__version__}, hyperspy {hs.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPU cores "
        f"(shared, timings are indicative), {blas_threads} BLAS thread(s).",
        "",
        "",
    ])


def run(name, title, reference, fractions, methods, method_options, out, command, *,
        plot_line=None, **kw):
    """Compare, print, and write ``compare_<name>.md/.csv/.png`` (the 10 % figure) to ``out``."""
    start = time.perf_counter()
    result = compare(reference, fractions=fractions, methods=methods,
                     method_options=method_options, **kw)
    seconds = time.perf_counter() - start
    print(f"\n== {name} ==\n{result}\n")
    if out is None:
        return result
    text = header(title, command, seconds)
    if method_options:
        text += f"Method options: `{method_options!r}`; other options are the defaults.\n\n"
    (out / f"compare_{name}.md").write_text(text + result.to_markdown())
    result.to_csv(out / f"compare_{name}.csv")
    figure = result.plot(fraction=0.1, line=plot_line)
    figure.savefig(out / f"compare_{name}.png", dpi=110, bbox_inches="tight")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run on small crops with cheap BPFA options; writes nothing "
                             "unless --out is given")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="folder for the results (default: benchmarks/results, or nothing "
                             "with --quick)")
    args = parser.parse_args(argv)
    out = args.out or (None if args.quick else ROOT / "benchmarks" / "results")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/bench_compare.py" + (" --quick" if args.quick else "")
    # Only compare's own bar (show_progressbar=True below): none from exspy or dask inside.
    hs.preferences.General.show_progressbar = False

    image = srtio3(64 if args.quick else 256)
    si, guide = sio2(32 if args.quick else None)
    if not args.quick:
        warm_up(image, si, guide)

    image_options, eds_options = IMAGE_OPTIONS, EDS_OPTIONS
    if args.quick:
        image_options = cheap(IMAGE_OPTIONS, ["bpfa"])
        eds_options = cheap(EDS_OPTIONS, ["bpfa", "bpfa, no guide"])
    run("srtio3", "Methods compared on the SrTiO3 ADF image", image,
        (0.1,) if args.quick else (0.05, 0.10, 0.25), IMAGE_METHODS, image_options, out, command,
        show_progressbar=True, seed=0)
    # Si Ka shows the SiO2 spheres (the first line, C Ka, is the flat support film).
    run("sio2", "Methods compared on the SiO2 STEM-EDS map", si, 0.1, EDS_METHODS, eds_options,
        out, command, plot_line="Si_Ka", guide=guide, show_progressbar=True, seed=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
