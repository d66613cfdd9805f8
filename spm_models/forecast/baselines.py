"""Baseline forecasts with predictive distributions, for backtesting the Bayesian model.

Both baselines return an ensemble of ``n_draws`` deterministic "draws" per horizon (evenly
spaced quantiles of the predictive distribution), so they are scored with exactly the same
CRPS / coverage code as the model's posterior-predictive draws.

``seasonal_naive``
    Point forecast ``y[T + h - m k]`` with ``k = ceil(h / m)``; ``m = 12`` when the series
    has at least 24 months of history, else ``m = 1`` (plain naive). The predictive
    distribution adds the empirical quantiles of the in-sample errors of the same method
    at the same lag (``y[t] - y[t - m k]``). Series with fewer than
    :data:`MIN_RESIDUALS` such errors borrow the pooled *relative* errors of all series
    (errors divided by each series' mean absolute value) times their own scale.
``ets``
    statsforecast ``AutoETS`` (seasonal period 12 with >= 24 months, else non-seasonal);
    the predictive distribution is the Normal implied by its 80 % and 95 % prediction
    intervals (``sd`` = mean of the two half-widths divided by their z-values). Series too
    short for ETS fall back to a random walk whose spread comes from the lag-1 differences
    (or the pooled relative spread).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from spm_models.forecast.scoring import normal_draws

#: Fewer own in-sample errors than this -> borrow pooled relative errors.
MIN_RESIDUALS = 6
#: Minimum history (months) to use a seasonal period of 12.
SEASONAL_MIN_HISTORY = 24
BASELINES = ("seasonal_naive", "ets")


def _period(n: int) -> int:
    return 12 if n >= SEASONAL_MIN_HISTORY else 1


def _scale(y: np.ndarray) -> float:
    return float(np.mean(np.abs(y))) if len(y) else 0.0


def _lag_errors(y: np.ndarray, lag: int) -> np.ndarray:
    return y[lag:] - y[:-lag] if len(y) > lag else np.empty(0)


def _quantile_draws(values: np.ndarray, n_draws: int) -> np.ndarray:
    levels = (np.arange(n_draws) + 0.5) / n_draws
    return np.quantile(values, levels)


def pooled_relative_errors(series: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
    """Relative in-sample errors pooled over ``series``, keyed by lag.

    For every series with a positive scale, errors at lags 1, 12, 24, ... (as available)
    are divided by the series' mean absolute value.
    """
    pools: dict[int, list[np.ndarray]] = {}
    for y in series:
        y = np.asarray(y, dtype=float)
        s = _scale(y)
        if s <= 0:
            continue
        for lag in (1, 12, 24, 36):
            e = _lag_errors(y, lag)
            if len(e):
                pools.setdefault(lag, []).append(e / s)
    return {lag: np.concatenate(v) for lag, v in pools.items()}


def seasonal_naive(
    y: np.ndarray,
    h: int,
    n_draws: int = 1000,
    pooled: dict[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Seasonal-naive predictive draws, shape ``(h, n_draws)``.

    Parameters
    ----------
    y : ndarray
        Monthly history (consecutive months, no gaps), at least one value.
    h : int
        Horizon in months.
    n_draws : int
        Ensemble size.
    pooled : dict, optional
        Pooled relative errors by lag (:func:`pooled_relative_errors`) used when the
        series has too few errors of its own.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        raise ValueError("seasonal_naive needs at least one month of history")
    m = _period(n)
    out = np.empty((h, n_draws))
    scale = _scale(y)
    for step in range(1, h + 1):
        k = math.ceil(step / m)
        lag = m * k
        idx = n - 1 + step - lag
        point = y[idx]  # n - m <= idx <= n - 1 because m <= n
        errs = _lag_errors(y, lag)
        if len(errs) < MIN_RESIDUALS:
            own_m = _lag_errors(y, m)
            if len(own_m) >= MIN_RESIDUALS:
                errs = own_m * math.sqrt(k)
            elif pooled and scale > 0:
                base = pooled.get(lag)
                if base is None or not len(base):
                    base = pooled.get(m, pooled.get(1, np.zeros(1))) * math.sqrt(k)
                errs = base * scale
            elif len(own_m):
                errs = own_m * math.sqrt(k)
            else:
                errs = np.zeros(1)
        out[step - 1] = point + _quantile_draws(errs, n_draws)
    return out


def _ets_fallback(y: np.ndarray, h: int, n_draws: int, pooled_sd: float | None) -> np.ndarray:
    d = np.diff(y)
    if len(d) >= 2 and np.std(d, ddof=1) > 0:
        sd = float(np.std(d, ddof=1))
    elif pooled_sd is not None:
        sd = pooled_sd * _scale(y)
    else:
        sd = 0.0
    steps = np.arange(1, h + 1)
    return normal_draws(np.full(h, y[-1]), sd * np.sqrt(steps), n_draws)


def ets(
    y: np.ndarray,
    h: int,
    n_draws: int = 1000,
    pooled_sd: float | None = None,
    model: str = "ZZZ",
) -> np.ndarray:
    """AutoETS predictive draws, shape ``(h, n_draws)``; see the module docstring.

    ``model`` is statsforecast's ETS spec (error, trend, season; ``Z`` = chosen by AICc).
    The default ``"ZZZ"`` is fully automatic; ``"ZZA"`` forces an additive season (used
    only when the series is long enough for a seasonal period, else ``"ZZN"``).
    """
    from statsforecast.models import AutoETS

    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        raise ValueError("ets needs at least one month of history")
    if np.ptp(y) == 0:  # constant history: ETS degenerates to the constant
        return np.full((h, n_draws), y[-1])
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            m = _period(len(y))
            spec = model if m > 1 else model[:2] + "N"
            fc = AutoETS(season_length=m, model=spec).forecast(y=y, h=h, level=[80, 95])
        mean = np.asarray(fc["mean"], dtype=float)
        sd80 = (fc["hi-80"] - fc["lo-80"]) / (2 * 1.2815515655446004)
        sd95 = (fc["hi-95"] - fc["lo-95"]) / (2 * 1.959963984540054)
        sd = 0.5 * (np.asarray(sd80, dtype=float) + np.asarray(sd95, dtype=float))
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd))):
            raise FloatingPointError("non-finite ETS forecast")
        return normal_draws(mean, np.maximum(sd, 0.0), n_draws)
    except Exception:  # noqa: BLE001 - tiny/degenerate series: documented fallback
        return _ets_fallback(y, h, n_draws, pooled_sd)


def baseline_draws(
    method: str, series: Sequence[np.ndarray], h: int, n_draws: int = 1000, ets_model: str = "ZZZ"
) -> np.ndarray:
    """Draws of ``method`` for every series, shape ``(len(series), h, n_draws)``
    (``ets_model``: the ETS spec of :func:`ets`)."""
    if method not in BASELINES:
        raise ValueError(f"unknown baseline {method!r}; expected one of {BASELINES}")
    pooled = pooled_relative_errors(series)
    out = np.empty((len(series), h, n_draws))
    if method == "seasonal_naive":
        for i, y in enumerate(series):
            out[i] = seasonal_naive(y, h, n_draws, pooled)
    else:
        rel = pooled.get(1)
        pooled_sd = float(np.std(rel, ddof=1)) if rel is not None and len(rel) > 1 else None
        for i, y in enumerate(series):
            out[i] = ets(y, h, n_draws, pooled_sd, ets_model)
    return out
