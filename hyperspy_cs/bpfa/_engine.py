"""Array-level BPFA engine: Gibbs sampling of a beta-process dictionary model on patches.

Model (Zhou et al., IEEE Trans. Image Process. 21, 130 (2012); notation of SPEC.md)
-----------------------------------------------------------------------------------
Every overlapping ``b x b x L`` patch ``x_i`` (``P = b*b*L`` entries) of every frame (or,
with ``patch_stride`` ``s``, those whose corners lie on a grid of ``s`` pixels,
``hyperspy_cs._patch_grid``) is

    x_i = D (z_i * s_i) + e_i,   z_ik ~ Bernoulli(pi_k),  pi_k ~ Beta(a0/K, b0 (K-1)/K),
    s_ik ~ N(0, 1/gamma_s),      e_ip ~ N(0, 1/gamma_l(p))  on observed entries,
    gamma_s ~ Gamma(c0, d0),     gamma_l ~ Gamma(e0, f0),

with a noise precision ``gamma_l`` per layer ``l``. By default each layer's is
learned on its own; with ``layer_weights`` ``w_l`` they are tied,
``gamma_l = gamma_e w_l`` with one ``gamma_e ~ Gamma(e0, f0)``. A sweep draws,
in this order (a systematic-scan Gibbs sampler):

1. the codes of every patch given the dictionary, patch by patch (patches are
   independent given ``D``, so they run in parallel): each patch's atoms in turn,
   ``z_ik`` with ``s_ik`` integrated out, then ``s_ik``, while the patch's observed
   entries sit in cache. The work follows the observed entries only (a tenth of
   the patch at 10 % sampling), not ``b*b*N``;
2. ``pi`` and ``gamma_s`` given the codes, the noise precisions given the codes
   and the dictionary (the residual of each layer in step 1);
3. the atoms in turn given the codes: the conditional of ``d_k`` needs, at each
   patch entry ``p``, ``sum_i m_ip zs_ik^2`` and the correlation ``sum_i m_ip zs_ik
   r_ip`` of its codes with the residual without atom ``k`` (the other atoms as
   currently drawn), read over the patches using ``k`` from the residuals of the
   observed entries that step 1 kept, which are updated after each atom. The work
   follows the codes (``a`` atoms per patch cost ``a`` passes over a patch's
   observed entries, where the Gram matrices of the codes would cost ``a^2 / 2``).

The arithmetic runs in a backend (``_backend``; numba kernels in ``_kernels``).
The image is the average of the overlapping patch estimates, averaged over the
kept sweeps.

Choices made here (each measured on the 256 x 256 camera image at 20 % sampling, see
``benchmarks/bench_bpfa_quality.py``):

- **Smooth atoms.** Each layer of an atom has the Gaussian-process prior
  ``N(0, C/P)`` with ``C_pq = exp(-|pos_p - pos_q|^2 / (2 ell^2)) + 1e-3 delta_pq``
  over the pixel positions in the patch (``atom_smoothness = ell``, 2 px by default;
  layers independent; its precision scaled per count layer when there is a
  guide, below). ``ell = 0`` gives SPEC's ``N(0, I/P)``. With 80 % of the
  entries missing, the data cannot tell a rough atom from a smooth one in the gaps;
  the prior picks the smooth one (+0.3 dB over ``ell = 0``).
- **Robust patch average.** Each pixel is the interquartile mean of its (up to
  ``b*b``) patch estimates (``trim=0.25``; ``trim=0`` is the plain mean): a patch
  whose extrapolation into the gap jumps across an edge is outvoted (+0.1 dB).
- **Initialisation.** Unobserved entries are filled by normalised Gaussian
  convolution of the observed ones, and the first ``min(K, P)`` atoms are the
  principal directions (SVD) of 8192 filled patches drawn at random; the others are drawn from
  ``N(0, I/P)``. Codes start at zero, ``pi_k = 0.05``, ``gamma_s = 1`` and
  ``gamma_e`` = 1 / mean square of the observed normalised data.
- **Tempered burn-in.** During the burn-in the sampled noise precision is capped
  by ``gamma_e <= 5 * 20 ** (t / burn_in)`` at sweep ``t`` (normalised units: a
  noise level falling from 0.45 to 0.1 of the data's spread), then left free, so
  the averaged sweeps sample the model itself. On clean data the free chain
  raises ``gamma_e`` within a few sweeps and fits the observed pixels with atoms
  that extrapolate poorly into the gaps; cooling slowly lets the dictionary learn
  the coarse structure first. On camera at 20 % (``bench_bpfa_quality.py
  camera``) the default 20-sweep burn-in reaches 27.39 dB and a 120-sweep one
  27.53 dB, against 27.22 dB without tempering; the cap never binds on data
  noisier than 0.1 of their spread.
- **Hyper-priors** ``a0 = b0 = 1``, ``c0 = d0 = e0 = f0 = 1e-6`` (vague; the noise
  level and the sparsity are learned). Growing the patch set in rounds, as in
  Zhou's code, made the first rounds over-fit (-0.6 dB here) and is not used.
- **A noise precision per layer.** The layers of a spectrum image differ in noise
  by orders of magnitude: a BSE/HAADF guide is nearly noise-free, a layer of a few
  counts per pixel is mostly noise. With one shared precision the pooled residual
  makes the guide look noisy and the count layer clean, and the chain fits the
  count noise: at one count per pixel the SiO2 map's C, O and Si maps came out
  worse with its HAADF guide than without; with a precision per layer the guide
  helps (``test_a_guide_helps_a_map_of_one_count_per_pixel`` in
  ``tests/bpfa/test_bpfa_inpaint.py``, and ``benchmarks/bench_bpfa_quality.py
  denoise``: 26.12 dB with the guide against 26.78 without before, 28.07 against
  26.80 after). Each layer's own precision, from its own residual, trusts each
  layer as much as its data deserve; for one layer it is the scalar model, bit
  for bit.
- **Counts through the Anscombe transform** (``count_unit``). The noise of counts
  grows with them, which one Gaussian precision per layer cannot follow; a layer
  of Poisson counts is sampled as ``2 sqrt(z + 3/8)`` (noise variance about 1 at
  any count level), brought back by the exact unbiased inverse (never negative,
  not biased low at a few counts; ``_anscombe``) and scaled by the
  maximum-likelihood factor that keeps its observed counts. Against the Gaussian
  likelihood on the same data (``benchmarks/bench_likelihood.py``, images at 10
  and 25 e-/pixel, 6.25-100 % sampled): +0.53 dB on average, +0.97 dB fully
  sampled; on X-ray line maps (``benchmarks/bench_counts.py``, granite and FePt) a
  lower error in 29 of 33 cases, and totals within 1 standard error (up to 3.5
  Gaussian). The learned precision is kept: holding it at the transform's
  variance gained on one image and lost on another. A Poisson factor model
  (non-negative atoms, multinomial augmentation; ``benchmarks/_poisson_factor.py``,
  ``bench_counts.py --poisson-factor``) was better only fully sampled on the
  two-line FePt map (5.8-10.6 % against 11.8-17.0 %); it was worse on granite
  fully sampled and in 8 of the 9 sub-sampled FePt cases, near a flat map
  (111-152 %) on granite sub-sampled at 2.5 counts/px where BPFA is worse than
  one (173-229 %), and took 2-50 times as long: not kept.
- **A noise floor for counts below one per pixel.** There the transform no
  longer stabilises: an empty pixel always gives ``f(0)``, and on a map of a few
  hundredths of a count per pixel the learned precision ran away (FePt's Pt map
  at 0.03 counts/px: noise std 0.005 against 0.2 from Poisson statistics), so
  the atoms fitted the counts themselves. Each count layer's precision is capped
  at the inverse of ``_anscombe.noise_floor``, the transform's exact variance at
  the local intensity (counts averaged over the spacing of the samples), averaged
  over the layer: the least noise its counts can have. On images of 10-25
  e-/pixel it rarely binds; on the line maps of ``bench_counts.py`` (granite,
  FePt at 2.5-25 counts/px) it lowered the error in 35 of 39 cases, by up to
  5.5x, and raised it in three by at most 0.8 points and at 0.25 counts/px over
  11 lines (no map is useful there) by 264 points.
- **An atom prior that follows each layer's signal.** With a guide, the codes are
  set by the guide, which is nearly noise-free, and every layer's atoms had the
  same prior, as if each normalised layer held as much structure as the guide. A
  line map of a few counts is mostly noise, so its atoms were drawn wide and the
  guide's structure, times noise, went into every line: on the granite map at 2.5
  counts per pixel over 11 lines the guided maps were worse than a flat one and
  than the unguided ones (182 % against 114 % at 5 % of the positions,
  ``bench_counts.py``). Each count layer's atom prior precision is now scaled by
  ``1 / f_l``, ``f_l = 1 - floor_l / var_l`` the share of its variance that is
  not noise (its noise floor against the variance of its observed Anscombe
  values; at least 0.01), when a layer that is not counts (the guide) sets the
  scale; ``metadata.Reconstruction.atom_prior_scale`` records it. On the guided
  rows of ``bench_counts.py`` (granite at 2.5, 7.5 and 25 counts per pixel) the
  error fell in 13 of 15 (5 % of the positions at 2.5: 182 % to 92 %; 25 %: 129
  % to 70 %; fully sampled 55.7 % to 37.5 %; equal dose at a quarter of a count
  per pixel 694 % to 327 %) and rose in two (57.1 against 56.8 %, 62.1 against
  60.4 %). Without a guide it was tried relative to the strongest line and not
  kept: higher error in 10 of the 15 FePt rows (up to +7.2 points) and on
  granite at 7.5 counts per pixel and 10 % (95.0 against 84.0 %). Learning the
  scale from the atoms instead (a gamma prior per layer) made it worse: the
  atoms fitted to noise are wide, so the learned precision fell (198 %).
- **Normalisation.** Per layer, from the observed entries only:
  ``x_norm = (x - mean) / std``, so that the priors are in the same units for all
  layers and a dictionary transfers between images. A layer whose observed values are all equal
  is constant: its scale is 0 (its normalised values, divided by 1, are 0), so its
  reconstruction is exactly that value, with std and noise std 0.

Reproducibility: per-patch random numbers come from a counter-based generator keyed
on ``(seed, sweep, atom, global patch coordinate)``, the dictionary's on ``(seed,
sweep, atom, entry)`` (see ``_kernels``), and all reductions run in a fixed order,
so results do not depend on the thread count; with
a fixed dictionary and fixed hyper-parameters every patch evolves independently, so
a tile processed with its ``origin`` reproduces the patch codes of the full run.
"""

