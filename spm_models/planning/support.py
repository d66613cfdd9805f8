"""The managers and sales engineers that come with hires: span of control and their cost.

A scenario that grows the account-executive (AE) team also needs people to manage and support
it. The organisation's **span of control** says how many: ``span[role]`` AEs per one person of
``role`` (e.g. 7 AEs per ``Manager``, 3 per ``SE``). In the scenario's world (one simulated
``rep × period × draw`` array, :mod:`spm_models.planning.world`) the extra support headcount of
``role`` in month ``t`` and draw ``d`` is

    support(role, t, d) = max(0, AE(t, d) − AE_now) / span[role]

where ``AE(t, d)`` counts the world's active AEs (today's reps still there plus the hires that
have started) and ``AE_now`` is today's AE headcount (the world's first month without hires).
Hires that only backfill leavers therefore bring no extra support: today's managers and SEs
already cover that many AEs. Support headcount is a full-time-equivalent (fractional): a planning
average, not the whole-person steps of a real org chart. Each support FTE costs its role's
**loaded cost** per month: (base salary + on-target incentive) ÷ 12, from the reps table's
employed people of the role (medians of ``base_salary`` and ``target_incentive``; a missing
target incentive falls back to the role's plan's ``target_incentive``, a missing base salary
to 0). The on-target incentive stands for their pay: the added people are not simulated one by
one, so their incentive is taken at target.

Settings (the scenario's ``capacity.span_of_control``): a mapping ``role: AEs per person``
(positive numbers); a role left out takes the default — the reps table's own ratio at the first
plan month, employed AEs ÷ employed people of the role — for every role of the reps table other
than the AEs' that has people employed; ``false`` switches the support cost off. See
``docs/scenario_world.md`` ("Support headcount").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError

SECTION, KEY = "capacity", "span_of_control"
#: the support-role dimension (the world's ``role`` is a coordinate along ``rep``)
ROLE = "support_role"


def _where(role: str | None = None) -> str:
    return f"scenario section '{SECTION}', key '{KEY}" + (f".{role}'" if role else "'")


@dataclass(frozen=True)
class SupportRole:
    """One support role: ``span`` AEs per person, annual ``base`` salary and on-target
    incentive ``oti`` (plan currency) of one person, and where the span came from
    (``scenario`` or ``reps table``)."""

    role: str
    span: float
    base: float
    oti: float
    source: str

    @property
    def annual_cost(self) -> float:
        """Loaded cost of one person a year: base + on-target incentive."""
        return self.base + self.oti


def employed_at(reps: pd.DataFrame, month: str) -> pd.Series:
    """Boolean per row of ``reps``: employed on the first day of ``month`` (``YYYY-MM``)
    (:func:`spm_models.comp.team.employed` over that one day)."""
    from spm_models.comp.team import employed

    day = pd.Period(str(month), freq="M").to_timestamp()
    return employed(reps, day, day)


def span_defaults(reps: pd.DataFrame | None, month: str, carrier_role: str = "AE") -> dict[str, float]:
    """The reps table's own span of control at ``month``: for every role other than
    ``carrier_role`` with people employed, employed ``carrier_role`` people ÷ employed people
    of the role. Empty without a reps table, a ``role`` column or any employed AE."""
    if reps is None or "role" not in reps or not len(reps):
        return {}
    emp = reps[employed_at(reps, month)]
    counts = emp["role"].astype(str).value_counts()
    n_ae = int(counts.get(carrier_role, 0))
    if n_ae == 0:
        return {}
    return {str(r): n_ae / int(n) for r, n in counts.items() if r != carrier_role and int(n) > 0}


def _median(values: pd.Series) -> float:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return float(v.median()) if len(v) else float("nan")


def support_roles(setting: Any, reps: pd.DataFrame | None, plans: Mapping[str, Any], month: str,
                  carrier_role: str = "AE") -> list[SupportRole]:
    """The support roles of a scenario from its ``capacity.span_of_control`` ``setting``
    (``None``: every default role; a mapping: those spans, defaults for the other roles;
    ``False``: none), the ``reps`` table and the scenario's ``plans`` (role → plan), at the
    first plan ``month``.

    Raises :class:`InputError` naming the key when the setting is not a mapping/``false``, a
    span is not a positive number, or a role is the AEs' own or has no one in the reps table
    (its cost would be unknown).
    """
    if setting is False:
        return []
    if setting is not None and not isinstance(setting, Mapping):
        raise InputError(f"{_where()}: must be a mapping of role to AEs per person, or false; got {setting!r}")
    given = dict(setting or {})
    problems = []
    roles_in_table = (set(reps["role"].astype(str)) if reps is not None and "role" in reps else set())
    for role, span in given.items():
        if str(role) == carrier_role:
            problems.append(f"{_where(str(role))}: the hires' own role has no span of control")
        elif str(role) not in roles_in_table:
            problems.append(f"{_where(str(role))}: no one with role {role!r} in the reps table "
                            "(their cost comes from it)")
        elif isinstance(span, bool) or not isinstance(span, (int, float)) or not np.isfinite(span) or span <= 0:
            problems.append(f"{_where(str(role))}: must be a positive number of AEs per person, got {span!r}")
    if problems:
        raise InputError(problems)
    spans = {r: (s, "reps table") for r, s in span_defaults(reps, month, carrier_role).items()}
    spans.update({str(r): (float(s), "scenario") for r, s in given.items()})
    out = []
    assert reps is not None or not spans
    for role, (span, source) in spans.items():
        people = reps[reps["role"].astype(str) == role]  # type: ignore[index]
        emp = people[employed_at(people, month)]
        pool = emp if len(emp) else people
        base = _median(pool["base_salary"]) if "base_salary" in pool else float("nan")
        oti = _median(pool["target_incentive"]) if "target_incentive" in pool else float("nan")
        if not np.isfinite(oti):
            oti = float(getattr(plans.get(role), "target_incentive", 0.0) or 0.0)
        out.append(SupportRole(role, float(span), base if np.isfinite(base) else 0.0, float(oti), source))
    return out


def carrier_headcount(world: xr.Dataset, carrier_role: str = "AE") -> tuple[xr.DataArray, xr.DataArray]:
    """Active AEs ``(period, draw)`` of a world and today's AE headcount ``(draw,)`` (today's
    AEs active in the first month). A world without a ``role`` coordinate counts every rep."""
    act = world["active"]
    if "role" in world.coords:
        act = act.isel({REP: np.asarray(world["role"].values).astype(str) == carrier_role})
    now = act.isel({REP: ~np.asarray(act["is_hire"].values, dtype=bool)}) if "is_hire" in act.coords else act
    return act.sum(REP).transpose(PERIOD, DRAW), now.isel({PERIOD: 0}).sum(REP)


def support_frame(roles: list[SupportRole], ae_active: xr.DataArray, ae_now: xr.DataArray) -> xr.Dataset:
    """Support headcount and cost of ``roles`` given active AEs ``(period, draw)`` and today's
    AE headcount ``(draw,)``: ``support_headcount(role, period, draw)`` (FTE),
    ``support_cost(role, period, draw)`` (plan currency a month), coords ``span``, ``annual_cost``
    along ``support_role``. An empty ``support_role`` dimension when there are no roles."""
    extra = (ae_active - ae_now).clip(min=0).transpose(PERIOD, DRAW)
    names = [r.role for r in roles]
    span = np.array([r.span for r in roles], dtype=float)
    cost = np.array([r.annual_cost for r in roles], dtype=float)
    head = np.asarray(extra.values, dtype=float)[None] / span[:, None, None] if roles else \
        np.zeros((0,) + extra.shape)
    coords = {ROLE: names, PERIOD: extra[PERIOD].values, DRAW: extra[DRAW].values,
              "span": (ROLE, span), "annual_cost": (ROLE, cost)}
    return xr.Dataset({"support_headcount": ((ROLE, PERIOD, DRAW), head),
                       "support_cost": ((ROLE, PERIOD, DRAW), head * cost[:, None, None] / 12.0)},
                      coords=coords)


def support_cost_total(frame: xr.Dataset) -> xr.DataArray:
    """Plan-year support cost per draw ``(draw,)``."""
    return frame["support_cost"].sum([ROLE, PERIOD])


def support_cost_of(roles: list[SupportRole], ae_active: np.ndarray, ae_now: np.ndarray) -> np.ndarray:
    """Plan-year support cost per draw ``(draw,)`` from plain arrays: active AEs ``(period,
    draw)`` and today's AE headcount ``(draw,)`` (the hiring curve's fast path; the same
    formula as :func:`support_frame`)."""
    extra = np.maximum(np.asarray(ae_active, float) - np.asarray(ae_now, float)[None, :], 0.0).sum(0)
    per_ae_year = sum(r.annual_cost / r.span for r in roles)
    return extra * per_ae_year / 12.0
