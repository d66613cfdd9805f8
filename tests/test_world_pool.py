"""Hires drawn from the forecast model's own posterior predictive (``future_reps``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_forecast_model_sim import simulate_org

from spm_models.errors import InputError
from spm_models.forecast.panel import monthly_panel
from spm_models.planning import roster as ros


@pytest.fixture(scope="module")
def fitted():
    from spm_models.forecast.model import BookingsForecast

    tables = simulate_org(n_reps=8, years=2, seed=3, n_regions=2, terr_per_region=2)
    m = BookingsForecast({"rep_size_effects": False})
    m.fit(monthly_panel(tables), method="fast", draws=200, seed=1, n_steps=1500)
    return m


@pytest.mark.slow
def test_pool_hires_follow_the_model_and_common_random_numbers(fitted):
    start = str(fitted.panel["period"].values[-1])
    start = str(pd.Period(start, "M") + 1)
    fc = fitted.forecast(start, 12, n_draws=150, seed=9)
    pool = ros.hire_pool_from_forecast(fitted, start, 12, 150, 9, slots_per_month=3, hiring_lag_months=1,
                                       regions=["R0", "R1"], weights=[1, 1])
    assert pool.sizes["rep"] == 3 * 11  # no hire can start in month 0 with a one-month lag
    small = ros.build_roster(fc, {start: 1}, hiring_lag_months=1, seed=2, hire_pool=pool)
    big = ros.build_roster(fc, [3] * 11 + [0], hiring_lag_months=1, seed=2, hire_pool=pool)
    assert small.attrs["hire_source"] == "forecast_pool"
    h = small["rep"].values[small["is_hire"].values][0]
    np.testing.assert_array_equal(small["bookings"].sel(rep=h).values, big["bookings"].sel(rep=h).values)
    assert np.all(small["bookings"].sel(rep=h).values[0] == 0)  # starts in month 1
    assert np.all(ros.revenue(big).values >= ros.revenue(small).values - 1e-6)
    # a pool hire ramps: its first month books less on average than its later months
    hb = big["bookings"].isel(rep=big["is_hire"].values).values
    first = hb[:3, 1].mean()
    assert first < hb[:3, 6:].mean()
    with pytest.raises(InputError, match="pool"):
        ros.build_roster(fc, [5] + [0] * 11, hiring_lag_months=1, seed=2, hire_pool=pool)
