"""Slow test: the model recovers the demo organisation's generating parameters.

A moderately small organisation (60 seats, 3 years) with a short NUTS run; the full-size
case (200 reps, 4 x 1000 draws) is measured in benchmarks/bench_forecast_fit.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

MAIN = ("season_amp", "trend", "ramp_tau", "rep_sigma")


def _tables():
    try:
        from spm_models.data.demo import make_demo

        return make_demo(n_reps=60, years=3, seed=1)
    except ImportError:
        from test_forecast_model_sim import simulate_org

        return simulate_org(n_reps=60, years=3, seed=1)


@pytest.mark.slow
def test_recovery_90pct_intervals_cover_truth():
    from spm_models.forecast.model import BookingsForecast
    from spm_models.forecast.panel import monthly_panel

    tables = _tables()
    truth = dict(zip(tables["truth"]["parameter"], tables["truth"]["value"]))
    panel = monthly_panel(tables)
    m = BookingsForecast({"model": "deals", "rep_size_effects": False})
    m.fit(panel, method="nuts", draws=300, tune=300, chains=2, seed=0)
    post = m.posterior
    missed = []
    for name in MAIN:
        lo, hi = np.quantile(post[name].values.ravel(), [0.05, 0.95])
        if not lo <= truth[name] <= hi:
            missed.append(f"{name}: truth {truth[name]:.3g} outside [{lo:.3g}, {hi:.3g}]")
    assert not missed, missed
    assert m.diagnostics["rhat_max"] < 1.05
