"""Time one BPFA Gibbs sweep: the engine vs the engine before its rewrite vs the machine.

Cases (the speed targets of the compute-bound rewrite; K = 128 atoms, all overlapping
patches, one frame):

- ``camera``: scikit-image ``camera`` resized to 256 x 256, 20 % of the pixels
  observed at random, 8 x 8 patches, N = 1 layer. Target: the engine at least 5x
  faster than the reference.
- ``spectral``: a 128 x 128 scan of N = 17 layers, 6 x 6 patches. Layer 0 is a fully
  observed guide image (``camera`` resized to 128 x 128); layers 1-16 are spectral-layer
  maps (smooth phase maps segmented from the guide and blurred copies of it, mixed
  with random loadings, a few Poisson counts per pixel) observed on one shared 10 %
  random scan mask. Target: 10x.
- ``large_patch``: ``camera`` 256 x 256, 5 % random, 16 x 16 patches, N = 1. Target: 10x.

Each layer is normalised to zero mean and unit standard deviation over its observed
entries, as the engine does. For each case both samplers are built from the same data
and run key (``_run_key(0)``):

- the engine, ``hyperspy_cs.bpfa._engine._Sampler``;
- the reference, ``benchmarks/_reference_engine.ReferenceSampler``: the engine as it
  was at commit a29d85b, before the rewrite.

Both run 8 warm-up sweeps (they compile, the last one with an estimate, and bring the
codes to a realistic sparsity), then ``--sweeps`` timed sweeps ``sweep(t)`` each,
alternating between the two so that a change of load hits both; the median is
reported. One more sweep each is timed with ``estimate=`` (the robust patch average
that the kept sweeps of a run compute, ``trim=0.25``). A dense float32 matrix product
measures what this machine can do in the same run, and the sweep's arithmetic is put
against it in two ways:

- dense-equivalent, ``4 n P K`` flops: the two patch x atom inner products (DTR and
  DTD) over every patch entry, the count of a dense sweep;
- observed-entry, ``4 n m K`` flops with ``m`` the mean number of observed entries
  per patch: the same products over the observed entries only, what a sweep that
  skips the unobserved ones must do.

Timings on a shared machine are noisy: what counts are the ratios taken in one run.

Run: ``PYTHONPATH=. python benchmarks/bench_bpfa_sweep.py [--case NAME ...]
[--sweeps S] [--threads N] [--quick]`` (``--quick``: 64 x 64 crops and few sweeps,
to check the script, not to time).
"""

import argparse
import contextlib
import os
import sys
import time

import numba
import numpy as np
from scipy.ndimage import gaussian_filter
from skimage import data, transform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _reference_engine import ReferenceSampler  # noqa: E402

from hyperspy_cs.bpfa._engine import _Sampler, _run_key  # noqa: E402

K = 128
WARM_UP = 8
CASES = {
    # name: scan side, patch side b, observed fraction, target speed-up ref/new
    "camera": dict(size=256, b=8, fraction=0.20, target=5.0),
    "spectral": dict(size=128, b=6, fraction=0.10, target=10.0),
    "large_patch": dict(size=256, b=16, fraction=0.05, target=10.0),
}
N_SPECTRAL = 16  # spectral layers besides the guide


def camera_image(size):
    """``camera`` resized to ``size`` x ``size``, scaled to [0, 1]."""
    img = transform.resize(data.camera().astype(float), (size, size), anti_aliasing=True)
    return (img - img.min()) / (img.max() - img.min())


def centre_crop(img, side):
    r0 = (img.shape[0] - side) // 2
    c0 = (img.shape[1] - side) // 2
    return img[r0:r0 + side, c0:c0 + side]


def random_mask(shape, fraction, rng):
    """A random scan mask observing ``round(fraction * pixels)`` pixels."""
    size = int(np.prod(shape))
    mask = np.zeros(size, bool)
    mask[rng.choice(size, round(fraction * size), replace=False)] = True
    return mask.reshape(shape)


