"""Quota setting from the forecast posterior, and the fairness figures of any quota set.

Methods (the scenario's ``quota`` section, plain data)::

    {"method": "growth", "growth": 0.10}
    {"method": "top_down", "target": 2.5e8, "allocate_by": "potential", "over_assignment": 1.1}
    {"method": "equal_probability", "probability": 0.6}                 # every rep P(reach)=0.6
    {"method": "equal_probability", "target": 2.5e8, "over_assignment": 1.1}  # p implied by target

Common optional keys: ``phasing`` (``rep`` | ``company`` | ``flat``: how an annual quota is
spread over the plan months — by the share of the rep's (or the company's) median forecast per
month), ``history_months`` (length of "last year", default 12, ending the month before the plan
starts).

An annual quota ``Q_r`` and the plan-year bookings draws ``S_r,d = sum_t bookings[r,t,d]`` give
the rep's probability of reaching quota ``P(S_r >= Q_r)`` (share of draws). ``equal_probability``
sets ``Q_r`` to the ``1-p`` quantile of ``S_r`` so every rep has the same ``P(reach) = p``; with a
company target it finds (by bisection) the common ``p`` whose quotas sum to
``target * over_assignment`` and reports that implied ``p``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.errors import InputError
from spm_models.planning._config import check_keys, choice, number, raise_if, where
from spm_models.planning.sections import QUOTA_COMMON_KEYS, QUOTA_METHOD_KEYS

SECTION = "quota"
METHODS = ("growth", "top_down", "equal_probability")
ALLOCATE_BY = ("potential", "history", "forecast")
PHASING = ("rep", "company", "flat")
_COMMON_KEYS = QUOTA_COMMON_KEYS
#: default ramp constant (months) of the new-rep rule: the demo's and capacity section's ramp
DEFAULT_RAMP_TAU = 3.0
_METHOD_KEYS = QUOTA_METHOD_KEYS


# --------------------------------------------------------------------------- helpers
def gini(values: np.ndarray | list[float]) -> float:
    """Gini coefficient of non-negative ``values`` (0 = all equal, (n-1)/n = one holds all).

    Uses the mean absolute difference form ``sum_ij |x_i - x_j| / (2 n^2 mean)``.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    if np.any(x < 0):
        raise ValueError("gini needs non-negative values")
    mean = x.mean()
    if mean == 0:
        return 0.0
    xs = np.sort(x)
    n = xs.size
    # sum_ij |x_i - x_j| = 2 * sum_i (2i - n - 1) x_(i), i = 1..n
    idx = np.arange(1, n + 1)
    return float(np.sum((2 * idx - n - 1) * xs) / (n * n * mean))


def _check_forecast(forecast: xr.Dataset) -> xr.DataArray:
    if not isinstance(forecast, xr.Dataset) or "bookings" not in forecast:
        raise InputError("forecast cube, field 'bookings': missing (need bookings(rep, period, draw))")
    da = forecast["bookings"]
    missing = {"rep", "period", "draw"} - set(da.dims)
    if missing:
        raise InputError(
            f"forecast cube, field 'bookings': missing dimension(s) {', '.join(sorted(missing))}"
        )
    extra = set(da.dims) - {"rep", "period", "draw"}
    if extra:
        raise InputError(
            f"forecast cube, field 'bookings': unexpected dimension(s) {', '.join(sorted(extra))}"
            " (select one scenario first)"
        )
    return da.transpose("rep", "period", "draw")


def annual_draws(forecast: xr.Dataset) -> xr.DataArray:
    """Plan-year bookings per rep and draw: ``bookings`` summed over ``period`` (computed)."""
    return _check_forecast(forecast).sum("period").compute()


