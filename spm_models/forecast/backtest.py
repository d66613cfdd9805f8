"""Holdout backtest of the bookings forecast against two baselines.

:func:`run_backtest` fits the model on all but the last ``holdout`` months of a source's
``bookings`` (optionally with ``reps``), forecasts the held-out months, and scores the model
and the baselines ``seasonal_naive`` and ``ets`` (:mod:`spm_models.forecast.baselines`)
with CRPS, MASE and 80 % / 95 % interval coverage at ``rep`` and ``total`` level
(:mod:`spm_models.forecast.scoring`). See ``docs/backtest.md`` for the definitions.

What is scored
--------------
* **rep level**: every rep with at least one active training month, in every held-out
  month in which the rep is active (from the reps table's hire/term dates; without a reps
  table from the first/last booking, see :func:`spm_models.forecast.panel.monthly_panel`).
  A rep's training history runs from its first active month to the forecast origin.
* **total level**: the company's net bookings per held-out month (all bookings rows,
  including reps hired during the holdout); the baselines forecast the company total
  series directly. The model's total is a sum of draws over reps (never of quantiles);
  which reps, depends on ``headcount`` (:data:`HEADCOUNT_MODES`):

  ``steady`` (default)
      the reps employed at the origin, each conditional on staying (departures assumed
      backfilled one for one; no look-ahead at all). The total is the sum of the rep rows.
  ``attrition``
      the same reps leaving at random at the monthly rate seen in training, plus the
      planned hires of the reps table (hired after the origin; term dates hidden).
  ``hindsight``
      the actual departures and hires of the reps table (isolates the model's productivity
      forecast from headcount forecasting; uses future information, for diagnosis only).

No look-ahead (except ``hindsight``): the model sees only bookings up to the forecast
origin; a reps table is "blinded" to the origin (term dates after it are erased, reps hired
after it are removed). Reps that never book (no bookings up to the origin and hired more
than :data:`RAMP_GRACE` months before it: managers, SEs, ...) are left out of the model and
of the rep-level scores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.data.dates import month_stamp
from spm_models.errors import InputError
from spm_models.forecast import scoring
from spm_models.forecast.baselines import baseline_draws
from spm_models.forecast.fit import DEFAULT_CHAINS, DEFAULT_DRAWS, DEFAULT_TUNE
from spm_models.forecast.panel import incomplete_last_months, monthly_panel
from spm_models.provenance import hash_frames

#: Minimum number of training months left after the holdout.
MIN_TRAIN_MONTHS = 3
#: Reps hired within this many months before the origin count as selling without bookings.
RAMP_GRACE = 6
#: Inter-quartile range of reps' log mean deal size above which amounts are standardised.
STANDARDISE_LOG_IQR = 1.0
METHODS = ("model", "seasonal_naive", "ets")
TOTAL_ID = "__total__"
PRED_COLUMNS = ["rep_id", "period", "mean", *scoring.PRED_QUANTILES]

HEADCOUNT_MODES = ("steady", "attrition", "hindsight")
#: values of ``standardise`` (:func:`bayesian_forecaster`, ``--standardise``)
STANDARDISE_MODES = ("auto", "on", "off")

#: A forecaster: (training panel, held-out periods, hires or None, n_draws, seed) -> Dataset
#: with ``bookings(rep, period, draw)`` -- each rep's bookings *conditional on the rep staying
#: employed* (scored at rep level on the months the rep was active) -- and optionally
#: ``hires(rep, period, draw)``, the bookings of the given hires, and ``company(period,
#: draw)``, a company total with random attrition (used by ``headcount="attrition"``).
Forecaster = Callable[[xr.Dataset, list[str], pd.DataFrame | None, int, int], xr.Dataset]


# --------------------------------------------------------------------------- loading
def load_tables(source: str | Path, date_format: str | None = None) -> dict[str, pd.DataFrame]:
    """Load and validate a data source with the data layer (raises ``InputError``);
    ``date_format`` (``DD/MM/YYYY`` or ``MM/DD/YYYY``) as in :func:`spm_models.data.load_source`."""
    from spm_models.data import load_source

    return load_source(source, date_format)

def rep_scales(panel: xr.Dataset) -> tuple[xr.DataArray, float]:
    """Per-rep money scale: the rep's mean gross deal size in ``panel``.

    Reps without deals get the geometric mean of the others' scales (also returned, for
    reps hired later).
    """
    deals = panel["deals"].sum("period")
    gross = panel["gross"].sum("period")
    size = (gross / deals.where(deals > 0)).where(lambda x: x > 0)
    common = float(np.exp(np.log(size).mean())) if size.notnull().any() else 1.0
    return size.fillna(common), common


def needs_standardising(panel: xr.Dataset, min_deals: int = 5) -> bool:
    """Whether reps' deal sizes differ too much for the model's pooled size effects.

    True when the inter-quartile range of the reps' log mean deal size (reps with at least
    ``min_deals`` deals) exceeds :data:`STANDARDISE_LOG_IQR` (a factor of ~2.7 between the
    upper- and lower-quartile rep).
    """
    deals = panel["deals"].sum("period").values
    gross = panel["gross"].sum("period").values
    ok = (deals >= min_deals) & (gross > 0)
    if ok.sum() < 4:
        return False
    ls = np.log(gross[ok] / deals[ok])
    q75, q25 = np.percentile(ls, [75, 25])
    return bool(q75 - q25 > STANDARDISE_LOG_IQR)


def bayesian_forecaster(
    *,
    method: str = "nuts",
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    config: Mapping[str, Any] | None = None,
    diagnostics: dict[str, Any] | None = None,
    headcount: str = "steady",
    standardise: str = "auto",
    cache: dict[Any, Any] | None = None,
) -> Forecaster:
    """A :data:`Forecaster` that fits :class:`BookingsForecast` and forecasts the holdout.

    ``diagnostics`` (if given) is filled with whatever the fitted model exposes as
    ``diagnostics`` (R-hat, ESS, divergences) plus ``standardised``. With
    ``headcount="attrition"`` it also returns the company forecast with random attrition
    (:data:`HEADCOUNT_MODES`).

    ``standardise`` (``"auto"``, ``"on"``, ``"off"``): divide each rep's money amounts by the
    rep's mean deal size (:func:`rep_scales`) before fitting and multiply the forecast draws
    back; deal counts are unchanged, so this only replaces the model's partially pooled
    per-rep size effect by a fixed per-rep offset. ``"auto"`` does it when
    :func:`needs_standardising` (reps' deal sizes spread beyond what the pooled size effects
    can fit, e.g. 1000x); planned hires are scaled by the reps' geometric-mean scale.

    ``cache`` (a dict, optional) keeps fitted models keyed by the training data, settings and
    seed, so several backtests of the same split (e.g. each ``headcount``) fit once.
    """
    if standardise not in STANDARDISE_MODES:
        raise InputError(f"--standardise: must be auto, on or off, got {standardise!r}")

    def forecast(
        panel: xr.Dataset, periods: list[str], hires: pd.DataFrame | None, n_draws: int, seed: int
    ) -> xr.Dataset:
        from spm_models.forecast.model import BookingsForecast

        scaled = standardise == "on" or (standardise == "auto" and needs_standardising(panel))
        scale, common = rep_scales(panel)
        if not scaled:
            scale, common = xr.ones_like(scale), 1.0
        fit_panel = panel.copy()
        for v in ("amount", "gross", "cancel_amount"):
            fit_panel[v] = panel[v] / scale
        key = (
            hash_frames({"panel": fit_panel[["amount", "deals", "active"]].to_dataframe().reset_index()}),
            method, draws, tune, chains, seed, repr(sorted((config or {}).items())),
        )
        if cache is not None and key in cache:
            m = cache[key]
        else:
            m = BookingsForecast(dict(config) if config else None)
            m.fit(fit_panel, method=method, draws=draws, tune=tune, chains=chains, seed=seed)
            if cache is not None:
                cache[key] = m
        if diagnostics is not None:
            diagnostics.update(_jsonable(getattr(m, "diagnostics", {}) or {}))
            diagnostics["standardised"] = bool(scaled)
            ramps = [f.info["ramp"] for f in (getattr(m, "dlm", None) or {}).values() if "ramp" in f.info]
            if ramps:  # hires' ramp-up of the rep-month components (one per panel)
                diagnostics["ramp"] = _jsonable(ramps[0])

        def unscale(da: xr.DataArray) -> xr.DataArray:
            da = da.reset_coords(drop=True)
            f = scale.reset_coords(drop=True).reindex(rep=da["rep"].values, fill_value=common)
            return da * f

        # rep level: conditional on staying employed (scored only where the rep was active)
        reps = unscale(m.forecast(periods[0], len(periods), n_draws=n_draws, seed=seed)["bookings"])
        out = xr.Dataset({"bookings": reps})
        kwargs: dict[str, Any] = {"n_draws": n_draws, "seed": seed + 1}
        if hires is not None and len(hires):
            kwargs["future_reps"] = hires
            new = unscale(m.forecast(periods[0], len(periods), **kwargs)["bookings"])
            ids = set(hires["rep_id"].astype(str))
            out["hires"] = new.sel(rep=[r for r in new["rep"].values if str(r) in ids]).rename(rep="hire")
        if headcount == "attrition":
            # random attrition at the rate seen in training, plus the planned hires
            company = unscale(m.forecast(periods[0], len(periods), attrition=True, **kwargs)["bookings"])
            out["company"] = company.sum("rep")
        return out

    return forecast


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    return str(obj)


# --------------------------------------------------------------------------- result
@dataclass
class BacktestResult:
    """Metrics (the METRICS.json document), model predictions (PRED.csv rows) and the
    per-rep-month scores of every method (for diagnosing miscoverage)."""

    metrics: dict[str, Any]
    predictions: pd.DataFrame
    scores: pd.DataFrame
    #: ``{"pit": {method: (n_cells,)}, "coverage_by_horizon": {method: {"coverage_80": [h],
    #: "coverage_95": [h]}}, "periods": [h]}`` of the scored rep-months (for the plots)
    calibration: dict[str, Any] | None = None


# --------------------------------------------------------------------------- helpers
def _blind_reps(
    reps: pd.DataFrame,
    train_bookings: pd.DataFrame,
    cutoff: pd.Period,
    last: pd.Period,
    keep_hire_terms: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reps table as known at the forecast origin ``cutoff``, and the planned hires.

    * Term dates after the origin are erased (departures are not known in advance).
    * Reps hired after the origin (and without earlier bookings) are removed and returned
      as planned hires (those hired up to ``last``, the final held-out month), without
      term dates unless ``keep_hire_terms``.
    * Non-selling reps are dropped: reps without any booking up to the origin who were
      hired more than :data:`RAMP_GRACE` months before it (e.g. managers, SEs). When a
      ``role`` column exists, planned hires are kept only in roles that book.
    """
    reps = reps.copy()
    rid = reps["rep_id"].astype(str)
    booked = set(train_bookings["rep_id"].astype(str))
    has_bk = rid.isin(booked).to_numpy()
    hire = pd.to_datetime(reps["hire_date"], errors="coerce").dt.to_period("M")
    later = (hire > cutoff).to_numpy() & ~has_bk
    recent = (hire > cutoff - RAMP_GRACE).to_numpy()
    known = reps[~later & (has_bk | recent)].copy()
    hires = reps[later & (hire <= last).to_numpy()].copy()
    if "role" in reps.columns and has_bk.any():
        selling_roles = set(reps.loc[has_bk, "role"].astype(str))
        hires = hires[hires["role"].astype(str).isin(selling_roles)]
    if "term_date" in reps.columns:
        term = pd.to_datetime(known["term_date"], errors="coerce").dt.to_period("M")
        known["term_date"] = known["term_date"].where(~(term > cutoff).to_numpy(), None)
        if not keep_hire_terms:
            hires = hires.drop(columns=["term_date"])
    return known, hires


