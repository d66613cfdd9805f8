"""Backtest of the in-quarter forecast against what sales teams use.

For each of the last ``quarters`` complete calendar quarters and each as-of point (day 1, 30
and 60 of the quarter), every method forecasts the quarter's net bookings from information
strictly before the as-of date, at company and region level:

* ``pipeline``: :func:`~spm_models.forecast.quarter.quarter_forecast` (win model fitted once
  per quarter on the snapshots before its first day, so it also uses less than it may);
* ``stage_weighted``: closed-to-date + Σ amount × CRM stage probability over the open
  opportunities whose expected close date is in the quarter (a CRM's forecast page; point);
* ``run_rate``: closed-to-date + bookings of the 90 days before the as-of date per day ×
  days left (point);
* ``bookings_only``: :class:`~spm_models.forecast.model.BookingsForecast` (fast ADVI fit on
  the months before the quarter): closed-to-date + each month's draws × the share of the
  month still ahead.

Scores: CRPS (:func:`~spm_models.forecast.scoring.crps_draws`; a point forecast's CRPS is its
absolute error), absolute percentage error of the median, and coverage of the 80 % (q10–q90)
and 90 % (q05–q95) intervals (draw-based methods only).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from spm_models.errors import InputError
from spm_models.forecast.opportunities import NO_REGION, OppBook, rep_regions
from spm_models.forecast.quarter import _bookings_before, active_reps, quarter_forecast
from spm_models.forecast.scoring import crps_draws
from spm_models.forecast.win_model import fit_win_model, quarter_bounds, quarter_label

#: As-of points: days after the quarter's first day (day 1, day 30, day 60).
ASOF_OFFSETS = {"day1": 0, "day30": 29, "day60": 59}
METHODS = ("pipeline", "stage_weighted", "run_rate", "bookings_only")
#: CRM default stage probabilities when the data carry none (the demo's).
DEFAULT_STAGE_P = {"prospecting": 0.10, "qualification": 0.20, "proposal": 0.50,
                   "negotiation": 0.75}


def last_quarters(tables: Mapping[str, pd.DataFrame], n: int) -> list[int]:
    """First days of the last ``n`` complete quarters before the end of the bookings."""
    b = tables.get("bookings")
    if b is None or len(b) == 0:
        raise InputError("bookings: table missing or empty (needed for the backtest)")
    end = int(pd.to_datetime(b["date"]).max().to_datetime64().astype("datetime64[D]").astype(np.int64))
    q0, h = quarter_bounds(end)
    if h > end:
        q0, h = quarter_bounds(q0 - 1)
    out = [q0]
    while len(out) < n:
        out.append(quarter_bounds(out[-1] - 1)[0])
    return out[::-1]


def stage_weighted(book: OppBook, a: int, h: int, reps: pd.DataFrame) -> np.ndarray:
    """Σ amount × stage probability of open opportunities expected to close in [a, h], per rep."""
    snap = book.snapshot(a)
    prob = snap["probability"].to_numpy(dtype=float)
    fallback = snap["stage"].astype(str).str.lower().map(DEFAULT_STAGE_P).to_numpy(dtype=float)
    prob = np.where(np.isnan(prob), np.nan_to_num(fallback), prob)
    inq = snap["close"].to_numpy() <= h
    ri = pd.Index(reps["rep_id"]).get_indexer(snap["rep_id"])
    ok = (ri >= 0) & inq
    return np.bincount(ri[ok], (snap["amount"].to_numpy(float) * prob)[ok], len(reps))


def _closed(tables, a: int, q0: int, reps: pd.DataFrame) -> np.ndarray:
    bk = _bookings_before(tables, a)
    cur = bk[bk["day"] >= q0]
    ri = pd.Index(reps["rep_id"]).get_indexer(cur["rep_id"])
    return np.bincount(ri[ri >= 0], cur["amount"].to_numpy()[ri >= 0], len(reps))


def run_rate(tables, a: int, q0: int, h: int, reps: pd.DataFrame) -> np.ndarray:
    """Closed-to-date + bookings per day of the 90 days before ``a`` × days left, per rep."""
    bk = _bookings_before(tables, a)
    last = bk[bk["day"] >= a - 90]
    ri = pd.Index(reps["rep_id"]).get_indexer(last["rep_id"])
    rate = np.bincount(ri[ri >= 0], last["amount"].to_numpy()[ri >= 0], len(reps)) / 90.0
    return _closed(tables, a, q0, reps) + rate * (h - a + 1)


def bookings_only_model(tables, q0: int, n_draws: int, seed: int):
    """Fit :class:`BookingsForecast` (fast) on months before ``q0``; forecast the quarter's 3
    months: DataArray ``bookings(rep, period, draw)``."""
    from spm_models.forecast.model import BookingsForecast
    from spm_models.forecast.panel import monthly_panel

    m0 = pd.Timestamp(np.datetime64(q0, "D")).to_period("M")
    b = tables["bookings"]
    sub = dict(tables)
    sub["bookings"] = b[pd.to_datetime(b["date"]) < pd.Timestamp(np.datetime64(q0, "D"))]
    panel = monthly_panel(sub, end=str(m0 - 1))
    model = BookingsForecast().fit(panel, method="fast", seed=seed)
    return model.forecast(str(m0), 3, n_draws=n_draws, seed=seed)["bookings"]


def bookings_only_at(cube, tables, a: int, q0: int, h: int, reps: pd.DataFrame) -> np.ndarray:
    """Closed-to-date + each month's draws × share of the month ahead: array (rep, draw)."""
    periods = [pd.Period(p, freq="M") for p in cube["period"].values]
    share = []
    for p in periods:
        s = int(np.datetime64(p.start_time.date(), "D").astype(np.int64))
        e = int(np.datetime64(p.end_time.date(), "D").astype(np.int64))
        share.append(max(0, e - max(s, a) + 1) / (e - s + 1))
    x = cube.reindex(rep=reps["rep_id"].to_numpy(), fill_value=0.0).transpose("rep", "period", "draw").values
    ahead = np.einsum("rpd,p->rd", x, np.array(share))
    return _closed(tables, a, q0, reps)[:, None] + ahead


