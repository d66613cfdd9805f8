"""One scenario, end to end, as a short sequence of named steps.

``run(scenario)``::

    data         load and validate the scenario's data           spm_models.data
    plans        read the comp plans (fails early)               spm_models.comp.roles
    forecast     fitted model → bookings(rep, period, draw) of   spm_models.forecast (cached)
                 today's reps (no attrition of its own)
    adjustments  approved manager adjustments of the draws       spm_models.distribution
    territory    balanced territories (``territory:`` section)   spm_models.planning (cached)
    world        territory → roster (leavers, hires on           spm_models.planning.scenario_world
                 ``capacity.hire_plan``) → quotas → response →
                 pay; the capacity solve, hiring curve, bridge
    overlay      managers' and overlays' payouts, credited by     spm_models.comp.roles
                 their plans' rollup on the world's bookings
    pipeline     in-quarter outlook (win model on the open       spm_models.workflow.pipeline_step
                 pipeline) and KPIs as of the data's end          (cached)
    summary      the decision figures, all read from the world   spm_models.figures

The result is an :class:`xarray.DataTree` (:func:`assemble_tree`) with groups ``/forecast``,
``/comp``, ``/history`` and, when the scenario has them, ``/overlay``, ``/territory`` and
``/capacity`` (and ``/pipeline``, ``/pipeline_kpis``: the in-quarter outlook and KPIs) — each
with its own dimensions (see :data:`spm_models.cube.TREE_GROUPS`) — and the provenance in the root attributes. ``result.cube`` is the ``rep × period × draw`` view
(``/forecast`` + ``/comp``) of the scenario's world (``docs/scenario_world.md``): today's reps
then the hires (``is_hire``, ``hire_month``), ``bookings`` (zero when inactive),
``potential_bookings``, ``active``, ``quota``, ``payout`` (in the last month of each payout
period, zero from a leaver's leave month), ``target_incentive``, ``plan``.
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
from spm_models.cube import PERIOD, REP, cube_view, write_tree
from spm_models.errors import InputError
from spm_models.provenance import hash_frames, provenance
from spm_models.scenario import Scenario, load_scenario, load_scenarios
from spm_models.workflow import adjust_step, forecast_step, planning_steps, world_step
from spm_models.workflow import summary as summary_mod
from spm_models.workflow.cache import Cache
from spm_models.workflow.forecast_step import jsonable
from spm_models.workflow.paths import cache_dir, load_tables, resolve_data


@dataclass
class ScenarioResult:
    """What one scenario run produces (the report notebook renders it)."""

    scenario: Scenario
    #: the result tree (groups in :data:`spm_models.cube.TREE_GROUPS`)
    tree: xr.DataTree
    summary: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(repr=False)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    fairness: pd.DataFrame | None = None
    #: ``planning.territory.TerritoryResult`` when the scenario has a ``territory`` section
    territory: Any | None = None
    #: ``planning.capacity`` simulation when the scenario has a ``capacity`` section
    capacity: xr.Dataset | None = None
    #: ``planning.scenario_world.WorldResult``: the world every figure is read from, its
    #: hiring curve (what-if panel) and bridge
    world: Any | None = None

    @property
    def cube(self) -> xr.Dataset:
        """The ``rep × period × draw`` view of :attr:`tree` (``/forecast`` + ``/comp``)."""
        return cube_view(self.tree)


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


def assemble_tree(forecast: xr.Dataset, quota: xr.DataArray, comp: xr.Dataset,
                  rinfo: pd.DataFrame, roles: np.ndarray, ti: xr.DataArray,
                  tables: dict[str, pd.DataFrame], overlay: xr.Dataset | None = None,
                  territory: xr.Dataset | None = None, capacity: xr.Dataset | None = None,
                  attrs: dict[str, Any] | None = None) -> xr.DataTree:
    """The scenario result tree (groups in :data:`spm_models.cube.TREE_GROUPS`).

    ``/forecast`` holds the forecast cube as given (``bookings(rep, period, draw)``);
    ``/comp`` the quotas, target incentives, payouts and paying plan of the quota carriers,
    with ``role``, ``region`` and ``territory_id`` along ``rep``; ``/history`` the actual
    ``bookings`` and ``quota`` over the history months; ``/overlay``, ``/territory`` and
    ``/capacity`` when given. ``attrs`` (provenance) go to the root.
    """
    rep_ids = np.asarray(forecast[REP].values)
    cds = xr.Dataset({"quota": quota, "target_incentive": ti})
    for name in comp.data_vars:
        if name not in cds:
            cds[name] = comp[name]
    cds = cds.drop_vars([c for c in cds.coords if c not in cds.dims])
    for col in ("territory_id", "region"):
        if col in rinfo:
            cds = cds.assign_coords({col: (REP, rinfo[col].astype(str).values)})
    cds = cds.assign_coords(role=(REP, np.asarray(roles, dtype=str)))
    booked, hq = history_panel(tables)
    booked = booked.reindex(index=rep_ids).fillna(0.0)
    hperiods = [str(c) for c in booked.columns]
    hq = hq.reindex(index=rep_ids, columns=hperiods)
    history = xr.Dataset({"bookings": ((REP, PERIOD), booked.values),
                          "quota": ((REP, PERIOD), hq.values.astype(float))},
                         coords={REP: rep_ids, PERIOD: hperiods})
    nodes: dict[str, xr.Dataset] = {"/": xr.Dataset(attrs=dict(attrs or {})),
                                    "/forecast": forecast, "/comp": cds, "/history": history}
    for name, ds in (("overlay", overlay), ("territory", territory), ("capacity", capacity)):
        if ds is not None:
            nodes[f"/{name}"] = ds
    return xr.DataTree.from_dict(nodes)


def _check_horizon(plans: dict[str, Any], scenario: Scenario) -> None:
    """The forecast horizon covers every plan's plan year (the world pays a whole plan year);
    else :class:`InputError` naming the scenario's ``horizon`` and each plan, before the fit."""
    hz = forecast_step.horizon(scenario)
    start = pd.Period(hz["start"], "M")
    have = {str(start + i) for i in range(hz["months"])}
    last = start + hz["months"] - 1
    problems = [f"{scenario.path or scenario.name}, key 'horizon': {start}..{last} does not "
                f"cover the plan year {p.months[0]}..{p.months[-1]} of plans.{role} ({p.source}); "
                f"set horizon.start to {p.months[0]} and horizon.months to at least 12"
                for role, p in plans.items() if not set(p.months) <= have]
    if problems:
        raise InputError(problems)


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
    # plans (fail early on a broken plan, or one whose credit rules name columns the data
    # lacks, before the forecast)
    plans = load_plans(scenario)
    from spm_models.comp.credit_cube import check_plan_columns

    check_plan_columns(plans, tables["bookings"], where=str(scenario.path or scenario.name),
                       data=f"data '{scenario.spec.get('data', 'demo')}' bookings")
    _check_horizon(plans, scenario)
    cap = scenario.spec.get("capacity") or {}
    comp_roles.check_plan_roles(plans, tables.get("reps"), where=str(scenario.path or scenario.name),
                                extra=(str(cap.get("hire_plan") or ""), str(cap.get("hire_role") or "")))
    # forecast
    fcube0, diag = forecast_step.forecast_cube(tables, scenario, data_hash, cache)
    # approved manager adjustments of the forecast draws (docs/distribution.md)
    adjs = adjust_step.load(scenario)
    fcube = adjust_step.adjust_forecast(fcube0, adjs, scenario.seed)
    # quotas (fairness of today's reps; the world sets the same quotas on its plan-day roster)
    qds = planning_steps.set_quotas(scenario, fcube, tables)
    # territory
    terr = None
    tgroup = None
    accounts = tables.get("accounts")
    if "territory" in scenario.spec and accounts is not None and len(accounts):
        terr = planning_steps.balance_territories(scenario.section("territory"), accounts,
                                                  data_hash, cache)
        tgroup = adjust_step.adjust_territory(planning_steps.territory_variables(terr), adjs)
    # world: territory → roster (attrition, hires) → quotas → response → pay, one array
    wres = world_step.build_world(scenario, fcube, tables, plans, terr)
    world = wres.world = adjust_step.adjust_quotas(wres.world, plans, adjs, tables)
    fgroup = world_step.forecast_group(world, fcube)
    wcomp = world_step.comp_frame(world)
    bookings, quota = fgroup["bookings"], wcomp["quota"]
    rep_ids = np.asarray(bookings[REP].values).astype(str)
    rinfo = pd.DataFrame({"region": world["region"].values.astype(str),
                          "territory_id": world["territory_id"].values.astype(str)}, index=rep_ids)
    roles = np.asarray(world["role"].values).astype(str)
    comp = wcomp[["payout", "plan"]]
    overlay = world_step.overlay_group(world, tables, plans)
    # capacity: from the world (the solved plan's probability is read on its revenue)
    cap = world_step.capacity_group(wres) if "capacity" in scenario.spec else None
    prov = provenance(scenario_hash=scenario.scenario_hash(), data_hash=data_hash,
                      seed=scenario.seed, scenario=scenario.name)
    prov.pop("created", None)
    tree = assemble_tree(fgroup, quota, comp, rinfo, roles, wcomp["target_incentive"], tables,
                         overlay, tgroup, cap, prov)
    # summary
    fairness, fair_figs = summary_mod.quota_fairness(qds["quota"], fcube["bookings"], qds)
    summary = summary_mod.summarize(tree, scenario, data_hash, diag)
    summary["quota_fairness"] = fair_figs
    from spm_models.data import data_warnings

    if data_warnings(tables):  # repeated booking rows, files of the folder not used
        summary["data_warnings"] = data_warnings(tables)
    summary["quota_method"] = str(qds.attrs.get("quota_method",
                                                scenario.section("quota").get("method", "")))
    if terr is not None:
        summary["territory"] = planning_steps.territory_summary(terr, scenario.section("territory"))
    if cap is not None:
        target = scenario.spec.get("target")
        summary["capacity"] = world_step.capacity_summary(
            wres, cap, float(target) if target is not None else None,
            scenario.section("capacity").get("probability"))
    summary["world"] = {"levers": list(wres.levers), **wres.figures["roster"],
                        "hire_source": str(world.attrs.get("hire_source", ""))}
    if "territory_effect" in wres.figures:
        summary["world"]["territory_effect"] = jsonable(wres.figures["territory_effect"])
    summary["bridge"] = world_step.bridge_summary(wres)
    if adjs:
        summary["adjustments"] = jsonable(adjust_step.summary(adjs, fcube0, world, plans, scenario.seed))
    # pipeline: in-quarter outlook and KPIs of the data (cached; workflow/pipeline_step.py)
    from spm_models.workflow import pipeline_step

    pq, pk, summary["pipeline"] = pipeline_step.outlook(
        tables, scenario, data_hash, cache, fcube0, forecast_step.forecast_key(data_hash, scenario))
    wq = pipeline_step.world_quarter(summary["pipeline"], bookings, fcube["bookings"], wres.levers)
    if wq is not None:
        summary["pipeline"]["world_quarter"] = wq
    tree = pipeline_step.attach(tree, pq, pk)
    return ScenarioResult(scenario, tree, summary, tables, diag, fairness, terr, cap, wres)


