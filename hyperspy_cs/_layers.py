"""Spectral layers: a few maps that carry a spectrum image's content, and the way back.

A spectrum image with thousands of channels is reconstructed through ``L`` layer
maps (PCA scores of the sampled spectra, or X-ray line intensities from exspy),
because they have far better signal-to-noise than single channels and are what
BPFA's ``b x b x N`` patches are built from. The full spectra are rebuilt with one
linear map from layers to spectra, fitted by least squares on the sampled
positions: for PCA layers that is exactly the inverse transform, for line maps it
is the best linear predictor of the spectrum from its line intensities.

Everything is fitted from the moments of the sampled spectra: their count, sum
and sum of outer products, ``M = sum [1, x]^T [1, x]`` (``(E + 1, E + 1)``). The
PCA is the eigen-decomposition of the covariance, and the least-squares rebuild
is solved from its normal equations. Moments add up over blocks, so a map larger
than memory gets them in one streaming pass (:mod:`hyperspy_cs.bpfa._lazy`) and is
fitted exactly as if it were in memory. Both directions are linear, so a fitted
:class:`SpectralLayers` maps any block of spectra to layers and back on its own.

**How many layers, for counts** (``layers="auto"`` on integer counts). The
Marchenko-Pastur edge of Poisson-scaled PCA assumes Gaussian noise; sparse counts
(a few per spectrum over thousands of channels) are not, and the edge keeps noise
components or drops signal erratically (16, the cap, on the FePt map at 8 counts
per pixel; 1 on the granite map at 300). Instead the sampled counts are split in
two independent halves ``A`` and ``B`` by binomial thinning, the components ``v_j``
are fitted on ``A``, and ``c_j = v_j^T Cov(A, B) v_j``, the variance along ``v_j``
that the halves share, is the signal: the noise of independent halves does not
correlate. Along ``v_j``, ``A``'s variance ``lambda_j`` is signal plus noise; in the
full data the signal counts four times and the noise twice, so the component
carries more signal than noise there when ``c_j > lambda_j / 3``, and those are
kept. When the kept components carry less than half the shared variance
``trace Cov(A, B)`` (the signal is spread over many weak directions, as in a
many-phase rock at a few counts per pixel) and the X-ray lines are known, the
layers are the line maps instead, which sum the counts of each line. They are also
chosen when the kept components carry less than 60 % of the variance the line maps
themselves share between the halves: the components then follow something other
than the elements (the Fe core and Pt shell of the FePt particles need two
layers; one component passes the test). The line maps' shared variance counts
only above three standard errors (``3 / sqrt(n)`` of their variance for ``n``
spectra); on test_TEM.bcf it is below, and the PCA layers stay. Measured by
``benchmarks/bench_counts.py``; the rule and the figures it saw are in the user
guide.
"""

import numbers
import warnings
from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg

from ._metadata import is_count_data
from ._reconstruct import eager_class

__all__ = ["SpectralLayers", "LayerSpec", "layer_spec", "spectral_moments", "full_moments",
           "fit_layers", "split_rng", "spectral_layers", "check_counts"]

MAX_PCA_LAYERS = 16
# Count data (see the module docstring): a component is kept when its variance
# shared by two halves exceeds this share of one half's variance along it...
_SIGNAL_OVER_NOISE = 1.0 / 3.0
# ... and line maps replace the kept components when they carry less than this
# share of the variance the halves share.
_LINES_BELOW = 0.5
# ... or when they carry less than this share of the variance the line maps share
# (FePt: 33-53 %, where the line maps gave 0.3-0.6 times the error; SiO2: 68-100 %),
# counted when the line maps share more than this many standard errors of it.
_LINES_CARRIED = 0.6
_SIGNIFICANT = 3.0
# Least mean count per channel in the Poisson scaling (empty channels).
_MEAN_FLOOR = 1e-3
# Spectra converted to float64 at once (4 MiB at 512 channels): a tile of integer
# counts never exists in float64 all at once.
_ROWS = 1024


