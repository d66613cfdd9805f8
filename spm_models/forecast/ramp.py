"""Ramp-up of new hires in the rep-month models: estimated from the panel's own hires.

A rep hired inside the panel books less in its first months while it ramps up. Fitted as is,
the rep-month models (:mod:`spm_models.forecast.dlm`) read those months as the rep's seasonal
pattern (and repeat a low January a year later) or as a trend. Here the ramp is the project's
ramp curve (:func:`spm_models.planning.capacity.ramp`)::

    exponential  r(k) = 1 - exp(-(k + 1) / tau)     k = tenure in months (0 in the hire month)
    linear       r(k) = min(1, (k + 1) / L)          (a quota-style ramp: 25/50/75/100 % for L = 4)

whichever family and parameter fit the panel best: every pair of consecutive positive months
of a rep hired inside the panel, at tenures ``k`` and ``k + 1 < RAMP_MONTHS``, gives
``d = log(y_{k+1} / s_{m+1}) - log(y_k / s_m) - g`` (``s_m``: the pooled calendar-month index
of all reps; ``g``: the median of the same difference over all non-ramping months, the
panel's common growth), and the curve minimises ``sum |d - log r(k + 1) + log r(k)|`` (least
absolute deviations, robust to lumpy months) over a grid of both families. The ramp is used only when the panel holds
at least :data:`MIN_HIRES` such hires, ``r(0) < MAX_FIRST`` (a clear ramp) and the hires
resampled with replacement (:data:`BOOTSTRAP` times, seeded) give such a ramp in at least
:data:`CONFIDENCE` of the resamples (lumpy deal-level months alone produce "ramps" that do not
survive it; Efron & Tibshirani 1993, *An Introduction to the Bootstrap*); otherwise ``r = 1``.
Ramps longer than :data:`RAMP_MONTHS` are cut there (``r = 1`` from month 12 on). Reps tenured before the data (panel tenure :data:`spm_models.forecast.panel.TENURED`)
never ramp.

The rep-month models are fitted to ``y / r(tenure)`` (:func:`deramp`) and their forecast draws
multiplied by ``r`` at the forecast tenure (:func:`multipliers`): a hire's forecast reaches its
ramped level instead of repeating its first months. Planned hires take the organisation's
own rep-months by tenure (:func:`spm_models.forecast.rep_month.new_rep_draws`), so they ramp
as the data do.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

#: tenure months over which the ramp is estimated and applied (r = 1 from here on)
RAMP_MONTHS = 12
#: hires (reps whose tenure-0 month is in the panel, with a scored pair) needed to estimate it
MIN_HIRES = 4
#: the ramp is used only when the hire month books less than this share of a ramped month
MAX_FIRST = 0.9
#: resamples of the hires (bootstrap) and the share of them that must show a ramp for it to be used
BOOTSTRAP = 200
CONFIDENCE = 0.99
#: the grid of each family's parameter (months): ``tau`` of the exponential, ``L`` of the linear ramp
GRID = {"exponential": np.round(np.arange(0.1, 12.01, 0.1), 2), "linear": np.round(np.arange(1.0, 12.01, 0.25), 2)}


def curve(family: str, param: float, months: int = RAMP_MONTHS) -> np.ndarray:
    """``r(k)`` of a ramp ``family`` (``"exponential"``: ``param`` = tau, ``"linear"``: ``param`` =
    L) for tenure ``k = 0 .. months - 1``, shape ``(months,)``. Raises ``ValueError`` for an
    unknown family."""
    k = np.arange(months, dtype=float)
    if family == "exponential":
        return 1.0 - np.exp(-(k + 1.0) / param)
    if family == "linear":
        return np.minimum(1.0, (k + 1.0) / param)
    raise ValueError(f"unknown ramp family {family!r}")


def estimate(panel: xr.Dataset) -> dict[str, Any]:
    """The ramp of ``panel`` (dims ``rep``, ``period``; ``amount``, ``active`` and ``tenure``; no
    ramp without ``tenure``).

    Returns ``{"family", "param", "multipliers" (RAMP_MONTHS,), "n_hires", "n_pairs", "used",
    "reason"}``;
    ``multipliers`` are all 1 when the ramp is not used.
    """
    if "tenure" not in panel:
        return {"family": "none", "param": 0.0, "multipliers": [1.0] * RAMP_MONTHS, "n_hires": 0,
                "n_pairs": 0, "used": False, "reason": "no tenure in the panel: no ramp"}
    y = np.asarray(panel["amount"].transpose("rep", "period").values, float)
    act = np.asarray(panel["active"].transpose("rep", "period").values, bool)
    ten = np.asarray(panel["tenure"].transpose("rep", "period").values)
    from spm_models.forecast.rep_month import panel_month_index

    month = panel_month_index(panel)
    pos = act & (y > 0)
    # pooled calendar-month index: median of each rep-month over its rep's mean, normalised
    rep_mean = np.array([y[i, pos[i]].mean() if pos[i].any() else np.nan for i in range(len(y))])
    ratio = np.where(pos, y / rep_mean[:, None], np.nan)
    s = np.ones(12)
    for m in range(12):
        v = ratio[:, month == m]
        v = v[np.isfinite(v)]
        if len(v):
            s[m] = np.median(v)
    s = s / np.mean(s)
    adj = np.log(np.where(pos, y, np.nan)) - np.log(s[month])[None, :]
    k = ten[:, :-1]
    both = pos[:, :-1] & pos[:, 1:]
    diff = adj[:, 1:] - adj[:, :-1]
    ok = both & (k >= 0) & (k < RAMP_MONTHS - 1) & (ten == 0).any(axis=1)[:, None]
    hires = int(np.sum(ok.any(axis=1)))
    steady = both & (k >= RAMP_MONTHS)
    g = float(np.median(diff[steady])) if steady.any() else 0.0
    d, kk = diff[ok] - g, k[ok].astype(int)
    out: dict[str, Any] = {"family": "none", "param": 0.0, "multipliers": [1.0] * RAMP_MONTHS,
                           "n_hires": hires, "n_pairs": int(ok.sum()), "used": False}
    if hires < MIN_HIRES:
        out["reason"] = f"{hires} hire(s) with two positive months in the panel (< {MIN_HIRES}): no ramp"
        return out
    curves = [(fam, float(p)) for fam, grid in GRID.items() for p in grid]
    logdiff = np.array([np.diff(np.log(curve(fam, p))) for fam, p in curves])  # (curves, RAMP_MONTHS - 1)
    dev = np.abs(d[None, :] - logdiff[:, kk])  # (curves, pairs): each pair's absolute deviation
    fam, p = curves[int(np.argmin(dev.sum(axis=1)))]
    r = curve(fam, p)
    out.update(family=fam, param=p)
    if r[0] >= MAX_FIRST:
        out["reason"] = f"estimated ramp too weak (hire month at {r[0]:.0%} of a ramped month): no ramp"
        return out
    # the hires resampled with replacement: a ramp that lumpy months alone could produce is
    # absent from a good share of the resamples
    _, hire_of_pair = np.unique(np.nonzero(ok)[0], return_inverse=True)
    counts = np.random.default_rng(0).multinomial(hires, np.full(hires, 1.0 / hires), size=BOOTSTRAP)
    best = np.argmin(counts[:, hire_of_pair] @ dev.T, axis=1)  # (BOOTSTRAP,) best curve per resample
    first = np.array([curve(f, q, months=1)[0] for f, q in curves])  # r(0) of each curve
    share = float(np.mean(first[best] < MAX_FIRST))
    out["bootstrap_share"] = share
    if share < CONFIDENCE:
        out["reason"] = (f"{fam} ramp from {hires} hires (hire month at {r[0]:.0%}) not clear of the noise: found in "
                         f"{share:.0%} of {BOOTSTRAP} resamples of the hires (< {CONFIDENCE:.0%}): no ramp")
        return out
    out.update(multipliers=[float(x) for x in r], used=True,
               reason=f"{fam} ramp from {hires} hires: hire month at {r[0]:.0%}, third month at {r[2]:.0%} "
                      "of a ramped month")
    return out


def multipliers(ramp: dict[str, Any] | None, tenure: np.ndarray) -> np.ndarray:
    """``r(tenure)`` of a fitted ``ramp`` (:func:`estimate`), shape of ``tenure``: 1 at negative
    tenure, at or beyond :data:`RAMP_MONTHS`, and when there is no ramp."""
    tenure = np.asarray(tenure)
    if not ramp or not ramp.get("used"):
        return np.ones(tenure.shape)
    r = np.asarray(ramp["multipliers"], float)
    k = np.clip(tenure, 0, len(r) - 1).astype(int)
    return np.where((tenure >= 0) & (tenure < len(r)), r[k], 1.0)


def deramp(panel: xr.Dataset, ramp: dict[str, Any] | None) -> np.ndarray:
    """``amount / r(tenure)``, shape ``(rep, period)``: the amounts a ramped rep would have booked.
    Negative months (refunds, clawbacks) are left as they are: they do not scale with a hire's
    selling."""
    y = np.asarray(panel["amount"].transpose("rep", "period").values, float)
    if not ramp or not ramp.get("used"):
        return y
    return np.where(y > 0, y / multipliers(ramp, np.asarray(panel["tenure"].transpose("rep", "period").values)), y)
