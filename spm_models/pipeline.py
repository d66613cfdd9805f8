"""One scenario, end to end: data → forecast → quotas → comp simulation → cube + summary.

:func:`run_scenario` is what the report notebook, the ``spm report`` runner and the what-if
workbench call. Each step calls the public API of its area (``spm_models.data``,
``spm_models.forecast``, ``spm_models.planning``, ``spm_models.comp``); the expensive step,
the forecast, is cached on disk (``.spm_cache/`` or ``$SPM_CACHE_DIR``) keyed by the data hash,
the forecast config, the horizon, the number of draws and the seed, so scenarios on the same
data reuse it and a second report run skips it.

The scenario cube (``rep × period × draw``) holds ``bookings``, ``quota``, ``payout``
(in the last month of each payout period), ``target_incentive``, ``plan`` and, along ``history_period``, the actual ``history_bookings``
and ``history_quota``. With a ``territory`` section (and an ``accounts`` table) it also holds,
along ``account``, ``territory_before``, ``territory_after``, ``potential``, ``workload``,
``lat``, ``lon`` and ``account_moved`` (the balancing is cached like the forecast, keyed by the
data hash and the section); with a ``capacity`` section ``capacity``, ``capacity_headcount``,
``capacity_ramped_fte`` ``(period, draw)``, ``capacity_total(draw)`` and ``hires_opened``,
``hires_starting(period)``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models import __version__
from spm_models.atomic import atomic_write_text as _atomic_write_text
from spm_models.cube import DRAW, PERIOD, REP, read_cube, write_cube
from spm_models.errors import InputError
from spm_models.forecast.cache import model_code_hash
from spm_models.provenance import hash_file, hash_frames, hash_obj, provenance
from spm_models.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

#: Where 'data: demo' lives (the Makefile writes it there with ``spm data demo``).
DEFAULT_DEMO_PATH = Path("data/demo.duckdb")
#: On-disk cache of fitted forecasts and forecast cubes.
DEFAULT_CACHE_DIR = Path(".spm_cache")
HISTORY_PERIOD = "history_period"


# --------------------------------------------------------------------------- paths
def project_root(hint: str | Path | None = None) -> Path:
    """The workbench folder (holding ``scenarios/`` and ``notebooks/``): the current directory
    or one above it, else one above ``hint`` (a scenario file), else the current directory.

    Notebooks run with their own folder as working directory (JupyterLab, jupyter-scheduler),
    so relative defaults (``data/demo.duckdb``, ``.spm_cache``) are resolved against this.
    """
    starts = [Path.cwd().resolve()]
    if hint is not None:
        starts.append(Path(hint).resolve().parent)
    for start in starts:
        for d in (start, *start.parents):
            if (d / "scenarios").is_dir() and (d / "notebooks").is_dir():
                return d
    source_tree = Path(__file__).resolve().parents[1]  # an editable install's checkout
    if hint is None and (source_tree / "scenarios").is_dir() and (source_tree / "notebooks").is_dir():
        return source_tree
    return Path.cwd()


def resolve_path(path: str | Path) -> Path:
    """``path`` as given when it exists, else relative to the project folder or its
    ``notebooks/`` (so a notebook's default ``../scenarios/x.yaml`` also works when a
    scheduler runs a copy of the notebook in a staging folder)."""
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    root = project_root()
    for base in (root, root / "notebooks"):
        cand = (base / p).resolve()
        if cand.exists():
            return cand
    return p


def cache_dir(hint: str | Path | None = None) -> Path:
    """The forecast cache directory (``$SPM_CACHE_DIR`` or ``<project>/.spm_cache``)."""
    env = os.environ.get("SPM_CACHE_DIR")
    return Path(env) if env else project_root(hint) / DEFAULT_CACHE_DIR


def demo_path(hint: str | Path | None = None) -> Path:
    """Where ``data: demo`` resolves to (``$SPM_DEMO_DATA`` or ``<project>/data/demo.duckdb``)."""
    env = os.environ.get("SPM_DEMO_DATA")
    return Path(env) if env else project_root(hint) / DEFAULT_DEMO_PATH


def resolve_data(scenario: Scenario) -> str:
    """The data source of ``scenario``; ``demo`` becomes the demo DuckDB file (written if missing)."""
    if scenario.data != "demo":
        return scenario.data
    path = demo_path(scenario.path)
    if not path.exists():
        tables = _make_demo()
        _write_source(tables, path)
    return str(path)


# --------------------------------------------------------------------------- data area
def _make_demo(n_reps: int = 200, years: int = 3, seed: int = 0) -> dict[str, pd.DataFrame]:
    from spm_models.data import demo

    return demo.make_demo(n_reps=n_reps, years=years, seed=seed)


def _write_source(tables: dict[str, pd.DataFrame], out: Path) -> None:
    from spm_models.data import write_source

    out.parent.mkdir(parents=True, exist_ok=True)
    write_source(tables, out)


def write_demo(out: str | Path, n_reps: int = 200, years: int = 3, seed: int = 0) -> Path:
    """Write a demo organisation to ``out`` (a ``.duckdb`` file or a folder)."""
    out = Path(out)
    _write_source(_make_demo(n_reps, years, seed), out)
    return out


def load_tables(source: str) -> dict[str, pd.DataFrame]:
    """Validated tables of ``source`` (``spm_models.data.load_source``)."""
    from spm_models.data import load_source

    return load_source(source)


# --------------------------------------------------------------------------- results
@dataclass
class ScenarioResult:
    """What one scenario run produces (the notebook renders it)."""

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


# --------------------------------------------------------------------------- history
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


# --------------------------------------------------------------------------- forecast area
#: keys of the scenario's ``forecast`` section that are fit settings, not model config
FIT_KEYS = {"method": "method", "chains": "chains", "tune": "tune", "fit_draws": "draws",
            "sampler": "sampler", "n_steps": "n_steps", "attrition": None}


def forecast_config(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the forecast section into (model config, fit settings); default ``method: nuts``.

    ``method`` is ``nuts`` (full Bayesian fit, nutpie) or ``fast`` (ADVI); ``fit_draws``,
    ``chains``, ``tune``, ``sampler``, ``n_steps`` (ADVI), ``fit_seed`` (default 0, so scenarios that differ only
    in ``seed`` share one posterior) go to the fit; ``attrition`` to the forecast; other keys
    are model options (``spm_models.forecast.ForecastConfig``).
    """
    section = scenario.section("forecast")
    fit = {"method": "nuts", "seed": int(section.pop("fit_seed", 0))}
    cfg = {}
    for k, v in section.items():
        if k in FIT_KEYS:
            if FIT_KEYS[k]:
                fit[FIT_KEYS[k]] = v
        else:
            cfg[k] = v
    if fit["method"] == "full":
        fit["method"] = "nuts"
    return cfg, fit


