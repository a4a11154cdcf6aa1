import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs import _scan
from hyperspy_cs.guide import check_guide


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
