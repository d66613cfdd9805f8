"""Typed planning sections of a scenario: ``quota``, ``territory``, ``capacity``.

One pydantic model per section (``extra="forbid"``): the one place a section's keys, types and
ranges are declared. :mod:`spm_models.scenario` validates a scenario file's sections with
them when the file is read (every problem of the file at once, each naming file and key), and
the planning functions take their allowed keys from them (``quota.set_quotas``,
``territory.balance_from_config``, ``capacity.capacity_from_config``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Fraction = Annotated[float, Field(ge=0, le=1)]
OpenFraction = Annotated[float, Field(gt=0, lt=1)]
Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(strict=True, ge=1)]
NonNegativeInt = Annotated[int, Field(strict=True, ge=0)]
Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class Section(BaseModel):
    """A scenario section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


QUOTA_COMMON_KEYS = {"method", "phasing", "history_months", "ramp_tau"}
QUOTA_METHOD_KEYS = {
    "growth": {"growth"},
    "top_down": {"target", "allocate_by", "over_assignment"},
    "equal_probability": {"probability", "target", "over_assignment", "reconcile"},
}


class QuotaSection(Section):
    """``quota``: method ``growth`` (last year × (1 + growth)), ``top_down`` (a company target
    allocated by potential, history or forecast) or ``equal_probability`` (every rep the same
    probability of reaching quota); see :func:`spm_models.planning.quota.set_quotas`."""

    method: Literal["growth", "top_down", "equal_probability"]
    phasing: Literal["rep", "company", "flat"] | None = None
    history_months: Count | None = None
    ramp_tau: Positive | None = None
    growth: Annotated[float, Field(gt=-1)] | None = None
    target: Positive | None = None
    allocate_by: Literal["potential", "history", "forecast"] | None = None
    over_assignment: Positive | None = None
    probability: OpenFraction | None = None
    reconcile: bool | None = None

    @model_validator(mode="after")
    def _method_keys(self) -> QuotaSection:
        allowed = QUOTA_COMMON_KEYS | QUOTA_METHOD_KEYS[self.method]
        extra = sorted(k for k in self.model_fields_set if k not in allowed)
        if extra:
            raise ValueError(f"'{extra[0]}' does not apply to method {self.method!r} "
                             f"(allowed: {', '.join(sorted(allowed))})")
        return self


class TerritorySection(Section):
    """``territory``: balancing of the current alignment; see
    :func:`spm_models.planning.territory.balance_territories`."""

    k: Count | None = None
    max_moved_share: Fraction | None = None
    potential_tol: Annotated[float, Field(gt=0, le=1)] | None = None
    workload_tol: Positive | None = None
    n_candidates: Count | None = None
    reach: NonNegative | None = None
    max_iter: Count | None = None
    max_distance_km: Positive | None = None
    move_cost_km: NonNegative | None = None
    distance_weight: Literal["potential", "workload", "unit"] | None = None
    time_limit: Positive | None = None
    threads: Count | None = None
    seed: NonNegativeInt | None = None


class CapacitySection(Section):
    """``capacity``: simulate a ``hiring_plan`` or, with ``probability`` (and a ``target``),
    solve for one; see :func:`spm_models.planning.capacity.capacity_from_config`."""

    start: Month | None = None
    months: Count | None = None
    headcount_now: NonNegativeInt | None = None
    tenure_now: list[NonNegative] | None = None
    hiring_plan: NonNegativeInt | list[NonNegativeInt] | dict[Month, NonNegativeInt] | None = None
    attrition_monthly: Fraction | None = None
    ramp_tau: NonNegative | None = None
    hiring_lag_months: NonNegativeInt | None = None
    n_draws: Count | None = None
    seed: NonNegativeInt | None = None
    rep_sigma: NonNegative | None = None
    target: NonNegative | None = None
    probability: OpenFraction | None = None
    schedule: Literal["constant", "front_loaded"] | None = None
    max_hires: NonNegativeInt | None = None
    productivity: Positive | None = None
    #: role of the hires and the plan key they are paid on (``spm_models.planning.roster``)
    hire_role: str | None = None
    hire_plan: str | None = None
    #: AEs per manager / SE (role → positive number; false = no support cost); default: the
    #: reps table's ratios (``spm_models.planning.support``)
    span_of_control: Any = None

    @field_validator("span_of_control", mode="before")
    @classmethod
    def _span(cls, value: Any) -> Any:
        if value is None or value is False:
            return value
        if not isinstance(value, dict):
            msg = f"must be a mapping of role to AEs per person (e.g. {{Manager: 8, SE: 4}}) or false, got {value!r}"
            raise ValueError(msg)  # noqa: TRY004 (pydantic reports a ValueError, not a TypeError)
        for role, span in value.items():
            if isinstance(span, bool) or not isinstance(span, (int, float)) or not math.isfinite(span) or span <= 0:
                raise ValueError(f"role {role!r}: must be a positive number of AEs per person, got {span!r}")
        return {str(k): float(v) for k, v in value.items()}


def keys(model: type[BaseModel]) -> set[str]:
    """The keys a section model allows."""
    return set(model.model_fields)


def dump(section: BaseModel) -> dict[str, Any]:
    """The keys the file gave (as plain data), without defaults filled in."""
    return section.model_dump(exclude_unset=True)
