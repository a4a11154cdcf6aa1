import time

import hyperspy.api as hs
import numpy as np
import pytest
from exspy._misc.eds.utils import get_FWHM_at_Energy
from exspy.material import elements as elements_db
from exspy.signals import EDSSEMSpectrum, EDSTEMSpectrum
from scipy.signal import find_peaks

from hyperspy_cs import data

# --- atomic_resolution_image ----------------------------------------------------


def test_image_class_axes_metadata():
    s = data.atomic_resolution_image(seed=0)
    assert type(s) is hs.signals.Signal2D
    assert s.data.shape == (256, 256) and s.data.dtype == np.float64
    x, y = s.axes_manager.signal_axes
    assert (x.name, y.name) == ("x", "y")
    for axis in (x, y):
        assert axis.units == "nm"
        assert axis.scale == pytest.approx(0.3905 / 16)
    assert s.metadata.Signal.quantity
    assert "HAADF" in s.metadata.General.title
    assert s.metadata.Simulation.seed == 0
    assert s.metadata.Simulation.parameters.lattice_spacing == 16.0


def test_image_lattice():
    background = 0.05
    s = data.atomic_resolution_image(
        shape=(64, 96), intensities=(1.0, 0.45, 0.1), background=background
    )

    def level(height):
        return background + (1 - background) * height

    values = s.data
    assert values.max() == pytest.approx(1.0, abs=1e-3)
    # Origin a quarter cell in: A columns at (4 + 16 i, 4 + 16 j), B-O in the
    # cell centres, O on the cell edges.
    assert values[4::16, 4::16] == pytest.approx(level(1.0), abs=1e-3)
    assert values[12::16, 12::16] == pytest.approx(level(0.45), abs=1e-3)
    assert values[4::16, 12::16] == pytest.approx(level(0.1), abs=1e-3)
    assert values[12::16, 4::16] == pytest.approx(level(0.1), abs=1e-3)
    # Without an O height there are no O columns.
    plain = data.atomic_resolution_image(shape=(64, 96), background=background).data
    assert plain[4::16, 12::16] == pytest.approx(background, abs=1e-3)
    assert plain.min() == pytest.approx(background, abs=1e-3)


def test_image_lattice_spacing_and_parameter():
    s = data.atomic_resolution_image(
        shape=(40, 40), lattice_spacing=12.0, column_sigma=1.5, lattice_parameter=0.4
    )
    assert s.axes_manager[0].scale == pytest.approx(0.4 / 12)
    assert s.metadata.Simulation.parameters.lattice_parameter == 0.4
    # A columns a quarter cell in, every 12 pixels.
    assert s.data[3::12, 3::12] == pytest.approx(s.data.max(), abs=1e-3)


def test_image_drift_and_jitter():
    clean = data.atomic_resolution_image(shape=(180, 64), seed=0).data
    # A perfect lattice repeats every 16 rows.
    assert np.allclose(clean[4], clean[164])
    drifted = data.atomic_resolution_image(shape=(180, 64), drift=(0.0, 0.05), seed=0).data
    # Row 164 sees the specimen shifted by 164 * 0.05 = 8.2 pixels along x.
    assert np.argmax(drifted[164, :16]) in (11, 12)
    assert np.argmax(drifted[4, :16]) == 4
    jittered = data.atomic_resolution_image(shape=(180, 64), scan_distortion=1.0, seed=0).data
    shifts = [np.argmax(jittered[r, :16]) for r in range(4, 180, 16)]
    assert len(set(shifts)) > 1
    vertical = data.atomic_resolution_image(shape=(180, 64), drift=(0.05, 0.0), seed=0).data
    # Row r sees y = 1.05 r - 4: A columns at rows (4 + 16 k) / 1.05.
    rows, _ = find_peaks(vertical[:, 4], height=0.5)
    assert len(rows) == 12
    assert np.abs(rows - (4 + 16 * np.arange(12)) / 1.05).max() <= 0.5


def test_image_poisson_noise():
    dose = 20.0
    clean = data.atomic_resolution_image(seed=3).data
    noisy = data.atomic_resolution_image(dose=dose, seed=3).data
    counts = noisy * dose
    assert np.allclose(counts, np.round(counts))
    expected = dose * clean
    # Same lattice with and without noise; Poisson: mean and variance both dose * u.
    assert counts.sum() / expected.sum() == pytest.approx(1.0, abs=0.01)
    assert np.sum((counts - expected) ** 2) / expected.sum() == pytest.approx(1.0, abs=0.03)


