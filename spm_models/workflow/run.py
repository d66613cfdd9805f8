"""One scenario, end to end, as a short sequence of named steps.

``run(scenario)``::

    data       load and validate the scenario's data         spm_models.data
    plans      read the comp plans (fails early)             spm_models.comp.roles
    forecast   fitted model → bookings(rep, period, draw)    spm_models.forecast (cached)
    quotas     quota(rep, period) and fairness               spm_models.planning
    comp       payouts of quota carriers and overlay roles   spm_models.comp.roles
    territory  balanced territories (``territory:`` section) spm_models.planning (cached)
    capacity   headcount and capacity (``capacity:``)        spm_models.planning
    summary    the decision figures                          spm_models.figures

The scenario cube (``rep × period × draw``) holds ``bookings``, ``quota``, ``payout`` (in the
last month of each payout period), ``target_incentive``, ``plan`` and, along
``history_period``, the actual ``history_bookings`` and ``history_quota``; overlay payouts as
``overlay_payout(overlay_rep, period, draw)``; territory variables along ``account`` and
capacity variables (see :mod:`spm_models.workflow.planning_steps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.atomic import atomic_write_text
from spm_models.comp import roles as comp_roles
from spm_models.cube import REP, write_cube
from spm_models.errors import InputError
from spm_models.provenance import hash_frames, provenance
from spm_models.scenario import Scenario, load_scenario, load_scenarios
from spm_models.workflow import forecast_step, planning_steps, summary as summary_mod
from spm_models.workflow.cache import Cache
from spm_models.workflow.paths import cache_dir, load_tables, resolve_data

HISTORY_PERIOD = "history_period"


@dataclass
class ScenarioResult:
    """What one scenario run produces (the report notebook renders it)."""

    scenario: Scenario
    cube: xr.Dataset
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(repr=False)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    fairness: pd.DataFrame | None = None
    #: ``planning.territory.TerritoryResult`` when the scenario has a ``territory`` section
    territory: Any | None = None
    #: ``planning.capacity`` simulation when the scenario has a ``capacity`` section
    capacity: xr.Dataset | None = None


def data_hash_of(tables: dict[str, pd.DataFrame]) -> str:
    """Content hash of the data tables (the synthetic ``truth`` table excluded)."""
    return hash_frames({k: v for k, v in tables.items() if k != "truth"})


def load_plans(scenario: Scenario) -> dict[str, Any]:
    """Role → validated comp plan of ``scenario`` (:func:`spm_models.comp.roles.load_plans`)."""
    return comp_roles.load_plans(scenario.plans, scenario.path)


def load_named(path: str | Path, name: str | None = None) -> Scenario:
    """The scenario ``name`` of a file (one of its sweep's expansions), or its only scenario.

    Raises :class:`InputError` naming the file and key ``name``/``sweep``."""
    scenarios = load_scenarios(path)
    if name is None:
        if len(scenarios) != 1:
            raise InputError(f"{path}, key 'sweep': expands to {len(scenarios)} scenarios; name one")
        return scenarios[0]
    for sc in scenarios:
        if sc.name == name:
            return sc
    raise InputError(f"{path}, key 'name': no scenario named {name!r} in this file")


def history_panel(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly actual bookings and quotas (rep × month frames, months as ``YYYY-MM``)."""
    b = tables["bookings"].copy()
    b["period"] = pd.to_datetime(b["date"]).dt.to_period("M").astype(str)
    booked = b.pivot_table(index="rep_id", columns="period", values="amount", aggfunc="sum",
                           fill_value=0.0)
    booked.index = booked.index.astype(str)
    if "quotas" in tables and len(tables["quotas"]):
        q = tables["quotas"].copy()
        q["period"] = q["period"].astype(str).str[:7]
        quota = q.pivot_table(index="rep_id", columns="period", values="quota", aggfunc="sum")
        quota.index = quota.index.astype(str)
    else:
        quota = pd.DataFrame(index=booked.index)
    return booked.sort_index(axis=1), quota.sort_index(axis=1)


def assemble_cube(bookings: xr.DataArray, quota: xr.DataArray, comp: xr.Dataset,
                  rinfo: pd.DataFrame, roles: np.ndarray, ti: xr.DataArray,
                  tables: dict[str, pd.DataFrame]) -> xr.Dataset:
    """The scenario cube: forecast, quotas, payouts and the actual history."""
    ds = xr.Dataset({"bookings": bookings, "quota": quota, "target_incentive": ti})
    for name in comp.data_vars:
        if name not in ds:
            ds[name] = comp[name]
    rep_ids = ds[REP].values
    for col in ("territory_id", "region"):
        if col in rinfo:
            ds = ds.assign_coords({col: (REP, rinfo[col].astype(str).values)})
    ds = ds.assign_coords(role=(REP, np.asarray(roles, dtype=str)))
    booked, hq = history_panel(tables)
    booked = booked.reindex(index=rep_ids).fillna(0.0)
    hperiods = [str(c) for c in booked.columns]
    ds["history_bookings"] = xr.DataArray(booked.values, dims=[REP, HISTORY_PERIOD],
                                          coords={REP: rep_ids, HISTORY_PERIOD: hperiods})
    hq = hq.reindex(index=rep_ids, columns=hperiods)
    ds["history_quota"] = xr.DataArray(hq.values.astype(float), dims=[REP, HISTORY_PERIOD],
                                       coords={REP: rep_ids, HISTORY_PERIOD: hperiods})
    return ds


def _overlay_variables(overlay: xr.Dataset) -> xr.Dataset:
    out = overlay.rename({"payout": "overlay_payout", "role": "overlay_role",
                          "region": "overlay_region"})
    return out.rename({REP: summary_mod.OVERLAY_REP})


def run(scenario: Scenario | str | Path, workbench: str | Path | None = None) -> ScenarioResult:
    """Run one scenario (a :class:`Scenario` or a scenario file without a sweep) in the
    workbench ``workbench`` (see :mod:`spm_models.workflow.paths`); see the module docstring
    for the steps. Raises :class:`InputError` (file and key named) on bad input."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    cache = Cache(cache_dir(workbench))
    # data
    tables = load_tables(resolve_data(scenario, workbench))
    data_hash = data_hash_of(tables)
    # plans (fail early on a broken plan, before the forecast)
    plans = load_plans(scenario)
    # forecast
    fcube, diag = forecast_step.forecast_cube(tables, scenario, data_hash, cache)
    bookings = fcube["bookings"]
    # quotas
    qds = planning_steps.set_quotas(scenario, fcube, tables)
    quota = qds["quota"]
    # comp
    reps = tables["reps"].copy()
    reps["rep_id"] = reps["rep_id"].astype(str)
    rep_ids = np.asarray(bookings[REP].values).astype(str)
    rinfo = reps.set_index("rep_id").reindex(rep_ids)
    roles = comp_roles.rep_roles(reps, rep_ids)
    ti = comp_roles.target_incentive_of(plans, reps, rep_ids, roles)
    comp = comp_roles.simulate_roles(plans, bookings, quota, ti, roles)
    cube = assemble_cube(bookings, quota, comp, rinfo, roles, ti, tables)
    overlay = comp_roles.overlay_payouts(
        plans, bookings, quota, reps, roles,
        np.asarray(cube["region"].values).astype(str) if "region" in cube.coords else None)
    if overlay is not None:
        cube = cube.merge(_overlay_variables(overlay))
    prov = provenance(scenario_hash=scenario.scenario_hash(), data_hash=data_hash,
                      seed=scenario.seed, scenario=scenario.name)
    prov.pop("created", None)
    # summary
    fairness, fair_figs = summary_mod.quota_fairness(quota, bookings, qds)
    summary = summary_mod.summarize(cube, scenario, data_hash, diag)
    summary["quota_fairness"] = fair_figs
    summary["quota_method"] = str(qds.attrs.get("quota_method",
                                                scenario.section("quota").get("method", "")))
    # territory
    terr = cap = None
    accounts = tables.get("accounts")
    if "territory" in scenario.spec and accounts is not None and len(accounts):
        section = scenario.section("territory")
        terr = planning_steps.balance_territories(section, accounts, data_hash, cache)
        cube = cube.merge(planning_steps.territory_variables(terr))
        summary["territory"] = planning_steps.territory_summary(terr, section)
    # capacity
    if "capacity" in scenario.spec:
        cap = planning_steps.run_capacity(scenario, fcube)
        cube = cube.merge(planning_steps.capacity_variables(cap, fcube))
        target = scenario.spec.get("target")
        summary["capacity"] = planning_steps.capacity_summary(
            cap, float(target) if target is not None else None)
    cube.attrs.update(prov)
    return ScenarioResult(scenario, cube, summary, tables, diag, fairness, terr, cap)


def run_scenario(scenario: Scenario | str | Path,
                 workbench: str | Path | None = None) -> tuple[xr.Dataset, dict[str, Any]]:
    """Run one scenario end to end; return its cube and ``summary.json`` figures."""
    res = run(scenario, workbench)
    return res.cube, res.summary


def write_outputs(result: ScenarioResult, summary_path: str | Path, cube_path: str | Path) -> None:
    """Write ``summary.json`` (atomic) and ``cube.zarr`` (with provenance)."""
    write_cube(result.cube, cube_path, provenance=result.cube.attrs)
    atomic_write_text(Path(summary_path), json.dumps(result.summary, indent=2, sort_keys=True))


def warm_forecast(scenario: Scenario, tables: dict[str, pd.DataFrame], data_hash: str,
                  workbench: str | Path | None = None) -> str:
    """Fill the cache with the scenario's forecast (``spm report`` does this once per distinct
    forecast before starting notebooks); returns the forecast's cache key."""
    forecast_step.forecast_cube(tables, scenario, data_hash, Cache(cache_dir(workbench)))
    return forecast_step.forecast_key(data_hash, scenario)


__all__ = ["ScenarioResult", "assemble_cube", "load_named", "load_plans", "run",
           "run_scenario", "warm_forecast", "write_outputs"]
