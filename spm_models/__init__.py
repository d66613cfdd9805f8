"""SPM Workbench: sales performance management modeling under uncertainty.

The one-screen API (imported lazily, so ``import spm_models`` stays cheap)::

    from spm_models import (BookingsForecast, Plan, load_scenario, load_source, plan_metrics,
                            run_scenario, simulate_plan)

* :func:`load_source` — validated data tables (:mod:`spm_models.data`);
* :class:`BookingsForecast` — the Bayesian bookings model (:mod:`spm_models.forecast`);
* :class:`Plan`, :func:`simulate_plan`, :func:`plan_metrics` — comp plans, the payout engine
  over Monte Carlo draws and their decision figures (:mod:`spm_models.comp`);
* :func:`load_scenario`, :func:`run_scenario` — a scenario file end to end
  (:mod:`spm_models.scenario`, :mod:`spm_models.workflow`).

Results are xarray objects with dimensions ``rep × period × draw`` (see :mod:`spm_models.cube`);
importing the package registers their ``.spm`` accessors.
"""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("spm-workbench")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+local"

# the ``.spm`` accessors on xarray objects are registered on ``import spm_models``
from spm_models import cube as _cube  # noqa: F401

_API = {
    "load_source": "spm_models.data",
    "load_scenario": "spm_models.scenario",
    "run_scenario": "spm_models.workflow",
    "BookingsForecast": "spm_models.forecast",
    "Plan": "spm_models.comp",
    "simulate_plan": "spm_models.comp",
    "plan_metrics": "spm_models.comp",
}

__all__ = ["BookingsForecast", "Plan", "__version__", "load_scenario", "load_source",
           "plan_metrics", "run_scenario", "simulate_plan"]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'spm_models' has no attribute {name!r}")