import numbers
import time
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from hyperspy_cs.bpfa import _anscombe
from hyperspy_cs.bpfa._backend import backend_class
from hyperspy_cs._patch_grid import cover
from hyperspy_cs.bpfa._progress import SweepBar
from hyperspy_cs._validate import check_bool, check_magnitude, check_positive_int

__all__ = ["BPFAResult", "N_ATOMS", "N_ITER", "bpfa", "resolve_sweeps"]

_A0 = 1.0
_B0 = 1.0
_C0 = _D0 = _E0 = _F0 = 1e-6
_PI_INIT = 0.05
SIGNAL_SHARE_MIN = 0.01
N_ATOMS = 128
N_ITER = 40
#: Default sweeps of a spectrum image whose layers are sparse counts (X-ray line
#: maps of fewer than ``SPARSE_COUNTS`` line counts per visited position). Their
#: chain drifts away from its best maps: the beta process switches atoms off
#: (FePt at 0.15 line counts per position, 10 % sampled: 128 atoms in use after
#: 20 sweeps, 32 after 80) while the maps' error against the other half of the
#: counts grows (64.4 % after 20, 73.5 % after 40, 95.3 % after 80). Error of the line
#: maps against the other half (``bench_counts.py``, granite and FePt, 2.5-25
#: counts/px, 5-100 % of the positions, with and without the guide), 20 sweeps
#: against 40, half of them burn-in: on the maps of under 10 line counts per
#: position lower in 62 of 66 rows (FePt 2.5 counts/px at 25 % 67.5 against
#: 88.0 %; granite 2.5 counts/px at 10 % 138.0 against 228.5 %, with the guide
#: 144.2 against 188.5 %; granite 7.5 counts/px at 25 % 68.9 against 82.1 %),
#: higher in 4 (at most 2.3 points: granite 7.5 counts/px fully sampled with the
#: guide, 26.6 against 24.3 %); on granite at 15 line counts per position higher
#: in 7 of 18 (5 % of the positions without the guide 88.3 against 82.5 %).
N_ITER_COUNTS = 20
SPARSE_COUNTS = 10.0
# Tempered burn-in: cap of gamma_e at the first sweep, and its growth over the burn-in.
_TEMPER_START = 5.0
_TEMPER_GROWTH = 20.0
_NUGGET = 1e-3
# Patches whose principal directions initialise the dictionary.
_INIT_PATCHES = 8192
_HYPER_KEYS = frozenset({"pi", "gamma_s", "gamma_e"})
# Least parameter of the Beta draw of pi (see _Sampler.sweep).
_BETA_FLOOR = 1e-12


