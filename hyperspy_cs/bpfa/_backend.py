"""Where the sampler's arithmetic runs: the backend interface and the CPU backend.

The sampler (``_engine._Sampler``) holds the model's scalars (``pi``, ``gamma_s``,
the noise precisions, the tempering) and draws them; everything of the size of the
data lives in a backend, chosen by name (:data:`BACKENDS`), behind four calls:

``Backend(x0, obs, *, b, dictionary, prior_prec, key, origin, learn, stride=1, extent=None,
prior_scale=None)``
    Takes the normalised data ``(F, H, W, L)`` (0 where unobserved), the mask,
    the patch side, the initial dictionary ``(K, P)`` float32, the prior precision
    of one atom layer ``(b*b, b*b)``, the 64-bit run key, the global
    ``(row, col)`` of the block's first pixel, whether ``atoms`` will be called
    (then every full code sweep keeps the residuals of the observed entries that
    the dictionary update reads), the patch stride and the scan's ``(rows, cols)``
    (default: the block ends at the scan's edge; ``hyperspy_cs._patch_grid``) and
    the scale of each layer's prior precision ``(L,)`` (default ones: ``prior_prec``
    for every layer).
``codes(logit_pi, gamma_s, precision, sweep, rows=None)``
    Draws every patch's codes given the dictionary and the noise precision of each
    layer ``(L,)``; returns the patches using each atom ``(K,)`` int64, their sum of
    squared codes ``(K,)`` float64, and the squared residual of the observed
    entries of each layer ``(L,)`` float64. ``rows=(r0, r1)`` draws only the
    patch rows ``r0 <= r < r1`` (indices into ``rows_at``; one frame), with the random
    numbers a whole sweep would give them, and returns their sums.
``atoms(precision, sweep)``
    Draws the dictionary given the codes of the last full sweep and the noise
    precision of each layer.
``estimate(trim, out, rows=None)``
    Writes the robust average of the patch estimates into ``out`` ``(F, H, W * L)``
    float64 (host memory); ``rows=(r0, r1)`` only pixel rows ``r0 <= y < r1``
    (one frame).
``observe(flat, values)``
    Records new observed entries: ``flat`` indices into ``(F, H, W * L)`` and
    their normalised values.

Together, ``observe`` and the row windows let a reconstruction follow a scan as it
arrives (``hyperspy_cs.adaptive``): only the patches that see new entries are
drawn again. Besides, the backend has the attributes
``n_patches``, ``rows_at`` and ``cols_at`` (the grid), ``dictionary`` (``(K, P)``
float32, a host copy) and ``pixel_span((r0, r1))`` (the pixel rows ``[y0, y1)`` that
patch rows ``r0 <= r < r1`` cover).
Every random number is drawn inside the backend from the counter-based streams of
``_kernels`` (keyed on the run key, the sweep, the atom and the global patch
coordinate), so a backend on another device reproduces the same chain up to
round-off and never waits for the host between its kernels.
"""

import numpy as np

from . import _kernels as _kern
from .._patch_grid import box_sums, cover, grid_axis

__all__ = ["BACKENDS", "CPUBackend", "backend_class"]

# Memory for the Cholesky factors of one batch of atoms in the dictionary draw.
FACTOR_BYTES = 64 * 2**20