@dataclass
class SpectralLayers:
    """The linear maps between spectra and their layers.

    Attributes
    ----------
    names : list of str
        One name per layer.
    rebuild_matrix : numpy.ndarray, shape (L + 1, E)
        ``spectrum = [1, layers] @ rebuild_matrix``.
    kind : str
        ``"pca"`` or ``"lines"``.
    projection : numpy.ndarray, shape (E + 1, L)
        ``layers = [1, spectrum] @ projection``.
    reason : str
        How the layers were chosen, for ``metadata.Reconstruction.layers_reason``.
    counts : bool
        The spectra are counts: :meth:`rebuild` gives no negative values.
    """

    names: list
    rebuild_matrix: np.ndarray
    kind: str
    projection: np.ndarray
    reason: str = ""
    counts: bool = False

    def rebuild(self, maps, *, dtype=np.float32, non_negative=None):
        """Spectra ``(..., E)`` from layer maps ``(..., L)``.

        ``non_negative`` (default: :attr:`counts`): the linear rebuild's negative
        channels are set to 0 and each spectrum is scaled back to the total the
        linear rebuild gives it (0 where that is negative), so that counts stay
        counts and every position keeps its counts. On the shared maps this
        lowered the line maps' error in every case measured, where clipping alone
        added 1-2.5 % to the total counts.
        """
        maps = np.asarray(maps, dtype=dtype)
        matrix = self.rebuild_matrix.astype(dtype)
        spectra = maps @ matrix[1:] + matrix[0]
        if not (self.counts if non_negative is None else non_negative):
            return spectra
        total = spectra.sum(axis=-1, keepdims=True, dtype=np.float64)
        positive = np.maximum(spectra, 0)
        kept = positive.sum(axis=-1, keepdims=True, dtype=np.float64)
        scale = np.where(kept > 0, np.maximum(total, 0) / np.where(kept > 0, kept, 1), 0)
        return (positive * scale).astype(dtype, copy=False)

    def project(self, spectra):
        """Layer values ``(..., L)`` float64 of spectra ``(..., E)``."""
        spectra = np.asarray(spectra)
        flat = spectra.reshape(-1, spectra.shape[-1])
        out = np.empty((flat.shape[0], self.projection.shape[1]))
        for start in range(0, flat.shape[0], _ROWS):
            rows = flat[start:start + _ROWS].astype(np.float64)
            out[start:start + _ROWS] = rows @ self.projection[1:] + self.projection[0]
        return out.reshape(*spectra.shape[:-1], out.shape[1])

    def maps_of(self, data, observed):
        """Layer maps ``(F, R, C, L)`` of spectra ``(F, R, C, E)``: zero where not ``observed``."""
        maps = np.zeros((*observed.shape, len(self.names)))
        maps[observed] = self.project(data[observed])
        return maps


@dataclass(frozen=True)
class LayerSpec:
    """What to fit, checked before any data are read (see :func:`layer_spec`)."""

    kind: str
    n_components: object  # "auto" or an int (PCA)
    counts: bool  # Poisson-scaled PCA
    line_weights: np.ndarray | None = None  # (E, L) for "lines", or known lines with "auto"
    line_names: tuple = ()
    split: bool = False  # "auto" on integer counts: chosen from two halves of the counts

    @property
    def max_layers(self):
        """The most layers the fit can give."""
        if self.kind == "lines":
            return len(self.line_names)
        if self.n_components == "auto":
            return max(MAX_PCA_LAYERS, len(self.line_names))
        return self.n_components

    @property
    def names(self):
        """The layer names, or None when the data decide how many (``"auto"``)."""
        if self.kind == "lines":
            return list(self.line_names)
        return None if self.n_components == "auto" else _pca_names(self.n_components)


def _pca_names(n_components):
    return [f"PCA {i + 1}" for i in range(n_components)]


def layer_spec(signal, layers="auto"):
    """Check ``layers`` against ``signal`` (metadata and channel count only).

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        The spectrum image (its signal type and X-ray lines; its data are not read).
    layers : {"auto", "pca", "lines"} or int
        ``"auto"``: PCA scores of the sampled spectra (Poisson scaled for counts),
        as many as stand above the noise (at most 16); for integer counts, those
        that carry more signal than noise between two halves of the counts, or
        the X-ray line maps when those components miss most of the signal, or
        most of the line maps' own, and the lines are known (see the module
        docstring). ``"pca"``: the same, never
        line maps. An int asks for that many components. ``"lines"``: X-ray line
        intensities from ``metadata.Sample.xray_lines`` (exspy
        ``get_lines_intensity``).

    Returns
    -------
    LayerSpec
    """
    n_channels = signal.axes_manager.signal_axes[0].size
    counts = is_count_data(signal)
    split = counts and signal.data.dtype.kind in "iu"
    if isinstance(layers, numbers.Integral) and not isinstance(layers, bool):
        if not 1 <= layers <= n_channels:
            raise ValueError(
                f"layers: expected between 1 and {n_channels} PCA components, got {layers}"
            )
        return LayerSpec("pca", int(layers), counts)
    if isinstance(layers, str) and layers == "auto" and counts and _has_lines(signal):
        weights, names = _line_windows(signal)
        return LayerSpec("pca", "auto", counts, weights, tuple(names), split=split)
    if isinstance(layers, str) and layers in ("auto", "pca"):
        return LayerSpec("pca", "auto", counts, split=split)
    if isinstance(layers, str) and layers == "lines":
        weights, names = _line_windows(signal)
        return LayerSpec("lines", None, counts, weights, tuple(names))
    raise ValueError(f'layers: expected "auto", "pca", "lines" or an int, got {layers!r}')