@dataclass
class BPFAResult:
    """What :func:`bpfa` returns (shapes use F frames, R x C scan, N layers, K atoms).

    Attributes
    ----------
    reconstruction : numpy.ndarray, float64, shape (F, R, C, N)
        Posterior mean over the kept sweeps, in the input's units.
    std : numpy.ndarray or None, float64, shape (F, R, C, N)
        Posterior standard deviation per entry over the kept sweeps (input units),
        only with ``uncertainty=True``.
    dictionary : numpy.ndarray, float32, shape (K, b, b, N)
        Final dictionary, in the engine's normalised units.
    pi : numpy.ndarray, float64, shape (K,)
        Final atom usage probabilities.
    gamma_e : numpy.ndarray, float64, shape (N,)
        Final noise precision of each layer, before ``layer_weights`` (normalised
        units): the layer's precision is ``gamma_e * layer_weights``.
    gamma_s : float
        Final coefficient precision (normalised units).
    noise_std : numpy.ndarray, float64, shape (N,)
        Estimated noise standard deviation per layer in input units,
        ``layer_scale / sqrt(gamma_e * layer_weights)``.
    atoms_used : int
        Atoms used by at least 0.1 % of the patches (and at least one) in the last sweep.
    trace : dict of numpy.ndarray
        One value per sweep: ``"gamma_e"`` (``(n_iter, N)``), ``"gamma_s"``, ``"loglik"`` (Gaussian
        log-likelihood of the observed patch entries) and ``"n_active"`` (mean number
        of atoms used per patch).
    layer_offset, layer_scale : numpy.ndarray, float64, shape (N,)
        Normalisation applied: ``x_norm = (x - layer_offset) / layer_scale``; a
        constant layer has ``layer_scale`` 0 (divided by 1 instead) and is
        reconstructed as ``layer_offset``. Count layers: in Anscombe units.
    count_unit : numpy.ndarray, float64, shape (N,)
        Data units of one count in each layer sampled as Poisson counts (0: not counts).
    count_gain : numpy.ndarray, float64, shape (N,)
        Factor applied to each count layer's result (1 for the others).
    noise_floor : numpy.ndarray, float64, shape (N,)
        Least noise standard deviation each count layer's precision was allowed
        (Anscombe units, ``sqrt(_anscombe.noise_floor)``; 0 for the other layers).
    atom_prior_scale : numpy.ndarray, float64, shape (N,)
        Scale of each layer's atom prior precision (see "An atom prior that follows
        each layer's signal" in the module docstring; 1 for layers not of counts).
    """

    reconstruction: np.ndarray
    std: np.ndarray | None
    dictionary: np.ndarray
    pi: np.ndarray
    gamma_e: np.ndarray
    gamma_s: float
    noise_std: np.ndarray
    atoms_used: int
    trace: dict
    layer_offset: np.ndarray
    layer_scale: np.ndarray
    count_unit: np.ndarray
    count_gain: np.ndarray
    noise_floor: np.ndarray
    atom_prior_scale: np.ndarray


def resolve_sweeps(n_iter, burn_in, *, counts=None):
    """``(n_iter, burn_in)``, checked; by default 40 sweeps, and half of them burn-in.

    ``counts``: the line counts per visited position of layers of counts; below
    ``SPARSE_COUNTS`` the default is ``N_ITER_COUNTS`` sweeps (when neither
    ``n_iter`` nor ``burn_in`` is given).
    """
    if n_iter is None and burn_in is None and counts is not None and counts < SPARSE_COUNTS:
        return N_ITER_COUNTS, N_ITER_COUNTS // 2
    n_iter = N_ITER if n_iter is None else check_positive_int(n_iter, name="n_iter")
    if burn_in is None:
        return n_iter, n_iter // 2
    burn_in = check_positive_int(burn_in, name="burn_in", minimum=0)
    if burn_in >= n_iter:
        raise ValueError(f"burn_in: expected fewer than n_iter={n_iter} sweeps, got {burn_in}")
    return n_iter, burn_in


