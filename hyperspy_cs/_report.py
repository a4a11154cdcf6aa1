"""Acquisition time, dose and beam travel of a sub-sampled scan against the full raster."""

import numbers
from dataclasses import dataclass

import numpy as np

from ._metadata import get_mask, get_order
from ._validate import check_positive_number

__all__ = ["acquisition_report", "AcquisitionReport"]

_ELEMENTARY_CHARGE = 1.602176634e-19  # C

# Where readers put the dwell time and the probe current, most general first,
# with HyperSpy's default units (metadata_structure: dwell_time in s, beam_current
# in nA). DigitalMicrograph and FEI/Zeiss TIFF files fill the microscope-level
# leaves; DM spectrum images and MSA files the EELS detector's dwell_time.
_MICROSCOPES = ("TEM", "SEM")
_DWELL_TIME_ITEMS = tuple(
    f"Acquisition_instrument.{m}.{leaf}" for m in _MICROSCOPES
    for leaf in ("dwell_time", "Detector.EELS.dwell_time", "Detector.EDS.dwell_time")
)
_BEAM_CURRENT_ITEMS = tuple(f"Acquisition_instrument.{m}.beam_current" for m in _MICROSCOPES)
# A "<leaf>_units" leaf overrides the default unit (HyperSpy's convention).
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9}
_AMPERES = {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6, "μA": 1e-6, "nA": 1e-9, "pA": 1e-12}


def _from_metadata(signal, items, *, default_unit, units):
    """``(value in SI units, item)`` of the first of ``items`` recorded in ``signal``'s metadata.

    Returns ``(None, None)`` when none is. A recorded 0 counts as not recorded:
    DigitalMicrograph writes ``beam_current = 0.0`` when the microscope did not
    report one.
    """
    metadata = signal.metadata
    for item in items:
        value = metadata.get_item(item)
        if value is None:
            continue
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"metadata.{item}: expected a number, got {value!r}")
        if not np.isfinite(value) or value <= 0:
            continue
        unit = str(metadata.get_item(item + "_units", default_unit)).strip()
        if unit not in units:
            raise ValueError(
                f"metadata.{item}_units: expected one of {', '.join(units)}, got {unit!r}")
        return float(value) * units[unit], item
    return None, None


@dataclass(frozen=True)
class AcquisitionReport:
    """Time, dose and beam travel of a sub-sampled scan against the full raster.

    Times in seconds, current in amperes, travel in pixels, dose in electrons.
    ``dwell_time_source`` and ``beam_current_source`` say where the dwell time
    and the current came from: ``"given"`` or the metadata item read
    (``"metadata.Acquisition_instrument.TEM.dwell_time"``); the current and its
    source are None when it is unknown.
    """

    n_frames: int
    n_positions: int
    n_visited: int
    fraction: float
    full_time: float
    subsampled_time: float
    speedup: float
    dose_reduction: float
    electrons_per_position: float | None
    total_electrons: float | None
    full_electrons: float | None
    beam_travel: float
    full_beam_travel: float
    dwell_time: float | None = None
    dwell_time_source: str | None = None
    beam_current: float | None = None
    beam_current_source: str | None = None

    def __str__(self):
        lines = []
        if self.dwell_time is not None:
            lines.append(f"dwell time        : {self.dwell_time:.4g} s per position "
                         f"({self.dwell_time_source})")
        if self.beam_current is not None:
            lines.append(f"beam current      : {self.beam_current:.4g} A "
                         f"({self.beam_current_source})")
        lines += [
            f"visited positions : {self.n_visited} of {self.n_positions} "
            f"({100 * self.fraction:.2f} %) over {self.n_frames} frame(s)",
            f"acquisition time  : {self.subsampled_time:.4g} s (full scan {self.full_time:.4g} s, "
            f"{self.speedup:.3g}x faster)",
            f"total dose        : {self.dose_reduction:.3g}x lower than the full scan",
            f"beam travel       : {self.beam_travel:.4g} px (raster {self.full_beam_travel:.4g} px)",
        ]
        if self.total_electrons is not None:
            lines.append(
                f"electrons         : {self.electrons_per_position:.4g} per position, "
                f"{self.total_electrons:.4g} in all (full scan {self.full_electrons:.4g})"
            )
        return "\n".join(lines)


