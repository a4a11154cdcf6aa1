"""simulate_adaptive: a full scan replayed as a targeted one."""

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs


@pytest.fixture(scope="module")
def particles():
    """A 64 x 64 image: a flat support with a few small bright particles (a case where
    targeting pays: most of the field holds nothing to measure)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    image = np.full((64, 64), 0.1)
    for r, c in rng.integers(6, 58, size=(6, 2)):
        image += np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.0**2))
    s = hs.signals.Signal2D(image)
    s.axes_manager[0].scale = s.axes_manager[1].scale = 0.1
    return s


def test_targeting_beats_a_random_scan_of_the_same_dose(particles):
    sub, rec = cs.simulate_adaptive(particles, 0.1, criterion="distance_variation",
                                    method="cubic", seed=0, show_progressbar=False)
    mask = cs.get_mask(sub)
    assert mask.sum() == round(0.1 * 64 * 64)
    order = cs.get_order(sub)
    assert order.size == mask.sum() and np.unique(order).size == order.size
    assert mask.reshape(-1)[order].all()
    node = sub.metadata.Acquisition.Subsampling
    assert node.pattern == "adaptive" and node.Adaptive.criterion == "distance_variation"
    assert node.Adaptive.batch_sizes.sum() == mask.sum() and len(node.Adaptive.batch_sizes) == 5
    assert rec.axes_manager[0].scale == 0.1 and rec.metadata.Reconstruction.method == "cubic"
    np.testing.assert_array_equal(sub.data[mask], particles.data[mask])
    targeted = cs.psnr(particles, rec)
    for pattern in ("random", "jittered"):
        plain = cs.inpaint(particles.subsample(0.1, pattern, seed=0), method="cubic")
        assert targeted > cs.psnr(particles, plain) + 5.0  # measured: 41.5 against 31.1, 28.4
    again, _ = cs.simulate_adaptive(particles, 0.1, criterion="distance_variation",
                                    method="cubic", seed=0, show_progressbar=False)
    np.testing.assert_array_equal(cs.get_order(again), order)
    assert not particles.metadata.has_item("Acquisition")


def test_std_criterion_runs_bpfa_each_round(particles):
    sub, rec = cs.simulate_adaptive(particles, 0.15, criterion="std", rounds=2, seed=0,
                                    n_iter=6, patch_size=6, show_progressbar=False)
    assert rec.metadata.Reconstruction.method == "BPFA"
    assert rec.metadata.Reconstruction.parameters.n_iter == 6
    assert cs.get_mask(sub).sum() == round(0.15 * 64 * 64)
    sizes = sub.metadata.Acquisition.Subsampling.Adaptive.batch_sizes
    # The first pass takes about half the positions, the two rounds share the rest.
    assert abs(sizes[0] - 307) < 0.2 * 307 and sizes.sum() == 614
    assert len(sizes) == 3 and abs(sizes[1] - sizes[2]) <= 1


def test_a_spectrum_image_is_targeted_on_its_layers_with_its_guide():
    si, bse = cs.data.eds_spectrum_image(shape=(32, 32), n_channels=256,
                                         counts_per_pixel=50, seed=1)
    sub, rec = cs.simulate_adaptive(si, 0.2, criterion="std", rounds=2, guide=bse, seed=0,
                                    layers=2, n_iter=6, show_progressbar=False)
    assert type(rec) is type(si) and rec.data.shape == si.data.shape
    assert rec.metadata.Reconstruction.method == "BPFA3D"
    assert cs.get_mask(sub).mean() == pytest.approx(0.2, abs=1e-3)
    assert rec.data.min() >= 0


def test_simulate_adaptive_checks_its_input(particles):
    with pytest.raises(ValueError, match="criterion"):
        cs.simulate_adaptive(particles, 0.1, criterion="std", method="cubic")
    with pytest.raises(ValueError, match="already sub-sampled"):
        cs.simulate_adaptive(particles.subsample(0.5, seed=0), 0.1)
    with pytest.raises(ValueError, match="fraction"):
        cs.simulate_adaptive(particles, 1.0)
    with pytest.raises(ValueError, match="guide"):
        cs.simulate_adaptive(particles, 0.1, guide=particles)
    with pytest.raises(ValueError, match="first_pattern"):
        cs.simulate_adaptive(particles, 0.1, first_pattern="zigzag")
    with pytest.raises(ValueError, match="method"):
        cs.simulate_adaptive(particles, 0.1, method="magic")
    with pytest.raises(TypeError, match="n_iter"):
        cs.simulate_adaptive(particles, 0.1, method="cubic", n_iter=3)
    with pytest.raises(TypeError, match="rounds"):
        cs.simulate_adaptive(particles, 0.1, rounds=1.5)


def test_signal_method_is_registered(particles):
    sub, _ = particles.simulate_adaptive(0.05, criterion="distance_variation",
                                         method="linear", rounds=1, seed=0,
                                         show_progressbar=False)
    assert cs.get_mask(sub).sum() == round(0.05 * 64 * 64)