def with_rep_attributes(forecast: xr.Dataset,
                        tables: Mapping[str, pd.DataFrame] | None) -> xr.Dataset:
    """``forecast`` with the rep coordinates ``region`` and ``hire_month`` (``YYYY-MM``) taken
    from the ``reps`` table (``region``, ``hire_date``) where the cube does not carry them, so
    the new-rep rule sees who is new and who their regional peers are. Reps missing from the
    table get ``""`` (region unknown; hire month unknown = full history)."""
    if not tables or "reps" not in tables or "rep_id" not in tables["reps"].columns:
        return forecast
    reps = (tables["reps"].assign(rep_id=lambda d: d["rep_id"].astype(str))
            .drop_duplicates("rep_id").set_index("rep_id"))
    ids = np.asarray(forecast["rep"].values).astype(str)
    add: dict[str, Any] = {}
    da = forecast["bookings"]
    if "region" not in da.coords and "region" in reps.columns:
        add["region"] = ("rep", reps["region"].astype(str).reindex(ids).fillna("").to_numpy(dtype=str))
    if "hire_month" not in da.coords and "hire_date" in reps.columns:
        hd = pd.to_datetime(reps["hire_date"], errors="coerce").reindex(ids)
        add["hire_month"] = ("rep", np.asarray([d.strftime("%Y-%m") if pd.notna(d) else "" for d in hd], dtype=str))
    return forecast.assign_coords(add) if add else forecast


def _rep_coords(forecast: xr.Dataset) -> dict[str, Any]:
    return {k: v for k, v in forecast["bookings"].coords.items() if v.dims == ("rep",)}


def last_year_bookings(
    tables: Mapping[str, pd.DataFrame] | None,
    reps: np.ndarray,
    first_plan_period: str,
    months: int = 12,
) -> xr.DataArray:
    """Each rep's bookings over the ``months`` months before ``first_plan_period``.

    Reps without bookings in the window get 0.
    """
    if not tables or "bookings" not in tables:
        raise InputError("table 'bookings': needed for this quota method (history) but not given")
    bk = tables["bookings"]
    problems = [f"table 'bookings', field '{c}': missing column" for c in ("rep_id", "date", "amount") if c not in bk.columns]
    raise_if(problems)
    start = pd.Period(first_plan_period, freq="M") - months
    end = pd.Period(first_plan_period, freq="M") - 1
    per = pd.to_datetime(bk["date"]).dt.to_period("M")
    window = bk.loc[(per >= start) & (per <= end)]
    sums = window.groupby(window["rep_id"].astype(str))["amount"].sum()
    values = sums.reindex(reps.astype(str)).fillna(0.0).to_numpy(dtype=float)
    return xr.DataArray(values, dims=("rep",), coords={"rep": reps}, name="last_year_bookings")


def rep_potential(
    tables: Mapping[str, pd.DataFrame] | None, forecast: xr.Dataset
) -> xr.DataArray | None:
    """Account potential per rep from ``tables['accounts']`` (by ``rep_id``, else by
    ``territory_id`` split evenly among the territory's reps); ``None`` when unavailable."""
    if not tables or "accounts" not in tables:
        return None
    acc = tables["accounts"]
    if "potential" not in acc.columns:
        return None
    reps = forecast["rep"].values.astype(str)
    if "rep_id" in acc.columns and acc["rep_id"].notna().any():
        pot = acc.groupby(acc["rep_id"].astype(str))["potential"].sum()
        values = pot.reindex(reps).fillna(0.0).to_numpy(dtype=float)
    elif "territory_id" in acc.columns and "territory_id" in forecast.coords:
        pot = acc.groupby(acc["territory_id"].astype(str))["potential"].sum()
        terr = forecast["territory_id"].values.astype(str)
        n_in = pd.Series(terr).map(pd.Series(terr).value_counts()).to_numpy()
        values = pd.Series(terr).map(pot).fillna(0.0).to_numpy(dtype=float) / n_in
    else:
        return None
    return xr.DataArray(values, dims=("rep",), coords={"rep": forecast["rep"].values}, name="potential")


