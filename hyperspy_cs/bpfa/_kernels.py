"""Numba kernels of the BPFA Gibbs sampler: the CPU backend's arithmetic.

The model and the order of the updates are described in ``_engine``; the interface
these kernels serve is ``_backend.CPUBackend``.

Layout shared by every kernel
-----------------------------
- Images are ``(F, H, W * L)`` float32: the column and layer axes are merged so that
  one patch row of ``b`` pixels x ``L`` layers is ``b * L`` contiguous entries. The
  image-sized ``mask`` (1.0 = observed) has this layout, and the data are 0 where
  unobserved. A patch's observed entries are gathered from them when the patch is
  visited: nothing of size ``patches x entries`` is ever stored, only the observed
  entries (below).
- The patches lie on a grid: patch ``i = (f * nr + r) * nc + c`` has its top-left
  corner at row ``rows_at[r]`` and merged column ``cols_at[c] * L`` of frame ``f``
  (``rows_at``, ``cols_at`` increasing int64 pixel offsets, ``nr``/``nc`` long;
  ``hyperspy_cs._patch_grid``). At stride 1 they are every overlapping patch. Its entry
  ``p = u * (b * L) + q`` is image row ``r + u``, merged column ``c * L + q``: the
  C-order flattening of a ``(b, b, L)`` patch, so ``P = b * b * L`` and the layer of
  entry ``p`` is ``p % L``.
- The dictionary is ``Db`` ``(K / BLOCK, P, BLOCK)`` float32: blocks of ``BLOCK``
  atoms, entry-major within a block, so that one observed entry of a patch gives
  the next ``BLOCK`` atoms' values as one contiguous vector indexed from 0 (numba's
  negative-index handling keeps loops over offset indices from vectorising). ``K``
  is padded to a multiple of ``BLOCK`` with atoms of zeros that ``pi = 0`` keeps
  unused. Of 16, 32 and 64, ``BLOCK = 32`` gave the fastest code sweep on the
  camera and spectral cases of ``benchmarks/bench_bpfa_sweep.py`` and tied on its
  large-patch case (a one-off comparison of the kernel compiled at each width, not
  a script of the repository).
- Codes ``z * s`` are ``ZS`` ``(n, K)`` float32 (``z = ZS != 0``), patch-major; the
  dictionary update reads them compressed (``act_ptr``, ``act_idx``, ``act_val``: the
  non-zero codes of patch ``i`` are ``act_ptr[i]:act_ptr[i + 1]``).
- Patches are processed in fixed chunks of ``CHUNK`` whatever the thread count, and
  every reduction over patches goes through per-chunk partial sums added in chunk
  order (or is owned by one atom or row): results are bit-identical for any number
  of threads.
- The observed entries of every patch and their residuals are kept as CSR
  (``obs_ptr``, ``obs_ent``, ``obs_res``: patch ``i``'s are
  ``obs_ptr[i]:obs_ptr[i + 1]``, in entry order) by the code sweep when the
  dictionary is learned: the dictionary update reads them by atom.

Random numbers come from a counter-based generator (the splitmix64 finaliser) applied
to ``patch_key + counter * golden``, where the patch key hashes the run key with the
patch's GLOBAL pixel coordinate ``(frame, row + origin_row, col + origin_col)``: a patch
draws the same numbers whichever tile or thread processes it. The dictionary's
normals are keyed on ``(run key, atom)`` the same way.
"""

import numpy as np
from numba import njit, prange

from .._jit import PARALLEL_FAST, SERIAL, SERIAL_FAST

CHUNK = 256
# Atoms whose correlations with a patch's residual are computed together (see above).
BLOCK = 32

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S24 = np.float32(1.0 / 16777216.0)
_S32 = 1.0 / 4294967296.0
# Domain separation of the dictionary's random stream from the patches' streams.
_DICT_STREAM = np.uint64(0xD1C7D1C7D1C7D1C7)


