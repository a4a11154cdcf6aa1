import logging
import os
import re
import struct
import subprocess
import sys
import textwrap

import dask
import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest
from conftest import DATA, load

import hyperspy_cs as cs
from hyperspy_cs import io
from hyperspy_cs.io import _vendor
from hyperspy_cs._scan import ScanAxesError, scan_layout


def calibration(axes):
    return [(a.name, a.scale, a.offset, str(a.units), a.size) for a in axes]


def contents(path):
    """The bytes of a file, or of each file of a folder (.zspy), to check it is unchanged."""
    if path.is_dir():
        return {str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()}
    return path.read_bytes()


def size_on_disk(path):
    if path.is_dir():  # .zspy is a folder
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


@pytest.fixture
def sub_tem(bcf_tem):
    """The Bruker TEM EDS map sub-sampled at 10 %, line-hop order."""
    return bcf_tem[1].subsample(0.1, "line_hop", seed=0)


# -- vendor files -------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls, nav_shape, guide_title",
    [
        ("16x16_12bit_packed_8bit.bcf", "EDSSEMSpectrum", (16, 16), "AsB"),
        ("test_TEM.bcf", "EDSTEMSpectrum", (64, 64), "HAADF"),
        ("Test_SI_16x16_215_kx.emd", "EDSTEMSpectrum", (16, 16), "HAADF"),
        ("EELS_SI.dm4", "EELSSpectrum", (2, 2), None),
        ("16x16-spectrum_image-5x5x1024.emi", "Signal1D", (5, 5), None),
        ("test_ripple_sdim-1_ndim-2_uint16.rpl", "EELSSpectrum", (3, 2), None),
    ],
)
def test_load_acquisition_vendor_files(name, cls, nav_shape, guide_title):
    signal, guide = io.load_acquisition(DATA / name)
    assert type(signal).__name__ == cls
    assert signal.axes_manager.navigation_shape == nav_shape
    assert signal.axes_manager.signal_dimension == 1
    if guide_title is None:
        assert guide is None
        return
    assert guide.metadata.General.title == guide_title
    assert guide.data.shape == nav_shape[::-1]
    # same scan grid: the guide is calibrated like the spectrum image
    assert calibration(guide.axes_manager.signal_axes) == calibration(signal.axes_manager.navigation_axes)
    scan_layout(signal)  # usable by the rest of the package


def test_velox_picks_the_cube_and_the_haadf_not_the_element_maps():
    signals = load("Test_SI_16x16_215_kx.emd")
    signal, guide = io.load_acquisition(DATA / "Test_SI_16x16_215_kx.emd")
    haadf = next(s for s in signals if s.metadata.General.title == "HAADF")
    assert np.array_equal(guide.data, haadf.data)
    assert np.array_equal(signal.data, signals[-1].data)
    assert signal.metadata.Sample.elements == ["C", "O", "Ca", "Cu"]
    # Velox gives the HAADF no offset; it takes the cube's
    assert guide.axes_manager["x"].offset == signal.axes_manager["x"].offset != 0


def test_lazy_keeps_the_spectral_axis_in_one_chunk(tmp_path, bcf_tem):
    _, eds = bcf_tem
    path = tmp_path / "chunked.hspy"
    eds.save(path, chunks=(32, 32, 256))
    signal, guide = io.load_acquisition(path, lazy=True)
    assert signal._lazy and guide is None
    assert len(signal.data.chunks[-1]) == 1
    assert np.array_equal(signal.data.compute(), eds.data)
    signal, guide = io.load_acquisition(DATA / "Test_SI_16x16_215_kx.emd", lazy=True)
    assert signal._lazy and len(signal.data.chunks[-1]) == 1
    assert guide.metadata.General.title == "HAADF"


def test_plain_image_file_and_guide_none():
    image, guide = io.load_acquisition(DATA / "test_STEM_image.dm3")
    assert image.axes_manager.signal_shape == (68, 68) and guide is None
    eds, guide = io.load_acquisition(DATA / "test_TEM.bcf", guide=None)
    assert type(eds).__name__ == "EDSTEMSpectrum" and guide is None
    _, guide = io.load_acquisition(DATA / "test_TEM.bcf", guide="haadf")  # case-insensitive title
    assert guide.metadata.General.title == "HAADF"


