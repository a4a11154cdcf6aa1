"""The BPFA engine as it was before the compute-bound rewrite (commit a29d85b), kept as the reference the sweep benchmark measures against.

Copied from ``hyperspy_cs/bpfa/_engine.py`` (the sampler class, renamed
``ReferenceSampler``, its helpers and constants) and ``hyperspy_cs/bpfa/_kernels.py``
(every kernel the sampler calls, with their random-number helpers) at that commit,
verbatim apart from the imports: the numba options of ``hyperspy_cs._jit`` are written
out (``SERIAL`` = ``cache=True, nogil=True``; ``PARALLEL_FAST`` adds ``parallel=True,
fastmath=True``) and the kernels are called without the ``_kern.`` module prefix. The
model, the patch layout and the random numbers are described in those modules'
docstrings at that commit (``git show a29d85b:hyperspy_cs/bpfa/_kernels.py``).
"""

import numpy as np
from numba import njit, prange
from scipy.ndimage import gaussian_filter

__all__ = ["ReferenceSampler"]

# Engine (hyperspy_cs/bpfa/_engine.py at a29d85b)

_A0 = 1.0
_B0 = 1.0
_C0 = _D0 = _E0 = _F0 = 1e-6
_PI_INIT = 0.05
# Tempered burn-in: cap of gamma_e at the first sweep, and its growth over the burn-in.
_TEMPER_START = 5.0
_TEMPER_GROWTH = 20.0
_NUGGET = 1e-3
# Patches used for the SVD initialisation: plenty for the P <= a few hundred directions.
_INIT_PATCHES = 20000
# Least parameter of the Beta draw of pi (see ReferenceSampler.sweep).
_BETA_FLOOR = 1e-12


