"""Save and load a fitted :class:`~spm_models.forecast.model.BookingsForecast` (a directory:
``meta.json`` with config, diagnostics, fit info, stacking weights and the DLM components;
``panel.zarr``, ``posterior.zarr``, ``sample_stats.zarr``), written atomically."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spm_models.atomic import atomic_dir
from spm_models.errors import InputError
from spm_models.forecast.design import design


def save(m: Any, path: str | Path) -> Path:
    """Write the fitted model (config, panel, posterior, diagnostics) to directory ``path``
    atomically (temporary directory, then rename)."""
    m._check_fitted()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(path) as tmp:
        _to_zarr(m.panel, tmp / "panel.zarr")
        for group in ("posterior", "sample_stats") if m.idata is not None else ():
            if group in m.idata.children:
                _to_zarr(m.idata[group].to_dataset(), tmp / f"{group}.zarr")
        meta = {
            "config": m.config.to_dict(),
            "diagnostics": m.diagnostics,
            "fit_info": m.fit_info,
            "weights": m.weights,
            "selection": m.selection,
            "dlm": {k: {"u_map": f.u_map.tolist(), "u_cov": f.u_cov.tolist(), "U_rep": f.U_rep.tolist(),
                         "U_sd": None if f.U_sd is None else f.U_sd.tolist(),
                         "u_cov_log": None if f.u_cov_log is None else f.u_cov_log.tolist(),
                         "info": f.info}
                    for k, f in m.dlm.items()},
            "format": 2,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))
    return path


def load(cls: Any, path: str | Path) -> Any:
    """Read a model written by :func:`save` as an instance of ``cls`` (BookingsForecast)."""
    path = Path(path)
    if not (path / "meta.json").exists():
        raise InputError(f"{path}: not a saved BookingsForecast (meta.json missing)")
    meta = json.loads((path / "meta.json").read_text())
    m = cls(meta["config"])
    m.panel = _from_zarr(path / "panel.zarr")
    if (path / "posterior.zarr").exists():
        groups = {"posterior": _from_zarr(path / "posterior.zarr")}
        if (path / "sample_stats.zarr").exists():
            groups["sample_stats"] = _from_zarr(path / "sample_stats.zarr")
        m.idata = xr.DataTree.from_dict(groups)
    m.weights = meta.get("weights") or ({"deals": 1.0} if m.idata is not None else {})
    m.selection = meta.get("selection", {})
    if meta.get("dlm"):
        from spm_models.forecast import dlm, dlm_scale, ramp, rep_month

        month = rep_month.panel_month_index(m.panel)
        for k, v in meta["dlm"].items():
            y, act = ramp.deramp(m.panel, v["info"].get("ramp")), np.asarray(m.panel["active"].values, bool)
            if k.split(":")[1] == "rep":  # each rep on its chosen scale
                prep = dlm_scale.prepare_mixed(y, act, month, np.asarray(v["info"]["log_reps"], bool))
            else:
                prep = dlm.prepare(y, act, month, k.split(":")[1])
            m.dlm[k] = dlm.DLMFit(prep, np.asarray(v["u_map"]), np.asarray(v["u_cov"]),
                                  np.asarray(v["U_rep"]), v["info"],
                                  None if v.get("U_sd") is None else np.asarray(v["U_sd"]),
                                  None if v.get("u_cov_log") is None else np.asarray(v["u_cov_log"]))
    m.diagnostics = meta.get("diagnostics", {})
    m.fit_info = meta.get("fit_info", {})
    m._design = design(m.panel)
    return m



def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _to_zarr(ds: xr.Dataset, path: Path) -> None:
    out = ds.copy()
    for name in list(out.variables):
        if out[name].dtype == object:
            out[name] = out[name].astype(str)
        out[name].encoding = {}
    out.attrs = {k: (v if isinstance(v, (str, int, float, bool)) else json.dumps(v, default=str)) for k, v in out.attrs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.to_zarr(path, mode="w", consolidated=True)


def _from_zarr(path: Path) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.open_zarr(path, consolidated=True).load()