def test_overview_at_another_field_of_view_is_not_used_as_guide(caplog):
    path = DATA / "bcf_v2_50x50px.bcf"
    on_grid, overview, cube = load(path.name)
    assert overview.data.shape == (825, 1100)
    signal, guide = io.load_acquisition(path)
    assert guide.data.shape == (50, 50) and np.array_equal(guide.data, on_grid.data)
    # Alone, the overview covers ~14 x 10 um around a 0.6 um map: rejected, never resampled.
    layout = scan_layout(cube)
    with caplog.at_level(logging.INFO, logger="hyperspy_cs.io._vendor"):
        assert _vendor._find_guide([overview, cube], cube, layout, "auto") is None
    assert "field of view" in caplog.text
    with pytest.raises(ValueError, match="field of view"):
        _vendor._find_guide([overview, cube], cube, layout, "Ch 1")


def test_guide_at_another_resolution_with_the_same_field_of_view_is_resampled(bcf_tem):
    haadf, eds = bcf_tem
    coarse = eds.rebin(scale=(2, 2, 1))  # 32 x 32 scan, same field of view
    guide_nm = haadf.deepcopy()
    guide_nm.axes_manager.convert_units(units="nm")  # units are converted before comparing
    guide = _vendor._find_guide([guide_nm, coarse], coarse, scan_layout(coarse), "HAADF")
    assert guide.data.shape == (32, 32)
    assert calibration(guide.axes_manager.signal_axes) == calibration(coarse.axes_manager.navigation_axes)
    uncalibrated = haadf.deepcopy()
    for axis in uncalibrated.axes_manager.signal_axes:
        axis.units = ""
    with pytest.raises(ValueError, match="not calibrated"):
        _vendor._find_guide([uncalibrated, coarse], coarse, scan_layout(coarse), "HAADF")


def test_guide_on_non_uniform_scan_axes(bcf_tem):
    haadf, eds = bcf_tem
    coarse = eds.rebin(scale=(2, 2, 1))  # 32 x 32 scan, same field of view
    uniform = _vendor._find_guide([haadf.deepcopy(), coarse], coarse, scan_layout(coarse), "HAADF")
    for signal in (eds, coarse):
        for axis in signal.axes_manager.navigation_axes:
            axis.convert_to_non_uniform_axis()  # same positions, but no scale and offset
    x = eds.axes_manager.navigation_axes[0]
    x.axis = x.axis + 0.2 * (x.axis[1] - x.axis[0]) * np.sin(np.arange(x.size))  # and not uniform
    # the same grid: the guide takes the scan's axes
    guide = _vendor._find_guide([haadf.deepcopy(), eds], eds, scan_layout(eds), "HAADF")
    assert np.array_equal(guide.data, haadf.data)
    for g, s in zip(guide.axes_manager.signal_axes, eds.axes_manager.navigation_axes):
        assert not g.is_uniform and (g.name, g.units) == (s.name, s.units)
        assert np.array_equal(g.axis, s.axis)
    # another resolution: resampled onto the scan's positions, here those of the uniform grid
    guide = _vendor._find_guide([haadf.deepcopy(), coarse], coarse, scan_layout(coarse), "HAADF")
    assert np.allclose(guide.data, uniform.data)
    for g, s in zip(guide.axes_manager.signal_axes, coarse.axes_manager.navigation_axes):
        assert not g.is_uniform and np.array_equal(g.axis, s.axis)