class ReferenceSampler:
    """State of one BPFA chain on normalised data, advanced one sweep at a time.

    Parameters
    ----------
    xn : numpy.ndarray, shape (F, H, W, L)
        Normalised data (values where unobserved are ignored).
    obs : numpy.ndarray of bool, shape (F, H, W, L)
    b, n_atoms : int
    dictionary : numpy.ndarray, float32, shape (K, P), or None
        Initial (or fixed) atoms; None initialises from the data.
    learn_dictionary : bool
    hyper : dict
        Fixed hyper-parameters (validated ``fixed_hyper``).
    burn_in : int
        Sweeps of tempered burn-in (``gamma_e`` capped, see the module docstring).
    layer_weights : numpy.ndarray, shape (L,)
    origin : (int, int)
    key : int
        64-bit run key.
    atom_smoothness : float
    """

    def __init__(self, xn, obs, *, b, n_atoms, dictionary, learn_dictionary, hyper, burn_in,
                 layer_weights, origin, key, atom_smoothness):
        F, H, W, L = obs.shape
        self.b, self.L = b, L
        self.nr, self.nc = H - b + 1, W - b + 1
        n = self.n_patches = F * self.nr * self.nc
        K = n_atoms
        P = b * b * L
        self.key = key
        self.burn_in = burn_in
        self.learn = learn_dictionary
        self.hyper = hyper
        self.wl = layer_weights
        self.wp = np.tile(layer_weights, b * b).astype(np.float32)
        self.mask = obs.reshape(F, H, W * L).astype(np.float32)
        self.xn = np.where(obs, xn, 0.0).astype(np.float32).reshape(F, H, W * L)
        self.R = np.empty((n, P), np.float32)
        self.Y = np.empty((n, P), np.float32)
        self.ZS = np.zeros((K, n), np.float32)
        self.DTD = np.empty((K, n), np.float32)
        self.D = dictionary
        if dictionary is None:
            self.D = _initial_dictionary(self.xn, obs, K, b, L, self.nr, self.nc, self.R,
                                         self.Y, _rng(key, 0))
        self.keys = patch_keys(np.uint64(key), F, self.nr, self.nc, *origin)
        self.prior_prec = _atom_prior_precision(b, atom_smoothness, P)
        self.no_eps = np.zeros((K, P))
        self.n_on = np.zeros(K, np.int64)
        self.ss_on = np.zeros(K)
        # Observed patch entries per layer: a pixel is in (rows covering) x (cols covering).
        rows, cols = np.arange(H), np.arange(W)
        cover_r = np.minimum(rows, self.nr - 1) - np.maximum(0, rows - b + 1) + 1
        cover_c = np.minimum(cols, self.nc - 1) - np.maximum(0, cols - b + 1) + 1
        n_obs_layer = np.einsum("frcl,r,c->l", obs.astype(np.float64), cover_r, cover_c)
        self.n_obs = n_obs_layer.sum()
        self.log_w = float(n_obs_layer @ np.log(layer_weights))

        self._refresh()
        self.pi = hyper.get("pi", np.full(K, _PI_INIT))
        self.gamma_s = hyper.get("gamma_s", 1.0)
        self.gamma_e = hyper.get("gamma_e",
                                 self.n_obs / max(weighted_sq_sum(self.R, self.wl), 1e-12))
        self.stats = {}

    def _refresh(self):
        patch_estimates(self.xn, self.mask, self.ZS, self.D, self.b, self.L, self.nr,
                              self.nc, self.R, self.Y)

    def sweep(self, t, *, estimate=None, trim=0.25):
        """Sweep number ``t``; writes the image estimate into ``estimate`` if given.

        ``estimate`` is ``(F, H, W * L)`` float64 in normalised units, the robust
        average of the patch estimates after this sweep (see ``aggregate_patches``).
        """
        b, L, nr, nc = self.b, self.L, self.nr, self.nc
        K = self.D.shape[0]
        rng = _rng(self.key, t + 1)
        D2wT = np.ascontiguousarray((self.D * self.D * self.wp).T)
        masked_sq_norms(self.mask, D2wT, b, L, nr, nc, self.DTD)
        with np.errstate(divide="ignore"):
            logit_pi = (np.log(self.pi) - np.log1p(-self.pi)).astype(np.float32)
        eps = rng.standard_normal(self.D.shape) if self.learn else self.no_eps
        gibbs_sweep(self.R, self.ZS, self.D, self.wl, self.mask, self.DTD, self.keys,
                          np.uint64(2 * K * t), logit_pi, self.gamma_s, self.gamma_e, eps,
                          self.learn, self.prior_prec, b, L, nr, nc, self.n_on, self.ss_on)
        if estimate is not None:
            self._refresh()
            aggregate_patches(self.Y, b, L, nr, nc, trim, estimate)
        sse = weighted_sq_sum(self.R, self.wl)
        n_on, n = self.n_on, self.n_patches
        if "pi" not in self.hyper:
            # Floored: with K = 1 (b0 (K-1)/K = 0) an atom every patch uses would
            # give Beta(., 0), which numpy refuses.
            self.pi = rng.beta(np.maximum(_A0 / K + n_on, _BETA_FLOOR),
                               np.maximum(_B0 * (K - 1) / K + n - n_on, _BETA_FLOOR))
        if "gamma_s" not in self.hyper:
            self.gamma_s = rng.gamma(_C0 + 0.5 * n_on.sum(), 1.0 / (_D0 + 0.5 * self.ss_on.sum()))
        if "gamma_e" not in self.hyper:
            self.gamma_e = rng.gamma(_E0 + 0.5 * self.n_obs, 1.0 / (_F0 + 0.5 * sse))
            if t < self.burn_in:
                cap = _TEMPER_START * _TEMPER_GROWTH ** (t / self.burn_in)
                self.gamma_e = min(self.gamma_e, cap)
        self.stats = {
            "gamma_e": self.gamma_e,
            "gamma_s": self.gamma_s,
            "n_active": n_on.sum() / n,
            "loglik": 0.5 * (self.n_obs * np.log(self.gamma_e / (2 * np.pi)) + self.log_w
                             - self.gamma_e * sse),
        }



def _rng(key, stream):
    """Generator for the global (not per-patch) draws of one sweep."""
    return np.random.default_rng(np.random.SeedSequence([key, stream]))


def _atom_prior_precision(b, ell, P):
    """Precision ``P C^{-1}`` of one atom layer, ``(b*b, b*b)`` float64."""
    if ell == 0:
        return P * np.eye(b * b)
    u, v = np.divmod(np.arange(b * b), b)
    dist2 = (u[:, None] - u) ** 2 + (v[:, None] - v) ** 2
    cov = np.exp(-dist2 / (2.0 * ell**2)) + _NUGGET * np.eye(b * b)
    prec = P * np.linalg.inv(cov)
    return 0.5 * (prec + prec.T)