def bpfa(data, observed, *, patch_size=8, patch_stride=1, n_atoms=None, n_iter=None,
         burn_in=None, step=1, dictionary=None, learn_dictionary=True, fixed_hyper=None,
         layer_weights=None, origin=(0, 0), extent=None, seed=None, uncertainty=False, show_progressbar=False,
         layer_offset=None, layer_scale=None, atom_smoothness=2.0, trim=0.25, count_unit=None,
         count_gain=None, backend="cpu"):
    """Reconstruct (inpaint and/or denoise) sub-sampled data with BPFA.

    Parameters
    ----------
    data : array_like, shape (F, R, C, N)
        Real values: F frames sharing one dictionary, an R x C scan grid, N layers
        (N = 1 for a single image). Entries where ``observed`` is False are never read.
    observed : numpy.ndarray of bool
        Broadcastable to ``data.shape`` (e.g. ``(F, R, C, 1)`` for a scan mask shared
        by all layers); True where measured. A layer may have no observed entry
        only when ``dictionary``, ``layer_offset`` and ``layer_scale`` are given
        (it is then coded through the other layers).
    patch_size : int
        Patch side ``b`` in pixels.
    patch_stride : int
        Pixels between the starts of neighbouring patches (1: every overlapping
        patch); the last row and column of patches is kept at the scan's edge
        (``hyperspy_cs._patch_grid``). The work of a sweep falls with its square.
    n_atoms : int, optional
        Dictionary size ``K``; default ``N_ATOMS`` (128), or the size of ``dictionary``.
    n_iter : int, optional
        Gibbs sweeps in total; default ``N_ITER`` (40).
    burn_in : int, optional
        Sweeps discarded before averaging (``0 <= burn_in < n_iter``); default
        ``n_iter // 2``.
    step : int
        Keep every ``step``-th sweep after the burn-in.
    dictionary : array_like, shape (K, b, b, N), optional
        Atoms in normalised units (e.g. ``BPFAResult.dictionary`` of another run):
        seeds learning, or stays fixed with ``learn_dictionary=False``.
    learn_dictionary : bool
        False: sparse coding with the given ``dictionary`` only (much faster).
    fixed_hyper : dict, optional
        Any of ``"pi"`` (shape (K,), values in [0, 1]), ``"gamma_s"`` (positive),
        ``"gamma_e"`` (positive, one value or one per layer) to hold fixed instead of
        sampling.
    layer_weights : array_like, shape (N,), optional
        Ties the layers' noise precisions: layer ``l``'s is ``gamma_e * w_l`` with
        one shared ``gamma_e`` (e.g. a guide trusted ``w`` times as much as the
        other layers). Default: each layer's precision is learned on its own.
    origin : tuple of int
        Global (row, col) of ``data[:, 0, 0]`` when ``data`` is a tile of a larger
        scan: random numbers are keyed on global patch coordinates.
    extent : tuple of int, optional
        (rows, cols) of the whole scan when ``data`` is a tile: the patch grid is
        the scan's. Default: ``data`` reaches the scan's far edges.
    seed : None, int or numpy.random.Generator
        Seed of the run (a Generator is consumed for one 64-bit key).
    uncertainty : bool
        Also return the per-entry posterior standard deviation.
    show_progressbar : bool
        Show a tqdm bar over the run (``_progress.SweepBar``: its ETA counts the
        estimates of the kept sweeps).
    layer_offset, layer_scale : array_like, shape (N,), optional
        Normalisation to use instead of the observed mean and standard deviation per
        layer (a tile must use the full scan's to reproduce its result). A scale of 0
        marks a constant layer: it is reconstructed as its offset.
    atom_smoothness : float
        Length scale in pixels of the Gaussian-process prior on each atom layer;
        0 gives independent entries ``N(0, 1/P)``.
    trim : float
        Fraction of the patch estimates of a pixel dropped at each end before
        averaging, in [0, 0.5); 0 is the plain average.
    count_unit : array_like, shape (N,), optional
        Layers of Poisson counts: the data units of one count (1 for counts
        themselves), 0 for a layer that is not counts (the default for every
        layer). A count layer is sampled as its Anscombe values and comes back
        through their exact unbiased inverse (:mod:`._anscombe`), so that its
        noise, whose variance follows the counts, has one precision; its
        reconstruction is never negative. Its ``noise_std``, ``layer_offset`` and
        ``layer_scale`` are in Anscombe units (``noise_std`` about 1 for pure
        Poisson noise).
    count_gain : array_like, shape (N,), optional
        Factor applied to each count layer's result (a tile must use the full
        scan's). Default: the one that makes the layer's result keep the counts
        observed (``_anscombe.count_gain``, the maximum-likelihood scale).
    backend : str
        Where the arithmetic runs (a key of ``_backend.BACKENDS``; only ``"cpu"``,
        numba on the host's cores, so far).

    Returns
    -------
    BPFAResult

    Raises
    ------
    TypeError
        Wrong types (non-bool ``observed``, complex or non-numeric ``data``, ...).
    ValueError
        Inconsistent shapes or values, each naming the argument.
    """
    # A layer with no observed entry (a tile of a map far from any sample) can only be
    # coded through the other layers: that needs its normalisation and the atoms.
    x, obs = _check_data(data, observed, allow_empty_layers=(
        layer_offset is not None and layer_scale is not None and dictionary is not None))
    F, H, W, L = x.shape
    b = check_positive_int(patch_size, name="patch_size", minimum=1)
    if b > min(H, W):
        raise ValueError(f"patch_size: {b} is larger than the scan ({H} x {W})")
    n_iter, burn_in = resolve_sweeps(n_iter, burn_in)
    step = check_positive_int(step, name="step", minimum=1)
    wl = _check_layer_vector(layer_weights, L, "layer_weights", default=1.0)
    tied = layer_weights is not None
    row0, col0 = _check_origin(origin)
    stride = check_patch_stride(patch_stride, b)
    extent = _check_extent(extent, (row0 + H, col0 + W))
    ell = _check_nonneg(atom_smoothness, "atom_smoothness")
    trim = check_trim(trim)
    key = _run_key(seed)
    unit = _check_layer_vector(count_unit, L, "count_unit", default=0.0, allow_zero=True)
    gain = None if count_gain is None else _check_layer_vector(count_gain, L, "count_gain")
    totals, floor = np.zeros(L), np.zeros(L)
    if unit.any():
        x = x.copy()  # the caller's float64 data stay as they are
        for layer in np.flatnonzero(unit):
            values, seen = x[..., layer], obs[..., layer]
            counts = _anscombe.check_counts(values[seen], unit[layer], layer=layer)
            totals[layer] = values[seen].sum()
            floor[layer] = _anscombe.noise_floor(counts, seen)
            values[seen] = _anscombe.forward(counts)

    D = _check_dictionary(dictionary, n_atoms, b, L, learn_dictionary)
    K = D.shape[0] if D is not None else check_positive_int(
        N_ATOMS if n_atoms is None else n_atoms, name="n_atoms")
    hyper = _check_fixed_hyper(fixed_hyper, K, L)
    offset, scale = _normalisation(x, obs, layer_offset, layer_scale)
    # A constant layer (scale 0) is normalised by 1: its values are all 0 and its
    # result, times its scale of 0, is exactly the offset.
    divisor = np.where(scale > 0, scale, 1.0)
    with np.errstate(divide="ignore"):
        precision_cap = np.where(floor > 0, divisor**2 / floor, np.inf)

    atom_scale = _atom_scale(floor, divisor**2)
    kept_sweeps = [t >= burn_in and (t - burn_in) % step == 0 for t in range(n_iter)]
    with SweepBar(n_iter, sum(kept_sweeps), disable=not show_progressbar) as bar:
        sampler = _Sampler((x - offset) / divisor, obs, b=b, n_atoms=K, dictionary=D,
                           learn_dictionary=bool(learn_dictionary), hyper=hyper,
                           burn_in=burn_in, layer_weights=wl, tied=tied, origin=(row0, col0),
                           key=key, atom_smoothness=ell, precision_cap=precision_cap,
                           atom_scale=atom_scale, stride=stride,
                           extent=extent, backend=backend)
        est = np.empty((F, H, W * L))
        mean = np.zeros_like(est)
        m2 = np.zeros_like(est) if uncertainty else None
        kept = 0
        trace = {name: np.empty(n_iter) for name in ("gamma_s", "loglik", "n_active")}
        trace["gamma_e"] = np.empty((n_iter, L))
        for t, keep in enumerate(kept_sweeps):
            start = time.perf_counter()
            sampler.sweep(t)
            swept = time.perf_counter()
            if keep:
                sampler.estimate(est, trim=trim)
                kept += 1
                delta = est - mean
                mean += delta / kept
                if uncertainty:
                    m2 += delta * (est - mean)
            for name in trace:
                trace[name][t] = sampler.stats[name]
            bar.done(t, sweep_seconds=swept - start,
                     estimate_seconds=time.perf_counter() - swept if keep else None)

    shape = (F, H, W, L)
    std = None
    if uncertainty:
        std = np.sqrt(m2 / max(kept - 1, 1)).reshape(shape) * scale
    reconstruction, std = _anscombe.to_data(mean.reshape(shape) * scale + offset, std, unit)
    if gain is None:
        gain = _anscombe.count_gain(totals, reconstruction, obs, unit)
    reconstruction[..., unit > 0] *= gain[unit > 0]
    if std is not None:
        std[..., unit > 0] *= gain[unit > 0]
    n_on = sampler.n_on
    return BPFAResult(
        reconstruction=reconstruction,
        std=std,
        dictionary=sampler.D.reshape(K, b, b, L).copy(),
        pi=np.asarray(sampler.pi, dtype=np.float64).copy(),
        gamma_e=sampler.gamma_e.copy(),
        gamma_s=float(sampler.gamma_s),
        noise_std=scale / np.sqrt(sampler.gamma_e * wl),
        atoms_used=int(np.count_nonzero(n_on >= max(1.0, 1e-3 * sampler.n_patches))),
        trace=trace,
        layer_offset=offset,
        layer_scale=scale,
        count_unit=unit,
        count_gain=gain,
        noise_floor=np.sqrt(floor),
        atom_prior_scale=atom_scale,
    )


