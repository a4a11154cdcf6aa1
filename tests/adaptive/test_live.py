"""LiveReconstruction: row windows of the backend, warm-started updates, latency-free checks."""

import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs.bpfa._backend import CPUBackend
from hyperspy_cs.bpfa._engine import _atom_prior_precision


def _crystal(likelihood):
    """A 64 x 64 lattice image at 2000 e-/pixel, and a dictionary learned on a first pass."""
    s = cs.data.atomic_resolution_image(shape=(64, 64), lattice_spacing=8.0, dose=2000,
                                        seed=0)
    first = cs.inpaint_bpfa(s.subsample(0.3, seed=1), patch_size=6, n_iter=30, seed=0,
                            likelihood=likelihood, show_progressbar=False)
    return s, cs.get_dictionary(first)


@pytest.fixture(scope="module")
def crystal():
    return _crystal("gaussian")


@pytest.fixture(scope="module")
def counted():
    """The same, with the dictionary learned on the counts (the default for a dose image)."""
    return _crystal("auto")


def _backend(seed=0, stride=1):
    rng = np.random.default_rng(seed)
    obs = rng.random((1, 20, 18, 1)) < 0.4
    x = np.where(obs, rng.standard_normal(obs.shape), 0.0)
    D = rng.standard_normal((16, 4 * 4)).astype(np.float32) / 4
    return CPUBackend(x, obs, b=4, dictionary=D, prior_prec=_atom_prior_precision(4, 0, 16),
                      key=123, origin=(0, 0), learn=False, stride=stride)


@pytest.mark.parametrize("stride, window", [(1, (5, 9)), (2, (2, 5))])
def test_a_row_window_draws_what_a_whole_sweep_gives_its_patches(stride, window):
    whole, part_drawn = _backend(stride=stride), _backend(stride=stride)
    args = (np.full(16, -1.0), 1.0, np.array([4.0]), 3)
    whole.codes(*args)
    n_on, _, sse = part_drawn.codes(*args, rows=window)
    nc, (r0, r1) = whole.nc, window
    np.testing.assert_array_equal(part_drawn.ZS[r0 * nc:r1 * nc], whole.ZS[r0 * nc:r1 * nc])
    assert not part_drawn.ZS[:r0 * nc].any() and not part_drawn.ZS[r1 * nc:].any()
    assert n_on.sum() == np.count_nonzero(whole.ZS[r0 * nc:r1 * nc])
    # The pixel rows the window's patches reach alone, estimated in place, equal the
    # whole sweep's there once the other patches hold the same codes.
    part_drawn.codes(*args, rows=(0, r0))
    part_drawn.codes(*args, rows=(r1, whole.nr))
    full, part = np.empty((1, 20, 18)), np.full((1, 20, 18), np.nan)
    whole.estimate(0.25, full)
    part_drawn.estimate(0.25, part, rows=(6, 11))
    np.testing.assert_allclose(part[0, 6:11], full[0, 6:11], rtol=1e-6)
    assert np.isnan(part[0, :6]).all() and np.isnan(part[0, 11:]).all()


def test_observe_adds_entries():
    backend = _backend()
    backend.observe(np.array([0, 5]), np.array([2.5, -1.0], np.float32))
    assert backend.mask.reshape(-1)[[0, 5]].tolist() == [1.0, 1.0]
    assert backend.x.reshape(-1)[[0, 5]].tolist() == [2.5, -1.0]


@pytest.mark.parametrize("case, trim", [("crystal", 0.0), ("counted", 0.25)])
def test_live_follows_a_raster_scan_and_ends_at_the_batch_result(case, trim, request):
    """With a dictionary learned on counts, live takes counts, and reaches the batch
    result with the batch's trimmed mean (-0.09 dB; the plain mean, -0.65 dB)."""
    s, dictionary = request.getfixturevalue(case)
    assert (dictionary.count_units()[0] > 0) == (case == "counted")
    sampled, order = cs.patterns.scan_pattern((64, 64), fraction=0.25, seed=3)
    order = np.sort(order)  # a random pattern as a raster scan visits it
    values = s.data.reshape(-1)
    live = cs.LiveReconstruction((64, 64), dictionary, seed=0, trim=trim)
    step = 64 * 64 // 100
    for start in range(0, order.size, step):
        before = live.estimate.copy()
        part = order[start:start + step]
        live.update(part, values[part])
        # Only the rows the new positions' patches reach change.
        rows = part // 64
        changed = np.flatnonzero(np.any(before != live.estimate, axis=1))
        assert changed.min() >= rows.min() - 5 and changed.max() <= rows.max() + 5
    np.testing.assert_array_equal(live.order, order)
    np.testing.assert_array_equal(live.measured, sampled)
    live.refine(4)
    batch = cs.inpaint_bpfa(s.subsample(mask=sampled), dictionary=dictionary,
                            learn_dictionary=False, seed=0, show_progressbar=False)
    live_psnr = cs.psnr(s, live.to_signal(like=s), data_range=1.0)
    batch_psnr = cs.psnr(s, batch, data_range=1.0)
    cubic_psnr = cs.psnr(s, cs.inpaint(s.subsample(mask=sampled), method="cubic"),
                         data_range=1.0)
    assert live_psnr > batch_psnr - 0.5
    assert live_psnr > cubic_psnr
    assert np.all(live.std >= 0) and live.std.shape == (64, 64)


