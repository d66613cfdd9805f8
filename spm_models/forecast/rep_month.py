"""Rep-month model components and the evidence-based model choice (``model: auto``).

A fitted :class:`~spm_models.forecast.model.BookingsForecast` holds one or more *components*
with stacking weights:

``deals``      the deal-count x deal-size model (PyMC, :mod:`spm_models.forecast.model`), for
               deal-level data;
``dlm:none``   the pooled dynamic linear model on standardised amounts
               (:mod:`spm_models.forecast.dlm`);
``dlm:log``    the same on log amounts (multiplicative level and seasonality) for reps whose
               amounts are all positive;
``ssoe:none``, ``ssoe:log``  the same structure in single-source-of-error form (ETS's
               innovations state space: one error per month moves level, trend and season).
``...:drift``  each of the above with the ``drift`` trend set (a constant slope per rep, or
               none, on a fixed seasonal pattern) instead of the moving ``local`` trend and season (:data:`spm_models.forecast.dlm_local.TREND_SETS`).

``model: auto`` fits every applicable candidate on the training panel minus its last
``auto_holdout`` months, forecasts those months (and, with ``auto_origins`` > 1, earlier
windows of the same length: :func:`validation_origins`), and chooses stacking weights that minimise
the mean scaled CRPS of the mixture over the held-out rep-months (a rolling-origin estimate
of out-of-sample predictive performance, in the spirit of approximate leave-future-out
cross-validation, Buerkner, Gabry & Vehtari 2020, J. Stat. Comput. Simul.; stacking of
predictive distributions, Yao, Vehtari, Simpson & Gelman 2018, Bayesian Analysis). Weights
lie on a 0.1 grid of the simplex (0.2 beyond three candidates), each weighting scored by the
mixture's exact CRPS (:func:`stack_weights`); the record of the choice (scores, weights, why) goes to the
fit's diagnostics under ``model_selection``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.forecast import scoring

#: share of active rep-months with more than one deal above which data count as deal level
DEAL_LEVEL_SHARE = 0.2
#: draws per cell used to score candidates in the selection
SELECT_DRAWS = 300
#: rep-month model families: ``dlm`` (independent disturbances) and ``ssoe`` (single source
#: of error, ETS's innovations form); each on the standardised and on the log scale
FAMILIES = ("dlm", "ssoe")


def panel_month_index(panel: xr.Dataset) -> np.ndarray:
    """Calendar month 0..11 of each period of ``panel``."""
    return np.array([pd.Period(str(p), freq="M").month - 1 for p in panel["period"].values])


def is_deal_level(panel: xr.Dataset) -> bool:
    """Whether the bookings are deal by deal (several deals in many rep-months) rather than
    one amount per rep and month (finance exports)."""
    act = np.asarray(panel["active"].values, bool)
    deals = np.asarray(panel["deals"].values)[act]
    return bool(len(deals) and np.mean(deals > 1) >= DEAL_LEVEL_SHARE)


def log_applicable(panel: xr.Dataset, min_share: float = 0.5) -> bool:
    """The log variant helps only when most reps have strictly positive training amounts."""
    act = np.asarray(panel["active"].values, bool)
    y = np.asarray(panel["amount"].values, float)
    pos = [bool(np.all(y[r, act[r]] > 0)) for r in range(y.shape[0]) if act[r].any()]
    return bool(pos) and float(np.mean(pos)) >= min_share


def candidates(panel: xr.Dataset, model: str, transform: str) -> list[str]:
    """Candidate components for ``model`` (``auto``/``deals``/``dlm``) and ``dlm_transform``
    (``auto`` adds ``fam:rep``, each rep on the scale of higher evidence, when the log scale
    applies)."""
    dlm = []
    for fam in FAMILIES:
        if transform in ("auto", "none"):
            dlm.append(f"{fam}:none")
        if transform in ("auto", "log") and (transform == "log" or log_applicable(panel)):
            dlm.append(f"{fam}:log")
    if transform == "auto" and log_applicable(panel):
        dlm += [f"{fam}:rep" for fam in FAMILIES]
    dlm += [f"{name}:drift" for name in dlm]
    if model == "dlm":
        return dlm
    if model == "deals":
        return ["deals"]
    return dlm + (["deals"] if is_deal_level(panel) else [])


def fit_component(name: str, panel: xr.Dataset, memo: dict[Any, Any] | None = None, with_ramp: bool = True):
    """The fitted rep-month component ``name`` (``family:transform[:trend]``, transform ``none``,
    ``log`` or ``rep``, trend set ``local`` (default) or ``drift``, :data:`spm_models.forecast.dlm_local.TREND_SETS`) of ``panel`` (:func:`spm_models.forecast.dlm.fit_dlm`; ``rep``:
    :func:`spm_models.forecast.dlm_scale.combine_scales` of the ``none`` and ``log`` fits).
    ``memo`` (optional dict) keeps fits by component and months, so that ``rep`` reuses the
    two single-scale fits of the same panel. Hires' ramp-up (:func:`spm_models.forecast.ramp.estimate`,
    unless ``with_ramp`` is false) is divided out before the fit and recorded in ``info["ramp"]``."""
    from spm_models.forecast import dlm, dlm_scale, ramp

    periods = panel["period"].values
    key = (name, str(periods[0]), str(periods[-1]), panel.sizes["rep"])
    if memo is not None and key in memo:
        return memo[key]
    fam, tr, *rest = name.split(":")
    trend = rest[0] if rest else "local"
    suffix = f":{trend}" if rest else ""
    if tr == "rep":
        fit = dlm_scale.combine_scales(fit_component(f"{fam}:none{suffix}", panel, memo, with_ramp),
                                       fit_component(f"{fam}:log{suffix}", panel, memo, with_ramp))
    else:
        forms = {} if memo is None else memo.setdefault(("forms", fam, tr) + key[1:], {})
        rkey = ("ramp",) + key[1:]  # one ramp estimate per panel, shared by its components
        ramp_fit = None if memo is None else memo.get(rkey)
        if ramp_fit is None:
            ramp_fit = ramp.estimate(panel) if with_ramp else {"used": False, "reason": "ramp: false in the config"}
        if memo is not None:
            memo[rkey] = ramp_fit
        fit = dlm.fit_dlm(ramp.deramp(panel, ramp_fit), np.asarray(panel["active"].values, bool),
                          panel_month_index(panel), transform=tr, family=fam, trend=trend, forms=forms)
        fit.info["ramp"] = ramp_fit
    if memo is not None:
        memo[key] = fit
    return fit


def new_rep_draws(panel: xr.Dataset, tenure: np.ndarray, n_draws: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Draws ``(n_draws, H, P)`` for reps not in the panel (planned hires).

    Population-level predictive without a parametric rep model: each draw of a hire's month
    at tenure ``k`` is the amount of a randomly chosen active training rep-month at the same
    tenure (reps hired inside the panel; the nearest observed tenure otherwise), so ramp-up
    and the spread between reps come from the organisation's own history.
    """
    act = np.asarray(panel["active"].values, bool)
    ten = np.asarray(panel["tenure"].values, float)
    y = np.asarray(panel["amount"].values, float)
    obs_t, obs_y = ten[act], y[act]
    H, P = tenure.shape
    out = np.zeros((n_draws, H, P))
    if not len(obs_y):
        return out
    uniq = np.unique(obs_t)
    pools = {k: obs_y[obs_t == k] for k in uniq}
    for i in range(H):
        for j in range(P):
            k = tenure[i, j]
            if k < 0:
                continue
            near = uniq[np.argmin(np.abs(uniq - k))]
            pool = pools[near]
            out[:, i, j] = pool[rng.integers(0, len(pool), n_draws)]
    return out


