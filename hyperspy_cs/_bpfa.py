"""BPFA engine (draft for tuning)."""

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from hyperspy_cs import _bpfa_kernels as _k


@dataclass
class BPFAResult:
    reconstruction: np.ndarray
    std: np.ndarray | None
    dictionary: np.ndarray
    pi: np.ndarray
    gamma_e: float
    gamma_s: float
    noise_std: np.ndarray
    atoms_used: int
    trace: dict
    layer_offset: np.ndarray
    layer_scale: np.ndarray


def bpfa(data, observed, *, patch_size=8, n_atoms=128, n_iter=40, burn_in=20, step=1,
         dictionary=None, learn_dictionary=True, fixed_hyper=None, layer_weights=None,
         origin=(0, 0), seed=None, uncertainty=False, show_progressbar=False,
         a0=1.0, b0=1.0, c0=1e-6, d0=1e-6, e0=1e-6, f0=1e-6, init="zero", pi0=0.5,
         ge0=None, gs_atom=False, ge_max=np.inf, impute=False, truth=None, every=5, dc=False):
    data = np.asarray(data, dtype=np.float64)
    F, H, W, L = data.shape
    obs = np.broadcast_to(observed, data.shape)
    b = patch_size
    offset = np.array([data[..., l][obs[..., l]].mean() for l in range(L)])
    scale = np.array([data[..., l][obs[..., l]].std() for l in range(L)])
    xn = np.where(obs, (data - offset) / scale, 0.0).astype(np.float32).reshape(F, H, W * L)
    mask = obs.astype(np.float32).reshape(F, H, W * L)
    nr, nc = H - b + 1, W - b + 1
    n = F * nr * nc
    P = b * b * L
    wl = np.ones(L) if layer_weights is None else np.asarray(layer_weights, float)
    wp = np.tile(wl, b * b).astype(np.float32)
    key = np.uint64(seed)
    rng = np.random.default_rng([int(seed), 0])
    if dictionary is None:
        K = n_atoms
        D = (rng.standard_normal((K, P)) / np.sqrt(P)).astype(np.float32)
    else:
        D = np.ascontiguousarray(np.asarray(dictionary, np.float32).reshape(len(dictionary), P))
        K = D.shape[0]
    ZS = np.zeros((K, n), np.float32)
    learn = np.full(K, learn_dictionary)
    if dc:
        D[0] = 1 / np.sqrt(P)
        learn[0] = False
    R = np.empty((n, P), np.float32)
    Y = np.empty((n, P), np.float32)
    if init == "svd":
        from scipy.interpolate import griddata
        img = xn.reshape(F, H, W, L)
        fil = np.empty_like(img)
        for f in range(F):
            for l in range(L):
                m = obs[f, ..., l]
                pts = np.argwhere(m)
                grid = np.mgrid[0:H, 0:W].reshape(2, -1).T
                fil[f, ..., l] = griddata(pts, img[f, ..., l][m], grid, method="nearest").reshape(H, W)
        fil = fil.reshape(F, H, W * L)
        ones = np.ones_like(mask)
        _k.patch_estimates(fil, ones, ZS, D, b, L, nr, nc, R, Y)  # R = patches of fil
        sub = R[:: max(1, n // 20000)]
        U, S, Vt = np.linalg.svd(sub, full_matrices=False)
        m = min(K, P)
        D[:m] = Vt[:m]
        codes = R @ D[:m].T  # (n, m)
        ZS[:m] = codes.T
    if impute:
        from scipy.interpolate import griddata
        img = xn.reshape(F, H, W, L).copy()
        grid = np.mgrid[0:H, 0:W].reshape(2, -1).T
        for f in range(F):
            for l in range(L):
                mm = obs[f, ..., l]
                img[f, ..., l] = griddata(np.argwhere(mm), img[f, ..., l][mm], grid, method=impute).reshape(H, W)
        xobs = xn
        xn = img.reshape(F, H, W * L).astype(np.float32)
        maskobs = mask
        mask = np.ones_like(mask)
        cnt = np.empty_like(mask, dtype=float)
        _k.average_patches(np.ones((n, P), np.float32), b, L, nr, nc, cnt)
        ones = np.ones((n, P), np.float32)
        cnt = np.zeros((F, H, W * L))
        for u in range(b):
            for v in range(b):
                cnt[:, u:u + nr, v * L:(v + nc) * L] += 1
    _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
    keys = _k.patch_keys(key, F, nr, nc, origin[0], origin[1])
    pi = np.full(K, pi0)
    gs = np.ones(K)
    n_obs = float(np.count_nonzero(R))
    ge = ge0 if ge0 is not None else 1.0 / max(1e-3, float((R ** 2).sum() / n_obs))
    DTD = np.empty((K, n), np.float32)
    n_on = np.zeros(K, np.int64)
    ss_on = np.zeros(K)
    est = np.zeros((F, H, W * L))
    mean = np.zeros_like(est)
    m2 = np.zeros_like(est)
    kept = 0
    trace = {k: [] for k in ("gamma_e", "gamma_s", "loglik", "n_active")}
    for t in tqdm(range(n_iter), disable=not show_progressbar):
        rt = np.random.default_rng([int(seed), 1, t])
        D2wT = np.ascontiguousarray((D * D * wp).T)
        _k.masked_sq_norms(mask, D2wT, b, L, nr, nc, DTD)
        eps = rt.standard_normal((K, P), dtype=np.float32)
        lp = np.log(pi / (1 - pi)).astype(np.float32)
        _k.gibbs_sweep(R, ZS, D, wp, mask, DTD, keys, np.uint64(2 * K * t), lp, gs.astype(np.float32),
                       np.float32(ge), eps, learn, b, L, nr, nc, n_on, ss_on)
        if impute:
            _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
            _k.average_patches(Y, b, L, nr, nc, est)
            xs = est + rt.standard_normal(est.shape) / np.sqrt(ge * cnt)
            xn = np.where(maskobs > 0, xobs, xs).astype(np.float32)
            _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
        if t >= burn_in and (t - burn_in) % step == 0:
            if not impute:
                _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
                _k.average_patches(Y, b, L, nr, nc, est)
            kept += 1
            delta = est - mean
            mean += delta / kept
            m2 += delta * (est - mean)
        if truth is not None and t % every == 0:
            _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
            _k.average_patches(Y, b, L, nr, nc, est)
            e1 = est.reshape(F, H, W, L) * scale + offset
            e2 = mean.reshape(F, H, W, L) * scale + offset
            print(t, "inst %.2f mean %.2f ge %.0f nact %.2f" % (-10*np.log10(np.mean((e1-truth)**2)), -10*np.log10(np.mean((e2-truth)**2)), ge, n_on.sum()/n))
        sse = _k.weighted_sq_sum(R, wp)
        pi = rt.beta(a0 / K + n_on, b0 * (K - 1) / K + n - n_on)
        pi = np.clip(pi, 1e-12, 1 - 1e-7)
        if dc:
            pi[0] = 1 - 1e-7
        if gs_atom:
            gs = rt.gamma(c0 + 0.5 * n_on, 1.0 / (d0 + 0.5 * ss_on))
        else:
            gs = np.full(K, rt.gamma(c0 + 0.5 * n_on.sum(), 1.0 / (d0 + 0.5 * ss_on.sum())))
        ge = min(ge_max, rt.gamma(e0 + 0.5 * n_obs, 1.0 / (f0 + 0.5 * sse)))
        trace["gamma_e"].append(ge)
        trace["gamma_s"].append(gs.mean())
        trace["n_active"].append(n_on.sum() / n)
        trace["loglik"].append(-0.5 * ge * sse + 0.5 * n_obs * np.log(ge / (2 * np.pi)))
    global LAST
    _k.patch_estimates(xn, mask, ZS, D, b, L, nr, nc, R, Y)
    LAST = Y.copy()
    rec = mean.reshape(F, H, W, L) * scale + offset
    std = np.sqrt(m2 / max(kept - 1, 1)).reshape(F, H, W, L) * scale
    return BPFAResult(rec, std if uncertainty else None, D.reshape(K, b, b, L), pi, ge, gs,
                      scale / np.sqrt(ge * wl), int((n_on > 0).sum()),
                      {k: np.array(v) for k, v in trace.items()}, offset, scale)
