"""The planner: scores of unvisited positions and batches under scan constraints."""

import numpy as np
import pytest

from hyperspy_cs.adaptive import CRITERIA, acquisition_score, plan_batch


def _measured(shape=(48, 48), fraction=0.05, seed=0):
    return np.random.default_rng(seed).random(shape) < fraction


def test_std_sends_the_batch_where_the_model_is_unsure():
    measured = _measured()
    std = np.full(measured.shape, 0.1)
    std[10:20, 30:40] = 1.0
    score = acquisition_score(measured, criterion="std", std=std)
    assert np.all(score[measured] == 0) and score.min() >= 0
    batch = plan_batch(score, measured, 40, seed=0)
    inside = (batch[:, 0] >= 10) & (batch[:, 0] < 20) & (batch[:, 1] >= 30) & (batch[:, 1] < 40)
    # The square is 4 % of the field and gets over a third of the batch, spread
    # out rather than piled up (its 95 free pixels are not all taken).
    assert inside.mean() > 0.35
    assert not measured[batch[:, 0], batch[:, 1]].any()
    assert len({tuple(p) for p in batch}) == len(batch)


def test_std_gradient_prefers_edges_to_flat_uncertain_regions():
    measured = _measured()
    estimate = np.zeros(measured.shape)
    estimate[:, 24:] = 1.0  # one vertical edge
    score = acquisition_score(measured, criterion="std_gradient", estimate=estimate,
                              std=np.ones(measured.shape))
    batch = plan_batch(score, measured, 30, seed=0)
    assert np.all(np.abs(batch[:, 1] - 23.5) < 5)


def test_distance_variation_spends_positions_on_texture():
    rng = np.random.default_rng(1)
    values = np.zeros((48, 48))
    values[:, 24:] = rng.random((48, 24))  # textured right half, flat left half
    measured = _measured(fraction=0.1)
    score = acquisition_score(measured, criterion="distance_variation", values=values)
    batch = plan_batch(score, measured, 100, seed=0)
    # The ten nearest measured neighbours reach about 6 px across the boundary.
    assert (batch[:, 1] >= 18).mean() > 0.95
    assert (batch[:, 1] < 12).sum() == 0


def test_a_batch_spreads_over_a_flat_score():
    measured = np.zeros((64, 64), bool)
    measured[0, 0] = True
    batch = plan_batch(np.ones((64, 64)), measured, 64, seed=0)
    gaps = np.hypot(*(batch[:, None] - batch[None]).transpose(2, 0, 1)).astype(float)
    np.fill_diagonal(gaps, np.inf)
    random = np.random.default_rng(0).choice(64 * 64, 64, replace=False)
    random = np.column_stack(np.divmod(random, 64))
    random_gaps = np.hypot(*(random[:, None] - random[None]).transpose(2, 0, 1)).astype(float)
    np.fill_diagonal(random_gaps, np.inf)
    # Nearest-neighbour gaps: a spread batch has no near-duplicates, random ones do.
    assert gaps.min(axis=1).min() >= 3
    assert gaps.min(axis=1).mean() > 1.3 * random_gaps.min(axis=1).mean()


def test_orders_and_travel_budget():
    measured = _measured()
    score = acquisition_score(measured, criterion="std", std=np.random.default_rng(2).random(
        measured.shape))
    rows = plan_batch(score, measured, 50, order="rows", seed=0)
    assert np.all(np.diff(rows[:, 0] * 48 + rows[:, 1]) > 0)
    anyway = plan_batch(score, measured, 50, seed=0)
    assert {tuple(p) for p in rows} == {tuple(p) for p in anyway}
    path = plan_batch(score, measured, 50, max_travel=60.0, start=(0, 0), seed=0)
    steps = np.diff(np.vstack([[0, 0], path]), axis=0)
    assert 0 < len(path) < 50
    assert np.hypot(*steps.T).sum() <= 60.0
    np.testing.assert_array_equal(plan_batch(score, measured, 50, seed=0), anyway)


def test_the_planner_checks_its_input():
    measured = _measured()
    with pytest.raises(ValueError, match="criterion"):
        acquisition_score(measured, criterion="entropy", std=np.ones((48, 48)))
    with pytest.raises(ValueError, match="std"):
        acquisition_score(measured, criterion="std")
    with pytest.raises(ValueError, match="measured"):
        acquisition_score(np.zeros((48, 48), bool), criterion="std", std=np.ones((48, 48)))
    with pytest.raises(TypeError, match="measured"):
        acquisition_score(measured.astype(int), criterion="std", std=np.ones((48, 48)))
    with pytest.raises(ValueError, match="std"):
        acquisition_score(measured, criterion="std", std=np.ones((40, 48)))
    with pytest.raises(ValueError, match="score"):
        plan_batch(-np.ones((48, 48)), measured, 5)
    with pytest.raises(ValueError, match="order"):
        plan_batch(np.ones((48, 48)), measured, 5, order="spiral")
    with pytest.raises(ValueError, match="start"):
        plan_batch(np.ones((48, 48)), measured, 5, max_travel=10, start=(60, 0))
    assert set(CRITERIA) == {"std", "std_gradient", "distance_variation"}
