"""Property-based tests of the signal methods: every call ends in one of two ways.

For random small images (4-24 px a side, optionally frames) and spectrum images
(4-12 x 4-12 positions, 1-16 channels, optionally frames; plain, EELS or EDS) of
any dtype (uint8, uint16, int32, float32, float64, bool) and values (random,
counts, zeros, constants, tiny, near-constant, large, huge, negative, NaN/inf),
with random valid arguments and clearly invalid ones, each call of ``subsample``,
``inpaint`` (every classical method, and ``"bpfa"``), ``inpaint_bpfa`` and
``inpaint_bpfa3d`` must either

- return a signal of the input's class and shape. ``subsample``: unvisited
  positions 0, visited values kept (same dtype) or, with ``dose``, finite,
  non-negative Poisson counts of plausible size (whole numbers, integer dtype for
  integer input). Reconstructions: finite float values, no further than
  ``RANGE_SLACK`` spreads beyond the range of the measured values; or
- raise ValueError or TypeError (or a HyperSpy dimension error) whose message
  starts with ``signal`` or the name(s) of arguments of the functions the call
  reaches, then ``:`` (or ``=``): ``"mask: expected ..."``, ``"mask, positions:
  ..."``, ``'layers="lines" needs ...'``.

In both cases the input signal (class, data, dtype, axes, metadata,
original_metadata) is unchanged. Besides:

- a call with an argument invalid whatever the data (a negative dose, a string
  fraction, an all-False mask, ``uncertainty="no"``, an unknown option) must raise;
- a call with only valid arguments must succeed: always for ``subsample`` (with
  ``dose``: when the visited values are finite, >= 0 and at most ``MAX_MAGNITUDE``,
  1e150), and for reconstructions when the measured values are finite (and at most
  ``MAX_MAGNITUDE`` in magnitude: their squares overflow), a spectrum image has at least 2 measured
  spectra (and no more PCA layers are asked for than they support) and, for
  ``inpaint_bpfa3d``, its 8/16-bit counts do not reach the top of their range.

Each drawn argument comes as ``(value, status)``: ``"ok"`` valid, ``"bad"``
invalid (the call must raise), ``"maybe"`` valid in type but possibly out of reach
(a dose so large the counts overflow, a patch larger than the image): the call may
raise, naming an argument. An argument left out (``OMIT``) takes its default. Runs
are reproducible (``derandomize=True``, no example database); BPFA calls are kept
cheap (at most 10 sweeps, patches of 2-4 px, up to 8 atoms, scans up to 14 px).
"""

import importlib
import inspect
import math
import re
import warnings

