"""The grid of patches (``hyperspy_cs._patch_grid``), shared by BPFA and K-SVD."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hyperspy_cs._patch_grid import box_sums, cover, grid_axis


@given(length=st.integers(1, 60), b=st.integers(1, 12), stride=st.integers(1, 12))
def test_every_pixel_is_covered_and_the_last_patch_reaches_the_edge(length, b, stride):
    assume(b <= length and stride <= b)
    starts = grid_axis(length, b, stride)
    assert starts[0] == 0 and starts[-1] == length - b
    assert np.all(np.diff(starts) > 0) and np.all(np.diff(starts) <= stride)
    np.testing.assert_array_equal(starts[:-1] % stride, 0)
    covered = np.zeros(length, int)
    for s in starts:
        covered[s:s + b] += 1
    assert covered.min() >= 1


def test_stride_one_is_every_overlapping_patch():
    np.testing.assert_array_equal(grid_axis(13, 4, 1), np.arange(10))


@given(origin=st.integers(0, 30), length=st.integers(5, 30), stride=st.integers(1, 5))
def test_a_block_holds_the_patches_of_the_scan_that_lie_inside_it(origin, length, stride):
    """A tile's grid is the scan's grid cut to the tile: whatever its corner, it
    never adds a patch of its own, so its patches are the full run's."""
    b, extent = 5, 70
    assume(origin + length <= extent)
    scan = grid_axis(extent, b, stride)
    inside = scan[(scan >= origin) & (scan <= origin + length - b)] - origin
    np.testing.assert_array_equal(grid_axis(length, b, stride, origin, extent), inside)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_cover_gives_the_patches_over_each_pixel(stride):
    b, length = 4, 15
    starts = grid_axis(length, b, stride)
    lo, hi = cover(starts, b, length).T
    for y in range(length):
        expected = np.flatnonzero((starts <= y) & (y < starts + b))
        np.testing.assert_array_equal(np.arange(lo[y], hi[y] + 1), expected)


def test_cover_is_empty_where_no_patch_lies():
    """The far side of a tile's halo can lie off the grid: no patch covers it."""
    starts = grid_axis(10, 4, 3, origin=1, extent=30)  # the scan's patches at 3 and 6
    np.testing.assert_array_equal(starts, [2, 5])
    lo, hi = cover(starts, 4, 10).T
    assert lo[0] > hi[0] and lo[9] > hi[9] and np.all(lo[2:9] <= hi[2:9])


@given(b=st.integers(1, 6), stride=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_box_sums_are_the_sums_over_each_patch(b, stride, seed):
    assume(stride <= b)
    image = np.random.default_rng(seed).integers(0, 4, size=(2, 11, 9))
    rows, cols = grid_axis(11, b, stride), grid_axis(9, b, stride)
    expected = [image[f, r:r + b, c:c + b].sum() for f in range(2) for r in rows for c in cols]
    np.testing.assert_array_equal(box_sums(image, b, rows, cols), expected)
