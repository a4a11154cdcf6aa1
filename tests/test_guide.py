import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs import _scan
from hyperspy_cs._guide import check_guide, with_guide


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


def ramp_guide(x_positions, factor=3):
    """A guide ``factor`` times finer than a 20-row, 20 nm scan at ``x_positions`` (nm), over the
    same field of view (mean pitch times size), whose value is the x position of its pixels."""
    n = x_positions.size
    pitch = (x_positions[-1] - x_positions[0]) / (n - 1)
    scale = pitch / factor
    centres = x_positions[0] - pitch / 2 + scale * (np.arange(factor * n) + 0.5)
    guide = hs.signals.Signal2D(np.tile(centres, (factor * 20, 1)))
    x, y = guide.axes_manager.signal_axes
    x.name, x.units, x.scale, x.offset = "x", "nm", scale, centres[0]
    y.name, y.units, y.scale, y.offset = "y", "nm", 20 / factor, -10 + 10 / factor
    return guide


@pytest.mark.parametrize("kind", ["DataAxis", "FunctionalDataAxis"])
def test_resample_onto_a_non_uniform_scan_axis(tmp_path, si_and_bse, kind):
    si, _ = si_and_bse
    x_axis = si.axes_manager["x"]
    if kind == "DataAxis":
        j = np.arange(x_axis.size)
        x_axis.convert_to_non_uniform_axis()
        x_axis.axis = 20.0 * (j + 0.02 * j**2)  # the pitch grows from 20 to 43 nm
    else:
        x_axis.convert_to_functional_data_axis(expression="x + a * x**2", a=0.001)  # the same
    x_axis = si.axes_manager["x"]
    assert type(x_axis).__name__ == kind and not hasattr(x_axis, "scale")
    back = cs.resample_guide(ramp_guide(x_axis.axis), si)
    assert back.data.shape == (20, 30)
    # each scan pixel reads the guide at its own position, not where a uniform grid would put it
    # (edge pixels aside, where the guide's last pixels are extrapolated)
    assert np.allclose(back.data[:, 2:-2], x_axis.axis[2:-2], rtol=0, atol=1e-6)
    # the scan's axes, valid for HyperSpy: saved and read back
    assert type(back.axes_manager["x"]).__name__ == kind
    back.save(tmp_path / "guide.hspy")
    again = hs.load(tmp_path / "guide.hspy")
    assert np.array_equal(again.axes_manager["x"].axis, x_axis.axis)
    assert again.axes_manager["y"].scale == si.axes_manager["y"].scale == 20
    assert check_guide(again, _scan.scan_layout(si)).shape == (1, 20, 30, 1)
    # a field of view that does not match is still rejected
    with pytest.raises(ValueError, match="guide: its field of view"):
        cs.resample_guide(ramp_guide(x_axis.axis).isig[:60, :], si)


def test_resample_a_guide_with_a_non_uniform_axis(si_and_bse):
    si, _ = si_and_bse
    j = np.arange(90)
    x_guide = 20 / 3 * (j + 0.01 * j**2)
    guide = ramp_guide(x_guide, factor=1)  # 90 x 20 pixels, the field of view of x_guide...
    x = guide.axes_manager["x"]
    x.convert_to_non_uniform_axis()
    x.axis = x_guide  # ...where the pixels lie, and the guide's value is their position
    guide.data[:] = x_guide
    pitch = (x_guide[-1] - x_guide[0]) / 89
    scan_x = si.axes_manager["x"]
    scan_x.scale, scan_x.offset = 3 * pitch, x_guide[0] + pitch  # the same field of view
    back = cs.resample_guide(guide, si)
    assert back.data.shape == (20, 30) and back.axes_manager["x"].scale == scan_x.scale
    assert np.allclose(back.data[:, 2:-2], scan_x.axis[2:-2], rtol=0, atol=1e-6)


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
    # no weight given: each layer's noise precision is learned (no weights for the engine)
    assert with_guide(maps, observed, guide, [])[2] is None
    plain, plain_observed, plain_weights = with_guide(maps, observed, None, [])
    assert plain is maps and plain_observed.shape == maps.shape and plain_weights is None