def _rep_histories(panel: xr.Dataset) -> tuple[list[str], list[np.ndarray], list[int]]:
    """Each rep's training series from its first active month to the panel end."""
    amount = panel["amount"].transpose("rep", "period").values
    active = panel["active"].transpose("rep", "period").values
    reps, series, starts = [], [], []
    for i, rep in enumerate(panel["rep"].values):
        idx = np.flatnonzero(active[i])
        if not len(idx):
            continue
        start = int(idx[0])
        reps.append(str(rep))
        series.append(amount[i, start:].astype(float))
        starts.append(start)
    return reps, series, starts


def _point_of(draws: np.ndarray) -> np.ndarray:
    """Point forecast for MASE: the predictive median (optimal for absolute error)."""
    return np.median(draws, axis=-1)


def _level_metrics(
    actual: np.ndarray,
    draws: np.ndarray,
    mask: np.ndarray,
    histories: list[np.ndarray],
    scales: np.ndarray,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics over series × periods (``mask`` selects scored cells)."""
    crps = scoring.crps_draws(actual, draws)
    q = scoring.quantiles_from_draws(draws)
    in80 = scoring.covered(actual, q["q10"], q["q90"])
    in95 = scoring.covered(actual, q["q025"], q["q975"])
    point = _point_of(draws)
    mases = []
    for i, hist in enumerate(histories):
        sel = mask[i]
        if sel.any():
            v = scoring.mase(actual[i, sel], point[i, sel], hist)
            if np.isfinite(v):
                mases.append(v)
    scaled = crps / scales[:, None]
    out = {
        "crps": float(np.mean(scaled[mask])),
        "crps_raw": float(np.mean(crps[mask])),
        "mase": float(np.mean(mases)) if mases else float("nan"),
        "coverage_80": float(np.mean(in80[mask])),
        "coverage_95": float(np.mean(in95[mask])),
        "n": int(mask.sum()),
        "n_series_mase": len(mases),
    }
    cells = {"crps": crps, "crps_scaled": scaled, "in80": in80, "in95": in95, "point": point, **q}
    return out, cells


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- main entry
def run_backtest(
    tables: Mapping[str, pd.DataFrame],
    holdout: int,
    *,
    forecaster: Forecaster | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    source: str = "tables",
    settings: Mapping[str, Any] | None = None,
    ets_model: str = "ZZZ",
    headcount: str = "steady",
    last_month: str | None = None,
) -> BacktestResult:
    """Fit on all but the last ``holdout`` months and score the held-out months.

    Parameters
    ----------
    tables
        Data-contract tables; only ``bookings`` is required, ``reps`` is optional.
    holdout
        Number of held-out months (1 .. available months - :data:`MIN_TRAIN_MONTHS`).
    forecaster
        The model (default :func:`bayesian_forecaster` with NUTS defaults).
    n_draws
        Predictive draws per cell (model and baselines alike).
    seed
        Seed of the model fit and forecast (baselines are deterministic).
    source, settings
        Recorded in the metrics' metadata.
    ets_model
        statsforecast ETS spec of the ``ets`` baseline (default fully automatic ``"ZZZ"``).
    headcount
        How the model's company total treats departures and hires (:data:`HEADCOUNT_MODES`,
        module docstring).
    last_month
        Ignore bookings after this month (``YYYY-MM``), e.g. an incomplete current month.
    """
    if "bookings" not in tables:
        raise InputError(f"{source}: table 'bookings' missing (needed for forecasting)")
    try:
        holdout = int(holdout)
    except (TypeError, ValueError) as exc:
        raise InputError(f"--holdout: must be a whole number of months, got {holdout!r}") from exc
    if holdout < 1:
        raise InputError(f"--holdout: must be at least 1 month, got {holdout}")
    if headcount not in HEADCOUNT_MODES:
        raise InputError(f"--headcount: must be one of {', '.join(HEADCOUNT_MODES)}, got {headcount!r}")
    use = {k: tables[k] for k in ("bookings", "reps") if k in tables and tables[k] is not None}
    if "bookings" in use and use["bookings"].empty:
        raise InputError(f"{source}, table 'bookings': no rows (a header only?): nothing to backtest")
    last_date = pd.to_datetime(use["bookings"]["date"], errors="coerce").max()
    last_month = str(last_month).strip() if last_month else None
    if last_month:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", last_month):
            raise InputError(f"--last-month: not a month YYYY-MM: {last_month!r}")
        lm = pd.Period(last_month, freq="M")
        bmonths = pd.to_datetime(use["bookings"]["date"], errors="coerce").dt.to_period("M")
        use["bookings"] = use["bookings"][(bmonths <= lm).to_numpy()]
        if use["bookings"].empty:
            raise InputError(f"--last-month: {lm} is before the first booking month")
        last_date = pd.to_datetime(use["bookings"]["date"], errors="coerce").max()
    full = monthly_panel(use)
    periods = [str(p) for p in full["period"].values]
    n_months = len(periods)
    if holdout > n_months - MIN_TRAIN_MONTHS:
        largest = n_months - MIN_TRAIN_MONTHS
        raise InputError(
            f"--holdout {holdout}: the bookings span {n_months} months ({periods[0]}.."
            f"{periods[-1]}) and at least {MIN_TRAIN_MONTHS} must be left for training: "
            + (f"the largest holdout is {largest}" if largest >= 1
               else f"the data are too short for a backtest ({MIN_TRAIN_MONTHS + 1} months "
                    "at least)"))
    train_periods, test_periods = periods[:-holdout], periods[-holdout:]
    cutoff = pd.Period(train_periods[-1], freq="M")

    # ---- training data as known at the origin
    bk = use["bookings"]
    months = pd.to_datetime(bk["date"], errors="coerce").dt.to_period("M")
    train_tables: dict[str, pd.DataFrame] = {"bookings": bk[months <= cutoff]}
    hires = None
    if "reps" in use:
        known, hires = _blind_reps(
            use["reps"], train_tables["bookings"], cutoff, pd.Period(test_periods[-1], freq="M"),
            keep_hire_terms=headcount == "hindsight",
        )
        train_tables["reps"] = known
    panel = monthly_panel(train_tables, start=periods[0], end=train_periods[-1])

    rep_ids, histories, _ = _rep_histories(panel)
    if not rep_ids:
        raise InputError(f"{source}, table 'bookings': no rep is active before the holdout ({periods[0]}..{cutoff})")

    # ---- actuals and the scored mask (hindsight activity from the full panel)
    full_t = full.sel(period=test_periods)
    y_rep = full_t["amount"].reindex(rep=rep_ids, fill_value=0.0).transpose("rep", "period").values.astype(float)
    mask = full_t["active"].reindex(rep=rep_ids, fill_value=False).transpose("rep", "period").values.astype(bool)
    y_total = full_t["amount"].sum("rep").values.astype(float)
    total_hist = panel["amount"].sum("rep").values.astype(float)

    # ---- scales for CRPS (rep: in-sample mean |y|; pooled fallback for all-zero histories)
    scales = np.array([np.mean(np.abs(h)) for h in histories])
    pooled_scale = float(np.mean(scales[scales > 0])) if (scales > 0).any() else 1.0
    scales = np.where(scales > 0, scales, pooled_scale)
    total_scale = float(np.mean(np.abs(total_hist))) or 1.0

    # ---- forecasts
    diagnostics: dict[str, Any] = {}
    if forecaster is None:
        forecaster = bayesian_forecaster(diagnostics=diagnostics, headcount=headcount)
    out = forecaster(panel, test_periods, hires if headcount != "steady" else None, n_draws, seed)
    fc = out["bookings"].transpose("rep", "period", "draw").sel(period=test_periods)
    fc_reps = [str(r) for r in fc["rep"].values]
    # reps the model does not forecast (it judged them gone) are forecast as zero
    model_rep = (
        fc.reindex(rep=rep_ids, fill_value=0.0).transpose("rep", "period", "draw").values.astype(float)
    )
    model_total = _model_total(out, fc, full_t, headcount, test_periods)
    n_missing = len(set(rep_ids) - set(fc_reps))
    h = len(test_periods)
    draws_by_method: dict[str, tuple[np.ndarray, np.ndarray]] = {"model": (model_rep, model_total)}
    for name in ("seasonal_naive", "ets"):
        rep_d = baseline_draws(name, histories, h, n_draws, ets_model=ets_model)
        tot_d = baseline_draws(name, [total_hist], h, n_draws, ets_model=ets_model)[0]
        draws_by_method[name] = (rep_d, tot_d)

    # ---- scoring
    metrics: dict[str, Any] = {}
    rows = []
    calibration: dict[str, Any] = {"pit": {}, "coverage_by_horizon": {}, "periods": test_periods}
    for name, (rep_d, tot_d) in draws_by_method.items():
        rep_m, cells = _level_metrics(y_rep, rep_d, mask, histories, scales)
        calibration["pit"][name] = scoring.pit_from_draws(y_rep, rep_d)[mask]
        n_h = np.maximum(mask.sum(axis=0), 1)
        calibration["coverage_by_horizon"][name] = {
            "coverage_80": ((cells["in80"] & mask).sum(axis=0) / n_h).tolist(),
            "coverage_95": ((cells["in95"] & mask).sum(axis=0) / n_h).tolist(),
        }
        tot_m, _ = _level_metrics(
            y_total[None, :], tot_d[None, ...], np.ones((1, h), bool), [total_hist], np.array([total_scale])
        )
        # total level: raw CRPS (currency) as ``crps``, the scaled one as ``crps_scaled``
        tot_m = {"crps": tot_m["crps_raw"], "crps_scaled": tot_m["crps"],
                 **{k: v for k, v in tot_m.items() if k not in ("crps", "crps_raw")}}
        metrics[name] = {"rep": rep_m, "total": tot_m}
        for i, rep in enumerate(rep_ids):
            for j, per in enumerate(test_periods):
                if mask[i, j]:
                    rows.append(
                        (name, rep, per, y_rep[i, j], cells["crps"][i, j], cells["crps_scaled"][i, j],
                         cells["q10"][i, j], cells["q90"][i, j], cells["q025"][i, j], cells["q975"][i, j],
                         bool(cells["in80"][i, j]), bool(cells["in95"][i, j]))
                    )
    scores = pd.DataFrame(
        rows,
        columns=["method", "rep_id", "period", "actual", "crps", "crps_scaled",
                 "q10", "q90", "q025", "q975", "in80", "in95"],
    )

    # ---- predictions file (model): every forecast rep + company total
    preds = predictions_frame(fc, test_periods, model_total)

    tot = {k: metrics[k]["total"]["crps"] for k in METHODS}
    metrics["relative"] = {
        "total_crps_model_over_seasonal_naive": tot["model"] / tot["seasonal_naive"] if tot["seasonal_naive"] else None,
        "total_crps_model_over_ets": tot["model"] / tot["ets"] if tot["ets"] else None,
    }
    metrics["metadata"] = {
        "source": str(source),
        "holdout": holdout,
        "periods": test_periods,
        "train_periods": [train_periods[0], train_periods[-1]],
        "n_train_months": len(train_periods),
        "n_reps": len(rep_ids),
        "n_reps_scored": int(mask.any(axis=1).sum()),
        "n_rep_months": int(mask.sum()),
        "n_reps_forecast": len(fc_reps),
        "n_reps_not_forecast": n_missing,
        "headcount": headcount,
        "n_planned_hires": 0 if hires is None or headcount == "steady" else len(hires),
        "has_reps_table": "reps" in use,
        "last_booking_date": None if pd.isna(last_date) else str(pd.Timestamp(last_date).date()),
        # a last booking early in its month suggests an incomplete month (see --last-month),
        # unless the bookings are dated by month (one row per rep and month)
        "last_month_maybe_partial": bool(not pd.isna(last_date) and pd.Timestamp(last_date).day < 20
                                         and month_stamp(use["bookings"]["date"]) is None),
        "last_month": last_month,
        # trailing months in which most reps have no booking row (one rep's rows run past the
        # others': an export cut early); their reps are scored against 0 there
        "incomplete_last_months": incomplete_last_months(use["bookings"]),
        "data_hash": hash_frames(use),
        "seed": int(seed),
        "n_draws": int(n_draws),
        "ets_model": ets_model,
        "settings": _jsonable(dict(settings or {})),
        "diagnostics": diagnostics,
        # what model: auto chose and why (rolling origin on the training months)
        "model_selection": diagnostics.get("model_selection"),
        "definitions": {
            "crps": "sample CRPS, energy form E|X-y| - E|X-X'|/2 over the draws (same for all methods); "
            "rep level: divided by the rep's in-sample mean |monthly bookings| and averaged over "
            "rep-months (crps_raw: unscaled); total level: currency units (crps_scaled: divided by "
            "the in-sample mean |monthly total|)",
            "mase": "mean |actual - median forecast| / in-sample mean |y_t - y_{t-m}|, m = 12 with >= 24 "
            "months of history else 1; rep level: mean over reps with a positive scale",
            "coverage": "share of scored cells with actual in the closed central 80 % [q10, q90] / "
            "95 % [q025, q975] interval",
            "rep_scope": "reps active in training, held-out months in which they are active",
            "total_scope": "company net bookings per held-out month; model total = sum of rep draws "
            "per the headcount mode (steady: reps at the origin, conditional on staying)",
        },
    }
    return BacktestResult(metrics=_nan_to_none(metrics), predictions=preds, scores=scores,
                          calibration=calibration)


def _model_total(
    out: xr.Dataset, fc: xr.DataArray, full_t: xr.Dataset, headcount: str, periods: list[str]
) -> np.ndarray:
    """Draws ``(period, draw)`` of the model's company total for ``headcount``."""
    if headcount == "attrition" and "company" in out:
        return out["company"].transpose("period", "draw").sel(period=periods).values.astype(float)
    reps = fc
    if headcount == "hindsight":
        act = full_t["active"].reindex(rep=fc["rep"].values, fill_value=False).sel(period=periods)
        reps = fc * act.astype(float)
    total = reps.sum("rep").transpose("period", "draw").values.astype(float)
    if headcount != "steady" and "hires" in out:
        total = total + out["hires"].sum("hire").transpose("period", "draw").sel(period=periods).values
    return total