@pytest.mark.parametrize(
    "name, source, n_bytes, cause, reason",  # reason: a regular expression
    [
        ("truncated.bcf", "test_TEM.bcf", 400, struct.error, "struct.error: unpack requires"),
        ("truncated_tree.bcf", "test_TEM.bcf", 20000, IndexError, "IndexError: index 0 is out of bounds"),
        ("truncated.emd", "Test_SI_16x16_215_kx.emd", 5000, OSError,
         r"OSError: Unable to .* \(truncated file"),
        ("truncated.dm4", "EELS_SI.dm4", 500, struct.error, "struct.error: unpack requires"),
        ("empty.hspy", None, 0, OSError, r"OSError: Unable to .* \(file signature not found\)"),
        ("scan.xyz", None, 1000, OSError, "OSError: Could not find a backend"),  # no reader has .xyz
    ],
)
def test_unreadable_file_is_a_value_error_naming_it(tmp_path, name, source, n_bytes, cause, reason):
    path = tmp_path / name
    text = b"not a signal\n" * (n_bytes // 13)
    path.write_bytes((DATA / source).read_bytes()[:n_bytes] if source else text)
    for reader in (io.load_acquisition, io.load_compact):
        with pytest.raises(ValueError, match=f"^path: cannot read {re.escape(name)}: {reason}") as error:
            reader(path)
        assert type(error.value.__cause__) is cause  # the reader's error, kept


def test_load_acquisition_bad_input():
    with pytest.raises(FileNotFoundError, match="no such file"):
        io.load_acquisition(DATA / "missing.bcf")
    with pytest.raises(ScanAxesError, match="example1.msa holds no spectrum image"):
        io.load_acquisition(DATA / "example1.msa")
    with pytest.raises(ValueError, match="no image titled 'BSE'.*'HAADF'"):
        io.load_acquisition(DATA / "test_TEM.bcf", guide="BSE")
    with pytest.raises(ValueError, match="no image titled"):
        io.load_acquisition(DATA / "EELS_SI.dm4", guide="HAADF")
    with pytest.raises(ValueError, match="holds no spectrum image"):
        io.load_acquisition(DATA / "test_STEM_image.dm3", guide="HAADF")
    with pytest.raises(TypeError, match="guide"):
        io.load_acquisition(DATA / "test_TEM.bcf", guide=0)
    with pytest.raises(TypeError, match="path"):
        io.load_acquisition(None)


# -- real sub-sampled acquisitions -------------------------------------------


def visits(eds, seed=0):
    """Positions (acquisition order) and spectra of a line-hop scan of ``eds``."""
    sub = eds.subsample(0.1, "line_hop", seed=seed)
    order = cs.get_order(sub)
    rows, cols = np.divmod(order, eds.axes_manager.navigation_shape[0])
    positions = np.stack([rows, cols], axis=1)[::-1]  # a custom, reversed, acquisition order
    return sub, positions, eds.data[positions[:, 0], positions[:, 1]]


def test_from_positions_matches_subsample(bcf_tem):
    _, eds = bcf_tem
    sub, positions, spectra = visits(eds)
    before = spectra.copy()
    out = io.from_positions(positions, spectra, scan_shape=(64, 64), template=eds)
    assert np.array_equal(spectra, before)
    assert type(out) is type(eds) and out.data.dtype == eds.data.dtype
    assert np.array_equal(out.data, sub.data)
    assert calibration(out.axes_manager._axes) == calibration(eds.axes_manager._axes)
    assert out.metadata.Sample.elements == eds.metadata.Sample.elements
    assert out.metadata.Acquisition_instrument.TEM.beam_energy == 200.0
    node, reference = out.metadata.Acquisition.Subsampling, sub.metadata.Acquisition.Subsampling
    assert set(node.keys()) == set(reference.keys())  # same node as subsample writes
    assert node.pattern == "positions" and node.seed is None and node.dose == 0.0
    assert node.fraction == node.requested_fraction == reference.fraction
    assert np.array_equal(cs.get_mask(out), cs.get_mask(sub))
    assert np.array_equal(cs.get_order(out), positions[:, 0] * 64 + positions[:, 1])
    assert out.original_metadata.as_dictionary() == eds.original_metadata.as_dictionary()


def test_from_positions_axes_signal_type_lazy_and_image(bcf_tem):
    haadf, eds = bcf_tem
    sub, positions, spectra = visits(eds, seed=1)
    axes = [{"name": "y", "scale": 2.0, "units": "nm"}, {"name": "x", "scale": 2.0, "units": "nm"},
            {"name": "Energy", "scale": 0.01, "offset": -0.2, "units": "keV"}]
    with dask.config.set({"array.chunk-size": "1MiB"}):  # several chunks along the scan rows
        out = io.from_positions(positions, da.from_array(spectra, chunks=(50, -1)), scan_shape=(64, 64),
                                axes=axes, signal_type="EDS_TEM",
                                metadata={"Acquisition_instrument": {"TEM": {"beam_energy": 300}}})
    assert out._lazy and type(out).__name__ == "LazyEDSTEMSpectrum"
    assert out.data.numblocks[0] > 1 and len(out.data.chunks[-1]) == 1
    assert np.array_equal(out.data.compute(), sub.data)
    assert out.axes_manager["Energy"].offset == -0.2 and out.axes_manager["x"].units == "nm"
    assert out.metadata.Acquisition_instrument.TEM.beam_energy == 300
    # the guide as template calibrates the scan only
    out = io.from_positions(positions, spectra, scan_shape=(64, 64), template=haadf)
    assert type(out).__name__ == "Signal1D" and out.metadata.General.title == ""
    assert calibration(out.axes_manager.navigation_axes) == calibration(haadf.axes_manager.signal_axes)
    # one value per position: an image
    image = io.from_positions(positions, haadf.data[positions[:, 0], positions[:, 1]], scan_shape=(64, 64),
                              template=haadf)
    assert type(image).__name__ == "Signal2D" and image.metadata.General.title == "HAADF"
    assert np.array_equal(image.data, haadf.subsample(positions=positions).data)


def test_from_positions_bad_input(bcf_tem):
    _, eds = bcf_tem
    spectra = np.ones((3, 2048), dtype=np.uint8)
    good = [[0, 0], [1, 1], [2, 2]]
    with pytest.raises(ValueError, match=r"64.*5.* lies outside the scan grid \(64, 64\)"):
        io.from_positions([[0, 0], [1, 1], [64, 5]], spectra, scan_shape=(64, 64))
    with pytest.raises(ValueError, match="4 spectra for 3 positions"):
        io.from_positions(good, np.ones((4, 2048)), scan_shape=(64, 64))
    with pytest.raises(ValueError, match="visited twice"):
        io.from_positions([[0, 0], [1, 1], [0, 0]], spectra, scan_shape=(64, 64))
    with pytest.raises(ValueError, match="template: its scan grid"):
        io.from_positions(good, spectra, scan_shape=(32, 32), template=eds)
    with pytest.raises(ValueError, match="template: its spectral axis has 2048 channels, the spectra 100"):
        io.from_positions(good, np.ones((3, 100)), scan_shape=(64, 64), template=eds)
    with pytest.raises(ValueError, match="axes: expected 3 axis dictionaries"):
        io.from_positions(good, spectra, scan_shape=(64, 64), axes=[{}, {}])
    with pytest.raises(ValueError, match="scan_shape"):
        io.from_positions(good, spectra, scan_shape=64)
    with pytest.raises(TypeError, match="spectra: expected an array"):
        io.from_positions(good, eds, scan_shape=(64, 64))


def test_read_scan_positions_and_from_mask(tmp_path, bcf_tem):
    _, eds = bcf_tem
    text = tmp_path / "scan.csv"
    text.write_text("# custom spiral, x,y in pixels\nx,y\n5, 1\n3,2  # comment\n\n0;63\n")
    assert read(text, columns="xy").tolist() == [[1, 5], [2, 3], [63, 0]]
    white = tmp_path / "scan.txt"
    white.write_text("1\t5\n2 3\n")
    assert read(white).tolist() == [[1, 5], [2, 3]]
    mask = np.zeros((64, 64), dtype=bool)
    mask[::8, ::4] = True
    np.save(tmp_path / "mask.npy", mask)
    assert np.array_equal(read(tmp_path / "mask.npy"), np.argwhere(mask))

    out = io.from_mask(eds, tmp_path / "mask.npy")
    assert np.array_equal(cs.get_mask(out), mask) and out.metadata.Acquisition.Subsampling.pattern == "mask"
    assert out.metadata.Acquisition.Subsampling.seed is None
    assert out.metadata.General.title == eds.metadata.General.title
    assert not out.data[~mask].any() and np.array_equal(out.data[mask], eds.data[mask])
    assert not eds.metadata.has_item("Acquisition.Subsampling")
    out = io.from_mask(eds, text, columns="xy")
    assert out.metadata.Acquisition.Subsampling.pattern == "positions"
    assert cs.get_order(out).tolist() == [1 * 64 + 5, 2 * 64 + 3, 63 * 64]
    out = io.from_mask(eds, mask)
    assert np.array_equal(cs.get_mask(out), mask)

    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\n3,x\n")
    with pytest.raises(ValueError, match="line 2: not a number"):
        read(bad)
    bad.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="expected 2 columns"):
        read(bad)
    bad.write_text("1.5,2\n")
    with pytest.raises(ValueError, match="non-integer"):
        read(bad)
    with pytest.raises(ValueError, match="columns"):
        read(text, columns="yx")
    with pytest.raises(FileNotFoundError):
        read(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="lies outside the scan grid"):
        io.from_mask(eds.inav[:32, :32], text, columns="xy")
    with pytest.raises(TypeError, match="mask_or_path"):
        io.from_mask(eds, np.ones((64, 64)))


