import numpy as np
import pytest

import hyperspy_cs as cs
from hyperspy_cs import _scan
from hyperspy_cs.layers import spectral_layers


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
    # Three phases plus the mixing at grain boundaries: a few components stand above noise.
    assert 2 <= layers.maps.shape[-1] <= 8
    rebuilt = layers.rebuild(layers.maps)
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
    a = spectral_layers(si, data, observed, layers=4, seed=0)
    b = spectral_layers(si, garbage, observed, layers=4, seed=0)
    assert np.allclose(a.maps[observed], b.maps[observed])
    assert np.allclose(a.rebuild_matrix, b.rebuild_matrix)


def test_line_layers_are_exspy_line_intensities(eds):
    si, _ = eds
    layout, data = canonical(si)
    observed = np.ones(data.shape[:3], bool)
    layers = spectral_layers(si, data, observed, layers="lines")
    assert layers.names == list(si.metadata.Sample.xray_lines)
    expected = np.stack([m.data for m in si.get_lines_intensity()], axis=-1)
    assert np.allclose(layers.maps[0], expected)


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