def phasing_weights(forecast: xr.Dataset, how: str = "rep") -> xr.DataArray:
    """Share of the annual quota per month, ``weights(rep, period)`` summing to 1 per rep.

    ``rep``: share of the rep's median forecast per month (negative medians clipped to 0;
    reps whose medians sum to 0 fall back to the company pattern); ``company``: share of the
    company's median total per month; ``flat``: equal months.
    """
    da = _check_forecast(forecast)
    if da.chunks is not None:  # median needs the whole draw axis in one chunk
        da = da.chunk({"draw": -1})
    n_t = da.sizes["period"]
    reps, periods = da["rep"].values, da["period"].values
    if how == "flat":
        w = np.full((da.sizes["rep"], n_t), 1.0 / n_t)
        return xr.DataArray(w, dims=("rep", "period"), coords={"rep": reps, "period": periods})
    company = np.clip(da.sum("rep").median("draw").values, 0, None)
    company = company / company.sum() if company.sum() > 0 else np.full(n_t, 1.0 / n_t)
    if how == "company":
        w = np.broadcast_to(company, (da.sizes["rep"], n_t)).copy()
    else:
        med = np.clip(np.asarray(da.median("draw").values), 0, None)
        tot = med.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(tot > 0, med / np.where(tot > 0, tot, 1.0), company[None, :])
    return xr.DataArray(w, dims=("rep", "period"), coords={"rep": reps, "period": periods})


def quantile_quota(annual: xr.DataArray, probability: float) -> xr.DataArray:
    """Quota per rep with ``P(annual >= quota) = probability``: the ``1 - p`` quantile over draws."""
    q = np.quantile(annual.values, 1.0 - probability, axis=annual.get_axis_num("draw"))
    return xr.DataArray(q, dims=("rep",), coords={"rep": annual["rep"].values})


def implied_probability(annual: xr.DataArray, total: float, tol: float = 1e-9) -> float:
    """The common ``p`` whose equal-probability quotas sum to ``total`` (bisection on ``p``).

    ``sum_r quantile_{1-p}(S_r)`` falls continuously from ``sum_r max S_r`` (p = 0) to
    ``sum_r min S_r`` (p = 1), so the root is unique when ``total`` lies in that range.
    """
    vals = np.sort(annual.transpose("rep", "draw").values, axis=1)
    hi_total, lo_total = vals[:, -1].sum(), vals[:, 0].sum()
    if not lo_total <= total <= hi_total:
        raise InputError(
            f"{where(SECTION, 'target')}: target x over_assignment = {total:,.0f} lies outside the "
            f"range the forecast draws allow ({lo_total:,.0f} .. {hi_total:,.0f}); "
            "no common probability of reaching quota exists"
        )

    def total_at(p: float) -> float:
        return float(np.quantile(vals, 1.0 - p, axis=1).sum())

    lo, hi = 0.0, 1.0  # total_at(lo) >= total >= total_at(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if total_at(mid) >= total:
            lo = mid
        else:
            hi = mid
        if hi - lo < tol:
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- reps without history
def _months_since_hire(forecast: xr.Dataset) -> np.ndarray:
    """Months from each rep's ``hire_month`` to the first plan month (large when unknown)."""
    da = forecast["bookings"]
    first = pd.Period(str(da["period"].values[0]), freq="M")
    out = np.full(da.sizes["rep"], 10_000, dtype=np.int64)
    if "hire_month" not in da.coords:
        return out
    for i, hm in enumerate(np.asarray(da["hire_month"].values).astype(str)):
        try:
            out[i] = (first - pd.Period(hm, freq="M")).n
        except (ValueError, TypeError):
            pass
    return out


def _in_post(forecast: xr.Dataset) -> xr.DataArray:
    """1 from each rep's hire month on, 0 before (``(rep, period)``): no quota before a start."""
    since = _months_since_hire(forecast)
    t = np.arange(forecast.sizes["period"])
    w = (t[None, :] >= -since[:, None]).astype(float)
    return xr.DataArray(w, dims=("rep", "period"),
                        coords={"rep": forecast["rep"].values, "period": forecast["period"].values})


def ramp_share(forecast: xr.Dataset, ramp_tau: float = DEFAULT_RAMP_TAU) -> xr.DataArray:
    """Each rep's expected share of a ramped rep's plan-year output, ``(rep,)`` in [0, 1]: the
    mean over plan months of ``ramp(tenure) = 1 − exp(−(tenure + 1)/ramp_tau)`` (0 before the
    hire month), from the ``hire_month`` coordinate."""
    from spm_models.planning.capacity import ramp

    since = _months_since_hire(forecast)
    ten = since[:, None] + np.arange(forecast.sizes["period"])[None, :]
    share = np.where(ten >= 0, ramp(np.maximum(ten, 0), ramp_tau), 0.0).mean(axis=1)
    return xr.DataArray(share, dims=("rep",), coords={"rep": forecast["rep"].values})