def forecast_cache_key(data_hash: str, scenario: Scenario) -> str:
    """Cache key of a forecast cube: data, model config, fit, horizon, draws and seed."""
    cfg, fit = forecast_config(scenario)
    return hash_obj({"data": data_hash, "forecast": cfg, "fit": fit,
                     "attrition": scenario.section("forecast").get("attrition", False),
                     "horizon": _horizon(scenario), "draws": scenario.draws,
                     "seed": scenario.seed, "v": __version__, "code": model_code_hash()})


def _horizon(scenario: Scenario) -> dict[str, Any]:
    hz = scenario.horizon
    return {"start": str(hz.get("start", "2027-01")), "months": int(hz.get("months", 12))}


def _fit_and_forecast(tables: dict[str, pd.DataFrame], scenario: Scenario,
                      data_hash: str) -> tuple[xr.Dataset, dict[str, Any]]:
    """Posterior-predictive bookings ``(rep, period, draw)`` and fit diagnostics.

    The posterior comes from ``spm_models.forecast.fit_cached`` (cached on disk by the
    panel's content + model config + fit settings).
    """
    from spm_models.forecast import fit_cached, monthly_panel

    cfg, fit = forecast_config(scenario)
    hz = _horizon(scenario)
    panel = monthly_panel(tables)
    model = fit_cached(panel, cfg, cache_dir(scenario.path) / "fits", **fit)
    out = model.forecast(start=hz["start"], months=hz["months"], n_draws=scenario.draws,
                         seed=scenario.seed,
                         attrition=scenario.section("forecast").get("attrition", False))
    fcube = out if isinstance(out, xr.Dataset) else out.to_dataset(name="bookings")
    return fcube, _diagnostics_of(model)


def _diagnostics_of(model: Any) -> dict[str, Any]:
    diag = getattr(model, "diagnostics", None)
    if callable(diag):
        diag = diag()
    if diag is None:
        return {}
    if hasattr(diag, "to_dict") and not isinstance(diag, dict):
        diag = diag.to_dict()
    return _jsonable(dict(diag))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def forecast_cube(tables: dict[str, pd.DataFrame], scenario: Scenario,
                  data_hash: str) -> tuple[xr.Dataset, dict[str, Any]]:
    """The forecast cube of ``scenario``, from the on-disk cache when present."""
    key = forecast_cache_key(data_hash, scenario)
    root = cache_dir(scenario.path) / "forecast"
    store = root / f"{key}.zarr"
    meta = root / f"{key}.json"
    if store.exists() and meta.exists():
        try:
            return read_cube(store), json.loads(meta.read_text())
        except Exception:  # a corrupt cache entry is recomputed
            log.warning("forecast cache entry %s unreadable; refitting", store)
    fcube, diag = _fit_and_forecast(tables, scenario, data_hash)
    fcube = fcube[["bookings"]] if "bookings" in fcube else fcube
    root.mkdir(parents=True, exist_ok=True)
    write_cube(fcube, store, provenance={"data_hash": data_hash, "seed": scenario.seed})
    _atomic_write_text(meta, json.dumps(diag, sort_keys=True))
    return read_cube(store), diag


