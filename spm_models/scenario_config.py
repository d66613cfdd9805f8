"""The typed scenario file: one pydantic model per section, unknown keys forbidden.

:func:`validate_spec` checks a resolved scenario (``extends`` merged) against
:class:`ScenarioSpec` and raises one :class:`~spm_models.errors.InputError` listing *every*
problem of the file, one line each, naming the file and the dotted key, e.g.
``scenarios/base.yaml, key 'quota.growth': Input should be greater than -1``.

Sections: ``horizon`` (:class:`Horizon`), ``quota``/``territory``/``capacity`` (the planning
models of :mod:`spm_models.planning.sections`), ``forecast`` (:class:`ForecastSection`: the fit
settings are typed here; model options pass through as a dict to
``spm_models.forecast.ForecastConfig``, which validates them), ``sweep`` (:class:`Sweep`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from spm_models.errors import InputError
from spm_models.planning.sections import (
    CapacitySection,
    Count,
    Month,
    NonNegativeInt,
    QuotaSection,
    Section,
    TerritorySection,
)


def _reason(exc: InputError) -> str:
    """The message part of a one-line ``FILE, key 'K': message`` problem."""
    line = exc.problems[0]
    return line.split("': ", 1)[1] if "': " in line else line


def _plan_exists(p: str) -> str:
    """A plan path must name an existing .yaml/.yml file (``yaml_input.check_yaml_path``)."""
    from spm_models.yaml_input import check_yaml_path

    try:
        check_yaml_path(p, "", "plans", "plan")
    except InputError as exc:
        raise ValueError(_reason(exc)) from None
    return p


def _name_ok(name: str) -> str:
    """The one name rule of :mod:`spm_models.names` (names become folders and links)."""
    from spm_models.names import check_name

    try:
        check_name(name, "", "name")
    except InputError as exc:
        raise ValueError(_reason(exc)) from None
    return name


PlanFile = Annotated[str, AfterValidator(_plan_exists)]


class Horizon(Section):
    """``horizon``: the plan year's first month and its length."""

    start: Month = "2027-01"
    months: Count = 12


class ForecastSection(BaseModel):
    """``forecast``: fit settings typed here; any other key is a model option passed through
    to ``spm_models.forecast.ForecastConfig`` (which rejects unknown options)."""

    model_config = ConfigDict(extra="allow")

    method: Literal["nuts", "full", "fast"] | None = None
    fit_draws: Count | None = None
    chains: Count | None = None
    tune: NonNegativeInt | None = None
    sampler: str | None = None
    n_steps: Count | None = None
    fit_seed: NonNegativeInt | None = None
    attrition: bool | None = None


class PipelineSection(Section):
    """``pipeline``: the in-quarter outlook of the workflow's pipeline step
    (:mod:`spm_models.workflow.pipeline_step`; defaults there)."""

    enabled: bool = True
    as_of: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    draws: Count | None = None
    tune: Count | None = None
    chains: Count | None = None
    n_draws: Annotated[int, Field(ge=10)] | None = None


class Sweep(Section):
    """``sweep``: expand the file into one scenario per value of the dotted ``key``."""

    key: str
    values: Annotated[list[Any], Field(min_length=1)]
    names: list[str] | None = None


class ScenarioSpec(Section):
    """A resolved scenario file (see :mod:`spm_models.scenario` for the format)."""

    name: Annotated[str, AfterValidator(_name_ok)]
    title: str | None = None
    description: str | None = None
    data: str = "demo"
    seed: NonNegativeInt = 0
    draws: Count = 1000
    horizon: Horizon | None = None
    target: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    budget: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    forecast: ForecastSection | None = None
    quota: QuotaSection | None = None
    territory: TerritorySection | None = None
    capacity: CapacitySection | None = None
    pipeline: PipelineSection | None = None
    plans: dict[str, PlanFile] | None = None
    schedule: str | None = None
    sweep: Sweep | None = None
    approval: dict[str, Any] | None = None
    #: set by the sweep expansion (not written in files)
    sweep_value: dict[str, Any] | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, sched: str | None) -> str | None:
        if sched is not None:
            from spm_models.reporting.schedule import check_cron

            try:
                check_cron(sched, "")
            except InputError as exc:
                raise ValueError(_reason(exc)) from None
        return sched


def _line(path: Path, err: dict[str, Any], spec: dict[str, Any]) -> str:
    loc = [str(p) for p in err["loc"]]
    # pydantic appends the union member / validator name to the location; keep the keys only
    keys = []
    node: Any = spec
    for part in loc:
        if isinstance(node, dict) and part in node:
            keys.append(part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            keys.append(part)
            node = node[int(part)]
        elif err["type"] in ("missing", "extra_forbidden") and part == loc[-1]:
            keys.append(part)
    kind = err["type"]
    if kind == "missing" and len(keys) > 1:
        return f"{path}, key '{'.'.join(keys[:-1])}': missing '{keys[-1]}'"
    key = ".".join(keys) or "(file)"
    if kind == "extra_forbidden":
        msg = "unknown key"
    elif kind == "missing":
        msg = "required"
    elif kind == "string_pattern_mismatch":
        msg = "expected YYYY-MM"
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{path}, key '{key}': {msg}"


def validate_spec(spec: dict[str, Any], path: str | Path,
                  earlier: list[str] | None = None) -> ScenarioSpec:
    """``spec`` as a :class:`ScenarioSpec`; raises :class:`InputError` with one line per
    problem (file and dotted key named) when it does not fit, after the ``earlier`` problems
    found while reading the file (e.g. a key written twice)."""
    first = list(earlier or [])
    cross = _cross_checks(spec, Path(path))
    try:
        out = ScenarioSpec.model_validate(spec)
    except ValidationError as exc:
        by_key: dict[str, str] = {}
        for e in exc.errors():  # a union gives one error per member: keep one line per key
            line = _line(Path(path), dict(e), spec)
            by_key.setdefault(line.split("':", 1)[0], line)
        raise InputError(first + list(by_key.values()) + cross) from None
    if first or cross:
        raise InputError(first + cross)
    return out


def _cross_checks(spec: dict[str, Any], path: Path) -> list[str]:
    """Rules between sections (reported with the schema's problems, before any step runs):
    ``capacity.hire_plan`` names one of the scenario's ``plans``."""
    problems = []
    cap, plans = spec.get("capacity"), spec.get("plans")
    hire_plan = cap.get("hire_plan") if isinstance(cap, dict) else None
    if isinstance(hire_plan, str) and isinstance(plans, dict) and hire_plan not in plans:
        problems.append(f"{path}, key 'capacity.hire_plan': {hire_plan!r} is not one of the "
                        f"scenario's plans ({', '.join(map(str, plans)) or 'none'})")
    return problems
