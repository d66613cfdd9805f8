"""Convergence diagnostics of a forecast fit (ArviZ 1.x on DataTree).

``collect_diagnostics`` returns a plain dict::

    {"method", "rhat_max", "ess_bulk_min", "ess_tail_min", "ess_bulk_min_all",
     "divergences", "n_samples", "ok", "messages", "worst": {"rhat": name, "ess": name}}

Thresholds: R-hat <= 1.01 over all parameters, bulk ESS >= 400 for the hyper-parameters,
no divergences. ``banner`` formats failures for reports (the "warning banner").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

#: credible intervals reported by this area: equal-tailed 90 %
CI_KIND = "eti"
CI_PROB = 0.90
RHAT_MAX = 1.01
ESS_MIN = 400


class ForecastConvergenceWarning(UserWarning):
    """The forecast's MCMC diagnostics failed; the forecast may be unreliable."""


def _max_over(ds: xr.Dataset, names: Iterable[str]) -> tuple[float, str]:
    best, who = -math.inf, ""
    for n in names:
        if n in ds:
            v = float(np.nanmax(np.asarray(ds[n].values, dtype=float)))
            if v > best:
                best, who = v, n
    return best, who


def _min_over(ds: xr.Dataset, names: Iterable[str]) -> tuple[float, str]:
    best, who = math.inf, ""
    for n in names:
        if n in ds:
            v = float(np.nanmin(np.asarray(ds[n].values, dtype=float)))
            if v < best:
                best, who = v, n
    return best, who


def collect_diagnostics(
    idata: xr.DataTree,
    method: str = "nuts",
    hyper: Iterable[str] = (),
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
) -> dict[str, Any]:
    """R-hat, bulk/tail ESS and divergences of ``idata``'s posterior, with a verdict."""
    import arviz as az

    post = idata["posterior"].to_dataset()
    n_chain, n_draw = post.sizes.get("chain", 1), post.sizes.get("draw", 0)
    out: dict[str, Any] = {"method": method, "n_samples": int(n_chain * n_draw), "chains": int(n_chain)}
    if method != "nuts":
        out.update(
            rhat_max=None, ess_bulk_min=None, ess_tail_min=None, ess_bulk_min_all=None,
            divergences=0, ok=True,
            messages=["approximate fit (ADVI): MCMC diagnostics do not apply; intervals may be too narrow"],
        )
        return out
    free = [str(v) for v in post.data_vars if v not in ("season_amp", "season_peak", "base_deals", "deal_median")]
    hyper_names = [h for h in hyper if h in post]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(idata, var_names=free)
        ess_b = az.ess(idata, var_names=free, method="bulk")
        ess_t = az.ess(idata, var_names=hyper_names, method="tail")
    rhat = rhat.to_dataset() if isinstance(rhat, xr.DataTree) else rhat
    ess_b = ess_b.to_dataset() if isinstance(ess_b, xr.DataTree) else ess_b
    ess_t = ess_t.to_dataset() if isinstance(ess_t, xr.DataTree) else ess_t
    r_max, r_who = _max_over(rhat, free)
    e_min, e_who = _min_over(ess_b, hyper_names)
    e_all, _ = _min_over(ess_b, free)
    t_min, _ = _min_over(ess_t, hyper_names)
    div = 0
    if "sample_stats" in idata.children and "diverging" in idata["sample_stats"].to_dataset():
        div = int(np.asarray(idata["sample_stats"]["diverging"].values).sum())
    messages = []
    if n_chain < 2:
        messages.append("R-hat needs at least 2 chains")
    if r_max > rhat_max:
        messages.append(f"R-hat {r_max:.3f} > {rhat_max} (worst: {r_who})")
    if e_min < ess_min:
        messages.append(f"bulk ESS {e_min:.0f} < {ess_min} for hyper-parameters (worst: {e_who})")
    if div:
        messages.append(f"{div} divergent transitions")
    out.update(
        rhat_max=float(r_max),
        ess_bulk_min=float(e_min),
        ess_tail_min=float(t_min),
        ess_bulk_min_all=float(e_all),
        divergences=div,
        ok=not messages,
        messages=messages,
        worst={"rhat": r_who, "ess": e_who},
    )
    return out


def banner(diagnostics: dict[str, Any]) -> str | None:
    """One-line warning for reports when the diagnostics failed, else ``None``."""
    if not diagnostics or diagnostics.get("ok", True):
        return None
    return "Forecast convergence warning: " + "; ".join(diagnostics.get("messages", []))


def warn_if_failed(diagnostics: dict[str, Any]) -> None:
    """Emit :class:`ForecastConvergenceWarning` when the diagnostics failed."""
    text = banner(diagnostics)
    if text:
        warnings.warn(text, ForecastConvergenceWarning, stacklevel=3)
