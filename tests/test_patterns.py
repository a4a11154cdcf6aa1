import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperspy_cs.patterns import (
    PATTERNS,
    pattern_from_mask,
    pattern_from_positions,
    scan_pattern,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    fraction=st.floats(0.005, 1.0),
    pattern=st.sampled_from(sorted(PATTERNS)),
    seed=st.integers(0, 2**31 - 1),
)
def test_every_pattern_is_a_consistent_mask_and_order(rows, cols, fraction, pattern, seed):
    sampled, order = scan_pattern((rows, cols), fraction=fraction, pattern=pattern, seed=seed)
    assert sampled.shape == (rows, cols) and sampled.dtype == bool
    assert order.dtype == np.int64
    assert order.size >= 1
    assert np.unique(order).size == order.size
    assert sampled.sum() == order.size
    assert sampled.flat[order].all()


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1, 0.25])
def test_random_visits_exactly_round_fn(fraction):
    sampled, order = scan_pattern((256, 256), fraction=fraction, pattern="random", seed=1)
    assert sampled.sum() == round(fraction * 256 * 256)
    assert np.all(np.diff(order) > 0)  # raster visit order


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3])
def test_line_hop_fraction_and_forward_hops(fraction):
    sampled, order = scan_pattern((256, 256), fraction=fraction, pattern="line_hop", seed=2)
    assert abs(sampled.mean() - fraction) <= 0.01 * fraction
    rows, cols = np.divmod(order, 256)
    same_row = np.diff(rows) == 0
    # Along a row the beam only moves forward, and rows are scanned in order.
    assert np.all(np.diff(cols)[same_row] > 0)
    assert np.all(np.diff(rows) >= 0)
    # Hops are random, not a fixed stride.
    hops = np.diff(cols)[same_row]
    assert hops.std() > 0.3 * hops.mean()
    assert abs(hops.mean() - 1 / fraction) < 0.25 / fraction


def test_jittered_has_one_position_per_block():
    sampled, _ = scan_pattern((64, 64), fraction=1 / 64, pattern="jittered", seed=3)
    blocks = sampled.reshape(8, 8, 8, 8).sum(axis=(1, 3))
    assert np.all(blocks == 1)
    assert sampled.mean() == pytest.approx(1 / 64)


def test_jittered_positions_are_random_within_blocks():
    a, _ = scan_pattern((64, 64), fraction=1 / 16, pattern="jittered", seed=4)
    b, _ = scan_pattern((64, 64), fraction=1 / 16, pattern="jittered", seed=5)
    assert not np.array_equal(a, b)


def test_regular_is_a_lattice():
    sampled, order = scan_pattern((64, 64), fraction=0.25, pattern="regular")
    rows, cols = np.nonzero(sampled)
    assert set(np.unique(np.diff(np.unique(rows)))) == {2}
    assert set(np.unique(np.diff(np.unique(cols)))) == {2}
    assert sampled.sum() == 32 * 32


def test_spiral_starts_in_the_centre_and_moves_outwards():
    sampled, order = scan_pattern((128, 128), fraction=0.1, pattern="spiral")
    rows, cols = np.divmod(order, 128)
    radius = np.hypot(rows - 63.5, cols - 63.5)
    assert radius[0] < 2
    # Radius grows along the path (locally it oscillates by at most one turn).
    assert np.corrcoef(np.arange(radius.size), radius)[0, 1] > 0.9
    steps = np.hypot(np.diff(rows), np.diff(cols))
    assert np.median(steps) < 1 / np.sqrt(0.1) + 1.5
    assert abs(sampled.mean() - 0.1) < 0.02


def test_patterns_are_reproducible():
    for pattern in PATTERNS:
        a = scan_pattern((50, 70), fraction=0.2, pattern=pattern, seed=7)
        b = scan_pattern((50, 70), fraction=0.2, pattern=pattern, seed=7)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_positions_keep_acquisition_order():
    positions = [(3, 4), (0, 0), (9, 1)]
    sampled, order = pattern_from_positions(positions, (10, 5))
    assert list(order) == [3 * 5 + 4, 0, 9 * 5 + 1]
    assert sampled.sum() == 3


@pytest.mark.parametrize(
    "positions, match",
    [
        ([(0, 0), (0, 0)], "twice"),
        ([(10, 0)], "outside"),
        ([(-1, 0)], "outside"),
        ([(0.5, 1)], "integer"),
        (np.zeros((0, 2)), "non-empty"),
        ([1, 2, 3], r"\(n, 2\)"),
    ],
)
def test_bad_positions(positions, match):
    with pytest.raises(ValueError, match=match):
        pattern_from_positions(positions, (10, 5))


def test_bad_mask():
    with pytest.raises(ValueError, match="shape"):
        pattern_from_mask(np.ones((4, 4), bool), (4, 5))
    with pytest.raises(TypeError, match="bool"):
        pattern_from_mask(np.ones((4, 5)), (4, 5))
    with pytest.raises(ValueError, match="no position"):
        pattern_from_mask(np.zeros((4, 5), bool), (4, 5))


@pytest.mark.parametrize("fraction", [0, -0.1, 1.5, float("nan")])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        scan_pattern((8, 8), fraction=fraction)


def test_unknown_pattern():
    with pytest.raises(ValueError, match="pattern: expected one of"):
        scan_pattern((8, 8), fraction=0.5, pattern="zigzag")
