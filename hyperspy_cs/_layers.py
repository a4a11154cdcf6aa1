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
"""

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._metadata import is_count_data
from ._reconstruct import eager_class

__all__ = ["SpectralLayers", "LayerSpec", "layer_spec", "spectral_moments", "fit_layers",
           "spectral_layers", "check_counts"]

MAX_PCA_LAYERS = 16
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
    """

    names: list
    rebuild_matrix: np.ndarray
    kind: str
    projection: np.ndarray

    def rebuild(self, maps, *, dtype=np.float32):
        """Spectra ``(..., E)`` from layer maps ``(..., L)``."""
        maps = np.asarray(maps, dtype=dtype)
        matrix = self.rebuild_matrix.astype(dtype)
        return maps @ matrix[1:] + matrix[0]

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
    line_weights: np.ndarray | None = None  # (E, L) for "lines"
    line_names: tuple = ()

    @property
    def max_layers(self):
        """The most layers the fit can give."""
        if self.kind == "lines":
            return len(self.line_names)
        return MAX_PCA_LAYERS if self.n_components == "auto" else self.n_components

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
        ``"pca"`` (alias ``"auto"``): PCA scores of the sampled spectra (Poisson
        scaled for counts), as many as stand above the noise (at most 16); an
        int asks for that many components. ``"lines"``: X-ray line intensities
        from ``metadata.Sample.xray_lines`` (exspy ``get_lines_intensity``).

    Returns
    -------
    LayerSpec
    """
    n_channels = signal.axes_manager.signal_axes[0].size
    counts = is_count_data(signal)
    if isinstance(layers, numbers.Integral) and not isinstance(layers, bool):
        if not 1 <= layers <= n_channels:
            raise ValueError(
                f"layers: expected between 1 and {n_channels} PCA components, got {layers}"
            )
        return LayerSpec("pca", int(layers), counts)
    if isinstance(layers, str) and layers in ("auto", "pca"):
        return LayerSpec("pca", "auto", counts)
    if isinstance(layers, str) and layers == "lines":
        weights, names = _line_windows(signal)
        return LayerSpec("lines", None, counts, weights, tuple(names))
    raise ValueError(f'layers: expected "auto", "pca", "lines" or an int, got {layers!r}')


def spectral_moments(spectra):
    """``M = sum [1, x]^T [1, x]`` over spectra ``(n, E)``: shape ``(E + 1, E + 1)``, float64.

    ``M[0, 0]`` is the count, ``M[0, 1:]`` the sum, ``M[1:, 1:]`` the sum of
    outer products. Moments of blocks add up.
    """
    spectra = np.asarray(spectra)
    flat = spectra.reshape(-1, spectra.shape[-1])
    moments = np.zeros((flat.shape[1] + 1,) * 2)
    for start in range(0, flat.shape[0], _ROWS):
        rows = flat[start:start + _ROWS].astype(np.float64)
        augmented = np.hstack([np.ones((rows.shape[0], 1)), rows])
        moments += augmented.T @ augmented
    return moments


def _pca_projection(moments, spec):
    """Projection ``(E + 1, L)`` onto the leading principal components.

    Poisson counts are scaled by ``1 / sqrt(mean spectrum)``, which makes the noise
    variance 1 in every channel, so components whose variance exceeds the
    Marchenko-Pastur edge ``(1 + sqrt(E / n))**2`` of pure noise carry signal
    (``"auto"``). Each component's sign makes its largest loading positive.
    """
    n, n_channels = moments[0, 0], moments.shape[0] - 1
    mean = moments[0, 1:] / n
    covariance = (moments[1:, 1:] - n * np.outer(mean, mean)) / max(n - 1, 1)
    weights = 1.0 / np.sqrt(np.maximum(mean, 1e-3)) if spec.counts else np.ones(n_channels)
    auto = spec.n_components == "auto"
    if n < 2:
        raise ValueError(
            f"layers: PCA layers need at least 2 sampled spectra, got {int(n)}; sample more "
            'positions, or use layers="lines" (X-ray lines need no fit)'
        )
    k_max = min(MAX_PCA_LAYERS, int(n) - 1, n_channels) if auto else spec.n_components
    if k_max > n - 1:
        raise ValueError(
            f"layers: {int(n)} sampled spectra support at most {int(n) - 1} PCA "
            f"component(s), got {k_max}; ask for fewer, or sample more positions"
        )
    variance, vectors = scipy.linalg.eigh(covariance * np.outer(weights, weights),
                                          subset_by_index=[n_channels - k_max, n_channels - 1])
    variance, vectors = variance[::-1], vectors[:, ::-1]
    vectors *= np.sign(vectors[np.abs(vectors).argmax(axis=0), np.arange(k_max)])
    n_kept = k_max
    if auto:
        edge = (1 + np.sqrt(n_channels / n)) ** 2
        n_kept = int(np.clip((variance > edge).sum(), 1, k_max))
    basis = vectors[:, :n_kept]
    return np.vstack([-((mean * weights) @ basis), weights[:, None] * basis])


def fit_layers(spec, moments):
    """Fit the layers of ``spec`` from the moments of the sampled spectra.

    Parameters
    ----------
    spec : LayerSpec
    moments : numpy.ndarray, shape (E + 1, E + 1)
        :func:`spectral_moments` of the sampled spectra (summed over blocks).

    Returns
    -------
    SpectralLayers
    """
    moments = np.asarray(moments, dtype=np.float64)
    # The spectra were checked (values and magnitude) before their moments were
    # summed; sums of squares may exceed the values' bound and still be fine.
    if not np.isfinite(moments).all():
        raise ValueError("signal: NaN or inf at sampled positions")
    if spec.kind == "pca":
        projection = _pca_projection(moments, spec)
        names = _pca_names(projection.shape[1])
    else:
        projection = np.vstack([np.zeros(len(spec.line_names)), spec.line_weights])
        names = list(spec.line_names)
    # Least squares of the spectra on [1, layers], from the normal equations:
    # [1, layers] = [1, x] @ design.
    design = np.column_stack([np.eye(moments.shape[0], 1), projection])
    rebuild_matrix, *_ = np.linalg.lstsq(design.T @ moments @ design,
                                         design.T @ moments[:, 1:], rcond=None)
    return SpectralLayers(names, rebuild_matrix, spec.kind, projection)


def spectral_layers(signal, data, observed, *, layers="auto"):
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

    Returns
    -------
    SpectralLayers
    """
    return fit_layers(layer_spec(signal, layers), spectral_moments(data[observed]))


def check_counts(spectra, dtype):
    """Integer counts at the top of their dtype have wrapped or saturated on acquisition."""
    if (dtype.kind in "iu" and dtype.itemsize <= 2 and np.size(spectra)
            and np.max(spectra) >= np.iinfo(dtype).max):
        raise ValueError(
            f"signal: counts reach the largest {dtype} value ({np.iinfo(dtype).max}); they have "
            "overflowed or saturated. Re-export the data with a wider integer type, or "
            "mask the affected positions out"
        )


def _line_windows(signal):
    """Channel weights ``(E, L)`` of exspy's line intensities, and the line names.

    ``get_lines_intensity`` (no background windows) sums each line's channels, a
    linear map; running it on the identity "spectra" reads that map off exactly.
    """
    lines = signal.metadata.get_item("Sample.xray_lines")
    if not lines:
        elements = signal.metadata.get_item("Sample.elements")
        if not elements or not hasattr(signal, "get_lines_intensity"):
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
