"""The pipeline step: the in-quarter outlook and the pipeline KPIs of the scenario's data.

When the data source has an ``opportunities`` table (and the scenario does not switch the step
off with ``pipeline: {enabled: false}``), the step forecasts the bookings of the calendar
quarter holding the as-of date — by default the day after the data's last recorded date
(bookings, opportunity creations, stage changes), so every row of the data lies strictly before
it — with :func:`spm_models.forecast.quarter_outlook.quarter_outlook`, and computes the KPIs
(:func:`spm_models.kpis.kpis`, company and region, months before the as-of month). A source
without opportunities gets the bookings-model outlook and a note. The result is one entry of
the workflow's keyed cache (``pipeline/<key>``, keyed by the data hash, the settings and the
code of the pipeline modules), so scenarios on the same data share it and a second report run
does not refit the win model.

Outputs: the tree groups ``/pipeline`` (``bookings(rep, period, draw)``, ``closed(rep,
period)``, coord ``region(rep)``: the quarter's three months) and ``/pipeline_kpis``
(:data:`spm_models.kpis.KPIS` with dims ``id × period`` (all months before the as-of month) and ``level(id)`` = ``company`` /
``region``), and the ``summary["pipeline"]`` block (:func:`pipeline_block`).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models import __version__
from spm_models.cube import read_cube, write_cube
from spm_models.provenance import hash_obj
from spm_models.scenario import Scenario
from spm_models.workflow.cache import Cache
from spm_models.workflow.forecast_step import jsonable

#: Win-model settings of the workflow (fast: a report must stay quick; the command line and
#: the backtest use 250/250): NUTS draws and tuning steps per chain, chains, predictive draws
DEFAULTS: dict[str, Any] = {"draws": 150, "tune": 150, "chains": 2, "n_draws": 500}
#: Modules whose code changes invalidate the cached outlook
_CODE = ("forecast/quarter_outlook.py", "forecast/quarter.py", "forecast/win_model.py",
         "forecast/opportunities.py", "kpis.py", "workflow/pipeline_step.py")
#: KPI months kept in the summary's trends
TREND_MONTHS = 12


def settings(scenario: Scenario) -> dict[str, Any] | None:
    """The step's settings (:data:`DEFAULTS` overridden by the scenario's ``pipeline``
    section), or None when the section switches the step off."""
    sec = scenario.section("pipeline")
    if sec.pop("enabled", True) is False:
        return None
    out = dict(DEFAULTS)
    out.update({k: v for k, v in sec.items() if v is not None})
    return out


def data_end(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The data's last recorded date: bookings, opportunity creations and stage changes."""
    cols = (("bookings", "date"), ("opportunities", "created_date"), ("opportunity_history", "date"))
    last = [pd.to_datetime(tables[t][c]).max() for t, c in cols
            if t in tables and c in tables[t] and len(tables[t])]
    last = [x for x in last if pd.notna(x)]
    return max(last).normalize() if last else None


def as_of_date(tables: dict[str, pd.DataFrame], cfg: dict[str, Any]) -> str | None:
    """``YYYY-MM-DD`` of the outlook: ``cfg["as_of"]`` or the day after :func:`data_end`."""
    if cfg.get("as_of"):
        return str(cfg["as_of"])
    end = data_end(tables)
    return None if end is None else str((end + pd.Timedelta(days=1)).date())


def _code_hash() -> str:
    pkg = resources.files("spm_models")
    h = hashlib.sha256()
    for rel in _CODE:
        h.update((pkg / rel).read_bytes())
    return h.hexdigest()[:16]


def pipeline_key(data_hash: str, cfg: dict[str, Any], as_of: str, forecast_key: str = "") -> str:
    """Cache key of the outlook: data, settings, as-of date, package and code version (and the
    forecast's key when its draws are used)."""
    return hash_obj({"data": data_hash, "cfg": cfg, "as_of": as_of, "v": __version__,
                     "code": _code_hash(), "forecast": forecast_key})


def _kpi_group(tables: dict[str, pd.DataFrame], as_of: str) -> xr.Dataset | None:
    """Company and region KPIs stacked along ``id`` (coord ``level``), dims ``id × period``."""
    from spm_models.kpis import kpi_parts, kpis

    if "opportunities" not in tables or not len(tables["opportunities"]):
        return None
    parts = kpi_parts(tables, as_of)
    if not parts.sizes.get("period", 0) or not parts.sizes.get("rep", 0):
        return None
    levels = []
    for level in ("company", "region"):
        ds = kpis(tables, level, parts=parts)
        levels.append(ds.assign_coords(level=("id", [level] * ds.sizes["id"])))
    out = xr.concat(levels, "id")
    out["id"] = out["id"].astype(str)
    out.attrs = {}
    return out


