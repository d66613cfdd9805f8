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
    from spm_models import pipeline

    res = pipeline.run(path)
    plans = pipeline.load_plans(res.scenario)
    return World(res.scenario, res.cube, res.tables, plans, res.summary)
