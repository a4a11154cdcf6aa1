"""Where the sampler's arithmetic runs: the backend interface and the CPU backend.

The sampler (``_engine._Sampler``) holds the model's scalars (``pi``, ``gamma_s``,
the noise precisions, the tempering) and draws them; everything of the size of the
data lives in a backend, chosen by name (:data:`BACKENDS`), behind four calls:

``Backend(x0, obs, *, b, dictionary, prior_prec, key, origin)``
    Takes the normalised data ``(F, H, W, L)`` (0 where unobserved), the mask,
    the patch side, the initial dictionary ``(K, P)`` float32, the prior precision
    of one atom layer ``(b*b, b*b)``, the 64-bit run key and the global
    ``(row, col)`` of the first patch.
``codes(logit_pi, gamma_s, precision, sweep)``
    Draws every patch's codes given the dictionary and the noise precision of each
    layer ``(L,)``; returns the patches using each atom ``(K,)`` int64, their sum of
    squared codes ``(K,)`` float64, and the squared residual of the observed
    entries of each layer ``(L,)`` float64.
``atoms(precision, sweep)``
    Draws the dictionary given the codes and the noise precision of each layer.
``estimate(trim, out)``
    Writes the robust average of the patch estimates into ``out`` ``(F, H, W * L)``
    float64 (host memory).

and the attributes ``n_patches`` and ``dictionary`` (``(K, P)`` float32, a host copy).
Every random number is drawn inside the backend from the counter-based streams of
``_kernels`` (keyed on the run key, the sweep, the atom and the global patch
coordinate), so a backend on another device reproduces the same chain up to
round-off and never waits for the host between its kernels.
"""

import numpy as np

from . import _kernels as _kern

__all__ = ["BACKENDS", "CPUBackend", "backend_class"]

# Memory for the Cholesky factors of one batch of atoms in the dictionary draw.
FACTOR_BYTES = 64 * 2**20


