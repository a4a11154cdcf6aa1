"""Scattered-data interpolation of sub-sampled scans, the baseline every method is compared with.

Each frame is interpolated on its own from its visited positions:

- ``nearest``: value of the closest visited position (Voronoi cells);
- ``linear``: barycentric interpolation on the Delaunay triangulation of the visited
  positions;
- ``cubic``: Clough-Tocher C1 piecewise-cubic interpolation on the same triangulation
  (Alfeld 1984; ``scipy.interpolate.CloughTocher2DInterpolator``);
- ``biharmonic``: the smoothest surface through the samples, minimising the squared
  Laplacian (Damelin & Hoang 2018, the method of ``skimage.restoration.inpaint_biharmonic``).

All channels of a spectrum image share one triangulation (or one sparse factorisation
for ``biharmonic``), so 2048 channels cost little more than one; channels are processed
in blocks to bound memory. Outside the convex hull of the samples, where ``linear`` and
``cubic`` are undefined, the nearest sample fills in.

This module also holds the input checks shared by the array-level methods.
"""

import numpy as np
import scipy.sparse as sp
from scipy.interpolate import CloughTocher2DInterpolator, LinearNDInterpolator
from scipy.sparse.linalg import splu
from scipy.spatial import Delaunay, QhullError, cKDTree

from hyperspy_cs._validate import check_choice, check_real_dtype

KINDS = ("nearest", "linear", "cubic", "biharmonic")

# Bound on the values held at once per channel block (float64 entries, ~64 MB).
_BLOCK_ENTRIES = 2**23


def check_inputs(data, observed, *, data_name="data"):
    """Validate the ``(data, observed)`` pair common to every array-level method.

    Parameters
    ----------
    data : array_like, shape (F, R, C, N)
        Real values; only entries at observed positions are read (and must be finite).
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited. Every frame needs at least one visited position.
    data_name : str
        Name of the first argument in error messages.

    Returns
    -------
    data : numpy.ndarray, float64, shape (F, R, C, N)
        The input itself when it is already float64 (callers must not write to it).
    observed : numpy.ndarray of bool, shape (F, R, C)
    """
    if not isinstance(data, np.ndarray):
        data = np.asarray(data)
    check_real_dtype(data.dtype, name=data_name)
    if data.ndim != 4:
        raise ValueError(f"{data_name}: expected a 4-D array (F, R, C, N), got shape {data.shape}")
    if not isinstance(observed, np.ndarray) or observed.dtype != bool:
        # A mask inferred from zeros or from 0/1 floats is a classic silent bug: demand bools.
        got = observed.dtype if isinstance(observed, np.ndarray) else type(observed).__name__
        raise TypeError(f"observed: expected a numpy bool array, got {got}")
    if observed.shape != data.shape[:3]:
        raise ValueError(f"observed: expected shape {data.shape[:3]} (F, R, C) to match "
                         f"{data_name}, got {observed.shape}")
    if not observed.any(axis=(1, 2)).all():
        raise ValueError("observed: every frame needs at least one observed position")
    data = data.astype(np.float64, copy=False)
    if not np.isfinite(data[observed]).all():
        raise ValueError(f"{data_name}: values at observed positions must be finite")
    return data, observed


def channel_blocks(n_values, n_channels):
    """Slices over ``n_channels`` so that ``n_values`` x block stays under the memory bound."""
    step = max(1, _BLOCK_ENTRIES // max(n_values, 1))
    return [slice(start, min(start + step, n_channels)) for start in range(0, n_channels, step)]


def interpolate(data, observed, *, kind="cubic"):
    """Interpolate every frame of a sub-sampled scan from its visited positions.

    Parameters
    ----------
    data : numpy.ndarray, shape (F, R, C, N)
        Measured values (any units); values at unobserved positions are ignored.
    observed : numpy.ndarray of bool, shape (F, R, C)
        True where the probe visited (all N channels measured there).
    kind : {"nearest", "linear", "cubic", "biharmonic"}
        Interpolant, see the module docstring.

    Returns
    -------
    numpy.ndarray, float64, shape (F, R, C, N)
        Interpolated data, equal to ``data`` at observed positions, never NaN.
    """
    data, observed = check_inputs(data, observed)
    check_choice(kind, KINDS, name="kind")
    out = np.empty(data.shape, dtype=np.float64)
    for frame in range(data.shape[0]):
        out[frame] = _interpolate_frame(data[frame], observed[frame], kind)
    return out


def _interpolate_frame(image, mask, kind):
    """Interpolate one ``(R, C, N)`` frame; ``mask`` is its ``(R, C)`` observed map."""
    out = np.empty(image.shape, dtype=np.float64)
    out[mask] = image[mask]
    known = np.argwhere(mask)
    unknown = np.argwhere(~mask)
    if len(unknown) == 0:
        return out
    if kind == "biharmonic":
        out[~mask] = _biharmonic(image, mask)
        return out
    values = image[mask]  # (n_known, N)
    nearest = cKDTree(known).query(unknown)[1]
    triangulation = _triangulate(known) if kind != "nearest" else None
    if triangulation is None:
        out[~mask] = values[nearest]
        return out
    interpolator = LinearNDInterpolator if kind == "linear" else CloughTocher2DInterpolator
    for block in channel_blocks(len(values) + len(unknown), image.shape[-1]):
        estimate = interpolator(triangulation, values[:, block])(unknown)
        outside = np.isnan(estimate[:, 0])  # outside the convex hull: all channels at once
        estimate[outside] = values[nearest[outside], block]
        out[~mask, block] = estimate
    return out


def _triangulate(points):
    """Delaunay triangulation of the visited positions, or None where none exists.

    Fewer than three samples, or samples on one line (a single scanned row), have no
    triangulation; the caller then falls back to nearest-neighbour filling.
    """
    if len(points) < 3:
        return None
    try:
        return Delaunay(points)
    except QhullError:
        return None


def _laplacian_1d(n):
    """Second difference with reflecting (Neumann) ends, ``(n, n)`` sparse."""
    main = -2.0 * np.ones(n)
    main[0] += 1.0
    main[-1] += 1.0
    return sp.diags([np.ones(n - 1), main, np.ones(n - 1)], [-1, 0, 1])


def _biharmonic(image, mask):
    """Minimise ``||Laplacian u||^2`` over the unobserved pixels of one frame.

    The normal equations ``(L^T L)_uu u_u = -(L^T L)_uk u_k`` share one matrix for all
    channels: it is factorised once (sparse LU) and solved for blocks of channels,
    whereas ``skimage.restoration.inpaint_biharmonic`` solves channel by channel.

    Returns
    -------
    numpy.ndarray, shape (n_unobserved, N)
        Values at the unobserved pixels in ``np.argwhere(~mask)`` order.
    """
    rows, cols = mask.shape
    laplacian = (sp.kron(sp.identity(rows), _laplacian_1d(cols))
                 + sp.kron(_laplacian_1d(rows), sp.identity(cols)))
    normal = (laplacian.T @ laplacian).tocsr()
    known = mask.ravel()
    normal_unknown = normal[~known]
    factor = splu(normal_unknown[:, ~known].tocsc())
    coupling = normal_unknown[:, known]
    values = image[mask]
    solved = np.empty((int((~known).sum()), image.shape[-1]))
    for block in channel_blocks(len(solved), image.shape[-1]):
        solved[:, block] = factor.solve(-(coupling @ values[:, block]))
    return solved
