"""Which layers BPFA treats as Poisson counts (``likelihood``), and why.

The engine samples a Gaussian likelihood; a layer of counts is given to it as
its Anscombe values (:mod:`hyperspy_cs.bpfa._anscombe`), which have unit noise
variance at any count level. Which layers those are depends on what is known:

- an image is counts when its values are whole multiples of one unit and either
  the caller says so (``likelihood="poisson"``) or the image came from a dose
  simulation (``metadata.Acquisition.Subsampling.dose`` or
  ``metadata.Simulation.parameters.dose``): an integer image from a detector is
  not necessarily counts (a HAADF or BSE image is digitised current);
- a spectrum image's layers are counts when they are X-ray line maps of count
  data (sums of counts over each line's channels); PCA scores, and a guide image,
  are not.

``"auto"`` takes counts wherever they are known to be counts, ``"poisson"``
where the values allow it (and raises where they do not), ``"gaussian"`` nowhere.
"""

import numpy as np

from .._metadata import SIMULATION_NODE, SUBSAMPLING_NODE
from . import _anscombe

__all__ = ["LIKELIHOODS", "check_likelihood", "recorded_dose", "image_count_unit",
           "layer_count_units", "used"]

LIKELIHOODS = ("auto", "gaussian", "poisson")
_POISSON = "poisson: Anscombe transform and its exact unbiased inverse"
_MOST_COUNTS = 1e5


def check_likelihood(likelihood):
    """``likelihood``, checked (None means ``"auto"``)."""
    if likelihood is None:
        return "auto"
    if not isinstance(likelihood, str) or likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood: expected one of {', '.join(map(repr, LIKELIHOODS))}, "
                         f"got {likelihood!r}")
    return likelihood


def recorded_dose(signal):
    """The simulated dose ``signal`` records (e-/position), 0 for none: that of
    :func:`hyperspy_cs.subsample`, else that of a :mod:`hyperspy_cs.data` simulation."""
    for key in (f"{SUBSAMPLING_NODE}.dose", f"{SIMULATION_NODE}.parameters.dose"):
        dose = signal.metadata.get_item(key, 0.0) or 0.0
        if dose > 0:
            return float(dose)
    return 0.0


def used(reason):
    """The likelihood a reason string says was used: ``"poisson"`` or ``"gaussian"``."""
    return reason.split(":", 1)[0]


def _unit_of(values):
    """Data units of one count if ``values`` are whole multiples of one, else None.

    The unit is the least gap between distinct values (two neighbouring counts
    occur somewhere in any image of counts), refined on all of them. Values that
    would be more than ``_MOST_COUNTS`` counts are not taken for counts: the gap
    is then round-off between values of continuous data, and at such counts the
    Gaussian likelihood is exact enough anyway.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0 or values.min() < 0:
        return None
    if np.array_equal(values, np.round(values)):
        return 1.0
    distinct = np.unique(values)
    gaps = np.diff(distinct)
    if gaps.size == 0:
        return None
    unit = float(gaps.min())
    counts = np.round(values / unit)
    if counts.sum() <= 0 or counts.max() > _MOST_COUNTS:
        return None
    unit = float(values.sum() / counts.sum())
    try:
        _anscombe.check_counts(values, unit, layer=0)
    except ValueError:
        return None
    return unit


def image_count_unit(values, likelihood, *, dose):
    """``(unit, reason)`` for an image: data units of one count, 0 for Gaussian.

    ``values``: the observed values; ``dose``: the simulated dose the image
    records (``metadata.Acquisition.Subsampling.dose``, 0 for none).
    """
    if likelihood == "gaussian":
        return 0.0, 'gaussian: likelihood="gaussian"'
    unit = _unit_of(values)
    if likelihood == "poisson":
        if unit is None:
            raise ValueError(
                'likelihood: "poisson" needs counts, values that are whole non-negative '
                'multiples of one unit; these are not. Use likelihood="gaussian"')
        return unit, f'{_POISSON}: likelihood="poisson" ({unit:g} per count)'
    if dose > 0 and unit is not None:
        return unit, f"{_POISSON}: simulated dose of {dose:g} e-/position ({unit:g} per count)"
    if dose > 0:
        return 0.0, (f"gaussian: a simulated dose of {dose:g} e-/position is recorded, but the "
                     f"values are not counts of one unit (whole multiples of it, at most "
                     f"{_MOST_COUNTS:g} of them)")
    return 0.0, ('gaussian: the image is not known to be counts (pass likelihood="poisson" '
                 "for an image of counts)")


def layer_count_units(layer_set, maps, observed, likelihood, *, n_full):
    """``(units, reason)`` for a spectrum image's layers ``(F, R, C, N)``, the guide first.

    ``units`` (shape (N,)): data units of one count per layer, 0 for Gaussian
    layers; ``maps`` and ``observed`` are the layer maps and their observed
    entries as the engine gets them.
    """
    units = np.zeros(maps.shape[-1])
    if likelihood == "gaussian":
        return units, 'gaussian: likelihood="gaussian"'
    counts = layer_set.kind == "lines" and layer_set.counts
    if counts:
        for layer in range(n_full, maps.shape[-1]):
            values = maps[..., layer][np.broadcast_to(observed, maps.shape)[..., layer]]
            if not np.array_equal(values, np.round(values)) or values.min(initial=0) < 0:
                counts = False
                break
    if counts:
        units[n_full:] = 1.0
        return units, f"{_POISSON}: the X-ray line maps of count data"
    if likelihood == "poisson":
        what = ("PCA scores" if layer_set.kind == "pca"
                else "line maps that are not whole counts")
        raise ValueError(
            f'likelihood: "poisson" needs layers of counts, X-ray line maps of count data '
            f'(layers="lines"); these layers are {what}. Use likelihood="gaussian" or "auto"')
    return units, ("gaussian: PCA scores are not counts" if layer_set.kind == "pca"
                   else "gaussian: the line maps are not whole counts")