def acquisition_report(signal, *, dwell_time=None, beam_current=None, flyback_time=0.0):
    """Acquisition time and dose saved by a sub-sampled scan.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A sub-sampled signal (see :func:`subsample`).
    dwell_time : float, optional
        Time per visited position, in seconds. None (the default) reads it from
        the metadata, where HyperSpy's readers put it (in seconds unless a
        ``dwell_time_units`` leaf says otherwise):
        ``Acquisition_instrument.TEM.dwell_time`` (or ``SEM``), else the
        detector's ``Acquisition_instrument.TEM.Detector.EELS.dwell_time`` (or
        ``EDS``).
    beam_current : float, optional
        Probe current in amperes; adds electron counts to the report. None (the
        default) reads ``Acquisition_instrument.TEM.beam_current`` (or ``SEM``)
        from the metadata, in nA as HyperSpy records it (unless a
        ``beam_current_units`` leaf says otherwise), and leaves the counts out
        when it is not recorded. A recorded 0 counts as not recorded (what
        DigitalMicrograph writes when the microscope gave no current).
    flyback_time : float
        Time for the beam to return at the start of each scanned row, in
        seconds; counted once per row that has a visited position.

    Returns
    -------
    AcquisitionReport
        Printable; ``speedup`` is full time / sub-sampled time and
        ``dose_reduction`` the full scan's total dose over this one's (the same
        dose per visited position).

    Raises
    ------
    ValueError
        If ``dwell_time`` is None and the metadata records none, or if the
        units a ``_units`` leaf gives are unknown.
    TypeError
        If a value read from the metadata is not a number.

    Examples
    --------
    >>> import hyperspy.api as hs
    >>> import numpy as np
    >>> import hyperspy_cs as cs
    >>> s = hs.signals.Signal2D(np.ones((20, 20)))
    >>> s.metadata.set_item("Acquisition_instrument.TEM.dwell_time", 1e-5)  # s
    >>> s.metadata.set_item("Acquisition_instrument.TEM.beam_current", 0.05)  # nA
    >>> report = cs.acquisition_report(s.subsample(0.25, "random", seed=0))
    >>> print(f"{report.speedup:g}x faster; {report.beam_current:.3g} A from "
    ...       f"{report.beam_current_source}")
    4x faster; 5e-11 A from metadata.Acquisition_instrument.TEM.beam_current
    """
    if dwell_time is None:
        dwell_time, item = _from_metadata(signal, _DWELL_TIME_ITEMS, default_unit="s",
                                          units=_SECONDS)
        if dwell_time is None:
            raise ValueError(
                "dwell_time: not given and not in the metadata (looked for "
                f"{', '.join(_DWELL_TIME_ITEMS[:2])}...); pass dwell_time=seconds per position"
            )
        dwell_source = f"metadata.{item}"
    else:
        dwell_time = check_positive_number(dwell_time, name="dwell_time")
        dwell_source = "given"
    if beam_current is None:
        beam_current, item = _from_metadata(signal, _BEAM_CURRENT_ITEMS, default_unit="nA",
                                            units=_AMPERES)
        current_source = None if item is None else f"metadata.{item}"
    else:
        beam_current = check_positive_number(beam_current, name="beam_current")
        current_source = "given"
    flyback_time = check_positive_number(flyback_time, name="flyback_time", allow_zero=True)
    sampled = get_mask(signal)
    orders = np.atleast_2d(get_order(signal))
    n_rows, n_cols = sampled.shape[-2:]
    sampled = sampled.reshape(-1, n_rows, n_cols)
    n_frames = sampled.shape[0]
    if orders.shape[0] != n_frames:
        orders = np.broadcast_to(orders, (n_frames, orders.shape[1]))
    n_positions = n_frames * n_rows * n_cols
    n_visited = int(sampled.sum())
    rows_visited = int(sampled.any(axis=2).sum())
    full_time = n_positions * dwell_time + n_frames * n_rows * flyback_time
    sub_time = n_visited * dwell_time + rows_visited * flyback_time
    travel = 0.0
    for order in orders:
        order = order[order >= 0]
        r, c = np.divmod(order, n_cols)
        travel += float(np.hypot(np.diff(r), np.diff(c)).sum())
    full_travel = n_frames * float(n_rows * (n_cols - 1) + (n_rows - 1) * np.hypot(1, n_cols - 1))
    electrons = None if beam_current is None else beam_current * dwell_time / _ELEMENTARY_CHARGE
    return AcquisitionReport(
        n_frames=n_frames,
        n_positions=n_positions,
        n_visited=n_visited,
        fraction=n_visited / n_positions,
        full_time=full_time,
        subsampled_time=sub_time,
        speedup=full_time / sub_time,
        dose_reduction=n_positions / n_visited,
        electrons_per_position=electrons,
        total_electrons=None if electrons is None else electrons * n_visited,
        full_electrons=None if electrons is None else electrons * n_positions,
        beam_travel=travel,
        full_beam_travel=full_travel,
        dwell_time=dwell_time,
        dwell_time_source=dwell_source,
        beam_current=beam_current,
        beam_current_source=current_source,
    )
