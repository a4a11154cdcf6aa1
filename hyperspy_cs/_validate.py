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


def check_choice(value, choices, *, name):
    """Return ``value`` if it is one of ``choices``, else raise naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected one of {choices}, got {value!r}")
    if value not in choices:
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")
    return value


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


# numpy's Poisson sampler refuses larger means (int64 max less ten of its square roots).
_MAX_DOSE = float(np.iinfo(np.int64).max - 10 * np.sqrt(np.iinfo(np.int64).max))


def check_dose(dose):
    """Electrons per position for a Poisson draw: None, or positive and drawable."""
    dose = check_positive_number(dose, name="dose", allow_none=True)
    if dose is not None and dose > _MAX_DOSE:
        raise ValueError(
            f"dose: expected at most {_MAX_DOSE:.3g} electrons per position (the largest "
            f"Poisson mean numpy can draw), got {dose:g}"
        )
    return dose


# Largest magnitude of measured values the methods take: the squares of larger ones
# (variances, moments, Gram matrices) and their sums come near the float64 range.
MAX_MAGNITUDE = 1e150


def check_magnitude(values, *, name="signal"):
    """Refuse finite ``values`` so large that their squares overflow float64."""
    values = np.asarray(values)
    if values.size == 0 or values.dtype.kind not in "fc":
        return  # integers are at most ~1e19
    peak = float(np.max(np.abs(values)))
    if np.isfinite(peak) and peak > MAX_MAGNITUDE:
        raise ValueError(
            f"{name}: values up to {peak:.3g} overflow in the computation (their squares "
            f"exceed the float64 range; at most {MAX_MAGNITUDE:.0e} is supported); divide "
            "the data by a constant first"
        )


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


def check_bool(value, *, name, allow_none=False):
    """``value`` as a bool; strings such as ``"no"`` are refused, not read as True."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        expected = "None, True or False" if allow_none else "True or False"
        raise TypeError(f"{name}: expected {expected}, got {value!r}")
    return bool(value)


def wants_lazy(signal, lazy_output):
    """Whether the result is lazy: ``lazy_output`` (None: as the input), checked."""
    lazy_output = check_bool(lazy_output, name="lazy_output", allow_none=True)
    return signal._lazy if lazy_output is None else lazy_output


def resolve_progressbar(show_progressbar):
    """``show_progressbar=None`` follows HyperSpy's preference."""
    if show_progressbar is None:
        from hyperspy.defaults_parser import preferences

        return bool(preferences.General.show_progressbar)
    return bool(show_progressbar)
