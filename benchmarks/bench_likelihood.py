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

With ``--frames N`` (dose fractionation, the low-sampling issue's multi-frame input),
each row also prints:

``N frames``
    ``N`` frames of the same scan, each with its own mask and its own Poisson noise at
    the row's dose and sampling (``subsample(frames=N)``), reconstructed in one call
    (the frames share the dictionary and the noise level) and averaged;
``merged``
    the same ``N`` frames as one image (``merge_frames``: every position any frame
    visited, with the value of the first frame that visited it when some position
    had one visit only, so still counts of the row's dose), reconstructed once;
``1 frame, N x dose``
    one frame at the same sampling with all of that dose (``N`` times the row's):
    what the same electrons give in a single scan.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_likelihood.py [--images ...]
[--doses ...] [--samplings ...] [--frames N] [--seed S]``. Writes nothing: the figures
are printed, for pasting into a closing note.
"""

import argparse

import numpy as np
from scipy import ndimage

import hyperspy_cs as cs

from bench_low_sampling import IMAGES, bpfa_psnr, load

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


def frame_rows(full, fraction, pattern, dose, seed, frames):
    """The ``--frames`` figures of one row (see the module docstring)."""
    stack = full.subsample(fraction, pattern, dose=dose, frames=frames, seed=seed)
    joint, joint_s, _ = bpfa_psnr(full, stack, seed)
    merged = cs.merge_frames(stack)
    union, union_s, _ = bpfa_psnr(full, merged, seed)
    single = full.subsample(fraction, pattern, dose=frames * dose, seed=seed)
    one, one_s, _ = bpfa_psnr(full, single, seed)
    return (f"  {frames} frames {joint:6.2f} ({joint_s:3.0f} s)  "
            f"merged ({cs.get_mask(merged).mean():.1%}) {union:6.2f} ({union_s:3.0f} s)  "
            f"1 frame, {frames} x dose {one:6.2f} ({one_s:3.0f} s)")


def run(name, doses, samplings, seed, frames=1):
    full = load_image(name)
    for dose in doses:
        for fraction in samplings:
            pattern = "jittered" if fraction == 0.0625 else "random"
            sub = full.subsample(fraction, pattern, dose=dose, seed=seed)
            scores, seconds = {}, {}
            for likelihood in ("auto", "gaussian"):
                scores[likelihood], seconds[likelihood], rec = bpfa_psnr(
                    full, sub, seed, likelihood=likelihood)
                if likelihood == "auto":
                    used = rec.metadata.Reconstruction.likelihood
            baseline, sigma = smoothed(full, sub, fraction)
            extra = frame_rows(full, fraction, pattern, dose, seed, frames) if frames > 1 else ""
            print(f"{name:<7s} {dose:4g} e-/px  {pattern:<8s} {fraction:6.2%}  "
                  f"{used} {scores['auto']:6.2f} ({seconds['auto']:3.0f} s)  "
                  f"gaussian {scores['gaussian']:6.2f} ({seconds['gaussian']:3.0f} s)  "
                  f"{scores['auto'] - scores['gaussian']:+5.2f} dB  "
                  f"smoothed {baseline:6.2f} (sigma {sigma:g})  "
                  f"{scores['auto'] - baseline:+5.2f} dB{extra}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="+", choices=(*IMAGES, "fshnet"),
                        default=[*IMAGES, "fshnet"])
    parser.add_argument("--doses", nargs="+", type=float, default=list(DOSES))
    parser.add_argument("--samplings", nargs="+", type=float, default=list(SAMPLINGS))
    parser.add_argument("--frames", type=int, default=1,
                        help="also N frames jointly against one frame at N x the dose")
    parser.add_argument("--seed", type=int, default=1, help="seed of the scans and of BPFA")
    args = parser.parse_args(argv)
    for name in args.images:
        run(name, args.doses, args.samplings, args.seed, args.frames)


if __name__ == "__main__":
    main()
