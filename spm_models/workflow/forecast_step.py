"""The forecast step: the scenario's ``forecast`` section → fitted model → forecast cube.

Both the fitted model (posterior) and the forecast cube are entries of the one cache
(:mod:`spm_models.workflow.cache`): ``fits/<key>`` keyed by the panel content, model config and
fit settings (``spm_models.forecast.cache.cache_key``), ``forecast/<key>`` keyed by
:func:`forecast_key` (data hash, forecast section, horizon, draws, seed, package and model code
version). Scenarios on the same data reuse them, and a second report run skips the fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models import __version__
from spm_models.cube import read_cube, write_cube
from spm_models.provenance import hash_obj
from spm_models.scenario import Scenario
from spm_models.workflow.cache import Cache

#: keys of the scenario's ``forecast`` section that are fit settings (→ name of the fit
#: argument), not model config; ``attrition`` goes to the forecast call
FIT_KEYS = {"method": "method", "chains": "chains", "tune": "tune", "fit_draws": "draws",
            "sampler": "sampler", "n_steps": "n_steps", "attrition": None}


def horizon(scenario: Scenario) -> dict[str, Any]:
    """``{"start": "YYYY-MM", "months": n}`` of the scenario (default 2027-01, 12 months)."""
    hz = scenario.horizon
    return {"start": str(hz.get("start", "2027-01")), "months": int(hz.get("months", 12))}


def forecast_settings(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the ``forecast`` section into (model config, fit settings); default ``method: nuts``.

    ``method`` is ``nuts`` (full Bayesian fit, nutpie) or ``fast`` (ADVI); ``fit_draws``,
    ``chains``, ``tune``, ``sampler``, ``n_steps`` (ADVI), ``fit_seed`` (default 0, so scenarios
    that differ only in ``seed`` share one posterior) go to the fit; ``attrition`` to the
    forecast; other keys are model options (``spm_models.forecast.ForecastConfig``).
    """
    section = scenario.section("forecast")
    fit: dict[str, Any] = {"method": "nuts", "seed": int(section.pop("fit_seed", 0))}
    cfg = {}
    for k, v in section.items():
        if k in FIT_KEYS:
            name = FIT_KEYS[k]
            if name:
                fit[name] = v
        else:
            cfg[k] = v
    if fit["method"] == "full":
        fit["method"] = "nuts"
    return cfg, fit


#: version of the cached cube's contents (2: ``active`` kept beside ``bookings``)
CUBE_LAYOUT = 2


def forecast_key(data_hash: str, scenario: Scenario) -> str:
    """Cache key of a forecast cube: data, model config, fit, horizon, draws, seed, code."""
    from spm_models.forecast.cache import model_code_hash

    cfg, fit = forecast_settings(scenario)
    return hash_obj({"data": data_hash, "forecast": cfg, "fit": fit,
                     "attrition": scenario.section("forecast").get("attrition", False),
                     "horizon": horizon(scenario), "draws": scenario.draws,
                     "seed": scenario.seed, "v": __version__, "code": model_code_hash(),
                     "layout": CUBE_LAYOUT})


def fitted_model(panel: xr.Dataset, config: dict[str, Any], fit: dict[str, Any],
                 cache: Cache) -> Any:
    """A fitted ``BookingsForecast`` from the cache entry ``fits/<key>``, fitted and stored
    when the entry is missing or damaged."""
    from spm_models.forecast import BookingsForecast
    from spm_models.forecast.cache import cache_key

    key = cache_key(panel, config, fit)

    def build(folder: Path) -> Any:
        model = BookingsForecast(config).fit(panel, **fit)
        model.fit_info = {**model.fit_info, "cache": "miss", "cache_key": key}
        model.save(folder)
        return model

    def load(folder: Path) -> Any:
        model = BookingsForecast.load(folder)
        model.fit_info = {**model.fit_info, "cache": "hit", "cache_key": key}
        return model

    return cache.get("fits", key, build, load)


def diagnostics_of(model: Any) -> dict[str, Any]:
    """The fit diagnostics of ``model`` as JSON-able values."""
    diag = getattr(model, "diagnostics", None)
    if callable(diag):
        diag = diag()
    if diag is None:
        return {}
    if hasattr(diag, "to_dict") and not isinstance(diag, dict):
        diag = diag.to_dict()
    return jsonable(dict(diag))


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars, tuples and other values turned into JSON types."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def forecast_cube(tables: dict[str, pd.DataFrame], scenario: Scenario, data_hash: str,
                  cache: Cache) -> tuple[xr.Dataset, dict[str, Any]]:
    """Posterior-predictive ``bookings(rep, period, draw)`` of ``scenario`` and the fit
    diagnostics, from the cache entry ``forecast/<forecast_key>`` when sound."""
    from spm_models.forecast import monthly_panel

    key = forecast_key(data_hash, scenario)

    def build(folder: Path) -> tuple[xr.Dataset, dict[str, Any]]:
        cfg, fit = forecast_settings(scenario)
        hz = horizon(scenario)
        model = fitted_model(monthly_panel(tables), cfg, fit, cache)
        out = model.forecast(start=hz["start"], months=hz["months"], n_draws=scenario.draws,
                             seed=scenario.seed,
                             attrition=scenario.section("forecast").get("attrition", False))
        fcube = out if isinstance(out, xr.Dataset) else out.to_dataset(name="bookings")
        fcube = fcube[[v for v in ("bookings", "active") if v in fcube]] if "bookings" in fcube else fcube
        diag = diagnostics_of(model)
        write_cube(fcube, folder / "bookings.zarr",
                   provenance={"data_hash": data_hash, "seed": scenario.seed})
        (folder / "diagnostics.json").write_text(json.dumps(diag, sort_keys=True))
        return read_cube(folder / "bookings.zarr"), diag

    def load(folder: Path) -> tuple[xr.Dataset, dict[str, Any]]:
        return (read_cube(folder / "bookings.zarr"),
                json.loads((folder / "diagnostics.json").read_text()))

    fcube, diag = cache.get("forecast", key, build, load)
    return employed_in_plan(fcube), diag


def employed_in_plan(fcube: xr.Dataset) -> xr.Dataset:
    """``fcube`` without the reps inactive in every plan month and draw (the forecast's
    ``active``: a rep whose ``term_date`` falls before the plan year — ``docs/data.md``: the
    rep works through the termination month — is not on the plan year's roster: no quota, no
    headcount, no leaderboard row). Unchanged without ``active``."""
    if "active" not in fcube:
        return fcube
    act = fcube["active"].astype(bool)
    keep = act.any([d for d in act.dims if d != "rep"]).values
    return fcube if keep.all() else fcube.isel(rep=np.flatnonzero(keep))
