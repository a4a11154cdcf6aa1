"""The patch size chosen from the scan (``patch_size="auto"``, the default)."""

import pathlib

import hyperspy.api as hs
import numpy as np
import pytest
from skimage import data as skdata

import hyperspy_cs as cs
from hyperspy_cs.bpfa._patch_size import auto_patch_size, periodic, resolve_patch_size

DATA = pathlib.Path(__file__).resolve().parents[1] / "data"
FAST = {"n_iter": 4, "burn_in": 2, "n_atoms": 16, "show_progressbar": False}


@pytest.mark.parametrize(("fraction", "image", "crystal"), [
    (1.0, 8, 8), (0.4, 8, 8), (0.25, 8, 10), (0.2, 8, 11), (0.1, 11, 16), (0.05, 16, 20),
    (0.02, 20, 20),
])
def test_image_patches_grow_as_the_fraction_drops(fraction, image, crystal):
    assert auto_patch_size(fraction, (256, 256), kind="image")[0] == image
    assert auto_patch_size(fraction, (256, 256), kind="crystal")[0] == crystal


@pytest.mark.parametrize(("shape", "side"), [((128, 128), 16), ((40, 300), 8), ((6, 6), 6)])
def test_small_scans_cap_the_patch(shape, side):
    found, reason = auto_patch_size(0.02, shape, kind="image")
    assert found == side
    assert f"{side} px" in reason


def test_a_guide_keeps_spectrum_image_patches_small():
    assert auto_patch_size(0.05, (256, 256), kind="spectrum_image", guided=True)[0] == 6
    assert auto_patch_size(0.05, (256, 256), kind="spectrum_image")[0] == 16
    assert auto_patch_size(0.1, (256, 256), kind="spectrum_image")[0] == 11
    assert auto_patch_size(1.0, (256, 256), kind="spectrum_image")[0] == 6


@pytest.mark.parametrize(("fraction", "shape", "counts", "side"), [
    (1.0, (80, 80), 1.5, 10),  # ceil(sqrt(150 / 1.5)), the granite map's line counts
    (1.0, (80, 80), 4.5, 6),  # enough counts already
    (0.1, (80, 80), 1.5, 10),  # the sampling rule's 80 // 8 already holds them
    (0.1, (80, 80), 40.0, 10),  # the sampling rule's own: ceil(sqrt(12 / 0.1)) capped
    (1.0, (64, 64), 0.16, 16),  # the FePt map: a quarter of its side
    (0.05, (256, 256), 0.0, 20),  # no counts at all: the largest patch
])
def test_count_layers_grow_the_patch_until_it_holds_enough_counts(fraction, shape, counts,
                                                                  side):
    found, reason = auto_patch_size(fraction, shape, kind="spectrum_image", counts=counts)
    assert found == side
    assert reason.endswith(f"{side} px")
    assert ("150 counts" in reason) == (side > auto_patch_size(
        fraction, shape, kind="spectrum_image")[0])
    assert auto_patch_size(fraction, shape, kind="spectrum_image", guided=True,
                           counts=counts)[0] == 6


def srtio3(side):
    """The central ``side`` x ``side`` crop of the SrTiO3 ADF image, in [0, 1]."""
    s = hs.load(DATA / "SrTiO3_ADF_cropped.hdf5", file_format="HSPY")
    n_cols, n_rows = s.axes_manager.signal_shape
    top, left = (n_rows - side) // 2, (n_cols - side) // 2
    s = s.isig[left:left + side, top:top + side]
    s.change_dtype("float64")
    s.data = (s.data - s.data.min()) / np.ptp(s.data)
    return s


@pytest.mark.parametrize("pattern", ["random", "line_hop"])
@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.25, 1.0])
def test_a_lattice_is_found_in_a_crystal_and_not_in_camera(fraction, pattern):
    camera = hs.signals.Signal2D(skdata.camera()[::4, ::4].astype(float))
    for image, expected in ((srtio3(128), True), (camera, False)):
        sub = image.subsample(fraction, pattern, seed=1) if fraction < 1 else image
        observed = cs.get_mask(sub)[None] if fraction < 1 else np.ones((1, 128, 128), bool)
        assert periodic(sub.data[None, ..., None], observed) is expected


@pytest.mark.parametrize(("patch_size", "error", "match"), [
    ("big", ValueError, "'auto' or an int"),
    (9, ValueError, "do not fit"),
    (1, ValueError, "patch_size"),
    (4.5, TypeError, "patch_size"),
])
def test_bad_patch_sizes_are_named(patch_size, error, match):
    with pytest.raises(error, match=match):
        resolve_patch_size(patch_size, None, np.ones((1, 8, 8), bool),
                           data=np.ones((1, 8, 8, 1)))


def test_the_choice_and_its_reason_are_recorded():
    truth = cs.data.atomic_resolution_image(shape=(96, 96), lattice_spacing=10.0, seed=0)
    sub = truth.subsample(0.1, seed=1)
    rec = sub.inpaint_bpfa(seed=0, **FAST)
    node = rec.metadata.Reconstruction
    assert node.parameters.patch_size == 12  # 96 // 8 caps the 16 px of a crystal at 10 %
    assert node.patch_size_reason.startswith("crystal, 10.0% of the positions visited")
    reused = sub.inpaint_bpfa(dictionary=cs.get_dictionary(rec), learn_dictionary=False,
                              seed=0, **FAST)
    assert reused.metadata.Reconstruction.parameters.patch_size == 12
    assert "dictionary" in reused.metadata.Reconstruction.patch_size_reason


def test_spectrum_images_record_the_choice():
    si, bse = cs.data.eds_spectrum_image(shape=(32, 32), n_channels=256, seed=0)
    sub = si.subsample(0.1, seed=1)
    guided = sub.inpaint_bpfa3d(guide=bse, layers=2, seed=0, **FAST)
    assert guided.metadata.Reconstruction.parameters.patch_size == 6
    assert "guide" in guided.metadata.Reconstruction.patch_size_reason


def test_auto_beats_small_patches_and_biharmonic_on_a_crystal_at_10_percent():
    """Real SrTiO3 ADF data, 128 x 128 crop at 10 % random, default sweeps: 29.98 dB
    at auto (16 px) against 28.94 at 8 px and 29.01 for biharmonic (seed 0)."""
    s = srtio3(128)
    sub = s.subsample(0.1, "random", seed=0)
    auto = cs.psnr(s, sub.inpaint_bpfa(seed=0, show_progressbar=False), data_range=1.0)
    small = cs.psnr(s, sub.inpaint_bpfa(patch_size=8, seed=0, show_progressbar=False),
                    data_range=1.0)
    biharmonic = cs.psnr(s, cs.inpaint(sub, method="biharmonic"), data_range=1.0)
    assert auto > small + 0.7
    assert auto > biharmonic + 0.7
