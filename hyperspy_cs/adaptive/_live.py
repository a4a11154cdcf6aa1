"""A reconstruction that follows a scan while it runs: :class:`LiveReconstruction`.

With the dictionary given (learned on an earlier scan, or transferred), an update is
sparse coding only, and only of the patches that see a new position: a scan
arrives row by row, so an update with 1 % more positions of a 256 x 256 frame
redraws the codes of a band of about ``2.6 + b`` patch rows, not of the frame.
Every other patch keeps its codes (the chain is warm-started from its previous
state), so the estimate away from the new positions does not change.

The arithmetic is the engine's (``bpfa._backend``: the same kernels and random
streams as a batch run with ``learn_dictionary=False``); the dictionary's usage
``pi``, coefficient precision and noise precision are held fixed, as the batch
run would learn them from the data it does not have yet.
"""

import time

import numpy as np

from .._validate import as_rng, check_positive_int
from ..bpfa import _anscombe
from ..bpfa._backend import backend_class
from ..bpfa._engine import _check_layer_vector, _run_key, check_patch_stride, check_trim
from ..bpfa.dictionary import BPFADictionary

__all__ = ["LiveReconstruction"]


class LiveReconstruction:
    """Reconstruct a scan from the positions measured so far, one update at a time.

    Parameters
    ----------
    scan_shape : tuple of int
        ``(n_rows, n_cols)`` of the scan grid.
    dictionary : BPFADictionary
        A dictionary learned before (``hyperspy_cs.get_dictionary(result)``) on
        data of this kind: its atoms, usage and precisions are used as they are,
        and its normalisation (``layer_offset``, ``layer_scale``, recorded with it)
        puts the new values in its units. Layers it learned as Poisson counts
        (``dictionary.count_units()``) take counts and come back as the batch
        engine gives them: through the exact unbiased inverse of the Anscombe
        transform, times the gain of the run that learned the dictionary (a
        gain fitted to the positions measured so far would change every pixel
        at every update).
    guide : numpy.ndarray, shape (n_rows, n_cols), optional
        A fully sampled image of the same grid, for a dictionary learned with
        a guide (its first layer). The other layers are the values of
        :meth:`update`.
    noise_std : float or array_like, optional
        Noise standard deviation of each value layer, data units (Anscombe units
        for a layer learned as counts: 1 is pure Poisson noise). Default: the
        dictionary's.
    sweeps : int
        Code draws per update of the patches that see a new position; the
        estimate there is their average (and ``std`` their spread).
    trim : float
        Fraction of a pixel's patch estimates dropped at each end before
        averaging. The batch engine's 0.25 gained 0.1 dB but, at 16 px patches,
        made an update 1.5x as long (``benchmarks/bench_adaptive.py``): the
        default is the plain mean. With a dictionary learned on counts the
        plain mean ended 0.65 dB below the batch result, the trimmed mean 0.09
        dB (``tests/adaptive/test_live.py``, 64 x 64 lattice at 2000 e-/pixel).
    patch_stride : int, optional
        Pixels between the corners of neighbouring patches (at most the
        dictionary's patch size ``b``). Positions scattered over the frame
        touch nearly every patch, so an update costs about a sweep of all of
        them. Default ``max(1, b // 8)``, so that every pixel keeps at least 64
        patch estimates: at 16 px, stride 2 codes a quarter of the patches, an
        update 4-5 times as fast, for 0.07 dB less than stride 1 after the last
        update of a random scan (``benchmarks/bench_adaptive.py``, 256 x 256
        SrTiO3); at 6 px, stride 2 lost 1.9 dB (``tests/adaptive/test_live.py``).
    seed : None, int or numpy.random.Generator
        Seed of the code draws.

    Attributes
    ----------
    estimate : numpy.ndarray, shape (n_rows, n_cols) or (n_rows, n_cols, L)
        Current estimate, data units (one value layer: no layer axis).
    std : numpy.ndarray
        Spread of the averaged draws, same shape (rows no patch with a
        measurement has reached: the layer's spread).
    measured : numpy.ndarray of bool, shape (n_rows, n_cols)
    order : numpy.ndarray of int64
        Flat indices ``row * n_cols + col`` of the positions, in the order they
        arrived (as ``metadata.Acquisition.Subsampling.order``).
    last_update_seconds : float
        Wall time of the last :meth:`update` or :meth:`refine`.

    Examples
    --------
    >>> import numpy as np
    >>> import hyperspy_cs as cs
    >>> s = cs.data.atomic_resolution_image(shape=(128, 128), seed=0)
    >>> first = cs.inpaint_bpfa(s.subsample(0.2, seed=0), seed=0)
    >>> live = cs.LiveReconstruction((128, 128), cs.get_dictionary(first), seed=0)
    >>> rows, cols = divmod(np.arange(0, 128 * 128, 7), 128)
    >>> live.update(np.stack([rows, cols], 1), s.data[rows, cols])  # doctest: +SKIP
    >>> live.estimate.shape
    (128, 128)
    """

    def __init__(self, scan_shape, dictionary, *, guide=None, noise_std=None, sweeps=2,
                 trim=0.0, patch_stride=None, seed=None):
        if not isinstance(dictionary, BPFADictionary):
            raise TypeError("dictionary: expected a BPFADictionary "
                            "(hyperspy_cs.get_dictionary(result)), got "
                            f"{type(dictionary).__name__}")
        shape = tuple(int(n) for n in np.atleast_1d(scan_shape))
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"scan_shape: expected (n_rows, n_cols), got {scan_shape}")
        hyper = dictionary.engine_hyper()
        norm = dictionary.normalisation()
        if hyper is None or norm is None:
            raise ValueError("dictionary: it lacks the usage, precisions or normalisation it "
                             "was learned with; take it from a result of this version "
                             "(hyperspy_cs.get_dictionary(result))")
        atoms = dictionary.to_atoms()
        K, b, _, N = atoms.shape
        H, W = shape
        if b > min(H, W):
            raise ValueError(f"dictionary: its patches ({b} px) are larger than the scan {shape}")
        self._n_guide = 0 if guide is None else 1
        if N - self._n_guide < 1:
            raise ValueError("guide: the dictionary has a single layer, which the guide "
                             "would take; a guided dictionary has the guide plus the layers")
        self.shape, self.b, self.n_layers = shape, b, N
        self.trim = check_trim(trim)
        self.sweeps = check_positive_int(sweeps, name="sweeps")
        self.patch_stride = check_patch_stride(
            max(1, b // 8) if patch_stride is None else patch_stride, b)
        self.offset, self.scale = (np.asarray(v, dtype=float) for v in norm)
        # Layers learned as counts take their values as Anscombe values.
        self._count_unit, self._count_gain = dictionary.count_units(), dictionary.count_gains()
        unit = np.where(self.scale > 0, self.scale, 1.0)
        self._unit = unit
        gamma_e = np.broadcast_to(np.asarray(hyper["gamma_e"], dtype=float), (N,)).copy()
        if noise_std is not None:
            n_values = N - self._n_guide
            noise = np.asarray(noise_std)
            noise = _check_layer_vector(np.full(n_values, noise) if noise.ndim == 0 else noise,
                                        n_values, "noise_std")
            gamma_e[self._n_guide:] = (unit[self._n_guide:] / noise) ** 2
        self._precision = gamma_e
        pi = np.clip(hyper["pi"], 0.0, 1.0)
        with np.errstate(divide="ignore"):
            self._logit_pi = np.log(pi) - np.log1p(-pi)
        self._gamma_s = float(hyper["gamma_s"])

        x0 = np.zeros((1, H, W, N), np.float32)
        obs = np.zeros((1, H, W, N), bool)
        if guide is not None:
            guide = np.asarray(guide, dtype=float)
            if guide.shape != shape or not np.all(np.isfinite(guide)):
                raise ValueError(f"guide: expected finite values of shape {shape}, got "
                                 f"shape {guide.shape}")
            x0[0, :, :, 0] = (guide - self.offset[0]) / unit[0]
            obs[..., 0] = True
        _, recorded = as_rng(seed)
        self.seed = recorded
        self._backend = backend_class("cpu")(
            x0, obs, b=b, dictionary=atoms.reshape(K, -1), prior_prec=np.eye(b * b),
            key=_run_key(recorded), origin=(0, 0), learn=False, stride=self.patch_stride)
        self._draws = 0
        self._mean = np.zeros((H, W * N))
        self._m2 = np.zeros((H, W * N))
        self._count = np.zeros(H, np.int64)
        self.measured = np.zeros(shape, bool)
        self._order = []
        self.last_update_seconds = 0.0
        if guide is not None:
            self._draw((0, self._backend.nr), reset=True)

    # -- updates ---------------------------------------------------------------------

    def update(self, positions, values):
        """Add measured positions and redraw the patches that see them.

        Parameters
        ----------
        positions : array_like of int, shape (n, 2) or (n,)
            ``(row, col)`` of each new position, or flat indices
            ``row * n_cols + col``, in acquisition order. A position measured
            again replaces its earlier value.
        values : array_like, shape (n,) or (n, L)
            Their values, data units (``L`` value layers for a dictionary of
            several).

        Returns
        -------
        LiveReconstruction
            ``self``, updated.
        """
        start = time.perf_counter()
        flat = self._flat(positions)
        L = self.n_layers - self._n_guide
        values = np.array(values, dtype=float)  # a copy: count layers are transformed in place
        if values.ndim == 1 and L == 1:
            values = values[:, None]
        if values.shape != (flat.size, L):
            raise ValueError(f"values: expected shape ({flat.size},{' ' + str(L) if L > 1 else ''})"
                             f" for {flat.size} positions, got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("values: NaN or infinite values")
        if flat.size == 0:
            return self
        H, W = self.shape
        N = self.n_layers
        layers = np.arange(self._n_guide, N)
        entries = (flat[:, None] * N + layers).ravel()
        for column, layer in enumerate(layers):
            if self._count_unit[layer] > 0:
                values[:, column] = _anscombe.forward(_anscombe.check_counts(
                    values[:, column], self._count_unit[layer], layer=layer))
        normalised = (values - self.offset[layers]) / self._unit[layers]
        self._backend.observe(entries, normalised.ravel().astype(np.float32))
        self.measured.reshape(-1)[flat] = True
        self._order.extend(flat.tolist())
        rows = flat // W
        # The patch rows that cover a new position.
        rows_at = self._backend.rows_at
        self._draw((int(np.searchsorted(rows_at, rows.min() - self.b + 1)),
                    int(np.searchsorted(rows_at, rows.max(), side="right"))), reset=True)
        self.last_update_seconds = time.perf_counter() - start
        return self

    def refine(self, sweeps=None):
        """More code draws of every patch, averaged into the estimate (no new data):
        once the scan is complete, this brings the estimate to the batch one.

        Parameters
        ----------
        sweeps : int, optional
            Default: the ``sweeps`` of an update.
        """
        start = time.perf_counter()
        n = self.sweeps if sweeps is None else check_positive_int(sweeps, name="sweeps")
        self._draw((0, self._backend.nr), reset=False, sweeps=n)
        self.last_update_seconds = time.perf_counter() - start
        return self

    def _draw(self, patch_rows, *, reset, sweeps=None):
        """Redraw the codes of patch rows ``[r0, r1)`` (indices into the grid's rows);
        average the pixels they cover."""
        r0, r1 = patch_rows
        y0, y1 = self._backend.pixel_span(patch_rows)
        if reset:
            self._count[y0:y1] = 0
            self._mean[y0:y1] = 0.0
            self._m2[y0:y1] = 0.0
        sample = np.empty((1, *self._mean.shape))
        for _ in range(self.sweeps if sweeps is None else sweeps):
            self._backend.codes(self._logit_pi, self._gamma_s, self._precision, self._draws,
                                rows=(r0, r1))
            self._draws += 1
            self._backend.estimate(self.trim, sample, rows=(y0, y1))
            self._count[y0:y1] += 1
            new = sample[0, y0:y1]
            delta = new - self._mean[y0:y1]
            self._mean[y0:y1] += delta / self._count[y0:y1, None]
            self._m2[y0:y1] += delta * (new - self._mean[y0:y1])

    def _flat(self, positions):
        H, W = self.shape
        positions = np.asarray(positions)
        if positions.size and not np.issubdtype(positions.dtype, np.integer):
            raise TypeError(f"positions: expected integers, got {positions.dtype}")
        positions = positions.astype(np.int64)
        if positions.ndim == 2 and positions.shape[1] == 2:
            rows, cols = positions.T
            if np.any((rows < 0) | (rows >= H) | (cols < 0) | (cols >= W)):
                raise ValueError(f"positions: (row, col) outside the {H} x {W} scan")
            return rows * W + cols
        if positions.ndim == 1:
            if np.any((positions < 0) | (positions >= H * W)):
                raise ValueError(f"positions: flat indices outside 0..{H * W - 1}")
            return positions
        raise ValueError(f"positions: expected shape (n, 2) or (n,), got {positions.shape}")

    # -- results ---------------------------------------------------------------------

    def _layers(self, array):
        H, W = self.shape
        out = array.reshape(H, W, self.n_layers)[..., self._n_guide:]
        return out[..., 0] if out.shape[-1] == 1 else out

    def _in_data_units(self):
        """Mean and spread ``(H, W, N)`` of the draws in data units."""
        H, W = self.shape
        spread = np.sqrt(self._m2 / np.maximum(self._count - 1, 1)[:, None])
        # Rows no measurement has reached yet know only the prior: the layer's spread.
        spread[self._count == 0] = 1.0
        return _anscombe.to_data(
            self._mean.reshape(H, W, self.n_layers) * self.scale + self.offset,
            spread.reshape(H, W, self.n_layers) * self.scale, self._count_unit,
            self._count_gain)

    @property
    def estimate(self):
        return self._layers(self._in_data_units()[0])

    @property
    def std(self):
        return self._layers(self._in_data_units()[1])

    @property
    def order(self):
        return np.asarray(self._order, dtype=np.int64)

    def to_signal(self, like=None):
        """The estimate as a HyperSpy signal, with the acquisition so far in its metadata.

        Parameters
        ----------
        like : hyperspy.signals.Signal2D, optional
            A signal of the same scan whose axes, title and metadata are carried
            over (e.g. the first-pass result).

        Returns
        -------
        hyperspy.signals.Signal2D
            ``metadata.Acquisition.Subsampling`` holds the measured mask and
            order (pattern ``"live"``); ``metadata.Reconstruction`` the method
            ``"BPFA live"``, its parameters and the ``std`` signal.
        """
        import hyperspy.api as hs

        from .._metadata import RECONSTRUCTION_NODE, SUBSAMPLING_NODE, subsampling_metadata

        estimate = self.estimate
        if estimate.ndim != 2:
            raise ValueError("to_signal: the estimate has several layers; read "
                             "LiveReconstruction.estimate instead")
        if like is not None:
            if tuple(like.axes_manager.signal_shape[::-1]) != self.shape or like.axes_manager.navigation_dimension:
                raise ValueError(f"like: expected a single image of shape {self.shape}")
            out = like._deepcopy_with_new_data(estimate)
            std = like._deepcopy_with_new_data(self.std)
        else:
            out, std = hs.signals.Signal2D(estimate), hs.signals.Signal2D(self.std)
        for node in (SUBSAMPLING_NODE, RECONSTRUCTION_NODE):
            for signal in (out, std):
                if signal.metadata.has_item(node):
                    parent, _, name = node.rpartition(".")
                    delattr(signal.metadata.get_item(parent) if parent else signal.metadata,
                            name)
        out.metadata.set_item(SUBSAMPLING_NODE, subsampling_metadata(
            self.measured.copy(), self.order, pattern="live"))
        std.metadata.General.title = "BPFA live posterior std"
        out.metadata.set_item(RECONSTRUCTION_NODE, {
            "method": "BPFA live",
            "parameters": {"patch_size": self.b, "patch_stride": self.patch_stride,
                           "sweeps": self.sweeps, "trim": self.trim,
                           "seed": self.seed, "learn_dictionary": False},
            "std": std,
        })
        return out
