"""Poisson counts through the Gaussian sampler: the Anscombe transform and its inverse.

A layer of Poisson counts ``z`` (variance equal to the mean) becomes, by
``f(z) = 2 sqrt(z + 3/8)`` (Anscombe), values of nearly unit noise variance
whatever the count level, which is the Gaussian likelihood BPFA samples with one
noise precision per layer. The sampler then reconstructs ``E[f(z)]``, and the
counts come back through the exact unbiased inverse, the ``lambda`` for which
``E[f(Poisson(lambda))]`` equals the reconstruction: its closed-form
approximation (Makitalo & Foi, IEEE Trans. Image Process. 20, 2697 (2011))

    I(D) = D^2/4 + sqrt(3/2)/(4 D) - 11/(8 D^2) + 5 sqrt(3/2)/(8 D^3) - 1/8,

0 below ``D = 2 sqrt(3/8)`` (``f(0)``, the least value ``E[f(z)]`` takes). The
algebraic inverse ``(D/2)^2 - 3/8`` is biased low at a few counts (``E[sqrt]``
is below ``sqrt(E)``); this one is not, and never gives negative counts. The
posterior spread comes back by the slope of ``I`` (first-order propagation).

The transform stabilises the variance only from a few counts up: below one
count per entry the variance of ``f(z)`` falls with the intensity (about
``1.25 lambda``), so a map of mostly empty pixels has far less noise in Anscombe
units than 1. :func:`noise_floor` gives that variance at the layer's local
intensity, the least noise the sampler may learn for it.
"""

import functools

import numpy as np

__all__ = ["forward", "inverse", "inverse_slope", "variance", "noise_floor", "check_counts",
           "to_data", "count_gain"]

_SQRT_3_2 = np.sqrt(1.5)
# f(0): E[f(Poisson(lambda))] is at least this, and I maps it (and below) to 0.
_LEAST = 2.0 * np.sqrt(3.0 / 8.0)
# Observed values within this many counts (plus float32 round-off, relative) of a
# whole number are counts stored as count x unit.
_WHOLE = 1e-3
_ROUNDOFF = 1e-7
# Intensities (counts) of the variance table: below, linear; above, 1 to 1e-6.
_TABLE_LEAST, _TABLE_MOST = 1e-4, 1e3


def forward(counts):
    """``2 sqrt(counts + 3/8)`` of counts (float64 array)."""
    return 2.0 * np.sqrt(np.asarray(counts, dtype=np.float64) + 0.375)


def inverse(values):
    """Counts (non-negative, float64) of Anscombe values, by the exact unbiased inverse."""
    d = np.maximum(np.asarray(values, dtype=np.float64), _LEAST)
    counts = (0.25 * d**2 + 0.25 * _SQRT_3_2 / d - 1.375 / d**2
              + 0.625 * _SQRT_3_2 / d**3 - 0.125)
    return np.where(d > _LEAST, np.maximum(counts, 0.0), 0.0)


def inverse_slope(values):
    """``dI/dD`` at Anscombe values (0 where :func:`inverse` is 0)."""
    d = np.maximum(np.asarray(values, dtype=np.float64), _LEAST)
    slope = 0.5 * d - 0.25 * _SQRT_3_2 / d**2 + 2.75 / d**3 - 1.875 * _SQRT_3_2 / d**4
    return np.where(d > _LEAST, np.maximum(slope, 0.0), 0.0)


@functools.cache
def _variance_table():
    """``(intensities, variances)``: the exact variance of ``f(Poisson(lambda))`` on a log grid."""
    from scipy.stats import poisson

    intensities = np.geomspace(_TABLE_LEAST, _TABLE_MOST, 241)
    variances = np.empty_like(intensities)
    for i, lam in enumerate(intensities):
        counts = np.arange(int(lam + 12 * np.sqrt(lam) + 30))
        p = poisson.pmf(counts, lam)
        values = forward(counts)
        variances[i] = p @ values**2 - (p @ values) ** 2
    return intensities, variances


