"""The Anscombe transform and its exact unbiased inverse (hyperspy_cs.bpfa._anscombe)."""

import numpy as np
import pytest
from scipy import stats

from hyperspy_cs.bpfa import _anscombe


def _expected_transform(lam):
    """``E[2 sqrt(z + 3/8)]`` for ``z ~ Poisson(lam)``, summed over the pmf."""
    z = np.arange(int(lam + 40 * np.sqrt(lam) + 40))
    return float(np.sum(stats.poisson.pmf(z, lam) * _anscombe.forward(z)))


@pytest.mark.parametrize("lam", [0.5, 1.0, 2.0, 5.0, 20.0, 200.0])
def test_the_inverse_of_the_expected_transform_is_the_mean_count(lam):
    # Makitalo & Foi's closed form is within a few hundredths of a count of the
    # exact unbiased inverse from 0.5 counts up; the algebraic inverse is biased
    # low by about 1/4 of a count at a few counts.
    expected = _expected_transform(lam)
    assert abs(_anscombe.inverse(expected) - lam) < 0.02 + 1e-3 * lam
    algebraic = (expected / 2) ** 2 - 3 / 8
    if lam <= 5:
        assert lam - algebraic > 0.1


def test_the_inverse_is_non_negative_increasing_and_its_slope_is_its_derivative():
    values = np.linspace(0.0, 30.0, 3001)
    counts = _anscombe.inverse(values)
    assert counts.min() == 0.0 and np.all(np.diff(counts) >= 0)
    assert np.all(counts[values <= 2 * np.sqrt(3 / 8)] == 0)
    inside = values[(values > 1.5) & (values < 29.0)]
    numeric = (_anscombe.inverse(inside + 1e-6) - _anscombe.inverse(inside - 1e-6)) / 2e-6
    assert np.allclose(_anscombe.inverse_slope(inside), numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lam", [0.0, 2e-5, 0.03, 0.3, 1.0, 3.0, 40.0, 5e3])
def test_the_variance_is_that_of_the_transformed_counts(lam):
    z = np.arange(int(lam + 40 * np.sqrt(lam) + 40))
    p = stats.poisson.pmf(z, lam)
    exact = p @ _anscombe.forward(z) ** 2 - (p @ _anscombe.forward(z)) ** 2
    assert _anscombe.variance(lam) == pytest.approx(exact, rel=2e-3, abs=1e-9)


def test_the_noise_floor_follows_the_local_intensity():
    """A map of empty background and one bright square: the floor is the mean of
    the variances at the local intensities, far below that at the mean intensity
    (and 1, the transform's nominal variance); sub-sampled, it is about the same."""
    rng = np.random.default_rng(0)
    lam = np.zeros((1, 64, 64))
    lam[0, 16:48, 16:48] = 8.0  # a quarter of the map: mean 2 counts per pixel
    counts = rng.poisson(lam).astype(float)
    full = np.ones(lam.shape, bool)
    floor = _anscombe.noise_floor(counts[full], full)
    # a quarter of the area at variance 1, and the edges' blur: 0.30
    assert 0.24 < floor < 0.35
    assert floor < 0.5 * _anscombe.variance(lam.mean())
    sampled = rng.random(lam.shape) < 0.2
    assert _anscombe.noise_floor(counts[sampled], sampled) == pytest.approx(floor, rel=0.25)
    assert _anscombe.noise_floor(np.zeros(0), np.zeros(lam.shape, bool)) == 0.0


def test_counts_in_a_unit_and_values_that_are_not_counts():
    assert np.array_equal(_anscombe.check_counts(np.array([0.0, 0.25, 1.5]), 0.25, layer=0),
                          [0, 1, 6])
    with pytest.raises(ValueError, match="count_unit: the observed values of layer 2"):
        _anscombe.check_counts(np.array([0.0, 0.3]), 0.25, layer=2)
    with pytest.raises(ValueError, match="non-negative"):
        _anscombe.check_counts(np.array([-1.0, 2.0]), 1.0, layer=0)


def test_the_gain_keeps_the_observed_counts_of_count_layers_only():
    rng = np.random.default_rng(0)
    reconstruction = rng.uniform(1, 3, (1, 8, 8, 2))
    observed = rng.random((1, 8, 8, 2)) < 0.5
    totals = np.array([2.0 * reconstruction[..., 0][observed[..., 0]].sum(), 5.0])
    gain = _anscombe.count_gain(totals, reconstruction, observed, np.array([1.0, 0.0]))
    assert gain[1] == 1.0
    assert np.isclose((gain[0] * reconstruction[..., 0])[observed[..., 0]].sum(), totals[0])
