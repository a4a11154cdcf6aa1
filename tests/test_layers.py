import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs import _scan
from hyperspy_cs._layers import (
    full_moments,
    layer_spec,
    spectral_layers,
    spectral_moments,
    split_rng,
)
from conftest import load


@pytest.fixture(scope="module")
def eds():
    si, bse, truth = cs.data.eds_spectrum_image(shape=(32, 32), n_channels=256, seed=1,
                                                return_truth=True)
    return si, truth


def canonical(si):
    layout = _scan.scan_layout(si)
    return layout, np.asarray(_scan.to_canonical(si.data, layout), dtype=float)


def test_pca_layers_rebuild_the_expected_spectra(eds):
    si, truth = eds
    layout, data = canonical(si)
    observed = np.ones(data.shape[:3], bool)
    layers = spectral_layers(si, data, observed, layers="auto")
    maps = layers.maps_of(data, observed)
    # Three phases plus the mixing at grain boundaries: a few components stand above noise.
    assert 2 <= maps.shape[-1] <= 8
    rebuilt = layers.rebuild(maps)
    expected = truth.spectrum_image.data.reshape(data.shape)
    # Projection on the signal subspace removes most of the Poisson noise.
    assert np.mean((rebuilt - expected) ** 2) < 0.2 * np.mean((data - expected) ** 2)


def test_layers_read_only_observed_positions(eds):
    si, _ = eds
    layout, data = canonical(si)
    observed = np.zeros(data.shape[:3], bool)
    observed[:, ::2, ::2] = True
    garbage = data.copy()
    garbage[~observed] = 1e6
    a = spectral_layers(si, data, observed, layers=4)
    b = spectral_layers(si, garbage, observed, layers=4)
    assert np.allclose(a.maps_of(data, observed), b.maps_of(garbage, observed))
    assert np.allclose(a.rebuild_matrix, b.rebuild_matrix)


def test_line_layers_are_exspy_line_intensities(eds):
    si, _ = eds
    layout, data = canonical(si)
    observed = np.ones(data.shape[:3], bool)
    layers = spectral_layers(si, data, observed, layers="lines")
    assert layers.names == list(si.metadata.Sample.xray_lines)
    expected = np.stack([m.data for m in si.get_lines_intensity()], axis=-1)
    assert np.allclose(layers.maps_of(data, observed)[0], expected)


def test_bad_layers(eds):
    si, _ = eds
    layout, data = canonical(si)
    observed = np.ones(data.shape[:3], bool)
    with pytest.raises(ValueError, match="layers"):
        spectral_layers(si, data, observed, layers="ica")
    with pytest.raises(ValueError, match="PCA components"):
        spectral_layers(si, data, observed, layers=0)
    plain = si.deepcopy()
    del plain.metadata.Sample
    with pytest.raises(ValueError, match="elements"):
        spectral_layers(plain, data, observed, layers="lines")


def test_moments_of_blocks_add_up_to_the_moments_of_the_map(eds):
    si, _ = eds
    _, data = canonical(si)
    spectra = data.reshape(-1, data.shape[-1])
    whole = spectral_moments(spectra)
    assert np.allclose(spectral_moments(spectra[:300]) + spectral_moments(spectra[300:]), whole)
    assert whole[0, 0] == len(spectra) and np.allclose(whole[0, 1:], spectra.sum(axis=0))


def test_pca_from_moments_is_the_pca_of_the_spectra(eds):
    si, _ = eds
    _, data = canonical(si)
    observed = np.ones(data.shape[:3], bool)
    layers = spectral_layers(si, data, observed, layers=4)
    spectra = data[observed]
    # Poisson-scaled, centred spectra: their leading right singular vectors.
    weights = 1 / np.sqrt(np.maximum(spectra.mean(axis=0), 1e-3))  # as fitted: empty channels
    scaled = spectra * weights
    centred = scaled - scaled.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:4].T
    scores = layers.project(spectra)
    signs = np.sign(np.sum(scores * expected, axis=0))
    assert np.allclose(scores, expected * signs, atol=1e-6 * np.abs(expected).max())
    # The rebuild is the inverse transform: exact on the kept subspace.
    rebuilt = layers.rebuild(scores, dtype=np.float64, non_negative=False)
    assert np.allclose(rebuilt, (expected @ vt[:4] + scaled.mean(axis=0)) / weights)