def variance(intensity):
    """Exact variance of the Anscombe values of Poisson counts of ``intensity`` (float64 array).

    About ``1.25 lambda`` below a tenth of a count, 0.72 at one count, within 2 %
    of 1 from three counts up (tabulated, interpolated in ``log lambda``).
    """
    grid, table = _variance_table()
    lam = np.asarray(intensity, dtype=np.float64)
    inside = np.interp(np.log(np.clip(lam, grid[0], grid[-1])), np.log(grid), table)
    # Below the grid the variance is linear in the intensity (one count or none).
    return np.where(lam < grid[0], np.maximum(lam, 0.0) * (table[0] / grid[0]), inside)


def noise_floor(counts, observed):
    """Noise variance of a count layer's Anscombe values, averaged over its observed entries.

    The intensity at each observed entry is the normalised Gaussian average of the
    counts around it, of width the mean spacing of the observed entries
    (``1 / sqrt(fraction)`` pixels): the variance is that of counts of this
    intensity (:func:`variance`), and no noise model of the layer can have less.

    Parameters
    ----------
    counts : numpy.ndarray, shape (n,)
        The counts at the observed entries.
    observed : numpy.ndarray of bool, shape (F, R, C)
        Where the layer was observed (``n`` True entries).

    Returns
    -------
    float
        The mean variance, in Anscombe units squared (0 without observed entries).
    """
    from scipy import ndimage

    if not observed.any():
        return 0.0
    sigma = 1.0 / np.sqrt(observed.mean())
    weights = observed.astype(np.float64)
    grid = np.zeros(observed.shape)
    grid[observed] = counts
    widths = (0.0, sigma, sigma)
    local = (ndimage.gaussian_filter(grid, widths)[observed]
             / np.maximum(ndimage.gaussian_filter(weights, widths)[observed], 1e-12))
    return float(variance(local).mean())


def check_counts(values, unit, *, layer):
    """Counts ``values / unit`` of one layer's observed values, or a ValueError."""
    counts = np.asarray(values, dtype=np.float64) / unit
    whole = np.round(counts)
    if counts.size and (counts.min() < 0 or np.any(
            np.abs(counts - whole) > _WHOLE + _ROUNDOFF * whole)):
        raise ValueError(
            f"count_unit: the observed values of layer {layer} are not whole, non-negative "
            f"multiples of {unit:g}, so they are not Poisson counts in that unit; pass 0 "
            "for that layer (Gaussian likelihood)")
    return whole


def to_data(mean, std, unit, gain=None):
    """Layer means and spreads ``(..., N)`` of the sampler back in data units.

    Layers with ``unit > 0`` (counts, ``unit`` data units per count) were
    sampled as Anscombe values: their mean comes back through :func:`inverse`,
    their spread (None: none) through its slope, both times ``gain`` (shape
    (N,), default 1; see :func:`count_gain`). Returns new arrays.
    """
    counted = np.asarray(unit) > 0
    mean = np.array(mean, dtype=np.float64)
    std = None if std is None else np.array(std, dtype=np.float64)
    if counted.any():
        scale = unit[counted] * (1.0 if gain is None else np.asarray(gain)[counted])
        values = mean[..., counted]
        mean[..., counted] = inverse(values) * scale
        if std is not None:
            std[..., counted] *= inverse_slope(values) * scale
    return mean, std


def count_gain(totals, reconstruction, observed, unit):
    """Per-layer factor ``(N,)`` that makes each count layer keep its observed counts.

    For a reconstruction ``lambda`` of Poisson counts ``z``, the maximum-likelihood
    factor ``c`` of ``c * lambda`` satisfies ``sum c lambda = sum z`` over the
    observed entries; the inverse transform alone misses that sum by about a
    percent at a few counts per entry (two standard errors of the total of a
    256 x 256 image of 4 counts per pixel are 0.4 %). ``totals``: the observed
    sum of each layer (data units); 1 for layers that are not counts.
    """
    gain = np.ones(len(unit))
    for layer in np.flatnonzero(np.asarray(unit) > 0):
        fitted = reconstruction[..., layer][observed[..., layer]].sum()
        if fitted > 0 and totals[layer] > 0:
            gain[layer] = totals[layer] / fitted
    return gain
