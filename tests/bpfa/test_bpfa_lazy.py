"""Lazy (Dask) BPFA: tiles after a bounded learning pass (hyperspy_cs._tiling).

Tolerance of "tiled equals single-block": the core of every tile is the
single-block result up to the rounding of the float64 projection of the spectra
onto the layers (a matrix product whose rounding may depend on the block shape),
so the two agree to ``TILE_RTOL = 1e-6`` of the data's largest value; in
practice they are identical. Results do not depend on the input's chunking at
all (bit for bit).
"""

import threading

import dask
import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs.bpfa import _lazy as _tiling
from hyperspy_cs.bpfa._patch_size import resolve_patch_size

TILE_RTOL = 1e-6
FAST = {"n_iter": 6, "burn_in": 3, "n_atoms": 16, "show_progressbar": False}
LIGHT_PHASES = {
    "quartz": {"Si": 0.47, "O": 0.53},
    "spinel": {"Mg": 0.17, "Al": 0.38, "O": 0.45},
    "albite": {"Na": 0.09, "Al": 0.10, "Si": 0.32, "O": 0.49},
}


@pytest.fixture(scope="module")
def eds():
    """A 64 x 64 EDS map of 32 channels (192 channels of 10 eV summed by 6), 20 % sampled.

    Returns the sub-sampled map, the BSE guide and the expected counts (truth).
    """
    si, bse, truth = cs.data.eds_spectrum_image(
        shape=(64, 64), n_channels=192, counts_per_pixel=300, grain_size=12, seed=3,
        phases=LIGHT_PHASES, return_truth=True)
    expected = truth.spectrum_image.rebin(scale=(1, 1, 6)).data
    return si.rebin(scale=(1, 1, 6)).subsample(0.2, seed=1), bse, expected


@pytest.fixture(scope="module")
def image():
    truth = cs.data.atomic_resolution_image(shape=(64, 64), lattice_spacing=10.0, seed=0)
    return truth, truth.subsample(0.3, seed=1)


def counting(signal, chunks):
    """A lazy copy of ``signal`` whose data counts the chunks it reads."""
    reads = []
    lock = threading.Lock()

    def read(block):
        if block.size:  # dask calls it on an empty block to learn the output type
            with lock:
                reads.append(block.shape)
        return block

    lazy = signal.as_lazy()
    lazy.data = da.map_blocks(read, da.from_array(signal.data, chunks=chunks),
                              dtype=signal.data.dtype)
    return lazy, reads


def bpfa3d(signal, bse, **options):
    kwargs = dict(guide=bse, layers=3, patch_size=5, seed=2, learning_positions=1024, **FAST)
    return signal.inpaint_bpfa3d(**{**kwargs, **options})


def test_nothing_is_read_until_compute(eds):
    sub, bse, _ = eds
    lazy, reads = counting(sub, (16, 16, 32))
    rec = bpfa3d(lazy, bse, tile_size=24)
    assert rec._lazy and isinstance(rec.data, da.Array)
    assert type(rec) is type(lazy) and rec.data.shape == sub.data.shape
    assert not reads
    windows = rec.metadata.Reconstruction.tiling.learning_windows
    assert windows.shape == (1, 5) and windows[0, 2] - windows[0, 1] == 32
    rec.compute()
    # The streaming pass reads the 16 chunks of the map, the learning pass the 4
    # chunks of its one 32 x 32 window, the tile pass the 16 chunks again.
    assert len(reads) == 36 and not rec._lazy
    node = rec.metadata.Reconstruction
    assert node.method == "BPFA3D" and node.seed == 2 and node.parameters.tile_size == 24
    # The learning pass ran in this process: its record needs no more reading.
    assert cs.get_dictionary(rec).axes_manager.signal_shape == (5, 5, 4)
    assert len(reads) == 36
    assert node.trace.gamma_e.shape == (FAST["n_iter"], 4) and np.all(node.noise_std > 0)
    assert node.layer_names == [bse.metadata.General.title, "PCA 1", "PCA 2", "PCA 3"]
    # The rebuilt spectra carry the X-ray lines where the map was not measured.
    assert rec.data[~cs.get_mask(sub)].sum(axis=-1).min() > 0


