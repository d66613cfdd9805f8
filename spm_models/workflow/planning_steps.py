"""The planning steps of a scenario run: quotas and territory balancing (capacity is read from
the scenario world, :mod:`spm_models.workflow.world_step`).

Each step calls the public API of :mod:`spm_models.planning`; the territory balancing is an
entry of the one cache (``territory/<key>``, keyed by the data hash, the ``territory`` section
and the solver's code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models import __version__
from spm_models.cube import PERIOD, REP
from spm_models.provenance import hash_file, hash_obj
from spm_models.scenario import Scenario
from spm_models.workflow.cache import Cache
from spm_models.workflow.forecast_step import jsonable

ACCOUNT = "account"
#: before/after figures of a territory alignment that go into ``summary["territory"]``
TERRITORY_FIGURES = ("cv_potential", "cv_workload", "max_min_potential", "max_min_workload",
                     "mean_distance_km", "weighted_distance_km", "max_p90_radius_km",
                     "median_p90_radius_km", "share_nearest_centre", "empty_territories")


def fig(v: Any, nd: int = 6) -> float | None:
    """``v`` as a rounded float, ``None`` when missing or not finite."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return round(v, nd) if np.isfinite(v) else None


# --------------------------------------------------------------------------- quotas
def quota_section(scenario: Scenario) -> dict[str, Any]:
    """The scenario's ``quota`` section as every command uses it (``spm report``, the notebooks
    and ``spm plan quotas --scenario``): as written, except that a ``top_down`` or
    ``equal_probability`` section giving neither ``target`` nor ``probability`` takes the
    scenario's top-level ``target`` (the company target). An explicit ``probability`` is never
    overridden by the top-level target."""
    cfg = dict(scenario.section("quota"))
    top = scenario.spec.get("target")
    if (top is not None and cfg.get("method") in ("top_down", "equal_probability")
            and "target" not in cfg and "probability" not in cfg):
        cfg["target"] = top
    return cfg


def set_quotas(scenario: Scenario, fcube: xr.Dataset,
               tables: dict[str, pd.DataFrame]) -> xr.Dataset:
    """Quota set of the scenario's ``quota`` section (``spm_models.planning.set_quotas``):
    ``quota(rep, period)`` monthly on the forecast's reps and months (0 where none), plus
    planning's scalar fairness figures."""
    from spm_models.planning.quota import set_quotas as planning_set_quotas

    out = planning_set_quotas(quota_section(scenario), fcube, tables)
    if isinstance(out, xr.DataArray):
        out = out.rename("quota").to_dataset()
    out["quota"] = out["quota"].reindex(rep=fcube[REP].values,
                                        period=fcube[PERIOD].values).fillna(0.0)
    return out


# --------------------------------------------------------------------------- territories
def territory_key(data_hash: str, section: dict[str, Any]) -> str:
    """Cache key of a territory balancing: data, the ``territory`` section, the solver's code."""
    from spm_models.planning import territory as terr

    return hash_obj({"data": data_hash, "territory": section, "v": __version__,
                     "code": hash_file(Path(terr.__file__))})


def balance_territories(section: dict[str, Any], accounts: pd.DataFrame, data_hash: str,
                        cache: Cache) -> Any:
    """``planning.balance_from_config(section, accounts)`` through the cache entry
    ``territory/<territory_key>`` (assignment, centres, before/after metrics)."""
    from spm_models.planning.territory import TerritoryResult, balance_from_config

    def build(folder: Path) -> Any:
        res = balance_from_config(section, accounts)
        res.assignment.to_parquet(folder / "assignment.parquet", index=False)
        res.centres.to_parquet(folder / "centres.parquet", index=False)
        (folder / "metrics.json").write_text(json.dumps(jsonable({
            "before": res.before, "after": res.after, "history": res.history,
            "settings": res.settings}), sort_keys=True))
        return res

    def load(folder: Path) -> Any:
        meta = json.loads((folder / "metrics.json").read_text())
        return TerritoryResult(pd.read_parquet(folder / "assignment.parquet"),
                               pd.read_parquet(folder / "centres.parquet"),
                               meta["before"], meta["after"], meta.get("history", []),
                               meta.get("settings", {}))

    return cache.get("territory", territory_key(data_hash, section), build, load)


def territory_variables(res: Any) -> xr.Dataset:
    """Variables along ``account``: ``territory_before``, ``territory_after``, ``potential``,
    ``workload``, ``lat``, ``lon`` (degrees), ``account_moved``."""
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


def _territory_figures(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: fig(metrics[k]) for k in TERRITORY_FIGURES if k in metrics}
    empty = out.get("empty_territories")
    if empty is not None:
        out["empty_territories"] = int(empty)
    return out


def _default_potential_tol() -> float:
    """The balancer's default ``potential_tol`` (``planning.territory.balance_territories``)."""
    import inspect

    from spm_models.planning import territory as terr

    return float(inspect.signature(terr.balance_territories).parameters["potential_tol"].default)


def territory_summary(res: Any, section: dict[str, Any]) -> dict[str, Any]:
    """``summary["territory"]``: before/after balance and compactness figures, accounts moved."""
    a = res.assignment
    return {
        "n_accounts": len(a),
        "n_territories": int(res.after.get("n_territories", len(res.centres))),
        "max_moved_share": fig(section.get("max_moved_share", 0.2)),
        "accounts_moved": int(a["moved"].sum()),
        "share_moved": fig(a["moved"].mean()),
        "before": _territory_figures(res.before),
        "after": _territory_figures(res.after),
        "balance_violation": fig(res.after.get("balance_violation")),
        "potential_tol": fig(section.get("potential_tol", _default_potential_tol())),
        "territories_outside_potential_band": (
            int(res.after["territories_outside_potential_band"])
            if res.after.get("territories_outside_potential_band") is not None else None),
    }