def normalise(x, obs):
    """Per layer, zero mean and unit std over the observed entries (as the engine does).

    A layer whose observed values are all equal is divided by 1, as in the engine.
    """
    out = np.zeros(x.shape)
    for layer in range(x.shape[-1]):
        values = x[..., layer][obs[..., layer]]
        scale = values.std()
        out[..., layer] = (x[..., layer] - values.mean()) / (scale if scale > 0 else 1.0)
    return out


def spectral_layers(guide, n_layers, rng):
    """``(H, W, n_layers)`` Poisson counts of smooth maps related to ``guide``.

    The components are four phase maps (quartiles of the lightly blurred guide,
    softened by a 1 px blur), the guide blurred by 3 and 8 px, and a smooth background
    ramp; each layer mixes them with random non-negative loadings (mostly one or two
    phases dominate, as for element maps) and is drawn at 1-6 counts per pixel.
    """
    smooth = gaussian_filter(guide, 1.5)
    labels = np.digitize(smooth, np.quantile(smooth, [0.25, 0.5, 0.75]))
    H, W = guide.shape
    ramp = 1.0 + 0.5 * np.add.outer(np.linspace(-1, 1, H), np.linspace(0, 1, W))
    components = np.stack(
        [gaussian_filter((labels == j).astype(float), 1.0) for j in range(4)]
        + [gaussian_filter(guide, 3.0), gaussian_filter(guide, 8.0), ramp / ramp.max()])
    loadings = rng.gamma(0.4, 1.0, (n_layers, components.shape[0]))
    loadings[:, -1] += 0.05  # every layer has some background
    mix = np.einsum("lc,chw->hwl", loadings, components)
    counts = rng.uniform(1.0, 6.0, n_layers)  # mean counts per pixel of each layer
    return rng.poisson(mix * (counts / mix.mean(axis=(0, 1)))).astype(float)


def make_problem(name, quick, seed=0):
    """Normalised data ``(1, H, W, L)`` and observed mask ``(1, H, W, L)`` of a case."""
    case = CASES[name]
    rng = np.random.default_rng(seed)
    guide = camera_image(case["size"])
    if name == "spectral":
        x = np.concatenate([guide[..., None], spectral_layers(guide, N_SPECTRAL, rng)], -1)
    else:
        x = guide[..., None]
    if quick:
        x = centre_crop(x, 64)
    H, W, L = x.shape
    scan = random_mask((H, W), case["fraction"], rng)
    obs = np.repeat(scan[..., None], L, axis=-1)
    if name == "spectral":
        obs[..., 0] = True  # the guide is fully observed
    return normalise(x, obs)[None], obs[None]


def observed_per_patch(obs, b):
    """Mean number of observed entries over all overlapping ``b x b`` patches."""
    counts = obs[0].sum(-1).astype(np.int64)  # observed layers per pixel
    cum = np.zeros((counts.shape[0] + 1, counts.shape[1] + 1), np.int64)
    cum[1:, 1:] = counts.cumsum(0).cumsum(1)
    window = cum[b:, b:] - cum[:-b, b:] - cum[b:, :-b] + cum[:-b, :-b]
    return float(window.mean())


def build(cls, xn, obs, b):
    # The engine learns a noise precision per layer, as it does by default; the
    # reference has one (the same model for one layer).
    options = {} if cls is ReferenceSampler else {"tied": False}
    return cls(xn.copy(), obs.copy(), b=b, n_atoms=K, dictionary=None, learn_dictionary=True,
               hyper={}, burn_in=0, layer_weights=np.ones(obs.shape[-1]), origin=(0, 0),
               key=_run_key(0), atom_smoothness=2.0, **options)


