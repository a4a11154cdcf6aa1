"""Time one BPFA Gibbs sweep: numba engine vs a vectorised numpy reference vs the machine.

Setting (the speed target): scikit-image ``camera`` resized to 256 x 256, 20 % of the
pixels observed, 8 x 8 patches (all 62,001 overlapping ones), K = 128 atoms. The
engine is first run for a few sweeps so that the codes have their realistic sparsity
(about 7-9 active atoms per patch), then the same state is swept by

- the numba engine (``hyperspy_cs.bpfa._engine._Sampler.sweep``: DTD for all atoms, the
  per-atom z/s/d/residual passes, the hyper-parameter draws), median of a few sweeps;
- a plain numpy implementation of the same sweep, vectorised over patches (below);

and a dense float32 matrix product measures what this machine can do in the same run.
Every figure is printed with the ratios; timings on a shared machine are noisy, so
compare ratios taken in one run.

Run: ``PYTHONPATH=. python benchmarks/bench_bpfa_sweep.py [--threads N]``
"""

import argparse
import time

import numba
import numpy as np
from skimage import data, transform

from hyperspy_cs.bpfa._engine import _Sampler, _run_key

B, K, FRACTION = 8, 128, 0.2


def camera_problem(seed=0):
    img = transform.resize(data.camera().astype(float), (256, 256), anti_aliasing=True)
    img = (img - img.min()) / (img.max() - img.min())
    rng = np.random.default_rng(seed)
    observed = np.zeros(img.size, bool)
    observed[rng.choice(img.size, round(FRACTION * img.size), replace=False)] = True
    observed = observed.reshape(img.shape)
    values = img[observed]
    xn = (img - values.mean()) / values.std()
    return xn[None, :, :, None], observed[None, :, :, None]


def numpy_sweep(R, ZS, D, mask_patches, gamma_s, gamma_e, logit_pi, prior_prec, rng):
    """One sweep of the same sampler in plain numpy, vectorised over patches (N = 1).

    ``mask_patches`` is the dense ``(n, P)`` float32 patch mask (fine for a reference).
    Updates ``R``, ``ZS`` and ``D`` in place.
    """
    K, P = D.shape
    n = R.shape[0]
    DTD = mask_patches @ (D * D).T  # (n, K), one GEMM for all atoms
    for k in range(K):
        d_old = D[k].copy()
        old = ZS[k].copy()
        dtd = DTD[:, k]
        dtr = R @ d_old + old * dtd
        prec = gamma_s + gamma_e * dtd
        mu = gamma_e * dtr / prec
        logit = logit_pi[k] + 0.5 * (np.log(gamma_s / prec) + mu * mu * prec)
        on = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
        new = np.where(on, mu + rng.standard_normal(n) / np.sqrt(prec), 0.0).astype(np.float32)
        ZS[k] = new
        idx = np.flatnonzero(on)
        m_on = mask_patches[idx]
        s_on = new[idx, None]
        prec_sum = (m_on * s_on**2).sum(0, dtype=np.float64)
        mean_sum = (s_on * (R[idx] + m_on * d_old * old[idx, None])).sum(0, dtype=np.float64)
        lam = prior_prec + np.diag(gamma_e * prec_sum)
        chol = np.linalg.cholesky(lam)
        y = np.linalg.solve(chol, gamma_e * mean_sum) + rng.standard_normal(P)
        d_new = np.linalg.solve(chol.T, y).astype(np.float32)
        D[k] = d_new
        touched = np.flatnonzero((old != 0) | on)
        R[touched] += mask_patches[touched] * (
            np.outer(old[touched], d_old) - np.outer(new[touched], d_new))


def time_matmul(size=2048, repeat=3):
    a = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
    a @ a
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="numba threads")
    parser.add_argument("--sweeps", type=int, default=5, help="timed numba sweeps")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)

    xn, obs = camera_problem()
    sampler = _Sampler(xn, obs, b=B, n_atoms=K, dictionary=None, learn_dictionary=True,
                       hyper={}, burn_in=0, layer_weights=np.ones(1), origin=(0, 0),
                       key=_run_key(0), atom_smoothness=2.0)
    n, P = sampler.R.shape
    for t in range(8):  # compile, then reach a realistic sparsity
        sampler.sweep(t)
    state = (sampler.R.copy(), sampler.ZS.copy(), sampler.D.copy(), sampler.pi.copy(),
             sampler.gamma_s, sampler.gamma_e)

    times = []
    for t in range(8, 8 + args.sweeps):
        t0 = time.perf_counter()
        sampler.sweep(t)
        times.append(time.perf_counter() - t0)
    t_numba = float(np.median(times))

    R, ZS, D, pi, gamma_s, gamma_e = state
    mask_patches = np.lib.stride_tricks.sliding_window_view(
        sampler.mask[0], (B, B)).reshape(n, P).astype(np.float32)
    logit_pi = np.log(pi) - np.log1p(-pi)
    t0 = time.perf_counter()
    numpy_sweep(R, ZS, D, mask_patches, gamma_s, gamma_e, logit_pi, sampler.prior_prec,
                np.random.default_rng(2))
    t_numpy = time.perf_counter() - t0

    gflops_mm = time_matmul()
    # Dense-equivalent work of the two patch x atom inner products (DTR and DTD).
    sweep_gflop = 2 * 2.0 * n * P * K / 1e9
    print(f"problem: 256x256 camera, {FRACTION:.0%} observed, {B}x{B} patches, n={n}, K={K}, "
          f"active atoms/patch={sampler.stats['n_active']:.2f}, "
          f"numba threads={numba.get_num_threads()}")
    print(f"numba sweep   : {t_numba:.3f} s (median of {len(times)}: "
          f"{', '.join(f'{x:.3f}' for x in times)})")
    print(f"numpy sweep   : {t_numpy:.3f} s  -> numba is {t_numpy / t_numba:.1f}x faster")
    print(f"float32 GEMM  : {gflops_mm:.1f} GFLOP/s (2048^3 matmul, best of 3)")
    print(f"sweep work    : {sweep_gflop:.2f} GFLOP dense-equivalent (DTR+DTD) -> "
          f"{sweep_gflop / t_numba:.1f} GFLOP/s = {sweep_gflop / t_numba / gflops_mm:.0%} of GEMM")
    print(f"target 0.3 s  : {'met' if t_numba <= 0.3 else 'NOT met'}")


if __name__ == "__main__":
    main()