def test_image_seed_and_lazy():
    kwargs = dict(shape=(64, 80), dose=10.0, scan_distortion=0.5, drift=(0.01, 0.02))
    a = data.atomic_resolution_image(seed=1, **kwargs)
    assert np.array_equal(a.data, data.atomic_resolution_image(seed=1, **kwargs).data)
    assert not np.array_equal(a.data, data.atomic_resolution_image(seed=2, **kwargs).data)
    lazy = data.atomic_resolution_image(seed=1, lazy=True, **kwargs)
    assert lazy._lazy and isinstance(lazy, hs.signals.Signal2D)
    assert np.array_equal(lazy.data.compute(), a.data)
    assert data.atomic_resolution_image(**kwargs).metadata.Simulation.seed >= 0


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"shape": (64,)}, TypeError, "shape"),
        ({"shape": (64, 1)}, ValueError, "shape"),
        ({"shape": "ab"}, TypeError, "shape"),
        ({"lattice_spacing": 0}, ValueError, "lattice_spacing"),
        ({"column_sigma": -1.0}, ValueError, "column_sigma"),
        ({"intensities": (1.0,)}, TypeError, "intensities"),
        ({"intensities": (1.0, -0.5)}, ValueError, "intensities"),
        ({"intensities": (0, 0)}, ValueError, "intensities"),
        ({"scan_distortion": -1}, ValueError, "scan_distortion"),
        ({"drift": 0.1}, TypeError, "drift"),
        ({"drift": (0.0, np.nan)}, ValueError, "drift"),
        ({"dose": 0}, ValueError, "dose"),
        ({"background": 1.0}, ValueError, "background"),
        ({"lattice_parameter": "0.39"}, TypeError, "lattice_parameter"),
        ({"seed": "x"}, TypeError, "seed"),
        ({"lazy": 1}, TypeError, "lazy"),
    ],
)
def test_image_argument_errors(kwargs, error, name):
    with pytest.raises(error, match=name):
        data.atomic_resolution_image(**kwargs)


def test_image_is_fast():
    start = time.process_time()
    data.atomic_resolution_image(dose=100.0, scan_distortion=0.3, seed=0)
    assert time.process_time() - start < 1.0


# --- eds_spectrum_image -----------------------------------------------------------


@pytest.fixture(scope="module")
def eds():
    """The default SEM spectrum image, its BSE image and the truth."""
    start = time.process_time()
    result = data.eds_spectrum_image(seed=0, return_truth=True)
    return (*result, time.process_time() - start)


def test_eds_is_fast(eds):
    assert eds[-1] < 2.0


def test_eds_classes_shapes_axes(eds):
    si, bse, truth, _ = eds
    assert type(si) is EDSSEMSpectrum and type(bse) is hs.signals.Signal2D
    assert si.data.shape == (64, 64, 1024) and si.data.dtype == np.uint32
    assert bse.data.shape == (64, 64) and bse.data.dtype == np.float64
    nav_x, nav_y = si.axes_manager.navigation_axes
    (energy,) = si.axes_manager.signal_axes
    assert (nav_x.name, nav_y.name) == ("x", "y")
    assert (energy.units, energy.scale, energy.offset) == ("keV", 0.01, -0.1)
    for nav, image in zip((nav_x, nav_y), bse.axes_manager.signal_axes):
        assert nav.units == image.units == "nm"
        assert nav.scale == image.scale == 20.0
        assert nav.name == image.name
    assert type(truth.spectrum_image) is EDSSEMSpectrum
    assert truth.spectrum_image.data.dtype == np.float64


def test_eds_metadata(eds):
    si, bse, _, _ = eds
    assert si.metadata.Sample.elements == ["Cr", "Fe", "Ni", "O", "Si"]
    assert si.metadata.Sample.xray_lines == ["Cr_Ka", "Fe_Ka", "Ni_Ka", "O_Ka", "Si_Ka"]
    assert si.metadata.Acquisition_instrument.SEM.beam_energy == 15.0
    assert si.metadata.Acquisition_instrument.SEM.Detector.EDS.energy_resolution_MnKa == 130.0
    assert si.metadata.Signal.signal_type == "EDS_SEM"
    assert bse.metadata.Acquisition_instrument.SEM.beam_energy == 15.0
    for s in (si, bse):
        assert s.metadata.Simulation.seed == 0
        assert s.metadata.Simulation.parameters.phases.SiO2.O == 0.533


