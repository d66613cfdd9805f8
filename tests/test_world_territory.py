"""Territories reach bookings: potential elasticity and the transition loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from world_helpers import forecast_cube, plans

from spm_models.errors import InputError
from spm_models.planning import territory_effect as te
from spm_models.planning.world import WorldInputs, revenue, simulate_world


@pytest.fixture(scope="module")
def fc():
    return forecast_cube(n_reps=30, n_draws=300)


def alignment(fc, swap: bool = True):
    """Two accounts of equal potential per territory; with ``swap`` every territory hands its
    second account to the next territory (each rep's potential is unchanged, half of it new)."""
    terr = fc["territory_id"].values.astype(str)
    rows = []
    for i, t in enumerate(terr):
        rows.append((f"A{i}a", 100.0, t, t))
        rows.append((f"A{i}b", 100.0, terr[(i + 1) % len(terr)] if swap else t, t))
    return pd.DataFrame(rows, columns=["account_id", "potential", "territory_id", "territory_id_before"])


def world(fc, assignment, loss, months=12, elasticity=0.8):
    rep_terr = pd.Series(fc["territory_id"].values.astype(str), index=fc["rep"].values.astype(str))
    pots = te.rep_potentials(assignment, rep_terr)
    beta = xr.DataArray(np.full(fc.sizes["draw"], elasticity), dims=("draw",))
    inp = WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6}, plans=plans(),
                      roster={"seed": 1}, territory_potentials=pots, elasticity=beta,
                      territory={"transition_loss": loss, "transition_months": months})
    return simulate_world(inp, levers={"territory"}), simulate_world(inp, levers=set())


def test_equal_potential_and_no_loss_leave_revenue_unchanged(fc):
    w, base = world(fc, alignment(fc), loss=0.0)
    r, r0 = revenue(w).values, revenue(base).values
    assert abs(np.median(r) / np.median(r0) - 1) < 1e-9  # identical draws: well inside MC error
    assert alignment(fc)["territory_id"].ne(alignment(fc)["territory_id_before"]).mean() == 0.5


def test_transition_loss_lowers_revenue_by_the_moved_share(fc):
    w, base = world(fc, alignment(fc), loss=0.2, months=6)
    ratio = np.median(revenue(w).values) / np.median(revenue(base).values)
    assert ratio < 0.99
    # half of every rep's potential moved in, 20 % lost for 6 of 12 months -> about 5 % lower
    assert 0.93 < ratio < 0.97
    w_no, _ = world(fc, alignment(fc, swap=False), loss=0.2)
    assert np.median(revenue(w_no).values) == pytest.approx(np.median(revenue(base).values))


def test_more_potential_raises_bookings_with_positive_elasticity():
    pots = pd.DataFrame({"potential_before": [100.0, 100.0, np.nan], "potential_after": [150.0, 100.0, np.nan],
                         "moved_in_share": [0.0, 0.0, np.nan]}, index=["a", "b", "hire-1"])
    beta = xr.DataArray([0.5, 1.0], dims=("draw",))
    f = te.potential_factor(pots, np.array(["a", "b", "hire-1"]), beta)
    np.testing.assert_allclose(f.values, [[1.5**0.5, 1.5], [1, 1], [1, 1]])


def test_elasticity_is_learnt_with_its_uncertainty():
    rng = np.random.default_rng(0)
    n = 300
    region = np.where(np.arange(n) % 3 == 0, "N", "S")
    pot = np.exp(rng.normal(0, 0.5, n))
    book = np.exp(0.3 * (region == "N") + 0.7 * np.log(pot) + rng.normal(0, 0.3, n))
    el = te.potential_elasticity(book, pot, 400, seed=1, region=region)
    lo, hi = np.quantile(el.values, [0.025, 0.975])
    assert lo < 0.7 < hi and hi - lo < 0.25
    assert abs(el.attrs["point"] - 0.7) < 0.1
    flat = te.potential_elasticity(np.exp(rng.normal(0, 0.3, n)), pot, 400, seed=1)
    assert np.quantile(flat.values, 0.025) < 0 < np.quantile(flat.values, 0.975)
    with pytest.raises(InputError, match="at least 5"):
        te.potential_elasticity(np.ones(3), np.ones(3), 10)


def test_transition_settings_defaults_and_errors():
    assert te.transition_settings(None) == {"transition_loss": 0.13, "transition_months": 12}
    with pytest.raises(InputError, match="transition_loss"):
        te.transition_settings({"transition_loss": 1.5})
    with pytest.raises(InputError, match="transition_months"):
        te.transition_settings({"transition_months": 2.5})