import hyperspy.api as hs
import numba
import numpy as np
import pytest
from hyperspy.exceptions import (
    DataDimensionError,
    NavigationDimensionError,
    SignalDimensionError,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import hyperspy_cs as cs
from hyperspy_cs.classical._pnp import available_denoisers
from hyperspy_cs._inpaint import _ARRAY_METHODS, METHODS
from hyperspy_cs._validate import MAX_MAGNITUDE
from hyperspy_cs.patterns import PATTERNS

# Reproducible in CI: the same examples every run, nothing read from or written to a
# local example database.
PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ACCEPTED_ERRORS = (ValueError, TypeError, DataDimensionError, SignalDimensionError,
                   NavigationDimensionError)
# "mask: ...", "mask, positions: ...", 'layers="lines" needs ...'
LEADING_NAMES = re.compile(r"^\s*([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*[:=]")

OMIT = "<omitted>"  # an argument left out (a str, so hypothesis prints it readably)
DTYPES = ("uint8", "uint16", "int32", "float32", "float64", "bool")
CLASSICAL = tuple(m for m in METHODS if m != "bpfa")
NAN, INF = float("nan"), float("inf")


@pytest.fixture(autouse=True, scope="module")
def _one_numba_thread():
    """Numba's OpenMP workers spin on a busy 2-core machine (100x slower for tiny
    images); one thread keeps every example in milliseconds."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


# --------------------------------------------------------------------------- values


def ok(strategy):
    return strategy.map(lambda v: (v, "ok"))


class bad:
    """Invalid values of an argument: the call must raise. Drawn only for the calls
    that are allowed invalid arguments (see ``Call``)."""

    def __init__(self, *values):
        self.values = values

    def strategy(self):
        return st.sampled_from(self.values).map(lambda v: (v, "bad"))


def maybe(*values):
    return st.sampled_from(values).map(lambda v: (v, "maybe"))


def omitted():
    return st.just((OMIT, "ok"))


@st.composite
def data_arrays(draw, shape, dtype):
    """Values of ``dtype``: random, zeros, constant, tiny, large, extreme, with NaN/inf."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype == bool:
        kind = draw(st.sampled_from(["random", "zeros", "ones"]))
        if kind == "random":
            return rng.random(shape) < draw(st.sampled_from([0.1, 0.5, 0.9]))
        return np.full(shape, kind == "ones")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        kind = draw(st.sampled_from(
            ["random", "counts", "zeros", "constant", "large", "extreme"]
            + (["negative"] if dtype.kind == "i" else [])))
        if kind == "random":
            values = rng.integers(0, min(int(info.max), 1000), size=shape, endpoint=True)
        elif kind == "counts":
            values = rng.poisson(draw(st.sampled_from([0.1, 1.0, 20.0])), size=shape)
        elif kind == "zeros":
            values = np.zeros(shape)
        elif kind == "constant":
            values = np.full(shape, draw(st.sampled_from([1, 7, int(info.max)])))
        elif kind == "large":
            values = rng.integers(int(info.max) // 2, int(info.max), size=shape, endpoint=True)
        elif kind == "extreme":
            values = np.where(rng.random(shape) < 0.5, 0, int(info.max))
        else:
            values = rng.integers(int(info.min), int(info.max), size=shape, endpoint=True)
        return values.astype(dtype)
    kind = draw(st.sampled_from(["random", "zeros", "constant", "tiny", "near_constant_tiny",
                                 "large", "huge", "negative", "nonfinite"]))
    if kind == "random":
        values = rng.random(shape)
    elif kind == "zeros":
        values = np.zeros(shape)
    elif kind == "constant":
        values = np.full(shape, draw(st.sampled_from([1.0, -3.5, 1e-6, 1e6])))
    elif kind == "tiny":
        values = 1e-6 * rng.random(shape)
    elif kind == "near_constant_tiny":
        values = 1e-6 + 1e-12 * rng.random(shape)
    elif kind == "large":
        values = 1e6 * (1 + rng.random(shape))
    elif kind == "huge":
        values = float(np.finfo(dtype).max) / 4 * rng.random(shape)
    elif kind == "negative":
        values = rng.normal(size=shape)
    else:
        values = rng.random(shape)
        spots = rng.random(shape) < draw(st.sampled_from([0.02, 0.2]))
        values[spots] = draw(st.sampled_from([NAN, INF, -INF]))
    return values.astype(dtype)


class Layout:
    """Where the scan grid is, as the tests build signals (numpy order)."""

    def __init__(self, kind, frame_shape, scan_shape, n_channels):
        self.kind, self.frame_shape, self.scan_shape = kind, frame_shape, scan_shape
        self.n_channels = n_channels
        self.mask_shape = (*frame_shape, *scan_shape)

    def __repr__(self):
        return (f"Layout({self.kind!r}, frames={self.frame_shape}, scan={self.scan_shape}, "
                f"channels={self.n_channels})")


def _calibrate(signal, rng):
    for axis in signal.axes_manager._axes:
        axis.scale = float(rng.choice([1.0, 0.05, 2.5]))
        axis.offset = float(rng.choice([0.0, -1.0]))
    signal.metadata.General.title = str(rng.choice(["", "sample"]))
    signal.original_metadata.set_item("Instrument.detector", "HAADF")
    signal.original_metadata.set_item("Instrument.values", np.arange(3))


@st.composite
def images(draw, max_side=24):
    rows, cols = draw(st.integers(4, max_side)), draw(st.integers(4, max_side))
    frames = draw(st.sampled_from([(), (), (), (1,), (2,), (3,)]))
    dtype = draw(st.sampled_from(DTYPES))
    signal = hs.signals.Signal2D(draw(data_arrays((*frames, rows, cols), dtype)))
    _calibrate(signal, np.random.default_rng(draw(st.integers(0, 99))))
    return signal, Layout("image", frames, (rows, cols), 1)


@st.composite
def spectrum_images(draw, max_side=12):
    rows, cols = draw(st.integers(4, max_side)), draw(st.integers(4, max_side))
    channels = draw(st.integers(1, 16))
    frames = draw(st.sampled_from([(), (), (), (2,)]))
    dtype = draw(st.sampled_from(DTYPES))
    signal = hs.signals.Signal1D(draw(data_arrays((*frames, rows, cols, channels), dtype)))
    _calibrate(signal, np.random.default_rng(draw(st.integers(0, 99))))
    signal_type = draw(st.sampled_from(["", "", "EELS", "EDS_SEM"]))
    if signal_type:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signal.set_signal_type(signal_type)
    return signal, Layout("spectrum_image", frames, (rows, cols), channels)


def not_signals():
    """Things that are not an image or spectrum image: every call must raise."""
    return st.sampled_from([
        "ndarray", "list", "string", "none", "spectrum", "line_of_spectra",
        "basesignal_3d", "complex_image",
    ]).map(_not_signal)


def _not_signal(kind):
    rng = np.random.default_rng(0)
    return {
        "ndarray": lambda: rng.random((8, 8)),
        "list": lambda: [[1.0, 2.0], [3.0, 4.0]],
        "string": lambda: "image.hspy",
        "none": lambda: None,
        "spectrum": lambda: hs.signals.Signal1D(rng.random(16)),
        "line_of_spectra": lambda: hs.signals.Signal1D(rng.random((8, 16))),
        "basesignal_3d": lambda: hs.signals.BaseSignal(rng.random((4, 5, 6))),
        "complex_image": lambda: hs.signals.ComplexSignal2D(
            rng.random((8, 8)) + 1j * rng.random((8, 8))),
    }[kind]()


MASK_KINDS = ("random", "random", "random", "per_frame", "one", "all", "list", "sparse")
BAD_MASK_KINDS = ("none_set", "frame_empty", "wrong_shape", "transposed", "flat", "int",
                  "float", "string")


@st.composite
def masks(draw, layout, *, frames=1, valid_only=False):
    """``(mask, status)`` for the scan grid of ``layout`` (``frames`` new frames)."""
    rows, cols = layout.scan_shape
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(MASK_KINDS if valid_only else MASK_KINDS + BAD_MASK_KINDS))
    if kind in ("random", "per_frame", "sparse", "frame_empty"):
        shape = layout.mask_shape if kind in ("per_frame", "frame_empty") else (rows, cols)
        density = 0.02 if kind == "sparse" else draw(st.sampled_from([0.1, 0.3, 0.7]))
        mask = rng.random(shape) < density
        if kind == "frame_empty":
            mask.reshape(-1, rows, cols)[-1] = False
    elif kind == "one":
        mask = np.zeros((rows, cols), dtype=bool)
        mask[rng.integers(rows), rng.integers(cols)] = True
    elif kind == "all":
        mask = np.ones((rows, cols), dtype=bool)
    elif kind == "list":
        mask = (rng.random((rows, cols)) < 0.5).tolist()
    elif kind == "none_set":
        mask = np.zeros((rows, cols), dtype=bool)
    elif kind == "wrong_shape":
        mask = rng.random((rows + 1, cols)) < 0.5
    elif kind == "transposed":
        mask = rng.random((cols, rows + (rows == cols))) < 0.5
    elif kind == "flat":
        mask = rng.random(rows * cols) < 0.5
    elif kind == "int":
        mask = (rng.random((rows, cols)) < 0.5).astype(np.int64)
    elif kind == "float":
        mask = (rng.random((rows, cols)) < 0.5).astype(float)
    else:
        mask = "random"
    return mask, _mask_status(mask, layout, frames)


def _mask_status(mask, layout, frames):
    """``"ok"`` for a bool mask of an accepted shape with a sample in every frame."""
    array = np.asarray(mask)
    shapes = [tuple(layout.scan_shape)]
    if layout.frame_shape and frames == 1:
        shapes.append(layout.mask_shape)
    if array.dtype != bool or array.shape not in shapes:
        return "bad"
    per_frame = array.reshape(-1, *layout.scan_shape)
    return "ok" if per_frame.any(axis=(1, 2)).all() else "bad"


@st.composite
def positions(draw, layout, *, valid_only=False):
    rows, cols = layout.scan_shape
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    flat = rng.permutation(rows * cols)[: draw(st.integers(1, rows * cols))]
    valid = np.stack(np.divmod(flat, cols), axis=1)
    kinds = ["array", "array", "list", "float"]
    if not valid_only:
        kinds += ["empty", "outside", "negative", "twice", "fractional", "three_columns"]
    kind = draw(st.sampled_from(kinds))
    if kind == "array":
        return valid, "ok"
    if kind == "list":
        return [tuple(int(v) for v in p) for p in valid], "ok"
    if kind == "float":
        return valid.astype(float), "ok"
    if kind == "empty":
        return np.zeros((0, 2), dtype=int), "bad"
    if kind == "outside":
        return np.vstack([valid, [[rows, 0]]]), "bad"
    if kind == "negative":
        return np.vstack([valid, [[-1, 0]]]), "bad"
    if kind == "twice":
        return np.vstack([valid, valid[:1]]), "bad"
    if kind == "fractional":
        return valid + 0.5, "bad"
    return np.hstack([valid, valid[:, :1]]), "bad"


FRACTIONS = (
    ok(st.floats(1e-6, 1.0)),
    ok(st.sampled_from([1e-6, 1e-3, 0.05, 0.5, 1.0, 1, np.float32(0.25)])),
    bad(0, 0.0, -0.1, 1.0000001, 2, NAN, INF, -INF, "0.1", None, [0.1], True, 0.5 + 0j),
)
PATTERN_NAMES = (
    ok(st.sampled_from(sorted(PATTERNS))),
    bad("bogus", "", "RANDOM", ["random"], ("random",), None, 1, b"random"),
)
SEEDS = (
    omitted(),
    ok(st.integers(0, 2**40)),
    ok(st.just(None)),
    ok(st.integers(0, 99).map(np.random.default_rng)),
    ok(st.integers(0, 99).map(np.int64)),
    bad(-1, 1.5, "0", True, [1], NAN),
)
DOSES = (
    omitted(),
    ok(st.just(None)),
    ok(st.floats(1e-3, 1e8)),
    ok(st.sampled_from([1, 1e-300, 0.5, 100])),
    maybe(1e10, 6e9, 1e15, 1e20, 1e300),
    bad(0, 0.0, -1, -1e-9, NAN, INF, -INF, "10", True, [10.0]),
)
LAZY_OUTPUT = (omitted(), ok(st.just(False)), ok(st.just(None)),
               bad("yes", 1, 0, "False"))


class Call:
    """The arguments of one call as they are drawn: ``kwargs`` and their ``statuses``.

    (Hypothesis favours the first alternatives and the smallest integers, so rare
    choices are drawn as the largest of a range.)

    One call in ``invalid_rate`` may get invalid arguments (and then usually several,
    of which the first checked raises); the others get valid ones only, so that most
    calls get past the argument checks to the computation.
    """

    def __init__(self, draw, *, invalid_rate=4):
        self.draw, self.kwargs, self.statuses = draw, {}, {}
        self.allow_bad = draw(st.integers(1, invalid_rate)) == invalid_rate

    def add(self, name, *alternatives):
        """Draw ``name`` from ``alternatives`` (strategies of ``(value, status)``, and
        ``bad`` values for calls allowed invalid ones)."""
        strategies = [a.strategy() if isinstance(a, bad) else a for a in alternatives
                      if self.allow_bad or not isinstance(a, bad)]
        value, status = self.draw(st.one_of(strategies))
        if value is not OMIT:
            self.kwargs[name], self.statuses[name] = value, status

    def strategy(self, kinds, invalid_kinds):
        """A kind to draw: one of ``kinds``, or of ``invalid_kinds`` when allowed."""
        return st.sampled_from(list(kinds) + list(invalid_kinds) * self.allow_bad)

    def sometimes_bad(self, one_in):
        """Whether to make a deliberately invalid choice now (never for a valid call)."""
        return self.allow_bad and self.draw(st.integers(1, one_in)) == one_in


# ------------------------------------------------------------------------- checking


def _same(a, b):
    """Deep equality of metadata trees (dicts, sequences, arrays, NaN == NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def snapshot(signal):
    if not isinstance(signal, hs.signals.BaseSignal):
        return None
    return {
        "class": type(signal),
        "data": np.array(signal.data, copy=True),
        "metadata": signal.metadata.deepcopy().as_dictionary(),
        "original_metadata": signal.original_metadata.deepcopy().as_dictionary(),
        "axes": [ax.get_axis_dictionary() for ax in signal.axes_manager._axes],
    }


def assert_unchanged(signal, before):
    if before is None:
        return
    assert type(signal) is before["class"], "the input's class changed"
    data = np.asarray(signal.data)
    assert data.dtype == before["data"].dtype, "the input's dtype changed"
    assert _same(data, before["data"]), "the input's data changed"
    assert _same(signal.metadata.as_dictionary(), before["metadata"]), \
        "the input's metadata changed"
    assert _same(signal.original_metadata.as_dictionary(), before["original_metadata"]), \
        "the input's original_metadata changed"
    assert _same([ax.get_axis_dictionary() for ax in signal.axes_manager._axes],
                 before["axes"]), "the input's axes changed"


def parameters(*functions):
    """Argument names of ``functions`` (what an error message may start with)."""
    return {name for function in functions for name in inspect.signature(function).parameters}


def method_function(method):
    """The array function behind ``inpaint(method=...)``, or None."""
    if isinstance(method, str) and method in CLASSICAL:
        module, name, _ = _ARRAY_METHODS[method]
        return getattr(importlib.import_module(f"hyperspy_cs.classical.{module}"), name)
    return None


def assert_names_an_argument(error, kwargs, names_allowed):
    """The message starts with ``signal`` or argument names of the call, then ``:``."""
    message = str(error.msg if hasattr(error, "msg") else error).strip("'\"")
    allowed = (set(kwargs) | set(names_allowed) | {"signal"}) - {"data", "observed"}
    match = LEADING_NAMES.match(message)
    names = [] if match is None else [n.strip() for n in match.group(1).split(",")]
    assert names and set(names) <= allowed, (
        f"{type(error).__name__} does not start with the name of an argument "
        f"(one of {sorted(allowed)}): {message!r}"
    )


def outcome(function, signal, kwargs, statuses, *, names_allowed=()):
    """Call ``function(signal, **kwargs)``; check the error contract and the input.

    An error message may start with ``signal``, a passed argument or one of
    ``names_allowed`` (the parameters of the functions the call reaches).

    Returns ``(result, None)``, or ``(None, error)`` when the call raised an accepted,
    well-named error. Any other exception propagates (and fails the test with its
    traceback).
    """
    before = snapshot(signal)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = function(signal, **kwargs)
    except ACCEPTED_ERRORS as error:
        assert_unchanged(signal, before)
        assert_names_an_argument(error, kwargs, names_allowed)
        return None, error
    assert_unchanged(signal, before)
    invalid = sorted(name for name, status in statuses.items() if status == "bad")
    assert not invalid, f"accepted invalid argument(s) {invalid}: " + ", ".join(
        f"{name}={kwargs.get(name, '<signal>')!r}" for name in invalid)
    return result, None


# How far a reconstruction may stray beyond the range of the measured values, in
# units of their spread: generous for ringing, overshoot and sampling noise, far
# below what a division by a vanishing density or a mis-normalised layer gives.
RANGE_SLACK = 10.0


def assert_reconstruction(signal, layout, kwargs, result):
    """Same class and shape as the input, finite values within reach of the measured
    ones, and a Reconstruction record."""
    assert type(result) is type(signal), f"{type(result).__name__} for a {type(signal).__name__}"
    data = np.asarray(result.data)
    assert data.shape == signal.data.shape
    assert data.dtype.kind == "f"
    finite = np.isfinite(data)
    assert finite.all(), f"{(~finite).sum()} non-finite output values of {data.size}"
    assert result.metadata.has_item("Reconstruction.method")
    measured = np.asarray(signal.data)[observed_positions(signal, layout, kwargs)]
    measured = measured.astype(np.float64)
    low, high = float(measured.min()), float(measured.max())
    slack = RANGE_SLACK * (high - low) + 1e-3 * max(abs(low), abs(high))
    out_low, out_high = float(data.min()), float(data.max())
    assert low - slack <= out_low and out_high <= high + slack, (
        f"output in [{out_low:.4g}, {out_high:.4g}] for measured values in [{low:.4g}, {high:.4g}]"
    )


def observed_positions(signal, layout, kwargs):
    """The positions a reconstruction treats as measured, shape ``layout.mask_shape``."""
    if "mask" in kwargs:
        mask = np.asarray(kwargs["mask"])
    elif signal.metadata.has_item("Acquisition.Subsampling.sampled"):
        mask = cs.get_mask(signal)
    else:
        mask = np.ones(layout.scan_shape, dtype=bool)
    return np.broadcast_to(mask, layout.mask_shape)


def reconstruction_must_succeed(signal, layout, kwargs, statuses, *, counts_checked=False):
    """Valid arguments only, and measured data a reconstruction can work from.

    The data conditions: finite values at the measured positions, at most
    ``MAX_MAGNITUDE`` in magnitude (documented limit); for a spectrum
    image at least 2 measured spectra (a PCA needs them) and no more PCA layers
    asked for than they support; for BPFA on spectrum images (``counts_checked``)
    no 8/16-bit counts at the top of their range (taken as saturated).
    """
    if layout is None or set(statuses.values()) != {"ok"}:
        return False
    observed = observed_positions(signal, layout, kwargs)
    values = np.asarray(signal.data)[observed]
    if not np.isfinite(values.astype(np.float64)).all():
        return False
    if np.abs(values.astype(np.float64)).max() > MAX_MAGNITUDE:
        return False  # documented: their squares overflow (divide the data first)
    if layout.kind == "spectrum_image":
        n_measured = int(observed.sum())
        layers = kwargs.get("layers", "auto")
        if n_measured < 2 or (isinstance(layers, int) and layers > n_measured - 1):
            return False
        if (counts_checked and values.dtype.kind in "iu" and values.dtype.itemsize <= 2
                and values.max() >= np.iinfo(values.dtype).max):
            return False
    return True


# ------------------------------------------------------------------------ subsample


@st.composite
def subsample_calls(draw):
    """``(signal, layout, kwargs, statuses)`` for one ``subsample`` call."""
    call = Call(draw)
    kwargs, statuses = call.kwargs, call.statuses
    if call.sometimes_bad(6):
        call.add("fraction", *FRACTIONS)
        statuses["signal"] = "bad"
        return draw(not_signals()), None, kwargs, statuses
    kind = draw(st.sampled_from(["image", "spectrum_image"]))
    signal, layout = draw(images() if kind == "image" else spectrum_images())
    again = False
    if draw(st.integers(1, 10)) == 10:  # already sub-sampled
        try:
            signal, again = cs.subsample(signal, 0.5, seed=0), True
        except ValueError:  # 1 channel: HyperSpy counts no signal dimension
            pass

    call.add("frames", omitted(), omitted(), omitted(),
             ok(st.sampled_from([1, 2, 3, np.int32(2)])), bad(0, -1, 1.5, "2", True, None))
    frames = kwargs.get("frames", 1)
    if layout.frame_shape and statuses.get("frames") == "ok" and frames != 1:
        statuses["frames"] = "bad"  # new frames on a signal with frame axes
    frames = frames if statuses.get("frames", "ok") == "ok" else 1

    sources = ["pattern"] * 4 + ["mask"] * 2 + ["positions"] + ["both"] * call.allow_bad
    source = draw(st.sampled_from(sources))
    if source in ("mask", "both"):
        call.add("mask", masks(layout, frames=frames, valid_only=not call.allow_bad))
    if source in ("positions", "both"):
        call.add("positions", positions(layout, valid_only=not call.allow_bad))
    if source == "both":
        statuses["mask"] = statuses["positions"] = "bad"
    if draw(st.booleans()) or source == "pattern":
        call.add("fraction", *FRACTIONS)
    if draw(st.booleans()) or source == "pattern":
        call.add("pattern", *PATTERN_NAMES)
    if again:
        # Documented: sub-sampled further only with a mask or positions, within the
        # visited positions.
        statuses["signal"] = "bad" if source == "pattern" else "maybe"
    if source != "pattern":
        # Documented: fraction and pattern are ignored with mask or positions.
        for name in ("fraction", "pattern"):
            if name in statuses:
                statuses[name] = "ok"
    call.add("seed", *SEEDS)
    call.add("dose", *DOSES)
    call.add("lazy_output", *LAZY_OUTPUT)
    return signal, layout, kwargs, statuses


def _visited(signal, layout, kwargs):
    """The visited positions a mask/positions call asks for, as a ``mask_shape`` array."""
    if "mask" in kwargs:
        return np.broadcast_to(np.asarray(kwargs["mask"]), layout.mask_shape)
    if "positions" in kwargs:
        sampled = np.zeros(layout.scan_shape, dtype=bool)
        rows, cols = np.asarray(kwargs["positions"]).astype(int).T
        sampled[rows, cols] = True
        return np.broadcast_to(sampled, layout.mask_shape)
    return None


def _must_succeed(signal, layout, kwargs, statuses):
    """Valid arguments only, and data ``dose`` can use at every visited position."""
    if layout is None or set(statuses.values()) != {"ok"}:
        return False
    if kwargs.get("dose") is None:
        return True
    data = np.asarray(signal.data, dtype=np.float64)
    visited = _visited(signal, layout, kwargs)
    if visited is not None:
        data = data[visited]
    # Documented: values beyond MAX_MAGNITUDE are refused (their noisy values at a low
    # dose, a few times the peak per electron, may not fit even float64).
    return bool(np.isfinite(data).all() and (data >= 0).all()
                and np.abs(data).max() <= MAX_MAGNITUDE)


def assert_subsampled(signal, layout, kwargs, result):
    frames = kwargs.get("frames", 1)
    new_frames = (frames,) if frames > 1 else ()
    assert type(result) is type(signal), f"{type(result).__name__} for a {type(signal).__name__}"
    out = np.asarray(result.data)
    assert out.shape == (*new_frames, *signal.data.shape)
    sampled = cs.get_mask(result)
    assert sampled.shape == (*(new_frames or layout.frame_shape), *layout.scan_shape)
    assert sampled.any(axis=(-2, -1)).all(), "a frame without a visited position"
    expected_visits = _visited(signal, layout, kwargs)
    if expected_visits is not None:
        assert np.array_equal(sampled, np.broadcast_to(expected_visits, sampled.shape))
    data = np.broadcast_to(np.asarray(signal.data), out.shape)
    visited = np.broadcast_to(sampled if layout.kind == "image" else sampled[..., None],
                              out.shape)
    assert not out[~visited].any(), "unvisited positions are not 0"
    dose = kwargs.get("dose")
    if dose is None:
        assert out.dtype == data.dtype
        assert _same(out[visited], data[visited]), "visited values changed without dose"
        return
    assert np.isfinite(out).all(), "non-finite values with dose"
    assert (out >= 0).all(), f"negative values with dose: min {out.min()}"
    counts_input = data.dtype.kind in "iu" or (
        signal.metadata.get_item("Signal.signal_type", "") or "").startswith(("EDS", "EELS"))
    values = data.astype(np.float64)
    peak = float(values[visited].max())
    scale = peak if peak > 0 else 1.0
    lam = values[visited] / scale * dose
    if counts_input:
        # Integer counts; a float input keeps its float dtype (integral values).
        if data.dtype.kind in "iu":
            assert out.dtype.kind in "iu", f"counts of {data.dtype} data came back as {out.dtype}"
        counts = out[visited].astype(np.float64)
        assert (counts == np.round(counts)).all(), "counts are not whole numbers"
    else:
        counts = out[visited].astype(np.float64) / scale * dose
    # A Poisson draw lies within 12 standard deviations (+12) of its mean with
    # probability 1 - 1e-30: anything further off has overflowed or is mis-scaled.
    tolerance = 12 * np.sqrt(lam) + 12 + 1e-5 * lam
    worst = np.argmax(np.abs(counts - lam) - tolerance)
    assert (np.abs(counts - lam) <= tolerance).all(), (
        f"counts {counts[worst]} for a Poisson mean of {lam[worst]}"
    )


@settings(PROPERTY, max_examples=250)
@given(call=subsample_calls(), as_method=st.booleans())
def test_subsample_returns_a_sound_signal_or_names_the_bad_argument(call, as_method):
    signal, layout, kwargs, statuses = call
    if as_method and layout is not None:
        def function(s, **kw):
            return s.subsample(**kw)
    else:
        function = cs.subsample
    result, error = outcome(function, signal, kwargs, statuses,
                            names_allowed=parameters(cs.subsample))
    if error is not None:
        assert not _must_succeed(signal, layout, kwargs, statuses), \
            f"a valid subsample call raised {type(error).__name__}: {error}"
        return
    assert_subsampled(signal, layout, kwargs, result)


# -------------------------------------------------------------------------- inpaint


def source(call, kinds=("image", "spectrum_image"), max_side=None):
    """A signal to reconstruct and its layout, drawn into ``call``.

    Sub-sampled by ``subsample`` (the mask in its metadata, sometimes overridden by
    ``mask=``), or raw with an explicit ``mask=``, or raw without any mask
    (denoising).
    """
    draw = call.draw
    kind = draw(st.sampled_from(kinds))
    if kind == "image":
        signal, layout = draw(images(max_side or 24))
    else:
        signal, layout = draw(spectrum_images(max_side or 12))
    how = draw(st.sampled_from(["subsampled", "subsampled", "mask", "mask", "denoise"]))
    if how == "subsampled":
        fraction = draw(st.sampled_from([1e-6, 0.05, 0.2, 0.5, 1.0]))
        pattern = draw(st.sampled_from(sorted(PATTERNS)))
        dose = draw(st.sampled_from([None, None, 10.0, 1000.0]))
        seed = draw(st.integers(0, 2**31))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for with_dose in (dose, None):
                try:
                    signal = cs.subsample(signal, fraction, pattern, seed=seed, dose=with_dose)
                    break
                except ValueError:  # NaN or negative values meet the dose; 1 channel
                    pass
        if draw(st.integers(1, 5)) == 5:  # an explicit mask overrides the metadata
            call.add("mask", masks(layout, valid_only=not call.allow_bad))
    elif how == "mask":
        call.add("mask", masks(layout, valid_only=not call.allow_bad))
    return signal, layout


def add_classical_options(call, method, layout):
    """Options of one classical method, cheap, valid or invalid."""
    side = min(layout.scan_shape)
    if method == "ksvd":
        # Always passed: the defaults (8 px, 256 atoms) are for real images.
        call.add("patch_size", ok(st.integers(1, min(side, 4))), maybe(side + 1),
                 bad(0, -2, 2.5, "3", None, True))
        call.add("n_atoms", ok(st.integers(2, 8)), bad(1, 0, 4.0, "8"))
        call.add("n_iter", ok(st.integers(0, 2)), bad(-1, 1.5, "2"))
        call.add("sparsity", omitted(), ok(st.sampled_from([None, 1, 3])), bad(0, -1, 2.5))
        call.add("stride", omitted(), ok(st.integers(1, 3)), bad(0, 1.5))
        call.add("fill_weight", omitted(), ok(st.sampled_from([0.0, 0.05, 0.5, 0.999])),
                 bad(1.0, 2, -0.1, NAN, INF, "0.1"))
    elif method == "fourier_lowpass":
        call.add("cutoff", omitted(), ok(st.sampled_from([None, 0.01, 0.2, 0.7])),
                 bad(0, -0.1, 0.8, NAN, INF, "0.2"))
        call.add("reblend", omitted(), ok(st.booleans()), bad("no", 2, None))
    elif method == "fourier_global":
        call.add("top_k", omitted(), ok(st.sampled_from([None, 1, 5, 1000])),
                 bad(0, -1, 2.5, "5"))
        call.add("radius", omitted(), ok(st.sampled_from([None, 0.05, 0.5, 0.7])),
                 bad(0, -0.1, 0.8, NAN, INF, "0.2"))
        call.add("reblend", omitted(), ok(st.booleans()), bad("no", 2, None))
    elif method == "nonlocal":
        call.add("base", omitted(),
                 ok(st.sampled_from(["nearest", "linear", "cubic", "biharmonic"])),
                 bad("bogus", None, ["cubic"]))
        call.add("patch_size", omitted(), ok(st.sampled_from([None, 1, 3, 5])),
                 bad(0, 2, -3, 3.0, "3"))
        call.add("search_window", omitted(), ok(st.sampled_from([None, 3, 7])),
                 bad(0, 4, -7, 7.5))
        call.add("h", omitted(), ok(st.sampled_from([None, 1e-6, 0.1, 10.0])),
                 bad(0, -1.0, NAN, INF, "0.1"))
    elif method == "pnp":
        call.add("denoiser", omitted(), ok(st.sampled_from(available_denoisers())),
                 bad("bogus", None, ["tv"]))
        call.add("n_iter", ok(st.integers(1, 3)), bad(0, -1, 1.5))
        call.add("equivariant", omitted(), ok(st.booleans()), bad("no", 1, None))
        call.add("sigma", omitted(),
                 ok(st.sampled_from([None, 1e-3, 0.5, (0.5, 0.05), [1.0, 0.1]])),
                 bad(0, -1.0, NAN, INF, "0.1", (0.5,), (0.5, -1.0), (0.5, NAN)))
        call.add("data_weight", omitted(), ok(st.sampled_from([1.0, 0.5, 1e-3])),
                 bad(0, 1.5, -0.5, NAN, "1"))
        call.add("init", omitted(),
                 ok(st.sampled_from(["nearest", "linear", "cubic", "biharmonic"])),
                 bad("bogus", None))
    if call.sometimes_bad(5):
        call.kwargs["bogus_option"], call.statuses["bogus_option"] = 1, "bad"


LAYERS_ANY = ("auto", "pca", 1, 2, 3, 16, 0, 17, "lines", 1.5, ["pca"], True, None, "bogus")


def add_layers(call, layout):
    """``layers``: ignored for images; checked against the channels of a spectrum image."""
    if layout.kind == "image":
        if call.draw(st.integers(1, 4)) == 4:
            call.kwargs["layers"] = call.draw(st.sampled_from(LAYERS_ANY))
            call.statuses["layers"] = "ok"
        return
    n = layout.n_channels
    call.add("layers", omitted(), ok(st.sampled_from(["auto", "pca"])), ok(st.integers(1, n)),
             bad(0, n + 1, -1, 1.5, ["pca"], True, None, "bogus", "lines"))


def add_not_signal(call, one_in, signal):
    """``signal``, or sometimes something that is not a signal with scan axes instead
    (``None`` among them)."""
    if call.sometimes_bad(one_in):
        call.statuses["signal"] = "bad"
        return call.draw(not_signals())
    return signal


@st.composite
def inpaint_calls(draw):
    call = Call(draw)
    signal, layout = source(call)
    call.add("method", ok(st.sampled_from(CLASSICAL)),
             bad("bogus", "Cubic", ["cubic"], None, 3, "bpfa3d"))
    if call.statuses.get("method") == "ok":
        add_classical_options(call, call.kwargs["method"], layout)
    add_layers(call, layout)
    call.add("seed", *SEEDS)
    call.add("lazy_output", *LAZY_OUTPUT)
    signal = add_not_signal(call, 8, signal)
    return signal, layout, call.kwargs, call.statuses


def _sub_image(rows=8, cols=8, fraction=0.5, value=None, seed=0):
    """A sub-sampled random (or constant) image and its layout, for explicit examples."""
    data = (np.random.default_rng(seed).random((rows, cols)) if value is None
            else np.full((rows, cols), value))
    signal = cs.subsample(hs.signals.Signal2D(data), fraction, seed=seed)
    return signal, Layout("image", (), (rows, cols), 1)


def _masked_noise():
    """Noise with a 30 % mask, where the default fourier_lowpass cutoff is 0.479."""
    rng = np.random.default_rng(12)
    signal = hs.signals.Signal2D(rng.random((12, 12)))
    return signal, Layout("image", (), (12, 12), 1), rng.random((12, 12)) < 0.3


_SUB, _SUB_LAYOUT = _sub_image()
_NOISE, _NOISE_LAYOUT, _NOISE_MASK = _masked_noise()


# Defects found by this property, kept as explicit examples.
@example(call=(_SUB, _SUB_LAYOUT, {"method": ["cubic"]}, {"method": "bad"}))  # unhashable
@example(call=(_SUB, _SUB_LAYOUT, {"method": "nearest", "bogus": 1},  # message named 'nearest'
               {"method": "ok", "bogus": "bad"}))
@example(call=(_SUB, _SUB_LAYOUT, {"method": "nearest", "lazy_output": 0},
               {"method": "ok", "lazy_output": "bad"}))
@example(call=(_SUB, _SUB_LAYOUT, {"method": "nearest", "lazy_output": "False"},
               {"method": "ok", "lazy_output": "bad"}))
@example(call=(_SUB, _SUB_LAYOUT, {"method": "fourier_lowpass", "reblend": "no"},
               {"method": "ok", "reblend": "bad"}))
@example(call=(_NOISE, _NOISE_LAYOUT, {"method": "fourier_lowpass", "mask": _NOISE_MASK},
               {"method": "ok", "mask": "ok"}))  # [-3e10, 3e9] for data in [0, 1]
@settings(PROPERTY, max_examples=150)
@given(call=inpaint_calls())
def test_inpaint_returns_a_sound_signal_or_names_the_bad_argument(call):
    signal, layout, kwargs, statuses = call
    names = parameters(cs.inpaint) | parameters(*filter(None, [method_function(kwargs["method"])]))
    result, error = outcome(cs.inpaint, signal, kwargs, statuses, names_allowed=names)
    if error is not None:
        assert not reconstruction_must_succeed(signal, layout, kwargs, statuses), \
            f"a valid inpaint call raised {type(error).__name__}: {error}"
        return
    assert_reconstruction(signal, layout, kwargs, result)


# ----------------------------------------------------------------------------- BPFA


def add_bpfa_options(call, layout, *, spectrum_image):
    """Options of inpaint_bpfa / inpaint_bpfa3d, kept cheap: few sweeps, small patches."""
    kwargs, statuses = call.kwargs, call.statuses
    kwargs["show_progressbar"], statuses["show_progressbar"] = False, "ok"
    if call.sometimes_bad(5):
        kwargs["show_progressbar"], statuses["show_progressbar"] = "no", "bad"
    side = min(layout.scan_shape)
    # Always passed (the default 8 or 6 px does not fit the smallest images),
    # except when a dictionary gives it.
    call.add("patch_size", ok(st.integers(2, min(side, 4))), ok(st.integers(2, min(side, 4))),
             maybe(side + 1), bad(1, 0, -3, 2.5, "3", True, None))
    call.add("n_atoms", omitted(), ok(st.integers(1, 8)), ok(st.integers(1, 8)),
             bad(0, -1, 4.0, "4"))
    call.add("n_iter", ok(st.integers(1, 6)), ok(st.integers(4, 6)), ok(st.just(10)),
             bad(0, -1, 3.5, "5", True))
    n_iter = kwargs.get("n_iter") if statuses.get("n_iter") == "ok" else None
    call.add("burn_in", omitted(), ok(st.integers(0, 3)), bad(-1, 1.5, "2", True))
    burn_in = kwargs.get("burn_in")
    if statuses.get("burn_in") == "ok" and n_iter is not None and burn_in >= n_iter:
        statuses["burn_in"] = "bad"
    call.add("step", omitted(), ok(st.integers(1, 3)), bad(0, -1, 1.5, "1"))
    call.add("uncertainty", omitted(), ok(st.booleans()), bad("no", "yes", 1, 0.0))
    call.add("seed", ok(st.integers(0, 2**32)), bad(-1, 2.5))
    call.add("lazy_output", *LAZY_OUTPUT)
    add_dictionary(call, layout, spectrum_image=spectrum_image)
    if spectrum_image:
        add_layers(call, layout)
        add_guide(call, layout)
        call.add("guide_weight", omitted(),
                 ok(st.sampled_from([1.0, 0.5, 3, 1e-3, "auto", None])),
                 bad(0, -1.0, NAN, INF, "1", "Auto"))


def add_dictionary(call, layout, *, spectrum_image):
    """``dictionary`` and ``learn_dictionary`` (False only ever with a dictionary passed)."""
    draw, kwargs, statuses = call.draw, call.kwargs, call.statuses
    kind = draw(st.sampled_from(["none"] * 6 + ["atoms", "atoms", "none_given"]
                                + ["bad"] * call.allow_bad))
    if kind == "none":
        call.add("learn_dictionary", omitted(), ok(st.just(True)), bad("no", 2))
        return
    if kind == "none_given":
        kwargs["dictionary"], statuses["dictionary"] = None, "ok"
        learn = draw(st.sampled_from([True, False] if call.allow_bad else [True]))
        kwargs["learn_dictionary"] = learn
        statuses["learn_dictionary"] = "ok" if learn else "bad"  # nothing to code with
        return
    if kind == "bad":
        kwargs["dictionary"] = draw(st.sampled_from(
            ["atoms", [[1.0, 2.0]], np.zeros((2, 3, 3)), np.full((2, 3, 3, 1), np.nan),
             np.zeros((0, 3, 3, 1)), np.ones((2, 3, 4, 1)), np.ones((2, 3, 3, 1), complex)]))
        statuses["dictionary"] = "bad"
        return
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    side = kwargs.get("patch_size") if statuses.get("patch_size") == "ok" else 3
    side = min(side, min(layout.scan_shape))
    n_layers = draw(st.integers(1, 3)) if spectrum_image else 1
    n_atoms = kwargs.get("n_atoms") if statuses.get("n_atoms") == "ok" else None
    n_atoms = n_atoms or draw(st.integers(1, 6))
    kwargs["dictionary"] = rng.normal(size=(n_atoms, side, side, n_layers))
    # For a spectrum image the data decide the layers (PCA "auto", the guide): the
    # atoms' layer count may not match, and the call may raise naming it.
    statuses["dictionary"] = "maybe" if spectrum_image else "ok"
    if statuses.get("patch_size") == "ok" and draw(st.booleans()):
        del kwargs["patch_size"], statuses["patch_size"]  # taken from the dictionary
    kwargs["learn_dictionary"] = draw(st.booleans())
    statuses["learn_dictionary"] = "ok"


def add_guide(call, layout):
    rng = np.random.default_rng(call.draw(st.integers(0, 99)))
    shape = layout.scan_shape
    guides = {
        "array": lambda: rng.random(shape),
        "signal": lambda: hs.signals.Signal2D(rng.random(shape)),
        "int": lambda: (rng.random(shape) * 100).astype(np.uint16),
        "per_frame": lambda: rng.random(layout.mask_shape),
        "wrong_shape": lambda: rng.random((shape[0] + 1, shape[1])),
        "nan": lambda: np.full(shape, np.nan),
        "string": lambda: "bse.tif",
        "spectrum": lambda: hs.signals.Signal1D(rng.random((*shape, 3))),
        "complex": lambda: rng.random(shape) + 0j,
    }
    kind = call.draw(call.strategy(["omit"] * 4 + ["array", "signal", "int", "per_frame"],
                                   ["wrong_shape", "nan", "string", "spectrum", "complex"]))
    if kind != "omit":
        call.kwargs["guide"] = guides[kind]()
        call.statuses["guide"] = "ok" if kind in ("array", "signal", "int", "per_frame") else "bad"


@st.composite
def bpfa_calls(draw, kind):
    call = Call(draw)
    signal, layout = source(call, kinds=(kind,), max_side=14 if kind == "image" else 10)
    add_bpfa_options(call, layout, spectrum_image=kind != "image")
    kwargs, statuses = call.kwargs, call.statuses
    route = draw(st.sampled_from(["direct", "direct", "inpaint"] + ["other"] * call.allow_bad))
    if route == "inpaint":
        kwargs["method"], statuses["method"] = "bpfa", "ok"
        if call.sometimes_bad(3):  # an option the BPFA function does not take
            name = "guide" if kind == "image" else "bogus_option"
            kwargs[name], statuses[name] = np.zeros(layout.scan_shape), "bad"
    elif route == "other":  # the other BPFA function: the wrong kind of signal
        statuses["signal"] = "bad"
        for name in ("layers", "guide", "guide_weight"):  # not parameters of inpaint_bpfa
            kwargs.pop(name, None)
            statuses.pop(name, None)
    signal = add_not_signal(call, 8, signal)
    return signal, layout, route, kwargs, statuses


def _bpfa_function(kind, route):
    if route == "inpaint":
        return cs.inpaint
    if (kind == "image") == (route == "direct"):
        return cs.inpaint_bpfa
    return cs.inpaint_bpfa3d


def check_bpfa_call(kind, call):
    signal, layout, route, kwargs, statuses = call
    function = _bpfa_function(kind, route)
    names = parameters(function, cs.inpaint_bpfa if kind == "image" else cs.inpaint_bpfa3d)
    result, error = outcome(function, signal, kwargs, statuses, names_allowed=names)
    if error is not None:
        assert not reconstruction_must_succeed(
            signal, layout, kwargs, statuses, counts_checked=kind == "spectrum_image"), \
            f"a valid BPFA call raised {type(error).__name__}: {error}"
        return
    assert_reconstruction(signal, layout, kwargs, result)
    if kwargs.get("uncertainty") is True:
        std = result.metadata.Reconstruction.std
        assert np.isfinite(np.asarray(std.data)).all(), "non-finite posterior std"
        assert (np.asarray(std.data) >= 0).all(), "negative posterior std"


def _bpfa_example(signal, layout, route="direct", **kwargs):
    kwargs = {"show_progressbar": False, "seed": 0, **kwargs}
    statuses = {name: "ok" for name in kwargs}
    if route == "inpaint":
        kwargs["method"], statuses["method"] = "bpfa", "ok"
    if "guide" in kwargs:
        statuses["guide"] = "bad"  # not an option of inpaint_bpfa
    return signal, layout, route, kwargs, statuses


_UINT = cs.subsample(hs.signals.Signal2D(
    (np.random.default_rng(0).random((1, 4, 10)) * 1000).astype(np.uint32)), 0.5, seed=1)
_ONE_SAMPLE = np.zeros((4, 4), dtype=bool)
_ONE_SAMPLE[1, 2] = True


# Defects found by this property, kept as explicit examples.
@example(call=_bpfa_example(_SUB, _SUB_LAYOUT, route="inpaint",
                            patch_size=3, n_iter=4, guide=np.zeros((8, 8))))  # raw TypeError
@example(call=_bpfa_example(_UINT, Layout("image", (1,), (4, 10), 1), patch_size=4,
                            n_atoms=1, n_iter=10, seed=4))  # K = 1: "b <= 0"
@example(call=_bpfa_example(*_sub_image(value=7.0), patch_size=3, n_iter=6))  # [6.97, 7.47]
@example(call=_bpfa_example(hs.signals.Signal2D(np.full((4, 4), 248, np.uint8)),
                            Layout("image", (), (4, 4), 1), mask=_ONE_SAMPLE, patch_size=3,
                            n_iter=6))  # [-43, 776]
@settings(PROPERTY, max_examples=60)
@given(call=bpfa_calls("image"))
def test_inpaint_bpfa_returns_a_sound_signal_or_names_the_bad_argument(call):
    check_bpfa_call("image", call)


@settings(PROPERTY, max_examples=60)
@given(call=bpfa_calls("spectrum_image"))
def test_inpaint_bpfa3d_returns_a_sound_signal_or_names_the_bad_argument(call):
    check_bpfa_call("spectrum_image", call)
