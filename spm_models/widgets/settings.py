"""Checks of the what-if settings of :meth:`spm_models.widgets.WhatIf.compute` / ``pay_curve``.

An invalid value is an :class:`~spm_models.errors.InputError` (one line naming the setting,
the value given and the allowed range); an unknown ``plan`` lists the plans that can be
chosen. A valid setting that cannot change anything for the plans it would apply to (an
``accelerator`` when no plan paid has a tier starting at 100 % attainment, e.g. a plan that
pays on a ``curve``; ``hires`` when the scenario world has no hiring curve) is a
:class:`WhatIfWarning`, not an error: the panel keeps a moved accelerator slider when the
plan dropdown switches to a curve plan, and the figures of that plan are still right.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

from spm_models.errors import InputError, short_repr

#: upper bounds of the what-if settings: far beyond any real plan, low enough that payouts stay
#: finite (an uplift of 1e308 overflowed quotas to inf and gave a NaN incentive cost)
MAX_UPLIFT = 10.0
MAX_RATIO = 100.0


class WhatIfWarning(UserWarning):
    """A what-if setting that changes nothing for the chosen plans (see module docstring)."""


def _number(name: str, value: Any, allowed: str, ok: Any) -> float:
    """``value`` as a float when it is a real number (not a bool) satisfying ``ok``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(float(value)) or not ok(float(value)):
        raise InputError(f"what-if setting '{name}': {short_repr(value)} is not allowed; "
                         f"allowed: {allowed}")
    return float(value)


def check_values(quota_uplift: Any = 0.0, accelerator: Any = None, cap: Any = None,
                 threshold: Any = None, plan: Any = None,
                 plan_choices: Iterable[str] = ()) -> float:
    """Check the values of the plan and quota settings; return the quota uplift as a float.

    Allowed: ``quota_uplift`` a number in (-1, 10] (quotas × (1 + uplift) stay positive;
    ``None`` = 0); ``accelerator`` a rate in [0, 100]; ``cap`` an attainment in (0, 100];
    ``threshold`` an attainment in [0, 100]; ``plan`` one
    of ``plan_choices``. ``None`` keeps the scenario's value. Raises :class:`InputError`."""
    uplift = 0.0 if quota_uplift is None else _number(
        "quota_uplift", quota_uplift, "a number greater than -1 and at most 10 (quotas are "
        "multiplied by 1 + uplift and must stay positive; 10 = 11x, far beyond any real plan)",
        lambda v: -1.0 < v <= MAX_UPLIFT)
    if accelerator is not None:
        _number("accelerator", accelerator, f"a rate >= 0 and at most {MAX_RATIO:g}",
                lambda v: 0.0 <= v <= MAX_RATIO)
    if cap is not None:
        _number("cap", cap, f"an attainment > 0 and at most {MAX_RATIO:g} (e.g. 2.0 for 200 %)",
                lambda v: 0.0 < v <= MAX_RATIO)
    if threshold is not None:
        _number("threshold", threshold, f"an attainment >= 0 and at most {MAX_RATIO:g} (e.g. 0.5 "
                "for 50 %)", lambda v: 0.0 <= v <= MAX_RATIO)
    choices = list(plan_choices)
    if plan is not None and (not isinstance(plan, str) or plan not in choices):
        raise InputError(f"what-if setting 'plan': {short_repr(plan)} is not a plan of this "
                         f"what-if; allowed: {', '.join(choices) or 'none'} (YAML files in the "
                         "plan folder that validate and share the scenario's plan year)")
    return uplift


def check_grid(max_attainment: Any, n: Any) -> tuple[float, int]:
    """The pay-curve grid settings as ``(float, int)``. Allowed: ``max_attainment`` an
    attainment in (0, 100]; ``n`` a whole number of grid points in [2, 10,001]. Raises
    :class:`InputError` naming the setting otherwise."""
    top = _number("max_attainment", max_attainment, f"an attainment > 0 and at most {MAX_RATIO:g} "
                  "(e.g. 3.0 for 300 %)", lambda v: 0.0 < v <= MAX_RATIO)
    if isinstance(n, bool) or not isinstance(n, numbers.Real) or not math.isfinite(float(n)) \
            or not float(n).is_integer() or not 2 <= float(n) <= 10_001:
        raise InputError(f"what-if setting 'n': {short_repr(n)} is not allowed; allowed: a "
                         "whole number of grid points from 2 to 10001")
    return top, int(float(n))


def check_hires(hires: Any, current: int, has_curve: bool) -> int | None:
    """``hires`` as an int (``None`` kept). Allowed: a whole number ≥ 0 (more than the hiring
    curve's slots is refused by the curve); raises :class:`InputError` otherwise. Without a
    hiring curve a value other than ``current`` warns (:class:`WhatIfWarning`): it changes
    nothing."""
    if hires is None:
        return None
    if isinstance(hires, bool) or not isinstance(hires, numbers.Real) or \
            not math.isfinite(float(hires)) or not float(hires).is_integer() or float(hires) < 0:
        raise InputError(f"what-if setting 'hires': {short_repr(hires)} is not allowed; "
                         "allowed: a whole number of hires >= 0 (up to the hiring curve's "
                         "slots)")
    n = int(float(hires))
    if not has_curve and n != current:
        warnings.warn(f"what-if setting 'hires': the scenario world has no hiring curve, so "
                      f"{n} hires (scenario: {current}) changes nothing", WhatIfWarning,
                      stacklevel=3)
    return n


def warn_accelerator(accelerator: Any, plans: Iterable[Any], has_tier: Any) -> None:
    """Warn (:class:`WhatIfWarning`) when ``accelerator`` is set but none of ``plans`` has a
    tier starting at 100 % attainment (``has_tier(plan)`` false for all): it changes nothing."""
    if accelerator is None:
        return
    plans = list(plans)
    if plans and not any(has_tier(p) for p in plans):
        names = ", ".join(sorted({str(p.name) for p in plans}))
        warnings.warn(f"what-if setting 'accelerator': plan {names} has no tier starting at "
                      "100 % attainment (a curve plan, or tiers below 100 % only), so the "
                      f"accelerator {float(accelerator):g} changes nothing", WhatIfWarning,
                      stacklevel=3)