@njit(inline="always", **SERIAL)
def _mix64(z):
    """splitmix64 finaliser: a bijective 64-bit hash with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", **SERIAL)
def _draw(patch_key, counter):
    """64 random bits for draw number ``counter`` (uint64) of the patch ``patch_key``."""
    return _mix64(patch_key + counter * _GOLDEN)


@njit(inline="always", **SERIAL)
def _uniform24(bits):
    """Uniform in (0, 1) from the top 24 bits, exact in float32 (and so is 1 - u)."""
    return (np.float32(bits >> np.uint64(40)) + np.float32(0.5)) * _S24


@njit(inline="always", **SERIAL)
def _normal(bits):
    """Standard normal from 64 random bits (Box-Muller on two 32-bit uniforms)."""
    u1 = (np.float64(bits >> np.uint64(32)) + 0.5) * _S32
    u2 = (np.float64(bits & _LOW32) + 0.5) * _S32
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(inline="always", **SERIAL)
def _patch_corner(i, nr, nc):
    f = i // (nr * nc)
    rem = i - f * nr * nc
    r = rem // nc
    return f, r, rem - r * nc


@njit(**SERIAL)
def patch_keys(key, n_frames, rows_at, cols_at, row0, col0):
    """Per-patch random keys from the run key and the global patch coordinates.

    Parameters
    ----------
    key : numpy.uint64
        Run key derived from the seed.
    n_frames : int
        Frames of this block.
    rows_at, cols_at : numpy.ndarray, int64, shape (nr,), (nc,)
        The patch grid (see the module docstring).
    row0, col0 : int
        Global row / column of this block's first pixel (the ``origin``).

    Returns
    -------
    numpy.ndarray of uint64, shape (n_frames * nr * nc,)
    """
    nr, nc = rows_at.size, cols_at.size
    out = np.empty(n_frames * nr * nc, dtype=np.uint64)
    for fr in range(n_frames * nr):
        f = fr // nr
        r = fr - f * nr
        hf = _mix64(key + np.uint64(f + 1) * _GOLDEN)
        hr = _mix64(hf + np.uint64(rows_at[r] + row0 + 1) * _GOLDEN)
        for c in range(nc):
            out[fr * nc + c] = _mix64(hr + np.uint64(cols_at[c] + col0 + 1) * _GOLDEN)
    return out


@njit(**PARALLEL_FAST)
def code_sweep(x, mask, ZS, Db, wl, keys, counter0, logit_pi, gamma_s, gamma_e, b,
               n_layers, rows_at, cols_at, n_on, ss_on, sse, n_act, obs_ptr, obs_ent, obs_res):
    """Draw every patch's codes ``z_i, s_i`` given the dictionary: one pass, patch-major.

    For patch ``i`` with observed entries ``M_i``, its residual ``r_i`` is computed from
    scratch (no round-off carries over between sweeps). The atoms are then drawn in
    turn while the patch sits in cache, a block of ``BLOCK`` atoms at a time: one
    vectorised pass over the observed entries gives the block's masked norms
    ``dtd_k = d_k^T W M_i d_k`` and correlations ``d_k^T W M_i r_i``. With ``dtr =
    d_k^T W M_i r_i + zs_k dtd_k`` (the correlation with the residual without atom
    ``k``), ``prec = gamma_s + gamma_e dtd_k`` and ``mu = gamma_e dtr / prec``,
    ``z_ik`` is drawn with ``s_ik`` integrated out,

        P(z = 1) = sigmoid(logit pi_k + log(gamma_s / prec) / 2 + mu^2 prec / 2),

    as ``exp(mu^2 prec / 2) > u / (1 - u) sqrt(prec / gamma_s) (1 - pi_k) / pi_k`` for
    a uniform ``u``: the right side does not depend on the residual, so it is
    computed for the whole block before its sequential part, which needs ``exp``
    only for the few atoms near switching on (a lower bound of ``log q`` decides the
    others: numba has no vector maths library here). Then ``s_ik`` is drawn from
    ``N(mu, 1 / prec)``; when the code changed, the residual and the block's
    correlations get a rank-one update. The cost follows the observed entries, not
    the patch size.

    Parameters
    ----------
    x, mask : numpy.ndarray, float32, shape (F, H, W * L)
        Normalised data (0 where unobserved) and the mask.
    ZS : numpy.ndarray, float32, shape (n, K)
        Codes, updated in place (``K`` a multiple of ``BLOCK``).
    Db : numpy.ndarray, float32, shape (K / BLOCK, P, BLOCK)
        Dictionary in blocks of atoms, entry-major within a block (see the module
        docstring).
    wl : numpy.ndarray, float32, shape (L,)
        Noise-precision weight of each layer.
    keys : numpy.ndarray, uint64, shape (n,)
        Per-patch random keys (:func:`patch_keys`).
    counter0 : numpy.uint64
        First counter of this sweep: the uniforms of atoms ``2j`` and ``2j + 1`` come
        from draw ``counter0 + j``, the normal of atom ``k`` from ``counter0 + K + k``.
    logit_pi : numpy.ndarray, float32, shape (K,)
        ``log(pi_k / (1 - pi_k))`` (``+-inf`` for ``pi`` of 1 or 0).
    gamma_s, gamma_e : float
        Coefficient and noise precisions.
    b, n_layers : int
        Patch side and layers.
    rows_at, cols_at : numpy.ndarray, int64, shape (nr,), (nc,)
        The patch grid (see the module docstring).
    n_on : numpy.ndarray, int64, shape (n_chunks, K)
        Output: patches of each chunk using each atom after the sweep.
    ss_on : numpy.ndarray, float64, shape (n_chunks, K)
        Output: sum of ``s_ik ** 2`` of each chunk's patches using each atom.
    sse : numpy.ndarray, float64, shape (n_chunks, L)
        Output: ``sum_i sum_p m_ip r_ip^2`` of each chunk and layer (unweighted), after
        its codes were drawn: the data of each layer's noise precision.
    n_act : numpy.ndarray, int64, shape (n,)
        Output: number of atoms each patch uses.
    obs_ptr : numpy.ndarray, int64, shape (n + 1,) or (0,)
        Offsets of each patch's observed entries in ``obs_ent`` and ``obs_res``
        (the cumulative sum of their numbers, ``_patch_grid.box_sums``); empty: the residuals are
        not kept.
    obs_ent : numpy.ndarray, int32, shape (obs_ptr[-1],)
        Output: the observed entries of each patch, in increasing order.
    obs_res : numpy.ndarray, float32, shape (obs_ptr[-1],)
        Output: their residuals after the patch's codes were drawn (what the
        dictionary update starts from, :func:`draw_atoms`).
    """
    n, K = ZS.shape
    nr, nc = rows_at.size, cols_at.size
    keep = obs_ptr.size > 0
    # The block width is read at run time: a compile-time constant would let LLVM
    # unroll the loops over a block into scalar code (it cannot prove that the
    # accumulators do not alias the dictionary), a run-time one gets them vectorised
    # behind an alias check.
    n_blocks, P, width = Db.shape
    bl = b * n_layers
    n_chunks = (n + CHUNK - 1) // CHUNK
    gs = np.float32(gamma_s)
    ge = np.float32(gamma_e)
    half = np.float32(0.5)
    one = np.float32(1.0)
    # (1 - pi) / pi: inf for pi = 0 (never on), 0 for pi = 1 (always on)
    inv_odds = np.empty(K, dtype=np.float32)
    for k in range(K):
        inv_odds[k] = np.float32(np.exp(-np.float64(logit_pi[k])))
    for ch in prange(n_chunks):
        ent = np.empty(P, dtype=np.int64)
        xv = np.empty(P, dtype=np.float32)
        wv = np.empty(P, dtype=np.float32)
        res = np.empty(P, dtype=np.float32)
        wres = np.empty(P, dtype=np.float32)
        dtd = np.empty(width, dtype=np.float32)
        inv_prec = np.empty(width, dtype=np.float32)
        sd = np.empty(width, dtype=np.float32)
        thr = np.empty(width, dtype=np.float32)
        bound = np.empty(width, dtype=np.float32)
        acc = np.empty(width, dtype=np.float32)
        cnt = np.zeros(K, dtype=np.int64)
        ssq = np.zeros(K)
        s_sse = np.zeros(n_layers)
        for i in range(ch * CHUNK, min(n, ch * CHUNK + CHUNK)):
            f, r, c = _patch_corner(i, nr, nc)
            r = rows_at[r]
            col = cols_at[c] * n_layers
            m = 0
            for u in range(b):
                for v in range(b):
                    for layer in range(n_layers):
                        # branch-free compaction of the observed entries
                        q = v * n_layers + layer
                        ent[m] = u * bl + q
                        xv[m] = x[f, r + u, col + q]
                        wv[m] = wl[layer]
                        m += mask[f, r + u, col + q] != 0.0
            for j in range(m):
                res[j] = 0.0
            for k in range(K):
                v = ZS[i, k]
                if v != 0.0:
                    blk = k // width
                    t = k - blk * width
                    for j in range(m):
                        res[j] += v * Db[blk, ent[j], t]
            for j in range(m):
                res[j] = xv[j] - res[j]
            for j in range(m):
                wres[j] = wv[j] * res[j]
            key = keys[i]
            for blk in range(n_blocks):
                # masked norms and correlations of a block of atoms, one pass over the
                # observed entries with the block's values in one vector
                for t in range(width):
                    acc[t] = 0.0
                    dtd[t] = 0.0
                for j in range(m):
                    e = ent[j]
                    w = wres[j]
                    wd = wv[j]
                    for t in range(width):
                        d = Db[blk, e, t]
                        acc[t] += w * d
                        dtd[t] += wd * d * d
                for t in range(width):
                    k = blk * width + t
                    pk = gs + ge * dtd[t]
                    inv_prec[t] = one / pk
                    sd[t] = one / np.sqrt(pk)
                    bits = _draw(key, counter0 + np.uint64(k // 2))
                    u = _uniform24(bits << np.uint64(24 * (k % 2)))
                    # on iff u < sigmoid(logit pi + log(gs / prec) / 2 + h), i.e. exp(h) > q
                    q = u / (one - u) * np.sqrt(pk / gs) * inv_odds[k]
                    thr[t] = q
                    # log q >= 2 s + 2 s^3 / 3 with s = (q - 1) / (q + 1) when q >= 1
                    sq = one - np.float32(2.0) / (q + one)
                    bound[t] = np.float32(2.0) * sq + np.float32(2.0 / 3.0) * sq * sq * sq
                for t in range(width):
                    k = blk * width + t
                    old = ZS[i, k]
                    dtr = acc[t] + old * dtd[t]
                    mu = ge * dtr * inv_prec[t]
                    h = half * ge * dtr * mu
                    new = np.float32(0.0)
                    if h >= bound[t] and np.exp(h) > thr[t]:
                        z = _normal(_draw(key, counter0 + np.uint64(K + k)))
                        new = mu + np.float32(z) * sd[t]
                        cnt[k] += 1
                        ssq[k] += new * new
                    if new != old:
                        delta = new - old
                        ZS[i, k] = new
                        for j in range(m):
                            e = ent[j]
                            a = delta * Db[blk, e, t]
                            res[j] -= a
                            wa = wv[j] * a
                            wres[j] -= wa
                            # the whole block, though its atoms up to t are done: a
                            # loop over all of it vectorises, one starting at t + 1
                            # does not (measured 1.6x slower)
                            for t2 in range(width):
                                acc[t2] -= wa * Db[blk, e, t2]
            total = 0
            for k in range(K):
                total += ZS[i, k] != 0.0
            n_act[i] = total
            for j in range(m):
                # an entry's layer is the last digit of its (row, col, layer) index
                s_sse[ent[j] % n_layers] += res[j] * res[j]
            if keep:
                o = obs_ptr[i]
                for j in range(m):
                    obs_ent[o + j] = ent[j]
                    obs_res[o + j] = res[j]
        for k in range(K):
            n_on[ch, k] = cnt[k]
            ss_on[ch, k] = ssq[k]
        for layer in range(n_layers):
            sse[ch, layer] = s_sse[layer]


@njit(**PARALLEL_FAST)
def compress_codes(ZS, act_ptr, act_idx, act_val):
    """The non-zero codes of every patch, in atom order (``act_ptr`` from ``n_act``).

    Parameters
    ----------
    ZS : numpy.ndarray, float32, shape (n, K)
    act_ptr : numpy.ndarray, int64, shape (n + 1,)
        Offsets: the cumulative sum of the number of atoms each patch uses.
    act_idx : numpy.ndarray, int64, shape (act_ptr[-1],)
        Output: atom indices.
    act_val : numpy.ndarray, float32, shape (act_ptr[-1],)
        Output: codes.
    """
    n, K = ZS.shape
    for i in prange(n):
        a = act_ptr[i]
        for k in range(K):
            v = ZS[i, k]
            if v != 0.0:
                act_idx[a] = k
                act_val[a] = v
                a += 1


@njit(**SERIAL)
def codes_by_atom(act_ptr, act_idx, act_val, atom_ptr, atom_patch, atom_val):
    """The compressed codes grouped by atom: the patches using atom ``k`` (in
    increasing order) and their codes are ``atom_ptr[k]:atom_ptr[k + 1]``.

    Parameters
    ----------
    act_ptr, act_idx, act_val : numpy.ndarray
        Compressed codes (:func:`compress_codes`).
    atom_ptr : numpy.ndarray, int64, shape (K + 1,)
        Output: offsets.
    atom_patch : numpy.ndarray, int64, shape (act_ptr[-1],)
        Output: patch indices.
    atom_val : numpy.ndarray, float32, shape (act_ptr[-1],)
        Output: codes.
    """
    K = atom_ptr.size - 1
    for k in range(K + 1):
        atom_ptr[k] = 0
    for a in range(act_idx.size):
        atom_ptr[act_idx[a] + 1] += 1
    for k in range(K):
        atom_ptr[k + 1] += atom_ptr[k]
    fill = atom_ptr[:K].copy()
    for i in range(act_ptr.size - 1):
        for a in range(act_ptr[i], act_ptr[i + 1]):
            k = act_idx[a]
            atom_patch[fill[k]] = i
            atom_val[fill[k]] = act_val[a]
            fill[k] += 1


# Fixed parts of the patches whose sums in atom_usage run in parallel (any thread count).
USAGE_PARTS = 8


@njit(**PARALLEL_FAST)
def atom_usage(act_ptr, act_idx, act_val, obs_ptr, obs_ent, partial, usage):
    """``usage[k, p] = sum_i m_ip zs_ik^2``: the data term of atom ``k``'s precision.

    Patch-major: each patch's observed entries are read once, for all the atoms it
    uses. Read atom by atom, they were read once per atom, and the sums took 1.6x
    as long on a 256 x 256 image at 20 % (b = 8) and 4x at 512 x 512, where the
    entries no longer stay in cache (measured on the kernels' own arrays). The
    patches are split into ``USAGE_PARTS`` fixed parts, each summed into its own
    ``(K, P)`` partial, and the partials are added in part order: bit-identical for
    any number of threads.

    Parameters
    ----------
    act_ptr, act_idx, act_val : numpy.ndarray
        Compressed codes (:func:`compress_codes`).
    obs_ptr, obs_ent : numpy.ndarray
        Observed entries of each patch (:func:`code_sweep`).
    partial : numpy.ndarray, float64, shape (USAGE_PARTS, K, P)
        Scratch.
    usage : numpy.ndarray, float64, shape (K, P)
        Output.
    """
    n_parts, K, P = partial.shape
    n = act_ptr.size - 1
    for part in prange(n_parts):
        acc = partial[part]
        for k in range(K):
            for p in range(P):
                acc[k, p] = 0.0
        for i in range(part * n // n_parts, (part + 1) * n // n_parts):
            o0, o1 = obs_ptr[i], obs_ptr[i + 1]
            for a in range(act_ptr[i], act_ptr[i + 1]):
                v = np.float64(act_val[a])
                row = acc[act_idx[a]]
                for o in range(o0, o1):
                    row[obs_ent[o]] += v * v
    for k in prange(K):
        for p in range(P):
            s = 0.0
            for part in range(n_parts):
                s += partial[part, k, p]
            usage[k, p] = s


@njit(**PARALLEL_FAST)
def atom_factors(usage, atoms, prior_prec, prior_scale, gamma_e, wl, chol):
    """Cholesky factors of the conditional precision of the atoms ``atoms``, per layer.

    The prior precision couples the ``b * b`` entries of a layer (smoothness) but not
    the layers, and the likelihood is diagonal, so the precision of atom ``k`` given
    the codes is block-diagonal by layer: ``Lambda_kl = a_l Q + gamma_e w_l
    diag(usage[k, p])`` over the entries ``p`` of layer ``l``. It does not depend on the other
    atoms, so all factors are computed in parallel before the sequential draws.

    Parameters
    ----------
    usage : numpy.ndarray, float64, shape (K, P)
        :func:`atom_usage`.
    atoms : numpy.ndarray, int64, shape (A,)
        The atoms to factor.
    prior_prec : numpy.ndarray, float64, shape (b * b, b * b)
        ``Q``.
    prior_scale : numpy.ndarray, float64, shape (L,)
        ``a_l``, the scale of each layer's prior precision.
    gamma_e : float
    wl : numpy.ndarray, float64, shape (L,)
    chol : numpy.ndarray, float64, shape (A, L, b * b, b * b)
        Output: lower factors.
    """
    n_layers = wl.shape[0]
    bb = prior_prec.shape[0]
    for t in prange(atoms.shape[0] * n_layers):
        a = t // n_layers
        layer = t - a * n_layers
        k = atoms[a]
        C = chol[a, layer]
        scale = prior_scale[layer]
        for j in range(bb):
            for j2 in range(bb):
                C[j, j2] = scale * prior_prec[j, j2]
        g = gamma_e * wl[layer]
        for j in range(bb):
            C[j, j] += g * usage[k, j * n_layers + layer]
        _cholesky(C)


@njit(**SERIAL_FAST)
def _cholesky(a):
    """Lower Cholesky factor of the symmetric positive-definite ``a``, in place.

    Row-oriented Cholesky-Crout: every inner product is over two contiguous rows
    (vectorised). Written here rather than with ``np.linalg.cholesky``: numba's
    binding made :func:`atom_factors` take 10 s to compile (against 2 s now), and at
    these sizes (``b * b`` up to a few hundred) this one runs faster. The strict
    upper triangle is set to 0.
    """
    n = a.shape[0]
    for j in range(n):
        rj = a[j]
        s = rj[j]
        for t in range(j):
            s -= rj[t] * rj[t]
        d = np.sqrt(s)
        rj[j] = d
        for i in range(j + 1, n):
            ri = a[i]
            s = ri[j]
            for t in range(j):
                s -= ri[t] * rj[t]
            ri[j] = s / d
        rj[j + 1:] = 0.0


# Chunks of an atom's patches from which its sums in draw_atoms run in parallel.
PARALLEL_CHUNKS = 4


# Explicit signatures: each helper is called from a parallel and a serial loop, and
# inlined into both it made draw_atoms compile for a second longer.
@njit("void(float64[::1], int64, int64, int64[::1], float32[::1], int64[::1], int32[::1], "
      "float32[::1])", **SERIAL_FAST)
def _correlate_chunk(part, q0, q1, atom_patch, atom_val, obs_ptr, obs_ent, obs_res):
    """``part[p] = sum zs r`` over the patches ``atom_patch[q0:q1]`` observing ``p``."""
    for p in range(part.size):
        part[p] = 0.0
    for q in range(q0, q1):
        i = atom_patch[q]
        v = np.float64(atom_val[q])
        for o in range(obs_ptr[i], obs_ptr[i + 1]):
            part[obs_ent[o]] += v * obs_res[o]


@njit("void(float32[::1], int64, int64, int64[::1], float32[::1], int64[::1], int32[::1], "
      "float32[::1])", **SERIAL_FAST)
def _update_chunk(delta, q0, q1, atom_patch, atom_val, obs_ptr, obs_ent, obs_res):
    """Subtract ``zs delta`` from the residuals of the patches ``atom_patch[q0:q1]``."""
    for q in range(q0, q1):
        i = atom_patch[q]
        v = atom_val[q]
        for o in range(obs_ptr[i], obs_ptr[i + 1]):
            obs_res[o] -= v * delta[obs_ent[o]]


@njit(**PARALLEL_FAST)
def draw_atoms(Db, atoms, chol, prior, usage, gamma_e, wl, key, counter, atom_ptr, atom_patch,
               atom_val, obs_ptr, obs_ent, obs_res, partial, parallel_chunks):
    """Draw the atoms ``atoms`` in turn from their Gaussian conditionals (updates ``Db``).

    Atom ``k``, entry ``p`` of layer ``l``: the data are ``g_p = sum_i m_ip zs_ik
    (r_ip + zs_ik d_kp)``, the correlation of its codes with the residual without
    atom ``k`` (the other atoms as currently drawn), read from the residuals the
    code sweep kept (``obs_res``) over the patches using ``k`` only. With ``Lambda =
    C C^T`` (:func:`atom_factors`), ``d = C^{-T} (C^{-1} gamma_e w_l g + eps)``; then
    the residuals of its patches are updated. The cost follows the observed entries
    of the patches using each atom: ``n m a`` for ``a`` atoms per patch, where Gram
    matrices of the codes would cost ``n m a^2 / 2``. The sums over an atom's
    patches go through per-chunk partial sums added in chunk order (bit-identical
    for any number of threads). With ``prior``, the atoms are ones no patch uses:
    they are drawn from the prior, whose factor for layer ``l`` is ``chol[0, l]``.

    Parameters
    ----------
    Db : numpy.ndarray, float32, shape (K / BLOCK, P, BLOCK)
        Dictionary (see :func:`code_sweep`), updated in place.
    atoms : numpy.ndarray, int64, shape (A,)
    chol : numpy.ndarray, float64, shape (A, L, b * b, b * b)
        Lower factors of these atoms' precisions (:func:`atom_factors`).
    prior : bool
    usage : numpy.ndarray, float64, shape (K, P)
        :func:`atom_usage`.
    gamma_e : float
    wl : numpy.ndarray, float64, shape (L,)
    key : numpy.uint64
        Run key.
    counter : numpy.uint64
        First counter of this sweep (``P`` draws per atom).
    atom_ptr, atom_patch, atom_val : numpy.ndarray
        Codes by atom (:func:`codes_by_atom`).
    obs_ptr, obs_ent, obs_res : numpy.ndarray
        Observed entries of each patch and their residuals (:func:`code_sweep`);
        ``obs_res`` is updated in place.
    partial : numpy.ndarray, float64, shape (ceil(n / CHUNK), P)
        Scratch for the partial sums.
    parallel_chunks : int
        The sums of an atom with at least this many chunks of patches run in
        parallel (:data:`PARALLEL_CHUNKS`); the others on one thread, with the same
        chunks and so the same results.
    """
    n_blocks, P, width = Db.shape
    n_layers = wl.shape[0]
    bb = P // n_layers
    y = np.empty(bb)
    g = np.empty(P)
    delta = np.empty(P, dtype=np.float32)
    stream = _mix64(key ^ _DICT_STREAM)
    for a in range(atoms.shape[0]):
        k = atoms[a]
        blk = k // width
        t = k - blk * width
        lo, hi = atom_ptr[k], atom_ptr[k + 1]
        n_chunks = (hi - lo + CHUNK - 1) // CHUNK
        # A parallel region costs tens of microseconds to start: an atom used by few
        # patches is summed on one thread (the same chunks, so the same sums).
        if n_chunks >= parallel_chunks:
            for ch in prange(n_chunks):
                _correlate_chunk(partial[ch], lo + ch * CHUNK, min(hi, lo + ch * CHUNK + CHUNK),
                                 atom_patch, atom_val, obs_ptr, obs_ent, obs_res)
        else:
            for ch in range(n_chunks):
                _correlate_chunk(partial[ch], lo + ch * CHUNK, min(hi, lo + ch * CHUNK + CHUNK),
                                 atom_patch, atom_val, obs_ptr, obs_ent, obs_res)
        for p in range(P):
            s = usage[k, p] * Db[blk, p, t]
            for ch in range(n_chunks):
                s += partial[ch, p]
            g[p] = s
        atom_key = _mix64(stream + np.uint64(k + 1) * _GOLDEN)
        for layer in range(n_layers):
            C = chol[0, layer] if prior else chol[a, layer]
            gl = gamma_e * wl[layer]
            for j in range(bb):
                y[j] = gl * g[j * n_layers + layer]
            for j in range(bb):  # forward substitution: C^{-1} g
                s = y[j]
                for m in range(j):
                    s -= C[j, m] * y[m]
                y[j] = s / C[j, j]
            for j in range(bb):
                y[j] += _normal(_draw(atom_key, counter + np.uint64(j * n_layers + layer)))
            for j in range(bb - 1, -1, -1):  # back substitution, column-oriented: C^{-T}
                y[j] /= C[j, j]
                v = y[j]
                for m in range(j):
                    y[m] -= C[j, m] * v
            for j in range(bb):
                p = j * n_layers + layer
                new = np.float32(y[j])
                delta[p] = new - Db[blk, p, t]
                Db[blk, p, t] = new
        if n_chunks >= parallel_chunks:
            for ch in prange(n_chunks):
                _update_chunk(delta, lo + ch * CHUNK, min(hi, lo + ch * CHUNK + CHUNK),
                              atom_patch, atom_val, obs_ptr, obs_ent, obs_res)
        else:
            _update_chunk(delta, lo, hi, atom_patch, atom_val, obs_ptr, obs_ent, obs_res)


@njit(**PARALLEL_FAST)
def patch_estimates(act_ptr, act_idx, act_val, D, Y):
    """Patch estimates ``Y_i = D^T zs_i`` from the compressed codes.

    Parameters
    ----------
    act_ptr, act_idx, act_val : numpy.ndarray
        Compressed codes (:func:`compress_codes`).
    D : numpy.ndarray, float32, shape (K, P)
        Dictionary, atom-major (each atom one contiguous row).
    Y : numpy.ndarray, float32, shape (n, P)
        Output, overwritten.
    """
    n, P = Y.shape
    for i in prange(n):
        for p in range(P):
            Y[i, p] = 0.0
        for a in range(act_ptr[i], act_ptr[i + 1]):
            v = act_val[a]
            row = D[act_idx[a]]
            for p in range(P):
                Y[i, p] += v * row[p]


@njit(inline="always", **SERIAL)
def _select(v, lo, hi, k):
    """Reorder ``v[lo:hi]`` so that ``v[k]`` is its order statistic ``k - lo``.

    Quickselect (Hoare partition, median-of-three pivot): the values before ``k``
    are not larger, those after not smaller. Written here rather than with
    ``np.partition``, whose numba implementation took 14 s to compile; the trimmed
    mean runs 1.3-1.6x faster with it than with the sort and partition it replaced
    (measured at b = 6, 8 and 16).
    """
    while hi - lo > 2:
        a = v[lo]
        b = v[(lo + hi) // 2]
        c = v[hi - 1]
        if a > b:
            a, b = b, a
        # the median of the three: b if c >= b, else the larger of a and c
        pivot = b if c >= b else (c if c > a else a)
        i = lo
        j = hi - 1
        while i <= j:
            while v[i] < pivot:
                i += 1
            while v[j] > pivot:
                j -= 1
            if i <= j:
                tmp = v[i]
                v[i] = v[j]
                v[j] = tmp
                i += 1
                j -= 1
        # now v[lo:j + 1] <= pivot <= v[i:hi], and v[j + 1:i] == pivot
        if k <= j:
            hi = j + 1
        elif k >= i:
            lo = i
        else:
            return
    if hi - lo == 2 and v[lo] > v[lo + 1]:
        tmp = v[lo]
        v[lo] = v[lo + 1]
        v[lo + 1] = tmp


# One explicit signature: called with literal and variable bounds, a lazily typed
# helper was compiled four times (1.5 s of a fresh environment's first call).
@njit("float64(float32[::1], int64, int64)", **SERIAL)
def _trimmed_mean(vals, m, cut):
    """Mean of ``vals[:m]`` without its ``cut`` lowest and ``cut`` highest values
    (reorders them)."""
    if cut > 0:
        _select(vals, 0, m, cut)
        _select(vals, cut, m, m - cut - 1)
    s = 0.0
    for t in range(cut, m - cut):
        s += vals[t]
    return s / (m - 2 * cut)


@njit(**PARALLEL_FAST)
def aggregate_patches(Y, b, n_layers, rows_at, cols_at, row_cover, col_cover, trim, out):
    """Robust average of the overlapping patch estimates at every pixel.

    Of the up to ``b * b`` estimates of an entry, the ``floor(trim * count)`` lowest
    and highest are dropped before averaging (``trim=0`` is the plain mean). Each
    output row gathers from the patches covering it, so threads never write to the
    same place; pixels near the border are covered by fewer patches, and a pixel no
    patch covers (the far edge of a tile's halo, off the grid) is 0.

    Parameters
    ----------
    Y : numpy.ndarray, float32, shape (n, P)
        Patch estimates.
    b, n_layers : int
    rows_at, cols_at : numpy.ndarray, int64, shape (nr,), (nc,)
        The patch grid.
    row_cover, col_cover : numpy.ndarray, int64, shape (H, 2), (W, 2)
        The first and last grid row (column) of the patches covering each pixel row
        (column), ``hyperspy_cs._patch_grid.cover``.
    trim : float
        Fraction trimmed from each end, in [0, 0.5).
    out : numpy.ndarray, float64, shape (F, H, W * L)
        Output, overwritten.
    """
    F, H, WL = out.shape
    nr, nc = rows_at.size, cols_at.size
    bl = b * n_layers
    for fy in prange(F * H):
        f = fy // H
        y = fy - f * H
        r_lo, r_hi = row_cover[y, 0], row_cover[y, 1]
        vals = np.empty(b * b, dtype=np.float32)
        for j in range(WL):
            x = j // n_layers
            layer = j - x * n_layers
            c_lo, c_hi = col_cover[x, 0], col_cover[x, 1]
            m = 0
            for r in range(r_lo, r_hi + 1):
                base = (f * nr + r) * nc
                row = (y - rows_at[r]) * bl + layer
                for c in range(c_lo, c_hi + 1):
                    vals[m] = Y[base + c, row + (x - cols_at[c]) * n_layers]
                    m += 1
            out[f, y, j] = _trimmed_mean(vals, m, int(trim * m)) if m > 0 else 0.0