class CPUBackend:
    """The numba kernels of ``_kernels`` on the host's cores (see the module docstring)."""

    name = "cpu"

    def __init__(self, x0, obs, *, b, dictionary, prior_prec, key, origin, learn, stride=1,
                 extent=None, prior_scale=None):
        F, H, W, L = obs.shape
        self.b, self.L, self.stride = b, L, stride
        extent = (None, None) if extent is None else extent
        self.rows_at = grid_axis(H, b, stride, origin[0], extent[0])
        self.cols_at = grid_axis(W, b, stride, origin[1], extent[1])
        self._row_cover, self._col_cover = cover(self.rows_at, b, H), cover(self.cols_at, b, W)
        self.nr, self.nc = self.rows_at.size, self.cols_at.size
        self.n_patches = F * self.nr * self.nc
        K, P = dictionary.shape
        self.key = np.uint64(key)
        self.n_atoms = K
        self.mask = obs.reshape(F, H, W * L).astype(np.float32)
        self.x = x0.astype(np.float32).reshape(F, H, W * L)
        # Padded to whole blocks with atoms of zeros that pi = 0 keeps unused.
        n_blocks = -(-K // _kern.BLOCK)
        K = n_blocks * _kern.BLOCK
        padded = np.zeros((K, P), np.float32)
        padded[:self.n_atoms] = dictionary
        self.Db = np.ascontiguousarray(
            padded.reshape(n_blocks, _kern.BLOCK, P).transpose(0, 2, 1))
        self.ZS = np.zeros((self.n_patches, K), np.float32)
        self.keys = _kern.patch_keys(self.key, F, self.rows_at, self.cols_at, *origin)
        n_chunks = (self.n_patches + _kern.CHUNK - 1) // _kern.CHUNK
        self._n_on = np.zeros((n_chunks, K), np.int64)
        self._ss_on = np.zeros((n_chunks, K))
        self._sse = np.zeros((n_chunks, L))
        self._n_act = np.zeros(self.n_patches, np.int64)
        self._compressed = None
        self._Y = None  # patch estimates, allocated by the first estimate
        # Patch rows whose estimates in _Y follow their current codes (row windows).
        self._y_current = np.zeros(F * self.nr, bool)
        self.prior_prec = prior_prec
        self.prior_scale = (np.ones(L) if prior_scale is None
                            else np.asarray(prior_scale, dtype=np.float64))
        self.learn = learn
        # The observed entries of each patch and their residuals (CSR: ptr, entries,
        # residuals), kept by full code sweeps when learning.
        self._observed = None
        self._residuals_current = False
        # Scratch of the dictionary draw (usage, factors, partial sums): made by its first call
        self._draw_state = None
        self.used = np.zeros(self.n_atoms, bool)
        self.parallel_chunks = _kern.PARALLEL_CHUNKS

    @property
    def dictionary(self):
        n_blocks, P, width = self.Db.shape
        return self.Db.transpose(0, 2, 1).reshape(n_blocks * width, P)[:self.n_atoms].copy()

    def _observed_entries(self):
        """The CSR of every patch's observed entries and their residuals (made once
        per mask; the code sweep fills it)."""
        if self._observed is None:
            F, H, WL = self.mask.shape
            layers = (self.mask != 0).reshape(F, H, WL // self.L, self.L).sum(axis=3)
            ptr = np.zeros(self.n_patches + 1, np.int64)
            np.cumsum(box_sums(layers, self.b, self.rows_at, self.cols_at), out=ptr[1:])
            self._observed = (ptr, np.empty(ptr[-1], np.int32), np.empty(ptr[-1], np.float32))
        return self._observed

    def _window(self, rows):
        """Patch rows ``rows`` (indices into ``rows_at``) as the data rows they read,
        their patches, and their rows' offsets into those data rows."""
        if rows is None:  # every frame
            return slice(None), slice(None), self.rows_at
        if self.x.shape[0] != 1:
            raise ValueError("rows: row windows need a single frame")
        r0, r1 = rows
        top, bottom = self.pixel_span(rows)
        return (slice(top, bottom), slice(r0 * self.nc, r1 * self.nc), self.rows_at[r0:r1] - top)

    def pixel_span(self, rows):
        """The pixel rows ``[y0, y1)`` that the patch rows ``rows = (r0, r1)`` cover."""
        return int(self.rows_at[rows[0]]), int(self.rows_at[rows[1] - 1]) + self.b

    def codes(self, logit_pi, gamma_s, precision, sweep, rows=None):
        K = self.ZS.shape[1]
        padded = np.full(K, -np.inf, np.float32)
        padded[:self.n_atoms] = logit_pi
        gamma_e, weights = _factored(precision)
        data_rows, patches, rows_at = self._window(rows)
        n_chunks = -(-self.keys[patches].size // _kern.CHUNK)
        n_on, ss_on, sse = self._n_on[:n_chunks], self._ss_on[:n_chunks], self._sse[:n_chunks]
        keep = self.learn and rows is None
        observed = self._observed_entries() if keep else _NOT_KEPT
        _kern.code_sweep(self.x[:, data_rows], self.mask[:, data_rows], self.ZS[patches],
                         self.Db, weights.astype(np.float32), self.keys[patches],
                         np.uint64(2 * K * sweep), padded, gamma_s, gamma_e, self.b, self.L,
                         rows_at, self.cols_at, n_on, ss_on, sse, self._n_act[patches],
                         *observed)
        self._residuals_current = keep
        self._compressed = None
        if rows is None:
            self._y_current[:] = False
        else:
            self._y_current[rows[0]:rows[1]] = False
        n_on = n_on.sum(axis=0)[:self.n_atoms]
        if rows is None:
            self.used = n_on > 0
        return n_on, ss_on.sum(axis=0)[:self.n_atoms], sse.sum(axis=0)

    def observe(self, flat, values):
        self.x.reshape(-1)[flat] = values
        self.mask.reshape(-1)[flat] = 1.0
        self._observed = None
        self._residuals_current = False

    def _codes(self):
        """The compressed codes of the current sweep (built once per sweep)."""
        if self._compressed is None:
            self._compressed = self._compress(slice(None))
        return self._compressed

    def _compress(self, patches):
        """The non-zero codes of ``patches`` (a slice) as CSR ``(ptr, idx, val)``."""
        n_act = self._n_act[patches]
        ptr = np.zeros(n_act.size + 1, np.int64)
        np.cumsum(n_act, out=ptr[1:])
        idx = np.empty(ptr[-1], np.int64)
        val = np.empty(ptr[-1], np.float32)
        _kern.compress_codes(self.ZS[patches], ptr, idx, val)
        return ptr, idx, val

    def atoms(self, precision, sweep):
        if not self._residuals_current:
            raise RuntimeError("atoms: needs a full code sweep of a backend made with "
                               "learn=True first")
        gamma_e, weights = _factored(precision)
        _, P, _ = self.Db.shape
        K = self.ZS.shape[1]
        bb = P // self.L
        batch = max(1, FACTOR_BYTES // (8 * self.L * bb * bb))
        if self._draw_state is None:
            n_chunks = -(-self.n_patches // _kern.CHUNK)
            # the factor of each layer's prior precision, scale_l Q = (sqrt(scale_l) C)(...)^T
            prior_chol = (np.sqrt(self.prior_scale)[None, :, None, None]
                          * np.linalg.cholesky(self.prior_prec))
            self._draw_state = (np.empty((K, P)), prior_chol,
                                np.empty((min(batch, self.n_atoms), self.L, bb, bb)),
                                np.empty((n_chunks, P)), np.empty(K + 1, np.int64),
                                np.empty((_kern.USAGE_PARTS, K, P)))
        usage, prior_chol, chol, partial, atom_ptr, usage_parts = self._draw_state
        ptr, idx, val = self._codes()
        atom_patch = np.empty(idx.size, np.int64)
        atom_val = np.empty(idx.size, np.float32)
        _kern.codes_by_atom(ptr, idx, val, atom_ptr, atom_patch, atom_val)
        obs = self._observed
        _kern.atom_usage(ptr, idx, val, obs[0], obs[1], usage_parts, usage)
        by_atom = (atom_ptr, atom_patch, atom_val, *obs, partial, self.parallel_chunks)
        counter = np.uint64(P * sweep)
        unused = np.flatnonzero(~self.used)
        if unused.size:
            _kern.draw_atoms(self.Db, unused, prior_chol, True, usage, gamma_e, weights,
                             self.key, counter, *by_atom)
        used = np.flatnonzero(self.used)
        for start in range(0, used.size, batch):
            atoms = used[start:start + batch]
            _kern.atom_factors(usage, atoms, self.prior_prec, self.prior_scale, gamma_e, weights,
                               chol[:atoms.size])
            _kern.draw_atoms(self.Db, atoms, chol, False, usage, gamma_e, weights, self.key,
                             counter, *by_atom)

    def estimate(self, trim, out, rows=None):
        if self._Y is None:
            self._Y = np.empty((self.n_patches, self.Db.shape[1]), np.float32)
        if rows is None:
            ptr, idx, val = self._codes()
            _kern.patch_estimates(ptr, idx, val, self.dictionary, self._Y)
            _kern.aggregate_patches(self._Y, self.b, self.L, self.rows_at, self.cols_at,
                                    self._row_cover, self._col_cover, trim, out)
            return
        # The patches covering pixel rows [y0, y1): those whose top row is in
        # [y0 - b + 1, y1).
        y0, y1 = rows
        p0, p1 = np.searchsorted(self.rows_at, (y0 - self.b + 1, y1))
        stale = np.flatnonzero(~self._y_current[p0:p1]) + p0
        if stale.size:
            # Only the patches drawn since their last estimate are estimated again.
            _, patches, _ = self._window((int(stale[0]), int(stale[-1]) + 1))
            _kern.patch_estimates(*self._compress(patches), self.dictionary, self._Y[patches])
            self._y_current[stale[0]:stale[-1] + 1] = True
        data_rows, patches, rows_at = self._window((int(p0), int(p1)))
        band = np.empty((1, data_rows.stop - data_rows.start, out.shape[2]))
        _kern.aggregate_patches(self._Y[patches], self.b, self.L, rows_at, self.cols_at,
                                cover(rows_at, self.b, band.shape[1]), self._col_cover, trim,
                                band)
        out[0, y0:y1] = band[0, y0 - data_rows.start:y1 - data_rows.start]


# What a code sweep gets when it keeps no residuals.
_NOT_KEPT = (np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))


def _factored(precision):
    """``precision`` ``(L,)`` as the kernels take it: the first layer's, and each layer's
    ratio to it, so that a single layer runs exactly the arithmetic of one scalar."""
    precision = np.asarray(precision, dtype=np.float64)
    return float(precision[0]), precision / precision[0]


BACKENDS = {"cpu": CPUBackend}


def backend_class(name):
    """The backend class called ``name`` (a key of :data:`BACKENDS`)."""
    from .._validate import check_choice

    return BACKENDS[check_choice(name, tuple(BACKENDS), name="backend")]