def test_rows_no_measurement_reached_keep_the_prior(crystal):
    s, dictionary = crystal
    live = cs.LiveReconstruction((64, 64), dictionary, seed=0)
    offset, scale = dictionary.normalisation()
    np.testing.assert_allclose(live.estimate, offset[0])
    live.update(np.array([[0, c] for c in range(0, 64, 3)]), s.data[0, ::3])
    assert np.all(live.estimate[20:] == offset[0])
    np.testing.assert_allclose(live.std[20:], scale[0])


def test_to_signal_carries_axes_and_records_the_acquisition(crystal):
    s, dictionary = crystal
    live = cs.LiveReconstruction((64, 64), dictionary, seed=0)
    live.update(np.array([5, 700, 12]), s.data.reshape(-1)[[5, 700, 12]])
    out = live.to_signal(like=s)
    assert out.axes_manager[0].scale == s.axes_manager[0].scale
    node = out.metadata.Acquisition.Subsampling
    assert node.pattern == "live" and list(node.order) == [5, 700, 12]
    assert cs.get_mask(out).sum() == 3
    assert out.metadata.Reconstruction.method == "BPFA live"
    assert out.metadata.Reconstruction.std.data.shape == (64, 64)
    assert not s.metadata.has_item("Acquisition.Subsampling")


def test_live_checks_its_input(crystal):
    s, dictionary = crystal
    with pytest.raises(TypeError, match="dictionary"):
        cs.LiveReconstruction((64, 64), dictionary.to_atoms())
    with pytest.raises(ValueError, match="scan_shape"):
        cs.LiveReconstruction((64,), dictionary)
    with pytest.raises(ValueError, match="guide"):
        cs.LiveReconstruction((64, 64), dictionary, guide=np.ones((64, 64)))
    live = cs.LiveReconstruction((64, 64), dictionary)
    with pytest.raises(ValueError, match="positions"):
        live.update(np.array([[64, 0]]), [1.0])
    with pytest.raises(TypeError, match="positions"):
        live.update(np.array([[1.5, 0]]), [1.0])
    with pytest.raises(ValueError, match="values"):
        live.update(np.array([[1, 0]]), [1.0, 2.0])
    with pytest.raises(ValueError, match="values"):
        live.update(np.array([[1, 0]]), [np.nan])
    with pytest.raises(ValueError, match="noise_std"):
        cs.LiveReconstruction((64, 64), dictionary, noise_std=-1)
    bare = cs.BPFADictionary.from_atoms(dictionary.to_atoms())
    with pytest.raises(ValueError, match="get_dictionary"):
        cs.LiveReconstruction((64, 64), bare)


def test_a_guided_dictionary_takes_the_guide_as_its_first_layer():
    si, bse = cs.data.eds_spectrum_image(shape=(32, 32), n_channels=256, seed=1)
    rec = cs.inpaint_bpfa3d(si.subsample(0.3, seed=0), guide=bse, layers=2, n_iter=10,
                            seed=0, show_progressbar=False)
    dictionary = cs.get_dictionary(rec)
    assert dictionary.n_layers == 3
    live = cs.LiveReconstruction((32, 32), dictionary, guide=bse.data, seed=0)
    # With the guide alone the layers already show its structure.
    assert live.estimate.shape == (32, 32, 2)
    assert live.estimate.std(axis=(0, 1)).min() > 0
    layers = np.moveaxis(rec.metadata.Reconstruction.layers.data, 0, -1)[..., 1:]
    live.update(np.arange(0, 1024, 4), layers.reshape(-1, 2)[::4])
    assert np.corrcoef(live.estimate[..., 0].ravel(), layers[..., 0].ravel())[0, 1] > 0.8


def test_large_patches_take_a_coarser_grid_and_follow_a_random_order():
    """16 px patches lie on a grid of 2 px by default, so that positions scattered
    over the frame (every patch touched) cost a quarter of the patches; the estimate
    still ends near the batch result with every overlapping patch."""
    s = cs.data.atomic_resolution_image(shape=(96, 96), lattice_spacing=8.0, dose=2000,
                                        seed=0)
    first = cs.inpaint_bpfa(s.subsample(0.2, seed=1), patch_size=16, n_iter=20, seed=0,
                            likelihood="gaussian", show_progressbar=False)
    dictionary = cs.get_dictionary(first)
    sampled, order = cs.patterns.scan_pattern((96, 96), fraction=0.2, seed=3)
    live = cs.LiveReconstruction((96, 96), dictionary, seed=0)
    assert live.patch_stride == 2 and live._backend.n_patches == 41 * 41
    values = s.data.reshape(-1)
    arrival = np.random.default_rng(0).permutation(order)
    for start in range(0, arrival.size, 96 * 96 // 100):
        part = arrival[start:start + 96 * 96 // 100]
        live.update(part, values[part])
    out = live.to_signal(like=s)
    assert out.metadata.Reconstruction.parameters.patch_stride == 2
    batch = cs.inpaint_bpfa(s.subsample(mask=sampled), dictionary=dictionary,
                            learn_dictionary=False, seed=0, show_progressbar=False)
    assert cs.psnr(s, out, data_range=1.0) > cs.psnr(s, batch, data_range=1.0) - 0.5
    with pytest.raises(ValueError, match="patch_stride"):
        cs.LiveReconstruction((96, 96), dictionary, patch_stride=17)
