"""Approved manager adjustments in the scenario run (issue 15, ``docs/distribution.md``).

The adjustments store (``adjustments/`` beside the scenario file, or ``$SPM_ADJUSTMENTS``) is
read once per run; only ``approved`` adjustments of this scenario change anything
(:func:`spm_models.distribution.adjustments.apply_adjustments`, factors drawn from
``numpy.random.default_rng(seed)``):

* ``forecast`` and ``potential`` adjustments change the forecast draws of today's reps
  *before* the world is built, so attrition, hires, quotas on the plan-day roster, the
  capacity answer, the bridge and every figure see them; a ``potential`` adjustment also
  scales the accounts' potential in ``/territory`` (the balancing itself is not re-run);
* ``quota`` adjustments scale the world's quotas after they are set, and the world's reps are
  re-paid (:func:`spm_models.planning.world.world_payouts`). The hiring curve and the bridge's
  cost bars are computed before that re-pay; revenue is unchanged by a quota adjustment.

``summary["adjustments"]`` lists every adjustment of the scenario (all states) with the
effect of each approved one on revenue and incentive-cost P50
(:func:`spm_models.distribution.effects.adjustment_effects`, on today's reps' forecast with
the world's quotas and plans — before attrition and hires).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from spm_models.cube import PERIOD, REP
from spm_models.scenario import Scenario

#: fields of an adjustment listed in ``summary["adjustments"]``
LISTED = ("id", "target", "target_id", "what", "size", "sd", "from_period", "status", "reason",
          "proposed_by", "reviewed_by", "comment")


def load(scenario: Scenario) -> list[Any]:
    """Every adjustment of ``scenario`` in its store (all states), in id order."""
    from spm_models.distribution.adjustments import load_adjustments, store_path

    if not scenario.path:
        return []
    return load_adjustments(store_path(scenario.path), scenario=scenario.name)


def _approved(adjs: list[Any], whats: tuple[str, ...]) -> list[Any]:
    return [a for a in adjs if a.status == "approved" and a.what in whats]


def adjust_forecast(fcube: xr.Dataset, adjs: list[Any], seed: int) -> xr.Dataset:
    """``fcube`` with the approved ``forecast``/``potential`` adjustments applied to its
    ``bookings(rep, period, draw)`` (unchanged when there is none)."""
    from spm_models.distribution.adjustments import apply_adjustments

    todo = _approved(adjs, ("forecast", "potential"))
    if not todo:
        return fcube
    b, _, _ = apply_adjustments(fcube["bookings"], None, None, todo, np.random.default_rng(seed))
    return fcube.assign(bookings=b)


def adjust_territory(tgroup: xr.Dataset | None, adjs: list[Any]) -> xr.Dataset | None:
    """``/territory`` with approved ``potential`` adjustments applied to ``potential``."""
    from spm_models.distribution.adjustments import apply_adjustments

    todo = _approved(adjs, ("potential",))
    if tgroup is None or not todo:
        return tgroup
    dummy = xr.DataArray(np.zeros((0, 1, 1)), dims=(REP, PERIOD, "draw"),
                         coords={REP: np.array([], str), "territory_id": (REP, np.array([], str))})
    _, _, pot = apply_adjustments(dummy, None, tgroup["potential"], todo, np.random.default_rng(0),
                                  account_territory=tgroup["territory_after"])
    return tgroup.assign(potential=pot)


def adjust_quotas(world: xr.Dataset, plans: dict[str, Any], adjs: list[Any],
                  tables: dict[str, Any] | None = None) -> xr.Dataset:
    """The world with approved ``quota`` adjustments applied and its reps re-paid (``tables``:
    the data, whose booking history gives the shares of plans with ``where``/``amount``
    measures, as in the world's own pay step)."""
    from spm_models.distribution.adjustments import apply_adjustments
    from spm_models.planning.world import world_payouts

    todo = _approved(adjs, ("quota",))
    if not todo:
        return world
    _, q, _ = apply_adjustments(world["bookings"], world["quota"], None, todo, np.random.default_rng(0))
    if q is None:  # not reached: a quota was passed in
        return world
    pay = world_payouts(plans, world["bookings"], q, world["target_incentive"],
                        np.asarray(world["plan_role"].values), world["active"], tables)
    return world.assign(quota=q, payout=pay["payout"])


def summary(adjs: list[Any], fcube: xr.Dataset, world: xr.Dataset, plans: dict[str, Any],
            seed: int) -> dict[str, Any]:
    """``summary["adjustments"]``: ``list`` (every adjustment, all states) and ``effects`` (one
    row per approved adjustment and ``all approved``: revenue and cost P50 before and change)."""
    from spm_models.distribution.effects import adjustment_effects

    listed = [{k: v for k, v in a.to_dict().items() if k in LISTED} for a in adjs]
    now = ~np.asarray(world["is_hire"].values)
    cube = xr.Dataset({"bookings": fcube["bookings"].transpose(REP, PERIOD, "draw"),
                       "quota": world["quota"].isel({REP: now}),
                       "target_incentive": world["target_incentive"].isel({REP: now}),
                       "plan": world["plan"].isel({REP: now})})
    if "territory_id" in fcube.coords:
        cube = cube.assign_coords(territory_id=(REP, np.asarray(fcube["territory_id"].values).astype(str)))
    eff = adjustment_effects(cube, plans, adjs, seed)
    rows = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
            for r in eff.to_dict("records")]
    return {"list": listed, "effects": rows, "n_approved": sum(a.status == "approved" for a in adjs)}
