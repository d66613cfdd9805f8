"""Scenario files: YAML specs with inheritance (``extends``) and sweeps.

A scenario file::

    name: base                      # required; names the report folder (spm_models.names)
    title: FY27 base plan
    extends: other.yaml             # optional; path relative to this file; deep-merged
    data: demo                      # data source: 'demo' (the embedded demo org), a DuckDB
                                    #   file, a CSV/Parquet folder or a SQLAlchemy URL
    seed: 2027
    draws: 1000                     # posterior-predictive draws in cubes
    horizon: {start: 2027-01, months: 12}
    target: 250000000               # company bookings target for the plan year (optional)
    budget: 30000000                # incentive budget (optional)
    forecast: {...}                 # forecast model config (spm_models.forecast)
    quota: {...}                    # quota method (spm_models.planning.quota)
    territory: {...}                # territory balancing (spm_models.planning.territory)
    capacity: {...}                 # hiring plan / target (spm_models.planning.capacity)
    plans: {AE: plans/ae.yaml, ...} # role -> comp plan file (relative to the scenario file)
    schedule: "0 6 * * 1"           # cron expression for scheduled reports
    sweep: {key: quota.growth, values: [0.05, 0.10]}   # expand along `scenario`

Unknown top-level keys are an error naming the file and the key. ``extends`` chains are
resolved depth-first; a mapping in the child is merged into the parent's mapping, any
other value replaces it.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from spm_models.errors import InputError, short_repr
from spm_models.names import check_name, sweep_names, sweep_value
from spm_models.provenance import hash_file, hash_obj
from spm_models.yaml_input import check_yaml_path, read_yaml

SECTIONS = ("forecast", "quota", "territory", "capacity", "plans", "schedule", "sweep")
TOP_LEVEL_KEYS = {
    "name", "title", "extends", "data", "seed", "draws", "horizon", "target", "budget",
    "description", "approval", *SECTIONS,
}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    raw = read_yaml(path, "scenario")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a scenario file must be a mapping of keys")
    return raw


def _resolve(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise InputError(f"{path}, key 'extends': circular inheritance")
    raw = _read_yaml(path)
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise InputError(f"{path}, key '{unknown[0]}': unknown key (allowed: {', '.join(sorted(TOP_LEVEL_KEYS))})")
    # make plan paths absolute relative to the file that names them
    if isinstance(raw.get("plans"), dict):
        raw["plans"] = {
            role: str((path.parent / p).resolve()) if isinstance(p, str) else p
            for role, p in raw["plans"].items()
        }
    data = raw.get("data")
    if isinstance(data, str) and data not in ("demo",) and "://" not in data:
        raw["data"] = str((path.parent / data).resolve())
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise InputError(f"{path}, key 'extends': must be a file path")
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        raise InputError(f"{path}, key 'extends': file not found: {parent}")
    base = _resolve(parent_path, (*seen, path))
    base.pop("name", None)
    return _deep_merge(base, raw)


class Scenario:
    """A resolved scenario: plain data in ``spec`` plus where it came from."""

    def __init__(self, spec: dict[str, Any], path: Path | None = None):
        self.spec = spec
        self.path = path

    # --- plain-data accessors -------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def title(self) -> str:
        return self.spec.get("title") or self.name

    @property
    def seed(self) -> int:
        return int(self.spec.get("seed", 0))

    @property
    def draws(self) -> int:
        return int(self.spec.get("draws", 1000))

    @property
    def data(self) -> str:
        return str(self.spec.get("data", "demo"))

    @property
    def horizon(self) -> dict[str, Any]:
        return dict(self.spec.get("horizon") or {})

    def section(self, name: str) -> Any:
        return copy.deepcopy(self.spec.get(name) or ({} if name != "schedule" else None))

    @property
    def plans(self) -> dict[str, str]:
        return dict(self.spec.get("plans") or {})

    def scenario_hash(self) -> str:
        """Hash of the resolved spec and the bytes of every plan file it names."""
        plan_hashes = {
            role: hash_file(p) if Path(p).exists() else "missing" for role, p in self.plans.items()
        }
        spec = {k: v for k, v in self.spec.items() if k not in ("schedule", "approval")}
        return hash_obj({"spec": spec, "plans": plan_hashes})

    def __repr__(self) -> str:  # pragma: no cover
        return f"Scenario({self.name!r})"


def _validate(spec: dict[str, Any], path: Path) -> None:
    name = spec.get("name")
    if not name:
        raise InputError(f"{path}, key 'name': required")
    check_name(name, path, "name")
    for key in ("seed", "draws"):
        if key in spec and (not isinstance(spec[key], int) or spec[key] < 0):
            raise InputError(f"{path}, key '{key}': must be a non-negative integer")
    if "draws" in spec and spec["draws"] < 1:
        raise InputError(f"{path}, key 'draws': must be at least 1")
    hz = spec.get("horizon")
    if hz is not None:
        if not isinstance(hz, dict):
            raise InputError(f"{path}, key 'horizon': must be a mapping with 'start' and 'months'")
        unknown = set(hz) - {"start", "months"}
        if unknown:
            raise InputError(f"{path}, key 'horizon.{sorted(unknown)[0]}': unknown key")
        if "start" in hz:
            try:
                import pandas as pd

                pd.Period(str(hz["start"]), freq="M")
                if not re.match(r"^\d{4}-\d{2}$", str(hz["start"])):
                    raise ValueError
            except Exception:
                raise InputError(f"{path}, key 'horizon.start': expected YYYY-MM, got {short_repr(hz['start'])}") from None
        if "months" in hz and (not isinstance(hz["months"], int) or hz["months"] < 1):
            raise InputError(f"{path}, key 'horizon.months': must be a positive integer")
    for key in ("target", "budget"):
        if key in spec and spec[key] is not None and not isinstance(spec[key], (int, float)):
            raise InputError(f"{path}, key '{key}': must be a number")
    for key in ("forecast", "quota", "territory", "capacity", "plans"):
        if key in spec and spec[key] is not None and not isinstance(spec[key], dict):
            raise InputError(f"{path}, key '{key}': must be a mapping")
    for role, p in (spec.get("plans") or {}).items():
        check_yaml_path(p, path, f"plans.{role}", "plan")
    sched = spec.get("schedule")
    if sched is not None:
        from spm_models.reporting.schedule import check_cron

        check_cron(sched, path)
    sweep = spec.get("sweep")
    if sweep is not None:
        if not isinstance(sweep, dict) or set(sweep) - {"key", "values", "names"} or "key" not in sweep or "values" not in sweep:
            raise InputError(f"{path}, key 'sweep': must be a mapping with 'key' and 'values'")
        if not isinstance(sweep["values"], list) or not sweep["values"]:
            raise InputError(f"{path}, key 'sweep.values': must be a non-empty list")


def _set_dotted(spec: dict[str, Any], dotted: str, value: Any, path: Path) -> None:
    parts = dotted.split(".")
    node: Any = spec
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
        if not isinstance(node, (dict, list)):
            raise InputError(f"{path}, key 'sweep.key': '{dotted}' does not name a setting")
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read a scenario file, resolve ``extends`` and expand ``sweep`` into scenarios."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: scenario file not found")
    spec = _resolve(path)
    spec.setdefault("data", "demo")
    _validate(spec, path.resolve())
    sweep = spec.pop("sweep", None)
    if not sweep:
        return [Scenario(spec, path)]
    out = []
    names = sweep_names(spec["name"], sweep, path)
    for value, name in zip(sweep["values"], names, strict=True):
        value = sweep_value(sweep["key"], value, path)
        child = copy.deepcopy(spec)
        _set_dotted(child, sweep["key"], value, path)
        child["name"] = str(name)
        child["sweep_value"] = {sweep["key"]: value}
        out.append(Scenario(child, path))
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read exactly one scenario (a file without a sweep)."""
    scenarios = load_scenarios(path)
    if len(scenarios) != 1:
        raise InputError(f"{path}, key 'sweep': expands to {len(scenarios)} scenarios; use load_scenarios")
    return scenarios[0]
