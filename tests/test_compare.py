import csv
import sys

import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np
import pytest
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from threadpoolctl import threadpool_limits

import hyperspy_cs as cs
from hyperspy_cs import Comparison, compare
from hyperspy_cs._compare import _nice_length
from hyperspy_cs._inpaint import METHODS

FRACTIONS = (0.1, 0.25)
CHEAP_BPFA = {"n_iter": 6, "burn_in": 3, "n_atoms": 32}


@pytest.fixture(scope="module", autouse=True)
def single_blas_thread():
    # On a loaded machine multi-threaded OpenBLAS stalls for seconds on the tiny
    # solves of scipy's Clough-Tocher interpolation ("cubic"): keep these tests fast.
    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def image():
    return cs.data.atomic_resolution_image(shape=(64, 64), lattice_spacing=12, seed=0)


@pytest.fixture(scope="module")
def image_comparison(image):
    return compare(image, fractions=FRACTIONS, methods=("nearest", "cubic"), seed=0,
                   show_progressbar=False)


@pytest.fixture(scope="module")
def eds():
    return cs.data.eds_spectrum_image(shape=(32, 32), n_channels=256, seed=1)


@pytest.fixture(scope="module")
def eds_comparison(eds):
    si, _ = eds
    return compare(si, fractions=0.25, methods=("nearest", "cubic"), seed=0,
                   show_progressbar=False)


