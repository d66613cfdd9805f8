"""Incentive compensation: plan spec, payout engine, simulation and metrics.

One engine (:func:`spm_models.comp.engine.compute_payouts`) serves both actual payouts
(:func:`calc_payouts`, ``spm comp calc``) and Monte Carlo simulation
(:func:`simulate_plan`), which only adds ``draw``/``scenario`` dimensions.
"""

from spm_models.comp.calc import calc_payouts
from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import Bonus, Draw, Measure, Plan, Tier

__all__ = [
    "Bonus",
    "Draw",
    "Measure",
    "Plan",
    "Tier",
    "calc_payouts",
    "compute_payouts",
    "plan_metrics",
    "simulate_plan",
    "sweep_plans",
]


def __getattr__(name: str):  # lazy: simulation pulls in dask
    if name in ("simulate_plan", "sweep_plans"):
        from spm_models.comp import simulate
        return getattr(simulate, name)
    if name == "plan_metrics":
        from spm_models.comp.metrics import plan_metrics
        return plan_metrics
    raise AttributeError(name)