def predictions_frame(
    fc: xr.DataArray, periods: list[str], total: np.ndarray | None = None
) -> pd.DataFrame:
    """PRED.csv rows: quantiles per rep and period, plus ``__total__`` rows.

    The total's quantiles come from draws summed over reps (``total``, shape ``(period,
    draw)``; default ``fc`` summed over ``rep``) -- never from summed quantiles.
    """
    fc = fc.transpose("rep", "period", "draw").sel(period=periods)
    reps = [str(r) for r in fc["rep"].values]
    vals = fc.values.astype(float)
    if total is None:
        total = vals.sum(axis=0)
    q_rep = scoring.quantiles_from_draws(vals)
    q_tot = scoring.quantiles_from_draws(np.asarray(total, dtype=float)[None])
    ids = np.repeat(np.array(reps + [TOTAL_ID], dtype=object), len(periods))
    per = np.tile(np.array(periods, dtype=object), len(reps) + 1)
    data: dict[str, Any] = {"rep_id": ids, "period": per}
    for col in PRED_COLUMNS[2:]:
        data[col] = np.concatenate([q_rep[col].reshape(-1), q_tot[col].reshape(-1)])
    return pd.DataFrame(data, columns=PRED_COLUMNS)


# --------------------------------------------------------------------------- writing
def plot_paths(out: str | Path) -> dict[str, Path]:
    """Calibration plots written next to METRICS.json: ``<stem>.pit.png`` (PIT histogram) and
    ``<stem>.coverage.png`` (coverage by horizon)."""
    out = Path(out)
    return {"pit": out.with_name(f"{out.stem}.pit.png"), "coverage": out.with_name(f"{out.stem}.coverage.png")}


