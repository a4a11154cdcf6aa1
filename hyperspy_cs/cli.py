"""The ``hyperspy-cs`` command line."""

import argparse
import pathlib
import sys

_EPILOG = """examples:
  hyperspy-cs demo --output demo/
"""


def _demo(args):
    """Simulate a 15 % line-hop scan of an atomic-resolution image and reconstruct it."""
    import matplotlib

    matplotlib.use("Agg")
    import hyperspy.api as hs
    import matplotlib.pyplot as plt

    import hyperspy_cs as cs

    out = _output_dir(args.output, args.overwrite)
    truth = cs.data.atomic_resolution_image(shape=(128, 128), lattice_spacing=12.0, dose=200,
                                            seed=0)
    sub = truth.subsample(0.15, "line_hop", seed=1)
    results = {"cubic": sub.inpaint(method="cubic"),
               "BPFA": sub.inpaint_bpfa(seed=2, show_progressbar=not args.quiet)}
    images = [truth, sub, *results.values()]
    labels = ["simulated HAADF (200 e-/px)", "15 % line-hop scan"] + [
        f"{name}: {cs.metrics.psnr(truth, rec):.1f} dB" for name, rec in results.items()
    ]
    hs.plot.plot_images(images, label=labels, axes_decor="off", colorbar=None, per_row=4,
                        scalebar=[0], tight_layout=True)
    figure = out / "demo.png"
    plt.gcf().set_size_inches(12, 3.4)
    plt.savefig(figure, dpi=100)
    report = cs.acquisition_report(sub, dwell_time=10e-6)
    print(report)
    for label in labels[2:]:
        print(f"PSNR {label}")
    print(f"figure written to {figure}")
    return 0


def _output_dir(path, overwrite):
    path = pathlib.Path(path)
    if path.exists() and any(path.iterdir()) and not overwrite:
        raise FileExistsError(f"{path} exists and is not empty; pass --overwrite to replace it")
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_parser():
    parser = argparse.ArgumentParser(
        prog="hyperspy-cs",
        description="Compressive (sub-sampled) scanning electron microscopy with HyperSpy.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help=_demo.__doc__, description=_demo.__doc__)
    demo.add_argument("--output", "-o", default="hyperspy-cs-demo",
                      help="folder for the figure (default: %(default)s)")
    demo.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    demo.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FileExistsError, FileNotFoundError) as error:
        print(f"hyperspy-cs {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
