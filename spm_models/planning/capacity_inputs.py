"""The ``capacity`` section of a scenario, completed from the scenario and its forecast.

:func:`capacity_config` fills what the section leaves out so that ``capacity_from_config``
plans against the same horizon, draws and roster as the forecast:

* ``start``/``months`` from the scenario horizon, ``n_draws`` from the forecast cube,
  ``seed`` from the scenario;
* ``headcount_now`` (and ``tenure_now``, months in seat) from the ``AE`` reps of the forecast
  cube hired before the horizon start (``role`` and ``hire_month`` coordinates along ``rep``);
* ``target`` from the scenario's company target when the section gives a ``probability``
  without one (solve for the hiring plan);
* productivity per draw: the forecast's mean monthly bookings per ramped ``AE`` rep (hired
  at least :data:`RAMPED_MONTHS` months before the start), see
  :func:`spm_models.planning.capacity.productivity_from_forecast`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.planning.capacity import capacity_from_config, productivity_from_forecast

#: reps hired at least this many months before the horizon count as ramped for productivity
RAMPED_MONTHS = 12
_NEVER = 10_000.0


def _months_between(start: str, months: np.ndarray) -> np.ndarray:
    s = pd.Period(start, freq="M")
    return np.array([(s - pd.Period(str(m), freq="M")).n if str(m) not in ("", "nan", "None")
                     else _NEVER for m in months], dtype=float)


def capacity_config(section: Mapping[str, Any], forecast: xr.Dataset, *, start: str,
                    months: int, seed: int, target: float | None
                    ) -> tuple[dict[str, Any], xr.DataArray]:
    """The completed ``capacity`` config and the productivity per draw ``(draw,)`` (currency
    per ramped rep and month). ``forecast`` holds ``bookings(rep, period, draw)``."""
    sec = dict(section)
    sec.setdefault("start", start)
    sec.setdefault("months", months)
    n = forecast.sizes["rep"]
    roles = (np.asarray(forecast["role"].values).astype(str) if "role" in forecast.coords
             else np.array(["AE"] * n))
    tenure = (_months_between(str(sec["start"]), np.asarray(forecast["hire_month"].values))
              if "hire_month" in forecast.coords else np.full(n, _NEVER))
    active = (roles == "AE") & (tenure >= 0)
    if "headcount_now" not in sec:
        sec["headcount_now"] = int(active.sum())
        if "tenure_now" not in sec and "hire_month" in forecast.coords:
            sec["tenure_now"] = [float(t) for t in tenure[active]]
    sec.setdefault("n_draws", int(forecast.sizes["draw"]))
    sec.setdefault("seed", seed)
    if "probability" in sec and "target" not in sec and target is not None:
        sec["target"] = float(target)
    ramped = active & (tenure >= RAMPED_MONTHS)
    sel = forecast if not ramped.any() else forecast.isel(rep=np.flatnonzero(ramped))
    return sec, productivity_from_forecast(sel)


def capacity_for_forecast(section: Mapping[str, Any], forecast: xr.Dataset, *, start: str,
                          months: int, seed: int, target: float | None) -> xr.Dataset:
    """``capacity_from_config`` on :func:`capacity_config`: ``headcount``, ``ramped_fte``,
    ``capacity`` ``(period, draw)``, ``capacity_total(draw)``, ``hires_opened`` and
    ``hires_starting`` ``(period)``. Raises :class:`~spm_models.errors.InputError` naming the
    section and key on a bad setting."""
    cfg, prod = capacity_config(section, forecast, start=start, months=months, seed=seed,
                                target=target)
    return capacity_from_config(cfg, productivity=prod)