def read(path, **kwargs):
    return io.read_scan_positions(path, **kwargs)


# -- storage ------------------------------------------------------------------


def test_full_and_compact_files_load_without_hyperspy_cs(tmp_path, sub_tem):
    for ext in ("hspy", "zspy"):
        sub_tem.save(tmp_path / f"full.{ext}")
        io.save_compact(sub_tem, tmp_path / f"compact.{ext}")
    np.save(tmp_path / "mask.npy", cs.get_mask(sub_tem))
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import hyperspy.api as hs
        mask = np.load("mask.npy")
        for ext in ("hspy", "zspy"):
            for lazy in (False, True):
                s = hs.load(f"full.{ext}", lazy=lazy)
                assert np.array_equal(np.asarray(s.metadata.Acquisition.Subsampling.sampled), mask)
                c = hs.load(f"compact.{ext}", lazy=lazy)
                assert type(c).__name__.endswith("EDSTEMSpectrum"), type(c)
                assert c.axes_manager.navigation_shape == (int(mask.sum()),)
                rows, cols = np.asarray(c.metadata.Acquisition.Compact.positions).T
                assert mask[rows, cols].all()
        assert "hyperspy_cs" not in sys.modules
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
@pytest.mark.parametrize("lazy", [False, True])
def test_compact_round_trip(tmp_path, sub_tem, ext, lazy):
    signal = sub_tem.as_lazy() if lazy else sub_tem
    path = tmp_path / f"compact.{ext}"
    io.save_compact(signal, path)
    out = io.load_compact(path, lazy=lazy)
    assert type(out) is type(signal)
    data = out.data.compute() if lazy else out.data
    assert data.dtype == sub_tem.data.dtype and np.array_equal(data, sub_tem.data)
    assert calibration(out.axes_manager._axes) == calibration(sub_tem.axes_manager._axes)
    assert out.metadata.Sample.elements == sub_tem.metadata.Sample.elements
    assert out.metadata.Acquisition_instrument.TEM.beam_energy == 200.0
    assert out.metadata.General.title == sub_tem.metadata.General.title
    assert not out.metadata.has_item("Acquisition.Compact")
    assert np.array_equal(cs.get_mask(out), cs.get_mask(sub_tem))
    assert np.array_equal(cs.get_order(out), cs.get_order(sub_tem))
    node, reference = out.metadata.Acquisition.Subsampling, sub_tem.metadata.Acquisition.Subsampling
    for key in ("pattern", "fraction", "requested_fraction", "seed", "dose"):
        assert node[key] == reference[key]
    assert out.original_metadata.as_dictionary().keys() == sub_tem.original_metadata.as_dictionary().keys()
    # load_acquisition recognises a compact file too
    again, guide = io.load_acquisition(path)
    assert np.array_equal(again.data, sub_tem.data) and guide is None


