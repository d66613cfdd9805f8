"""Disk cache of fitted forecasts, keyed by the panel's content + model config + fit settings.

Scenarios that share data and model settings reuse one posterior instead of refitting. The
key hashes the panel arrays (not file names), so the same data from DuckDB or CSV hits the
same entry. PyTensor/numba compilation is cached by PyTensor itself (its compiledir).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spm_models.provenance import hash_obj

#: default cache directory (override with SPM_CACHE_DIR)
DEFAULT_CACHE_DIR = Path(os.environ.get("SPM_CACHE_DIR", Path.home() / ".cache" / "spm_models" / "forecast"))


def panel_hash(panel: xr.Dataset) -> str:
    """Content hash (16 hex) of a panel: its variables, coordinates and attributes."""
    h = hashlib.sha256()
    for name in sorted(str(v) for v in panel.variables):
        arr = np.asarray(panel[name].values)
        h.update(name.encode())
        h.update(str(arr.shape).encode())
        if arr.dtype.kind in "OUS":
            h.update("\x1f".join(map(str, arr.ravel())).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update(hash_obj({k: v for k, v in panel.attrs.items() if k != "data_hash"}).encode())
    return h.hexdigest()[:16]


def model_code_hash() -> str:
    """Hash of the forecast model's source (panel, model, fit): a changed model never reuses
    a posterior cached by an older one."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in ("panel.py", "config.py", "design.py", "deal_graph.py", "deal_predictive.py", "model.py",
                 "persist.py", "fit.py", "dlm.py", "dlm_kernel.py", "dlm_local.py", "rep_month.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def cache_key(panel: xr.Dataset, config: dict[str, Any] | None, fit_kwargs: dict[str, Any]) -> str:
    """Key of a fit: data hash + model config + fit settings (method, draws, seed, ...)."""
    from spm_models.forecast.model import ForecastConfig

    cfg = ForecastConfig.from_dict(config).to_dict()
    return hash_obj({"panel": panel_hash(panel), "config": cfg, "fit": fit_kwargs,
                     "code": model_code_hash()})


def fit_cached(
    panel: xr.Dataset,
    config: dict[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    **fit_kwargs: Any,
):
    """Return a fitted :class:`BookingsForecast`, loading it from ``cache_dir`` when the same
    panel, config and fit settings were fitted before; otherwise fit and store it."""
    from spm_models.forecast.model import BookingsForecast

    cache_dir = Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE_DIR
    key = cache_key(panel, config, fit_kwargs)
    path = cache_dir / f"fit-{key}"
    if (path / "meta.json").exists():
        try:
            m = BookingsForecast.load(path)
            m.fit_info = {**m.fit_info, "cache": "hit", "cache_key": key}
            return m
        except Exception:  # corrupt entry: refit
            pass
    m = BookingsForecast(config).fit(panel, **fit_kwargs)
    m.fit_info = {**m.fit_info, "cache": "miss", "cache_key": key}
    m.save(path)
    return m
