"""Per-rep choice of scale for the rep-month model (components ``dlm:rep``, ``ssoe:rep``).

The pooled model is fitted on the standardised amounts (``transform="none"``: additive level
and seasonality) and on their logarithm (``"log"``: multiplicative, for reps whose training
amounts are all positive); each rep then keeps the scale of higher Laplace evidence -- its
marginal likelihood over its own parameters, both on the standardised amounts' scale (the log
fit's densities include the Jacobian of the transform, :func:`spm_models.forecast.dlm.filter_loglik`).
This is the Bayesian counterpart of ETS choosing additive or multiplicative error and
seasonality per series by AICc (Hyndman, Koehler, Ord & Snyder 2008, *Forecasting with
Exponential Smoothing*, ch. 7); the panel-level stacking of ``model: auto`` decides, by
out-of-sample CRPS, how far to trust it against the single-scale components.
"""

from __future__ import annotations

import numpy as np

from spm_models.forecast.dlm import DLMFit, Prepared, common_correlation, prepare
from spm_models.forecast.dlm_local import NO_TREND_FORMS


def mixed_prep(none: Prepared, log: Prepared, pick: np.ndarray) -> Prepared:
    """A :class:`Prepared` whose rows ``pick (R,)`` (bool) are those of the log-scale ``log`` and
    the others those of ``none`` (standardised data, scale flags and prior state means)."""
    if log.m0 is None or none.m0 is None:
        raise ValueError("mixed_prep: both fits must be prepared (m0 set by dlm.prepare)")
    pick = np.asarray(pick, bool) & log.log
    z = np.where(pick[:, None], log.z, none.z)
    m0: np.ndarray = np.where(pick[:, None], log.m0, none.m0)
    return Prepared(z, none.active, none.start, none.nobs, none.month, none.scale, pick.copy(),
                    none.pattern, m0)


def prepare_mixed(y: np.ndarray, active: np.ndarray, month: np.ndarray, pick: np.ndarray) -> Prepared:
    """:func:`mixed_prep` of the two preparations of ``y (R, T)`` (reloading a saved fit)."""
    return mixed_prep(prepare(y, active, month, "none"), prepare(y, active, month, "log"), pick)


def combine_scales(none: DLMFit, log: DLMFit) -> DLMFit:
    """Every rep on the scale of higher Laplace evidence, from two fits of the same panel and
    family (``transform`` ``"none"`` and ``"log"``, both with the per-rep local fit, whose
    ``info["log_evidence_rep"] (R,)`` they compare). Returns a fit whose rows are those of the
    chosen fit: data, per-rep parameters and their Laplace sd, and the per-rep trend forms
    counted over the chosen rows; forecast draws shift the
    pooled parameters of each rep by the same standard-normal draw through its own fit's
    Laplace covariance. Raises ``ValueError`` when a fit has no per-rep evidence."""
    if "log_evidence_rep" not in none.info or "log_evidence_rep" not in log.info:
        raise ValueError("combine_scales: both fits need the per-rep local fit (log_evidence_rep)")
    ev_none = np.asarray(none.info["log_evidence_rep"], float)
    ev_log = np.asarray(log.info["log_evidence_rep"], float)
    pick = log.prep.log & (ev_log > ev_none)
    prep = mixed_prep(none.prep, log.prep, pick)
    U = np.where(pick[:, None], log.U_rep, none.U_rep)
    sd = None
    if none.U_sd is not None and log.U_sd is not None:
        sd = np.where(pick[:, None], log.U_sd, none.U_sd)
    info = {k: v for k, v in none.info.items() if k != "log_evidence_rep"}
    info.update({"transform": "rep", "n_log_reps": int(pick.sum()), "log_reps": pick.tolist(),
                 "theta_log": log.info.get("theta"),
                 "log_evidence_rep": np.where(pick, ev_log, ev_none).tolist(),
                 "optimizer_converged": bool(none.info["optimizer_converged"] and log.info["optimizer_converged"]),
                 "seconds": round(float(none.info.get("seconds", 0)) + float(log.info.get("seconds", 0)), 3)})
    if "trend_form_rep" in none.info and "trend_form_rep" in log.info:  # the chosen rows' forms
        forms = np.where(pick, np.asarray(log.info["trend_form_rep"], object),
                         np.asarray(none.info["trend_form_rep"], object))
        info.update({"trend_form_rep": forms.tolist(), "n_reps_no_trend": int(np.isin(forms, NO_TREND_FORMS).sum()),
                     "n_reps_linear_trend": int(np.sum(forms == "linear")),
                     "n_reps_drift": int(np.sum(forms == "drift")),
                     "local_converged": bool(none.info.get("local_converged", True)
                                             and log.info.get("local_converged", True)),
                     "local_unconverged_reps": int(none.info.get("local_unconverged_reps", 0))
                     + int(log.info.get("local_unconverged_reps", 0))})
    info["rho"] = common_correlation(prep, U)
    return DLMFit(prep, none.u_map, none.u_cov, U, info, sd, u_cov_log=log.u_cov)
