"""Low-count spectrum images: element line maps scored against an independent half.

Every map is thinned by binomial sampling to about 5, 15 and 50 counts per pixel
(over all channels; a map with fewer counts is used as it is), then split into two
halves ``A`` and ``B`` of equal expected counts (:func:`hyperspy_cs.split_counts`).
A method reconstructs ``A`` (or ``A`` sub-sampled at random), and each of its X-ray
line maps ``e`` is scored against ``B``'s by the unbiased error estimate
``mean((e - B)**2) - mean(B)`` (Poisson: the variance of ``B`` is its mean). The
figure printed is the error of all lines pooled, relative to the lines' spatial
variance (its unbiased estimate ``var(B) - mean(B)``), in %: lower is better, and 100 %
is the error of a flat map at each line's true mean, so that a method is credited
for the structure it recovers rather than for the mean level. Each reconstruction
row also gives its difference from the best baseline of the row's fraction, in
points and in dB (``10 log10(baseline / error)``, positive when better: the count-data
issue's targets are in dB).

Methods, in one run:

``raw``
    The line maps of ``A`` itself (100 % only).
``gaussian``
    Gaussian smoothing of ``A``'s line maps, the best of sigma 0.5, 1, 2 and 3 px
    (chosen against ``B``); sub-sampled, the normalised convolution
    ``G * (maps * mask) / G * mask``.
``pca``
    HyperSpy's ``decomposition(normalize_poissonian_noise=True)`` and its model
    with the best of 2-16 components (chosen against ``B``; 100 % only).
``cubic``
    Cubic interpolation of the line maps (``hyperspy_cs.inpaint``, sub-sampled only).
``bpfa``, ``bpfa+guide``
    ``inpaint_bpfa3d`` at its defaults, without and with the map's BSE/HAADF
    guide, seed 0; where the defaults sampled the layers as Poisson counts (line
    maps), also the same call with ``likelihood="gaussian"`` (``... gauss``).

    Each BPFA row also says how far the total counts of its line maps at the
    sampled positions are from those measured there, in standard errors (the
    worst line; ``totals N SE``).
``pfa`` (``--poisson-factor``)
    Poisson factor analysis of ``A``'s line maps at BPFA's patch size
    (``_poisson_factor.py``, the count-data issue's option (b)), seed 0.

Then the equal-dose pair at each count level: the guided BPFA (unguided where there
is no guide) and the Gaussian on 100 % of the positions at a tenth of the counts,
against 10 % of the positions at all of them (both scored against ``B``, the first
scaled by 10).

Maps (``--maps``):

``sio2``
    ``SiO2_EDS_SI.hspy`` (128 x 128 x 2048, about 50 counts/px), lines C, O, Si Ka,
    HAADF guide.
``granite``
    ``granite_P45_sem.bcf`` (100 x 75 x 4096, SEM, about 617 counts/px), its 11 Ka
    lines, BSE guide.
``fept``
    ``../shared/data/eds/FePt_core_shell.hspy`` (64 x 64 x 992, about 216 counts/px),
    Fe Ka and Pt La, no guide.
``test_tem``
    ``test_TEM.bcf`` as it is (64 x 64 x 2048, about 6 counts/px), lines Cu, O, Ti
    Ka and Pd La, HAADF guide.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_counts.py [--maps ...]
[--counts ...] [--fractions ...] [--no-equal-dose] [--poisson-factor]``. Writes
nothing: the figures are printed, for pasting into a closing note.
"""

import argparse
import pathlib
import time
import warnings

import hyperspy.api as hs
import numpy as np
from scipy import ndimage

import hyperspy_cs as cs

from _poisson_factor import poisson_factor

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared" / "data"
COUNTS = (5, 15, 50)
FRACTIONS = (1.0, 0.25, 0.10, 0.05)
SIGMAS = (0.5, 1.0, 2.0, 3.0)
COMPONENTS = range(2, 17)
MAPS = ("sio2", "granite", "fept", "test_tem")
BASELINES = ("raw", "gaussian", "pca", "cubic")


def load(name):
    """The spectrum image ``name`` (elements set) and its guide image (or None)."""
    if name == "sio2":
        si = hs.load(DATA / "SiO2_EDS_SI.hspy")
        si.add_elements(["C", "O", "Si"])
        si.add_lines()
        return si, hs.load(DATA / "SiO2_HAADF.hspy")
    if name == "granite":
        bse, _, si = hs.load(DATA / "granite_P45_sem.bcf")
        return si, bse
    if name == "fept":
        return hs.load(SHARED / "eds" / "FePt_core_shell.hspy"), None
    if name == "test_tem":
        haadf, si = hs.load(DATA / "test_TEM.bcf")
        return si, haadf
    raise ValueError(name)


