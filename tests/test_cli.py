"""The ``hyperspy-cs`` command line, run in-process on small real files from tests/data."""

import csv
import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import hyperspy.api as hs
import numpy as np
import pytest
from conftest import DATA

import hyperspy_cs as cs
from hyperspy_cs import cli
from hyperspy_cs.cli import main

# Cheap BPFA: enough sweeps to exercise every step of the sampler, not to converge.
FAST_BPFA = ["--n-iter", "4", "--patch-size", "4", "--n-atoms", "16", "--quiet"]


def run(capsys, *argv):
    """``(status, stdout, stderr)`` of ``hyperspy-cs argv``."""
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def _environment():
    """The environment of a user's shell: none of the test run's warning settings."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}


def test_help_runs_as_installed_command():
    executable = shutil.which("hyperspy-cs")
    assert executable, "the hyperspy-cs entry point is not installed (pip install -e .)"
    done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("demo", "subsample", "inpaint", "compare", "examples:"):
        assert command in done.stdout


def test_help_and_usage_errors_import_nothing_heavy(tmp_path):
    # In a fresh interpreter: this one has imported everything already.
    script = textwrap.dedent("""
        import sys
        from hyperspy_cs.cli import main
        argvs = [["--help"], ["inpaint", "--help"], ["compare", "--help"],
                 ["subsample", "missing.dm3", "--fraction", "0.5", "-o", "x.hspy"],
                 ["inpaint", "missing.bcf", "-o", "x.hspy"],
                 ["inpaint", "missing.bcf", "--guide", "missing_guide.hspy", "-o", "x.hspy"],
                 ["subsample", "--fraction", "ten"]]
        for argv in argvs:
            try:
                status = main(argv)
            except SystemExit as exit_:
                status = exit_.code
            assert status in (0, 2), (argv, status)
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("matplotlib", "exspy", "dask", "numba", "skimage"))
        print("heavy modules:", heavy)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=_environment())
    assert done.returncode == 0, done.stderr
    assert "heavy modules: []" in done.stdout
    assert "Warning" not in done.stderr, done.stderr


def test_run_prints_no_warnings(tmp_path):
    # A fresh process, as a user runs it: exspy is first imported while the
    # file is read (EDS signal), and the run writes the map and its guide.
    executable = shutil.which("hyperspy-cs")
    done = subprocess.run([executable, "subsample", DATA / "test_TEM.bcf", "--fraction", "0.25",
                           "--seed", "0", "--dwell-time", "1e-5", "-o", tmp_path / "tem.hspy"],
                          capture_output=True, text=True, timeout=300, env=_environment())
    assert done.returncode == 0, done.stderr
    assert "faster" in done.stdout and (tmp_path / "tem_guide.hspy").exists()
    assert not [line for line in done.stderr.splitlines() if "warn" in line.lower()], done.stderr


