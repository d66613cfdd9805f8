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

``extends`` chains are resolved depth-first; a mapping in the child is merged into the
parent's mapping, any other value replaces it. The resolved file is then checked against the
typed model :class:`spm_models.scenario_config.ScenarioSpec` (``extra="forbid"`` in every
section): all problems of the file are reported at once, one line each naming the file and
the dotted key (``base.yaml, key 'quota.growth': …``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from spm_models.errors import InputError
from spm_models.names import sweep_names, sweep_value
from spm_models.provenance import hash_file, hash_obj
from spm_models.scenario_config import ScenarioSpec, validate_spec
from spm_models.yaml_input import read_yaml

#: top-level keys of a scenario file (the fields of :class:`ScenarioSpec`, plus ``extends``)
TOP_LEVEL_KEYS = (set(ScenarioSpec.model_fields) - {"sweep_value"}) | {"extends"}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_yaml(path: Path, duplicates: list[str] | None = None) -> dict[str, Any]:
    raw = read_yaml(path, "scenario", duplicates)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(f"{path}: a scenario file must be a mapping of keys")
    return raw


def _resolve(path: Path, seen: tuple[Path, ...] = (),
             duplicates: list[str] | None = None) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise InputError(f"{path}, key 'extends': circular inheritance")
    raw = _read_yaml(path, duplicates)
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
    base = _resolve(parent_path, (*seen, path), duplicates)
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


def _validate(spec: dict[str, Any], path: Path, earlier: list[str] | None = None) -> None:
    """Every problem of the resolved ``spec`` at once (:func:`validate_spec`), after the
    ``earlier`` ones found while reading (keys written twice)."""
    validate_spec(spec, path, earlier)


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


def missing_data(spec: dict[str, Any], path: Path) -> list[str]:
    """The problem line of a ``data`` path (made absolute against the scenario file) that is
    neither ``demo``, a URL (``scheme://...``) nor an existing file or folder; else ``[]``."""
    data = spec.get("data", "demo")
    if isinstance(data, str) and data != "demo" and "://" not in data and not Path(data).exists():
        return [f"{path}, key 'data': data source not found: {data}"]
    return []


def load_scenarios(path: str | Path, check_data: bool = False) -> list[Scenario]:
    """Read a scenario file, resolve ``extends`` and expand ``sweep`` into scenarios.

    Raises :class:`InputError` with every problem of the file at once (keys written twice,
    schema, cross-section rules, and with ``check_data`` a data source that does not exist --
    what the commands that run scenarios ask for, so one run reports them all)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: scenario file not found")
    duplicates: list[str] = []
    spec = _resolve(path, (), duplicates)
    spec.setdefault("data", "demo")
    if check_data:
        duplicates += missing_data(spec, path.resolve())
    _validate(spec, path.resolve(), duplicates)
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
        _validate(child, path.resolve())  # a swept value is checked like a written one
        out.append(Scenario(child, path))
    return out


def load_scenario(path: str | Path) -> Scenario:
    """Read exactly one scenario (a file without a sweep)."""
    scenarios = load_scenarios(path)
    if len(scenarios) != 1:
        raise InputError(f"{path}, key 'sweep': expands to {len(scenarios)} scenarios; use load_scenarios")
    return scenarios[0]
