"""Bayesian revenue forecasting: monthly panel, hierarchical bookings model, backtesting.

Heavy imports (PyMC) happen inside functions; ``import spm_models.forecast`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BookingsForecast", "ForecastConfig", "fit_cached", "monthly_panel"]


def __getattr__(name: str) -> Any:
    if name in ("BookingsForecast", "ForecastConfig"):
        from spm_models.forecast import model

        return getattr(model, name)
    if name == "fit_cached":
        from spm_models.forecast.cache import fit_cached

        return fit_cached
    if name == "monthly_panel":
        from spm_models.forecast.panel import monthly_panel

        return monthly_panel
    raise AttributeError(name)