def test_a_lazy_image_chooses_its_patch_size_as_in_memory():
    truth = cs.data.atomic_resolution_image(shape=(1024, 96), lattice_spacing=10.0, seed=0)
    sub = truth.subsample(0.25, seed=1)
    lazy, reads = counting(sub, (128, 96))
    rec = lazy.inpaint_bpfa(seed=4, learning_positions=1024, **FAST)
    # Only the chunks of the central 512 rows are read, to look for a lattice.
    assert rec._lazy and len(reads) == 4
    node = rec.metadata.Reconstruction
    expected = resolve_patch_size("auto", None, cs.get_mask(sub)[None],
                                  data=sub.data[None, ..., None])
    assert (node.parameters.patch_size, node.patch_size_reason) == expected
    assert node.patch_size_reason.startswith("crystal")


def test_dictionary_before_compute_runs_the_learning_pass_once(eds):
    sub, bse, _ = eds
    lazy, reads = counting(sub, (16, 16, 32))
    rec = bpfa3d(lazy, bse, tile_size=24, layers="auto", seed=5)
    dictionary = cs.get_dictionary(rec)
    assert len(reads) == 20 and rec._lazy
    n_layers = dictionary.axes_manager.signal_shape[2]
    assert rec.metadata.Reconstruction.layer_names[0] == bse.metadata.General.title
    assert len(rec.metadata.Reconstruction.layer_names) == n_layers >= 3
    data = rec.data.compute()
    assert len(reads) == 36  # the tiles only
    again = bpfa3d(sub, bse, tile_size=24, layers="auto", seed=5, lazy_output=True)
    assert np.array_equal(again.data.compute(), data)


def test_eager_input_with_lazy_output_is_not_modified(eds):
    sub, bse, _ = eds
    before = sub.data.copy()
    rec = bpfa3d(sub, bse, lazy_output=True, tile_size=32)
    assert rec._lazy and not sub._lazy
    rec.compute()
    assert np.array_equal(sub.data, before)


def test_tiled_equals_single_block(eds, image):
    sub, bse, _ = eds
    tiled = bpfa3d(sub, bse, lazy_output=True, tile_size=16, uncertainty=True)
    single = bpfa3d(sub, bse, lazy_output=True, tile_size=64, uncertainty=True)
    assert tiled.data.numblocks[:2] == (4, 4) and single.data.numblocks[:2] == (1, 1)
    a, b = dask.compute(tiled.data, single.data)
    assert np.abs(a - b).max() <= TILE_RTOL * np.abs(b).max()
    std_a, std_b = (s.metadata.Reconstruction.std.data.compute() for s in (tiled, single))
    assert np.abs(std_a - std_b).max() <= TILE_RTOL * np.abs(std_b).max()

    _, img = image
    for stride in (1, 4):  # tiles of 16 px: every other tile starts off the grid of 4
        a, b = (img.inpaint_bpfa(lazy_output=True, tile_size=tile, seed=4, patch_size=6,
                                 learning_positions=1024, patch_stride=stride, **FAST)
                for tile in (16, 64))
        assert a.data.numblocks == (4, 4)
        assert (np.abs(a.data.compute() - b.data.compute()).max()
                <= TILE_RTOL * np.abs(img.data).max())


def test_a_lazy_dose_image_is_sampled_as_counts_tile_by_tile(image):
    truth, _ = image
    dosed = truth.subsample(0.3, dose=10, seed=1)
    options = dict(lazy_output=True, seed=4, learning_positions=1024, patch_size=6, **FAST)
    tiled = dosed.inpaint_bpfa(tile_size=16, **options)
    single = dosed.inpaint_bpfa(tile_size=64, **options)
    a, b = tiled.data.compute(), single.data.compute()
    assert np.abs(a - b).max() <= TILE_RTOL * np.abs(b).max() and a.min() >= 0
    cs.get_dictionary(tiled)
    node = tiled.metadata.Reconstruction
    assert node.likelihood == "poisson" and "dose of 10" in node.likelihood_reason
    assert cs.get_dictionary(tiled).count_units()[0] > 0
    # Close to the eager result, which learns on the whole map in one chain.
    eager = dosed.inpaint_bpfa(seed=4, patch_size=6, **FAST)
    assert abs(cs.psnr(truth, tiled, data_range=1) - cs.psnr(truth, eager, data_range=1)) < 1.0


