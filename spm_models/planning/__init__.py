"""Sales planning under uncertainty: quotas, territories, capacity.

* :mod:`spm_models.planning.quota` — ``set_quotas(config, forecast, tables)``,
  ``quota_fairness(...)``, ``gini``;
* :mod:`spm_models.planning.territory` — ``balance_territories(accounts, k, ...)`` (HiGHS
  assignment LP/MIP in a location-allocation loop), ``territory_metrics``;
* :mod:`spm_models.planning.capacity` — ``simulate_capacity(...)``, ``solve_hiring(...)``.
"""

from spm_models.planning.capacity import (
    HiringSolution,
    capacity_from_config,
    productivity_from_forecast,
    simulate_capacity,
    solve_hiring,
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
    "territory_metrics",
]
