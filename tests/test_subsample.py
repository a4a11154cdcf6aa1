import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest
from conftest import load

import hyperspy_cs as cs


def assert_subsampled(original, sub, sampled):
    """Visited positions keep their values, the others are 0; axes are kept."""
    data, out = np.asarray(original.data), np.asarray(sub.data)
    if original.axes_manager.signal_dimension == 2:
        visited = np.broadcast_to(sampled, data.shape)
    else:
        visited = np.broadcast_to(sampled[..., None], data.shape)
    assert np.array_equal(out[visited], data[visited])
    assert not out[~visited].any()
    for a, b in zip(original.axes_manager._axes, sub.axes_manager._axes):
        assert (a.name, a.scale, a.offset, a.units, a.size) == (b.name, b.scale, b.offset, b.units, b.size)


def test_image(image):
    before = image.data.copy()
    sub = image.subsample(0.25, "random", seed=0)
    assert type(sub) is type(image)
    assert np.array_equal(image.data, before)  # input untouched
    sampled = cs.get_mask(sub)
    assert sampled.shape == (64, 48) and sampled.sum() == round(0.25 * 64 * 48)
    assert_subsampled(image, sub, sampled)
    node = sub.metadata.Acquisition.Subsampling
    assert node.pattern == "random" and node.seed == 0 and node.requested_fraction == 0.25
    assert np.array_equal(np.sort(cs.get_order(sub)), np.flatnonzero(sampled))
    assert sub.original_metadata.Instrument.detector == "HAADF"
    assert not image.metadata.has_item("Acquisition.Subsampling")


def test_plain_function_and_method_agree(image):
    a = cs.subsample(image, 0.1, "jittered", seed=3)
    b = image.subsample(0.1, "jittered", seed=3)
    assert np.array_equal(a.data, b.data)


def test_spectrum_image_from_bruker_keeps_class_and_metadata(bcf_tem):
    haadf, eds = bcf_tem
    sub = eds.subsample(0.1, "line_hop", seed=1)
    assert type(sub) is type(eds) and sub.metadata.Signal.signal_type == "EDS_TEM"
    sampled = cs.get_mask(sub)
    assert sampled.shape == eds.axes_manager.navigation_shape[::-1]
    assert_subsampled(eds, sub, sampled)
    assert sub.metadata.Acquisition_instrument.TEM.beam_energy == eds.metadata.Acquisition_instrument.TEM.beam_energy
    assert sub.metadata.Sample.elements == eds.metadata.Sample.elements


def test_velox_and_digitalmicrograph_files():
    eds = load("Test_SI_16x16_215_kx.emd")[-1]
    sub = eds.subsample(0.5, seed=2)
    assert_subsampled(eds, sub, cs.get_mask(sub))
    eels = load("EELS_SI.dm4")
    sub = eels.subsample(mask=np.array([[True, False], [False, True]]))
    assert type(sub).__name__ == "EELSSpectrum"
    assert_subsampled(eels, sub, cs.get_mask(sub))
    assert sub.metadata.Acquisition.Subsampling.pattern == "mask"


def test_image_stack_gets_one_mask_per_frame(image):
    stack = hs.stack([image] * 3)
    sub = stack.subsample(0.2, seed=4)
    sampled = cs.get_mask(sub)
    assert sampled.shape == (3, 64, 48)
    assert not np.array_equal(sampled[0], sampled[1])
    assert_subsampled(stack, sub, sampled)
    assert cs.get_order(sub).shape[0] == 3


def test_frames_add_a_navigation_axis(bcf_tem):
    haadf, eds = bcf_tem
    sub = haadf.subsample(0.1, "line_hop", seed=5, frames=4)
    assert sub.axes_manager.navigation_shape == (4,)
    assert sub.axes_manager.navigation_axes[0].name == "frame"
    assert sub.axes_manager.signal_shape == haadf.axes_manager.signal_shape
    sampled = cs.get_mask(sub)
    assert sampled.shape == (4, 64, 64)
    assert len({m.tobytes() for m in sampled}) == 4
    sub = eds.subsample(0.2, seed=5, frames=2)
    assert sub.axes_manager.navigation_shape == (64, 64, 2)
    assert sub.data.shape == (2, 64, 64, 2048)


