"""The what-if workbench's plan edits: a plan with the accelerator, cap or threshold moved
(:func:`modify_plan`), the accelerator rate a slider starts at (:func:`accelerator_rate`), and
the plan files offered in place of the carriers' plan (:func:`plan_choices`). Used by
:class:`spm_models.widgets.model.WhatIf`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _tier_starts(tiers: list[dict[str, Any]]) -> list[float]:
    starts, lo = [], 0.0
    for t in tiers:
        starts.append(lo)
        lo = float(t.get("to", np.inf))
    return starts


def modify_plan(plan: Any, accelerator: float | None = None, cap: float | None = None,
                threshold: float | None = None) -> Any:
    """A re-validated copy of ``plan`` with the what-if settings applied to every measure."""
    from spm_models.comp import Plan

    if accelerator is None and cap is None and threshold is None:
        return plan
    data = plan.to_dict()
    for m in data.get("measures", []):
        tiers = m.get("tiers") or []
        if accelerator is not None:
            for t, start in zip(tiers, _tier_starts(tiers), strict=True):
                if start >= 1.0 - 1e-12:
                    t["rate"] = float(accelerator)
                    break
        if cap is not None:
            c = dict(m.get("cap") or {})
            c["attainment"] = float(cap)
            m["cap"] = c
        if threshold is not None:
            m["threshold"] = float(threshold)
    return Plan.from_dict(data, source=f"{plan.source} (what-if)")


def accelerator_rate(plan: Any) -> float | None:
    """Rate of the plan's first tier starting at or above 100 % (its accelerator)."""
    for m in plan.to_dict().get("measures", []):
        tiers = m.get("tiers") or []
        for t, start in zip(tiers, _tier_starts(tiers), strict=True):
            if start >= 1.0 - 1e-12:
                return float(t["rate"])
    return None


def plan_choices(plan_dir: Path, current: Any) -> dict[str, str]:
    """Plan files in ``plan_dir`` that validate, share ``current``'s plan year and can pay a
    quota carrier: a plan whose measures credit a team by ``rollup`` (manager and SE overlay
    plans) is not offered in place of the carriers' plan (``current`` itself always is)."""
    from spm_models.comp import Plan
    from spm_models.errors import InputError

    out = {Path(current.source).name: str(current.source)}
    for f in sorted(Path(plan_dir).glob("*.yaml")):
        try:
            p = Plan.from_yaml(f)
        except InputError:
            continue
        rolls_up = any(m.credit is not None and m.credit.rollup for m in p.measures)
        if p.plan_year_start == current.plan_year_start and not rolls_up:
            out.setdefault(f.name, str(f))
    return out
