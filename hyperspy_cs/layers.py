"""Spectral layers: a few maps that carry a spectrum image's content, and the way back.

A spectrum image with thousands of channels is reconstructed through ``L`` layer
maps (PCA scores of the sampled spectra, or X-ray line intensities from exspy),
because they have far better signal-to-noise than single channels and are what
BPFA's ``b x b x N`` patches are built from. The full spectra are rebuilt with one
linear map from layers to spectra, fitted by least squares on the sampled
positions: for PCA layers that is exactly the inverse transform, for line maps it
is the best linear predictor of the spectrum from its line intensities.

Both directions are linear (a PCA score and an exspy line intensity are each a
weighted sum of channels), so a fitted :class:`SpectralLayers` maps any block of
spectra to layers and back on its own: a lazy reconstruction fits it once on a
sample and applies it tile by tile (:mod:`hyperspy_cs._tiling`).
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.extmath import randomized_svd

from ._reconstruct import eager_class
from .subsample import is_count_data

__all__ = ["SpectralLayers", "spectral_layers"]

_MAX_PCA_LAYERS = 16
# Spectra converted to float64 at once by SpectralLayers.project (4 MiB at 512 channels).
_PROJECT_ROWS = 1024


@dataclass
class SpectralLayers:
    """Layer maps of a spectrum image and the linear map back to spectra.

    Attributes
    ----------
    maps : numpy.ndarray, shape (F, R, C, L)
        Layer values; only entries at observed positions are meaningful.
    names : list of str
        One name per layer.
    rebuild_matrix : numpy.ndarray, shape (L + 1, E)
        ``spectrum = [1, layers] @ rebuild_matrix``.
    kind : str
        ``"pca"`` or ``"lines"``.
    projection : numpy.ndarray, shape (E + 1, L)
        ``layers = [1, spectrum] @ projection``: the layer values of any spectrum
        (``maps`` holds them for the observed ones).
    """

    maps: np.ndarray
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
        """Layer values ``(..., L)`` float64 of spectra ``(..., E)``.

        Converted to float64 ``_PROJECT_ROWS`` spectra at a time, so that a tile
        of integer counts never exists in float64 all at once.
        """
        spectra = np.asarray(spectra)
        flat = spectra.reshape(-1, spectra.shape[-1])
        out = np.empty((flat.shape[0], self.projection.shape[1]))
        for start in range(0, flat.shape[0], _PROJECT_ROWS):
            rows = flat[start:start + _PROJECT_ROWS].astype(np.float64)
            out[start:start + _PROJECT_ROWS] = rows @ self.projection[1:] + self.projection[0]
        return out.reshape(*spectra.shape[:-1], -1)


def _pca_scores(spectra, weights, n_components, seed):
    """PCA scores of weighted, centred spectra; ``n_components="auto"`` keeps those above noise.

    For Poisson counts scaled by ``1 / sqrt(mean spectrum)`` the noise variance is
    1 in every channel, so components whose variance exceeds the Marchenko-Pastur
    edge ``(1 + sqrt(E / n))**2`` of pure noise carry signal.

    Returns the scores ``(n, L)`` and the projection ``(E + 1, L)`` that gives
    them from ``[1, spectrum]``.
    """
    n, n_channels = spectra.shape
    scaled = spectra * weights
    centred = scaled - scaled.mean(axis=0)
    k_max = min(_MAX_PCA_LAYERS, n - 1, n_channels) if n_components == "auto" else n_components
    if k_max < 1:
        raise ValueError("layers: too few sampled positions for a PCA")
    _, singular, components = randomized_svd(centred, k_max, n_iter=6, random_state=seed)
    variance = singular**2 / max(n - 1, 1)
    if n_components == "auto":
        edge = (1 + np.sqrt(n_channels / n)) ** 2
        n_components = int(np.clip((variance > edge).sum(), 1, k_max))
    basis = components[:n_components].T
    projection = np.vstack([-(scaled.mean(axis=0) @ basis), weights[:, None] * basis])
    return centred @ basis, projection


def spectral_layers(signal, data, observed, *, layers="auto", seed=0):
    """Layer maps of a spectrum image from its observed spectra.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        The spectrum image (for its metadata: signal type, X-ray lines).
    data : numpy.ndarray, shape (F, R, C, E)
        The spectra in canonical layout.
    observed : numpy.ndarray of bool, shape (F, R, C)
        Measured positions; nothing else is read.
    layers : {"auto", "pca", "lines"} or int
        ``"pca"`` (alias ``"auto"``): PCA scores of the observed spectra (Poisson
        scaled for counts), as many as stand above the noise (at most 16); an
        int asks for that many components. ``"lines"``: X-ray line intensities
        from ``metadata.Sample.xray_lines`` (exspy ``get_lines_intensity``).
    seed : int
        Seed of the randomized SVD.

    Returns
    -------
    SpectralLayers
    """
    spectra = data[observed].astype(np.float64)
    if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        if not 1 <= layers <= min(spectra.shape):
            raise ValueError(
                f"layers: expected between 1 and {min(spectra.shape)} PCA components, got {layers}"
            )
        kind, n_components = "pca", int(layers)
    elif layers in ("auto", "pca"):
        kind, n_components = "pca", "auto"
    elif layers == "lines":
        kind = "lines"
    else:
        raise ValueError(f'layers: expected "auto", "pca", "lines" or an int, got {layers!r}')

    if kind == "pca":
        weights = np.ones(spectra.shape[1])
        if is_count_data(signal):
            weights = 1.0 / np.sqrt(np.maximum(spectra.mean(axis=0), 1e-3))
        scores, projection = _pca_scores(spectra, weights, n_components, seed)
        names = [f"PCA {i + 1}" for i in range(scores.shape[1])]
    else:
        line_weights, names = _line_windows(signal)
        scores = spectra @ line_weights
        projection = np.vstack([np.zeros(len(names)), line_weights])

    maps = np.zeros((*observed.shape, scores.shape[1]))
    maps[observed] = scores
    design = np.hstack([np.ones((scores.shape[0], 1)), scores])
    rebuild_matrix, *_ = np.linalg.lstsq(design, spectra, rcond=None)
    return SpectralLayers(maps, names, rebuild_matrix, kind, projection)


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