def test_compact_file_is_much_smaller(tmp_path):
    # A real, dense map (~50 counts per position); the vendor's original_metadata
    # (~1 MB of DigitalMicrograph tags, the same in both files) is left out so
    # that the comparison is about the map.
    eds = load("SiO2_EDS_SI.hspy")
    for key in list(eds.original_metadata.keys()):
        delattr(eds.original_metadata, key)
    sub = eds.subsample(0.1, "line_hop", seed=0)
    for ext, ratio in (("hspy", 2), ("zspy", 4)):
        sub.save(tmp_path / f"full.{ext}")
        io.save_compact(sub, tmp_path / f"compact.{ext}")
        full, compact = size_on_disk(tmp_path / f"full.{ext}"), size_on_disk(tmp_path / f"compact.{ext}")
        assert compact < full / ratio, (ext, compact, full)
    # without compression the zeros are stored too
    sub.save(tmp_path / "raw.hspy", compression=None)
    io.save_compact(sub, tmp_path / "compact_raw.hspy", compression=None)
    assert size_on_disk(tmp_path / "compact_raw.hspy") < size_on_disk(tmp_path / "raw.hspy") / 8


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_save_compact_onto_the_file_a_lazy_signal_reads(tmp_path, sub_tem, ext):
    path = tmp_path / f"map.{ext}"
    sub_tem.save(path)
    io.save_compact(hs.load(path, lazy=True), path, overwrite=True)  # the full file made compact
    assert hs.load(path).data.shape == (int(cs.get_mask(sub_tem).sum()), 2048)
    out = io.load_compact(path)
    assert np.array_equal(out.data, sub_tem.data)
    assert np.array_equal(cs.get_mask(out), cs.get_mask(sub_tem))
    assert out.original_metadata.as_dictionary().keys() == sub_tem.original_metadata.as_dictionary().keys()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # nothing left beside it