def actual_by_rep(tables, q0: int, h: int) -> pd.Series:
    """Net bookings of [q0, h] by rep."""
    b = tables["bookings"]
    day = pd.to_datetime(b["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    sel = (day >= q0) & (day <= h)
    return b.loc[sel].groupby(b.loc[sel, "rep_id"].astype(str))["amount"].sum()


def _score(actual: float, x: np.ndarray) -> dict[str, Any]:
    x = np.atleast_1d(np.asarray(x, float))
    med = float(np.median(x))
    out = {"crps": float(crps_draws(actual, x)), "ape": abs(med - actual) / abs(actual) if actual else None,
           "median": med}
    if len(x) > 1:
        q05, q10, q90, q95 = np.quantile(x, [0.05, 0.10, 0.90, 0.95])
        out["in_80"] = bool(q10 <= actual <= q90)
        out["in_90"] = bool(q05 <= actual <= q95)
    return out


def run_pipeline_backtest(tables: Mapping[str, pd.DataFrame], quarters: int = 4, *, n_draws: int = 1000,
                          seed: int = 0, draws: int = 250, tune: int = 250, chains: int = 2,
                          with_bookings_model: bool = True, progress=None) -> dict[str, Any]:
    """Score every method at every as-of point of the last ``quarters`` quarters.

    Returns
    -------
    dict
        ``metadata``, ``cases`` (one per quarter × as-of × level × id with each method's
        scores), ``methods[method][level][asof]`` = mean ``crps``, mean ``ape``,
        ``coverage_80``, ``coverage_95`` (draw methods), ``n``; ``acceptance``.

    Raises
    ------
    InputError
        Without ``opportunities`` / ``opportunity_history`` or too little history.
    """
    say = progress or (lambda msg: None)
    if "opportunities" not in tables:
        raise InputError("opportunities: table missing (needed for the pipeline backtest)")
    book = OppBook.from_tables(tables)
    if not book.has_history:
        raise InputError("opportunity_history: table missing (the backtest needs the stage history)")
    regions = rep_regions(tables)
    cases: list[dict[str, Any]] = []
    fit_seconds: list[float] = []
    fit_cpu: list[float] = []
    bo_seconds: list[float] = []
    for q0 in last_quarters(tables, quarters):
        _, h = quarter_bounds(q0)
        ql = quarter_label(q0)
        say(f"{ql}: fitting the win model")
        t0, c0 = time.perf_counter(), time.process_time()
        model = fit_win_model(book, q0, draws=draws, tune=tune, chains=chains, seed=seed)
        fit_seconds.append(time.perf_counter() - t0)
        fit_cpu.append(time.process_time() - c0)
        cube = None
        if with_bookings_model:
            say(f"{ql}: fitting the bookings model")
            t0 = time.perf_counter()
            cube = bookings_only_model(tables, q0, n_draws, seed)
            bo_seconds.append(time.perf_counter() - t0)
        act_rep = actual_by_rep(tables, q0, h)
        act_reg = act_rep.groupby(act_rep.index.map(regions).fillna(NO_REGION)).sum()
        for label, off in ASOF_OFFSETS.items():
            a = q0 + off
            say(f"{ql}: as of {np.datetime64(a, 'D')}")
            ds = quarter_forecast(tables, int(a), model, book=book, n_draws=n_draws, seed=seed + off)
            reps = active_reps(tables, book, a)
            pipe = ds["bookings"].sum("period").transpose("rep", "draw").values
            sw = _closed(tables, a, q0, reps) + stage_weighted(book, a, h, reps)
            rr = run_rate(tables, a, q0, h, reps)
            bo = bookings_only_at(cube, tables, a, q0, h, reps) if cube is not None else None
            groups = [("company", "__total__", np.ones(len(reps), bool))]
            groups += [("region", g, reps["region"].to_numpy() == g) for g in sorted(reps["region"].unique())]
            for level, ident, m in groups:
                actual = float(act_rep.sum()) if level == "company" else float(act_reg.get(ident, 0.0))
                case = {"quarter": ql, "as_of": str(np.datetime64(a, "D")), "point": label,
                        "level": level, "id": ident, "actual": actual,
                        "pipeline": _score(actual, pipe[m].sum(0)),
                        "stage_weighted": _score(actual, sw[m].sum()),
                        "run_rate": _score(actual, rr[m].sum())}
                if bo is not None:
                    case["bookings_only"] = _score(actual, bo[m].sum(0))
                cases.append(case)
    summary = summarise(cases)
    return {"metadata": {"quarters": quarters, "as_of_points": list(ASOF_OFFSETS), "n_draws": n_draws,
                         "seed": seed, "win_model_fit_seconds": [round(s, 1) for s in fit_seconds],
                         "win_model_fit_cpu_seconds": [round(s, 1) for s in fit_cpu],
                         "bookings_model_fit_seconds": [round(s, 1) for s in bo_seconds],
                         "draws": draws, "tune": tune, "chains": chains},
            "methods": summary, "acceptance": acceptance(summary, cases), "cases": cases}


def summarise(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean scores by method, level and as-of point (plus ``all``)."""
    out: dict[str, Any] = {}
    for method in METHODS:
        out[method] = {}
        for level in ("company", "region"):
            out[method][level] = {}
            for point in (*ASOF_OFFSETS, "all"):
                sel = [c[method] for c in cases if method in c and c["level"] == level
                       and (point == "all" or c["point"] == point)]
                if not sel:
                    continue
                apes = [s["ape"] for s in sel if s["ape"] is not None]
                row = {"crps": float(np.mean([s["crps"] for s in sel])),
                       "ape": float(np.mean(apes)) if apes else None, "n": len(sel)}
                if "in_80" in sel[0]:
                    row["coverage_80"] = float(np.mean([s["in_80"] for s in sel]))
                    row["coverage_95"] = float(np.mean([s["in_90"] for s in sel]))
                out[method][level][point] = row
    return out


def acceptance(summary: dict[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's acceptance checks (CRPS ratios at day 30/60, region coverage)."""
    checks: dict[str, Any] = {}
    pipe = summary["pipeline"]
    for level in ("company", "region"):
        for point in ("day1", "day30", "day60"):
            p = pipe[level][point]["crps"]
            sw = summary["stage_weighted"][level][point]["crps"]
            checks[f"{level}_{point}_vs_stage_weighted"] = {
                "ratio": p / sw, "target": "<= 0.7", "ok": p <= 0.7 * sw, "gated": point != "day1"}
            bo = summary.get("bookings_only", {}).get(level, {}).get(point)
            if bo:
                checks[f"{level}_{point}_vs_bookings_only"] = {
                    "ratio": p / bo["crps"], "target": "<= 1", "ok": p <= bo["crps"], "gated": point != "day1"}
    reg = pipe["region"]["all"]
    checks["region_coverage_80"] = {"value": reg["coverage_80"], "target": "0.60-0.95",
                                    "ok": 0.60 <= reg["coverage_80"] <= 0.95, "gated": True}
    checks["region_coverage_90"] = {"value": reg["coverage_95"], "target": ">= 0.80",
                                    "ok": reg["coverage_95"] >= 0.80, "gated": True}
    checks["all_gated_ok"] = all(c["ok"] for c in checks.values() if c["gated"])
    return checks
