"""Acquisition time, dose and beam travel of a sub-sampled scan against the full raster."""

from dataclasses import dataclass

import numpy as np

from ._metadata import get_mask, get_order
from ._validate import check_positive_number

__all__ = ["acquisition_report", "AcquisitionReport"]

_ELEMENTARY_CHARGE = 1.602176634e-19  # C


@dataclass(frozen=True)
class AcquisitionReport:
    """Time, dose and beam travel of a sub-sampled scan against the full raster.

    Times in seconds, travel in pixels, dose in electrons.
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

    def __str__(self):
        lines = [
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


def acquisition_report(signal, *, dwell_time, beam_current=None, flyback_time=0.0):
    """Acquisition time and dose saved by a sub-sampled scan.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        A sub-sampled signal (see :func:`subsample`).
    dwell_time : float
        Time per visited position, in seconds.
    beam_current : float, optional
        Probe current in amperes; adds electron counts to the report.
    flyback_time : float
        Time for the beam to return at the start of each scanned row, in
        seconds; counted once per row that has a visited position.

    Returns
    -------
    AcquisitionReport
        Printable; ``speedup`` is full time / sub-sampled time and
        ``dose_reduction`` the full scan's total dose over this one's (the same
        dose per visited position).
    """
    dwell_time = check_positive_number(dwell_time, name="dwell_time")
    beam_current = check_positive_number(beam_current, name="beam_current", allow_none=True)
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
    )
