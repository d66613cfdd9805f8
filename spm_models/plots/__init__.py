"""Matplotlib plots for reports and notebooks, one module per area.

Functions take labelled arrays (xarray) and return a :class:`matplotlib.figure.Figure`.
"""

import matplotlib

matplotlib.use("Agg", force=False)

from spm_models.plots import comp, forecast, planning  # noqa: E402
from spm_models.plots.comp import cost_of_sales_fan, pay_curve, payout_distribution  # noqa: E402
from spm_models.plots.forecast import plot_forecast_fan, plot_parameter_intervals  # noqa: E402
from spm_models.plots.planning import (  # noqa: E402
    plot_capacity,
    plot_quota_fairness,
    plot_territory_balance,
    plot_territory_map,
)

__all__ = [
    "comp", "forecast", "planning",
    "cost_of_sales_fan", "pay_curve", "payout_distribution",
    "plot_forecast_fan", "plot_parameter_intervals",
    "plot_capacity", "plot_quota_fairness", "plot_territory_balance", "plot_territory_map",
]
