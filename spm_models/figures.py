"""The decision figures: one definition of each, used everywhere they are shown.

``summary.json`` (:mod:`spm_models.workflow.summary`), the report, ``compare.html`` (which
reads ``summary.json``), the what-if panel (:mod:`spm_models.widgets`) and ``spm comp
simulate`` (:func:`spm_models.comp.metrics.plan_metrics`) all compute their figures with the
functions below. Dimensions: ``rep``, ``period`` (months), ``draw`` (Monte Carlo draws);
money in the plan currency.

Definitions
-----------
revenue
    Plan-year bookings of the company, per draw: ``bookings`` summed over ``rep`` and ``period``.
incentive cost
    Plan-year payouts per draw: every quota carrier's payouts plus every overlay rep's.
support cost
    Plan-year cost of the managers and sales engineers the scenario's hires need, per draw:
    the AE headcount above today's ÷ the span of control (AEs per manager / SE), each
    full-time equivalent at its role's base salary + on-target incentive
    (:mod:`spm_models.planning.support`). Zero without hires (or with ``span_of_control:
    false``). Not an incentive: the budget is compared with the incentive cost alone.
total cost
    Incentive cost + support cost, per draw (the cost the bridge, the capacity answer and the
    what-if panel read).
cost of sales
    (Incentive cost + support cost) ÷ revenue, per draw (undefined where revenue is 0);
    reported as the median over draws (P50). Base salaries of the people already on board and
    of the AE hires themselves are not in it.
attainment
    A rep's plan-year bookings ÷ plan-year quota, per draw; undefined (NaN) for a rep without
    quota (plan-year quota ≤ 0).
share of reps at quota
    Per draw, the share of reps *with a quota* whose attainment is at least 1 (within
    :data:`AT_QUOTA_TOL`); reported as the median (P50) and mean over draws.
P(company target)
    Share of draws whose revenue is at least the company target.
P(cost over budget)
    Share of draws whose incentive cost exceeds the budget.
quantiles
    ``p10``/``p50``/``p90`` of a per-draw figure: numpy's default (linear) quantiles over draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

REP, PERIOD, DRAW = "rep", "period", "draw"
#: attainment counts as "at quota" from 1 − AT_QUOTA_TOL (absorbs float round-off of b ÷ q)
AT_QUOTA_TOL = 1e-10
QUANTILES = (0.1, 0.5, 0.9)


def quantiles(values: Any, qs: Sequence[float] = QUANTILES, ndigits: int = 2) -> dict[str, float]:
    """``{"p10": …, "p50": …, "p90": …}`` of all values of ``values`` (rounded)."""
    vals = np.quantile(np.asarray(getattr(values, "values", values), dtype=float), list(qs))
    return {f"p{round(q * 100)}": round(float(v), ndigits)
            for q, v in zip(qs, vals, strict=True)}


def annual(values: xr.DataArray) -> xr.DataArray:
    """Plan-year totals: ``values`` summed over ``period`` (as is when it has none)."""
    return values.sum(PERIOD) if PERIOD in values.dims else values


def attainment(bookings: xr.DataArray, quota: xr.DataArray) -> xr.DataArray:
    """Plan-year attainment ``(rep, draw)``: bookings ``(rep, period, draw)`` (or already
    summed over ``period``) ÷ quota ``(rep, period)`` summed; NaN where the quota is not
    positive."""
    annual_q = annual(quota)
    return annual(bookings) / annual_q.where(annual_q > 0)


def share_at_quota(att: xr.DataArray) -> xr.DataArray:
    """Per draw: the share of reps with a quota (non-NaN ``att``) at or above quota."""
    with_quota = att.notnull().sum(REP)
    return (att >= 1.0 - AT_QUOTA_TOL).sum(REP) / with_quota.where(with_quota > 0, 1)


def revenue(bookings: xr.DataArray) -> xr.DataArray:
    """Company plan-year bookings per draw ``(draw,)`` (of ``(rep, period, draw)`` bookings or
    of their plan-year totals ``(rep, draw)``)."""
    return bookings.sum([d for d in bookings.dims if d != DRAW])


def incentive_cost(payout: xr.DataArray, overlay_payout: xr.DataArray | None = None) -> xr.DataArray:
    """Plan-year incentive cost per draw ``(draw,)``: quota carriers' plus overlay payouts."""
    cost = payout.sum([d for d in payout.dims if d != DRAW])
    if overlay_payout is not None:
        cost = cost + overlay_payout.sum([d for d in overlay_payout.dims if d != DRAW])
    return cost


def cost_of_sales(cost: xr.DataArray, rev: xr.DataArray,
                  support: xr.DataArray | None = None) -> xr.DataArray:
    """(Incentive ``cost`` + ``support`` cost) ÷ revenue per draw (NaN where revenue is 0)."""
    total = cost if support is None else cost + support
    return total / rev.where(rev != 0)


def prob_at_least(values: xr.DataArray, threshold: float | None) -> float | None:
    """Share of draws with ``values >= threshold``; ``None`` without a threshold."""
    if threshold is None:
        return None
    return round(float((values >= float(threshold)).mean()), 6)


def cube_figures(bookings: xr.DataArray, quota: xr.DataArray, cost: xr.DataArray,
                 target: float | None = None, budget: float | None = None,
                 support: xr.DataArray | None = None) -> tuple[dict[str, Any], xr.DataArray]:
    """:func:`decision_figures` of ``bookings (rep, period, draw)``, ``quota (rep, period)``,
    the incentive ``cost (draw,)`` and the ``support`` cost ``(draw,)`` — the one sequence of
    reductions every caller uses — and the attainment ``(rep, draw)``."""
    annual_b = annual(bookings)
    att = attainment(annual_b, quota)
    return decision_figures(revenue(annual_b), cost, att, target, budget, support), att


def decision_figures(rev: xr.DataArray, cost: xr.DataArray, att: xr.DataArray,
                     target: float | None = None, budget: float | None = None,
                     support: xr.DataArray | None = None) -> dict[str, Any]:
    """The headline figures (see the module docstring) from per-draw ``rev``, incentive
    ``cost`` and ``support`` cost (None: none) and the attainment ``att (rep, draw)``:
    ``revenue``, ``incentive_cost`` (P10/P50/P90), ``support_cost`` and ``total_cost``
    (incentive + support; P10/P50/P90, only when ``support`` is given), ``cost_of_sales`` (``p50``), ``share_reps_at_quota`` (``p50``,
    ``mean``), ``prob_company_target``, ``prob_cost_over_budget`` (incentive cost)."""
    at_quota = np.asarray(share_at_quota(att).values, dtype=float)
    cos = np.asarray(cost_of_sales(cost, rev, support).values, dtype=float)
    extra = {} if support is None else {"support_cost": quantiles(support),
                                        "total_cost": quantiles(cost + support)}
    return {
        "revenue": quantiles(rev),
        "incentive_cost": quantiles(cost),
        **extra,
        "cost_of_sales": {"p50": round(float(np.nanmedian(cos)), 6)},
        "share_reps_at_quota": {"p50": round(float(np.median(at_quota)), 6),
                                "mean": round(float(np.mean(at_quota)), 6)},
        "prob_company_target": prob_at_least(rev, target),
        "prob_cost_over_budget": (None if budget is None else
                                  round(float((cost > float(budget)).mean()), 6)),
    }