def compute(tables: dict[str, pd.DataFrame], cfg: dict[str, Any], as_of: str,
            fcube: xr.DataArray | None = None,
            seed: int = 0) -> tuple[xr.Dataset, xr.Dataset | None, list[str]]:
    """The outlook ``(quarter, kpis, notes)`` for ``as_of`` (no cache; see :func:`outlook`).
    ``fcube``: the scenario's forecast ``bookings(rep, period, draw)``, used for the rest of
    the quarter when the pipeline cannot be (and it covers the quarter)."""
    from spm_models.forecast.quarter_outlook import quarter_outlook

    out = quarter_outlook(tables, as_of, n_draws=int(cfg["n_draws"]), seed=seed,
                          draws=int(cfg["draws"]), tune=int(cfg["tune"]),
                          chains=int(cfg["chains"]), bookings_cube=fcube)
    quarter = out.quarter
    quarter.attrs.update({"notes": "\n".join(out.notes), "pipeline_used": int(out.pipeline_used),
                          "fit_seconds": float(out.fit_info.get("seconds", 0.0))})
    for key in ("max_rhat", "min_ess_bulk"):
        v = float(out.fit_info.get(key, np.nan))
        if np.isfinite(v):
            quarter.attrs[key] = v
    if out.pipeline_used:
        quarter.attrs.update({"win_chains": int(cfg["chains"]), "win_draws": int(cfg["draws"])})
    k = _kpi_group(tables, as_of)
    notes = list(out.notes)
    if k is None:
        notes.append("KPIs: no opportunities table, no pipeline KPIs")
    return quarter, k, notes


def outlook(tables: dict[str, pd.DataFrame], scenario: Scenario, data_hash: str,
            cache: Cache, fcube: xr.Dataset | xr.DataArray | None = None,
            forecast_key: str = "") -> tuple[xr.Dataset | None, xr.Dataset | None, dict[str, Any]]:
    """The step: ``(/pipeline group, /pipeline_kpis group, summary["pipeline"])``.

    ``fcube`` (the scenario's forecast, cache key ``forecast_key``) gives the bookings-model
    outlook when the pipeline cannot be used, so that path needs no second fit.

    Groups are None when the step is off or the data give nothing to forecast from; the
    summary block then says why (``available: false`` and ``notes``). Never raises for a
    source without opportunities; an unusable bookings table gives a note, not an error.
    """
    from spm_models.errors import InputError

    cfg = settings(scenario)
    if cfg is None:
        return None, None, {"available": False,
                            "notes": ["switched off by the scenario (pipeline: enabled: false)"]}
    as_of = as_of_date(tables, cfg)
    if as_of is None or "bookings" not in tables:
        return None, None, {"available": False, "notes": ["no bookings: nothing to forecast from"]}
    has_pipeline = "opportunities" in tables and "opportunity_history" in tables
    key = pipeline_key(data_hash, cfg, as_of, "" if has_pipeline else forecast_key)
    if isinstance(fcube, xr.Dataset):
        fcube = fcube["bookings"]

    def build(folder: Path) -> tuple[xr.Dataset, xr.Dataset | None, list[str]]:
        quarter, k, notes = compute(tables, cfg, as_of, None if has_pipeline else fcube)
        write_cube(quarter, folder / "quarter.zarr")
        if k is not None:
            write_cube(k, folder / "kpis.zarr")
        (folder / "notes.json").write_text(json.dumps(notes))
        return load(folder)  # the stored values: a cache hit gives the same figures to the bit

    def load(folder: Path) -> tuple[xr.Dataset, xr.Dataset | None, list[str]]:
        k = read_cube(folder / "kpis.zarr") if (folder / "kpis.zarr").exists() else None
        return (read_cube(folder / "quarter.zarr"), k,
                json.loads((folder / "notes.json").read_text()))

    try:
        quarter, k, notes = cache.get("pipeline", key, build, load)
    except InputError as exc:
        return None, None, {"available": False, "as_of": as_of, "notes": [str(exc)]}
    return quarter, k, pipeline_block(quarter, k, notes)


def _q(x: np.ndarray) -> dict[str, float]:
    return {f"p{p}": float(np.percentile(x, p)) for p in (10, 50, 90)}


def _num(v: Any) -> float | None:
    v = float(v)
    return v if np.isfinite(v) else None