def test_dose_on_an_image_is_poisson():
    # Normalised intensity u = v / max(v): the bright half is u = 1, the rest 0.5.
    truth = hs.signals.Signal2D(np.full((200, 200), 0.5))
    truth.data[:, 100:] = 1.0
    sub = truth.subsample(1.0, dose=40, seed=6)
    values = sub.data[:, :100].ravel()
    # Poisson(40 * 0.5) / 40: mean 0.5, variance 0.5 / 40, quantised in 1/40.
    assert values.mean() == pytest.approx(0.5, rel=0.01)
    assert values.var() == pytest.approx(0.5 / 40, rel=0.05)
    assert np.allclose(values * 40, np.rint(values * 40))
    again = truth.subsample(1.0, dose=40, seed=6)
    assert np.array_equal(sub.data, again.data)


def test_dose_on_counts_gives_integer_counts(bcf_tem):
    _, eds = bcf_tem
    sub = eds.subsample(0.3, dose=100, seed=7)
    assert sub.data.dtype.kind == "u"
    sampled = cs.get_mask(sub)
    total = sub.data[sampled].sum(dtype=float)
    expected = 100 * eds.data[sampled].sum(dtype=float) / eds.data[sampled].max()
    assert total == pytest.approx(expected, rel=0.02)
    assert not sub.data[~sampled].any()
    assert sub.metadata.Acquisition.Subsampling.dose == 100


def test_lazy_in_lazy_out_and_same_result(bcf_tem):
    _, eds = bcf_tem
    eager = eds.subsample(0.2, "spiral", seed=8)
    lazy = eds.as_lazy().subsample(0.2, "spiral", seed=8)
    assert lazy._lazy and isinstance(lazy.data, da.Array)
    assert np.array_equal(cs.get_mask(lazy), cs.get_mask(eager))
    lazy.compute()
    assert np.array_equal(lazy.data, eager.data)
    forced = eds.subsample(0.2, seed=8, lazy_output=True)
    assert forced._lazy


def test_lazy_dose_is_reproducible(image):
    a = image.as_lazy().subsample(0.5, seed=9, dose=30)
    b = image.as_lazy().subsample(0.5, seed=9, dose=30)
    first = a.data.compute()
    assert np.array_equal(first, a.data.compute())  # computing again draws the same noise
    assert np.array_equal(first, b.data.compute())


def test_mask_survives_save_and_lazy_load(tmp_path, bcf_tem):
    _, eds = bcf_tem
    sub = eds.subsample(0.1, "jittered", seed=10)
    sub.save(tmp_path / "sub.hspy")
    sub.save(tmp_path / "sub.zspy")
    for name in ("sub.hspy", "sub.zspy"):
        for lazy in (False, True):
            back = hs.load(tmp_path / name, lazy=lazy)
            assert np.array_equal(cs.get_mask(back), cs.get_mask(sub))
            assert np.array_equal(cs.get_order(back), cs.get_order(sub))


