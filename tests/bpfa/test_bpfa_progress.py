"""The run's progress bar: one bar whose ETA counts the kept sweeps' estimates."""

import io

import numpy as np
import pytest

from hyperspy_cs.bpfa._engine import bpfa
from hyperspy_cs.bpfa._progress import ESTIMATE_COST, SweepBar


def test_work_is_counted_in_sweeps_with_the_measured_cost_of_an_estimate():
    out = io.StringIO()
    with SweepBar(4, 2, disable=False, file=out) as bar:
        assert bar.bar.total == pytest.approx(4 + 2 * ESTIMATE_COST)
        bar.done(0, sweep_seconds=0.5)
        bar.done(1, sweep_seconds=0.5)
        assert bar.bar.n == pytest.approx(2)
        # the first estimate takes twice a sweep: the remaining work is 1 + 2 + (1 + 2)
        bar.done(2, sweep_seconds=0.5, estimate_seconds=1.0)
        assert bar.bar.total == pytest.approx(8)
        assert bar.bar.n == pytest.approx(5)
        bar.done(3, sweep_seconds=0.5, estimate_seconds=0.2)  # later ones are not re-measured
        assert bar.bar.n == bar.bar.total
    text = out.getvalue()
    assert "BPFA, sweep 4/4: 100%" in text
    assert "clamping" not in text


def test_a_run_shows_one_bar_that_ends_at_its_last_sweep(capsys):
    rng = np.random.default_rng(0)
    x = rng.random((1, 24, 24, 1))
    bpfa(x, rng.random(x.shape) < 0.3, patch_size=4, n_atoms=8, n_iter=5, burn_in=2,
         show_progressbar=True, seed=0)
    err = capsys.readouterr().err
    assert "BPFA, initialising" in err
    assert "BPFA, sweep 5/5: 100%" in err
    assert "sweep 6" not in err


def test_a_quiet_run_writes_nothing(capsys):
    rng = np.random.default_rng(0)
    x = rng.random((1, 24, 24, 1))
    bpfa(x, rng.random(x.shape) < 0.3, patch_size=4, n_atoms=8, n_iter=3, seed=0)
    assert capsys.readouterr().err == ""