def spectral_moments(spectra, *, split_rng=None):
    """``M = sum [1, x]^T [1, x]`` over spectra ``(n, E)``: shape ``(E + 1, E + 1)``, float64.

    ``M[0, 0]`` is the count, ``M[0, 1:]`` the sum, ``M[1:, 1:]`` the sum of
    outer products. Moments of blocks add up.

    With ``split_rng`` (a numpy Generator; integer counts only) the counts are
    split by binomial thinning into halves ``a ~ Binomial(x, 1/2)`` and
    ``b = x - a``, and the result is ``(3, E + 1, E + 1)``: the moments
    ``sum [1, a]^T [1, a]``, ``sum [1, a]^T [1, b]`` and ``sum [1, b]^T [1, b]``, from
    which :func:`fit_layers` chooses the number of layers (:func:`full_moments`
    gives back ``M``).
    """
    spectra = np.asarray(spectra)
    flat = spectra.reshape(-1, spectra.shape[-1])
    size = flat.shape[1] + 1
    moments = np.zeros((size, size) if split_rng is None else (3, size, size))
    for start in range(0, flat.shape[0], _ROWS):
        rows = flat[start:start + _ROWS]
        ones = np.ones((rows.shape[0], 1))
        if split_rng is None:
            augmented = np.hstack([ones, rows.astype(np.float64)])
            moments += augmented.T @ augmented
            continue
        a = split_rng.binomial(rows.astype(np.int64), 0.5)
        a, b = (np.hstack([ones, half.astype(np.float64)]) for half in (a, rows - a))
        moments += np.stack([a.T @ a, a.T @ b, b.T @ b])
    return moments


def full_moments(moments):
    """The moments ``M`` of the spectra from :func:`spectral_moments` (split or not)."""
    if moments.ndim == 2:
        return moments
    aa, ab, bb = moments
    full = aa + ab + ab.T + bb
    # [1, a + b] has one constant column, not two: the count and sums are those of a.
    full[0, 0] = aa[0, 0]
    full[0, 1:] = full[1:, 0] = aa[0, 1:] + ab[0, 1:]
    return full


def _covariance(moments):
    """Mean ``(E,)`` and covariance ``(E, E)`` of the spectra with moments ``M``."""
    n = moments[0, 0]
    mean = moments[0, 1:] / n
    return mean, (moments[1:, 1:] - n * np.outer(mean, mean)) / max(n - 1, 1)


def _poisson_weights(mean):
    """``1 / sqrt(mean)`` per channel: unit noise variance for Poisson counts."""
    return 1.0 / np.sqrt(np.maximum(mean, _MEAN_FLOOR))


def _leading_components(matrix, k):
    """The ``k`` largest eigenvalues of symmetric ``matrix`` and their vectors, largest first."""
    size = matrix.shape[0]
    variance, vectors = scipy.linalg.eigh(matrix, subset_by_index=[size - k, size - 1])
    return variance[::-1], vectors[:, ::-1]


def _shared_signal(split, k_max, line_weights=None):
    """Components that carry more signal than noise, from two halves of the counts.

    Returns the number kept, the share of the variance the halves share
    (``trace Cov(A, B)``) that they carry, and, for ``line_weights`` ``(E, L)``,
    the share of the line maps' shared variance that the kept components carry
    (None without lines, or when the line maps share less variance than
    ``_SIGNIFICANT`` standard errors: nothing to carry; module docstring).
    """
    aa, ab, _ = split
    n = aa[0, 0]
    mean_a, cov_a = _covariance(aa)
    mean_b = ab[0, 1:] / n
    cross = (ab[1:, 1:] - n * np.outer(mean_a, mean_b)) / max(n - 1, 1)
    weights = _poisson_weights(mean_a)
    scale = np.outer(weights, weights)
    scaled_cov = cov_a * scale
    variance, vectors = _leading_components(scaled_cov, k_max)
    cross = 0.5 * (cross + cross.T) * scale
    shared = np.einsum("ej,ef,fj->j", vectors, cross, vectors)
    kept = shared > _SIGNAL_OVER_NOISE * variance
    n_kept, total = int(kept.sum()), np.trace(cross)
    carried = None
    if line_weights is not None:
        # Line maps in the scaled coordinates, and their loadings on the kept components.
        lines = line_weights / weights[:, None]
        line_shared = np.sum(lines * (cross @ lines))
        line_variance = np.sum(lines * (scaled_cov @ lines))
        if line_shared > _SIGNIFICANT / np.sqrt(n) * line_variance:
            basis = vectors[:, :n_kept]
            loadings = basis.T @ lines
            carried = float(np.sum(loadings * (basis.T @ cross @ basis @ loadings)) / line_shared)
    return n_kept, float(shared[kept].sum() / total) if total > 0 else 0.0, carried