@pytest.mark.parametrize("line", ["Fe_Ka", "Ni_Ka", "Cr_Ka", "Si_Ka", "O_Ka"])
def test_eds_lines_at_exspy_energies(eds, line):
    si, _, truth, _ = eds
    element, name = line.split("_")
    line_energy = elements_db[element].Atomic_properties.Xray_lines[name]["energy (keV)"]
    energy = si.axes_manager.signal_axes[0]
    channel = energy.value2index(line_energy)
    for spectrum in (truth.spectrum_image.data.sum((0, 1)), si.data.sum((0, 1))):
        window = spectrum[channel - 4 : channel + 5]
        assert channel - 4 + np.argmax(window) == channel


def test_eds_line_width_follows_detector_resolution():
    # An isolated line: its second moment over the peak gives the FWHM.
    si, _, truth = data.eds_spectrum_image(
        shape=(8, 8), phases={"Mn": {"Mn": 1.0}}, seed=0, return_truth=True
    )
    spectrum = truth.spectrum_image.data[0, 0]
    energy = si.axes_manager.signal_axes[0].axis
    mn_ka = elements_db.Mn.Atomic_properties.Xray_lines.Ka["energy (keV)"]
    near = np.abs(energy - mn_ka) < 0.2
    peak = spectrum[near] - spectrum[near].min()
    sigma = np.sqrt(np.sum(peak * (energy[near] - mn_ka) ** 2) / peak.sum())
    assert sigma * 2 * np.sqrt(2 * np.log(2)) == pytest.approx(
        get_FWHM_at_Energy(130.0, mn_ka), rel=0.05
    )
    for e in (0.5, 1.74, 9.0):
        assert data._fwhm(e) == pytest.approx(get_FWHM_at_Energy(130.0, e))


def test_eds_poisson_counts(eds):
    si, _, truth, _ = eds
    counts = si.data.astype(float)
    expected = truth.spectrum_image.data
    assert expected.sum(-1) == pytest.approx(200.0)
    assert counts.sum() / expected.sum() == pytest.approx(1.0, abs=0.005)
    assert np.sum((counts - expected) ** 2) / expected.sum() == pytest.approx(1.0, abs=0.02)


def test_eds_truth_maps(eds):
    si, bse, truth, _ = eds
    assert list(truth.composition) == si.metadata.Sample.elements
    assert list(truth.phase_fractions) == ["Fe-rich", "Ni-rich", "SiO2"]
    phases = np.stack([s.data for s in truth.phase_fractions.values()])
    assert np.allclose(phases.sum(0), 1.0)
    assert (phases.reshape(3, -1).max(1) > 0.99).all()  # every phase present
    for element, image in truth.composition.items():
        assert image.metadata.General.title == element
        assert 0 <= image.data.min() and image.data.max() <= 1
    assert np.allclose(truth.composition["Si"].data, 0.467 * phases[2])
    # The element maps measured by exspy follow the true composition.
    measured = si.get_lines_intensity(xray_lines=["Fe_Ka"])[0].data
    assert np.corrcoef(measured.ravel(), truth.composition["Fe"].data.ravel())[0, 1] > 0.8


def test_eds_bse_follows_heavy_phase(eds):
    _, bse, truth, _ = eds
    heavy = truth.phase_fractions["Fe-rich"].data + truth.phase_fractions["Ni-rich"].data
    assert np.corrcoef(bse.data.ravel(), heavy.ravel())[0, 1] > 0.95
    oxide = truth.phase_fractions["SiO2"].data > 0.99
    assert bse.data[heavy > 0.99].mean() > bse.data[oxide].mean() + 0.1
    # Mild Gaussian noise, 1 % of the maximum.
    noise = bse.data - truth.guide.data
    assert noise.std() == pytest.approx(0.01 * truth.guide.data.max(), rel=0.1)


