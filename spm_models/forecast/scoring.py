"""Forecast scores: CRPS from draws, MASE, interval coverage, and predictive quantiles.

All forecasts scored by the backtest -- the Bayesian model and the baselines -- are
represented the same way, as an ensemble of draws along the last axis, so that every
method is scored with the same CRPS estimator.

CRPS uses the energy form ``CRPS(F, y) = E|X - y| - 1/2 E|X - X'|`` computed from ``n``
sorted draws in ``O(n log n)``::

    E|X - X'| = 2 / n**2 * sum_i (2 i - n - 1) x_(i)        (i = 1..n, x sorted)

This is the CRPS of the empirical distribution of the draws (a point mass gives the
absolute error exactly).
"""

from __future__ import annotations

import numpy as np

#: Quantile levels written to the predictions file (column ``q025`` is level 0.025, ...).
PRED_QUANTILES: dict[str, float] = {
    "q025": 0.025,
    "q05": 0.05,
    "q10": 0.10,
    "q25": 0.25,
    "q50": 0.50,
    "q75": 0.75,
    "q90": 0.90,
    "q95": 0.95,
    "q975": 0.975,
}
#: Central intervals scored for coverage: name -> (lower quantile column, upper column).
INTERVALS: dict[str, tuple[str, str]] = {
    "coverage_80": ("q10", "q90"),
    "coverage_95": ("q025", "q975"),
}


def crps_draws(y: np.ndarray | float, draws: np.ndarray) -> np.ndarray:
    """CRPS of the empirical distribution of ``draws`` (last axis) at observations ``y``.

    Parameters
    ----------
    y : array_like
        Observations, shape ``S`` (broadcast against ``draws[..., 0]``).
    draws : ndarray
        Predictive draws, shape ``S + (n,)``.

    Returns
    -------
    ndarray
        CRPS, shape ``S``; same units as ``y``.
    """
    x = np.sort(np.asarray(draws, dtype=float), axis=-1)
    y = np.asarray(y, dtype=float)[..., None]
    n = x.shape[-1]
    if n == 0:
        raise ValueError("crps_draws needs at least one draw")
    abs_err = np.mean(np.abs(x - y), axis=-1)
    weights = 2.0 * np.arange(1, n + 1) - n - 1.0
    spread = 2.0 / n**2 * np.sum(weights * x, axis=-1)
    return abs_err - 0.5 * spread


def mean_abs_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``E|X - Y|`` for independent ``X`` and ``Y`` with the empirical distributions of the draws
    ``x (..., n)`` and ``y (..., m)`` (last axis), shape ``...``; all ``n m`` pairs (with
    ``x is y`` the zero pairs of a draw with itself included, as in :func:`crps_draws`).

    By one sort of the pooled draws: each draw contributes its value times the number of the
    other sample's draws below it minus those above it. With it the CRPS of a mixture
    ``sum_k w_k F_k`` is ``sum_k w_k E|X_k - y| - 1/2 sum_jk w_j w_k E|X_j - X_k|`` (Gneiting &
    Raftery 2007, eq. 21), a quadratic in the weights (:func:`spm_models.forecast.rep_month.stack_weights`).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, m = x.shape[-1], y.shape[-1]
    if n == 0 or m == 0:
        raise ValueError("mean_abs_difference needs at least one draw in each sample")
    z = np.concatenate([x, y], axis=-1)
    is_y = np.concatenate([np.zeros(x.shape, bool), np.ones(y.shape, bool)], axis=-1)
    order = np.argsort(z, axis=-1, kind="stable")
    z = np.take_along_axis(z, order, axis=-1)
    is_y = np.take_along_axis(is_y, order, axis=-1)
    y_below = np.cumsum(is_y, axis=-1) - is_y
    x_below = np.cumsum(~is_y, axis=-1) - ~is_y
    contrib = np.where(is_y, z * (2 * x_below - n), z * (2 * y_below - m))
    return contrib.sum(axis=-1) / (n * m)


def seasonal_period(n_history: int) -> int:
    """Seasonal period used for MASE scaling: 12 with at least 24 months of history, else 1."""
    return 12 if n_history >= 24 else 1


def mase_scale(history: np.ndarray, m: int | None = None) -> float:
    """In-sample mean absolute ``m``-lag difference of ``history`` (NaN if undefined).

    ``m`` defaults to :func:`seasonal_period` of the history length.
    """
    h = np.asarray(history, dtype=float)
    h = h[np.isfinite(h)]
    if m is None:
        m = seasonal_period(len(h))
    if len(h) <= m:
        return float("nan")
    return float(np.mean(np.abs(h[m:] - h[:-m])))


def mase(actual: np.ndarray, point: np.ndarray, history: np.ndarray, m: int | None = None) -> float:
    """Mean absolute scaled error of point forecasts ``point`` for ``actual``.

    Scaled by :func:`mase_scale` of ``history``; NaN when the scale is zero or undefined
    (constant or too short history).
    """
    scale = mase_scale(history, m)
    if not np.isfinite(scale) or scale <= 0:
        return float("nan")
    err = np.abs(np.asarray(actual, dtype=float) - np.asarray(point, dtype=float))
    return float(np.mean(err) / scale)


def quantiles_from_draws(draws: np.ndarray) -> dict[str, np.ndarray]:
    """Predictive mean and the :data:`PRED_QUANTILES` of ``draws`` along the last axis."""
    x = np.asarray(draws, dtype=float)
    levels = np.array(list(PRED_QUANTILES.values()))
    q = np.quantile(x, levels, axis=-1)
    out = {"mean": x.mean(axis=-1)}
    out.update({name: q[i] for i, name in enumerate(PRED_QUANTILES)})
    return out


def covered(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Whether each ``y`` lies in the closed interval ``[lower, upper]``.

    Closed, so that an exact zero month inside a predictive point mass at zero counts
    as covered; a relative tolerance of 1e-9 absorbs floating-point summation order.
    """
    y = np.asarray(y, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    tol = 1e-9 * (np.abs(lo) + np.abs(hi)) + 1e-12
    return (y >= lo - tol) & (y <= hi + tol)


def normal_draws(mean: np.ndarray, sd: np.ndarray, n: int) -> np.ndarray:
    """Deterministic 'draws' of Normal(mean, sd): the quantiles at ``(i - 0.5) / n``.

    Using evenly spaced quantiles instead of random draws makes the sample-based CRPS of
    a parametric forecast reproducible and accurate with few draws.
    """
    from scipy.stats import norm

    z = norm.ppf((np.arange(n) + 0.5) / n)
    return np.asarray(mean, dtype=float)[..., None] + np.asarray(sd, dtype=float)[..., None] * z


def pit_from_draws(y: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Probability integral transform of ``y`` under the empirical distribution of ``draws``
    (last axis): ``P(X < y) + P(X = y) / 2`` (mid-PIT, so that point masses, e.g. exact
    zero months, land in the middle instead of at an edge)."""
    x = np.asarray(draws, dtype=float)
    y = np.asarray(y, dtype=float)[..., None]
    return np.mean(x < y, axis=-1) + 0.5 * np.mean(x == y, axis=-1)
