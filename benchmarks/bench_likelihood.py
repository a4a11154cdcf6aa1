"""Images of counts: BPFA sampled as Poisson counts (the default) against its Gaussian likelihood.

Each image of ``bench_low_sampling.py`` (normalised to [0, 1]) is scanned with
Poisson noise at ``--doses`` electrons per visited position (``subsample(dose=...)``,
so that ``inpaint_bpfa``'s ``likelihood="auto"`` samples it as counts: the
Anscombe transform and its exact unbiased inverse) and scored by PSNR (dB)
against the clean image. Printed in one run, per image, dose and sampling:

``poisson``
    ``inpaint_bpfa`` at its defaults (which choose the Poisson likelihood here).
``gaussian``
    The same call with ``likelihood="gaussian"``: the gain of the first over this
    one is the effect of the likelihood alone.
``smoothed``
    The strongest classical baseline for noisy images: biharmonic interpolation
    (sub-sampled) then Gaussian smoothing, the best of sigma 0.5, 1, 1.5, 2 and 3 px
    (chosen against the clean image, so an upper bound on what it gives).

Samplings (``--samplings``): ``1`` (denoising), ``0.25`` and ``0.1`` random, and
``0.0625`` jittered, one random position in each 4 x 4 block.

Images (``--images``): those of ``bench_low_sampling.py``, and ``fshnet``, the
low-sampling issue's FSHNet case (He et al.): the SrTiO3 ADF crop smoothed by a
Gaussian (sigma 1 px) then a 3 x 3 median filter, renormalised, whose target at
6.25 % jittered is 26.5 dB at 10 e-/pixel and 27.5 dB at 25 e-/pixel.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_likelihood.py [--images ...]
[--doses ...] [--samplings ...] [--seed S]``. Writes nothing: the figures are
printed, for pasting into a closing note.
"""

import argparse
import time

import numpy as np
from scipy import ndimage

import hyperspy_cs as cs

from bench_low_sampling import IMAGES, load

DOSES = (10.0, 25.0)
SAMPLINGS = (1.0, 0.25, 0.1, 0.0625)
SIGMAS = (0.5, 1.0, 1.5, 2.0, 3.0)


def smoothed(full, sub, fraction):
    """Biharmonic interpolation (when sub-sampled) then the best Gaussian smoothing."""
    base = np.asarray((cs.inpaint(sub, method="biharmonic") if fraction < 1 else sub).data,
                      dtype=float)
    scores = {s: cs.psnr(full.data, ndimage.gaussian_filter(base, s), data_range=1.0)
              for s in SIGMAS}
    sigma = max(scores, key=scores.get)
    return scores[sigma], sigma


def load_image(name):
    """The clean image ``name`` in [0, 1] (``fshnet``: see the module docstring)."""
    if name != "fshnet":
        return load(name)
    full = load("srtio3")
    smooth = ndimage.median_filter(ndimage.gaussian_filter(full.data, 1.0), size=3)
    full.data = (smooth - smooth.min()) / np.ptp(smooth)
    return full


def run(name, doses, samplings, seed):
    full = load_image(name)
    for dose in doses:
        for fraction in samplings:
            pattern = "jittered" if fraction == 0.0625 else "random"
            sub = full.subsample(fraction, pattern, dose=dose, seed=seed)
            scores, seconds = {}, {}
            for likelihood in ("auto", "gaussian"):
                start = time.perf_counter()
                rec = cs.inpaint_bpfa(sub, likelihood=likelihood, seed=seed,
                                      show_progressbar=False)
                seconds[likelihood] = time.perf_counter() - start
                scores[likelihood] = cs.psnr(full, rec, data_range=1.0)
                if likelihood == "auto":
                    used = rec.metadata.Reconstruction.likelihood
            baseline, sigma = smoothed(full, sub, fraction)
            print(f"{name:<7s} {dose:4g} e-/px  {pattern:<8s} {fraction:6.2%}  "
                  f"{used} {scores['auto']:6.2f} ({seconds['auto']:3.0f} s)  "
                  f"gaussian {scores['gaussian']:6.2f} ({seconds['gaussian']:3.0f} s)  "
                  f"{scores['auto'] - scores['gaussian']:+5.2f} dB  "
                  f"smoothed {baseline:6.2f} (sigma {sigma:g})  "
                  f"{scores['auto'] - baseline:+5.2f} dB", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", choices=(*IMAGES, "fshnet"),
                        default=[*IMAGES, "fshnet"])
    parser.add_argument("--doses", nargs="+", type=float, default=list(DOSES))
    parser.add_argument("--samplings", nargs="+", type=float, default=list(SAMPLINGS))
    parser.add_argument("--seed", type=int, default=1, help="seed of the scans and of BPFA")
    args = parser.parse_args(argv)
    for name in args.images:
        run(name, args.doses, args.samplings, args.seed)


if __name__ == "__main__":
    main()