class _Sampler:
    """State of one BPFA chain on normalised data, advanced one sweep at a time.

    The model's scalars live here; the data, codes and dictionary live in the
    backend (``_backend``) that does the arithmetic.

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
    tied : bool
        One noise precision ``gamma_e`` times ``layer_weights`` (True), or one per
        layer (False, ``layer_weights`` ones).
    origin : (int, int)
    key : int
        64-bit run key.
    stride : int
    extent : (int, int)
    atom_smoothness : float
    precision_cap : numpy.ndarray, shape (L,), optional
        Highest precision each layer's noise may take (normalised units, the
        layer's precision ``gamma_e * layer_weights``); default none.
    atom_scale : numpy.ndarray, shape (L,), optional
        Scale of each layer's atom prior precision (:func:`_atom_scale`); default ones.
    backend : str
        Name of the backend (a key of ``_backend.BACKENDS``).
    """

    def __init__(self, xn, obs, *, b, n_atoms, dictionary, learn_dictionary, hyper, burn_in,
                 layer_weights, tied, origin, key, atom_smoothness, precision_cap=None,
                 atom_scale=None, stride=1, extent=None, backend="cpu"):
        F, H, W, L = obs.shape
        K = n_atoms
        P = b * b * L
        self.key = key
        self.burn_in = burn_in
        self.learn = learn_dictionary
        self.hyper = hyper
        x0 = np.where(obs, xn, 0.0)
        if dictionary is None:
            dictionary = _initial_dictionary(x0, obs, K, b, _rng(key, 0))
        self.backend = backend_class(backend)(
            x0, obs, b=b, dictionary=dictionary,
            prior_prec=_atom_prior_precision(b, atom_smoothness, P), key=key, origin=origin,
            learn=learn_dictionary, stride=stride, extent=extent, prior_scale=atom_scale)
        self.n_patches = self.backend.n_patches
        self.n_on = np.zeros(K, np.int64)
        # Observed patch entries per layer: a pixel is in (rows covering) x (cols covering).
        cover_r, cover_c = (np.maximum(np.diff(cover(at, b, n), axis=1)[:, 0] + 1, 0)
                            for at, n in ((self.backend.rows_at, H), (self.backend.cols_at, W)))
        self.n_obs = np.einsum("frcl,r,c->l", obs.astype(np.float64), cover_r, cover_c)
        self.wl = layer_weights
        self.tied = tied
        self.precision_cap = np.full(L, np.inf) if precision_cap is None else precision_cap
        # Squared data of the observed patch entries: the residual of empty codes.
        sq = np.einsum("frcl,r,c->l", x0**2, cover_r, cover_c)

        self.pi = hyper.get("pi", np.full(K, _PI_INIT))
        self.gamma_s = hyper.get("gamma_s", 1.0)
        if tied:
            start = np.full(L, self.n_obs.sum() / max(float(sq @ layer_weights), 1e-12))
        else:
            # A layer with no observed entry (a tile far from any sample) has no
            # likelihood: its precision is never used, 1 keeps the arithmetic finite.
            start = np.where(self.n_obs > 0, self.n_obs / np.maximum(sq, 1e-12), 1.0)
        self.gamma_e = hyper.get("gamma_e", start)
        self.stats = {}

    @property
    def D(self):
        """The dictionary ``(K, P)`` float32 (a host copy)."""
        return self.backend.dictionary

    def sweep(self, t, *, estimate=None, trim=0.25):
        """Sweep number ``t``; writes the image estimate into ``estimate`` if given.

        The updates, in order: the codes of every patch given the dictionary; ``pi``
        and ``gamma_s`` given the codes; ``gamma_e`` given the codes and the
        dictionary; the dictionary given the codes and ``gamma_e``. ``estimate`` is
        ``(F, H, W * L)`` float64 in normalised units, the robust average of the
        patch estimates after this sweep (see ``_kernels.aggregate_patches``).
        """
        K = self.n_on.size
        rng = _rng(self.key, t + 1)
        with np.errstate(divide="ignore"):
            logit_pi = np.log(self.pi) - np.log1p(-self.pi)
        precision = self.gamma_e * self.wl
        n_on, ss_on, sse = self.backend.codes(logit_pi, self.gamma_s, precision, t)
        self.n_on = n_on
        n = self.n_patches
        loglik = 0.5 * float(self.n_obs @ np.log(precision / (2 * np.pi)) - precision @ sse)
        if "pi" not in self.hyper:
            # Floored: with K = 1 (b0 (K-1)/K = 0) an atom every patch uses would
            # give Beta(., 0), which numpy refuses.
            self.pi = rng.beta(np.maximum(_A0 / K + n_on, _BETA_FLOOR),
                               np.maximum(_B0 * (K - 1) / K + n - n_on, _BETA_FLOOR))
        if "gamma_s" not in self.hyper:
            self.gamma_s = rng.gamma(_C0 + 0.5 * n_on.sum(), 1.0 / (_D0 + 0.5 * ss_on.sum()))
        if "gamma_e" not in self.hyper:
            if self.tied:
                shared = rng.gamma(_E0 + 0.5 * self.n_obs.sum(),
                                   1.0 / (_F0 + 0.5 * float(self.wl @ sse)))
                self.gamma_e = np.full(self.wl.size, shared)
            else:
                self.gamma_e = np.where(self.n_obs > 0, rng.gamma(
                    _E0 + 0.5 * self.n_obs, 1.0 / (_F0 + 0.5 * sse)), 1.0)
            if t < self.burn_in:
                cap = _TEMPER_START * _TEMPER_GROWTH ** (t / self.burn_in)
                self.gamma_e = np.minimum(self.gamma_e, cap)
            limit = self.precision_cap / self.wl
            self.gamma_e = np.minimum(self.gamma_e, limit.min() if self.tied else limit)
        if self.learn:
            self.backend.atoms(self.gamma_e * self.wl, t)
        if estimate is not None:
            self.estimate(estimate, trim=trim)
        self.stats = {
            "gamma_e": self.gamma_e.copy(),
            "gamma_s": self.gamma_s,
            "n_active": n_on.sum() / n,
            "loglik": loglik,
        }

    def estimate(self, out, *, trim=0.25):
        """Write the robust average of the current patch estimates into ``out``.

        ``out`` is ``(F, H, W * L)`` float64, in normalised units (see
        ``_kernels.aggregate_patches`` for ``trim``).
        """
        self.backend.estimate(trim, out)


