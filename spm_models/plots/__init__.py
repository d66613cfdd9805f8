"""Matplotlib plots for reports and notebooks, one module per area.

Functions take labelled arrays (xarray) and return a :class:`matplotlib.figure.Figure`.
"""

import matplotlib

matplotlib.use("Agg", force=False)

from spm_models.plots import comp, forecast, planning
from spm_models.plots.comp import cost_of_sales_fan, pay_curve, payout_distribution
from spm_models.plots.forecast import plot_forecast_fan, plot_parameter_intervals
from spm_models.plots.planning import (
    plot_capacity,
    plot_quota_fairness,
    plot_territory_balance,
    plot_territory_map,
)

__all__ = [
    "comp",
    "cost_of_sales_fan",
    "forecast",
    "pay_curve",
    "payout_distribution",
    "planning",
    "plot_capacity",
    "plot_forecast_fan",
    "plot_parameter_intervals",
    "plot_quota_fairness",
    "plot_territory_balance",
    "plot_territory_map",
]
