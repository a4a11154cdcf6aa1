"""Targeted sampling against fixed patterns, and the latency of live updates.

Part 1, images (``--images``; the shared SrTiO3 images and the SiO2 HAADF, central
``--side`` crop, in [0, 1]): PSNR of BPFA at its defaults (seed 0) after a random,
line-hop and jittered scan at each fraction ``f`` and at ``2 f``, and after
:func:`hyperspy_cs.simulate_adaptive` at ``f`` with each criterion (defaults: a
jittered first pass of half the positions, four rounds). The issue's target:
adaptive at ``f`` at least as good as the best fixed pattern at ``2 f``.

Part 2, spectrum images (``--maps``: the granite map with its BSE image, the SiO2 map
with its HAADF image, thinned to ``--counts`` per pixel as ``bench_counts.py`` does):
the split-half line-map error (%, lower is better; see ``bench_counts.py``) of guided
BPFA3D at its defaults for the same patterns and fractions.

Part 3, live (``--live``): a dictionary learned on a first 10 % random pass of the
256 x 256 SrTiO3 image, then a second 10 % random scan replayed in raster order into
:class:`hyperspy_cs.LiveReconstruction`, 1 % of the frame per update: the median and
largest update time, the same for the positions arriving in random order, and the
PSNR after the last update and after ``refine()``, against the batch reconstruction
with the same dictionary (``learn_dictionary=False``) timed in the same run; and
the raster replay again with the batch engine's trimmed patch average
(``trim=0.25``), and the random replay again with every overlapping patch
(``patch_stride=1``).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_adaptive.py [--images ...]
[--maps ...] [--fractions ...] [--criteria ...] [--side N] [--no-live]``.
Writes nothing: the figures are printed, for pasting into a closing note.
"""

import argparse
import time

import numpy as np

import hyperspy_cs as cs
from bench_counts import counts_per_pixel, line_maps, relative_error, thin
from bench_counts import load as load_map
from bench_low_sampling import _centre
from bench_low_sampling import load as load_image

PATTERNS = ("random", "line_hop", "jittered")
IMAGES = ("srtio3", "sto16", "sio2")
MAPS = ("granite", "sio2")


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def compare(reconstruct, simulate, fractions, criteria):
    """One table: fixed patterns at f and 2 f, adaptive at f; larger scores are better."""
    fixed = {}
    for fraction in sorted({f * k for f in fractions for k in (1, 2)}):
        for pattern in PATTERNS:
            (value, seconds) = timed(reconstruct, pattern, fraction)
            fixed[pattern, fraction] = value
            print(f"  {pattern:<28} {100 * fraction:4.0f} %  {value:8.2f}  "
                  f"({seconds:.0f} s)", flush=True)
    for fraction in fractions:
        best_double = max((fixed[p, 2 * fraction] for p in PATTERNS), )
        best_same = max((fixed[p, fraction] for p in PATTERNS), )
        for criterion in criteria:
            value, seconds = timed(simulate, criterion, fraction)
            verdict = "met" if value >= best_double else "NOT met"
            print(f"  adaptive {criterion:<19} {100 * fraction:4.0f} %  {value:8.2f}  "
                  f"({seconds:.0f} s)  {value - best_same:+.2f} vs best fixed at "
                  f"f, {value - best_double:+.2f} vs best at 2f: {verdict}",
                  flush=True)


def images(names, fractions, criteria, side):
    for name in names:
        full = load_image(name)
        if side < min(full.data.shape):
            full = _centre(full, side)
        print(f"{name} {full.data.shape[0]} x {full.data.shape[1]}: PSNR (dB)", flush=True)

        def reconstruct(pattern, fraction):
            sub = full.subsample(fraction, pattern, seed=0)
            return cs.psnr(full, cs.inpaint_bpfa(sub, seed=0, show_progressbar=False),
                           data_range=1.0)

        def simulate(criterion, fraction):
            _, rec = cs.simulate_adaptive(full, fraction, criterion=criterion, seed=0,
                                          show_progressbar=False)
            return cs.psnr(full, rec, data_range=1.0)

        compare(reconstruct, simulate, fractions, criteria)


