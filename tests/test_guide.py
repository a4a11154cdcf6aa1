import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs import _scan
from hyperspy_cs.guide import check_guide, with_guide


@pytest.fixture
def si_and_bse():
    si, bse = cs.data.eds_spectrum_image(shape=(20, 30), n_channels=1024, seed=0)
    return si, bse


def test_resample_a_finer_guide_of_the_same_field_of_view(si_and_bse):
    si, bse = si_and_bse
    fine = bse.rebin(scale=(0.5, 0.5))  # 60 x 40, same field of view
    fine.data[:] = np.kron(bse.data, np.ones((2, 2)))
    back = cs.resample_guide(fine, si)
    assert back.data.shape == (20, 30)
    assert np.allclose(back.data, bse.data, atol=0.05 * bse.data.max())
    assert back.axes_manager[0].scale == si.axes_manager[0].scale


def test_a_guide_of_another_field_of_view_is_rejected(si_and_bse):
    si, bse = si_and_bse
    with pytest.raises(ValueError, match="field of view"):
        cs.resample_guide(bse.isig[:15, :], si)


def test_units_must_agree(si_and_bse):
    si, bse = si_and_bse
    other = bse.deepcopy()
    other.axes_manager[0].units = other.axes_manager[1].units = "px"
    with pytest.raises(ValueError, match="convert"):
        cs.resample_guide(other, si)


def test_check_guide_broadcasts_to_frames(si_and_bse):
    si, bse = si_and_bse
    stack = hs.stack([si, si])
    layout = _scan.scan_layout(stack)
    guide = check_guide(bse, layout)
    assert guide.shape == (2, 20, 30, 1)
    with pytest.raises(TypeError, match="real numeric"):
        check_guide(np.ones((20, 30), complex), layout)


def test_with_guide_puts_the_fully_observed_guide_first():
    maps = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)
    observed = np.zeros((2, 3, 4), bool)
    observed[:, ::2] = True
    guide = np.full((2, 3, 4, 1), -1.0)
    stacked, layer_observed, weights = with_guide(maps, observed, guide, [2.5])
    assert np.array_equal(stacked[..., 0], guide[..., 0])
    assert np.array_equal(stacked[..., 1:], maps)
    assert layer_observed[..., 0].all()
    assert np.array_equal(layer_observed[..., 1:], np.stack([observed] * 2, axis=-1))
    assert weights.tolist() == [2.5, 1.0, 1.0]
    plain, plain_observed, plain_weights = with_guide(maps, observed, None, [])
    assert plain is maps and plain_observed.shape == maps.shape and plain_weights.tolist() == [1, 1]
