"""Validation helpers for the plain-data planning sections (``quota``, ``territory``,
``capacity``) of a scenario.

Every problem becomes one line of an :class:`~spm_models.errors.InputError` naming the
scenario section and the key, e.g. ``scenario section 'quota', key 'growth': must be a number``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from spm_models.errors import InputError


def where(section: str, key: str) -> str:
    """``scenario section 'quota', key 'growth'``."""
    return f"scenario section '{section}', key '{key}'"


def check_keys(section: str, config: Mapping[str, Any], allowed: set[str]) -> list[str]:
    """One problem line per key of ``config`` not in ``allowed``."""
    return [
        f"{where(section, k)}: unknown key (allowed: {', '.join(sorted(allowed))})"
        for k in sorted(set(config) - allowed, key=str)
    ]


def number(
    section: str,
    config: Mapping[str, Any],
    key: str,
    problems: list[str],
    *,
    default: float | None = None,
    required: bool = False,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float | None:
    """Read a number from ``config[key]``, appending a problem line when it is bad."""
    if key not in config or config[key] is None:
        if required:
            problems.append(f"{where(section, key)}: required")
        return default
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where(section, key)}: must be a number, got {value!r}")
        return default
    value = float(value)
    if not math.isfinite(value):
        problems.append(f"{where(section, key)}: must be a finite number, got {value!r}")
        return default
    bad = (
        (lo is not None and (value <= lo if lo_open else value < lo))
        or (hi is not None and (value >= hi if hi_open else value > hi))
    )
    if bad:
        lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
        hi_s = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
        rng = " and ".join(s for s in (lo_s, hi_s) if s)
        problems.append(f"{where(section, key)}: must be {rng}, got {value:g}")
        return default
    return value


def choice(
    section: str,
    config: Mapping[str, Any],
    key: str,
    options: tuple[str, ...],
    problems: list[str],
    *,
    default: str | None = None,
    required: bool = False,
) -> str | None:
    """Read one of ``options`` from ``config[key]``."""
    if key not in config or config[key] is None:
        if required:
            problems.append(f"{where(section, key)}: required (one of {', '.join(options)})")
        return default
    value = config[key]
    if value not in options:
        problems.append(f"{where(section, key)}: must be one of {', '.join(options)}, got {value!r}")
        return default
    return str(value)


def raise_if(problems: list[str]) -> None:
    """Raise :class:`InputError` when ``problems`` is not empty."""
    if problems:
        raise InputError(problems)
