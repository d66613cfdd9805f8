"""Decision figures of a simulated plan: cost, cost of sales, pay for performance.

Everything reduces the payout cube (numpy or dask) in one pass: ``plan_metrics`` builds
all reductions lazily and computes them together, so a dask-backed cube larger than
memory is streamed chunk by chunk and never materialised.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from spm_models import figures
from spm_models.comp.engine import MEASURE, PERIOD
from spm_models.cube import DEFAULT_QUANTILES

REP, DRAW, SCENARIO = "rep", "draw", "scenario"
#: Attainment bins: width 0.01 over [-0.01, 5.01); attainments are clipped into the range.
#: Equal-width bins keep numpy's histogram O(n) (no sort), and stream on dask.
ATT_RANGE, ATT_NBINS = (-0.01, 5.01), 502
ATTAINMENT_BINS = np.linspace(*ATT_RANGE, ATT_NBINS + 1)
#: Rep payouts are binned on ``log1p(payout)`` with width 0.01 (≈ 1 % bins) up to e^21.
PAY_RANGE, PAY_NBINS = (0.0, 21.0), 2100
#: Window (± attainment) around a level over which payouts are averaged.
WINDOW = 0.025


def _has_client() -> bool:
    """A dask.distributed client is already the default (reuse it)."""
    try:
        from distributed import default_client

        default_client()
        return True
    except (ImportError, ValueError):
        return False


def _histogram(x: Any, rng: tuple[float, float], nbins: int, weights: Any = None) -> Any:
    if hasattr(x, "dask") or hasattr(weights, "dask"):
        import dask.array as da

        x = da.asarray(x)
        if weights is not None:
            weights = da.asarray(weights)
            if x.chunks != weights.chunks:
                x = x.rechunk(weights.chunks)
        return da.histogram(x, bins=nbins, range=rng, weights=weights)[0]
    return np.histogram(x, bins=nbins, range=rng, weights=weights)[0]


def _hist(att: xr.DataArray, pay: xr.DataArray) -> tuple[Any, Any]:
    """Counts and payout sums per attainment bin over all elements of ``att``/``pay``."""
    a, p = xr.broadcast(att, pay)
    p = p.transpose(*a.dims)
    lo, hi = ATT_RANGE
    a = a.clip(lo, hi - 1e-9).fillna(lo - 1.0)  # NaN (no quota) falls outside: not counted
    return (_histogram(a.data, ATT_RANGE, ATT_NBINS),
            _histogram(a.data, ATT_RANGE, ATT_NBINS, weights=p.data))


def _payout_hist(pay: xr.DataArray) -> Any:
    z = np.log1p(pay.clip(0.0, None)).clip(None, PAY_RANGE[1] - 1e-9)
    return _histogram(z.data, PAY_RANGE, PAY_NBINS)


def _payout_quantile(counts: np.ndarray, q: float) -> float:
    """Quantile from the payout histogram: the middle of its 1 % bin (0 below 1 cent)."""
    if counts.sum() == 0:
        return float("nan")
    cdf = np.cumsum(counts) / counts.sum()
    k = int(np.searchsorted(cdf, q))
    if k == 0:
        return 0.0
    width = (PAY_RANGE[1] - PAY_RANGE[0]) / PAY_NBINS
    return float(np.expm1(PAY_RANGE[0] + (k + 0.5) * width))


def _payout_at(counts: np.ndarray, sums: np.ndarray, level: float) -> float:
    centers = 0.5 * (ATTAINMENT_BINS[:-1] + ATTAINMENT_BINS[1:])
    sel = np.abs(centers - level) <= WINDOW + 1e-9
    n = counts[sel].sum()
    return float(sums[sel].sum() / n) if n > 0 else float("nan")


def _quantile_from_hist(counts: np.ndarray, q: float) -> float:
    cdf = np.cumsum(counts) / max(counts.sum(), 1)
    k = min(int(np.searchsorted(cdf, q)), len(counts) - 1)
    return float(0.5 * (ATTAINMENT_BINS[k] + ATTAINMENT_BINS[k + 1]))


def plan_metrics(result: xr.Dataset, bookings: xr.DataArray | None = None,
                 budget: float | None = None, as_dataset: bool = False,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
                 scheduler: str | None = None) -> dict[str, Any] | xr.Dataset:
    """Decision figures of a simulation result (:func:`simulate_plan`).

    Figures (per ``scenario`` when present; definitions in :mod:`spm_models.figures`, the
    one place each is defined): ``incentive_cost`` P10/P50/P90 and mean, ``revenue``,
    ``cost_of_sales`` (:func:`~spm_models.figures.cost_of_sales`, per draw),
    ``share_reps_at_quota`` (:func:`~spm_models.figures.share_at_quota` on the plan-year
    attainment of the first measure), ``pay_for_performance``
    (correlation of rep payout with attainment over reps × draws; payout at the P90
    attainment ÷ payout at target, averaged over attainment ±0.025),
    ``prob_cost_exceeds_budget``, ``rep_payout`` quantiles (pooled over reps and draws) and
    the mean cost per draw of each plan element (tiers, above-target accelerators, bonuses,
    draw top-ups and unearned payouts).

    A dask-backed ``result`` is reduced on the dask.distributed scheduler ``scheduler``
    (or ``$SPM_DASK_SCHEDULER``) when one is given, else on the current dask scheduler.

    Returns a JSON-ready dict, or the reduced Dataset with ``as_dataset=True``.
    """
    annual = result["payout"].sum(PERIOD, skipna=False)
    cost = annual.sum(REP)
    revenue = (bookings.sum([d for d in bookings.dims if d in (REP, PERIOD, MEASURE)])
               if bookings is not None else result["revenue"].sum(REP))
    att = result["annual_attainment"].isel({MEASURE: 0}, drop=True)
    at_quota = figures.share_at_quota(att)
    red = xr.Dataset({
        "incentive_cost": cost,
        "revenue": revenue,
        "share_reps_at_quota": at_quota,
        "tier_cost": result["tier_cost"].sum(REP).mean(DRAW),
        "accelerator_cost": result["accelerator_cost"].sum(REP).mean(DRAW),
        "draw_topup": result["draw_topup"].sum([REP, PERIOD]).mean(DRAW),
        "unearned_paid": result["unearned_paid"].sum(REP).mean(DRAW),
    })
    if "bonus_cost" in result:
        red["bonus_cost"] = result["bonus_cost"].sum(REP).mean(DRAW)
    # one-pass moments for the payout/attainment correlation (streams on dask)
    valid = att.notnull()
    x = annual.where(valid, 0.0)
    y = att.fillna(0.0)
    for name, v in (("n", valid), ("sx", x), ("sy", y), ("sxx", x * x), ("syy", y * y),
                    ("sxy", x * y)):
        red[f"_m_{name}"] = v.sum([REP, DRAW], skipna=False)
    scen = list(map(str, result[SCENARIO].values)) if SCENARIO in result.dims else [None]
    for i, s in enumerate(scen):
        a = att.isel({SCENARIO: i}) if s is not None and SCENARIO in att.dims else att
        p = annual.isel({SCENARIO: i}) if s is not None else annual
        counts, sums = _hist(a, p)
        red[f"_hist_counts_{i}"] = xr.DataArray(counts, dims=["att_bin"])
        red[f"_hist_sums_{i}"] = xr.DataArray(sums, dims=["att_bin"])
        red[f"_pay_hist_{i}"] = xr.DataArray(_payout_hist(p), dims=["pay_bin"])
    client = None
    if result["payout"].chunks is not None:
        from spm_models.comp.distributed import get_client, scheduler_address

        if scheduler_address(scheduler) and not _has_client():
            client = get_client(scheduler)
    try:
        red = red.compute()
    finally:
        if client is not None:
            client.close()
    n = red["_m_n"]
    cov = red["_m_sxy"] / n - red["_m_sx"] * red["_m_sy"] / n**2
    var_x = red["_m_sxx"] / n - (red["_m_sx"] / n) ** 2
    var_y = red["_m_syy"] / n - (red["_m_sy"] / n) ** 2
    red["pfp_corr"] = (cov / np.sqrt(var_x * var_y)).where((var_x > 0) & (var_y > 0))

    cos = figures.cost_of_sales(red["incentive_cost"], red["revenue"])
    q = list(quantiles)
    out = xr.Dataset({
        "incentive_cost": red["incentive_cost"].quantile(q, dim=DRAW),
        "incentive_cost_mean": red["incentive_cost"].mean(DRAW),
        "revenue": red["revenue"].quantile(q, dim=DRAW),
        "cost_of_sales": cos.quantile(q, dim=DRAW),
        "share_reps_at_quota": red["share_reps_at_quota"].quantile(q, dim=DRAW),
        "pay_for_performance_corr": red["pfp_corr"],
        "tier_cost": red["tier_cost"],
        "accelerator_cost": red["accelerator_cost"],
        "draw_topup": red["draw_topup"],
        "unearned_paid": red["unearned_paid"],
    })
    if "bonus_cost" in red:
        out["bonus_cost"] = red["bonus_cost"]
    if budget is not None:
        out["prob_cost_exceeds_budget"] = (red["incentive_cost"] > budget).mean(DRAW)
    ratio, p90_att, rep_q = [], [], []
    for i in range(len(scen)):
        c = red[f"_hist_counts_{i}"].values
        sm = red[f"_hist_sums_{i}"].values
        a90 = _quantile_from_hist(c, 0.9)
        p90_att.append(a90)
        at_target = _payout_at(c, sm, 1.0)
        ratio.append(_payout_at(c, sm, a90) / at_target if at_target > 0 else float("nan"))
        ph = red[f"_pay_hist_{i}"].values
        rep_q.append([_payout_quantile(ph, float(x)) for x in q])
    if scen[0] is not None:
        out["attainment_p90"] = xr.DataArray(p90_att, dims=[SCENARIO], coords={SCENARIO: scen})
        out["payout_p90_to_target"] = xr.DataArray(ratio, dims=[SCENARIO],
                                                   coords={SCENARIO: scen})
        out["rep_payout"] = xr.DataArray(rep_q, dims=[SCENARIO, "quantile"],
                                         coords={SCENARIO: scen, "quantile": q})
    else:
        out["attainment_p90"] = xr.DataArray(p90_att[0])
        out["payout_p90_to_target"] = xr.DataArray(ratio[0])
        out["rep_payout"] = xr.DataArray(rep_q[0], dims=["quantile"], coords={"quantile": q})
    if as_dataset:
        return out
    return metrics_to_dict(out)


def _qdict(da: xr.DataArray) -> dict[str, float]:
    return {f"p{round(float(q) * 100)}": float(da.sel(quantile=q)) for q in da["quantile"].values}


def _one(ds: xr.Dataset) -> dict[str, Any]:
    d: dict[str, Any] = {
        "incentive_cost": {**_qdict(ds["incentive_cost"]), "mean": float(ds["incentive_cost_mean"])},
        "revenue": _qdict(ds["revenue"]),
        "cost_of_sales": _qdict(ds["cost_of_sales"]),
        "share_reps_at_quota": _qdict(ds["share_reps_at_quota"]),
        "rep_payout": _qdict(ds["rep_payout"]),
        "pay_for_performance": {
            "corr_payout_attainment": float(ds["pay_for_performance_corr"]),
            "attainment_p90": float(ds["attainment_p90"]),
            "payout_p90_to_target": float(ds["payout_p90_to_target"]),
        },
        "element_cost": {},
    }
    if "prob_cost_exceeds_budget" in ds:
        d["prob_cost_exceeds_budget"] = float(ds["prob_cost_exceeds_budget"])
    el = d["element_cost"]
    for m in ds[MEASURE].values:
        for t in ds["tier"].values:
            el[f"{m}:tier{int(t)}"] = float(ds["tier_cost"].sel({MEASURE: m, "tier": t}))
        el[f"{m}:above_target"] = float(ds["accelerator_cost"].sel({MEASURE: m}))
    if "bonus_cost" in ds:
        for b in ds["bonus"].values:
            el[f"bonus:{b}"] = float(ds["bonus_cost"].sel(bonus=b))
    el["draw_topup"] = float(ds["draw_topup"])
    el["unearned_paid"] = float(ds["unearned_paid"])
    return d


def metrics_to_dict(ds: xr.Dataset) -> dict[str, Any]:
    """JSON-ready figures; keyed by scenario when the result has a ``scenario`` dim."""
    if SCENARIO in ds.dims:
        return {str(s): _one(ds.sel({SCENARIO: s})) for s in ds[SCENARIO].values}
    return _one(ds)