def test_positions(image):
    positions = [(0, 0), (63, 47), (10, 20)]
    sub = image.subsample(positions=positions)
    assert list(cs.get_order(sub)) == [0, 63 * 48 + 47, 10 * 48 + 20]
    assert sub.metadata.Acquisition.Subsampling.pattern == "positions"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"fraction": 0}, ValueError, "fraction"),
        ({"fraction": 1.5}, ValueError, "fraction"),
        ({"pattern": "zigzag"}, ValueError, "pattern"),
        ({"mask": np.ones((3, 3), bool)}, ValueError, "mask: expected a bool array of shape"),
        ({"dose": -1}, ValueError, "dose"),
        ({"frames": 0}, ValueError, "frames"),
        ({"seed": "abc"}, TypeError, "seed"),
        ({"pattern": ["random"]}, TypeError, "pattern: expected one of"),
        ({"dose": 1e20}, ValueError, "dose: expected at most"),
        ({"lazy_output": "yes"}, TypeError, "lazy_output"),
        ({"mask": np.ones((64, 48), bool), "positions": [(0, 0)]}, ValueError, "one of them"),
    ],
)
def test_bad_arguments(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        image.subsample(**kwargs)


def test_signals_without_scan_axes_are_rejected():
    with pytest.raises(ValueError, match="no scan axes"):
        hs.signals.Signal1D(np.zeros(100)).subsample(0.5)
    with pytest.raises(ValueError, match="no scan axes"):
        hs.signals.Signal1D(np.zeros((10, 100))).subsample(0.5)


def test_nan_with_dose_is_rejected(image):
    image.data[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        image.subsample(1.0, dose=10)


def test_negative_with_dose_is_rejected(image):
    image.data[3, 4] = -1
    with pytest.raises(ValueError, match="negative"):
        image.subsample(1.0, dose=10)


def test_complex_is_rejected():
    with pytest.raises(TypeError, match="complex"):
        hs.signals.ComplexSignal2D(np.ones((8, 8), complex)).subsample(0.5)


def test_subsampling_twice_is_refused(image):
    sub = image.subsample(0.5, seed=0)
    with pytest.raises(ValueError, match="already sub-sampled"):
        sub.subsample(0.5)


def test_the_advice_for_subsampling_further_works(image):
    sub = image.subsample(0.5, seed=0, dose=100)
    top_half = np.zeros((64, 48), bool)
    top_half[:32] = True
    further = sub.subsample(mask=cs.get_mask(sub) & top_half)
    kept = cs.get_mask(sub) & top_half
    assert np.array_equal(cs.get_mask(further), kept)
    assert np.array_equal(further.data[kept], sub.data[kept]) and not further.data[~kept].any()
    assert further.metadata.Acquisition.Subsampling.dose == 100  # the values keep their dose
    with pytest.raises(ValueError, match="mask: .* not visited in the sub-sampled signal"):
        sub.subsample(mask=top_half)  # positions that hold no measurement
    with pytest.raises(ValueError, match="positions: 1 position"):
        sub.subsample(positions=np.argwhere(~cs.get_mask(sub))[:1])


def test_dose_reads_only_visited_positions(image):
    sampled = np.zeros((64, 48), bool)
    sampled[::2] = True
    image.data[~sampled] = np.nan  # an instrument's "not measured"
    image.data[1, 3], image.data[3, 5] = -5.0, 1e6  # negative, and far above the visited peak
    sub = image.subsample(mask=sampled, dose=50, seed=0)
    assert np.isfinite(sub.data).all() and not sub.data[~sampled].any()
    peak = image.data[sampled].max()
    counts = sub.data[sampled] * 50 / peak
    assert np.allclose(counts, np.rint(counts)) and counts.min() >= 0
    # The dose is relative to the visited peak: the mean count follows the data.
    assert counts.mean() == pytest.approx(50 * image.data[sampled].mean() / peak, rel=0.05)


def test_dose_counts_never_wrap_around():
    full = hs.signals.Signal2D(np.full((8, 8), 65535, np.uint16))
    counts = full.subsample(1.0, dose=6e9, seed=0).data
    # Poisson(6e9) is 6e9 +- 8e4, above uint32's 4.29e9.
    assert np.abs(counts.astype(np.float64) - 6e9).max() < 1e6
    signed = hs.signals.Signal2D(np.full((8, 8), 3, np.int16))
    assert signed.subsample(1.0, dose=1e3, seed=0).data.dtype.kind == "i"


def test_a_one_channel_spectrum_image_is_a_spectrum_image():
    # HyperSpy leaves size-1 axes out of signal_dimension: (6, 6|1) has "0" signal
    # dimensions, which was refused as "no scan axes".
    si = hs.signals.Signal1D(np.random.default_rng(0).random((6, 6, 1)))
    sub = si.subsample(0.5, seed=0)
    assert type(sub) is hs.signals.Signal1D and cs.get_mask(sub).shape == (6, 6)
    assert_subsampled(si, sub, cs.get_mask(sub))
    for out in (sub.inpaint("linear"),
                sub.inpaint_bpfa3d(patch_size=3, n_iter=2, show_progressbar=False, seed=0)):
        assert type(out) is hs.signals.Signal1D and out.data.shape == (6, 6, 1)
        assert np.isfinite(out.data).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dose_on_near_max_floats_is_finite_or_refused(dtype):
    # The counts per unit dose times the peak overflowed the dtype: inf.
    top = np.finfo(dtype).max / 4
    image = hs.signals.Signal2D(np.full((8, 8), top, dtype))
    if dtype == np.float32:
        noisy = image.subsample(1.0, seed=0, dose=0.5).data
        assert noisy.dtype == np.float64 and np.isfinite(noisy).all()
        assert set(np.unique(noisy / top * 0.5).round(6)) <= set(range(30))  # counts
        assert image.subsample(1.0, seed=0, dose=100).data.dtype == np.float32  # if it fits
    else:
        with pytest.raises(ValueError, match=r"^signal: values up to 4.49e\+307 overflow.*"
                                             "divide the data by a constant first"):
            image.subsample(1.0, seed=0, dose=0.5)