def new_rep_rule(values: xr.DataArray, forecast: xr.Dataset, cfg: Mapping[str, Any],
                 only_zero: bool = False,
                 no_base: np.ndarray | None = None) -> tuple[xr.DataArray, int]:
    """Quota (or allocation basis) of reps without a full last-year history.

    A rep hired less than ``history_months`` before the plan starts (a hire, a recent
    joiner; from the cube's ``hire_month``) gets the **median value of the reps with a full
    history in the same region** (all such reps when the region has none) × its
    :func:`ramp_share` over the plan year. With ``only_zero`` only such reps whose value is 0
    (e.g. hires owning no accounts yet) are replaced. Returns the values and how many reps
    the rule set. ``no_base`` (rep,) bool: reps with a full history that gives no usable
    basis (e.g. no positive last-year bookings for ``growth``); they get the same rule and are
    not used as peers. Documented in ``docs/planning.md`` (reps without history).
    """
    since = _months_since_hire(forecast)
    short = since < int(cfg.get("history_months", 12))
    new = short & (np.asarray(values.values) <= 0) if only_zero else short.copy()
    full = ~short if no_base is None else ~short & ~no_base
    if no_base is not None:
        new = new | no_base
    if not new.any():
        return values, 0
    vals = np.asarray(values.values, dtype=float).copy()
    if not full.any():
        raise InputError(f"{where(SECTION, 'method')}: no rep has a full last-year history"
                         + (" with positive bookings" if no_base is not None and no_base.any() else "")
                         + " to set the quotas of new reps from")
    da = forecast["bookings"]
    region = (np.asarray(da["region"].values).astype(str) if "region" in da.coords
              else np.full(da.sizes["rep"], ""))
    overall = float(np.median(vals[full]))
    share = ramp_share(forecast, float(cfg.get("ramp_tau", DEFAULT_RAMP_TAU))).values
    for i in np.flatnonzero(new):
        peers = full & (region == region[i])
        vals[i] = (float(np.median(vals[peers])) if peers.any() else overall) * share[i]
    return values.copy(data=vals), int(new.sum())


