"""The scenario workflow: one scenario world from data to decision figures.

* :mod:`~spm_models.workflow.paths` — the workbench folder, demo data, cache location;
* :mod:`~spm_models.workflow.cache` — the one keyed on-disk cache (manifest-checked, locked);
* :mod:`~spm_models.workflow.forecast_step`, :mod:`~spm_models.workflow.planning_steps` —
  the steps, each calling the public API of its area;
* :mod:`~spm_models.workflow.run` — :func:`run` / :func:`run_scenario`, the named steps;
* :mod:`~spm_models.workflow.summary` — ``summary.json`` from :mod:`spm_models.figures`.

The areas (``data``, ``forecast``, ``comp``, ``planning``) never import this package.
"""

from spm_models.workflow.paths import cache_dir, demo_path, load_tables, resolve_data, workbench_dir
from spm_models.workflow.run import (
    ScenarioResult,
    data_hash_of,
    load_named,
    load_plans,
    run,
    run_scenario,
    warm_forecast,
    write_outputs,
)
from spm_models.workflow.summary import incentive_cost_of

__all__ = [
    "ScenarioResult",
    "cache_dir",
    "data_hash_of",
    "demo_path",
    "incentive_cost_of",
    "load_named",
    "load_plans",
    "load_tables",
    "resolve_data",
    "run",
    "run_scenario",
    "warm_forecast",
    "workbench_dir",
    "write_outputs",
]