def _pca_projection(moments, n_components, counts):
    """Projection ``(E + 1, L)`` onto the leading principal components.

    Poisson counts are scaled by ``1 / sqrt(mean spectrum)``, which makes the noise
    variance 1 in every channel. ``n_components="auto"`` keeps the components whose
    variance exceeds the Marchenko-Pastur edge ``(1 + sqrt(E / n))**2`` of pure
    noise. Each component's sign makes its largest loading positive.
    """
    n, n_channels = moments[0, 0], moments.shape[0] - 1
    mean, covariance = _covariance(moments)
    weights = _poisson_weights(mean) if counts else np.ones(n_channels)
    auto = n_components == "auto"
    k_max = min(MAX_PCA_LAYERS, int(n) - 1, n_channels) if auto else n_components
    if k_max > n - 1:
        raise ValueError(
            f"layers: {int(n)} sampled spectra support at most {int(n) - 1} PCA "
            f"component(s), got {k_max}; ask for fewer, or sample more positions"
        )
    variance, vectors = _leading_components(covariance * np.outer(weights, weights), k_max)
    vectors *= np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(k_max)])
    n_kept = k_max
    if auto:
        edge = (1 + np.sqrt(n_channels / n)) ** 2
        n_kept = int(np.clip((variance > edge).sum(), 1, k_max))
    basis = vectors[:, :n_kept]
    return np.vstack([-((mean * weights) @ basis), weights[:, None] * basis])


def _choose_layers(spec, moments):
    """What ``spec`` fits on these moments: ``(kind, n_components, reason)``."""
    n = int(moments[..., 0, 0].flat[0])
    if spec.kind == "lines":
        return "lines", None, "layers=\"lines\": the X-ray line maps"
    if n < 2:
        raise ValueError(
            f"layers: PCA layers need at least 2 sampled spectra, got {n}; sample more "
            'positions, or use layers="lines" (X-ray lines need no fit)'
        )
    if spec.n_components != "auto":
        return "pca", spec.n_components, f"layers={spec.n_components}: PCA components"
    if moments.ndim == 2:
        return "pca", "auto", ("PCA components above the Marchenko-Pastur edge of the "
                               + ("Poisson-scaled " if spec.counts else "") + "sampled spectra")
    n_channels = moments.shape[1] - 1
    k_max = min(2 * MAX_PCA_LAYERS, n - 1, n_channels)
    n_kept, share, carried = _shared_signal(
        moments, k_max, spec.line_weights if spec.line_names else None)
    found = (f"{n_kept} PCA component(s) carry more signal than noise between two halves "
             f"of the counts, {share:.0%} of the variance the halves share")
    if share < _LINES_BELOW and spec.line_names:
        return "lines", None, f"{found}: the X-ray line maps instead (below {_LINES_BELOW:.0%})"
    if carried is not None and carried < _LINES_CARRIED:
        return "lines", None, (f"{found} but {carried:.0%} of the X-ray line maps' (below "
                               f"{_LINES_CARRIED:.0%}): the line maps instead")
    if n_kept > MAX_PCA_LAYERS:
        warnings.warn(
            f"layers: {n_kept} PCA components carry more signal than noise; keeping "
            f"{MAX_PCA_LAYERS}, the most layers=\"auto\" takes. Pass layers={n_kept} to keep "
            "them all (each layer costs time)", UserWarning, stacklevel=4)
        return "pca", MAX_PCA_LAYERS, f"{found}: the first {MAX_PCA_LAYERS}"
    if n_kept == 0:
        warnings.warn(
            "layers: no PCA component of the sampled spectra carries more signal than noise "
            "between two halves of the counts; the reconstruction has one layer and little "
            "to go on. Known elements help (signal.add_elements([...]) and layers=\"lines\"), "
            "or more counts per position", UserWarning, stacklevel=4)
        return "pca", 1, f"{found}: one, the least there is"
    return "pca", n_kept, found


