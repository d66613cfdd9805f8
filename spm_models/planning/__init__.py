"""Sales planning under uncertainty: quotas, territories, capacity.

* :mod:`spm_models.planning.quota` — ``set_quotas(config, forecast, tables)``,
  ``quota_fairness(...)``, ``gini``;
* :mod:`spm_models.planning.territory` — ``balance_territories(accounts, k, ...)`` (HiGHS
  assignment LP/MIP in a location-allocation loop), ``territory_metrics``;
* :mod:`spm_models.planning.capacity` — ``simulate_capacity(...)``, ``solve_hiring(...)``,
  ``solve_hiring_on_world(...)`` (capacity read from the scenario world's revenue);
* the scenario world (``docs/scenario_world.md``): :mod:`~spm_models.planning.roster`
  (leavers, hires), :mod:`~spm_models.planning.territory_effect`,
  :mod:`~spm_models.planning.response` (opt-in plan response), :mod:`~spm_models.planning.world`
  (``simulate_world``, ``hiring_curve``), :mod:`~spm_models.planning.bridge` (``bridge_steps``).
"""

from spm_models.planning.capacity import (
    HiringSolution,
    WorldHiringSolution,
    capacity_from_config,
    productivity_from_forecast,
    simulate_capacity,
    solve_hiring,
    solve_hiring_on_world,
)
from spm_models.planning.quota import fairness_summary, gini, quota_fairness, set_quotas
from spm_models.planning.territory import (
    TerritoryResult,
    balance_from_config,
    balance_territories,
    territory_metrics,
)

__all__ = [
    "HiringSolution",
    "TerritoryResult",
    "WorldHiringSolution",
    "balance_from_config",
    "balance_territories",
    "capacity_from_config",
    "fairness_summary",
    "gini",
    "productivity_from_forecast",
    "quota_fairness",
    "set_quotas",
    "simulate_capacity",
    "solve_hiring",
    "solve_hiring_on_world",
    "territory_metrics",
]
