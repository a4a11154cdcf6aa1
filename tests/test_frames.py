import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs


def psnr(reference, estimate):
    return 10 * np.log10(np.ptp(reference) ** 2 / np.mean((reference - estimate) ** 2))


def test_sparse_frames_keep_each_position_first_visit(image):
    frames = image.subsample(0.2, "random", dose=20, frames=3, seed=4)
    before = frames.data.copy()
    merged = frames.merge_frames()
    assert np.array_equal(frames.data, before)  # input untouched
    assert type(merged) is type(image) and merged.data.shape == image.data.shape
    for a, b in zip(image.axes_manager._axes, merged.axes_manager._axes):
        assert (a.name, a.scale, a.units, a.size) == (b.name, b.scale, b.units, b.size)

    sampled = cs.get_mask(frames)
    first = np.argmax(sampled, axis=0)
    union = sampled.any(axis=0)
    assert np.array_equal(cs.get_mask(merged), union)
    expected = np.take_along_axis(frames.data, first[None], axis=0)[0]
    assert np.array_equal(merged.data[union], expected[union])
    assert not merged.data[~union].any()

    node = merged.metadata.Acquisition.Subsampling
    assert (node.merged_frames, node.visits_per_position, node.dose) == (3, 1, 20.0)
    assert node.visits_dropped == sampled.sum() - union.sum() > 0
    assert node.fraction == pytest.approx(union.mean())
    # Every visited position once, in the order of first visits: frame 0's order
    # first, then the new positions of frame 1 in its order.
    order = cs.get_order(merged)
    assert np.array_equal(np.sort(order), np.flatnonzero(union))
    frame_orders = cs.get_order(frames)
    assert np.array_equal(order[:sampled[0].sum()], frame_orders[0][frame_orders[0] >= 0])
    assert merged.original_metadata.Instrument.detector == "HAADF"


def test_fully_sampled_count_frames_are_summed(bcf_tem):
    _, eds = bcf_tem
    eds = eds.isig[:128]
    frames = eds.subsample(1.0, dose=3, frames=4, seed=0)
    merged = frames.merge_frames()
    assert merged.axes_manager.navigation_shape == eds.axes_manager.navigation_shape
    assert merged.axes_manager.signal_axes[0].scale == eds.axes_manager.signal_axes[0].scale
    assert merged.data.dtype.kind == "u" and merged.data.dtype.itemsize == 8
    assert np.array_equal(merged.data, frames.data.sum(axis=0, dtype=np.int64))
    node = merged.metadata.Acquisition.Subsampling
    assert (node.visits_per_position, node.visits_dropped, node.dose) == (4, 0, 12.0)
    assert merged.metadata.Signal.signal_type == eds.metadata.Signal.signal_type


def test_every_position_keeps_the_fewest_visits_any_had(image):
    stack = hs.signals.Signal2D(np.stack([image.data * (f + 1) for f in range(3)]))
    rng = np.random.default_rng(1)
    masks = np.ones((3, 64, 48), bool)
    masks[2] = rng.random((64, 48)) < 0.5
    merged = cs.subsample(stack, mask=masks).merge_frames()
    node = merged.metadata.Acquisition.Subsampling
    assert (node.visits_per_position, node.visits_dropped) == (2, masks[2].sum())
    # not counts: the mean of the first two frames, one noise level everywhere
    assert np.allclose(merged.data, 1.5 * image.data)


def test_lazy_frames_give_the_same_lazy_result(image):
    frames = image.subsample(0.3, "jittered", frames=2, seed=2)
    lazy = frames.as_lazy().merge_frames()
    assert lazy._lazy
    lazy.compute(show_progressbar=False)
    assert np.array_equal(lazy.data, frames.merge_frames().data)


def test_merged_frames_reconstruct_better_than_averaged_reconstructions():
    """Four sparse, noisy frames of a crystal: one reconstruction of the merged scan
    against the average of the frames' own (measured +3.8 dB here)."""
    clean = cs.data.atomic_resolution_image().isig[:96, :96]
    frames = clean.subsample(0.0625, "jittered", dose=10, frames=4, seed=0)
    options = dict(seed=0, n_iter=20, show_progressbar=False)
    averaged = frames.inpaint_bpfa(**options).data.mean(axis=0)
    merged = frames.merge_frames().inpaint_bpfa(**options)
    assert merged.metadata.Reconstruction.likelihood == "poisson"
    assert psnr(clean.data, merged.data) > psnr(clean.data, averaged) + 2.0


@pytest.mark.parametrize("make, match", [
    (lambda s: s.subsample(0.5, seed=0), "stack of frames"),
    (lambda s: hs.signals.Signal2D(np.zeros((2, 8, 8))), "Subsampling"),
    (lambda s: _edited(s.subsample(0.5, frames=2, seed=0), sampled=np.zeros((2, 64, 48), bool)),
     "no frame visited"),
])
def test_bad_input_is_refused(image, make, match):
    with pytest.raises(ValueError, match=match):
        make(image).merge_frames()


def _edited(signal, **subsampling):
    for key, value in subsampling.items():
        signal.metadata.set_item(f"Acquisition.Subsampling.{key}", value)
    return signal
