"""Compensation plan model: parse and validate a YAML plan (``spec/comp_plan.md``).

Every problem becomes one line ``FILE, key 'PATH': message`` of an
:class:`~spm_models.errors.InputError`; unknown keys are errors (a typo must not silently
change pay). A :class:`Plan` is immutable; :meth:`Plan.with_value` returns a re-validated
variant with one key changed (used by plan sweeps).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from spm_models.errors import InputError
from spm_models.yaml_input import read_yaml

FREQUENCIES = {"month": 1, "quarter": 3, "year": 12}
BASES = ("revenue", "target_incentive")
WEIGHT_TOLERANCE = 1e-9
#: Largest magnitude accepted for money in a plan (target incentive, payout caps, bonus and
#: draw amounts): beyond it float64 sums lose cents, so such a value is an input error.
MAX_MONEY = 1e15
#: Largest magnitude accepted for rates, factors and attainments (a commission rate of
#: 1e6 = 100,000,000 % is already far outside any real plan).
MAX_RATE = 1e6
INTERPOLATIONS = ("linear", "step")

@dataclass(frozen=True)
class Tier:
    """A band of attainment ``[start, end)`` paying ``rate``; ``end`` None = unbounded."""

    start: float
    end: float | None
    rate: float


@dataclass(frozen=True)
class Modifier:
    """Scales a measure's earnings by a step table on another measure's attainment."""

    measure: str
    table: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CreditRule:
    """How bookings become credits of one measure (``credit`` section; part 2).

    ``where`` holds ``(column, allowed values as text)`` pairs that must all match.
    """

    amount: str = "amount"
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    rollup: bool = False

    def columns(self) -> list[tuple[str, str]]:
        """The bookings columns the rule reads, each with its key under ``credit``
        (``("margin", "amount")``, ``("deal_type", "where.deal_type")``)."""
        return [(self.amount, "amount"), *[(c, f"where.{c}") for c, _ in self.where]]


@dataclass(frozen=True)
class Measure:
    """One plan measure (bookings, new logos, ...) with its tiers or pay curve."""

    name: str
    weight: float = 1.0
    quota_period: str = "year"
    basis: str = "revenue"
    retroactive: bool = False
    threshold: float = 0.0
    tiers: tuple[Tier, ...] = ()
    cap_attainment: float | None = None
    cap_payout: float | None = None
    curve: tuple[tuple[float, float], ...] = ()
    interpolate: str = "linear"
    modifiers: tuple[Modifier, ...] = ()
    advance_cap: float | None = None
    credit: CreditRule | None = None

    @property
    def quota_months(self) -> int:
        """Months in one quota period."""
        return FREQUENCIES[self.quota_period]

    @property
    def attainment_limit(self) -> float:
        """Attainment above which nothing more is earned: the cap, or the end of a bounded
        last tier (earnings stop growing there; see docs/comp.md)."""
        limits = [math.inf]
        if self.cap_attainment is not None:
            limits.append(self.cap_attainment)
        if self.tiers and self.tiers[-1].end is not None:
            limits.append(self.tiers[-1].end)
        return min(limits)

    @property
    def has_curve(self) -> bool:
        return bool(self.curve)


@dataclass(frozen=True)
class Bonus:
    """A one-time amount, once per quota period in which ``measure`` reaches ``at``."""

    name: str
    measure: str
    at: float
    amount: float


@dataclass(frozen=True)
class Draw:
    """The least paid in each payout period; recoverable draws are recovered later."""

    amount: float
    recoverable: bool = True


@dataclass(frozen=True)
class Plan:
    """A validated compensation plan."""

    name: str
    plan_year_start: str
    payout_frequency: str = "quarter"
    measures: tuple[Measure, ...] = ()
    currency: str | None = None
    target_incentive: float | None = None
    bonuses: tuple[Bonus, ...] = ()
    draw: Draw | None = None
    source: str = field(default="plan", compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_yaml(cls, path: str | Path) -> Plan:
        """Read and validate a plan file; raises :class:`InputError` naming file and key."""
        return cls.from_dict(read_yaml(path, "plan"), source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "plan") -> Plan:
        """Validate a plan given as a mapping (as read from YAML)."""
        from spm_models.comp.plan_parser import parse_plan

        return parse_plan(data, source)

    def to_dict(self) -> dict[str, Any]:
        """The plan as the mapping it was read from (a deep copy)."""
        return copy.deepcopy(self.raw)

    def with_value(self, key: str, value: Any) -> Plan:
        """A re-validated copy with ``key`` (e.g. ``"measures[0].tiers[1].rate"``) set."""
        data = self.to_dict()
        _set_path(data, key, value)
        return Plan.from_dict(data, source=self.source)

    # -- calendar -----------------------------------------------------------------------
    @property
    def months(self) -> list[str]:
        """The 12 months ``YYYY-MM`` of the plan year."""
        start = pd.Period(self.plan_year_start, freq="M")
        return [str(start + i) for i in range(12)]

    @property
    def payout_months(self) -> int:
        """Months in one payout period."""
        return FREQUENCIES[self.payout_frequency]

    @property
    def payout_period_ends(self) -> list[str]:
        """Last month of each payout period (the ``period`` of payout rows)."""
        n = self.payout_months
        return [m for i, m in enumerate(self.months) if (i + 1) % n == 0]

    def measure(self, name: str) -> Measure:
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def measure_names(self) -> list[str]:
        return [m.name for m in self.measures]

    @property
    def needs_target_incentive(self) -> bool:
        return any(m.basis == "target_incentive" for m in self.measures)


# ---------------------------------------------------------------------------------------
_PATH_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _set_path(data: Any, key: str, value: Any) -> None:
    parts: list[str | int] = []
    for name, idx in _PATH_RE.findall(key):
        parts.append(int(idx) if idx else name)
    if not parts:
        raise InputError(f"plan key '{key}': empty key")
    obj = data
    try:
        for p in parts[:-1]:
            obj = obj[p]
        last = parts[-1]
        if isinstance(obj, list) and not (isinstance(last, int) and last < len(obj)):
            raise IndexError(last)
        obj[last] = value
    except (KeyError, IndexError, TypeError):
        raise InputError(f"plan key '{key}': no such key in the plan") from None