def test_line_rebuild_is_the_least_squares_fit(eds):
    si, _ = eds
    _, data = canonical(si)
    observed = np.zeros(data.shape[:3], bool)
    observed[:, ::3] = True
    layers = spectral_layers(si, data, observed, layers="lines")
    spectra = data[observed]
    design = np.hstack([np.ones((len(spectra), 1)), layers.project(spectra)])
    expected, *_ = np.linalg.lstsq(design, spectra, rcond=None)
    assert np.allclose(layers.rebuild_matrix, expected, atol=1e-8 * np.abs(expected).max())
    assert layer_spec(si, "lines").names == layers.names


def test_too_few_sampled_spectra_name_the_fix(eds):
    si, _ = eds
    layout, data = canonical(si)
    observed = np.zeros(data.shape[:3], bool)
    observed[0, 3, 4] = True
    with pytest.raises(ValueError, match="at least 2 sampled spectra, got 1.*lines"):
        spectral_layers(si, data, observed, layers="auto")
    observed[0, 5, 6] = True
    with pytest.raises(ValueError, match="support at most 1 PCA component"):
        spectral_layers(si, data, observed, layers=3)
    assert spectral_layers(si, data, observed, layers="lines").rebuild_matrix.shape[1] == 256


# --- the number of layers of count data -----------------------------------------------


@pytest.fixture(scope="module")
def sio2_counts():
    """The real SiO2 STEM-EDS map (uint32, about 50 counts per pixel), elements C, O, Si."""
    si = load("SiO2_EDS_SI.hspy")
    si.add_elements(["C", "O", "Si"])
    return si


@pytest.fixture(scope="module")
def granite():
    """The real granite SEM-EDS map (uint8, about 617 counts per pixel, 11 Ka lines)."""
    return load("granite_P45_sem.bcf")[-1]


def all_positions(si):
    layout, data = canonical(si)
    return data, np.ones(data.shape[:3], bool)


def thinned(si, counts_per_pixel, seed=0):
    share = counts_per_pixel / float(si.data.sum(axis=-1, dtype=float).mean())
    return cs.split_counts(si, fraction=share, seed=seed)[0]


def test_split_moments_are_two_halves_of_the_counts(sio2_counts):
    spectra = sio2_counts.data.reshape(-1, sio2_counts.data.shape[-1])[:2000]
    split = spectral_moments(spectra, split_rng=split_rng(3))
    assert np.array_equal(full_moments(split), spectral_moments(spectra))
    half_a, half_b = split[0, 0, 1:].sum(), split[2, 0, 1:].sum()
    assert abs(half_a - half_b) < 4 * np.sqrt(spectra.sum())  # binomial(total, 1/2)
    again = spectral_moments(spectra, split_rng=split_rng(3))
    assert np.array_equal(split, again)


def test_counts_keep_the_components_that_carry_more_signal_than_noise(sio2_counts):
    """SiO2 spheres on carbon: C, O and Si vary together, so one or two components
    carry the signal (measured 2 at 50 counts per pixel, 1 at 15); the
    Marchenko-Pastur rule is no longer what decides."""
    for counts, expected in ((None, 2), (15, 1)):
        si = sio2_counts if counts is None else thinned(sio2_counts, counts)
        layers = spectral_layers(si, *all_positions(si))
        assert layers.kind == "pca" and len(layers.names) == expected
        assert "two halves of the counts" in layers.reason