@pytest.mark.parametrize("ext, failing", [("hspy", {"compression": "no-such-filter"}),
                                          ("zspy", {"compressor": "no-such-codec"})])
def test_save_compact_replaces_an_existing_file_only_when_asked(tmp_path, monkeypatch, bcf_tem, sub_tem,
                                                                 ext, failing):
    path = tmp_path / f"map.{ext}"
    io.save_compact(sub_tem, path)
    before = contents(path)
    other = bcf_tem[1].subsample(0.2, "random", seed=1)
    io.save_compact(other, path, overwrite=False)  # as signal.save: kept, nothing written

    def no_terminal(message):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    io.save_compact(other, path)  # None asks; with no terminal to ask, kept
    with pytest.raises(ValueError, match="no-such"):  # h5py's, zarr's: the write fails
        io.save_compact(other, path, overwrite=True, **failing)
    assert contents(path) == before  # a failed write leaves the file as it was
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    with pytest.raises(TypeError, match="overwrite: expected None, True or False"):
        io.save_compact(other, path, overwrite="yes")
    monkeypatch.setattr("builtins.input", lambda message: "y")
    io.save_compact(other, path)  # None asks: yes
    assert np.array_equal(io.load_compact(path).data, other.data)


def test_compact_image_stack_round_trip(tmp_path, image):
    stack = hs.stack([image] * 3)
    sub = stack.subsample(0.1, seed=3)
    io.save_compact(sub, tmp_path / "stack.hspy")
    compact = hs.load(tmp_path / "stack.hspy")
    assert compact.data.shape == (int(cs.get_mask(sub).sum()),)
    out = io.load_compact(tmp_path / "stack.hspy")
    assert type(out) is type(sub) and np.array_equal(out.data, sub.data)
    assert np.array_equal(cs.get_mask(out), cs.get_mask(sub))
    assert np.array_equal(cs.get_order(out), cs.get_order(sub))
    assert calibration(out.axes_manager._axes) == calibration(sub.axes_manager._axes)


