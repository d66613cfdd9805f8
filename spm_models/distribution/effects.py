"""What approved adjustments change: revenue and incentive cost, per adjustment and together.

:func:`adjustment_effects` applies each approved adjustment alone, then all of them, to a
scenario cube (:func:`~.adjustments.apply_adjustments`) and re-pays the adjusted bookings and
quotas through the comp engine (:func:`spm_models.comp.compute_payouts`, per plan role as in
the scenario run). Cost is the quota-carrying reps' plan-year payouts (the cube's ``payout``);
overlay roles are not re-paid. Figures are medians (P50) over draws, in plan currency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.distribution.adjustments import Adjustment, apply_adjustments


def _cost(cube: xr.Dataset, plans: dict[str, Any]) -> xr.DataArray:
    """Plan-year payouts summed over reps, per draw, through the comp engine."""
    from spm_models.comp import compute_payouts

    keys = np.asarray(cube["plan"].values).astype(str)
    total = xr.zeros_like(cube["bookings"].isel(rep=0, period=0, drop=True))
    for key in dict.fromkeys(keys):
        plan = plans.get(key) or next(iter(plans.values()))
        sel = {"rep": np.flatnonzero(keys == key)}
        b, q = cube["bookings"].isel(sel), cube["quota"].isel(sel)
        if len(plan.measures) > 1:
            b, q = b.expand_dims(measure=plan.measure_names), q.expand_dims(measure=plan.measure_names)
        ti = cube["target_incentive"].isel(sel) if "target_incentive" in cube else None
        total = total + compute_payouts(plan, b, q, ti)["payout"].sum(["rep", "period"])
    return total


def adjustment_effects(cube: xr.Dataset, plans: dict[str, Any],
                       adjustments: list[Adjustment | dict[str, Any]], seed: int = 0) -> pd.DataFrame:
    """One row per approved adjustment and a row ``all approved``: ``id, target, target_id,
    what, size, sd, revenue_p50_before, revenue_p50_change, cost_p50_before, cost_p50_change``.

    ``cube``: the scenario cube (``bookings``, ``quota``, ``target_incentive``, ``plan``);
    ``plans``: plan role → :class:`~spm_models.comp.Plan`. Each application uses
    ``numpy.random.default_rng(seed)``, so the figures are reproducible.
    """
    approved = [a if isinstance(a, dict) else a.to_dict() for a in adjustments]
    approved = [a for a in approved if a.get("status") == "approved"]
    rev0 = float(cube["bookings"].sum(["rep", "period"]).median())
    cost0 = float(_cost(cube, plans).median())
    rows = []
    for label, subset in [(a["id"], [a]) for a in approved] + ([("all approved", approved)] if approved else []):
        new, _, _ = apply_adjustments(cube, None, None, subset, np.random.default_rng(seed))
        rev = float(new["bookings"].sum(["rep", "period"]).median())
        cost = float(_cost(new, plans).median())
        first = subset[0] if len(subset) == 1 else {}
        rows.append({"id": label, "target": first.get("target"), "target_id": first.get("target_id"),
                     "what": first.get("what"), "size": first.get("size"), "sd": first.get("sd"),
                     "revenue_p50_before": round(rev0, 2), "revenue_p50_change": round(rev - rev0, 2),
                     "cost_p50_before": round(cost0, 2), "cost_p50_change": round(cost - cost0, 2)})
    return pd.DataFrame(rows, columns=["id", "target", "target_id", "what", "size", "sd",
                                       "revenue_p50_before", "revenue_p50_change",
                                       "cost_p50_before", "cost_p50_change"])