# --------------------------------------------------------------------------- planning area
def set_quotas(scenario: Scenario, fcube: xr.Dataset,
               tables: dict[str, pd.DataFrame]) -> xr.Dataset:
    """Quota set of the scenario's quota section (``spm_models.planning.quota.set_quotas``):
    ``quota(rep, period)`` monthly, plus planning's fairness figures when available."""
    from spm_models.planning.quota import set_quotas as planning_set_quotas

    out = planning_set_quotas(scenario.section("quota"), fcube, tables)
    if isinstance(out, xr.DataArray):
        out = out.rename("quota").to_dataset()
    out["quota"] = out["quota"].reindex(rep=fcube[REP].values,
                                        period=fcube[PERIOD].values).fillna(0.0)
    return out


def quota_fairness(quota: xr.DataArray, bookings: xr.DataArray,
                   qds: xr.Dataset | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-rep fairness (P(reach quota), quota ÷ forecast median) and the scalar figures.

    The scalars come from planning's ``set_quotas`` result when it carries them.
    """
    annual_b = bookings.sum(PERIOD)
    annual_q = quota.sum(PERIOD)
    reached = annual_b >= annual_q
    p_reach = reached.mean(DRAW)
    med = annual_b.median(DRAW)
    df = pd.DataFrame({
        "rep_id": [str(r) for r in quota[REP].values],
        "quota": annual_q.values,
        "forecast_p50": med.values,
        "p_reach_quota": p_reach.values,
    })
    df["quota_to_forecast"] = df["quota"] / df["forecast_p50"].where(df["forecast_p50"] > 0)
    p = df["p_reach_quota"].to_numpy()
    figs = {
        "p_reach_mean": float(p.mean()), "p_reach_sd": float(p.std()),
        "p_reach_min": float(p.min()), "p_reach_max": float(p.max()),
        "expected_share_at_quota": float(reached.mean(REP).mean()),
        "quota_to_median_mean": float(np.nanmean(df["quota_to_forecast"])),
    }
    if qds is not None:
        for name, var in qds.data_vars.items():
            if var.ndim == 0:
                figs[str(name)] = float(var)
    return df, {k: (round(v, 6) if np.isfinite(v) else None) for k, v in figs.items()}


# --------------------------------------------------------------------------- territories
#: before/after figures of a territory alignment that go into ``summary["territory"]``
TERRITORY_FIGURES = ("cv_potential", "cv_workload", "max_min_potential", "max_min_workload",
                     "mean_distance_km", "weighted_distance_km", "max_p90_radius_km",
                     "median_p90_radius_km", "share_nearest_centre", "empty_territories")
ACCOUNT = "account"


def territory_cache_key(data_hash: str, section: dict[str, Any]) -> str:
    """Cache key of a territory balancing: data, the ``territory`` section, the solver's code."""
    from spm_models.planning import territory as terr

    return hash_obj({"data": data_hash, "territory": section, "v": __version__,
                     "code": hash_file(Path(terr.__file__))})


def balance_territories_cached(section: dict[str, Any], accounts: pd.DataFrame, data_hash: str,
                               hint: str | Path | None = None) -> Any:
    """``planning.territory.balance_from_config(section, accounts)``, cached on disk.

    The result (assignment, centres, before/after metrics) is stored under
    ``<cache>/territory/<key>/`` keyed by :func:`territory_cache_key`, so scenarios on the same
    data with the same ``territory`` section share one run. A file lock makes concurrent report
    processes wait for the first one instead of balancing twice.
    """
    import fcntl

    from spm_models.planning.territory import TerritoryResult, balance_from_config

    key = territory_cache_key(data_hash, section)
    root = cache_dir(hint) / "territory"
    root.mkdir(parents=True, exist_ok=True)
    entry = root / key
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if entry.is_dir():
                try:
                    meta = json.loads((entry / "metrics.json").read_text())
                    return TerritoryResult(pd.read_parquet(entry / "assignment.parquet"),
                                           pd.read_parquet(entry / "centres.parquet"),
                                           meta["before"], meta["after"], meta.get("history", []),
                                           meta.get("settings", {}))
                except (OSError, ValueError, KeyError):  # a corrupt entry is recomputed
                    log.warning("territory cache entry %s unreadable; rebalancing", entry)
                    shutil.rmtree(entry, ignore_errors=True)
            res = balance_from_config(section, accounts)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
            res.assignment.to_parquet(tmp / "assignment.parquet", index=False)
            res.centres.to_parquet(tmp / "centres.parquet", index=False)
            (tmp / "metrics.json").write_text(json.dumps(_jsonable({
                "before": res.before, "after": res.after, "history": res.history,
                "settings": res.settings}), sort_keys=True))
            os.replace(tmp, entry)
            return res
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def territory_variables(res: Any) -> xr.Dataset:
    """Cube variables along ``account``: ``territory_before``, ``territory_after``,
    ``potential``, ``workload``, ``lat``, ``lon``, ``account_moved``."""
    a = res.assignment
    before = a["territory_id_before"] if a["territory_id_before"].notna().all() else a["territory_id"]
    coords = {ACCOUNT: a["account_id"].astype(str).to_numpy()}
    return xr.Dataset({
        "territory_before": (ACCOUNT, before.astype(str).to_numpy()),
        "territory_after": (ACCOUNT, a["territory_id"].astype(str).to_numpy()),
        "potential": (ACCOUNT, a["potential"].to_numpy(float)),
        "workload": (ACCOUNT, a["workload"].to_numpy(float)),
        "lat": (ACCOUNT, a["lat"].to_numpy(float)),
        "lon": (ACCOUNT, a["lon"].to_numpy(float)),
        "account_moved": (ACCOUNT, a["moved"].to_numpy(bool)),
    }, coords=coords)


def _fig(v: Any, nd: int = 6) -> float | None:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return round(v, nd) if np.isfinite(v) else None


def _territory_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {k: _fig(metrics[k]) for k in TERRITORY_FIGURES if k in metrics}
    if out.get("empty_territories") is not None:
        out["empty_territories"] = int(out["empty_territories"])
    return out


def territory_summary(res: Any, section: dict[str, Any]) -> dict[str, Any]:
    """``summary["territory"]``: before/after balance and compactness figures, accounts moved."""
    a = res.assignment
    return {
        "n_accounts": len(a),
        "n_territories": int(res.after.get("n_territories", len(res.centres))),
        "max_moved_share": _fig(section.get("max_moved_share", 0.2)),
        "accounts_moved": int(a["moved"].sum()),
        "share_moved": _fig(a["moved"].mean()),
        "before": _territory_figures(res.before),
        "after": _territory_figures(res.after),
        "balance_violation": _fig(res.after.get("balance_violation")),
        "territories_outside_potential_band": (
            int(res.after["territories_outside_potential_band"])
            if res.after.get("territories_outside_potential_band") is not None else None),
    }


# --------------------------------------------------------------------------- capacity
#: reps hired at least this many months before the horizon count as ramped for productivity
RAMPED_MONTHS = 12


def _months_between(start: str, months: np.ndarray) -> np.ndarray:
    s = pd.Period(start, freq="M")
    return np.array([(s - pd.Period(str(m), freq="M")).n if str(m) not in ("", "nan", "None") else 10_000
                     for m in months], dtype=float)


def capacity_section(scenario: Scenario, fcube: xr.Dataset) -> tuple[dict[str, Any], Any]:
    """The scenario's ``capacity`` section completed from the scenario and forecast cube, and
    the productivity per draw.

    Defaults: ``start``/``months`` from the horizon, ``headcount_now`` (and ``tenure_now``) from
    the AE reps of the forecast cube hired before the horizon start, ``n_draws`` and ``seed``
    from the scenario. With ``probability`` and no ``target`` the scenario's target is used
    (solve for the hiring plan); otherwise the section's ``hiring_plan`` (default none) is
    simulated. Productivity: the forecast's mean monthly bookings per ramped AE rep (hired
    ≥ 12 months before the start), per draw.
    """
    from spm_models.planning.capacity import productivity_from_forecast

    sec = scenario.section("capacity")
    hz = _horizon(scenario)
    sec.setdefault("start", hz["start"])
    sec.setdefault("months", hz["months"])
    roles = (np.asarray(fcube["role"].values).astype(str) if "role" in fcube.coords
             else np.array(["AE"] * fcube.sizes[REP]))
    tenure = (_months_between(str(sec["start"]), np.asarray(fcube["hire_month"].values))
              if "hire_month" in fcube.coords else np.full(fcube.sizes[REP], 10_000.0))
    active = (roles == "AE") & (tenure >= 0)
    if "headcount_now" not in sec:
        sec["headcount_now"] = int(active.sum())
        if "tenure_now" not in sec and "hire_month" in fcube.coords:
            sec["tenure_now"] = [float(t) for t in tenure[active]]
    sec.setdefault("n_draws", int(fcube.sizes[DRAW]))
    sec.setdefault("seed", scenario.seed)
    if "probability" in sec and "target" not in sec and scenario.spec.get("target") is not None:
        sec["target"] = float(scenario.spec["target"])
    ramped = active & (tenure >= RAMPED_MONTHS)
    sel = fcube if not ramped.any() else fcube.isel({REP: np.flatnonzero(ramped)})
    return sec, productivity_from_forecast(sel)


def run_capacity(scenario: Scenario, fcube: xr.Dataset) -> xr.Dataset:
    """``planning.capacity.capacity_from_config`` on the completed section (see
    :func:`capacity_section`): ``headcount``, ``ramped_fte``, ``capacity`` ``(period, draw)``,
    ``capacity_total(draw)``, ``hires_opened``/``hires_starting(period)``."""
    from spm_models.planning.capacity import capacity_from_config

    sec, prod = capacity_section(scenario, fcube)
    tenure_now = sec.pop("tenure_now", None)
    if tenure_now is not None:  # capacity_from_config has no tenure key: go through the kernels
        from spm_models.planning import capacity as cap
        from spm_models.planning._config import check_keys, raise_if

        cfg = dict(sec)
        raise_if(check_keys(cap.SECTION, cfg, cap._CONFIG_KEYS))
        cfg.pop("productivity", None)
        if "target" in cfg or "probability" in cfg:
            sol = cap.solve_hiring(cfg.pop("target", None), cfg.pop("probability", None),
                                   productivity=prod, tenure_now=tenure_now, **cfg)
            ds = sol.simulation.copy()
            ds.attrs.update(total_hires=sol.total_hires, probability_reached=sol.probability,
                            probability_one_fewer=sol.probability_one_fewer,
                            feasible=int(sol.feasible))
            return ds
        cfg.pop("schedule", None)
        cfg.pop("max_hires", None)
        return cap.simulate_capacity(productivity=prod, tenure_now=tenure_now, **cfg)
    return capacity_from_config(sec, productivity=prod)


def capacity_variables(cap: xr.Dataset, fcube: xr.Dataset) -> xr.Dataset:
    """Capacity results as cube variables ``capacity``, ``capacity_headcount``,
    ``capacity_ramped_fte`` ``(period, draw)``, ``capacity_total(draw)``, ``hires_opened``,
    ``hires_starting(period)``; along ``capacity_period`` when its months differ from the
    forecast's ``period``."""
    ds = cap.rename({"headcount": "capacity_headcount", "ramped_fte": "capacity_ramped_fte"})
    ds = ds.assign_coords({DRAW: fcube[DRAW].values[: ds.sizes[DRAW]]}) \
        if ds.sizes[DRAW] <= fcube.sizes[DRAW] else ds
    months = [str(p) for p in ds["period"].values]
    if months != [str(p) for p in fcube[PERIOD].values]:
        ds = ds.rename({"period": "capacity_period"})
    if ds.sizes[DRAW] != fcube.sizes[DRAW]:
        ds = ds.rename({DRAW: "capacity_draw"})
    ds.attrs = {}
    return ds


def capacity_summary(cap: xr.Dataset, target: float | None) -> dict[str, Any]:
    """``summary["capacity"]``: hires, probability of reaching the target, capacity and headcount."""
    a = cap.attrs
    total = cap["capacity_total"]
    head_end = cap["headcount"].isel(period=-1)
    hires = cap["hires_opened"].to_series()
    probability_reached = a.get("probability_reached")
    if probability_reached is None and target is not None:
        probability_reached = float((total >= target).mean())
    return {
        "mode": "solve" if "probability_target" in a or "feasible" in a else "simulate",
        "target": _fig(a.get("target", target), 2),
        "probability_target": _fig(a.get("probability_target")),
        "probability_reached": _fig(probability_reached),
        "probability_one_fewer": _fig(a.get("probability_one_fewer")),
        "feasible": bool(a["feasible"]) if "feasible" in a else None,
        "headcount_now": int(a.get("headcount_now", 0)),
        "total_hires": int(hires.sum()),
        "hiring_plan": {str(k): int(v) for k, v in hires.items() if int(v)},
        "attrition_monthly": _fig(a.get("attrition_monthly")),
        "hiring_lag_months": int(a.get("hiring_lag_months", 0)),
        "capacity": _q(total),
        "headcount_end": {k: round(v, 1) for k, v in _q(head_end).items()},
    }


# --------------------------------------------------------------------------- comp area
def load_plans(scenario: Scenario) -> dict[str, Any]:
    """Role → validated comp plan (``spm_models.comp.Plan.from_yaml``)."""
    from spm_models.comp import Plan

    plans = scenario.plans
    if not plans:
        raise InputError(f"{scenario.path}, key 'plans': the scenario names no comp plan")
    return {role: Plan.from_yaml(p) for role, p in plans.items()}


def plan_key(plans: dict[str, Any], role: str) -> str:
    """The plan of ``role``; reps whose role has no plan use ``default``/``AE``/the first plan."""
    for key in (role, "default", "AE"):
        if key in plans:
            return key
    return next(iter(plans))


def plan_for_role(plans: dict[str, Any], role: str) -> Any:
    return plans[plan_key(plans, role)]


def simulate_comp(plans: dict[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                  target_incentive: xr.DataArray, roles: np.ndarray) -> xr.Dataset:
    """Payouts ``(rep, period, draw)`` per role's plan through the comp engine.

    One engine (``spm_models.comp.compute_payouts``) with ``draw`` broadcast. Payouts land
    in the last month of each payout period (zero in other months), so plans with different
    payout frequencies share the monthly ``period`` axis. A plan with several measures is
    credited the rep's bookings (and quota) on each measure.
    """
    from spm_models.comp import compute_payouts

    keys = np.array([plan_key(plans, r) for r in roles])
    months = [str(p) for p in bookings[PERIOD].values]
    parts = []
    for key in dict.fromkeys(keys):
        sel = {REP: np.asarray(bookings[REP].values)[keys == key]}
        res = compute_payouts(plans[key], _with_measures(bookings.sel(sel), plans[key]),
                              _with_measures(quota.sel(sel), plans[key]),
                              target_incentive.sel(sel))
        part = xr.Dataset({
            "payout": res["payout"].reindex({PERIOD: months}, fill_value=0.0),
        })
        part["plan"] = xr.DataArray(np.array([key] * len(sel[REP])), dims=[REP],
                                    coords={REP: sel[REP]})
        parts.append(part.transpose(REP, PERIOD, DRAW, ...))
    out = xr.concat(parts, dim=REP) if len(parts) > 1 else parts[0]
    return out.reindex({REP: bookings[REP].values})


OVERLAY_REP = "overlay_rep"


def _with_measures(da: xr.DataArray, plan: Any) -> xr.DataArray:
    names = list(getattr(plan, "measure_names", []) or [])
    return da.expand_dims(measure=names) if len(names) > 1 else da


def overlay_comp(plans: dict[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                 reps: pd.DataFrame, cube_roles: np.ndarray,
                 region: np.ndarray | None = None) -> xr.Dataset | None:
    """Payouts of overlay roles: plan roles with no rep in the forecast (e.g. ``SE``).

    Each active overlay rep of such a role is credited an equal share of its region's forecast
    bookings (every draw) against the same share of the region's quotas, so its attainment is
    the region's attainment; a plan with several measures is credited that on each measure.
    Returns ``overlay_payout(overlay_rep, period, draw)`` or None when there is no overlay.
    """
    from spm_models.comp import compute_payouts

    if "role" not in reps or "region" not in reps:
        return None
    region = region if region is not None else np.asarray(bookings["region"].values).astype(str)
    plan_start = pd.Period(str(bookings[PERIOD].values[0]), freq="M").to_timestamp()
    plan_end = pd.Period(str(bookings[PERIOD].values[-1]), freq="M").to_timestamp("M")
    months = [str(p) for p in bookings[PERIOD].values]
    # region totals by a one-hot product (much faster than groupby on a large cube)
    names = np.unique(region)
    onehot = (region[None, :] == names[:, None]).astype(float)
    b_np = np.asarray(bookings.transpose(REP, PERIOD, DRAW).values)
    reg_b = xr.DataArray(np.tensordot(onehot, b_np, axes=(1, 0)), dims=["region", PERIOD, DRAW],
                         coords={"region": names, PERIOD: months,
                                 DRAW: bookings[DRAW].values})
    reg_q = xr.DataArray(onehot @ np.asarray(quota.transpose(REP, PERIOD).values),
                         dims=["region", PERIOD], coords={"region": names, PERIOD: months})
    parts = []
    for role, plan in plans.items():
        if role in set(cube_roles):
            continue
        sel = reps[reps["role"].astype(str) == role]
        if "term_date" in sel:
            term = pd.to_datetime(sel["term_date"], errors="coerce")
            sel = sel[term.isna() | (term >= plan_start)]
        if "hire_date" in sel:
            sel = sel[pd.to_datetime(sel["hire_date"], errors="coerce").fillna(plan_start) <= plan_end]
        sel = sel[sel["region"].astype(str).isin(set(map(str, reg_b["region"].values)))]
        if sel.empty:
            continue
        ids = sel["rep_id"].astype(str).to_numpy()
        regions = sel["region"].astype(str).to_numpy()
        share = 1.0 / pd.Series(regions).map(pd.Series(regions).value_counts()).to_numpy()
        shr = xr.DataArray(share, dims=[REP], coords={REP: ids})
        credits = reg_b.sel(region=xr.DataArray(regions, dims=[REP], coords={REP: ids})) * shr
        quotas = reg_q.sel(region=xr.DataArray(regions, dims=[REP], coords={REP: ids})) * shr
        credits, quotas = credits.drop_vars("region"), quotas.drop_vars("region")
        ti = xr.DataArray(sel["target_incentive"].astype(float).to_numpy()
                          if "target_incentive" in sel else np.full(len(ids), np.nan),
                          dims=[REP], coords={REP: ids})
        res = compute_payouts(plan, _with_measures(credits, plan), _with_measures(quotas, plan), ti)
        pay = res["payout"].reindex({PERIOD: months}, fill_value=0.0)
        part = xr.Dataset({"overlay_payout": pay.transpose(REP, PERIOD, DRAW)})
        part = part.assign_coords(overlay_role=(REP, [role] * len(ids)),
                                  overlay_region=(REP, regions))
        parts.append(part)
    if not parts:
        return None
    out = xr.concat(parts, dim=REP) if len(parts) > 1 else parts[0]
    return out.rename({REP: OVERLAY_REP})


def payout_totals(plans: dict[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                  target_incentive: xr.DataArray, roles: np.ndarray) -> np.ndarray:
    """Total plan-year payout per draw (the what-if fast path of :func:`simulate_comp`)."""
    from spm_models.comp import compute_payouts

    keys = np.array([plan_key(plans, r) for r in roles])
    total = np.zeros(bookings.sizes[DRAW])
    for key in dict.fromkeys(keys):
        idx = np.flatnonzero(keys == key)
        sel = {REP: idx}
        res = compute_payouts(plans[key], _with_measures(bookings.isel(sel), plans[key]),
                              _with_measures(quota.isel(sel), plans[key]),
                              target_incentive.isel(sel))
        pay = res["payout"].transpose(..., DRAW).values
        total += pay.reshape(-1, pay.shape[-1]).sum(axis=0)
    return total


def target_incentive_of(plans: dict[str, Any], reps: pd.DataFrame, rep_ids: np.ndarray,
                        roles: np.ndarray) -> xr.DataArray:
    """Each rep's annual target incentive: the reps table's value, else the plan's."""
    ti = pd.Series(np.nan, index=pd.Index(rep_ids, name=REP), dtype=float)
    if "target_incentive" in reps.columns:
        ti.update(reps.set_index(reps["rep_id"].astype(str))["target_incentive"].astype(float))
    for i, rid in enumerate(rep_ids):
        if not np.isfinite(ti.iloc[i]):
            ti.iloc[i] = float(getattr(plan_for_role(plans, roles[i]), "target_incentive", 0.0) or 0.0)
    return xr.DataArray(ti.values, dims=[REP], coords={REP: rep_ids})


# --------------------------------------------------------------------------- metrics
def _q(da: xr.DataArray, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> dict[str, float]:
    vals = np.quantile(np.asarray(da.values, dtype=float), qs)
    return {f"p{int(round(q * 100))}": round(float(v), 2) for q, v in zip(qs, vals, strict=True)}


def summarize(cube: xr.Dataset, scenario: Scenario, data_hash: str,
              diagnostics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The decision figures of a scenario cube (``summary.json``; no timestamps)."""
    revenue = cube["bookings"].sum([REP, PERIOD])
    cost = total_cost(cube)
    cos = cost / revenue.where(revenue != 0)
    annual_b = cube["bookings"].sum(PERIOD)
    annual_q = cube["quota"].sum(PERIOD)
    has_quota = annual_q > 0
    at_quota = ((annual_b >= annual_q) & has_quota).sum(REP) / max(int(has_quota.sum()), 1)
    target = scenario.spec.get("target")
    budget = scenario.spec.get("budget")
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "title": scenario.title,
        "horizon": _horizon(scenario),
        "n_reps": int(cube.sizes[REP]),
        "n_draws": int(cube.sizes[DRAW]),
        "revenue": _q(revenue),
        "incentive_cost": _q(cost),
        "incentive_cost_by_plan": cost_by_plan(cube),
        "cost_of_sales": {"p50": round(float(np.nanmedian(cos.values)), 6)},
        "prob_company_target": (round(float((revenue >= float(target)).mean()), 6)
                                if target is not None else None),
        "company_target": float(target) if target is not None else None,
        "share_reps_at_quota": {"p50": round(float(np.median(at_quota.values)), 6),
                                "mean": round(float(np.mean(at_quota.values)), 6)},
        "total_quota": round(float(annual_q.sum()), 2),
        "budget": float(budget) if budget is not None else None,
        "prob_cost_over_budget": (round(float((cost > float(budget)).mean()), 6)
                                  if budget is not None else None),
        "quarterly_revenue": _quarterly_quantiles(cube["bookings"]),
        "diagnostics": _jsonable(diagnostics or {}),
        "provenance": {
            "package_version": __version__,
            "scenario_hash": scenario.scenario_hash(),
            "data_hash": data_hash,
            "seed": scenario.seed,
        },
    }
    return summary


def total_cost(cube: xr.Dataset) -> xr.DataArray:
    """Plan-year incentive cost per draw: quota carriers' payouts plus overlay payouts."""
    cost = cube["payout"].sum([REP, PERIOD])
    if "overlay_payout" in cube:
        cost = cost + cube["overlay_payout"].sum([OVERLAY_REP, PERIOD])
    return cost


def cost_by_plan(cube: xr.Dataset) -> dict[str, dict[str, float]]:
    """Incentive cost P10/P50/P90 per plan role (``AE``, ``SE`` …)."""
    out = {}
    if "plan" in cube:
        for key in dict.fromkeys(map(str, cube["plan"].values)):
            mask = (cube["plan"] == key).values
            out[key] = _q(cube["payout"].isel(rep=mask).sum([REP, PERIOD]))
    if "overlay_payout" in cube:
        roles = np.asarray(cube["overlay_role"].values).astype(str)
        for key in dict.fromkeys(roles):
            out[key] = _q(cube["overlay_payout"].isel({OVERLAY_REP: roles == key})
                          .sum([OVERLAY_REP, PERIOD]))
    return out


def _quarterly_quantiles(bookings: xr.DataArray) -> list[dict[str, Any]]:
    company = bookings.sum(REP)
    quarters = [str(pd.Period(p, freq="M").asfreq("Q")) for p in company[PERIOD].values]
    by_q = company.groupby(xr.DataArray(quarters, dims=[PERIOD], name="quarter")).sum(PERIOD)
    out = []
    for qlabel in by_q["quarter"].values:
        row = {"quarter": str(qlabel)}
        row.update(_q(by_q.sel(quarter=qlabel), (0.1, 0.25, 0.5, 0.75, 0.9)))
        out.append(row)
    return out


# --------------------------------------------------------------------------- run
def load_named(path: str | Path, name: str | None = None) -> Scenario:
    """The scenario ``name`` of a file (one of its sweep's expansions), or its only scenario."""
    from spm_models.scenario import load_scenarios

    path = resolve_path(path)
    scenarios = load_scenarios(path)
    if name is None:
        if len(scenarios) != 1:
            raise InputError(f"{path}, key 'sweep': expands to {len(scenarios)} scenarios; name one")
        return scenarios[0]
    for sc in scenarios:
        if sc.name == name:
            return sc
    raise InputError(f"{path}, key 'name': no scenario named {name!r} in this file")


def run_scenario(scenario: Scenario | str | Path) -> tuple[xr.Dataset, dict[str, Any]]:
    """Run one scenario end to end; return its cube and summary (see :func:`run`)."""
    res = run(scenario)
    return res.cube, res.summary


def run(scenario: Scenario | str | Path) -> ScenarioResult:
    """Run one scenario: data → cached forecast → quotas → comp simulation → cube + summary,
    plus (cached) territory balancing and capacity planning when the scenario has ``territory``
    / ``capacity`` sections (cube variables along ``account``; ``capacity(period, draw)``)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    source = resolve_data(scenario)
    tables = load_tables(source)
    data_hash = hash_frames({k: v for k, v in tables.items() if k != "truth"})
    plans = load_plans(scenario)  # fail early on a broken plan, before the forecast
    fcube, diag = forecast_cube(tables, scenario, data_hash)
    bookings = fcube["bookings"]
    qds = set_quotas(scenario, fcube, tables)
    quota = qds["quota"]
    reps = tables["reps"].copy()
    reps["rep_id"] = reps["rep_id"].astype(str)
    rep_ids = np.asarray(bookings[REP].values).astype(str)
    rinfo = reps.set_index("rep_id").reindex(rep_ids)
    roles = (rinfo["role"].fillna("AE").astype(str).values if "role" in rinfo
             else np.array(["AE"] * len(rep_ids)))
    ti = target_incentive_of(plans, reps, rep_ids, roles)
    comp = simulate_comp(plans, bookings, quota, ti, roles)
    cube = assemble_cube(bookings, quota, comp, rinfo, roles, ti, tables)
    overlay = overlay_comp(plans, bookings, quota, reps, roles,
                           np.asarray(cube["region"].values).astype(str) if "region" in cube.coords
                           else None)
    if overlay is not None:
        cube = cube.merge(overlay)
    prov = provenance(scenario_hash=scenario.scenario_hash(), data_hash=data_hash,
                      seed=scenario.seed, scenario=scenario.name)
    prov.pop("created", None)
    cube.attrs.update(prov)
    fairness, fair_figs = quota_fairness(quota, bookings, qds)
    summary = summarize(cube, scenario, data_hash, diag)
    summary["quota_fairness"] = fair_figs
    summary["quota_method"] = str(qds.attrs.get("quota_method", scenario.section("quota").get("method", "")))
    terr = cap = None
    accounts = tables.get("accounts")
    if "territory" in scenario.spec and accounts is not None and len(accounts):
        section = scenario.section("territory")
        terr = balance_territories_cached(section, accounts, data_hash, scenario.path)
        cube = cube.merge(territory_variables(terr))
        summary["territory"] = territory_summary(terr, section)
    if "capacity" in scenario.spec:
        cap = run_capacity(scenario, fcube)
        cube = cube.merge(capacity_variables(cap, fcube))
        target = scenario.spec.get("target")
        summary["capacity"] = capacity_summary(cap, float(target) if target is not None else None)
    cube.attrs.update(prov)
    return ScenarioResult(scenario, cube, summary, tables, diag, fairness, terr, cap)


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


def write_outputs(result: ScenarioResult, summary_path: str | Path, cube_path: str | Path) -> None:
    """Write ``summary.json`` (atomic) and ``cube.zarr`` (with provenance)."""
    write_cube(result.cube, cube_path, provenance=result.cube.attrs)
    _atomic_write_text(Path(summary_path), json.dumps(result.summary, indent=2, sort_keys=True))


def data_fingerprint(scenario: Scenario) -> str:
    """Hash of the scenario's data as stored (file bytes, or folder of files) — for approvals."""
    source = scenario.data
    if source == "demo":
        source = str(demo_path(scenario.path))
    p = Path(source)
    if p.is_file():
        return hash_file(p)
    if p.is_dir():
        return hash_obj({f.name: hash_file(f) for f in sorted(p.iterdir()) if f.is_file()})
    return hash_obj(source)


def clear_cache() -> None:
    """Remove the forecast cache."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