def _initial_dictionary(xn, obs, K, b, L, nr, nc, R, Y, rng):
    """Principal directions of the patches of a gap-filled image, then random atoms.

    ``R`` and ``Y`` are used as scratch.
    """
    F, H, W, _ = obs.shape
    filled = _fill_gaps(xn.reshape(F, H, W, L), obs).reshape(F, H, W * L)
    P = b * b * L
    empty_codes = np.zeros((1, R.shape[0]), np.float32)
    ones = np.ones_like(filled)
    patch_estimates(filled, ones, empty_codes, np.zeros((1, P), np.float32),
                          b, L, nr, nc, R, Y)
    sample = R[:: max(1, R.shape[0] // _INIT_PATCHES)].astype(np.float64)
    _, _, vt = np.linalg.svd(sample, full_matrices=False)
    D = rng.standard_normal((K, P)) / np.sqrt(P)
    m = min(K, vt.shape[0])
    D[:m] = vt[:m]
    return D.astype(np.float32)


def _fill_gaps(x, obs):
    """Normalised Gaussian convolution per frame and layer, widening until no hole is left."""
    out = np.empty(x.shape, np.float32)
    for f in range(x.shape[0]):
        for layer in range(x.shape[3]):
            m = obs[f, :, :, layer].astype(np.float64)
            v = np.where(obs[f, :, :, layer], x[f, :, :, layer], 0.0)
            sigma = max(1.0, 0.5 / np.sqrt(max(m.mean(), 1e-12)))
            while True:
                wsum = gaussian_filter(m, sigma, mode="reflect")
                if wsum.min() > 1e-8:
                    break
                sigma *= 2.0
            out[f, :, :, layer] = gaussian_filter(v, sigma, mode="reflect") / wsum
    return out



# Kernels (hyperspy_cs/bpfa/_kernels.py at a29d85b)

CHUNK = 256

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S24 = np.float32(1.0 / 16777216.0)
_S32 = 1.0 / 4294967296.0


@njit(inline="always", cache=True, nogil=True)
def _mix64(z):
    """splitmix64 finaliser: a bijective 64-bit hash with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=True, nogil=True)
def _draw(patch_key, counter):
    """64 random bits for draw number ``counter`` (uint64) of the patch ``patch_key``."""
    return _mix64(patch_key + counter * _GOLDEN)


@njit(inline="always", cache=True, nogil=True)
def _uniform24(bits):
    """Uniform in (0, 1) from the top 24 bits, exact in float32."""
    return (np.float32(bits >> np.uint64(40)) + np.float32(0.5)) * _S24


@njit(inline="always", cache=True, nogil=True)
def _normal(bits):
    """Standard normal from 64 random bits (Box-Muller on two 32-bit uniforms)."""
    u1 = (np.float64(bits >> np.uint64(32)) + 0.5) * _S32
    u2 = (np.float64(bits & _LOW32) + 0.5) * _S32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(inline="always", cache=True, nogil=True)
def _patch_corner(i, nr, nc):
    f = i // (nr * nc)
    rem = i - f * nr * nc
    r = rem // nc
    return f, r, rem - r * nc


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def patch_keys(key, n_frames, nr, nc, row0, col0):
    """Per-patch random keys from the run key and the global patch coordinates.

    Parameters
    ----------
    key : numpy.uint64
        Run key derived from the seed.
    n_frames, nr, nc : int
        Frames and patch-grid size of this block.
    row0, col0 : int
        Global row / column of this block's first patch (the ``origin``).

    Returns
    -------
    numpy.ndarray of uint64, shape (n_frames * nr * nc,)
    """
    out = np.empty(n_frames * nr * nc, dtype=np.uint64)
    for fr in prange(n_frames * nr):
        f = fr // nr
        r = fr - f * nr
        hf = _mix64(key + np.uint64(f + 1) * _GOLDEN)
        hr = _mix64(hf + np.uint64(r + row0 + 1) * _GOLDEN)
        for c in range(nc):
            out[fr * nc + c] = _mix64(hr + np.uint64(c + col0 + 1) * _GOLDEN)
    return out


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def patch_estimates(x, mask, ZS, D, b, n_layers, nr, nc, R, Y):
    """Patch estimates ``Y_i = D^T zs_i`` and the masked residual, from scratch.

    ``R_i = m_i * (x_i - Y_i)``. Recomputing ``R`` also removes the float32 round-off
    that the incremental per-atom updates accumulate.

    Parameters
    ----------
    x, mask : numpy.ndarray, float32, shape (F, H, W * L)
        Normalised data (finite everywhere, unread where unobserved) and the mask.
    ZS : numpy.ndarray, float32, shape (K, n)
    D : numpy.ndarray, float32, shape (K, P)
    b, n_layers, nr, nc : int
        Patch side, layers and patch-grid size.
    R, Y : numpy.ndarray, float32, shape (n, P)
        Outputs, overwritten.
    """
    K, P = D.shape
    n = R.shape[0]
    bl = b * n_layers
    for ch in prange((n + CHUNK - 1) // CHUNK):
        i0 = ch * CHUNK
        i1 = min(n, i0 + CHUNK)
        Y[i0:i1, :] = 0.0
        # atom-major inside the chunk so that ZS[k, i0:i1] is read contiguously
        for k in range(K):
            for i in range(i0, i1):
                a = ZS[k, i]
                if a != 0.0:
                    for p in range(P):
                        Y[i, p] += a * D[k, p]
        for i in range(i0, i1):
            f, r, c = _patch_corner(i, nr, nc)
            col = c * n_layers
            for u in range(b):
                for q in range(bl):
                    p = u * bl + q
                    if mask[f, r + u, col + q] != 0.0:
                        R[i, p] = x[f, r + u, col + q] - Y[i, p]
                    else:
                        R[i, p] = 0.0


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def masked_sq_norms(mask, D2wT, b, n_layers, nr, nc, out):
    """``out[k, i] = sum_p m_ip w_p d_kp^2`` for every atom and patch in one pass.

    Only the observed entries of a patch are visited, each adding a whole row of
    ``D2wT`` (all atoms at once, vectorised): the cost scales with the sampling rate.

    Parameters
    ----------
    mask : numpy.ndarray, float32, shape (F, H, W * L)
    D2wT : numpy.ndarray, float32, shape (P, K)
        ``w_p * d_kp ** 2``, entry-major.
    b, n_layers, nr, nc : int
    out : numpy.ndarray, float32, shape (K, n)
    """
    P, K = D2wT.shape
    n = out.shape[1]
    bl = b * n_layers
    for ch in prange((n + CHUNK - 1) // CHUNK):
        acc = np.empty(K, dtype=np.float32)
        for i in range(ch * CHUNK, min(n, ch * CHUNK + CHUNK)):
            f, r, c = _patch_corner(i, nr, nc)
            col = c * n_layers
            acc[:] = 0.0
            for u in range(b):
                for q in range(bl):
                    if mask[f, r + u, col + q] != 0.0:
                        row = D2wT[u * bl + q]
                        for k in range(K):
                            acc[k] += row[k]
            for k in range(K):
                out[k, i] = acc[k]


@njit(inline="always", cache=True, nogil=True)
def _sample_atom(prec_sum, mean_sum, prior_prec, gamma_e, wl, eps_k, n_layers, d_out):
    """Draw one atom from its Gaussian conditional, one layer at a time.

    The prior precision couples the ``b * b`` entries of a layer (smoothness) but not
    the layers, and the likelihood is diagonal, so the posterior precision is
    block-diagonal by layer: ``Lambda_l = Q + diag(gamma_e w_l A_p)``. The draw is
    ``d = Lambda^{-1} (gamma_e w B) + Lambda^{-1/2} eps`` through the Cholesky factor
    ``Lambda = C C^T``: ``d = C^{-T} (C^{-1} (gamma_e w B) + eps)``.
    """
    bb = prior_prec.shape[0]
    lam = np.empty((bb, bb))
    y = np.empty(bb)
    for layer in range(n_layers):
        g = gamma_e * wl[layer]
        lam[:, :] = prior_prec
        for j in range(bb):
            p = j * n_layers + layer
            lam[j, j] += g * prec_sum[p]
            y[j] = g * mean_sum[p]
        chol = np.linalg.cholesky(lam)
        for j in range(bb):  # forward substitution: C^{-1} (g B)
            s = y[j]
            for m in range(j):
                s -= chol[j, m] * y[m]
            y[j] = s / chol[j, j]
        for j in range(bb):
            y[j] += eps_k[j * n_layers + layer]
        for j in range(bb - 1, -1, -1):  # back substitution: C^{-T} (...)
            s = y[j]
            for m in range(j + 1, bb):
                s -= chol[m, j] * y[m]
            y[j] = s / chol[j, j]
        for j in range(bb):
            d_out[j * n_layers + layer] = np.float32(y[j])


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def gibbs_sweep(R, ZS, D, wl, mask, DTD, keys, counter0, logit_pi, gamma_s, gamma_e,
                eps, learn_dictionary, prior_prec, b, n_layers, nr, nc, n_on, ss_on):
    """One Gibbs sweep over the atoms: z, s for every patch, then d_k, then ``R``.

    For atom ``k``, with ``R^{-k}_i = R_i + m_i d_k zs_ik`` (the residual without the
    atom), ``DTR = w d_k . R^{-k}_i = w d_k . R_i + zs_ik DTD_ik``, so the atom never has
    to be added back to ``R`` explicitly. ``z_ik`` is drawn with ``s_ik`` integrated
    out (its marginal likelihood ratio), then ``s_ik`` from its Gaussian conditional.
    The sufficient statistics of ``d_k`` (per entry: ``sum_i m_ip zs_ik^2`` and
    ``sum_i zs_ik R^{-k}_ip``) are accumulated in the same pass, per chunk. A second
    pass applies ``R_i += m_i (d_k^old zs_ik^old - d_k^new zs_ik^new)`` only to the
    patches where the atom was or is on.

    Parameters
    ----------
    R : numpy.ndarray, float32, shape (n, P)
        Masked residual, updated in place.
    ZS : numpy.ndarray, float32, shape (K, n)
        Codes ``z * s``, updated in place.
    D : numpy.ndarray, float32, shape (K, P)
        Dictionary, updated in place when ``learn_dictionary``.
    wl : numpy.ndarray, float64, shape (L,)
        Noise-precision weight of each layer.
    mask : numpy.ndarray, float32, shape (F, H, W * L)
    DTD : numpy.ndarray, float32, shape (K, n)
        ``sum_p m_ip w_p d_kp^2`` for the dictionary at the start of the sweep (an
        atom's own column only changes after its codes are drawn).
    keys : numpy.ndarray, uint64, shape (n,)
        Per-patch random keys (:func:`patch_keys`).
    counter0 : numpy.uint64
        First counter of this sweep; atom ``k`` uses ``counter0 + 2k`` and ``+ 1``.
    logit_pi : numpy.ndarray, float32, shape (K,)
        ``log(pi_k / (1 - pi_k))``.
    gamma_s, gamma_e : float
        Coefficient and noise precisions.
    eps : numpy.ndarray, float64, shape (K, P)
        Standard normals for the dictionary draws (unused without learning).
    learn_dictionary : bool
    prior_prec : numpy.ndarray, float64, shape (b * b, b * b)
        Prior precision of one layer of an atom (``P * I`` for independent entries).
    b, n_layers, nr, nc : int
    n_on : numpy.ndarray, int64, shape (K,)
        Output: number of patches using each atom after the sweep.
    ss_on : numpy.ndarray, float64, shape (K,)
        Output: sum of ``s_ik ** 2`` over the patches using each atom.
    """
    K, P = D.shape
    n = R.shape[0]
    bl = b * n_layers
    n_chunks = (n + CHUNK - 1) // CHUNK
    acc_prec = np.zeros((n_chunks, P))
    acc_mean = np.zeros((n_chunks, P))
    cnt = np.empty(n_chunks, dtype=np.int64)
    ssq = np.empty(n_chunks)
    prev = np.empty(n, dtype=np.float32)
    d_old = np.empty(P, dtype=np.float32)
    d_new = np.empty(P, dtype=np.float32)
    dw = np.empty(P, dtype=np.float32)
    prec_sum = np.empty(P)
    mean_sum = np.empty(P)
    gs = np.float32(gamma_s)
    ge = np.float32(gamma_e)
    half = np.float32(0.5)
    one = np.float32(1.0)
    for k in range(K):
        for p in range(P):
            d_old[p] = D[k, p]
            dw[p] = d_old[p] * np.float32(wl[p % n_layers])
        lp = logit_pi[k]
        ctr = counter0 + np.uint64(2 * k)
        for ch in prange(n_chunks):
            c_on = 0
            s_on = 0.0
            for i in range(ch * CHUNK, min(n, ch * CHUNK + CHUNK)):
                old = ZS[k, i]
                prev[i] = old
                dtd = DTD[k, i]
                dtr = np.float32(0.0)
                for p in range(P):
                    dtr += dw[p] * R[i, p]
                dtr += old * dtd
                prec = gs + ge * dtd
                mu = ge * dtr / prec
                logit = lp + half * (np.log(gs / prec) + mu * mu * prec)
                u = _uniform24(_draw(keys[i], ctr))
                # u < sigmoid(logit), written to never overflow exp
                if logit >= 0.0:
                    on = u * (one + np.exp(-logit)) < one
                else:
                    e = np.exp(logit)
                    on = u * (one + e) < e
                new = np.float32(0.0)
                if on:
                    z = _normal(_draw(keys[i], ctr + np.uint64(1)))
                    new = mu + np.float32(z) / np.sqrt(prec)
                ZS[k, i] = new
                if new != 0.0:
                    c_on += 1
                    s_on += new * new
                    if learn_dictionary:
                        f, r, c = _patch_corner(i, nr, nc)
                        col = c * n_layers
                        for uu in range(b):
                            for q in range(bl):
                                p = uu * bl + q
                                if mask[f, r + uu, col + q] != 0.0:
                                    acc_prec[ch, p] += new * new
                                    acc_mean[ch, p] += new * (R[i, p] + d_old[p] * old)
            cnt[ch] = c_on
            ssq[ch] = s_on
        n_on[k] = 0
        ss_on[k] = 0.0
        for ch in range(n_chunks):
            n_on[k] += cnt[ch]
            ss_on[k] += ssq[ch]
        if learn_dictionary:
            prec_sum[:] = 0.0
            mean_sum[:] = 0.0
            for ch in range(n_chunks):
                for p in range(P):
                    prec_sum[p] += acc_prec[ch, p]
                    mean_sum[p] += acc_mean[ch, p]
            acc_prec[:, :] = 0.0
            acc_mean[:, :] = 0.0
            _sample_atom(prec_sum, mean_sum, prior_prec, gamma_e, wl, eps[k], n_layers, d_new)
            D[k, :] = d_new
        else:
            d_new[:] = d_old
        for ch in prange(n_chunks):
            for i in range(ch * CHUNK, min(n, ch * CHUNK + CHUNK)):
                old = prev[i]
                new = ZS[k, i]
                if old != 0.0 or new != 0.0:
                    f, r, c = _patch_corner(i, nr, nc)
                    col = c * n_layers
                    for uu in range(b):
                        for q in range(bl):
                            if mask[f, r + uu, col + q] != 0.0:
                                p = uu * bl + q
                                R[i, p] += d_old[p] * old - d_new[p] * new


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def weighted_sq_sum(R, wl):
    """``sum_i sum_p w_p R_ip^2`` in float64, summed in chunk order (deterministic)."""
    n, P = R.shape
    n_layers = wl.shape[0]
    n_chunks = (n + CHUNK - 1) // CHUNK
    part = np.empty(n_chunks)
    for ch in prange(n_chunks):
        s = 0.0
        for i in range(ch * CHUNK, min(n, ch * CHUNK + CHUNK)):
            for p in range(P):
                s += wl[p % n_layers] * R[i, p] * R[i, p]
        part[ch] = s
    total = 0.0
    for ch in range(n_chunks):
        total += part[ch]
    return total


@njit(cache=True, nogil=True, parallel=True, fastmath=True)
def aggregate_patches(Y, b, n_layers, nr, nc, trim, out):
    """Robust average of the overlapping patch estimates at every pixel.

    The up to ``b * b`` estimates of an entry are sorted and the ``floor(trim * count)``
    lowest and highest dropped before averaging (``trim=0`` is the plain mean). Each
    output row gathers from the patches covering it, so threads never write to the
    same place; pixels near the border are covered by fewer patches.

    Parameters
    ----------
    Y : numpy.ndarray, float32, shape (n, P)
        Patch estimates.
    b, n_layers, nr, nc : int
    trim : float
        Fraction trimmed from each end, in [0, 0.5).
    out : numpy.ndarray, float64, shape (F, H, W * L)
        Output, overwritten.
    """
    F, H, WL = out.shape
    bl = b * n_layers
    for fy in prange(F * H):
        f = fy // H
        y = fy - f * H
        r_lo = max(0, y - b + 1)
        r_hi = min(y, nr - 1)
        vals = np.empty(b * b, dtype=np.float32)
        for j in range(WL):
            x = j // n_layers
            layer = j - x * n_layers
            c_lo = max(0, x - b + 1)
            c_hi = min(x, nc - 1)
            m = 0
            for r in range(r_lo, r_hi + 1):
                base = (f * nr + r) * nc
                row = (y - r) * bl + layer
                for c in range(c_lo, c_hi + 1):
                    vals[m] = Y[base + c, row + (x - c) * n_layers]
                    m += 1
            cut = int(trim * m)
            if cut > 0:
                vals[:m] = np.sort(vals[:m])
            s = 0.0
            for t in range(cut, m - cut):
                s += vals[t]
            out[f, y, j] = s / (m - 2 * cut)
