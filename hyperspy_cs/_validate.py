"""Argument checks shared by the public functions: one wording everywhere."""

import numbers

import numpy as np


def as_rng(seed):
    """Resolve ``seed`` to ``(Generator, recorded_seed)``.

    ``recorded_seed`` is an ``int`` that reproduces the generator, so every result
    can store the seed it was made with even when the caller passed ``None`` or a
    ``Generator``.
    """
    if isinstance(seed, np.random.Generator):
        recorded = int(seed.integers(2**31))
    elif seed is None:
        recorded = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    elif isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed}")
        recorded = int(seed)
    else:
        raise TypeError(
            f"seed: expected None, an int or a numpy.random.Generator, got {type(seed).__name__}"
        )
    return np.random.default_rng(recorded), recorded


def check_fraction(fraction, *, name="fraction"):
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"{name}: expected a number in (0, 1], got {fraction!r}")
    if not 0 < fraction <= 1:
        raise ValueError(f"{name}: expected a number in (0, 1], got {fraction}")
    return float(fraction)


def check_positive_int(value, *, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def check_positive_number(value, *, name, allow_none=False, allow_zero=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name}: expected a positive finite number, got {value}")
    return float(value)


def check_real_dtype(dtype, *, name="signal"):
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        raise TypeError(
            f"{name}: complex data is not supported; reconstruct the amplitude "
            "(abs) or the real and imaginary parts separately"
        )
    if dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, got dtype {dtype}")
    return dtype


def resolve_progressbar(show_progressbar):
    """``show_progressbar=None`` follows HyperSpy's preference."""
    if show_progressbar is None:
        from hyperspy.defaults_parser import preferences

        return bool(preferences.General.show_progressbar)
    return bool(show_progressbar)