def test_eds_tem():
    si, haadf = data.eds_spectrum_image(shape=(16, 16), microscope="TEM", seed=0)
    assert type(si) is EDSTEMSpectrum
    assert si.metadata.Acquisition_instrument.TEM.beam_energy == 200.0
    assert "HAADF" in haadf.metadata.General.title
    assert si.axes_manager.navigation_axes[0].scale == haadf.axes_manager[0].scale == 2.0
    assert haadf.data.max() == pytest.approx(1.0, abs=0.05)


def test_eds_custom_phases_and_beam_energy():
    si, _, truth = data.eds_spectrum_image(
        shape=(16, 16),
        n_channels=512,
        phases={"metal": {"Cu": 1}, "oxide": {"Al": 2, "O": 3}},
        beam_energy=5.0,
        seed=0,
        return_truth=True,
    )
    assert si.metadata.Sample.elements == ["Al", "Cu", "O"]
    assert si.metadata.Acquisition_instrument.SEM.beam_energy == 5.0
    # 512 channels end at 5 keV: copper shows its L line.
    assert "Cu_La" in si.metadata.Sample.xray_lines
    assert truth.composition["O"].data.max() == pytest.approx(0.6)


def test_eds_seed_and_lazy(monkeypatch):
    monkeypatch.setattr(data, "_CHUNK_ELEMENTS", 8 * 24 * 256)  # chunks of 8 scan rows
    kwargs = dict(shape=(40, 24), n_channels=256, counts_per_pixel=50.0, return_truth=True)
    si, bse, truth = data.eds_spectrum_image(seed=4, **kwargs)
    again = data.eds_spectrum_image(seed=4, **kwargs)
    assert np.array_equal(si.data, again[0].data) and np.array_equal(bse.data, again[1].data)
    other = data.eds_spectrum_image(seed=5, **kwargs)
    assert not np.array_equal(si.data, other[0].data)
    lazy_si, lazy_bse, lazy_truth = data.eds_spectrum_image(seed=4, lazy=True, **kwargs)
    assert lazy_si._lazy and lazy_bse._lazy and lazy_truth.spectrum_image._lazy
    assert isinstance(lazy_si, EDSSEMSpectrum)
    assert lazy_si.data.numblocks == (5, 1, 1)
    assert np.array_equal(lazy_si.data.compute(), si.data)
    assert np.array_equal(lazy_bse.data.compute(), bse.data)
    assert np.allclose(lazy_truth.spectrum_image.data.compute(), truth.spectrum_image.data)
    assert np.allclose(lazy_truth.composition["Fe"].data.compute(), truth.composition["Fe"].data)
    assert lazy_si.metadata.Sample.xray_lines == si.metadata.Sample.xray_lines


@pytest.mark.parametrize(
    "kwargs, error, name",
    [
        ({"shape": (64, 64, 3)}, TypeError, "shape"),
        ({"n_channels": 8}, ValueError, "n_channels"),
        ({"n_channels": 100.0}, TypeError, "n_channels"),
        ({"n_channels": 20}, ValueError, "n_channels, beam_energy"),
        ({"phases": {}}, TypeError, "phases"),
        ({"phases": {"a": "Fe"}}, TypeError, "phases"),
        ({"phases": {"a": {"Xx": 1.0}}}, ValueError, "phases: unknown element"),
        ({"phases": {"a": {"Fe": -1.0}}}, ValueError, "phases"),
        ({"phases": {"a": {"Fe": 0.0}}}, ValueError, "phases"),
        ({"counts_per_pixel": 0}, ValueError, "counts_per_pixel"),
        ({"beam_energy": -5.0}, ValueError, "beam_energy"),
        ({"beam_energy": 0.3}, ValueError, "beam_energy"),
        ({"microscope": "XPS"}, ValueError, "microscope"),
        ({"microscope": ["SEM"]}, ValueError, "microscope"),
        ({"grain_size": 0}, ValueError, "grain_size"),
        ({"seed": -1}, ValueError, "seed"),
        ({"lazy": "yes"}, TypeError, "lazy"),
        ({"return_truth": None}, TypeError, "return_truth"),
    ],
)
def test_eds_argument_errors(kwargs, error, name):
    with pytest.raises(error, match=name):
        data.eds_spectrum_image(**{"shape": (8, 8), **kwargs})
