import warnings

import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from hyperspy_cs.metrics import psnr, split_counts, sre, ssim


@pytest.fixture
def pair():
    """A smooth 48 x 40 image and a noisy copy."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:48, :40]
    ref = np.sin(x / 5.0) * np.cos(y / 7.0) + 2.0
    return ref, ref + rng.normal(0, 0.1, ref.shape)


# --- PSNR, SSIM, SRE ------------------------------------------------------------


def test_psnr_hand_computed():
    ref = np.array([[0.0, 1.0], [2.0, 3.0]])
    # MSE 0.25, range 3: 10 log10(9 / 0.25)
    assert psnr(ref, ref + 0.5) == pytest.approx(10 * np.log10(36))
    assert psnr(ref, ref + 0.5, data_range=1.0) == pytest.approx(10 * np.log10(4))


def test_psnr_matches_skimage(pair):
    ref, est = pair
    data_range = ref.max() - ref.min()
    assert psnr(ref, est) == pytest.approx(
        peak_signal_noise_ratio(ref, est, data_range=data_range)
    )


def test_psnr_identical_is_inf_without_warning(pair):
    ref, _ = pair
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert psnr(ref, ref.copy()) == np.inf
        assert sre(ref, ref.copy()) == np.inf


def test_psnr_decreases_with_noise(pair):
    ref, _ = pair
    rng = np.random.default_rng(1)
    values = [psnr(ref, ref + rng.normal(0, sigma, ref.shape)) for sigma in (0.01, 0.05, 0.2, 1.0)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_sre_hand_computed():
    # ||x||^2 = 25, ||x - x_hat||^2 = 1
    assert sre(np.array([3.0, 4.0]), np.array([3.0, 3.0])) == pytest.approx(10 * np.log10(25))
    assert sre(np.array([1.0, 0.0]), np.array([0.0, 0.0])) == pytest.approx(0.0)


def test_ssim_2d_matches_skimage(pair):
    ref, est = pair
    expected = structural_similarity(ref, est, data_range=ref.max() - ref.min())
    assert ssim(ref, est) == pytest.approx(expected)
    assert ssim(ref, ref) == pytest.approx(1.0)


def test_ssim_spectrum_image_is_mean_over_channels():
    rng = np.random.default_rng(2)
    ref = rng.random((16, 20, 5)) + np.linspace(0, 3, 5)  # (y, x, E)
    est = ref + rng.normal(0, 0.2, ref.shape)
    data_range = ref.max() - ref.min()
    expected = np.mean(
        [structural_similarity(ref[..., k], est[..., k], data_range=data_range) for k in range(5)]
    )
    si = hs.signals.Signal1D(ref)
    assert ssim(si, hs.signals.Signal1D(est)) == pytest.approx(expected)
    # An array against a signal follows the signal's scan axes.
    assert ssim(si, est) == pytest.approx(expected)
    assert ssim(si.as_lazy(), est) == pytest.approx(expected)


def test_ssim_stack_is_mean_over_frames():
    rng = np.random.default_rng(3)
    ref = rng.random((3, 16, 12))  # (frame, y, x)
    est = ref + rng.normal(0, 0.1, ref.shape)
    data_range = ref.max() - ref.min()
    expected = np.mean(
        [structural_similarity(r, e, data_range=data_range) for r, e in zip(ref, est)]
    )
    assert ssim(ref, est) == pytest.approx(expected)
    assert ssim(hs.signals.Signal2D(ref), est) == pytest.approx(expected)


def test_metrics_accept_any_mix_of_signals_and_arrays(pair):
    ref, est = pair
    lazy = hs.signals.Signal2D(est).as_lazy()
    for metric in (psnr, ssim, sre):
        expected = metric(ref, est)
        assert metric(hs.signals.Signal2D(ref), est) == pytest.approx(expected)
        assert metric(ref, lazy) == pytest.approx(expected)
        assert metric(da.from_array(ref, chunks=16), est) == pytest.approx(expected)
    assert lazy._lazy  # computing the values leaves the input lazy


@pytest.mark.parametrize("metric", [psnr, ssim, sre])
def test_metric_errors(metric, pair):
    ref, est = pair
    with pytest.raises(ValueError, match="shapes differ"):
        metric(ref, est[:-1])
    bad = est.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="estimate: contains NaN"):
        metric(ref, bad)
    bad[3, 3] = np.inf
    with pytest.raises(ValueError, match="reference: contains NaN or inf"):
        metric(bad, ref)
    with pytest.raises(TypeError, match="complex"):
        metric(ref + 1j, est)
    with pytest.raises(TypeError, match="numeric"):
        metric(np.full(ref.shape, "a"), est)


@pytest.mark.parametrize("metric", [psnr, ssim])
def test_constant_reference_needs_data_range(metric):
    ref = np.ones((16, 16))
    est = ref + np.random.default_rng(0).normal(0, 0.1, ref.shape)
    with pytest.raises(ValueError, match="data_range"):
        metric(ref, est)
    assert np.isfinite(metric(ref, est, data_range=1.0))
    with pytest.raises(ValueError, match="data_range"):
        metric(ref, est, data_range=-1.0)


def test_sre_zero_reference():
    with pytest.raises(ValueError, match="all values are 0"):
        sre(np.zeros(4), np.ones(4))


def test_ssim_needs_images():
    with pytest.raises(ValueError, match="2-D images"):
        ssim(np.arange(10.0), np.arange(10.0))
    with pytest.raises(ValueError, match="at least 7 x 7"):
        ssim(np.random.default_rng(0).random((5, 20)), np.zeros((5, 20)))


# --- split_counts -------------------------------------------------------------


@pytest.fixture
def counts():
    return np.random.default_rng(0).poisson(20.0, size=(200, 200)).astype(np.uint16)


@pytest.mark.parametrize("dtype", [np.uint16, np.int64, np.float32])
def test_split_sums_exactly_and_keeps_dtype(counts, dtype):
    data = counts.astype(dtype)
    a, b = split_counts(data, fraction=0.3, seed=0)
    assert a.dtype == b.dtype == dtype
    assert np.array_equal(a + b, data)
    assert (a >= 0).all() and (b >= 0).all()


@pytest.mark.parametrize("fraction", [0.5, 0.3])
def test_split_is_binomial(counts, fraction):
    a, _ = split_counts(counts, fraction=fraction, seed=1)
    n, a = counts.astype(float), a.astype(float)
    # The mean is fraction * counts (5 standard errors) ...
    sigma = np.sqrt(fraction * (1 - fraction) * n.sum())
    assert abs(a.sum() - fraction * n.sum()) < 5 * sigma
    # ... and the spread around it binomial: a rounded split has none.
    ratio = np.sum((a - fraction * n) ** 2) / np.sum(fraction * (1 - fraction) * n)
    assert ratio == pytest.approx(1.0, abs=0.03)


def test_split_halves_are_uncorrelated():
    lam, fraction = 20.0, 0.5
    counts = np.random.default_rng(2).poisson(lam, size=(200, 200))
    a, b = split_counts(counts, fraction=fraction, seed=3)
    noise_a, noise_b = a - fraction * lam, b - (1 - fraction) * lam
    # Thinned Poisson halves are independent: r ~ N(0, 1 / sqrt(40000)) = 0.005.
    assert abs(np.corrcoef(noise_a.ravel(), noise_b.ravel())[0, 1]) < 0.025
    naive_a = np.floor(counts * fraction)
    naive_b = counts - naive_a
    naive = np.corrcoef((naive_a - fraction * lam).ravel(), (naive_b - fraction * lam).ravel())
    assert naive[0, 1] > 0.9


def test_split_reproducible(counts):
    a1, _ = split_counts(counts, seed=5)
    a2, _ = split_counts(counts, seed=5)
    a3, _ = split_counts(counts, seed=6)
    assert np.array_equal(a1, a2)
    assert not np.array_equal(a1, a3)
    split_counts(counts, seed=np.random.default_rng(0))  # a Generator is accepted


def test_split_lazy(counts):
    lazy = da.from_array(counts, chunks=(64, 100))
    a, b = split_counts(lazy, fraction=0.4, seed=7)
    assert isinstance(a, da.Array) and isinstance(b, da.Array)
    a1 = a.compute()
    assert np.array_equal(a1, a.compute())  # recomputing gives the same draw
    assert np.array_equal(a1, split_counts(lazy, fraction=0.4, seed=7)[0].compute())
    assert np.array_equal(a1 + b.compute(), counts)
    # One block draws like the eager split.
    one_block = split_counts(da.from_array(counts, chunks=-1), fraction=0.4, seed=7)[0]
    assert np.array_equal(one_block.compute(), split_counts(counts, fraction=0.4, seed=7)[0])


def test_split_signal(counts):
    s = hs.signals.Signal2D(counts)
    s.axes_manager[0].scale = 0.5
    s.axes_manager[0].units = "nm"
    s.metadata.General.title = "map"
    s.metadata.set_item("Acquisition_instrument.SEM.Detector.EDS.live_time", 2.0)
    before = s.deepcopy()
    a, b = split_counts(s, fraction=0.25, seed=9)
    assert type(a) is type(s) and type(b) is type(s)
    assert np.array_equal(a.data + b.data, counts)
    # Input untouched.
    assert np.array_equal(s.data, before.data)
    assert s.metadata.as_dictionary() == before.metadata.as_dictionary()
    for half, part, share in ((a, "a", 0.25), (b, "b", 0.75)):
        assert half.axes_manager[0].scale == 0.5 and half.axes_manager[0].units == "nm"
        thinning = half.metadata.Acquisition.Thinning
        assert (thinning.fraction, thinning.seed, thinning.part) == (share, 9, part)
        assert half.metadata.Acquisition_instrument.SEM.Detector.EDS.live_time == 2.0 * share
        assert half.metadata.General.title.startswith("map (thinned")
    # Deep copies: changing a half leaves the input and the other half alone.
    a.axes_manager[0].scale = 3.0
    a.metadata.General.title = "changed"
    assert s.axes_manager[0].scale == 0.5 and b.axes_manager[0].scale == 0.5
    assert s.metadata.General.title == "map"


def test_split_lazy_signal(counts):
    s = hs.signals.Signal2D(counts).as_lazy()
    a, b = split_counts(s, seed=0)
    assert a._lazy and b._lazy
    assert np.array_equal(a.data.compute() + b.data.compute(), counts)


@pytest.mark.parametrize(
    "values, message",
    [
        (np.array([1.0, -1.0]), "negative"),
        (np.array([1.0, 1.5]), "non-integer"),
        (np.array([1.0, np.nan]), "NaN"),
        (np.array([1.0, np.inf]), "NaN or inf"),
    ],
)
def test_split_rejects_non_counts(values, message):
    with pytest.raises(ValueError, match=message):
        split_counts(values, seed=0)
    a, _ = split_counts(da.from_array(values), seed=0)
    with pytest.raises(ValueError, match=message):
        a.compute()


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, np.nan])
def test_split_fraction_range(counts, fraction):
    with pytest.raises(ValueError, match="fraction"):
        split_counts(counts, fraction=fraction)


def test_split_type_errors(counts):
    with pytest.raises(TypeError, match="fraction"):
        split_counts(counts, fraction=True)
    with pytest.raises(TypeError, match="complex"):
        split_counts(counts + 0j)
    with pytest.raises(TypeError, match="bool"):
        split_counts(counts > 20)
    with pytest.raises(TypeError, match="seed"):
        split_counts(counts, seed="0")