def _rng(key, stream):
    """Generator for the global (not per-patch) draws of one sweep."""
    return np.random.default_rng(np.random.SeedSequence([key, stream]))


def _atom_scale(floor, variance):
    """Scale of each layer's atom prior precision: ``1 / f_l``, ``f_l`` the share of
    count layer ``l``'s variance that is not noise, when a layer is not counts (a
    guide); ones otherwise (see "An atom prior that follows each layer's signal").

    ``floor`` ``(L,)``: the noise variance of each count layer (0 for the others);
    ``variance``: each layer's variance (its normalisation's square). The share
    is at least :data:`SIGNAL_SHARE_MIN`.
    """
    counts = floor > 0
    if counts.all() or not counts.any():
        return np.ones(floor.size)
    share = np.clip(1.0 - floor / np.maximum(variance, 1e-300), SIGNAL_SHARE_MIN, 1.0)
    return np.where(counts, 1.0 / share, 1.0)


def _atom_prior_precision(b, ell, P):
    """Precision ``P C^{-1}`` of one atom layer, ``(b*b, b*b)`` float64."""
    if ell == 0:
        return P * np.eye(b * b)
    u, v = np.divmod(np.arange(b * b), b)
    dist2 = (u[:, None] - u) ** 2 + (v[:, None] - v) ** 2
    cov = np.exp(-dist2 / (2.0 * ell**2)) + _NUGGET * np.eye(b * b)
    prec = P * np.linalg.inv(cov)
    return 0.5 * (prec + prec.T)