def counts_per_pixel(si):
    return float(si.data.sum(axis=-1, dtype=np.float64).mean())


def line_maps(si):
    """The X-ray line maps ``(L, R, C)`` float64 of a spectrum image."""
    return np.stack([np.asarray(m.data, dtype=np.float64)
                     for m in si.get_lines_intensity(integration_windows=2.0)])


def relative_error(estimate, reference):
    """Pooled unbiased squared error of line maps against independent count maps,
    relative to their spatial variance, in %."""
    error = np.mean((estimate - reference) ** 2, axis=(1, 2)) - reference.mean(axis=(1, 2))
    variance = reference.var(axis=(1, 2)) - reference.mean(axis=(1, 2))
    return 100.0 * error.sum() / variance.sum()


def gaussian(maps, mask, sigma):
    """Gaussian smoothing of ``maps`` ``(L, R, C)``; normalised convolution off the ``mask``."""
    sigmas = (0, sigma, sigma)
    weights = ndimage.gaussian_filter(mask.astype(float), sigma)
    return ndimage.gaussian_filter(maps * mask, sigmas) / np.maximum(weights, 1e-12)


def best_gaussian(maps, mask, reference):
    scores = {s: relative_error(gaussian(maps, mask, s), reference) for s in SIGMAS}
    sigma = min(scores, key=scores.get)
    return scores[sigma], f"sigma {sigma:g}"


def best_pca(si, reference):
    """HyperSpy's Poisson-normalised PCA model with the best number of components."""
    work = si.deepcopy()
    work.change_dtype("float64")
    # navigation_mask=None: exspy's default masks "vacuum" by a count threshold,
    # which at these counts is every position.
    work.decomposition(normalize_poissonian_noise=True, output_dimension=max(COMPONENTS),
                       navigation_mask=None, print_info=False)
    scores = {k: relative_error(line_maps(work.get_decomposition_model(k)), reference)
              for k in COMPONENTS}
    k = min(scores, key=scores.get)
    return scores[k], f"{k} components"


def cubic(maps, mask):
    stack = hs.signals.Signal2D(maps)
    return np.asarray(cs.inpaint(stack, method="cubic", mask=mask).data)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def total_error(rec, half):
    """The largest deviation of a line's total counts at the sampled positions from
    the counts measured there, in standard errors (Poisson: the square root)."""
    mask = cs.get_mask(half) if half.metadata.has_item("Acquisition.Subsampling") else None
    measured, rebuilt = line_maps(half), line_maps(rec)
    if mask is not None:
        measured, rebuilt = measured[:, mask], rebuilt[:, mask]
    totals = measured.reshape(len(measured), -1).sum(axis=1)
    deviation = rebuilt.reshape(len(rebuilt), -1).sum(axis=1) - totals
    return float(np.max(np.abs(deviation) / np.sqrt(np.maximum(totals, 1))))


def bpfa_rows(half, guide, reference):
    """The BPFA rows, without and with the guide: ``(label, error, note)``.

    Where the defaults sample the layers as counts (``likelihood`` "poisson"),
    a row ``... gauss`` gives the same call with ``likelihood="gaussian"``. The
    note gives :func:`total_error` ("totals N SE").
    """
    rows = []
    for label, kwargs in (("bpfa", {}), ("bpfa+guide", {"guide": guide})):
        if label == "bpfa+guide" and guide is None:
            continue
        rec, seconds = timed(cs.inpaint_bpfa3d, half, seed=0, show_progressbar=False, **kwargs)
        node = rec.metadata.Reconstruction
        if label == "bpfa":
            patch_size = node.parameters.patch_size
        rows.append((label, relative_error(line_maps(rec), reference),
                     f"{seconds:.0f} s, {node.parameters.patch_size} px, "
                     f"{len(node.layer_names)} layers, {node.layer_kind}, "
                     f"{node.likelihood}, totals {total_error(rec, half):.1f} SE"))
        if node.likelihood == "poisson":
            rec, seconds = timed(cs.inpaint_bpfa3d, half, seed=0, show_progressbar=False,
                                 likelihood="gaussian", **kwargs)
            rows.append((label + " gauss", relative_error(line_maps(rec), reference),
                         f"{seconds:.0f} s, {rec.metadata.Reconstruction.parameters.patch_size}"
                         f" px, likelihood=\"gaussian\", "
                         f"totals {total_error(rec, half):.1f} SE"))
    return rows, patch_size


