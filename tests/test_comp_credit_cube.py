"""Simulation with crediting: credit_cube on a simulated bookings cube (rep × period × draw)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from comp_helpers import MONTHS

from spm_models.comp import Plan, simulate_plan
from spm_models.comp.credit_cube import credit_cube, history_shares
from spm_models.errors import InputError

REPS = pd.DataFrame({"rep_id": ["A", "B", "C", "M", "D"],
                     "manager_id": ["M", "M", "D", "D", ""]})


def _cube(reps=("A", "B", "C"), draws=5, seed=0) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    return xr.DataArray(rng.gamma(2.0, 50000, size=(len(reps), 12, draws)),
                        dims=["rep", "period", "draw"],
                        coords={"rep": list(reps), "period": MONTHS})


def _plan(**credit) -> Plan:
    return Plan.from_dict({"name": "mgr", "plan_year_start": "2027-01",
                           "measures": [{"name": "team", "tiers": [{"rate": 0.05}],
                                         "credit": credit}]})


def test_rollup_credits_managers_with_their_team_per_draw() -> None:
    b = _cube()
    out = credit_cube(_plan(rollup=True), b, reps=REPS)
    assert out.dims == ("rep", "period", "draw", "measure")
    assert list(out["rep"].values) == ["A", "B", "C", "M", "D"]
    team = out.sel(measure="team", drop=True)
    xr.testing.assert_allclose(team.sel(rep="M", drop=True),
                               b.sel(rep="A", drop=True) + b.sel(rep="B", drop=True))
    xr.testing.assert_allclose(team.sel(rep="D", drop=True), b.sum("rep"))  # any depth
    xr.testing.assert_allclose(team.sel(rep=["A", "B", "C"]), b)  # own credits unchanged
    # without rollup, the credits are the bookings of the cube's reps
    plain = credit_cube(_plan(), b, reps=REPS).sel(measure="team", drop=True)
    np.testing.assert_array_equal(plain.values, b.values)


def test_rollup_on_dask_cube_matches_numpy() -> None:
    pytest.importorskip("dask")
    b = _cube(draws=12)
    ref = credit_cube(_plan(rollup=True), b, reps=REPS)
    lazy = credit_cube(_plan(rollup=True), b.chunk({"draw": 4, "rep": 1}), reps=REPS)
    assert lazy.chunks is not None
    xr.testing.assert_allclose(ref, lazy.compute())


def test_where_share_from_history_and_pooled_fallback() -> None:
    plan = Plan.from_dict({"name": "nb", "plan_year_start": "2027-01", "measures": [
        {"name": "new", "tiers": [{"rate": 0.1}], "credit": {"where": {"deal_type": ["new"]}}},
        {"name": "gm", "tiers": [{"rate": 0.1}], "credit": {"amount": "margin"}}]})
    history = pd.DataFrame({"rep_id": ["A", "A", "B"], "amount": ["300", "100", "200"],
                            "deal_type": ["new", "renewal", "renewal"],
                            "margin": ["150", "50", "20"]})
    sh = history_shares(plan, history)
    assert sh.sel(rep="A", measure="new") == 0.75 and sh.sel(rep="B", measure="new") == 0.0
    assert sh.sel(rep="A", measure="gm") == 0.5 and sh.sel(rep="B", measure="gm") == 0.1
    b = _cube()
    out = credit_cube(plan, b, history=history)
    xr.testing.assert_allclose(out.sel(rep="A", measure="new", drop=True), 0.75 * b.sel(rep="A", drop=True))
    # C has no history: the pooled share (300 of 600 new)
    xr.testing.assert_allclose(out.sel(rep="C", measure="new", drop=True), 0.5 * b.sel(rep="C", drop=True))
    # a forecast split along `measure` is used as it is
    split = xr.concat([b * 0.2, b * 0.3], dim="measure").assign_coords(measure=["new", "gm"])
    xr.testing.assert_allclose(credit_cube(plan, split).transpose(*split.dims), split)
    with pytest.raises(InputError, match="measures\\[0\\].credit"):
        credit_cube(plan, b)


def test_simulated_manager_plan_pays_on_team_bookings() -> None:
    b = _cube(draws=20)
    plan = _plan(rollup=True)
    credits = credit_cube(plan, b, reps=REPS)
    quotas = xr.DataArray(np.full((5, 12), 100000.0), dims=["rep", "period"],
                          coords={"rep": ["A", "B", "C", "M", "D"], "period": MONTHS})
    res = simulate_plan(plan, credits, quotas)
    year = res["payout"].sum("period")
    np.testing.assert_allclose(year.sel(rep="M").values,
                               0.05 * b.sel(rep=["A", "B"]).sum(["rep", "period"]).values)


def test_cycle_in_hierarchy_is_an_error() -> None:
    with pytest.raises(InputError, match="cycle"):
        credit_cube(_plan(rollup=True), _cube(), reps={"A": "B", "B": "A"})