def mixture(draws: dict[str, np.ndarray], weights: dict[str, float] | tuple[float, ...]) -> np.ndarray:
    """Draws ``(R, h, n)`` of the mixture of ``draws`` (``(R, h, n_k)`` each, exchangeable) with
    ``weights`` (by name, or in the order of ``draws``): the first ``w_k n`` draws of each
    component, ``n`` = the fewest draws of any component (largest weight takes the rest)."""
    names = list(draws)
    w = np.array([weights.get(k, 0.0) for k in names] if isinstance(weights, dict) else weights, float)
    n = min(d.shape[-1] for d in draws.values())
    counts = np.floor(w * n + 1e-9).astype(int)
    counts[np.argmax(w)] += n - counts.sum()
    return np.concatenate([draws[k][..., :c] for k, c in zip(names, counts) if c > 0], axis=-1)


def holdout_scores(y: np.ndarray, draws: np.ndarray, mask: np.ndarray, scale: np.ndarray) -> dict[str, float]:
    """Mean scaled CRPS and the share of held-out rep-months inside the central 80 % and 95 %
    predictive intervals. ``y (R, h)``, ``draws (R, h, n)``, ``mask (R, h)``, ``scale (R,)``."""
    crps = scoring.crps_draws(y, draws) / scale[:, None]
    q = np.quantile(draws, [0.025, 0.1, 0.9, 0.975], axis=-1)
    in80 = scoring.covered(y, q[1], q[2])
    in95 = scoring.covered(y, q[0], q[3])
    return {"crps": float(np.mean(crps[mask])), "coverage_80": float(np.mean(in80[mask])),
            "coverage_95": float(np.mean(in95[mask]))}


