"""Pipeline KPIs and leading indicators by month, per rep, region and company.

Every KPI is a ratio of sums computed per rep and month and then summed over the group, so the
region and company figures are the pooled ratios (not averages of rep ratios):

=====================  =========================================================================
``pipeline_created``   amount (at creation) of the opportunities created in the month
``coverage``           open pipeline expected to close in the month's quarter, on the month's
                       first day ÷ remaining quota of the quarter (quota − bookings so far);
                       NaN when the remaining quota is ≤ 0
``win_rate``           won ÷ (won + lost) opportunities closed in the month (counts)
``avg_deal_size``      won amount ÷ won count of the month
``sales_cycle_days``   mean days from creation to close of the month's won opportunities
``slip_rate``          share of opportunities expected (on the month's first day) to close in
                       the month that were still open at its end (needs the stage history)
``bookings``           net bookings of the month
=====================  =========================================================================

``lead_months`` (per id) is the lag 0–6 months at which the detrended pipeline created
correlates most with the detrended bookings (``lead_corr``): how far pipeline created leads
bookings. Only information strictly before ``as_of`` is used.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.forecast.opportunities import NO_REGION, OppBook, rep_regions, to_day

KPIS = ("pipeline_created", "coverage", "win_rate", "avg_deal_size", "sales_cycle_days",
        "slip_rate", "bookings")
_PARTS = ("created", "pipe_q", "quota_left", "won", "lost", "won_amount", "cycle_sum",
          "due", "slipped", "bookings")


def _mday(p: pd.Period) -> int:
    return int(np.datetime64(p.start_time.date(), "D").astype(np.int64))


def kpi_parts(tables: Mapping[str, pd.DataFrame], as_of=None) -> xr.Dataset:
    """Numerators and denominators per rep and month (months before ``as_of``'s month, or up
    to the last month of the data): Dataset of ``_PARTS`` with dims ``rep, period`` and coord
    ``region(rep)``."""
    book = OppBook.from_tables(tables)
    o = book.opps
    b = tables.get("bookings")
    bday = (pd.to_datetime(b["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
            if b is not None else np.zeros(0, np.int64))
    if as_of is None:
        last = max(int(o["created"].max()), int(bday.max()) if len(bday) else 0)
        end = pd.Timestamp(np.datetime64(last, "D")).to_period("M")
    else:
        end = pd.Timestamp(np.datetime64(to_day(as_of), "D")).to_period("M") - 1
    first = pd.Timestamp(np.datetime64(int(o["created"].min()), "D")).to_period("M")
    if len(bday):
        first = min(first, pd.Timestamp(np.datetime64(int(bday.min()), "D")).to_period("M"))
    periods = pd.period_range(first, end, freq="M")
    starts = np.array([_mday(p) for p in periods] + [_mday(end + 1)])
    cut = starts[-1]
    reps = sorted(set(o.loc[o["created"] < cut, "rep_id"])
                  | (set(b["rep_id"].astype(str).to_numpy()[bday < cut]) if b is not None else set()))
    rix = pd.Index(reps)
    R, P = len(reps), len(periods)
    parts = {k: np.zeros((R, P)) for k in _PARTS}

    def add(key, rep_ids, days, values):
        ri = rix.get_indexer(rep_ids)
        pi = np.searchsorted(starts, days, side="right") - 1
        ok = (ri >= 0) & (pi >= 0) & (pi < P) & (days < cut)
        np.add.at(parts[key], (ri[ok], pi[ok]), np.asarray(values, float)[ok] if np.ndim(values) else values)

    rep_of = o["rep_id"].to_numpy()
    created = o["created"].to_numpy()
    add("created", rep_of, created, book.created_amount())
    won = book.won_day < cut
    lost = book.lost_day < cut
    add("won", rep_of[won], book.won_day[won], 1.0)
    add("won_amount", rep_of[won], book.won_day[won], book.won_amount[won])
    add("cycle_sum", rep_of[won], book.won_day[won], (book.won_day - created)[won])
    add("lost", rep_of[lost], book.lost_day[lost], 1.0)
    if b is not None:
        add("bookings", b["rep_id"].astype(str).to_numpy(), bday, b["amount"].to_numpy(float))
    # quota of each rep and calendar quarter (all its months, also those after the end)
    qtr = np.array([p.quarter + 4 * p.year for p in periods])
    quota_q = np.zeros((R, P))
    q = tables.get("quotas")
    if q is not None:
        qp = pd.PeriodIndex(q["period"].astype(str), freq="M")
        qq = np.asarray(qp.quarter + 4 * qp.year)
        ri = rix.get_indexer(q["rep_id"].astype(str))
        vals = q["quota"].to_numpy(float)
        for j in range(P):
            sel = (qq == qtr[j]) & (ri >= 0)
            quota_q[:, j] = np.bincount(ri[sel], vals[sel], R)
    for j, p in enumerate(periods):
        same = qtr == qtr[j]
        booked = parts["bookings"][:, same & (np.arange(P) < j)].sum(1)
        parts["quota_left"][:, j] = quota_q[:, j] - booked
        snap = book.snapshot(starts[j])
        q_end = _mday(pd.Period(year=p.year, quarter=p.quarter, freq="Q").asfreq("M", "end") + 1) - 1
        ri = rix.get_indexer(snap["rep_id"])
        close = snap["close"].to_numpy()
        inq = (close <= q_end) & (ri >= 0)
        parts["pipe_q"][:, j] = np.bincount(ri[inq], snap["amount"].to_numpy(float)[inq], R)
        if book.has_history:
            due = (close < starts[j + 1]) & (ri >= 0)
            nxt = book.snapshot(starts[j + 1]) if starts[j + 1] <= cut else snap.iloc[:0]
            still = np.isin(snap["opp_index"].to_numpy(), nxt["opp_index"].to_numpy())
            parts["due"][:, j] = np.bincount(ri[due], minlength=R)
            parts["slipped"][:, j] = np.bincount(ri[due & still], minlength=R)
        else:
            parts["due"][:, j] = np.nan
    regions = rep_regions(tables)
    return xr.Dataset({k: (("rep", "period"), v) for k, v in parts.items()},
                      coords={"rep": reps, "period": [str(p) for p in periods],
                              "region": ("rep", pd.Series(reps, dtype=object).map(regions)
                                         .fillna(NO_REGION).to_numpy().astype(str))})


def _ratio(num: xr.DataArray, den: xr.DataArray) -> xr.DataArray:
    return (num / den.where(den > 0)).astype(float)


def _lead(created: np.ndarray, bookings: np.ndarray, max_lag: int = 6) -> tuple[float, float]:
    n = len(created)
    if n < max_lag + 6:
        return np.nan, np.nan
    t = np.arange(n)

    def detrend(x):
        return x - np.polyval(np.polyfit(t, x, 1), t)

    c, bk = detrend(created), detrend(bookings)
    best = (np.nan, -np.inf)
    for lag in range(max_lag + 1):
        x, y = c[: n - lag], bk[lag:]
        if x.std() > 0 and y.std() > 0:
            r = float(np.corrcoef(x, y)[0, 1])
            if r > best[1]:
                best = (float(lag), r)
    return best if np.isfinite(best[1]) else (np.nan, np.nan)


def kpis(tables: Mapping[str, pd.DataFrame], level: str = "company", as_of=None,
         parts: xr.Dataset | None = None) -> xr.Dataset:
    """KPIs by month at ``level`` (``rep``, ``region`` or ``company``).

    Parameters
    ----------
    tables
        Validated tables with ``opportunities`` (optional ``opportunity_history``,
        ``bookings``, ``quotas``, ``reps``).
    level
        Grouping of the reps.
    as_of
        Use only information strictly before this date (months up to the one before it).
    parts
        Precomputed :func:`kpi_parts` (to compute several levels at once).

    Returns
    -------
    xr.Dataset
        Variables :data:`KPIS` with dims ``id, period`` (``period`` = ``YYYY-MM``), plus
        ``lead_months(id)`` and ``lead_corr(id)``. Units: currency, ratios (0–1 except
        coverage), days.

    Raises
    ------
    InputError
        Without an ``opportunities`` table; ValueError for an unknown level.
    """
    p = parts if parts is not None else kpi_parts(tables, as_of)
    if level == "rep":
        g = p.rename(rep="id").drop_vars("region")
    elif level == "region":
        g = p.groupby("region").sum().rename(region="id")
    elif level == "company":
        g = p.sum("rep").expand_dims(id=["__total__"])
    else:
        raise ValueError(f"level must be rep, region or company, got {level!r}")
    out = xr.Dataset({
        "pipeline_created": g["created"],
        "coverage": _ratio(g["pipe_q"], g["quota_left"]),
        "win_rate": _ratio(g["won"], g["won"] + g["lost"]),
        "avg_deal_size": _ratio(g["won_amount"], g["won"]),
        "sales_cycle_days": _ratio(g["cycle_sum"], g["won"]),
        "slip_rate": _ratio(g["slipped"], g["due"]),
        "bookings": g["bookings"],
    })
    leads = [_lead(g["created"].sel(id=i).values, g["bookings"].sel(id=i).values)
             for i in out["id"].values]
    out["lead_months"] = ("id", np.array([x[0] for x in leads]))
    out["lead_corr"] = ("id", np.array([x[1] for x in leads]))
    out["pipeline_created"].attrs["units"] = "currency"
    out["sales_cycle_days"].attrs["units"] = "days"
    out.attrs["level"] = level
    return out


def kpis_frame(tables: Mapping[str, pd.DataFrame], as_of=None) -> pd.DataFrame:
    """All levels as one table: ``level, id, period`` and the :data:`KPIS` columns, plus
    ``lead_months`` and ``lead_corr`` (repeated per row of the id)."""
    p = kpi_parts(tables, as_of)
    frames = []
    for level in ("company", "region", "rep"):
        ds = kpis(tables, level, parts=p)
        df = ds[list(KPIS)].to_dataframe().reset_index()
        lead = ds[["lead_months", "lead_corr"]].to_dataframe()
        df = df.join(lead, on="id")
        df.insert(0, "level", level)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def pipeline_summary(quarter: xr.Dataset | None, company_kpis: xr.Dataset | None,
                     region_kpis: xr.Dataset | None = None) -> dict:
    """Summary figures for ``summary.json`` (section ``pipeline``).

    Parameters
    ----------
    quarter
        :func:`~spm_models.forecast.quarter.quarter_forecast` output (or None).
    company_kpis, region_kpis
        :func:`kpis` at company / region level (or None).

    Returns
    -------
    dict
        ``quarter``, ``as_of``, ``parts``, ``closed_to_date``, ``forecast`` (``mean``, ``p10``,
        ``p50``, ``p90`` of the quarter's company bookings), ``kpis`` (last month's company
        coverage, win rate, average deal size, sales cycle, slip rate; the trailing-12-month
        pipeline created; ``lead_months``) and ``coverage_by_region`` (last month).
    """
    out: dict = {}

    def num(v) -> float | None:
        v = float(v)
        return v if np.isfinite(v) else None

    if quarter is not None:
        tot = quarter["bookings"].sum(["rep", "period"]).values
        out.update({
            "quarter": quarter.attrs.get("quarter"), "as_of": quarter.attrs.get("as_of"),
            "parts": quarter.attrs.get("parts", "").split(","),
            "closed_to_date": num(quarter["closed"].sum()),
            "forecast": {"mean": num(tot.mean()), **{f"p{q}": num(np.percentile(tot, q))
                                                    for q in (10, 50, 90)}},
        })
    if company_kpis is not None and company_kpis.sizes.get("period", 0):
        c = company_kpis.isel(id=0)
        last = c.isel(period=-1)
        out["kpis"] = {
            "period": str(last["period"].values),
            **{k: num(last[k]) for k in ("coverage", "win_rate", "avg_deal_size",
                                         "sales_cycle_days", "slip_rate")},
            "pipeline_created_12m": num(c["pipeline_created"].isel(period=slice(-12, None)).sum()),
            "lead_months": num(c["lead_months"]),
        }
    if region_kpis is not None and region_kpis.sizes.get("period", 0):
        cov = region_kpis["coverage"].isel(period=-1)
        out["coverage_by_region"] = {str(i): num(v) for i, v in zip(cov["id"].values, cov.values, strict=True)}
    return out