def time_matmul(size=2048, repeat=3):
    a = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
    a @ a
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def blas_threads(n):
    """Limit the BLAS threads to ``n`` (if threadpoolctl is there), else do nothing."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def run_case(name, args, gemm):
    """Time both samplers on one case; print the figures; return (ratio, target)."""
    case = CASES[name]
    b = case["b"]
    xn, obs = make_problem(name, args.quick)
    F, H, W, L = obs.shape
    P = b * b * L
    m = observed_per_patch(obs, b)
    samplers = {"new": build(_Sampler, xn, obs, b),
                "reference": build(ReferenceSampler, xn, obs, b)}
    n = samplers["new"].n_patches
    assert samplers["reference"].n_patches == n
    estimate = np.empty((F, H, W * L))
    for t in range(args.warm_up):  # the last one also compiles the estimate's kernels
        for sampler in samplers.values():
            sampler.sweep(t, estimate=estimate if t == args.warm_up - 1 else None)
    times = {key: [] for key in samplers}
    for t in range(args.warm_up, args.warm_up + args.sweeps):
        for key, sampler in samplers.items():
            t0 = time.perf_counter()
            sampler.sweep(t)
            times[key].append(time.perf_counter() - t0)
    t_est = {}
    for key, sampler in samplers.items():
        t0 = time.perf_counter()
        sampler.sweep(args.warm_up + args.sweeps, estimate=estimate, trim=0.25)
        t_est[key] = time.perf_counter() - t0
    median = {key: float(np.median(v)) for key, v in times.items()}
    ratio = median["reference"] / median["new"]
    met = "met" if ratio >= case["target"] else "NOT met"

    layers = f"{L} layer" + ("s (guide + spectral)" if L > 1 else "")
    print(f"\n== {name}: {H} x {W} scan, {case['fraction']:.0%} random, {b} x {b} patches, "
          f"{layers}, K = {K}")
    print(f"patches n = {n}, P = {P}, observed entries per patch m = {m:.1f} "
          f"({m / P:.1%} of P)")
    print(f"{'':28s}{'new':>12s}{'reference':>12s}")
    print(f"{'active atoms per patch':28s}" + "".join(
        f"{samplers[key].stats['n_active']:12.2f}" for key in samplers))
    print(f"{f'sweep, median of {args.sweeps}':28s}" + "".join(
        f"{median[key]:10.3f} s" for key in samplers))
    print(f"{'sweep with estimate':28s}" + "".join(f"{t_est[key]:10.3f} s" for key in samplers))
    for key in samplers:
        print(f"  {key} sweeps: {', '.join(f'{x:.3f}' for x in times[key])} s")
    print(f"speed-up ref/new: {ratio:.1f}x (with estimate "
          f"{t_est['reference'] / t_est['new']:.1f}x); target >= {case['target']:g}x: {met}")
    print(f"{'arithmetic of a sweep':28s}{'GFLOP':>8s}" + "".join(
        f"{key + ' GFLOP/s (% of GEMM)':>30s}" for key in samplers))
    for label, entries in (("dense-equivalent 4 n P K", P), ("observed-entry 4 n m K", m)):
        gflop = 4.0 * n * entries * K / 1e9
        print(f"{label:28s}{gflop:8.2f}" + "".join(
            f"{gflop / median[key]:20.1f} ({gflop / median[key] / gemm:6.1%})"
            for key in samplers))
    return ratio, case["target"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", choices=list(CASES),
                        help="case to run (repeatable); default all")
    parser.add_argument("--sweeps", type=int, default=None,
                        help="timed sweeps per engine (default 3, 1 with --quick)")
    parser.add_argument("--threads", type=int, default=None,
                        help="numba threads (and BLAS threads of the GEMM)")
    parser.add_argument("--quick", action="store_true",
                        help="64 x 64 crops, 2 warm-up sweeps: checks the script only")
    args = parser.parse_args()
    args.sweeps = args.sweeps or (1 if args.quick else 3)
    args.warm_up = 2 if args.quick else WARM_UP
    if args.threads:
        numba.set_num_threads(args.threads)

    with blas_threads(args.threads):
        gemm = time_matmul(1024 if args.quick else 2048)
    print(f"float32 GEMM: {gemm:.1f} GFLOP/s ({1024 if args.quick else 2048}^3 matmul, "
          f"best of 3); numba threads = {numba.get_num_threads()}"
          + ("   [--quick: 64 x 64 crops, not a timing]" if args.quick else ""))
    results = {name: run_case(name, args, gemm) for name in (args.case or list(CASES))}
    print("\nsummary (speed-up ref/new of the median sweep):")
    for name, (ratio, target) in results.items():
        print(f"  {name:12s} {ratio:6.1f}x   target >= {target:g}x: "
              f"{'met' if ratio >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
