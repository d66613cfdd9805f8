"""The one adapter between the distribution package and the scenario run.

Everything here that needs a scenario's cube goes through :func:`scenario_world`, so pointing
the package at another scenario runner is a change to this one function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr


@dataclass
class World:
    """A run scenario as the plan documents need it.

    ``cube``: the scenario cube (``rep × period × draw``: ``bookings``, ``quota``, ``payout``,
    ``target_incentive``, ``plan``; coords ``role``, ``territory_id``; along ``account`` the
    territory variables when the scenario balances territories). ``tables``: the validated
    data tables (``reps``, ``accounts`` ...). ``plans``: role key → :class:`Plan`.
    """

    scenario: Any
    cube: xr.Dataset
    tables: dict[str, pd.DataFrame] = field(repr=False)
    plans: dict[str, Any] = field(repr=False)
    summary: dict[str, Any] = field(default_factory=dict, repr=False)


def scenario_world(path: str | Path | Any) -> World:
    """Run the scenario at ``path`` (forecast cached on disk) and return its :class:`World`.

    Raises :class:`~spm_models.errors.InputError` for an invalid scenario, plan or data.
    """
    from spm_models import workflow
    from spm_models.cube import tree_group

    res = workflow.run(path)
    cube = res.cube  # rep × period × draw: /forecast + /comp of the result tree
    territory = tree_group(res.tree, "territory")
    if territory is not None:  # the account variables, as the plan documents read them
        cube = cube.merge(territory)
    plans = workflow.load_plans(res.scenario)
    return World(res.scenario, cube, res.tables, plans, res.summary)


@dataclass(frozen=True)
class ScenarioTargets:
    """What a manager adjustment of a scenario may name: the rep ids of its data's ``reps``
    table, the territory ids of its reps and accounts, and its horizon months (``YYYY-MM``)."""

    reps: frozenset[str]
    territories: frozenset[str]
    months: tuple[str, ...]


def scenario_targets(path: str | Path) -> ScenarioTargets:
    """The reps, territories and months of the scenario at ``path``, read from its data (no
    forecast is run). Hires are not included: their ids exist only in a scenario run.

    Raises :class:`~spm_models.errors.InputError` for an invalid scenario or data source.
    """
    from spm_models.scenario import load_scenario
    from spm_models.workflow.forecast_step import horizon
    from spm_models.workflow.paths import load_tables, resolve_data

    scenario = load_scenario(path)
    tables = load_tables(resolve_data(scenario))
    reps = tables.get("reps", pd.DataFrame(columns=["rep_id"]))
    territories: set[str] = set()
    for name in ("reps", "accounts"):
        table = tables.get(name)
        if table is not None and "territory_id" in table:
            territories |= set(table["territory_id"].dropna().astype(str))
    hz = horizon(scenario)
    start = pd.Period(hz["start"], freq="M")
    return ScenarioTargets(frozenset(reps["rep_id"].astype(str)), frozenset(territories),
                           tuple(str(start + i) for i in range(hz["months"])))
