"""acquisition_report: time, dose and beam travel, with the dwell time and current from the metadata."""

import numpy as np
import pytest
from conftest import load

import hyperspy_cs as cs

E = 1.602176634e-19  # C


def test_acquisition_report(image):
    sub = image.subsample(0.1, "random", seed=11)
    report = cs.acquisition_report(sub, dwell_time=2e-6, beam_current=20e-12)
    n = 64 * 48
    assert report.n_visited == round(0.1 * n)
    assert report.full_time == pytest.approx(n * 2e-6)
    assert report.speedup == pytest.approx(n / report.n_visited)
    assert report.electrons_per_position == pytest.approx(20e-12 * 2e-6 / 1.602176634e-19)
    assert "faster" in str(report)
    full = image.subsample(mask=np.ones((64, 48), bool))
    full_report = cs.acquisition_report(full, dwell_time=1e-6)
    assert full_report.beam_travel == pytest.approx(full_report.full_beam_travel)
    assert full_report.speedup == 1


def test_dwell_time_from_a_real_file():
    # DigitalMicrograph records Acquisition_instrument.TEM.dwell_time (s), and a
    # beam_current of 0.0 when the microscope gave none.
    stem = load("test_STEM_image.dm3")
    assert stem.metadata.Acquisition_instrument.TEM.beam_current == 0
    report = cs.acquisition_report(stem.subsample(0.25, "random", seed=0))
    assert report.dwell_time == pytest.approx(3.5e-6)
    assert report.dwell_time_source == "metadata.Acquisition_instrument.TEM.dwell_time"
    assert report.full_time == pytest.approx(68 * 68 * 3.5e-6)
    assert report.beam_current is None and report.total_electrons is None  # 0 is "not recorded"
    assert "(metadata.Acquisition_instrument.TEM.dwell_time)" in str(report)
    assert "beam current" not in str(report)


def test_detector_dwell_time_and_beam_current_from_real_files():
    # a DM spectrum image records its dwell time on the EELS detector
    eels = load("EELS_SI.dm4")
    report = cs.acquisition_report(eels.subsample(0.5, "random", seed=0))
    assert report.dwell_time == pytest.approx(0.0199501246882793)
    assert report.dwell_time_source == "metadata.Acquisition_instrument.TEM.Detector.EELS.dwell_time"
    # this map records a current (0.77 nA, HyperSpy's unit) but no dwell time
    eds = load("SiO2_EDS_SI.hspy")
    sub = eds.subsample(0.2, "random", seed=0)
    with pytest.raises(ValueError, match="^dwell_time: not given and not in the metadata"):
        cs.acquisition_report(sub)
    report = cs.acquisition_report(sub, dwell_time=1e-3)
    assert report.dwell_time_source == "given"
    assert report.beam_current == pytest.approx(0.77e-9)
    assert report.beam_current_source == "metadata.Acquisition_instrument.TEM.beam_current"
    assert report.electrons_per_position == pytest.approx(0.77e-9 * 1e-3 / E)
    assert "7.7e-10 A (metadata.Acquisition_instrument.TEM.beam_current)" in str(report)


def test_metadata_set_by_hand(image):
    sub = image.subsample(0.1, "random", seed=1)
    sub.metadata.set_item("Acquisition_instrument.SEM.dwell_time", 20.0)
    sub.metadata.set_item("Acquisition_instrument.SEM.dwell_time_units", "us")
    sub.metadata.set_item("Acquisition_instrument.SEM.beam_current", 0.5)  # nA
    report = cs.acquisition_report(sub)
    assert report.dwell_time == pytest.approx(20e-6)
    assert report.dwell_time_source == "metadata.Acquisition_instrument.SEM.dwell_time"
    assert report.beam_current == pytest.approx(0.5e-9)
    assert report.electrons_per_position == pytest.approx(0.5e-9 * 20e-6 / E)
    assert report.subsampled_time == pytest.approx(report.n_visited * 20e-6)
    text = str(report)
    assert "2e-05 s per position (metadata.Acquisition_instrument.SEM.dwell_time)" in text
    assert "5e-10 A (metadata.Acquisition_instrument.SEM.beam_current)" in text
    # given values win over the metadata
    report = cs.acquisition_report(sub, dwell_time=1e-6, beam_current=1e-12)
    assert (report.dwell_time, report.dwell_time_source) == (1e-6, "given")
    assert (report.beam_current, report.beam_current_source) == (1e-12, "given")
    # TEM comes before SEM
    sub.metadata.set_item("Acquisition_instrument.TEM.dwell_time", 1e-3)
    assert cs.acquisition_report(sub).dwell_time == 1e-3
    # a current in other units
    sub.metadata.set_item("Acquisition_instrument.SEM.beam_current_units", "pA")
    assert cs.acquisition_report(sub).beam_current == pytest.approx(0.5e-12)


def test_metadata_errors(image):
    sub = image.subsample(0.1, "random", seed=1)
    with pytest.raises(ValueError, match="^dwell_time: not given and not in the metadata"):
        cs.acquisition_report(sub)
    sub.metadata.set_item("Acquisition_instrument.TEM.dwell_time", 0.0)  # "unknown"
    with pytest.raises(ValueError, match="^dwell_time: not given"):
        cs.acquisition_report(sub)
    sub.metadata.set_item("Acquisition_instrument.TEM.dwell_time", 1e-5)
    sub.metadata.set_item("Acquisition_instrument.TEM.dwell_time_units", "fortnights")
    with pytest.raises(ValueError, match="^metadata.Acquisition_instrument.TEM.dwell_time_units: "):
        cs.acquisition_report(sub)
    sub.metadata.set_item("Acquisition_instrument.TEM.dwell_time", "fast")
    with pytest.raises(TypeError, match="^metadata.Acquisition_instrument.TEM.dwell_time: expected"):
        cs.acquisition_report(sub)
    with pytest.raises(ValueError, match="^dwell_time"):
        cs.acquisition_report(sub, dwell_time=-1)
    with pytest.raises(ValueError, match="^beam_current"):
        cs.acquisition_report(sub, dwell_time=1e-6, beam_current=0)