def _initial_dictionary(x0, obs, K, b, rng):
    """Principal directions of patches of a gap-filled image, then random atoms.

    ``x0`` is the normalised data, 0 where unobserved.
    The directions come from at most ``_INIT_PATCHES`` patches drawn at random:
    plenty for ``P <= a few hundred`` entries, and the cost does not grow with the
    image.
    """
    F, H, W, L = obs.shape
    P = b * b * L
    filled = _fill_gaps(x0, obs)
    nr, nc = H - b + 1, W - b + 1
    n = F * nr * nc
    pick = np.sort(rng.choice(n, size=min(n, _INIT_PATCHES), replace=False))
    f, rest = np.divmod(pick, nr * nc)
    r, c = np.divmod(rest, nc)
    windows = np.lib.stride_tricks.sliding_window_view(filled, (b, b), axis=(1, 2))
    sample = windows[f, r, c].transpose(0, 2, 3, 1).reshape(-1, P).astype(np.float64)
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


def _normalisation(x, obs, layer_offset, layer_scale):
    """Per-layer offset and scale: the given ones, else the observed mean and std."""
    L = x.shape[3]
    if layer_offset is not None and layer_scale is not None:
        return (_check_layer_vector(layer_offset, L, "layer_offset", positive=False),
                _check_layer_vector(layer_scale, L, "layer_scale", allow_zero=True))
    offset = np.empty(L)
    scale = np.empty(L)
    for layer in range(L):
        values = x[..., layer][obs[..., layer]]
        if values.size and values.min() == values.max():
            # No spread: the layer is that constant (scale 0, see bpfa). Scaled by
            # anything else, the prior draws in patches without observations
            # would come back as errors in proportion to that scale.
            offset[layer], scale[layer] = values[0], 0.0
        else:
            offset[layer], scale[layer] = values.mean(), values.std()
    if layer_offset is not None:
        offset = _check_layer_vector(layer_offset, L, "layer_offset", positive=False)
    if layer_scale is not None:
        scale = _check_layer_vector(layer_scale, L, "layer_scale", allow_zero=True)
    return offset, scale