def pfa_row(maps, mask, reference, patch_size):
    """Poisson factor analysis of the line maps (``_poisson_factor``), BPFA's patch size."""
    estimate, seconds = timed(poisson_factor, np.rint(maps).astype(np.int64), mask,
                              patch_size=patch_size, seed=0)
    return ("pfa", relative_error(estimate, reference), f"{seconds:.0f} s, {patch_size} px")


def print_rows(title, rows):
    print(title)
    best_baseline = min((e for label, e, _ in rows if label in BASELINES), default=np.nan)
    for label, error, note in rows:
        mark = ""
        if label not in BASELINES:
            mark = f"   {error - best_baseline:+.1f} vs best baseline"
            if error > 0 and best_baseline > 0:
                mark += f" ({10 * np.log10(best_baseline / error):+.1f} dB)"
        print(f"  {label:<12} {error:8.1f} %   ({note}){mark}", flush=True)


def thin(si, counts, seed):
    """``si`` thinned to about ``counts`` per pixel (as it is when it has fewer)."""
    share = counts / counts_per_pixel(si)
    return si if share >= 1 else cs.split_counts(si, fraction=share, seed=seed)[0]


def run_case(name, si, guide, level, fractions, equal_dose, factor):
    thinned = thin(si, level, seed=10)
    half, other = cs.split_counts(thinned, fraction=0.5, seed=11)
    reference = line_maps(other)
    full_mask = np.ones(reference.shape[1:], dtype=bool)
    maps = line_maps(half)
    print(f"{name}, {counts_per_pixel(thinned):.1f} counts/px ({counts_per_pixel(half):.1f} "
          f"in each half), lines {', '.join(half.metadata.Sample.xray_lines)}")
    for fraction in fractions:
        if fraction >= 1:
            rows = [("raw", relative_error(maps, reference), "half A"),
                    ("gaussian", *best_gaussian(maps, full_mask, reference)),
                    ("pca", *best_pca(half, reference))]
            mask = full_mask
            bpfa, patch_size = bpfa_rows(half, guide, reference)
        else:
            sub = half.subsample(fraction, "random", seed=1)
            mask = cs.get_mask(sub)
            rows = [("cubic", relative_error(cubic(maps, mask), reference), ""),
                    ("gaussian", *best_gaussian(maps, mask, reference))]
            bpfa, patch_size = bpfa_rows(sub, guide, reference)
        rows += bpfa
        if factor:
            rows.append(pfa_row(maps, mask, reference, patch_size))
        print_rows(f" {fraction:.0%} of the positions", rows)
    if equal_dose:
        tenth = cs.split_counts(half, fraction=0.1, seed=12)[0]
        sub = half.subsample(0.1, "random", seed=1)
        mask = cs.get_mask(sub)
        kwargs = {} if guide is None else {"guide": guide}
        label = "bpfa" + ("+guide" if guide is not None else "")
        low, t_low = timed(cs.inpaint_bpfa3d, tenth, seed=0, show_progressbar=False, **kwargs)
        sparse, t_sparse = timed(cs.inpaint_bpfa3d, sub, seed=0, show_progressbar=False, **kwargs)
        g_low, note_low = best_gaussian(line_maps(tenth) * 10, full_mask, reference)
        g_sparse, note_sparse = best_gaussian(maps, mask, reference)
        print(" equal dose: 100 % of the positions at 1/10 of the counts | 10 % at all of them")
        print(f"  {label:<12} {relative_error(line_maps(low) * 10, reference):8.1f} % ({t_low:.0f} s)"
              f" | {relative_error(line_maps(sparse), reference):8.1f} % ({t_sparse:.0f} s)")
        print(f"  {'gaussian':<12} {g_low:8.1f} % ({note_low})"
              f" | {g_sparse:8.1f} % ({note_sparse})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maps", nargs="+", choices=MAPS, default=list(MAPS))
    parser.add_argument("--counts", nargs="+", type=float, default=list(COUNTS),
                        help="counts per pixel to thin each map to")
    parser.add_argument("--fractions", nargs="+", type=float, default=list(FRACTIONS))
    parser.add_argument("--no-equal-dose", action="store_true")
    parser.add_argument("--poisson-factor", action="store_true",
                        help="add the Poisson factor analysis row (pfa)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in args.maps:
        si, guide = load(name)
        levels = [None] if name == "test_tem" else args.counts
        for level in levels:
            run_case(name, si, guide, counts_per_pixel(si) if level is None else level,
                     args.fractions, not args.no_equal_dose, args.poisson_factor)


if __name__ == "__main__":
    main()