class CPUBackend:
    """The numba kernels of ``_kernels`` on the host's cores (see the module docstring)."""

    name = "cpu"

    def __init__(self, x0, obs, *, b, dictionary, prior_prec, key, origin):
        F, H, W, L = obs.shape
        self.b, self.L = b, L
        self.nr, self.nc = H - b + 1, W - b + 1
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
        self.keys = _kern.patch_keys(self.key, F, self.nr, self.nc, *origin)
        n_chunks = (self.n_patches + _kern.CHUNK - 1) // _kern.CHUNK
        self._n_on = np.zeros((n_chunks, K), np.int64)
        self._ss_on = np.zeros((n_chunks, K))
        self._sse = np.zeros((n_chunks, L))
        self._n_act = np.zeros(self.n_patches, np.int64)
        self._compressed = None
        self._Y = None  # patch estimates, allocated by the first estimate
        self.prior_prec = prior_prec
        # G, B, the prior's factor and the atoms' factors: made by the first dictionary draw
        self._draw_state = None
        self.used = np.zeros(self.n_atoms, bool)
        self._slot_state = None

    @property
    def dictionary(self):
        n_blocks, P, width = self.Db.shape
        return self.Db.transpose(0, 2, 1).reshape(n_blocks * width, P)[:self.n_atoms].copy()

    def _slots(self):
        """The entries grouped by layer mask, which share one Gram matrix (made once).

        A slot is a patch position of one layer mask, or a whole fully observed mask;
        returns the slot of each entry ``(P,)`` and, per slot, the patches that
        observe it (CSR: ``slot_ptr`` ``(S + 1,)``, ``slot_patch``). Only a dictionary
        draw needs them, so a fixed dictionary never makes them.
        """
        if self._slot_state is not None:
            return self._slot_state
        b, L, nr, nc = self.b, self.L, self.nr, self.nc
        masks = [self.mask[:, :, layer::L] != 0 for layer in range(L)]  # (F, H, W) each
        groups = []  # (representative layer, layers)
        for layer in range(L):
            for rep, members in groups:
                if np.array_equal(masks[rep], masks[layer]):
                    members.append(layer)
                    break
            else:
                groups.append((layer, [layer]))
        slot_of = np.empty((b, b, L), np.int64)
        patches = []
        for rep, members in groups:
            if masks[rep].all():
                slot_of[:, :, members] = len(patches)
                patches.append(np.arange(self.n_patches))
                continue
            for row in range(b):
                for col in range(b):
                    slot_of[row, col, members] = len(patches)
                    patches.append(np.flatnonzero(masks[rep][:, row:row + nr, col:col + nc]))
        slot_ptr = np.zeros(len(patches) + 1, np.int64)
        np.cumsum([p.size for p in patches], out=slot_ptr[1:])
        self._slot_state = slot_of.ravel(), slot_ptr, np.concatenate(patches).astype(np.int64)
        return self._slot_state

    def codes(self, logit_pi, gamma_s, precision, sweep):
        K = self.ZS.shape[1]
        padded = np.full(K, -np.inf, np.float32)
        padded[:self.n_atoms] = logit_pi
        gamma_e, weights = _factored(precision)
        _kern.code_sweep(self.x, self.mask, self.ZS, self.Db, weights.astype(np.float32),
                         self.keys, np.uint64(2 * K * sweep), padded, gamma_s, gamma_e, self.b,
                         self.L, self.nr, self.nc, self._n_on, self._ss_on, self._sse,
                         self._n_act)
        self._compressed = None
        n_on = self._n_on.sum(axis=0)[:self.n_atoms]
        self.used = n_on > 0
        return n_on, self._ss_on.sum(axis=0)[:self.n_atoms], self._sse.sum(axis=0)

    def _codes(self):
        """The compressed codes of the current sweep (built once per sweep)."""
        if self._compressed is None:
            ptr = np.zeros(self.n_patches + 1, np.int64)
            np.cumsum(self._n_act, out=ptr[1:])
            idx = np.empty(ptr[-1], np.int64)
            val = np.empty(ptr[-1], np.float32)
            _kern.compress_codes(self.ZS, ptr, idx, val)
            self._compressed = (ptr, idx, val)
        return self._compressed

    def atoms(self, precision, sweep):
        gamma_e, weights = _factored(precision)
        _, P, _ = self.Db.shape
        K = self.ZS.shape[1]
        L = self.L
        bb = P // L
        batch = max(1, FACTOR_BYTES // (8 * L * bb * bb))
        slot_of, slot_ptr, slot_patch = self._slots()
        if self._draw_state is None:
            self._draw_state = (np.empty((slot_ptr.size - 1, K, K)), np.empty((P, K)),
                                np.linalg.cholesky(self.prior_prec)[None, None],
                                np.empty((min(batch, self.n_atoms), L, bb, bb)))
        G, B, prior_chol, chol = self._draw_state
        ptr, idx, val = self._codes()
        _kern.code_statistics(self.x, slot_ptr, slot_patch, slot_of, ptr, idx, val, self.b, L,
                              self.nr, self.nc, G, B)
        counter = np.uint64(P * sweep)
        unused = np.flatnonzero(~self.used)
        if unused.size:
            _kern.draw_atoms(G, B, slot_of, self.Db, unused, prior_chol, True, gamma_e,
                             weights, self.key, counter)
        used = np.flatnonzero(self.used)
        for start in range(0, used.size, batch):
            atoms = used[start:start + batch]
            _kern.atom_factors(G, slot_of, atoms, self.prior_prec, gamma_e, weights,
                               chol[:atoms.size])
            _kern.draw_atoms(G, B, slot_of, self.Db, atoms, chol, False, gamma_e,
                             weights, self.key, counter)

    def estimate(self, trim, out):
        ptr, idx, val = self._codes()
        if self._Y is None:
            self._Y = np.empty((self.n_patches, self.Db.shape[1]), np.float32)
        _kern.patch_estimates(ptr, idx, val, self.dictionary, self._Y)
        _kern.aggregate_patches(self._Y, self.b, self.L, self.nr, self.nc, trim, out)


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