def _run_key(seed):
    """64-bit run key from None, a non-negative int or a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**64, dtype=np.uint64))
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed}")
        # Hash so that nearby seeds give unrelated keys.
        return int(np.random.SeedSequence(int(seed)).generate_state(1, np.uint64)[0])
    raise TypeError(f"seed: expected None, an int or a numpy.random.Generator, "
                    f"got {type(seed).__name__}")


def _check_data(data, observed, *, allow_empty_layers):
    if not isinstance(observed, np.ndarray) or observed.dtype != bool:
        raise TypeError(f"observed: expected a numpy bool array, got "
                        f"{getattr(observed, 'dtype', type(observed).__name__)}")
    x = np.asarray(data)
    if x.dtype.kind == "c":
        raise TypeError("data: complex data is not supported; reconstruct the amplitude "
                        "or the real and imaginary parts separately")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"data: expected real numbers, got dtype {x.dtype}")
    if x.ndim != 4:
        raise ValueError(f"data: expected a 4-D array (F, R, C, N), got shape {x.shape}")
    if observed.ndim != 4:
        raise ValueError(f"observed: expected 4 dimensions broadcastable to {x.shape}, "
                         f"got shape {observed.shape}")
    try:
        obs = np.broadcast_to(observed, x.shape)
    except ValueError:
        raise ValueError(f"observed: shape {observed.shape} does not broadcast to "
                         f"data's {x.shape}") from None
    x = x.astype(np.float64, copy=False)
    if not obs.any():
        raise ValueError("observed: no observed entry")
    for layer in range(x.shape[3]):
        values = x[..., layer][obs[..., layer]]
        if values.size == 0 and not allow_empty_layers:
            raise ValueError(f"observed: layer {layer} has no observed entry (allowed only with "
                             "a dictionary, layer_offset and layer_scale)")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"data: layer {layer} has non-finite observed values")
        check_magnitude(values, name="data")
    return x, obs


def _check_nonneg(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a non-negative number, got {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a non-negative finite number, got {value}")
    return float(value)


def check_patch_stride(patch_stride, b):
    """``patch_stride``, a positive int of at most the patch side ``b``."""
    stride = check_positive_int(patch_stride, name="patch_stride", minimum=1)
    if stride > b:
        raise ValueError(f"patch_stride: {stride} would leave pixels between the patches "
                         f"uncovered; expected at most patch_size ({b})")
    return stride


def check_trim(trim):
    """``trim`` of the robust patch average, a fraction in [0, 0.5)."""
    trim = _check_nonneg(trim, "trim")
    if trim >= 0.5:
        raise ValueError(f"trim: expected a fraction in [0, 0.5), got {trim}")
    return trim


def _check_layer_vector(values, n_layers, name, *, default=None, positive=True,
                        allow_zero=False):
    if values is None:
        return np.full(n_layers, default, dtype=np.float64)
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.shape != (n_layers,):
        raise ValueError(f"{name}: expected shape ({n_layers},), got {np.shape(values)}")
    low = (np.any(arr < 0) if allow_zero else np.any(arr <= 0)) if positive else False
    if not np.all(np.isfinite(arr)) or low:
        kind = ("non-negative finite" if allow_zero else "positive finite") if positive \
            else "finite"
        raise ValueError(f"{name}: expected {kind} values, got {arr}")
    return arr


def _check_extent(extent, reached):
    """``extent`` of the whole scan: (rows, cols), at least what the block reaches."""
    if extent is None:
        return reached
    if (not isinstance(extent, (tuple, list)) or len(extent) != 2
            or not all(isinstance(e, numbers.Integral) for e in extent)):
        raise TypeError(f"extent: expected a (rows, cols) pair of integers, got {extent!r}")
    if extent[0] < reached[0] or extent[1] < reached[1]:
        raise ValueError(f"extent: {tuple(extent)} is smaller than the block reaches "
                         f"(origin + shape = {reached})")
    return int(extent[0]), int(extent[1])


def _check_origin(origin):
    if (not isinstance(origin, (tuple, list)) or len(origin) != 2
            or not all(isinstance(o, numbers.Integral) and not isinstance(o, bool)
                       for o in origin)):
        raise TypeError(f"origin: expected a (row, col) pair of integers, got {origin!r}")
    if min(origin) < 0:
        raise ValueError(f"origin: expected non-negative coordinates, got {origin}")
    return int(origin[0]), int(origin[1])


def _check_dictionary(dictionary, n_atoms, b, n_layers, learn_dictionary):
    """The given dictionary as ``(K, P)`` float32 (a copy), or None."""
    learn_dictionary = check_bool(learn_dictionary, name="learn_dictionary")
    if dictionary is None:
        if not learn_dictionary:
            raise ValueError("dictionary: learn_dictionary=False needs a dictionary")
        return None
    d = np.asarray(dictionary)
    if d.dtype.kind not in "biuf":
        raise TypeError(f"dictionary: expected real numbers, got dtype {d.dtype}")
    if d.ndim != 4 or d.shape[1:] != (b, b, n_layers):
        raise ValueError(f"dictionary: expected shape (K, {b}, {b}, {n_layers}), "
                         f"got {d.shape}")
    if d.shape[0] < 1:
        raise ValueError("dictionary: needs at least one atom")
    if n_atoms is not None and check_positive_int(n_atoms, name="n_atoms") != d.shape[0]:
        raise ValueError(f"n_atoms: {n_atoms} differs from the dictionary's "
                         f"{d.shape[0]} atoms")
    if not np.all(np.isfinite(d)):
        raise ValueError("dictionary: contains non-finite values")
    return np.array(d.reshape(d.shape[0], -1), dtype=np.float32, order="C")


def _check_fixed_hyper(fixed_hyper, K, L):
    if fixed_hyper is None:
        return {}
    if not isinstance(fixed_hyper, dict):
        raise TypeError(f"fixed_hyper: expected a dict, got {type(fixed_hyper).__name__}")
    unknown = set(fixed_hyper) - _HYPER_KEYS
    if unknown:
        raise ValueError(f"fixed_hyper: unknown keys {sorted(unknown)}; "
                         f"allowed: {sorted(_HYPER_KEYS)}")
    out = {}
    if "pi" in fixed_hyper:
        pi = np.asarray(fixed_hyper["pi"], dtype=np.float64)
        if pi.shape != (K,) or not np.all((pi >= 0) & (pi <= 1)):
            raise ValueError(f"fixed_hyper['pi']: expected {K} values in [0, 1], "
                             f"got shape {pi.shape}")
        out["pi"] = pi.copy()
    if "gamma_s" in fixed_hyper:
        value = fixed_hyper["gamma_s"]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) \
                or not np.isfinite(value) or value <= 0:
            raise ValueError(f"fixed_hyper['gamma_s']: expected a positive number, "
                             f"got {value!r}")
        out["gamma_s"] = float(value)
    if "gamma_e" in fixed_hyper:
        value = fixed_hyper["gamma_e"]
        array = np.asarray(value)
        if (isinstance(value, bool) or array.dtype.kind not in "iuf"
                or array.shape not in ((), (1,), (L,)) or not np.all(np.isfinite(array))
                or np.any(array <= 0)):
            raise ValueError(f"fixed_hyper['gamma_e']: expected a positive number or {L} "
                             f"positive numbers (one per layer), got {value!r}")
        out["gamma_e"] = np.broadcast_to(array.astype(np.float64).ravel(), (L,)).copy()
    return out