def maps(names, fractions, criteria, counts):
    for name in names:
        si, guide = load_map(name)
        half, other = cs.split_counts(thin(si, counts, seed=10), fraction=0.5, seed=11)
        reference = line_maps(other)
        print(f"{name}, {counts_per_pixel(half):.1f} counts/px in the half: line-map error "
              "(%, lower is better; printed negated so that larger is better)", flush=True)

        def error(rec):
            return -relative_error(line_maps(rec), reference)

        def reconstruct(pattern, fraction):
            sub = half.subsample(fraction, pattern, seed=0)
            return error(cs.inpaint_bpfa3d(sub, guide=guide, seed=0, show_progressbar=False))

        def simulate(criterion, fraction):
            _, rec = cs.simulate_adaptive(half, fraction, criterion=criterion, guide=guide,
                                          seed=0, show_progressbar=False)
            return error(rec)

        compare(reconstruct, simulate, fractions, criteria)


def live():
    full = load_image("srtio3")
    image = np.asarray(full.data, dtype=float)
    shape = image.shape
    first = cs.inpaint_bpfa(full.subsample(0.1, seed=5), seed=0, show_progressbar=False)
    dictionary = cs.get_dictionary(first)
    sampled, order = cs.patterns.scan_pattern(shape, fraction=0.1, seed=6)
    sub = full.subsample(mask=sampled)
    batch, batch_seconds = timed(cs.inpaint_bpfa, sub, dictionary=dictionary,
                                 learn_dictionary=False, seed=0, show_progressbar=False)
    step = image.size // 100
    print(f"live, srtio3 {shape[0]} x {shape[1]}, {dictionary.patch_size} px patches "
          f"(default patch_stride {cs.LiveReconstruction(shape, dictionary).patch_stride}), "
          f"10 % random, updates of {step} positions", flush=True)
    raster, scattered = np.sort(order), np.random.default_rng(0).permutation(order)
    for label, arrival, options in (("raster order", raster, {}),
                                    ("raster order, trim=0.25", raster, {"trim": 0.25}),
                                    ("random order", scattered, {}),
                                    ("random order, patch_stride=1", scattered,
                                     {"patch_stride": 1})):
        rec = cs.LiveReconstruction(shape, dictionary, seed=0, **options)
        times = []
        for start in range(0, arrival.size, step):
            part = arrival[start:start + step]
            rec.update(part, image.reshape(-1)[part])
            times.append(rec.last_update_seconds)
        # The first update compiles nothing (the kernels are cached) but allocates.
        print(f"  {label}: update median {np.median(times):.3f} s, largest "
              f"{max(times[1:]):.3f} s ({np.median(times) / batch_seconds:.3f} of the "
              f"batch run)", flush=True)
        psnr_live = cs.psnr(full, rec.to_signal(like=full), data_range=1.0)
        rec.refine()
        refine_seconds = rec.last_update_seconds
        psnr_refined = cs.psnr(full, rec.to_signal(like=full), data_range=1.0)
        print(f"    PSNR after the last update {psnr_live:.2f} dB, after refine() "
              f"{psnr_refined:.2f} dB ({refine_seconds:.1f} s)", flush=True)
    psnr_batch = cs.psnr(full, batch, data_range=1.0)
    print(f"  batch with the same dictionary: {psnr_batch:.2f} dB ({batch_seconds:.1f} s)",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", nargs="*", default=list(IMAGES), choices=IMAGES)
    parser.add_argument("--maps", nargs="*", default=list(MAPS), choices=MAPS)
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.05, 0.10])
    parser.add_argument("--criteria", nargs="+", default=list(cs.adaptive.CRITERIA),
                        choices=cs.adaptive.CRITERIA)
    parser.add_argument("--side", type=int, default=128,
                        help="central crop of the images (px)")
    parser.add_argument("--counts", type=float, default=15.0,
                        help="counts per pixel of the thinned maps")
    parser.add_argument("--no-live", action="store_true")
    args = parser.parse_args()
    images(args.images, args.fractions, args.criteria, args.side)
    maps(args.maps, args.fractions, args.criteria, args.counts)
    if not args.no_live:
        live()


if __name__ == "__main__":
    main()