def fit_layers(spec, moments):
    """Fit the layers of ``spec`` from the moments of the sampled spectra.

    Parameters
    ----------
    spec : LayerSpec
    moments : numpy.ndarray, shape (E + 1, E + 1) or (3, E + 1, E + 1)
        :func:`spectral_moments` of the sampled spectra (summed over blocks); split
        in two halves of the counts (``split_rng``) for ``spec.split``.

    Returns
    -------
    SpectralLayers
    """
    moments = np.asarray(moments, dtype=np.float64)
    # The spectra were checked (values and magnitude) before their moments were
    # summed; sums of squares may exceed the values' bound and still be fine.
    if not np.isfinite(moments).all():
        raise ValueError("signal: NaN or inf at sampled positions")
    kind, n_components, reason = _choose_layers(spec, moments)
    moments = full_moments(moments)
    if kind == "pca":
        projection = _pca_projection(moments, n_components, spec.counts)
        names = _pca_names(projection.shape[1])
    else:
        projection = np.vstack([np.zeros(len(spec.line_names)), spec.line_weights])
        names = list(spec.line_names)
    # Least squares of the spectra on [1, layers], from the normal equations:
    # [1, layers] = [1, x] @ design.
    design = np.column_stack([np.eye(moments.shape[0], 1), projection])
    rebuild_matrix, *_ = np.linalg.lstsq(design.T @ moments @ design,
                                         design.T @ moments[:, 1:], rcond=None)
    return SpectralLayers(names, rebuild_matrix, kind, projection, reason, spec.counts)


def split_rng(seed, block=0):
    """The Generator that splits the counts of block ``block`` (0 for data in memory)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))


def spectral_layers(signal, data, observed, *, layers="auto", seed=0):
    """Fit the layers of a spectrum image on its observed spectra (in memory).

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        The spectrum image (for its metadata: signal type, X-ray lines).
    data : numpy.ndarray, shape (F, R, C, E)
        The spectra in canonical layout.
    observed : numpy.ndarray of bool, shape (F, R, C)
        Measured positions; nothing else is read.
    layers : {"auto", "pca", "lines"} or int
        See :func:`layer_spec`.
    seed : int
        Seed of the split of the counts that chooses the number of layers
        (``layers="auto"`` on integer counts).

    Returns
    -------
    SpectralLayers
    """
    spec = layer_spec(signal, layers)
    sampled = data[observed]
    if (spec.counts and spec.n_components == "auto" and not spec.split and sampled.size
            and sampled.min() >= 0 and np.array_equal(sampled, np.round(sampled))):
        spec = replace(spec, split=True)  # integer-valued floats (a dose simulation): counts
    rng = split_rng(seed) if spec.split else None
    return fit_layers(spec, spectral_moments(sampled, split_rng=rng))


def check_counts(spectra, dtype):
    """Integer counts at the top of their dtype have wrapped or saturated on acquisition."""
    if (dtype.kind in "iu" and dtype.itemsize <= 2 and np.size(spectra)
            and np.max(spectra) >= np.iinfo(dtype).max):
        raise ValueError(
            f"signal: counts reach the largest {dtype} value ({np.iinfo(dtype).max}); they have "
            "overflowed or saturated. Re-export the data with a wider integer type, or "
            "mask the affected positions out"
        )


def _has_lines(signal):
    """Whether ``signal`` knows its X-ray lines (EDS with elements or lines set)."""
    # Files store them as lists or numpy arrays, whose truth value is ambiguous.
    known = [signal.metadata.get_item(key) for key in ("Sample.xray_lines", "Sample.elements")]
    return any(k is not None and len(k) > 0 for k in known) and hasattr(
        signal, "get_lines_intensity")


def _line_windows(signal):
    """Channel weights ``(E, L)`` of exspy's line intensities, and the line names.

    ``get_lines_intensity`` (no background windows) sums each line's channels, a
    linear map; running it on the identity "spectra" reads that map off exactly.
    """
    if not _has_lines(signal):
        raise ValueError(
            'layers="lines" needs an EDS signal with metadata.Sample.elements or '
            "xray_lines (signal.add_elements([...])); use layers=\"pca\" otherwise"
        )
    energy_axis = signal.axes_manager.signal_axes[0]
    unit_spectra = eager_class(signal)(
        np.eye(energy_axis.size),
        axes=[
            {"name": "channel", "size": energy_axis.size, "navigate": True},
            energy_axis.get_axis_dictionary(),
        ],
        metadata=signal.metadata.as_dictionary(),
    )
    maps = unit_spectra.get_lines_intensity(integration_windows=2.0)
    names = [m.metadata.Sample.xray_lines[0] for m in maps]
    return np.stack([np.asarray(m.data, dtype=np.float64) for m in maps], axis=1), names