def pipeline_block(quarter: xr.Dataset, k: xr.Dataset | None, notes: list[str]) -> dict[str, Any]:
    """``summary["pipeline"]``: the quarter (``quarter``, ``as_of``, ``parts``,
    ``pipeline_used``), ``closed_to_date``, ``forecast`` (mean, P10/P50/P90 of the company's
    quarter bookings, closed-to-date included), ``by_region`` (closed-to-date and P10/P50/P90
    per region), ``coverage_by_region`` (last KPI month), ``kpis`` (the company's last-month
    values of :func:`spm_models.kpis.pipeline_summary`), ``trends`` (each KPI's monthly values
    over the last :data:`TREND_MONTHS` months, and the change of its last-3-month mean against
    the 3 months before) and ``notes``. Currency in the data's unit; ratios 0–1 except coverage."""
    from spm_models.kpis import KPIS, pipeline_summary

    company = region = None
    if k is not None:
        company = k.isel(id=(k["level"] == "company").values)
        region = k.isel(id=(k["level"] == "region").values)
    base = pipeline_summary(quarter, company, region)
    tot = quarter["bookings"].sum(["rep", "period"]).values
    regions = quarter["region"].values.astype(str)
    by_region = {}
    for g in sorted(set(regions)):
        m = regions == g
        by_region[g] = {"closed_to_date": float(quarter["closed"].values[m].sum()),
                        **_q(quarter["bookings"].values[m].sum(axis=(0, 1)))}
    block: dict[str, Any] = {
        "available": True,
        "quarter": base.get("quarter"), "as_of": base.get("as_of"), "parts": base.get("parts"),
        "pipeline_used": bool(int(quarter.attrs.get("pipeline_used", 0))),
        "closed_to_date": base.get("closed_to_date"),
        "forecast": {"mean": float(tot.mean()), **_q(tot)},
        "by_region": by_region,
        "coverage_by_region": base.get("coverage_by_region", {}),
        "kpis": base.get("kpis", {}),
        "trends": {},
        "notes": list(notes),
    }
    if company is not None and company.sizes["period"]:
        c = company.isel(id=0)
        periods = [str(p) for p in c["period"].values[-TREND_MONTHS:]]
        trends: dict[str, Any] = {"periods": periods}
        for name in KPIS:
            y = c[name].values.astype(float)
            last3, prior3 = y[-3:], y[-6:-3]
            change = (np.nanmean(last3) - np.nanmean(prior3)
                      if np.isfinite(last3).any() and np.isfinite(prior3).any() else np.nan)
            trends[name] = {"values": [_num(v) for v in y[-TREND_MONTHS:]],
                            "change_3m": _num(change)}
        block["trends"] = trends
    if "max_rhat" in quarter.attrs:
        block["win_model_max_rhat"] = round(float(quarter.attrs["max_rhat"]), 3)
        block["win_model"] = {"max_rhat": round(float(quarter.attrs["max_rhat"]), 3),
                              "min_ess_bulk": round(float(quarter.attrs.get("min_ess_bulk", np.nan)), 0),
                              "chains": int(quarter.attrs.get("win_chains", 0)),
                              "draws": int(quarter.attrs.get("win_draws", 0))}
    return jsonable(block)


def world_quarter(block: dict[str, Any], world_bookings: xr.DataArray,
                  forecast_bookings: xr.DataArray, levers: list[str] | tuple[str, ...] = ()) -> dict[str, Any] | None:
    """``summary["pipeline"]["world_quarter"]``: the outlook's quarter as the scenario world
    has it, to set beside the pipeline's figure (the report shows both, with why they differ).

    The pipeline outlook is *not* joined into the world (see ``docs/pipeline.md``, "One
    quarter, two figures"): its draws come from the win model, not from the bookings model's
    posterior, so pipeline draw ``j`` and world draw ``j`` share no parameters and a splice
    would break each draw's link between its first quarter and the rest of the year (annual
    quotas, accelerators, P(target), the paired bridge); and it forecasts today's reps as of
    the data's end, without the world's leavers, hires and territory moves.

    ``world_bookings``/``forecast_bookings``: ``(rep, period, draw)`` of the world and of the
    forecast of today's reps before any lever. Returns ``quarter``, ``months`` (of it inside
    the world's horizon), ``world`` and ``forecast`` (P10/P50/P90 of the quarter's company
    bookings), ``pipeline`` (the block's), ``levers``; None when the block has no forecast or
    none of the quarter's months is in the world."""
    if not block.get("available") or "forecast" not in block or not block.get("quarter"):
        return None
    q = pd.Period(str(block["quarter"]).replace("-", ""), freq="Q")
    months = [str(q.asfreq("M", "start") + i) for i in range(3)]
    inside = [m for m in months if m in set(map(str, world_bookings["period"].values))]
    if not inside:
        return None

    def tot(da: xr.DataArray) -> np.ndarray:
        return np.asarray(da.sel(period=inside).sum([d for d in da.dims if d != "draw"]).values, dtype=float)

    return {"quarter": str(block["quarter"]), "months": inside, "world": _q(tot(world_bookings)),
            "forecast": _q(tot(forecast_bookings)),
            "pipeline": {k: block["forecast"][k] for k in ("p10", "p50", "p90")}, "levers": list(levers)}


def attach(tree: xr.DataTree, quarter: xr.Dataset | None, k: xr.Dataset | None) -> xr.DataTree:
    """``tree`` with the groups ``/pipeline`` and ``/pipeline_kpis`` (those that are given)."""
    if quarter is not None:
        tree["pipeline"] = xr.DataTree(quarter)
    if k is not None:
        tree["pipeline_kpis"] = xr.DataTree(k)
    return tree