# --------------------------------------------------------------------------- config
def validate_quota_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a ``quota`` section; return it with defaults filled. Raises :class:`InputError`."""
    if config is None or not isinstance(config, Mapping):
        raise InputError(f"{where(SECTION, 'method')}: the quota section must be a mapping with 'method'")
    problems: list[str] = []
    method = choice(SECTION, config, "method", METHODS, problems, required=True)
    if method is None:
        raise_if(problems)
    problems += check_keys(SECTION, config, _COMMON_KEYS | _METHOD_KEYS[method])
    out: dict[str, Any] = {"method": method}
    out["phasing"] = choice(SECTION, config, "phasing", PHASING, problems, default="rep")
    hm = number(SECTION, config, "history_months", problems, default=12, lo=1)
    out["history_months"] = int(hm) if hm is not None else 12
    out["ramp_tau"] = number(SECTION, config, "ramp_tau", problems, default=DEFAULT_RAMP_TAU, lo=0)
    if method == "growth":
        out["growth"] = number(SECTION, config, "growth", problems, required=True, lo=-1, lo_open=True)
    elif method == "top_down":
        out["target"] = number(SECTION, config, "target", problems, required=True, lo=0, lo_open=True)
        out["allocate_by"] = choice(SECTION, config, "allocate_by", ALLOCATE_BY, problems, default="potential")
        out["over_assignment"] = number(SECTION, config, "over_assignment", problems, default=1.0, lo=0, lo_open=True)
    else:
        out["probability"] = number(SECTION, config, "probability", problems, lo=0, hi=1, lo_open=True, hi_open=True)
        out["target"] = number(SECTION, config, "target", problems, lo=0, lo_open=True)
        out["over_assignment"] = number(SECTION, config, "over_assignment", problems, default=1.0, lo=0, lo_open=True)
        rec = config.get("reconcile", True)
        if not isinstance(rec, bool):
            problems.append(f"{where(SECTION, 'reconcile')}: must be true or false, got {rec!r}")
        out["reconcile"] = bool(rec) if isinstance(rec, bool) else True
        if "probability" not in config and "target" not in config:
            problems.append(f"{where(SECTION, 'probability')}: required (or give 'target' to imply it)")
        if "probability" not in config and config.get("reconcile") is False:
            problems.append(f"{where(SECTION, 'probability')}: required when 'reconcile' is false")
    raise_if(problems)
    return out


# --------------------------------------------------------------------------- main API
def annual_quotas(
    config: Mapping[str, Any],
    forecast: xr.Dataset,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[xr.DataArray, dict[str, Any]]:
    """Annual quota per rep by the configured method, and method details for ``attrs``."""
    cfg = validate_quota_config(config)
    forecast = with_rep_attributes(forecast, tables)
    annual = annual_draws(forecast)
    reps = annual["rep"].values
    first = str(forecast["period"].values[0])
    info: dict[str, Any] = {"quota_method": cfg["method"]}
    method = cfg["method"]
    if method == "growth":
        last = last_year_bookings(tables, reps, first, cfg["history_months"])
        quota = last.clip(min=0.0) * (1.0 + cfg["growth"])
        no_base = np.asarray(last.values, dtype=float) <= 0  # growth of nothing is no quota
        quota, n_new = new_rep_rule(quota, forecast, cfg, no_base=no_base)
        info.update(growth=cfg["growth"], n_reps_new_rule=n_new,
                    n_reps_no_growth_base=int((no_base & ~(_months_since_hire(forecast)
                                                            < int(cfg["history_months"]))).sum()))
    elif method == "top_down":
        total = cfg["target"] * cfg["over_assignment"]
        by = cfg["allocate_by"]
        if by == "potential":
            basis = rep_potential(tables, forecast)
            if basis is None:
                raise InputError(
                    f"{where(SECTION, 'allocate_by')}: 'potential' needs table 'accounts' with "
                    "'potential' and 'rep_id' (or 'territory_id')"
                )
        elif by == "history":
            basis = last_year_bookings(tables, reps, first, cfg["history_months"])
        else:
            basis = annual.median("draw")
        basis = basis.clip(min=0.0)
        if by in ("potential", "history"):  # hires own no accounts and have no history yet
            basis, info["n_reps_new_rule"] = new_rep_rule(basis, forecast, cfg, only_zero=by == "potential")
        if float(basis.sum()) <= 0:
            raise InputError(f"{where(SECTION, 'allocate_by')}: the '{by}' basis sums to zero")
        quota = total * basis / basis.sum()
        info.update(target=cfg["target"], over_assignment=cfg["over_assignment"], allocate_by=by)
    else:
        target = cfg["target"]
        if target is not None:
            total = target * cfg["over_assignment"]
            p_implied = implied_probability(annual, total)
            info.update(target=target, over_assignment=cfg["over_assignment"], implied_probability=p_implied)
        if cfg["probability"] is not None:
            info["probability_requested"] = cfg["probability"]
        p = p_implied if (target is not None and cfg["reconcile"]) else cfg["probability"]
        info["probability"] = p
        quota = quantile_quota(annual, p)
    quota = xr.DataArray(
        np.asarray(quota.values, dtype=float), dims=("rep",), coords={"rep": reps}, name="annual_quota"
    )
    return quota, info


def set_quotas(
    config: Mapping[str, Any],
    forecast: xr.Dataset,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> xr.Dataset:
    """Set quotas for the forecast's plan periods.

    Parameters
    ----------
    config : the scenario's ``quota`` section (see module docstring).
    forecast : cube with ``bookings(rep, period, draw)`` for the plan periods.
    tables : source tables; ``bookings`` for ``growth``/``history``, ``accounts`` for
        ``potential`` (and the Gini of quota ÷ potential).

    Returns
    -------
    Dataset with ``quota(rep, period)`` (monthly, phased by the forecast's seasonality),
    ``annual_quota(rep)``, the fairness figures of :func:`quota_fairness` and ``attrs``
    describing the method (``quota_method``, ``implied_probability`` when a target is used …).
    """
    cfg = validate_quota_config(config)
    forecast = with_rep_attributes(forecast, tables)
    annual_q, info = annual_quotas(cfg, forecast, tables)
    weights = phasing_weights(forecast, cfg["phasing"]) * _in_post(forecast)
    wsum = weights.sum("period")
    weights = xr.where(wsum > 0, weights / wsum.where(wsum > 0, 1.0), weights)
    quota = (annual_q * weights).transpose("rep", "period")
    potential = rep_potential(tables, forecast)
    fair = quota_fairness(annual_q, forecast, potential)
    ds = fair.copy()
    ds["quota"] = quota
    ds["annual_quota"] = annual_q
    ds = ds.assign_coords(_rep_coords(forecast))
    # the p a company total of these quotas implies (for any method)
    try:
        info.setdefault("implied_probability_of_total", implied_probability(annual_draws(forecast), float(annual_q.sum())))
    except InputError:
        info.setdefault("implied_probability_of_total", float("nan"))
    ds.attrs.update({k: (json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in info.items()})
    ds.attrs["quota_config"] = json.dumps(cfg, sort_keys=True)
    ds.attrs["phasing"] = cfg["phasing"]
    return ds


def quota_fairness(
    quota_annual: xr.DataArray,
    forecast: xr.Dataset,
    potential: xr.DataArray | None = None,
) -> xr.Dataset:
    """Fairness figures of an annual quota set against the forecast draws.

    Returns a Dataset with per-rep ``p_reach(rep)`` (share of draws with plan-year bookings
    ≥ quota), ``quota_to_median(rep)``, ``share_at_quota(draw)`` (share of reps at or above
    quota in each draw), ``evaluated(rep)`` (False for reps whose draws are all equal, e.g.
    inactive the whole plan year — left out of the summaries), and scalars
    ``n_reps_evaluated``, ``p_reach_mean/sd/min/max/iqr``,
    ``expected_share_at_quota``, ``quota_to_median_mean/sd``, ``gini_quota_to_potential``
    (NaN without ``potential``).
    """
    annual = annual_draws(forecast)
    q = quota_annual.reindex(rep=annual["rep"].values)
    if bool(q.isnull().any()):
        missing = annual["rep"].values[q.isnull().values]
        raise InputError(f"quotas, rep '{missing[0]}', field 'quota': missing for a rep in the forecast")
    # reps whose plan-year draws are all equal (e.g. inactive all year) carry no probability
    evaluated = annual.max("draw") > annual.min("draw")
    if not bool(evaluated.any()):
        evaluated = xr.ones_like(evaluated, dtype=bool)
    reached = annual >= q
    p_reach = reached.mean("draw")
    share = reached.where(evaluated).mean("rep")
    median = annual.median("draw")
    with np.errstate(divide="ignore", invalid="ignore"):
        q_to_med = xr.where(median > 0, q / median, np.nan)
    p = p_reach.values[evaluated.values]
    out = xr.Dataset(
        {
            "p_reach": p_reach.rename(None),
            "quota_to_median": q_to_med,
            "share_at_quota": share,
            "evaluated": evaluated.rename(None),
            "n_reps_evaluated": int(evaluated.sum()),
            "p_reach_mean": float(p.mean()),
            "p_reach_sd": float(p.std(ddof=0)),
            "p_reach_min": float(p.min()),
            "p_reach_max": float(p.max()),
            "p_reach_iqr": float(np.subtract(*np.quantile(p, [0.75, 0.25]))),
            "expected_share_at_quota": float(share.mean()),
            "quota_to_median_mean": float(np.nanmean(q_to_med.values[evaluated.values])),
            "quota_to_median_sd": float(np.nanstd(q_to_med.values[evaluated.values])),
        }
    )
    g = float("nan")
    if potential is not None:
        pot = potential.reindex(rep=annual["rep"].values).values
        ok = np.isfinite(pot) & (pot > 0)
        if ok.any():
            g = gini(np.clip(q.values[ok], 0, None) / pot[ok])
    out["gini_quota_to_potential"] = g
    return out


def fairness_summary(ds: xr.Dataset) -> dict[str, float]:
    """The scalar fairness figures of a :func:`set_quotas` / :func:`quota_fairness` result."""
    return {k: float(v) for k, v in ds.data_vars.items() if v.ndim == 0}


#: Alias named in docs/architecture.md.
fairness = quota_fairness
