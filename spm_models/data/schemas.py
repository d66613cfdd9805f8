"""Column schemas of the data contract (see ``docs/data.md``).

Each table of a data source is described by a :class:`TableSchema`: its columns, their kind
(``id``, ``text``, ``date``, ``number``, ``period``), whether the column must be present and
whether empty values are allowed. The checks themselves are vectorised (pandas) and live in
:mod:`spm_models.data.validate`; this module only declares the contract.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["id", "text", "date", "number", "period"]

#: Allowed values of ``opportunities.status`` (compared case-insensitively, stored lower case).
OPPORTUNITY_STATUSES: tuple[str, ...] = ("open", "won", "lost")


class ColumnSchema(BaseModel):
    """One column of a contract table."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Kind
    required: bool = False  #: the column must be present
    nullable: bool = True  #: empty / NaN values are allowed
    min_value: float | None = None  #: smallest allowed number (numbers only)


class TableSchema(BaseModel):
    """A contract table: its columns and its primary key (if any)."""

    model_config = ConfigDict(frozen=True)

    name: str
    columns: tuple[ColumnSchema, ...]
    key: tuple[str, ...] = ()  #: columns whose combination must be unique

    @property
    def required(self) -> list[str]:
        """Names of the required columns, in contract order."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSchema | None:
        """The schema of column ``name``, or ``None`` for an extra column."""
        for c in self.columns:
            if c.name == name:
                return c
        return None


def _req(name: str, kind: Kind, **kw: object) -> ColumnSchema:
    return ColumnSchema(name=name, kind=kind, required=True, nullable=False, **kw)


def _opt(name: str, kind: Kind, **kw: object) -> ColumnSchema:
    return ColumnSchema(name=name, kind=kind, **kw)


REPS = TableSchema(
    name="reps",
    columns=(
        _req("rep_id", "id"),
        _req("region", "text"),
        _req("territory_id", "id"),
        _req("hire_date", "date"),
        _opt("role", "text"),
        _opt("manager_id", "id"),
        _opt("term_date", "date"),
        _opt("target_incentive", "number", min_value=0.0),
        _opt("base_salary", "number", min_value=0.0),
        _opt("plan", "text"),
    ),
    key=("rep_id",),
)

BOOKINGS = TableSchema(
    name="bookings",
    columns=(
        _req("rep_id", "id"),
        _req("date", "date"),
        _req("amount", "number"),
        _opt("account_id", "id"),
        _opt("product", "text"),
        _opt("measure", "text"),
    ),
)

QUOTAS = TableSchema(
    name="quotas",
    columns=(
        _req("rep_id", "id"),
        _req("period", "period"),
        _req("quota", "number", min_value=0.0),
        _opt("measure", "text"),
    ),
    key=("rep_id", "period", "measure"),
)

ACCOUNTS = TableSchema(
    name="accounts",
    columns=(
        _req("account_id", "id"),
        _req("zip", "id"),
        _req("potential", "number", min_value=0.0),
        _opt("lat", "number", min_value=-90.0),
        _opt("lon", "number", min_value=-180.0),
        _opt("territory_id", "id"),
        _opt("rep_id", "id"),
        _opt("workload", "number", min_value=0.0),
    ),
    key=("account_id",),
)

OPPORTUNITIES = TableSchema(
    name="opportunities",
    columns=(
        _req("opp_id", "id"),
        _req("rep_id", "id"),
        _req("amount", "number"),
        _req("stage", "text"),
        _req("created_date", "date"),
        _req("close_date", "date"),
        _req("status", "text"),
        _opt("account_id", "id"),
    ),
    key=("opp_id",),
)

#: The contract tables by name, in the order they are validated and reported.
SCHEMAS: dict[str, TableSchema] = {
    s.name: s for s in (REPS, BOOKINGS, QUOTAS, ACCOUNTS, OPPORTUNITIES)
}

#: Largest magnitude accepted in any number column (money, quotas, potential, ...): a value
#: beyond it is a data error (an export bug or a unit mistake), never summed into results.
MAX_ABS_NUMBER: float = 1e15
#: How :data:`MAX_ABS_NUMBER` is written in error lines.
MAX_ABS_TEXT = "1e15"

#: Upper bounds for coordinates (lower bounds are the columns' ``min_value``).
MAX_VALUE: dict[tuple[str, str], float] = {("accounts", "lat"): 90.0, ("accounts", "lon"): 180.0}