def _without_time(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_rows_and_tables(image_comparison):
    c = image_comparison
    assert isinstance(c, Comparison)
    assert [(r["method"], r["pattern"], r["fraction"]) for r in c.rows] == [
        (m, "random", f) for f in FRACTIONS for m in ("nearest", "cubic")
    ]
    for row in c.rows:
        assert set(row) == {"method", "pattern", "fraction", "sampled_fraction", "psnr", "ssim",
                            "sre", "seconds"}
        assert row["sampled_fraction"] == pytest.approx(row["fraction"], abs=1e-3)
        assert row["seconds"] >= 0
    assert set(c.results) == {(m, "random", f) for m in ("nearest", "cubic") for f in FRACTIONS}
    assert c.methods == ["nearest", "cubic"] and c.fractions == list(FRACTIONS)
    assert not c.count_data and c.lines is None

    text = str(c)
    for title in ("PSNR (dB), random pattern", "SSIM", "SRE (dB)", "time (s)"):
        assert title in text
    psnr_table = text.split("\n\n")[1].splitlines()
    assert psnr_table[1].split() == ["method", "10", "%", "25", "%"]
    nearest = c.rows[0]
    assert psnr_table[2].split() == ["nearest", f"{nearest['psnr']:.2f}",
                                     f"{c.rows[2]['psnr']:.2f}"]

    markdown = c.to_markdown()
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    # 4 tables (PSNR, SSIM, SRE, time) of a header, a rule and 2 methods.
    assert len(table_lines) == 4 * 4
    assert table_lines[0] == "| method | 10 % | 25 % |"
    assert "2 method(s) x 2 fraction(s)" in repr(c)


def test_metrics_match_results(image, image_comparison):
    for row in image_comparison.rows:
        rec = image_comparison.results[row["method"], row["pattern"], row["fraction"]]
        assert row["psnr"] == cs.psnr(image, rec)
        assert row["ssim"] == cs.ssim(image, rec)
        assert row["sre"] == cs.sre(image, rec)
        assert rec.metadata.Reconstruction.method == row["method"]


def test_cubic_beats_nearest_on_smooth_image(image_comparison):
    by_run = {(r["method"], r["fraction"]): r for r in image_comparison.rows}
    for fraction in FRACTIONS:
        assert by_run["cubic", fraction]["psnr"] > by_run["nearest", fraction]["psnr"]
        assert by_run["cubic", fraction]["ssim"] > by_run["nearest", fraction]["ssim"]


def test_seed_reproduces_every_row(image, image_comparison):
    # Same seed, same rows, also when the reference is lazy (computed once).
    again = compare(image.as_lazy(), fractions=FRACTIONS, methods=("nearest", "cubic"), seed=0,
                    show_progressbar=False)
    assert _without_time(again.rows) == _without_time(image_comparison.rows)
    other = compare(image, fractions=0.1, methods="nearest", seed=1, show_progressbar=False)
    assert other.rows[0]["psnr"] != image_comparison.rows[0]["psnr"]
    # Any row can be reproduced alone from the documented recipe.
    sub = cs.subsample(image, 0.1, "random", seed=0)
    np.testing.assert_array_equal(sub.data, image_comparison.inputs["random", 0.1].data)
    rec = cs.inpaint(sub, "cubic", seed=0)
    np.testing.assert_array_equal(rec.data,
                                  image_comparison.results["cubic", "random", 0.1].data)


def test_input_not_modified(eds):
    si, guide = eds
    data, metadata = si.data.copy(), si.metadata.as_dictionary()
    guide_data = guide.data.copy()
    compare(si, fractions=0.25, methods="nearest", seed=0, show_progressbar=False)
    np.testing.assert_array_equal(si.data, data)
    np.testing.assert_array_equal(guide.data, guide_data)
    assert not si.metadata.has_item("Acquisition")
    assert si.metadata.as_dictionary().keys() == metadata.keys()


def test_counts_use_split_half_reference(eds, eds_comparison):
    si, _ = eds
    c = eds_comparison
    assert c.count_data
    a, b = cs.split_counts(si, seed=0)
    np.testing.assert_array_equal(c.reference.data, b.data)
    # The methods reconstruct half a ...
    np.testing.assert_array_equal(c.inputs["random", 0.25].data,
                                  cs.subsample(a, 0.25, seed=0).data)
    for row in c.rows:
        rec = c.results[row["method"], "random", 0.25]
        assert row["psnr"] == cs.psnr(b, rec)
        assert row["sre"] == cs.sre(b, rec)
        # ... and are scored against the independent half b: against a, whose
        # noise they reproduce at the sampled positions, they would score higher.
        assert cs.psnr(a, rec) > row["psnr"]


def test_counts_line_maps(eds, eds_comparison):
    si, _ = eds
    c = eds_comparison
    assert c.lines == si.metadata.Sample.xray_lines
    row = c.rows[0]
    rec = c.results[row["method"], "random", 0.25]
    ref_maps = c.reference.get_lines_intensity()
    rec_maps = rec.get_lines_intensity()
    per_line = [cs.psnr(r.data, e.data) for r, e in zip(ref_maps, rec_maps)]
    for line, value in zip(c.lines, per_line):
        assert row[f"psnr_{line}"] == pytest.approx(value)
    assert row["psnr_lines"] == pytest.approx(np.mean(per_line))
    assert {"ssim_lines", "sre_lines"} <= set(row)
    assert "PSNR of the X-ray line maps" in str(c)


def test_count_data_false_uses_reference(eds):
    si, _ = eds
    c = compare(si, fractions=0.25, methods="nearest", count_data=False, seed=0,
                show_progressbar=False)
    assert not c.count_data and c.reference is si
    assert c.rows[0]["psnr"] == cs.psnr(si, c.results["nearest", "random", 0.25])


def test_non_integer_eds_is_not_split(eds):
    si, _ = eds
    scaled = si * 0.5
    scaled.change_dtype("float32")
    with pytest.warns(UserWarning, match="not counts"):
        c = compare(scaled, fractions=0.25, methods="nearest", seed=0, show_progressbar=False)
    assert not c.count_data


def test_bpfa_with_and_without_guide(eds, tmp_path):
    si, guide = eds
    c = compare(
        si, fractions=0.25, methods=("nearest", "bpfa", ("bpfa, no guide", "bpfa")), guide=guide,
        method_options={"bpfa": CHEAP_BPFA, "bpfa, no guide": {**CHEAP_BPFA, "guide": None}},
        seed=0, show_progressbar=False,
    )
    assert c.methods == ["nearest", "bpfa", "bpfa, no guide"]
    guided = c.results["bpfa", "random", 0.25].metadata.Reconstruction
    unguided = c.results["bpfa, no guide", "random", 0.25].metadata.Reconstruction
    assert guided.parameters.guide != "None"
    assert unguided.parameters.guide == "None"
    assert all(np.isfinite(r["psnr"]) for r in c.rows)

    # Rows, tables, CSV and figure say which method used which guide.
    title = guide.metadata.General.title
    assert [r["guide"] for r in c.rows] == ["none", title, "none"]
    text = str(c)
    assert text.splitlines()[0].endswith(f"; bpfa guided by {title}")
    psnr_table = text.split("\n\n")[1].splitlines()
    assert psnr_table[1].split()[:2] == ["method", "guide"]
    assert psnr_table[3].split()[:1 + len(title.split())] == ["bpfa", *title.split()]
    assert psnr_table[4].startswith("bpfa, no guide") and " none " in psnr_table[4]
    markdown = c.to_markdown()
    assert "| method | guide | 25 % |" in markdown
    assert f"| bpfa | {title} |" in markdown and "| bpfa, no guide | none |" in markdown
    c.to_csv(tmp_path / "guided.csv")
    with open(tmp_path / "guided.csv", newline="") as file:
        assert [r["guide"] for r in csv.DictReader(file)] == ["none", title, "none"]
    figure = c.plot()
    assert figure.get_suptitle().endswith(f"bpfa guided by {title}")
    plt.close(figure)


def test_spectrum_image_without_guide_says_so(eds_comparison):
    assert all(r["guide"] == "none" for r in eds_comparison.rows)
    assert str(eds_comparison).splitlines()[0].endswith("; no guide")
    assert "| method | guide | 25 % |" in eds_comparison.to_markdown()


def test_to_csv(image_comparison, tmp_path):
    path = tmp_path / "comparison.csv"
    image_comparison.to_csv(path)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == len(image_comparison.rows)
    assert list(rows[0]) == list(image_comparison.rows[0])
    assert float(rows[1]["psnr"]) == pytest.approx(image_comparison.rows[1]["psnr"])


def _panels(figure):
    """The image axes of a comparison figure, row by row (colour bars hold no image)."""
    return [ax for ax in figure.axes if ax.images]


def _scale_bars(ax):
    return [a for a in ax.artists if isinstance(a, AnchoredSizeBar)]


def test_plot_image(image_comparison):
    figure = image_comparison.plot(fraction=0.25)
    # Top: reference + 2 reconstructions; bottom: input + 2 error maps.
    panels = _panels(figure)
    assert len(panels) == 6
    titles = [ax.get_title() for ax in panels]
    assert titles[0] == "reference"
    assert titles[1].startswith("nearest") and "dB" in titles[1]
    assert titles[3].startswith("input: 25 % random")
    assert titles[4] == "nearest - reference"
    assert "25 % random scan" in figure.get_suptitle()
    assert "guide" not in figure.get_suptitle()  # images take no guide
    plt.close(figure)
    with pytest.raises(ValueError, match="fraction"):
        image_comparison.plot(fraction=0.5)
    with pytest.raises(ValueError, match="pattern"):
        image_comparison.plot(pattern="spiral")
    with pytest.raises(ValueError, match="line"):
        image_comparison.plot(line="Si_Ka")


def test_plot_colour_scales(image_comparison):
    figure = image_comparison.plot(fraction=0.1)
    panels = _panels(figure)
    images = [ax.images[0] for ax in panels]
    intensity, errors = images[:4], images[4:]  # reference, reconstructions, input
    # One colour bar per row: intensities on top, errors below.
    colorbars = [im.colorbar for im in images if im.colorbar is not None]
    assert len(colorbars) == 2 and len(figure.axes) == 6 + 2
    assert colorbars[0].mappable in intensity and colorbars[1].mappable in errors
    # The reference, the input and every reconstruction share one intensity scale ...
    assert len({im.get_clim() for im in intensity}) == 1
    # ... and every error map one scale, symmetric around 0, that holds most errors.
    assert len({im.get_clim() for im in errors}) == 1
    low, high = errors[0].get_clim()
    assert high > 0 and low == -high
    for im, label in zip(errors, image_comparison.methods):
        error = im.get_array()
        rec = image_comparison.results[label, "random", 0.1].data
        np.testing.assert_allclose(error, rec - image_comparison.reference.data)
        assert np.mean(np.abs(error) <= high) >= 0.99
    # The input shows only the visited positions.
    shown = images[3].get_array()
    np.testing.assert_array_equal(~np.ma.getmaskarray(shown),
                                  cs.get_mask(image_comparison.inputs["random", 0.1]))
    plt.close(figure)


def test_plot_scale_bar_in_calibrated_units(image, image_comparison):
    figure = image_comparison.plot()
    reference_ax, *others = _panels(figure)
    (bar,) = _scale_bars(reference_ax)
    x_axis = image.axes_manager.signal_axes[0]
    assert x_axis.units == "nm"
    # A quarter of the 64 x 0.0325 nm field is 0.52 nm: the bar is 0.5 nm, in pixels.
    assert x_axis.scale == pytest.approx(0.0325, abs=1e-4)
    assert bar.txt_label.get_text() == "0.5 nm"
    (rectangle,) = bar.size_bar.get_children()
    assert rectangle.get_width() == pytest.approx(0.5 / x_axis.scale)
    assert not any(_scale_bars(ax) for ax in others)  # same field of view: one bar
    plt.close(figure)

    uncalibrated = hs.signals.Signal2D(image.data)
    c = compare(uncalibrated, fractions=0.25, methods="nearest", seed=0, show_progressbar=False)
    figure = c.plot()
    assert not any(_scale_bars(ax) for ax in _panels(figure))
    plt.close(figure)


@pytest.mark.parametrize("limit, length", [(0.39, 0.2), (1.0, 1.0), (160, 100), (4.9, 2.0),
                                           (7.0, 5.0)])
def test_scale_bar_length_is_a_round_number(limit, length):
    assert _nice_length(limit) == pytest.approx(length)


def test_plot_spectrum_image_shows_a_line(eds_comparison):
    lines = eds_comparison.lines
    figure = eds_comparison.plot()
    panels = _panels(figure)
    assert len(panels) == 6
    assert lines[0] in panels[0].get_title()
    assert "no guide" in figure.get_suptitle()
    # The scan of the spectrum image is calibrated (20 nm steps): 32 x 20 / 4 -> 100 nm.
    (bar,) = _scale_bars(panels[0])
    assert bar.txt_label.get_text() == "100 nm"
    plt.close(figure)
    figure = eds_comparison.plot(line=lines[-1])
    panels = _panels(figure)
    assert lines[-1] in panels[0].get_title()
    assert f"{eds_comparison.rows[0]['psnr_' + lines[-1]]:.2f} dB" in panels[1].get_title()
    plt.close(figure)
    with pytest.raises(ValueError, match="line"):
        eds_comparison.plot(line="Au_La")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"methods": ("nearest", "magic")}, ValueError, "biharmonic"),
        ({"methods": ("nearest", 3)}, TypeError, "methods"),
        ({"methods": ("cubic", ("cubic", "nearest"))}, ValueError, "twice"),
        ({"methods": ()}, ValueError, "methods"),
        ({"fractions": (0.1, 0)}, ValueError, "fractions"),
        ({"fractions": 1.5}, ValueError, "fractions"),
        ({"fractions": "0.1"}, TypeError, "fractions"),
        ({"patterns": ("random", "zigzag")}, ValueError, "line_hop"),
        ({"patterns": ["random", None]}, TypeError, "patterns"),
        ({"method_options": {"bicubic": {}}}, ValueError, "method_options"),
        ({"method_options": {"cubic": {"seed": 1}}}, ValueError, "seed"),
        ({"method_options": ["cubic"]}, TypeError, "method_options"),
        ({"guide": np.zeros((64, 64))}, ValueError, "guide"),
        ({"count_data": "yes"}, TypeError, "count_data"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_argument_errors(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare(image, **{"methods": ("nearest", "cubic"), **kwargs})


def test_unknown_option_is_refused_before_any_method_runs(image, monkeypatch):
    ran = []
    module = sys.modules["hyperspy_cs._compare"]
    monkeypatch.setattr(module, "inpaint", lambda *a, **k: ran.append(k))
    for options in ({"cubic": {"n_iter": 3}}, {"bpfa": {"guide": None}}):
        with pytest.raises(TypeError, match=r"unknown option\(s\) \['(n_iter|guide)'\]"):
            compare(image, methods=("nearest", "bpfa", "cubic"), method_options=options)
    assert ran == []


def test_unknown_method_lists_valid_ones(image):
    with pytest.raises(ValueError) as info:
        compare(image, methods="magic")
    for method in METHODS:
        assert method in str(info.value)


def test_subsampled_reference_is_refused(image):
    with pytest.raises(ValueError, match="already sub-sampled"):
        compare(cs.subsample(image, 0.5, seed=0), methods="nearest")


def test_reference_must_be_a_signal(image):
    with pytest.raises(TypeError, match="reference"):
        compare(image.data, methods="nearest")


def test_forced_counts_on_non_counts(image):
    with pytest.raises(ValueError, match="count_data"):
        compare(image, methods="nearest", count_data=True)


def test_reference_the_metrics_cannot_score(image):
    flat = image._deepcopy_with_new_data(np.ones(image.data.shape))
    with pytest.raises(ValueError, match="constant"):
        compare(flat, methods="nearest")
    with pytest.raises(ValueError, match="7 x 7"):
        compare(image.isig[:6, :6], methods="nearest")


def test_empty_line_map_is_not_scored(eds):
    si, _ = eds
    si = si.deepcopy()
    si.add_lines(["Al_Ka"])
    si.isig[1.4:1.6].data[:] = 0  # no counts at all around Al Ka (1.49 keV)
    with pytest.warns(UserWarning, match="Al_Ka"):
        c = compare(si, fractions=0.25, methods="nearest", seed=0, show_progressbar=False)
    assert "Al_Ka" not in c.lines and "psnr_Al_Ka" not in c.rows[0]


def test_guide_of_wrong_shape(eds):
    si, _ = eds
    with pytest.raises(ValueError, match="guide"):
        compare(si, methods="nearest", guide=np.ones((8, 8)))