def test_a_rock_at_a_few_counts_per_pixel_gets_its_line_maps(granite):
    """Eleven minerals' lines at 15 counts per pixel over 4096 channels: no component
    stands out of two halves of the counts (measured 0), the 11 line maps are the
    layers. At the map's own 617 counts per pixel PCA keeps a few (measured 4)."""
    low = thinned(granite, 15)
    layers = spectral_layers(low, *all_positions(low))
    assert layers.kind == "lines" and layers.names == list(granite.metadata.Sample.xray_lines)
    assert "line maps instead" in layers.reason
    as_array = low.deepcopy()  # as .hspy files bring them back (the FePt map's)
    as_array.metadata.Sample.xray_lines = np.array(granite.metadata.Sample.xray_lines)
    assert list(layer_spec(as_array, "auto").line_names) == layers.names
    full = spectral_layers(granite, *all_positions(granite))
    assert full.kind == "pca" and 3 <= len(full.names) <= 6
    assert spectral_layers(low, *all_positions(low), layers="pca").kind == "pca"


def test_components_that_miss_the_line_maps_give_way_to_them():
    """FePt core-shell particles at 15 and 50 counts per pixel, halved: one component carries
    53 % and 94 % of the shared variance but 36 % and 53 % of the line maps' (the Fe
    core and the Pt shell need two layers), so the Fe and Pt line maps are the layers
    (which gave 27 % against 44 %, and 14 % against 44 %, of the maps' spatial
    variance as error in ``bench_counts.py``). The SiO2 map's component carries
    91-100 % of its lines' (``test_counts_keep_...``); test_TEM's lines share less
    than three standard errors of variance, and its PCA layer stays."""
    fept = load("FePt_core_shell.hspy")
    for counts in (15, 50):
        low = cs.split_counts(thinned(fept, counts, seed=10), fraction=0.5, seed=11)[0]
        layers = spectral_layers(low, *all_positions(low))
        assert layers.kind == "lines" and "of the X-ray line maps'" in layers.reason
    si = load("test_TEM.bcf")[-1]
    assert spectral_layers(si, *all_positions(si)).kind == "pca"


def test_counts_without_signal_warn_and_keep_one_layer(sio2_counts):
    rng = np.random.default_rng(0)
    noise = sio2_counts.deepcopy()
    noise.data = rng.poisson(0.02, noise.data.shape).astype(np.uint32)
    del noise.metadata.Sample
    with pytest.warns(UserWarning, match="no PCA component.*add_elements"):
        layers = spectral_layers(noise, *all_positions(noise))
    assert len(layers.names) == 1


def test_integer_valued_floats_are_split_like_counts(sio2_counts):
    si = thinned(sio2_counts, 15)
    floats = si.deepcopy()
    floats.change_dtype("float32")
    a = spectral_layers(si, *all_positions(si))
    b = spectral_layers(floats, *all_positions(floats))
    assert a.names == b.names and a.reason == b.reason


def test_rebuilt_counts_are_never_negative_and_keep_each_position_s_total(sio2_counts):
    si = thinned(sio2_counts, 15)
    data, observed = all_positions(si)
    layers = spectral_layers(si, data, observed, layers=3)
    assert layers.counts
    maps = layers.maps_of(data, observed)
    linear = layers.rebuild(maps, dtype=np.float64, non_negative=False)
    assert linear.min() < 0  # the linear rebuild of sparse counts dips below zero
    spectra = layers.rebuild(maps, dtype=np.float64)
    assert spectra.min() >= 0
    np.testing.assert_allclose(spectra.sum(axis=-1), np.maximum(linear.sum(axis=-1), 0),
                               rtol=1e-9, atol=1e-9)
    floats = si.deepcopy()
    floats.metadata.Signal.signal_type = ""
    floats.change_dtype("float32")
    plain = spectral_layers(floats, *all_positions(floats), layers=3)
    assert not plain.counts and plain.rebuild(maps).min() < 0  # intensities may be negative