def _simplex_grid(k: int, step: float) -> np.ndarray:
    """All weightings of ``k`` candidates on the ``step`` grid of the simplex, ``(n, k)``
    (compositions of ``1/step`` into ``k`` parts, stars and bars)."""
    units = round(1 / step)
    rows = []
    for bars in itertools.combinations(range(units + k - 1), k - 1):
        edges = (-1,) + bars + (units + k - 1,)
        rows.append([edges[i + 1] - edges[i] - 1 for i in range(k)])
    return np.asarray(rows, float) / units


def _weights_label(names: list[str], w) -> str:
    """The key of a weighting in :func:`stack_weights`' scores, e.g. ``dlm:none=0.4,ssoe:none=0.6``."""
    return ",".join(f"{k}={x:.1f}" for k, x in zip(names, w))


def stack_weights(draws: dict[str, np.ndarray], y: np.ndarray, mask: np.ndarray,
                  scale: np.ndarray, step: float = 0.1) -> tuple[dict[str, float], dict[str, float]]:
    """Stacking weights on the ``step`` grid of the simplex minimising the mean scaled CRPS of
    the mixture of ``draws`` (stacking of predictive distributions, Yao et al. 2018).

    ``draws[name]``: ``(R, h, n)`` with exchangeable draws; ``y (R, h)``; ``mask (R, h)``;
    ``scale (R,)``. The mixture's CRPS is exact for every weighting: a quadratic in the
    weights whose coefficients -- each candidate's ``E|X - y|`` and each pair's ``E|X_j - X_k|``,
    averaged over the held-out rep-months -- are computed once
    (:func:`spm_models.forecast.scoring.mean_abs_difference`): the cost grows with the number
    of candidate pairs, not with the number of weightings. A candidate with a non-finite draw
    in a held-out cell scores NaN in every weighting that uses it (those are not chosen).
    Returns (weights, CRPS of every evaluated weighting keyed by a label); ties (within 1e-12)
    go to the first weighting of the grid. Raises ``ValueError`` when no weighting has a
    finite CRPS.
    """
    names = list(draws)
    sc = np.broadcast_to(np.asarray(scale, float)[:, None], np.shape(y))[mask]
    X = [np.asarray(draws[k], float)[mask] for k in names]  # (cells, n) each
    obs = np.asarray(y, float)[mask][:, None]
    a = np.array([np.mean(np.mean(np.abs(x - obs), axis=-1) / sc) for x in X])
    B = np.zeros((len(names), len(names)))
    for i, j in itertools.combinations_with_replacement(range(len(names)), 2):
        B[i, j] = B[j, i] = np.mean(scoring.mean_abs_difference(X[i], X[j]) / sc)
    bad = ~np.isfinite(a) | ~np.isfinite(np.diag(B))  # e.g. an overflowing draw
    a[bad], B[bad], B[:, bad] = 0.0, 0.0, 0.0
    W = _simplex_grid(len(names), step)
    crps = W @ a - 0.5 * np.einsum("gi,ij,gj->g", W, B, W)
    crps[(W[:, bad] > 0).any(axis=1)] = np.nan
    scores = {_weights_label(names, w): float(v) for w, v in zip(W, crps)}
    if not np.isfinite(crps).any():
        raise ValueError("stack_weights: no finite CRPS for any weighting")
    best = W[np.flatnonzero(crps <= np.nanmin(crps) + 1e-12)[0]]
    return {k: float(x) for k, x in zip(names, best)}, scores