def test_compact_bad_input(tmp_path, sub_tem, bcf_tem):
    with pytest.raises(ValueError, match="expected a .hspy or .zspy file"):
        io.save_compact(sub_tem, tmp_path / "map.emd")
    with pytest.raises(ValueError, match="no metadata.Acquisition.Subsampling"):
        io.save_compact(bcf_tem[1], tmp_path / "map.hspy")
    sub_tem.save(tmp_path / "full.hspy")
    with pytest.raises(ValueError, match="not written by hyperspy_cs.save_compact"):
        io.load_compact(tmp_path / "full.hspy")
    with pytest.raises(FileNotFoundError):
        io.load_compact(tmp_path / "missing.hspy")


# -- lazy loading and guide files ---------------------------------------------


@pytest.mark.parametrize("name, title", [("test_TEM.bcf", "HAADF"),
                                         ("Test_SI_16x16_215_kx.emd", "HAADF")])
def test_lazy_load_acquisition_matches_the_eager_one(name, title):
    eager, eager_guide = io.load_acquisition(DATA / name)
    signal, guide = io.load_acquisition(DATA / name, lazy=True)
    assert signal._lazy and type(signal).__name__ == "Lazy" + type(eager).__name__
    assert len(signal.data.chunks[-1]) == 1
    np.testing.assert_array_equal(signal.data.compute(), eager.data)
    assert calibration(signal.axes_manager._axes) == calibration(eager.axes_manager._axes)
    # the guide is always computed: one image, needed whole by the reconstructions
    assert not guide._lazy and isinstance(guide.data, np.ndarray)
    assert guide.metadata.General.title == eager_guide.metadata.General.title == title
    np.testing.assert_array_equal(guide.data, eager_guide.data)
    assert calibration(guide.axes_manager.signal_axes) == calibration(
        eager_guide.axes_manager.signal_axes)


@pytest.fixture
def subsampled_with_guide(tmp_path, bcf_tem):
    """What ``hyperspy-cs subsample`` writes: tem.hspy, tem_c.hspy (compact), their guides."""
    haadf, eds = bcf_tem
    sub = eds.subsample(0.25, "line_hop", seed=0)
    sub.save(tmp_path / "tem.hspy")
    io.save_compact(sub, tmp_path / "tem_c.hspy")
    for stem in ("tem", "tem_c"):
        haadf.save(tmp_path / f"{stem}_guide.hspy")
    return sub, haadf


@pytest.mark.parametrize("stem", ["tem", "tem_c"])
@pytest.mark.parametrize("lazy", [False, True])
def test_the_guide_file_beside_a_subsampled_file_is_found(tmp_path, subsampled_with_guide, stem,
                                                          lazy):
    sub, haadf = subsampled_with_guide
    path = tmp_path / f"{stem}.hspy"
    signal, guide = io.load_acquisition(path, lazy=lazy)
    assert signal._lazy == lazy
    np.testing.assert_array_equal(cs.get_mask(signal), cs.get_mask(sub))
    assert not guide._lazy and guide.metadata.General.title == "HAADF"
    np.testing.assert_array_equal(guide.data, haadf.data)
    assert calibration(guide.axes_manager.signal_axes) == calibration(
        signal.axes_manager.navigation_axes)
    # by title too (case-insensitive), and the file it came from is known
    signal, guide, source = _vendor.read_acquisition(path, guide="haadf")
    assert guide.metadata.General.title == "HAADF" and source == tmp_path / f"{stem}_guide.hspy"
    assert io.load_acquisition(path, guide=None)[1] is None
    with pytest.raises(ValueError, match="no image titled 'BSE'"):
        io.load_acquisition(path, guide="BSE")


def test_without_a_guide_file_beside_no_guide(tmp_path, sub_tem):
    sub_tem.save(tmp_path / "alone.hspy")
    signal, guide, source = _vendor.read_acquisition(tmp_path / "alone.hspy")
    assert guide is None and source is None
    np.testing.assert_array_equal(cs.get_mask(signal), cs.get_mask(sub_tem))
    # a vendor file's own image comes first, and is said to come from the file
    _, guide, source = _vendor.read_acquisition(DATA / "test_TEM.bcf")
    assert guide.metadata.General.title == "HAADF" and source == DATA / "test_TEM.bcf"