def test_a_learning_pass_over_several_windows_learns_from_all_of_them():
    # A map of 128 x 128 positions learned from 8192 of them: two 64 x 64 windows,
    # which the learning pass stacks as frames. The windows are drawn from the same
    # map, so the noise level they find must be the whole map's (in memory), and
    # the lazy result about as good. When a sweep coded only the first frame (fixed
    # in 93e15fb), the noise std of every layer came out 27-46 % low here.
    si, bse, truth = cs.data.eds_spectrum_image(
        shape=(128, 128), n_channels=192, counts_per_pixel=15, grain_size=16, seed=5,
        phases=LIGHT_PHASES, return_truth=True)
    sub = si.rebin(scale=(1, 1, 6)).subsample(0.1, seed=1)
    expected = truth.spectrum_image.rebin(scale=(1, 1, 6)).data

    def error(rec):
        return np.mean((np.asarray(rec.data) - expected) ** 2) / expected.var()

    options = dict(guide=bse, layers=2, patch_size=5, seed=2, **FAST)
    lazy = sub.inpaint_bpfa3d(lazy_output=True, learning_positions=8192, **options)
    cs.get_dictionary(lazy)
    assert len(lazy.metadata.Reconstruction.tiling.learning_windows) == 2
    lazy.compute()
    eager = sub.inpaint_bpfa3d(**options)
    np.testing.assert_allclose(lazy.metadata.Reconstruction.noise_std,
                               eager.metadata.Reconstruction.noise_std, rtol=0.25)
    assert error(lazy) < 1.2 * error(eager)


def test_same_seed_same_result_whatever_the_chunking(eds):
    sub, bse, _ = eds
    results = []
    # Row chunks, whole-map chunks, and chunks along the spectral axis (rechunked).
    for chunks in ((8, 64, 32), (64, 64, 32), (16, 16, 8)):
        lazy = sub.as_lazy()
        lazy.data = lazy.data.rechunk(chunks)
        rec = bpfa3d(lazy, bse, tile_size=32)
        assert rec.data.chunks[-1] == (32,)
        results.append(rec.data.compute())
    assert all(np.array_equal(results[0], r) for r in results[1:])
    other = bpfa3d(sub, bse, tile_size=32, seed=3, lazy_output=True).data.compute()
    assert not np.array_equal(results[0], other)


def test_line_layers_are_applied_tile_by_tile(eds):
    sub, bse, _ = eds
    tiled = bpfa3d(sub, bse, layers="lines", lazy_output=True, tile_size=16)
    single = bpfa3d(sub, bse, layers="lines", lazy_output=True, tile_size=64)
    names = tiled.metadata.Reconstruction.layer_names
    assert names[1:] == list(sub.metadata.Sample.xray_lines)
    a, b = dask.compute(tiled.data, single.data)
    assert np.abs(a - b).max() <= TILE_RTOL * np.abs(b).max()


def test_a_tile_without_sampled_positions_is_filled_and_flagged(eds, image):
    sub, bse, expected = eds
    mask = cs.get_mask(sub).copy()
    mask[:32, :32] = False  # the top-left 16 px tile is further than its halo from any sample
    rec = bpfa3d(sub, bse, mask=mask, lazy_output=True, tile_size=16, uncertainty=True)
    assert rec.metadata.Reconstruction.tiling.empty_tiles.tolist() == [[0, 16, 0, 16]]
    data = rec.data.compute()
    assert np.isfinite(data).all()
    # Filled from the dictionary through the guide: the spectra follow the grains
    # (about as well as where the map was sampled), not one flat mean spectrum;
    # the std of the spectral layers there is flagged: at least their spread.
    truth = expected[:16, :16]
    flat_error = np.mean((expected[mask].mean(axis=0) - truth) ** 2)
    assert np.mean((data[:16, :16] - truth) ** 2) < 0.2 * flat_error
    std = rec.metadata.Reconstruction.std.data.compute()
    assert std[1:, :16, :16].min() > 3 * np.median(std[1:, 40:, 40:])

    _, img = image
    mask = cs.get_mask(img).copy()
    mask[:32, :32] = False
    rec = img.inpaint_bpfa(mask=mask, lazy_output=True, tile_size=16, seed=4, patch_size=6,
                           learning_positions=1024, uncertainty=True, **FAST)
    data = rec.data.compute()
    std = rec.metadata.Reconstruction.std.data.compute()
    observed = np.concatenate([img.data[r0:r1, c0:c1][mask[r0:r1, c0:c1]] for _, r0, r1, c0, c1
                               in rec.metadata.Reconstruction.tiling.learning_windows])
    # No guide: the layer mean, with the layer's spread as its uncertainty (both
    # of the sampled values the learning pass read).
    assert np.allclose(data[:16, :16], observed.mean())
    assert np.allclose(std[:16, :16], observed.std())
    assert std[:16, :16].min() > 3 * np.median(std[32:, 32:])