def run_scenario(scenario: Scenario | str | Path,
                 workbench: str | Path | None = None) -> tuple[xr.DataTree, dict[str, Any]]:
    """Run one scenario end to end; return its result tree and ``summary.json`` figures."""
    res = run(scenario, workbench)
    return res.tree, res.summary


def write_outputs(result: ScenarioResult, summary_path: str | Path, cube_path: str | Path) -> None:
    """Write ``summary.json`` (atomic) and ``cube.zarr`` (the result tree, provenance at the
    root; read it back with :func:`spm_models.cube.read_tree`)."""
    write_tree(result.tree, cube_path)
    atomic_write_text(Path(summary_path), json.dumps(result.summary, indent=2, sort_keys=True))


def warm_forecast(scenario: Scenario, tables: dict[str, pd.DataFrame], data_hash: str,
                  workbench: str | Path | None = None) -> str:
    """Fill the cache with the scenario's forecast (``spm report`` does this once per distinct
    forecast before starting notebooks); returns the forecast's cache key."""
    forecast_step.forecast_cube(tables, scenario, data_hash, Cache(cache_dir(workbench)))
    return forecast_step.forecast_key(data_hash, scenario)


__all__ = ["ScenarioResult", "assemble_tree", "load_named", "load_plans", "run",
           "run_scenario", "warm_forecast", "write_outputs"]