def validation_split(panel: xr.Dataset, holdout: int) -> tuple[xr.Dataset, list[str]] | None:
    """Training panel minus its last ``holdout`` months (None when too short: fewer than 12
    months would remain)."""
    T = panel.sizes["period"]
    h = min(holdout, T // 3)
    if h < 3 or T - h < 12:
        return None
    periods = [str(p) for p in panel["period"].values]
    return panel.isel(period=slice(0, T - h)), periods[T - h:]


#: training months an earlier origin needs (two seasonal cycles), so that it is scored like the last
MIN_ORIGIN_TRAIN = 24


def validation_origins(panel: xr.Dataset, holdout: int, origins: int) -> list[tuple[xr.Dataset, list[str]]]:
    """Rolling origins for the model choice: the last ``holdout`` training months, fitted on the
    months before, then up to ``origins - 1`` earlier windows of the same length, each ending
    where the next begins (Tashman 2000, IJF, rolling-origin evaluation). An earlier origin is
    used only with the full ``holdout`` and at least :data:`MIN_ORIGIN_TRAIN` training months.
    Empty when even the last window does not fit (:func:`validation_split`)."""
    first = validation_split(panel, holdout)
    if first is None:
        return []
    out = [first]
    h = len(first[1])
    if h < holdout:  # a shortened last window: the history has no room for earlier ones
        return out
    T = panel.sizes["period"]
    for k in range(1, origins):
        end = T - k * h
        if end - h < MIN_ORIGIN_TRAIN:
            break
        window = validation_split(panel.isel(period=slice(0, end)), h)
        if window is None:
            break
        out.append(window)
    return out


def _window(panel: xr.Dataset, train: xr.Dataset, periods: list[str]):
    """Held-out amounts, activity and MASE-style scale of the reps active at ``train``'s end."""
    last_active = np.asarray(train["active"].values, bool)[:, -1]
    reps = np.asarray(train["rep"].values)[last_active]
    full = panel.sel(period=periods)
    y = np.asarray(full["amount"].sel(rep=reps).values, float)
    mask = np.asarray(full["active"].sel(rep=reps).values, bool)
    act_tr = np.asarray(train["active"].values, bool)[last_active]
    amt_tr = np.asarray(train["amount"].values, float)[last_active]
    scale = np.array([np.mean(np.abs(a[m])) if m.any() else 0.0 for a, m in zip(amt_tr, act_tr)])
    return y, mask, np.where(scale > 0, scale, np.mean(scale[scale > 0]) if (scale > 0).any() else 1.0)


def select(panel: xr.Dataset, names: list[str], holdout: int,
           forecast_fn, seed: int, origins: int = 1) -> dict[str, Any]:
    """Rolling-origin choice among ``names`` (see module docstring), on ``origins`` windows
    (:func:`validation_origins`) whose held-out rep-months are scored together.

    ``forecast_fn(component, train_panel, periods, n_draws, seed)`` returns draws
    ``(R_train_end_active, h, n)`` aligned with the reps active at the training end.
    """
    windows = validation_origins(panel, holdout, origins)
    if not windows:
        default = names[0]
        return {"weights": {default: 1.0}, "candidates": names,
                "reason": f"history of {panel.sizes['period']} months too short for a validation window; "
                          f"default {default}"}
    cells = [_window(panel, train, periods) for train, periods in windows]
    y, mask, scale = (np.concatenate(parts) for parts in zip(*cells))
    draws, errors = {}, {}
    for name in names:
        try:
            draws[name] = np.concatenate([forecast_fn(name, train, periods, SELECT_DRAWS, seed)
                                          for train, periods in windows])
        except Exception as exc:  # noqa: BLE001 -- a candidate that cannot be fitted is reported, not chosen
            errors[name] = f"{type(exc).__name__}: {exc}"
    if not draws and len(names) == 1:
        return {"weights": {names[0]: 1.0}, "candidates": names, "errors": errors,
                "reason": f"only one applicable candidate ({names[0]}); its holdout fit failed, not scored"}
    if not draws:
        raise RuntimeError(f"model selection: no candidate could be fitted ({errors})")
    per = {k: holdout_scores(y, d, mask, scale) for k, d in draws.items()}
    single = {k: v["crps"] for k, v in per.items()}
    best_single = min(single, key=lambda k: single[k])
    spans = [f"{p[0]}..{p[-1]}" for _, p in windows]
    window = (f"the last {len(windows[0][1])} training months ({spans[0]}"
              + (f"; and {len(windows) - 1} earlier window(s), {', '.join(spans[1:])}" if len(windows) > 1 else "")
              + (f"; {origins} origins asked, the history holds {len(windows)} with {MIN_ORIGIN_TRAIN} training "
                 "months before each" if origins > len(windows) else "")
              + f"; {int(mask.sum())} rep-months), each fitted on the months before it")
    if len(names) == 1:
        weights = {names[0]: 1.0}
        reason = f"only one applicable candidate ({names[0]}); scored on {window}"
    else:  # a coarser grid beyond 3 candidates (0.2: 56 weightings of 4, 4,368 of 12)
        weights, grid = stack_weights(draws, y, mask, scale, step=0.1 if len(draws) <= 3 else 0.2)
    chosen = {k: w for k, w in weights.items() if w > 0}
    scores = holdout_scores(y, mixture(draws, chosen), mask, scale)
    if len(chosen) > 1:  # the mixture's exact CRPS (its draws' differs by Monte Carlo noise)
        scores["crps"] = grid[_weights_label(list(weights), weights.values())]
    if len(names) > 1:
        reason = (f"stacking weights minimising mean scaled CRPS over {window}; best single "
                  f"{best_single} ({single[best_single]:.4f}), chosen mixture {scores['crps']:.4f}")
    return {"weights": chosen, "candidates": names, "validation_crps": single,
            "validation_coverage_80": {k: v["coverage_80"] for k, v in per.items()},
            "validation_coverage_95": {k: v["coverage_95"] for k, v in per.items()},
            "validation_crps_chosen": scores["crps"], "validation_coverage_80_chosen": scores["coverage_80"],
            "validation_coverage_95_chosen": scores["coverage_95"],
            "validation_periods": [windows[-1][1][0], windows[0][1][-1]], "validation_origins": len(windows),
            "validation_origins_requested": origins,
            "validation_rep_months": int(mask.sum()),
            "errors": errors, "reason": reason}