def test_a_guide_file_beside_that_does_not_fit_is_passed_over(tmp_path, sub_tem, caplog):
    sub_tem.save(tmp_path / "tem.hspy")
    other = io.load_acquisition(DATA / "Test_SI_16x16_215_kx.emd")[1]
    other.save(tmp_path / "tem_guide.hspy")  # another acquisition's HAADF
    with caplog.at_level(logging.WARNING, logger="hyperspy_cs.io._vendor"):
        _, guide = io.load_acquisition(tmp_path / "tem.hspy")
    assert guide is None
    assert "tem_guide.hspy beside tem.hspy not used" in caplog.text
    with pytest.raises(ValueError, match="^guide: 'HAADF': "):  # asked for: an error
        io.load_acquisition(tmp_path / "tem.hspy", guide="HAADF")


def test_a_guide_file_given_as_a_path(tmp_path, bcf_tem):
    haadf, eds = bcf_tem
    haadf.save(tmp_path / "overview.hspy")
    _, guide, source = _vendor.read_acquisition(DATA / "test_TEM.bcf",
                                                     guide=tmp_path / "overview.hspy")
    assert source == tmp_path / "overview.hspy"
    np.testing.assert_array_equal(guide.data, haadf.data)
    with pytest.raises(FileNotFoundError, match="^guide: no such file"):
        io.load_acquisition(DATA / "test_TEM.bcf", guide=tmp_path / "missing.hspy")
    eds.save(tmp_path / "cube.hspy")
    with pytest.raises(ValueError, match="^guide: cube.hspy does not hold a single image"):
        io.load_acquisition(DATA / "test_TEM.bcf", guide=tmp_path / "cube.hspy")
    with pytest.raises(ValueError, match="^guide: .* holds no spectrum image"):
        io.load_acquisition(DATA / "test_STEM_image.dm3", guide=tmp_path / "overview.hspy")
    # a string is a title; naming a file, it says how to pass one
    with pytest.raises(ValueError, match="no image titled .*pathlib.Path"):
        io.load_acquisition(DATA / "test_TEM.bcf", guide=str(tmp_path / "overview.hspy"))


def test_fit_guide_is_what_load_acquisition_does(bcf_tem):
    haadf, eds = bcf_tem
    _, loaded = io.load_acquisition(DATA / "test_TEM.bcf")
    before = calibration(haadf.axes_manager.signal_axes)
    fitted = _vendor.fit_guide(haadf, eds)
    np.testing.assert_array_equal(fitted.data, loaded.data)
    assert calibration(fitted.axes_manager.signal_axes) == calibration(
        loaded.axes_manager.signal_axes)
    coarse = eds.rebin(scale=(2, 2, 1))
    haadf_nm = haadf.deepcopy()
    haadf_nm.axes_manager.convert_units(units="nm")
    nm_before = calibration(haadf_nm.axes_manager.signal_axes)
    assert _vendor.fit_guide(haadf_nm, coarse).data.shape == (32, 32)  # resampled
    assert calibration(haadf_nm.axes_manager.signal_axes) == nm_before  # not modified
    assert calibration(haadf.axes_manager.signal_axes) == before
    lazy = haadf.as_lazy()
    assert not _vendor.fit_guide(lazy, eds)._lazy
    with pytest.raises(ValueError, match="^guide: .* is not a single image"):
        _vendor.fit_guide(eds, eds)
    with pytest.raises(ValueError, match="^guide: .* is an image; a guide goes with a spectrum"):
        _vendor.fit_guide(haadf, haadf)
    with pytest.raises(TypeError, match="^guide: expected a HyperSpy image"):
        _vendor.fit_guide(haadf.data, eds)
    with pytest.raises(ValueError, match="^--guide: 'HAADF': .*field of view"):
        _vendor.fit_guide(haadf, io.load_acquisition(DATA / "Test_SI_16x16_215_kx.emd")[0],
                          name="--guide")