@pytest.mark.parametrize("command", ["demo", "subsample", "inpaint", "compare"])
def test_every_command_has_help_with_examples(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert f"hyperspy-cs {command}" in capsys.readouterr().out.split("example")[-1]


def test_subsample_image(tmp_path, capsys):
    out = tmp_path / "stem_20.hspy"
    status, stdout, _ = run(capsys, "subsample", DATA / "test_STEM_image.dm3", "--fraction", 0.2,
                            "--pattern", "random", "--seed", 3, "--dwell-time", 1e-5, "-o", out)
    assert status == 0
    assert "5x faster" in stdout  # the acquisition report
    sub = hs.load(out)
    node = sub.metadata.Acquisition.Subsampling
    assert (node.pattern, node.seed) == ("random", 3)
    sampled = cs.get_mask(sub)
    assert sampled.mean() == pytest.approx(0.2, abs=1 / sampled.size)
    full = hs.load(DATA / "test_STEM_image.dm3")
    np.testing.assert_array_equal(sub.data[sampled], full.data[sampled])
    assert not sub.data[~sampled].any()


def test_subsample_reports_the_dwell_time_the_file_records(tmp_path, capsys):
    # DigitalMicrograph records the dwell time (3.5 us per pixel for this image)
    status, stdout, err = run(capsys, "subsample", DATA / "test_STEM_image.dm3", "--fraction",
                              0.25, "--pattern", "random", "--seed", 0, "-o", tmp_path / "s.hspy")
    assert status == 0, err
    assert "3.5e-06 s per position (metadata.Acquisition_instrument.TEM.dwell_time)" in stdout
    assert "4x faster" in stdout
    # given, it wins; a file without one (Bruker) gets no report
    status, stdout, _ = run(capsys, "subsample", DATA / "test_STEM_image.dm3", "--fraction", 0.25,
                            "--dwell-time", 1e-5, "-o", tmp_path / "t.hspy")
    assert status == 0 and "1e-05 s per position (given)" in stdout
    status, stdout, _ = run(capsys, "subsample", DATA / "16x16_12bit_packed_8bit.bcf",
                            "--fraction", 0.5, "-o", tmp_path / "u.hspy")
    assert status == 0 and "faster" not in stdout


def test_subsample_spectrum_image_compact_with_guide(tmp_path, capsys):
    out = tmp_path / "tem.hspy"
    status, stdout, _ = run(capsys, "subsample", DATA / "test_TEM.bcf", "--fraction", 0.25,
                            "--seed", 0, "--compact", "-o", out)
    assert status == 0
    sub = cs.load_compact(out)
    assert sub.data.shape == (64, 64, 2048)
    assert cs.get_mask(sub).mean() == pytest.approx(0.25, abs=1e-3)
    guide = hs.load(tmp_path / "tem_guide.hspy")
    assert (guide.metadata.General.title, guide.data.shape) == ("HAADF", (64, 64))
    assert "--guide" in stdout  # says how to reconstruct with it


def test_inpaint_simulated_scan_writes_reconstruction_figure_and_maps(tmp_path, capsys):
    out = tmp_path / "tem_rec.hspy"
    status, stdout, err = run(capsys, "inpaint", DATA / "test_TEM.bcf", "--fraction", 0.25,
                              "--seed", 1, *FAST_BPFA, "--patch-stride", 2, "-o", out)
    assert status == 0, err
    assert "sweep" not in err  # --quiet: no progress bar
    rec = hs.load(out)
    assert rec.data.shape == (64, 64, 2048)
    record = rec.metadata.Reconstruction
    assert record.method == "BPFA3D"
    assert record.parameters.guide == "HAADF"  # found in the file by --guide auto
    assert (record.parameters.patch_size, record.parameters.patch_stride) == (4, 2)
    assert (tmp_path / "tem_rec_comparison.png").stat().st_size > 0
    assert (tmp_path / "tem_rec_maps.png").stat().st_size > 0  # test_TEM.bcf knows its elements
    assert "written to" in stdout


@pytest.fixture
def sem_sub(tmp_path, capsys):
    """``hyperspy-cs subsample`` of the 16 x 16 Bruker SEM map: sem.hspy and sem_guide.hspy."""
    sub = tmp_path / "sem.hspy"
    assert run(capsys, "subsample", DATA / "16x16_12bit_packed_8bit.bcf", "--fraction", 0.5,
               "--seed", 0, "-o", sub)[0] == 0
    assert (tmp_path / "sem_guide.hspy").exists()
    return sub


def load_for(capsys, *argv):
    """``(signal, guide, stdout)`` of what ``hyperspy-cs argv`` reads, without running it."""
    args = cli.build_parser().parse_args([str(a) for a in argv])
    signal, guide = cli._load(args)
    return signal, guide, capsys.readouterr().out


def test_inpaint_finds_the_guide_subsample_wrote_and_says_so(tmp_path, capsys, sem_sub):
    out = tmp_path / "rec.hspy"
    status, stdout, err = run(capsys, "inpaint", sem_sub, "--layers", 2, *FAST_BPFA, "-o", out)
    assert status == 0, err
    assert "guide: 'AsB' from sem_guide.hspy (found beside sem.hspy)" in stdout
    record = hs.load(out).metadata.Reconstruction
    assert record.parameters.guide == "AsB"
    assert record.mask_source == "metadata"
    assert not (tmp_path / "rec_maps.png").exists()  # no elements in this file
    # one door: --guide auto and --guide FILE read and fit the same guide
    _, auto, _ = load_for(capsys, "inpaint", sem_sub, "-o", out)
    _, given, stdout = load_for(capsys, "inpaint", sem_sub, "--guide", tmp_path / "sem_guide.hspy",
                                "-o", out)
    assert "guide: 'AsB' from sem_guide.hspy\n" in stdout  # given: not "found"
    np.testing.assert_array_equal(auto.data, given.data)
    for a, b in zip(auto.axes_manager.signal_axes, given.axes_manager.signal_axes):
        np.testing.assert_array_equal(a.axis, b.axis)
    # compare reads its reference the same way
    _, guide, stdout = load_for(capsys, "compare", sem_sub, "-o", tmp_path)
    assert "guide: 'AsB' from sem_guide.hspy (found beside sem.hspy)" in stdout
    np.testing.assert_array_equal(guide.data, auto.data)


def test_inpaint_says_when_no_guide_is_used(tmp_path, capsys, sem_sub):
    _, guide, stdout = load_for(capsys, "inpaint", sem_sub, "--guide", "none", "-o", "x.hspy")
    assert guide is None
    assert "guide: none (--guide none); the reconstruction is unguided" in stdout
    alone = tmp_path / "alone" / "sem.hspy"  # no sem_guide.hspy beside it
    alone.parent.mkdir()
    shutil.copy(sem_sub, alone)
    _, guide, stdout = load_for(capsys, "inpaint", alone, "-o", "x.hspy")
    assert guide is None
    assert "no sem_guide.hspy beside it" in stdout and "unguided" in stdout
    # a method that takes no guide says it does not use the one found
    _, guide, stdout = load_for(capsys, "inpaint", sem_sub, "--method", "nearest", "-o", "x.hspy")
    assert guide is not None and "nearest takes no guide" in stdout
    # an image has no guide, and nothing is said about one
    _, guide, stdout = load_for(capsys, "inpaint", DATA / "test_STEM_image.dm3", "-o", "x.hspy")
    assert guide is None and "guide" not in stdout


def test_a_guide_file_that_does_not_fit_is_refused(tmp_path, capsys, sem_sub):
    # the 64 x 64 HAADF of another acquisition (another field of view)
    haadf = tmp_path / "haadf.hspy"
    cs.load_acquisition(DATA / "test_TEM.bcf")[1].save(haadf)
    out = tmp_path / "out.hspy"
    status, _, err = run(capsys, "inpaint", sem_sub, "--guide", haadf, "-o", out)
    assert status == 2 and err.count("\n") == 1
    assert "error: --guide: 'HAADF': " in err and "field of view" in err
    assert not out.exists()


def test_inpaint_subsampled_file_refuses_another_simulated_scan(tmp_path, capsys, sem_sub):
    sub = sem_sub
    # Already sub-sampled: simulating another scan of it is refused.
    status, _, err = run(capsys, "inpaint", sub, "--fraction", 0.5, "-o", tmp_path / "x.hspy")
    assert status == 2 and "already sub-sampled" in err


def test_inpaint_image_with_interpolation_and_denoising_note(tmp_path, capsys):
    out = tmp_path / "stem_linear.hspy"
    status, stdout, _ = run(capsys, "inpaint", DATA / "test_STEM_image.dm3", "--method", "linear",
                            "--fraction", 0.3, "--pattern", "random", "--seed", 0, "-o", out)
    assert status == 0
    assert "PSNR" in stdout
    assert hs.load(out).metadata.Reconstruction.method == "linear"
    assert (tmp_path / "stem_linear_comparison.png").stat().st_size > 0
    status, stdout, _ = run(capsys, "inpaint", DATA / "test_STEM_image.dm3", "--method", "linear",
                            "-o", tmp_path / "denoised.hspy")
    assert status == 0 and "denoises" in stdout


def test_inpaint_takes_the_likelihood(tmp_path, capsys):
    # test_STEM_image.dm3 holds integers: counts only when the user says so.
    for likelihood in ("auto", "poisson"):
        out = tmp_path / f"{likelihood}.hspy"
        status, _, err = run(capsys, "inpaint", DATA / "test_STEM_image.dm3", "--fraction", 0.5,
                             "--seed", 0, "--likelihood", likelihood, *FAST_BPFA, "-o", out)
        assert status == 0, err
        record = hs.load(out).metadata.Reconstruction
        assert record.parameters.likelihood == likelihood
        assert record.likelihood == ("gaussian" if likelihood == "auto" else "poisson")


def test_inpaint_shows_the_bpfa_progress_bar(tmp_path, capsys, monkeypatch):
    # Without --quiet the bar follows HyperSpy's preference: make it the default, on.
    monkeypatch.setattr(hs.preferences.General, "show_progressbar", True)
    status, _, err = run(capsys, "inpaint", DATA / "test_STEM_image.dm3", "--fraction", 0.5,
                         "--n-iter", 2, "--n-atoms", 8, "--seed", 0, "-o", tmp_path / "r.hspy")
    assert status == 0, err
    assert "BPFA" in err and "2/2" in err


def test_compare_writes_tables_and_figure(tmp_path, capsys):
    status, stdout, err = run(capsys, "compare", DATA / "test_STEM_image.dm3", "--fractions", 0.2,
                              0.4, "--methods", "nearest", "linear", "--quiet", "-o", tmp_path)
    assert status == 0, err
    assert "PSNR" in stdout
    lines = (tmp_path / "comparison.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 2  # header, 2 methods x 2 fractions
    assert "| method |" in (tmp_path / "comparison.md").read_text()
    assert (tmp_path / "comparison.png").stat().st_size > 0


@pytest.mark.parametrize(
    "argv, reason",
    [
        (["inpaint", "missing.bcf"], "no such file"),
        (["subsample", DATA / "test_STEM_image.dm3", "--fraction", "0"], "(0, 1]"),
        (["subsample", DATA / "test_STEM_image.dm3", "--fraction", "ten"], "(0, 1]"),
        (["subsample", DATA / "test_STEM_image.dm3"], "--fraction"),
        (["inpaint", DATA / "test_STEM_image.dm3", "--method", "magic"], "invalid choice"),
        (["compare", DATA / "test_STEM_image.dm3", "--methods", "magic"], "invalid choice"),
        (["inpaint", DATA / "test_STEM_image.dm3", "--method", "bpfa3d"], "spectrum image"),
        (["inpaint", DATA / "test_STEM_image.dm3", "--fixed-dictionary"], "--dictionary"),
        (["inpaint", DATA / "test_STEM_image.dm3", "--dose", "10"], "--fraction"),
        (["inpaint", DATA / "test_TEM.bcf", "--guide", "SE"], "--guide: no image titled 'SE'"),
        (["inpaint", DATA / "test_TEM.bcf", "--guide", "missing.hspy"],
         "argument --guide: no such file: missing.hspy"),
        (["inpaint", DATA / "test_STEM_image.dm3", "--method", "linear", "--n-atoms", "8"],
         "unknown option"),
        (["compare", DATA / "test_STEM_image.dm3", "--methods", "linear", "--n-iter", "8"],
         "not among --methods"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, reason):
    out = tmp_path / "out.hspy"
    status, stdout, err = run(capsys, *argv, "-o", out)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("hyperspy-cs")
    assert reason in err
    assert not out.exists()


def test_output_must_keep_metadata(tmp_path, capsys):
    status, _, err = run(capsys, "subsample", DATA / "test_STEM_image.dm3", "--fraction", 0.5,
                         "-o", tmp_path / "out.png")
    assert status == 2 and ".hspy or .zspy" in err


def test_existing_output_is_kept_without_overwrite(tmp_path, capsys):
    out = tmp_path / "sub.hspy"
    out.write_bytes(b"keep me")
    argv = ["subsample", DATA / "test_STEM_image.dm3", "--fraction", 0.5, "-o", out]
    status, _, err = run(capsys, *argv)
    assert status == 2 and "--overwrite" in err
    assert out.read_bytes() == b"keep me"
    assert run(capsys, *argv, "--overwrite")[0] == 0
    assert cs.get_mask(hs.load(out)).mean() == pytest.approx(0.5, abs=1e-3)


def test_unreadable_file_exits_2_with_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.dm3"
    broken.write_bytes(b"not a DigitalMicrograph file")
    status, _, err = run(capsys, "subsample", broken, "--fraction", 0.5, "-o",
                         tmp_path / "out.hspy")
    assert status == 2
    assert err.count("\n") == 1 and "cannot read" in err and "broken.dm3" in err


@pytest.mark.parametrize("name", ["empty.hspy", "no_signal.hspy"])
def test_a_file_without_a_signal_is_named(tmp_path, capsys, name):
    path = tmp_path / name
    if name == "empty.hspy":
        path.write_bytes(b"")
    else:  # a valid HDF5 file, but no HyperSpy signal in it
        with h5py.File(path, "w") as file:
            file.create_group("Experiments")
    out = tmp_path / "out.hspy"
    status, _, err = run(capsys, "inpaint", path, "-o", out)
    assert status == 2 and err.count("\n") == 1
    assert f"error: path: cannot read {name}: OSError" in err
    # and as the guide image of a spectrum image
    status, _, err = run(capsys, "inpaint", DATA / "test_TEM.bcf", "--guide", path, "-o", out)
    assert status == 2 and err.count("\n") == 1
    assert f"error: --guide: cannot read {name}: OSError" in err
    assert not out.exists()


def test_demo_refuses_to_overwrite_before_computing(tmp_path, capsys):
    figure = tmp_path / "demo.png"
    figure.write_bytes(b"keep me")
    status, stdout, err = run(capsys, "demo", "-o", tmp_path, "--quiet")
    assert status == 2 and "--overwrite" in err
    assert figure.read_bytes() == b"keep me"
    assert not (tmp_path / "demo.csv").exists() and "PSNR" not in stdout


@pytest.mark.slow
def test_demo_compares_cubic_and_bpfa(tmp_path, capsys):
    status, stdout, err = run(capsys, "demo", "-o", tmp_path / "demo", "--quiet")
    assert status == 0, err
    assert "PSNR (dB), line_hop pattern" in stdout  # the table is printed
    with open(tmp_path / "demo" / "demo.csv") as file:
        rows = list(csv.DictReader(file))
    psnr = {(row["method"], float(row["fraction"])): float(row["psnr"]) for row in rows}
    assert set(psnr) == {(m, f) for m in ("cubic", "bpfa") for f in (0.1, 0.2)}
    for fraction in (0.1, 0.2):  # what the README's picture shows
        assert psnr["bpfa", fraction] > psnr["cubic", fraction] + 1.0
    assert "| bpfa |" in (tmp_path / "demo" / "demo.md").read_text()
    assert (tmp_path / "demo" / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