def test_local_cluster_equals_threaded(eds):
    distributed = pytest.importorskip("distributed")
    sub, bse, _ = eds
    threaded = bpfa3d(sub, bse, lazy_output=True, tile_size=32)
    expected = threaded.data.compute(scheduler="threads")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            rec = bpfa3d(sub, bse, lazy_output=True, tile_size=32)
            result = rec.data.compute()
    assert np.array_equal(result, expected)


def test_save_is_lazy_and_a_failed_compute_leaves_the_input_file_intact(eds, tmp_path,
                                                                       monkeypatch):
    sub, bse, _ = eds
    source = tmp_path / "input.zspy"
    sub.save(source, chunks=(16, 16, 32))
    lazy = hs.load(source, lazy=True)
    rec = bpfa3d(lazy, bse, tile_size=16)
    dictionary = cs.get_dictionary(rec)  # recorded before saving: it goes in the file
    rec.save(tmp_path / "out.zspy", chunks=(16, 16, 32))
    back = hs.load(tmp_path / "out.zspy", lazy=True)
    assert np.array_equal(back.data.compute(), rec.data.compute())
    assert np.array_equal(cs.get_dictionary(back).data, dictionary.data)

    calls = []
    engine = _tiling.bpfa

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("interrupted")
        return engine(*args, **kwargs)

    monkeypatch.setattr(_tiling, "bpfa", failing)
    rec = bpfa3d(hs.load(source, lazy=True), bse, tile_size=16)
    with pytest.raises(RuntimeError, match="interrupted"):
        rec.save(tmp_path / "failed.zspy", chunks=(16, 16, 32), overwrite=True)
    reloaded = hs.load(source)
    assert np.array_equal(reloaded.data, sub.data)
    assert np.array_equal(cs.get_mask(reloaded), cs.get_mask(sub))


def test_subsample_stays_lazy(eds):
    sub, _, _ = eds
    full = sub.deepcopy()
    del full.metadata.Acquisition
    lazy, reads = counting(full, (16, 16, 32))
    out = lazy.subsample(0.1, seed=3, dose=50)
    assert out._lazy and not reads
    out.compute()
    assert len(reads) >= 16


def test_bad_lazy_arguments(eds):
    sub, bse, _ = eds
    with pytest.raises(ValueError, match="tile_size: expected at least patch_size=5"):
        bpfa3d(sub, bse, lazy_output=True, tile_size=4)
    with pytest.raises(TypeError, match="tile_size"):
        bpfa3d(sub, bse, lazy_output=True, tile_size=16.0)
    with pytest.raises(ValueError, match="learning_positions"):
        bpfa3d(sub, bse, lazy_output=True, learning_positions=10)
    with pytest.raises(TypeError, match="lazy_output"):
        bpfa3d(sub, bse, lazy_output="yes")
    with pytest.raises(ValueError, match="layers=<int>"):
        bpfa3d(sub, bse, lazy_output=True, layers="auto", uncertainty=True)
    # Bad values are found when the graph runs.
    nan = sub.as_lazy()
    nan.data = da.where(da.arange(64)[:, None, None] == 0, np.nan, nan.data.astype(float))
    rec = nan.inpaint_bpfa3d(guide=bse, layers=3, patch_size=5, learning_positions=4096, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        rec.compute()
    saturated = sub.deepcopy()
    saturated.change_dtype(np.uint16)
    row, col = np.argwhere(cs.get_mask(sub))[0]
    saturated.data[row, col, 0] = 65535
    rec = saturated.as_lazy().inpaint_bpfa3d(guide=bse, layers=3, patch_size=5, **FAST)
    with pytest.raises(ValueError, match="overflowed or saturated"):
        rec.compute()


def test_dictionary_of_a_learning_pass_run_elsewhere(eds):
    sub, bse, _ = eds
    rec = bpfa3d(sub, bse, lazy_output=True, tile_size=32)
    rec.compute()
    _tiling._LEARNED.clear()  # as if it had run on a distributed cluster
    with pytest.raises(ValueError, match="before compute"):
        cs.get_dictionary(rec)