def _write_plots(result: BacktestResult, out: Path) -> list[tuple[Path, Path]]:
    """Render the calibration plots to temporary files; returns (tmp, final) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spm_models.plots.forecast import plot_coverage_by_horizon, plot_pit_histogram

    cal = result.calibration
    assert cal is not None, "calibration is computed by run_backtest"
    paths = plot_paths(out)
    pairs = []
    for key, fig in (("pit", plot_pit_histogram(cal["pit"])),
                     ("coverage", plot_coverage_by_horizon(cal["coverage_by_horizon"], cal["periods"]))):
        tmp = paths[key].with_name(f".{paths[key].name}.{os.getpid()}.tmp.png")
        fig.savefig(tmp, dpi=110)
        plt.close(fig)
        pairs.append((tmp, paths[key]))
    return pairs


def write_outputs(result: BacktestResult, out: str | Path, predictions: str | Path | None = None) -> None:
    """Write METRICS.json (and PRED.csv, and the calibration plots of :func:`plot_paths` when
    ``result.calibration`` is set) atomically: temp files in the same folder, then rename."""
    import json

    out = Path(out)
    doc = _nan_to_none(_jsonable(result.metrics))
    targets = [(out, json.dumps(doc, indent=2, allow_nan=False) + "\n")]
    if predictions is not None:
        targets.append((Path(predictions), result.predictions.to_csv(index=False, float_format="%.10g")))
    for path, _ in targets:
        if not path.parent.exists():
            raise InputError(f"{path}: output folder {path.parent} does not exist")
    tmps = []
    try:
        for path, text in targets:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            tmps.append((tmp, path))
        if result.calibration:
            tmps.extend(_write_plots(result, out))
        for tmp, path in tmps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in tmps:
            if tmp.exists():
                tmp.unlink()
