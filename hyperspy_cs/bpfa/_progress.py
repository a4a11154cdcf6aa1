"""The progress bar of a BPFA run: one tqdm bar whose ETA counts what each sweep costs.

The sweeps after the burn-in that are kept also compute an estimate (the robust
average of the patch estimates), which costs a third to two thirds of a sweep on the
sweep benchmark's cases. A bar counting sweeps would show an ETA that is too short
until the kept sweeps start; this one counts work in sweeps, a kept sweep being
``1 + e`` with ``e`` the estimate's time over the sweep's, measured on the first kept
sweep (:data:`ESTIMATE_COST` until then).
"""

from tqdm.auto import tqdm

__all__ = ["ESTIMATE_COST", "SweepBar"]

# Time of an estimate over that of a sweep, until one has been measured: the middle of
# the 0.3-0.6 that benchmarks/bench_bpfa_sweep.py measures.
ESTIMATE_COST = 0.4
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]"


class SweepBar:
    """Progress of ``n_iter`` sweeps, ``n_kept`` of which compute an estimate.

    Parameters
    ----------
    n_iter, n_kept : int
    disable : bool
        No bar (and no output) when True.
    file : file-like, optional
        Where the bar is written (tqdm's default, standard error, if None).
    """

    def __init__(self, n_iter, n_kept, *, disable, file=None):
        self.n_iter = n_iter
        self.n_kept = n_kept
        self.estimate_cost = ESTIMATE_COST
        self._measured = False
        self.bar = tqdm(total=self._total(), disable=disable, desc="BPFA, initialising",
                        file=file, bar_format=_FORMAT)

    def _total(self):
        return self.n_iter + self.n_kept * self.estimate_cost

    def done(self, t, *, sweep_seconds, estimate_seconds=None):
        """Sweep ``t`` (0-based) took ``sweep_seconds``, and its estimate ``estimate_seconds``."""
        units = 1.0
        if estimate_seconds is not None:
            if not self._measured:
                self._measured = True
                self.estimate_cost = estimate_seconds / max(sweep_seconds, 1e-9)
                self.bar.total = self._total()
            units += self.estimate_cost
        if t + 1 == self.n_iter:  # no round-off past the end
            units = self.bar.total - self.bar.n
        self.bar.set_description_str(f"BPFA, sweep {t + 1}/{self.n_iter}", refresh=False)
        self.bar.update(units)

    def close(self):
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
