"""Hierarchical Bayesian bookings model at rep × month (PyMC 6).

Generative story (the demo organisation follows it, see ``docs/architecture.md``):

* deals ``n[r,t] ~ Poisson(λ[r,t])`` (or negative binomial), with
  ``log λ = log_base_deals + region_eff + territory_eff + skill[r] + trend·(t − t_mid)/12
  + Σ_k a_k cos(2πk·fm/12) + b_k sin(2πk·fm/12) + log ramp(tenure)``,
  ``ramp(τ) = 1 − exp(−(τ + 1)/ramp_tau)``, ``fm`` the fiscal month 1..12;
* the month's gross bookings are a sum of ``n`` log-normal deal sizes
  ``LogNormal(log_deal_median + region_size_eff (+ rep_size_eff), deal_sigma)``; the sum is
  modelled with its moment-matched log-normal (Fenton–Wilkinson), exact for ``n = 1``;
  months without deals contribute only through the count likelihood (the hurdle);
* a share ``cancel_rate`` of deals is cancelled 1–3 months later (negative amounts), so net
  bookings can be negative without breaking the likelihood.

Rep, territory and region effects are partially pooled. By default (``rep_effects="auto"``)
each rep's log deal rate is sampled centred with the territory effects integrated out
analytically (block-diagonal multivariate normal prior), which mixes well when territories
hold one or two reps; size effects are non-centered. The first
harmonic is reported as ``season_amp`` and ``season_peak`` (fiscal month of the peak), so
they compare directly with the demo's ``truth`` table.

Fitting (see :mod:`spm_models.forecast.fit`) uses nutpie's NUTS by default, PyMC's NUTS as a
fallback, or ADVI for a fast approximate fit. Forecasts are drawn in numpy from the
posterior samples (fast), for the reps still employed and for future hires.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.errors import InputError

#: hyper-parameters (diagnostics thresholds apply to these)
HYPER_PARAMS = (
    "log_base_deals",
    "effect_sigma",
    "territory_share",
    "trend",
    "season_a",
    "season_b",
    "ramp_tau",
    "rep_sigma",
    "territory_sigma",
    "region_sigma",
    "log_deal_median",
    "deal_sigma",
    "size_region_sigma",
    "size_rep_sigma",
    "region_eff",
    "size_region_eff",
    "cancel_rate",
    "inv_alpha",
)


#: ``rep_effects="auto"`` integrates territory effects out (centred rep effects) from this many
#: reps on; below it the spreads are poorly known and centred effects funnel (a 6-rep org:
#: 2-5 divergences in 2 x 300 draws vs 0-1 non-centred)
MARGINAL_MIN_REPS = 20


@dataclass(frozen=True)
class ForecastConfig:
    """Model options; build one from a plain dict with :meth:`from_dict`.

    Attributes
    ----------
    model
        ``"deals"``: deal counts x deal sizes (deal-level CRM data); ``"dlm"``: the pooled
        dynamic linear model on rep-month amounts (:mod:`spm_models.forecast.dlm`);
        ``"auto"`` (default): choose the model, or a stacking of the candidates, by
        rolling-origin evidence on the training data (:mod:`spm_models.forecast.rep_month`).
    dlm_transform
        Scale of the DLM: ``"none"`` (additive on amounts / rep scale), ``"log"`` (log
        amounts, reps with all-positive amounts), ``"auto"`` (both are candidates).
    auto_holdout
        Months at the end of the training data that ``model: auto`` forecasts to score the
        candidates (fewer when the history is short).
    count_likelihood
        ``"poisson"`` (the demo's process) or ``"negbin"`` (over-dispersed deal counts).
    season_harmonics
        Fourier harmonics of the fiscal-month seasonality (0 = none; the first harmonic
        gives ``season_amp`` / ``season_peak``).
    rep_size_effects
        Partially pooled per-rep deal-size effects (for reps whose deal sizes differ by
        orders of magnitude). Off reproduces the demo's process (size effects by region).
    ramp
        Ramp-up on tenure ``1 − exp(−(tenure + 1)/ramp_tau)`` for new hires.
    prior_ramp_tau
        Prior median of ``ramp_tau`` in months (log-normal, sd 0.75 on the log scale).
    target_accept
        NUTS target acceptance rate.
    territory_effects
        Pooled territory effects: ``"auto"`` includes them when territories hold at least
        1.1 reps on average over the history (otherwise territory and rep effects are not
        separable and the rep effect absorbs both), ``"on"`` / ``"off"`` force it.
    min_pooled_groups
        Fewer regions than this get zero-sum fixed effects (prior sd 0.5) instead of
        partially pooled ones: a variance cannot be learnt from 2–4 groups.
    rep_effects
        Parameterisation of rep (and territory) rate effects: ``"marginal"`` samples each
        rep's log deal rate centred with territory effects integrated out (exact block-
        diagonal normal prior); ``"centered"`` centred rep effects around non-centred
        territory effects; ``"noncentered"`` non-centred rep and territory effects with
        total spread × territory share. ``"auto"`` = marginal with territory effects and at
        least ``MARGINAL_MIN_REPS`` (20) reps, otherwise non-centred.
    """

    model: Literal["auto", "deals", "dlm"] = "auto"
    dlm_transform: Literal["auto", "none", "log"] = "auto"
    auto_holdout: int = 12
    count_likelihood: Literal["poisson", "negbin"] = "poisson"
    season_harmonics: int = 1
    rep_size_effects: bool = True
    ramp: bool = True
    prior_ramp_tau: float = 3.0
    target_accept: float = 0.9
    territory_effects: Literal["auto", "on", "off"] = "auto"
    min_pooled_groups: int = 5
    rep_effects: Literal["auto", "marginal", "centered", "noncentered"] = "auto"

    @classmethod
    def from_dict(cls, config: dict[str, Any] | ForecastConfig | None) -> ForecastConfig:
        """Validate a plain dict; unknown keys or bad values raise :class:`InputError`."""
        if config is None:
            return cls()
        if isinstance(config, ForecastConfig):
            return config
        names = {f.name for f in fields(cls)}
        problems = [f"forecast config, field '{k}': unknown option" for k in config if k not in names]
        if problems:
            raise InputError(problems)
        cfg = cls(**dict(config))
        if cfg.model not in ("auto", "deals", "dlm"):
            problems.append(f"forecast config, field 'model': must be auto, deals or dlm, got {cfg.model!r}")
        if cfg.dlm_transform not in ("auto", "none", "log"):
            problems.append("forecast config, field 'dlm_transform': must be auto, none or log")
        if not isinstance(cfg.auto_holdout, int) or not 1 <= cfg.auto_holdout <= 36:
            problems.append("forecast config, field 'auto_holdout': must be a whole number of months 1..36")
        if cfg.count_likelihood not in ("poisson", "negbin"):
            problems.append(
                "forecast config, field 'count_likelihood': must be 'poisson' or 'negbin', "
                f"got {cfg.count_likelihood!r}"
            )
        if cfg.season_harmonics not in (0, 1, 2, 3):
            problems.append("forecast config, field 'season_harmonics': must be 0..3")
        if not cfg.prior_ramp_tau > 0:
            problems.append("forecast config, field 'prior_ramp_tau': must be > 0")
        if cfg.territory_effects not in ("auto", "on", "off"):
            problems.append("forecast config, field 'territory_effects': must be auto, on or off")
        if cfg.rep_effects not in ("auto", "marginal", "centered", "noncentered"):
            problems.append(
                "forecast config, field 'rep_effects': must be auto, marginal, centered or noncentered"
            )
        if not 0.5 <= cfg.target_accept < 1:
            problems.append("forecast config, field 'target_accept': must be in [0.5, 1)")
        if problems:
            raise InputError(problems)
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------
# model data
# ----------------------------------------------------------------------------------------


@dataclass
class _Design:
    """Index arrays and observations of the active cells of a panel."""

    rep: np.ndarray  # rep labels
    region_idx: np.ndarray  # (R,) region code of each rep
    terr_idx: np.ndarray  # (R,) territory code of each rep
    regions: np.ndarray
    territories: np.ndarray  # unique "region|territory" keys
    r: np.ndarray  # (N,) rep index of each active cell
    t: np.ndarray  # (N,) period index
    tyear: np.ndarray  # (N,) (t - t_mid)/12
    fm: np.ndarray  # (N,) fiscal month
    tenure: np.ndarray  # (N,)
    deals: np.ndarray  # (N,)
    gross: np.ndarray  # (N,)
    t_mid: float
    total_deals: int
    total_cancels: int
    cancel_size_ratio: float
    attrition_monthly: float


def _territory_keys(region: np.ndarray, territory: np.ndarray) -> np.ndarray:
    return np.asarray([f"{g}|{t}" for g, t in zip(region, territory)], dtype=str)


def _design(panel: xr.Dataset) -> _Design:
    need = ("deals", "gross", "active", "tenure", "fiscal_month", "cancels", "cancel_amount")
    missing = [v for v in need if v not in panel]
    if missing:
        raise InputError([f"panel, field '{v}': missing (build it with monthly_panel)" for v in missing])
    active = np.asarray(panel["active"].values, dtype=bool)
    if not active.any():
        raise InputError("bookings: no active rep-months to fit")
    region = np.asarray(panel["region"].values).astype(str)
    territory = np.asarray(panel["territory_id"].values).astype(str)
    regions, region_idx = np.unique(region, return_inverse=True)
    tkeys = _territory_keys(region, territory)
    territories, terr_idx = np.unique(tkeys, return_inverse=True)
    r, t = np.nonzero(active)
    n_t = panel.sizes["period"]
    t_mid = (n_t - 1) / 2.0
    deals = np.asarray(panel["deals"].values)[r, t].astype(np.int64)
    gross = np.asarray(panel["gross"].values)[r, t].astype(float)
    gross = np.where(deals > 0, np.maximum(gross, 1e-9), 0.0)
    fm = np.asarray(panel["fiscal_month"].values)[t].astype(float)
    tenure = np.maximum(np.asarray(panel["tenure"].values)[r, t], 0).astype(float)
    all_deals = np.asarray(panel["deals"].values)
    all_gross = np.asarray(panel["gross"].values)
    cancels = np.asarray(panel["cancels"].values)
    camount = np.asarray(panel["cancel_amount"].values)
    # cancellations land 1-3 months after the deal and are seen only while the rep is on the
    # books: deals of a rep's last three observable months (panel end, or the term month of a
    # rep who left) count with the share of that window we can observe. A rep's last
    # observable month is the later of the last active month and the last month with any
    # booking row (real data may charge cancellations to reps after they left).
    t_idx = np.arange(n_t)
    seen = active | (all_deals > 0) | (cancels > 0)
    last_obs = np.where(seen.any(axis=1), n_t - 1 - np.argmax(seen[:, ::-1], axis=1), n_t - 1)
    window = np.clip((last_obs[:, None] - t_idx[None, :]) / 3.0, 0.0, 1.0)
    total_deals = round(float((all_deals * window).sum()))
    total_cancels = int(cancels.sum())
    if total_cancels > 0 and total_deals > 0:
        ratio = float((camount.sum() / total_cancels) / (all_gross.sum() / max(int(all_deals.sum()), 1)))
    else:
        ratio = 1.0
    # attrition: terminations inside the panel / active rep-months
    term = np.asarray(panel["term_month"].values).astype(str) if "term_month" in panel.coords else None
    periods = set(np.asarray(panel["period"].values).astype(str))
    n_terms = int(sum(1 for x in term if x and x in periods)) if term is not None else 0
    attrition = (n_terms + 0.5) / (active.sum() + 1.0)
    return _Design(
        rep=np.asarray(panel["rep"].values).astype(str),
        region_idx=region_idx,
        terr_idx=terr_idx,
        regions=regions,
        territories=territories,
        r=r,
        t=t,
        tyear=(t - t_mid) / 12.0,
        fm=fm,
        tenure=tenure,
        deals=deals,
        gross=gross,
        t_mid=t_mid,
        total_deals=total_deals,
        total_cancels=min(total_cancels, total_deals),
        cancel_size_ratio=ratio,
        attrition_monthly=float(attrition),
    )


# ----------------------------------------------------------------------------------------
# the model
# ----------------------------------------------------------------------------------------


def _zs(pm, name: str, dim: str, n: int):
    """Non-centered group effects: standard normal constrained to sum to zero (removes the
    intercept ridge that few groups leave); scaled by the group sigma by the caller.
    Rescaled by sqrt(n/(n-1)) so each effect keeps unit marginal variance."""
    z = pm.ZeroSumNormal(name, sigma=1.0, dims=dim)
    return z * np.sqrt(n / (n - 1.0)) if n > 1 else z


class BookingsForecast:
    """Hierarchical rep × month bookings model with a posterior-predictive forecast cube.

    Parameters
    ----------
    config
        Plain dict of :class:`ForecastConfig` fields (or a ``ForecastConfig``).

    Examples
    --------
    >>> m = BookingsForecast({"count_likelihood": "poisson"}).fit(panel, method="fast")
    >>> cube = m.forecast("2027-01", 12, n_draws=1000, seed=0)
    >>> cube["bookings"].spm.rollup("company")
    """

    def __init__(self, config: dict[str, Any] | ForecastConfig | None = None):
        self.config = ForecastConfig.from_dict(config)
        self.panel: xr.Dataset | None = None
        self.idata: xr.DataTree | None = None
        self.model = None
        self.diagnostics: dict[str, Any] = {}
        self.fit_info: dict[str, Any] = {}
        self._design: _Design | None = None
        #: fitted components and their stacking weights (see rep_month)
        self.dlm: dict[str, Any] = {}
        self.weights: dict[str, float] = {}
        self.selection: dict[str, Any] = {}

    # ---- model ------------------------------------------------------------------------
    def build_model(self, panel: xr.Dataset):
        """Build the PyMC model for ``panel`` (see :func:`monthly_panel`); returns ``pm.Model``."""
        import pymc as pm
        import pytensor.tensor as pt

        cfg = self.config
        d = _design(panel)
        self.panel = panel
        self._design = d
        R, G, K = len(d.rep), len(d.regions), len(d.territories)
        coords = {"rep": d.rep, "region": d.regions, "territory": d.territories}
        if cfg.season_harmonics:
            coords["harmonic"] = np.arange(1, cfg.season_harmonics + 1)
        # data-informed prior centres (scale-free: works for any currency / org size)
        mature = d.tenure >= 12 if cfg.ramp else np.ones_like(d.deals, bool)
        mean_deals = float(d.deals[mature].mean()) if mature.any() else float(d.deals.mean())
        pos = d.deals > 0
        log_size = np.log(d.gross[pos] / d.deals[pos]) if pos.any() else np.array([0.0])
        size_centre = float(np.median(log_size))
        with pm.Model(coords=coords) as model:
            # data as shared variables: the compiled (numba) graph does not embed the data, so
            # PyTensor's on-disk numba cache is reused across data sets of the same structure
            region_idx = pm.Data("region_idx", d.region_idx.astype(np.int64))
            terr_idx = pm.Data("terr_idx", d.terr_idx.astype(np.int64))
            cell_rep = pm.Data("cell_rep", d.r.astype(np.int64))
            tyear = pm.Data("tyear", d.tyear)
            deals_obs = pm.Data("deals_obs", d.deals)
            log_base = pm.Normal("log_base_deals", np.log(max(mean_deals, 1e-3)), 1.0)
            trend = pm.Normal("trend", 0.0, 0.5)
            use_terr = self._use_territory(R, G, K)
            mode = self._rep_effects_mode(use_terr, R)
            if mode == "noncentered" and use_terr:
                # total spread and territory share, both sigmas as deterministics
                effect_sigma = pm.HalfNormal("effect_sigma", 0.5)
                terr_share = pm.Beta("territory_share", 1.5, 3.0)
                rep_sigma = pm.Deterministic("rep_sigma", effect_sigma * pt.sqrt(1.0 - terr_share))
                territory_sigma = pm.Deterministic("territory_sigma", effect_sigma * pt.sqrt(terr_share))
            else:
                rep_sigma = pm.HalfNormal("rep_sigma", 0.5)
                if use_terr:
                    territory_sigma = pm.HalfNormal("territory_sigma", 0.25)
            group = pt.zeros(R)  # region (+ territory) part of each rep's effect
            if G > 1:
                if G >= cfg.min_pooled_groups:
                    region_sigma = pm.HalfNormal("region_sigma", 0.3)
                    region_z = _zs(pm, "region_z", "region", G)
                    group = group + region_sigma * region_z[region_idx]
                else:  # too few regions to learn a variance: zero-sum fixed effects
                    region_eff = pm.ZeroSumNormal("region_eff", sigma=0.5, dims="region")
                    group = group + region_eff[region_idx]
            if mode == "marginal":
                # territory effects integrated out and the whole hierarchy centred: a rep's
                # log deal rate at t_mid, rep_eff = log_base + region + territory + rep, is
                # normal around log_base + region with covariance rep_sigma² I +
                # territory_sigma² 11ᵀ per territory (block diagonal). Each rep's months
                # identify rep_eff, so the intercept, region effects and both sigmas are simple
                # means / spreads of it: no funnel, no rep/territory or intercept ridges across
                # hundreds of latents. Territory effects are drawn from their conditional
                # posterior for forecasts (see _effects).
                rep_eff = pm.Flat("rep_eff", dims="rep", initval=np.full(R, float(np.log(max(mean_deals, 1e-3)))))
                dev = pm.Deterministic("rep_dev", rep_eff - log_base - group, dims="rep")
                onehot = np.zeros((R, K))
                onehot[np.arange(R), d.terr_idx] = 1.0
                n_k = onehot.sum(axis=0)
                sr2, st2 = rep_sigma**2, territory_sigma**2
                tot = pt.dot(dev, pt.as_tensor_variable(onehot))  # (K,) sums per territory
                quad = (pt.sum(dev**2) - pt.sum(st2 * tot**2 / (sr2 + n_k * st2))) / sr2
                logdet = (R - K) * pt.log(sr2) + pt.sum(pt.log(sr2 + n_k * st2))
                pm.Potential("rep_eff_prior", -0.5 * (quad + logdet + R * np.log(2 * np.pi)))
                eff = rep_eff - log_base  # log_base is added back below
            elif mode == "centered":
                if use_terr:
                    territory_z = _zs(pm, "territory_z", "territory", K)
                    group = group + territory_sigma * territory_z[terr_idx]
                rep_eff = pm.Normal("rep_eff", group, rep_sigma, dims="rep")
                scale = np.sqrt(R / (R - 1.0)) if R > 1 else 1.0
                pm.Deterministic("rep_z", (rep_eff - group) / rep_sigma / scale, dims="rep")
                eff = rep_eff
            else:
                if use_terr:
                    territory_z = _zs(pm, "territory_z", "territory", K)
                    group = group + territory_sigma * territory_z[terr_idx]
                rep_z = _zs(pm, "rep_z", "rep", R)
                eff = rep_sigma * rep_z + group
            log_lam = log_base + trend * tyear + eff[cell_rep]
            if cfg.season_harmonics:
                H = cfg.season_harmonics
                k = np.arange(1, H + 1)
                ang = 2 * np.pi * np.outer(d.fm, k) / 12.0
                a = pm.Normal("season_a", 0.0, 0.5, dims="harmonic")
                b = pm.Normal("season_b", 0.0, 0.5, dims="harmonic")
                cos_f = pm.Data("season_cos", np.cos(ang))
                sin_f = pm.Data("season_sin", np.sin(ang))
                log_lam = log_lam + pt.dot(cos_f, a) + pt.dot(sin_f, b)
                pm.Deterministic("season_amp", pt.sqrt(a[0] ** 2 + b[0] ** 2))
                pm.Deterministic(
                    "season_peak",
                    pt.mod(pt.arctan2(b[0], a[0]) * 12 / (2 * np.pi) - 0.5, 12.0) + 0.5,
                )
            if cfg.ramp:
                ramp_tau = pm.LogNormal("ramp_tau", np.log(cfg.prior_ramp_tau), 0.75)
                young = d.tenure < 60
                if young.any():
                    idx = pm.Data("young_idx", np.flatnonzero(young).astype(np.int64))
                    ten = pm.Data("young_tenure", d.tenure[young] + 1.0)
                    log_ramp = pt.log1mexp(-ten / ramp_tau)  # log(1 - exp(x))
                    log_lam = pt.inc_subtensor(log_lam[idx], log_ramp)
            mu = pt.exp(log_lam)
            if cfg.count_likelihood == "negbin":
                inv_alpha = pm.HalfNormal("inv_alpha", 0.5)
                pm.NegativeBinomial("deals", mu=mu, alpha=1.0 / inv_alpha, observed=deals_obs)
            else:
                pm.Poisson("deals", mu=mu, observed=deals_obs)
            pm.Deterministic("base_deals", pt.exp(log_base - trend * d.t_mid / 12.0))

            # deal sizes: moment-matched log-normal for the sum of n deals
            log_med = pm.Normal("log_deal_median", size_centre, 1.0)
            deal_sigma = pm.HalfNormal("deal_sigma", 1.0)
            size_eff = log_med + pt.zeros(R)
            if G > 1:
                if G >= cfg.min_pooled_groups:
                    size_region_sigma = pm.HalfNormal("size_region_sigma", 0.3)
                    size_region_z = _zs(pm, "size_region_z", "region", G)
                    size_eff = size_eff + size_region_sigma * size_region_z[region_idx]
                else:
                    size_region_eff = pm.ZeroSumNormal("size_region_eff", sigma=0.5, dims="region")
                    size_eff = size_eff + size_region_eff[region_idx]
            if cfg.rep_size_effects:
                size_rep_sigma = pm.HalfNormal("size_rep_sigma", 0.3)
                size_rep_z = _zs(pm, "size_rep_z", "rep", R)
                size_eff = size_eff + size_rep_sigma * size_rep_z
            pm.Deterministic("deal_median", pt.exp(log_med))
            if pos.any():
                n = pm.Data("pos_deals", d.deals[pos].astype(float))
                pos_rep = pm.Data("pos_rep", d.r[pos].astype(np.int64))
                log_gross = pm.Data("log_gross_obs", np.log(d.gross[pos]))
                s2 = pt.log1p(pt.expm1(deal_sigma**2) / n)
                mu_s = pt.log(n) + size_eff[pos_rep] + deal_sigma**2 / 2 - s2 / 2
                pm.Normal("log_gross", mu_s, pt.sqrt(s2), observed=log_gross)

            cancel_rate = pm.Beta("cancel_rate", 1.0, 9.0)
            if d.total_deals > 0:
                pm.Binomial("cancels", n=d.total_deals, p=cancel_rate, observed=d.total_cancels)
        self.model = model
        return model

    def _rep_effects_mode(self, use_terr: bool, n_reps: int) -> str:
        """``"auto"``: territory effects integrated out ("marginal") when they are used and
        there are at least :data:`MARGINAL_MIN_REPS` reps, otherwise non-centred rep effects
        (centred effects funnel when few reps leave their spread poorly known)."""
        mode = self.config.rep_effects
        if mode == "auto":
            return "marginal" if use_terr and n_reps >= MARGINAL_MIN_REPS else "noncentered"
        if mode == "marginal" and not use_terr:
            return "centered"
        return mode

    def _use_territory(self, R: int, G: int, K: int) -> bool:
        """Territory effects are separable from rep effects only when territories hold more
        than one rep over the history; ``territory_effects="auto"`` needs >= 1.1 on average."""
        mode = self.config.territory_effects
        if K <= max(G, 1) or mode == "off":
            return False
        return mode == "on" or R / K >= 1.1

    # ---- fitting ------------------------------------------------------------------------
    def fit(
        self,
        panel: xr.Dataset,
        method: Literal["nuts", "fast"] = "nuts",
        draws: int = 1000,
        tune: int = 1500,
        chains: int = 4,
        seed: int = 0,
        sampler: Literal["nutpie", "pymc"] | None = None,
        progressbar: bool = False,
        **kwargs: Any,
    ) -> BookingsForecast:
        """Fit to ``panel``; ``method="nuts"`` (nutpie, PyMC fallback) or ``"fast"`` (ADVI).

        Sets :attr:`idata` (DataTree with a ``posterior`` group), :attr:`diagnostics` and
        :attr:`fit_info`; warns (:class:`ForecastConvergenceWarning`) when diagnostics fail.
        """
        from spm_models.forecast import rep_month

        if method not in ("nuts", "fast"):
            raise InputError(f"fit, field 'method': must be 'nuts' or 'fast', got {method!r}")
        cfg = self.config
        names = rep_month.candidates(panel, cfg.model, cfg.dlm_transform)
        fit_kw = dict(method=method, draws=draws, tune=tune, chains=chains, seed=seed, sampler=sampler,
                      progressbar=progressbar, **kwargs)

        def val_forecast(name, train, periods, n, sd):
            sub = BookingsForecast(cfg)
            if name == "deals":  # validation fits of the deal model use ADVI (speed)
                sub._fit_deals(train, method="fast", draws=max(n, 300), seed=sd)
            else:
                sub._fit_dlm(name, train)
            sub.weights = {name: 1.0}
            ds = sub.forecast(periods[0], len(periods), n_draws=n, seed=sd)
            return np.asarray(ds["bookings"].transpose("rep", "period", "draw").values, float)

        sel = rep_month.select(panel, names, cfg.auto_holdout, val_forecast, seed)
        if cfg.model != "auto":
            sel["reason"] = f"model: {cfg.model} (set in the config); " + sel["reason"]
        self.selection = sel
        self.weights = dict(sel["weights"])
        self.panel = panel
        self._design = _design(panel)
        info: dict[str, Any] = {"components": {}}
        diag: dict[str, Any] = {}
        for name in self.weights:
            if name == "deals":
                self._fit_deals(panel, **fit_kw)
                info["components"]["deals"] = self.fit_info
                diag = dict(self.diagnostics)
            else:
                self._fit_dlm(name, panel)
                info["components"][name] = self.dlm[name].info
        info["method"] = method if "deals" in self.weights else "map-laplace"
        info["sampler"] = (info["components"]["deals"].get("sampler", method)
                           if "deals" in self.weights else "map-laplace")
        info["seed"] = seed
        info["model_selection"] = self.selection
        self.fit_info = info
        if "deals" not in self.weights:
            diag = {"method": "map-laplace", "ok": all(f.info["optimizer_converged"] for f in self.dlm.values()),
                    "messages": [f"{k}: optimizer did not converge ({f.info['optimizer_message']})"
                                 for k, f in self.dlm.items() if not f.info["optimizer_converged"]],
                    "note": "closed-form conjugate DLM: states and variances exact given the "
                            "hyper-parameters (posterior mode + Laplace); MCMC diagnostics do not apply"}
        diag["model_selection"] = self.selection
        diag["model"] = "+".join(f"{k}:{w:.1f}" for k, w in self.weights.items())
        diag["model_reason"] = str(self.selection.get("reason", ""))  # a scalar the report table shows
        self.diagnostics = diag
        return self

    def _fit_dlm(self, name: str, panel: xr.Dataset) -> None:
        from spm_models.forecast import dlm, rep_month

        self.panel = panel
        self._design = _design(panel)
        self.dlm[name] = dlm.fit_dlm(np.asarray(panel["amount"].values, float),
                                     np.asarray(panel["active"].values, bool),
                                     rep_month.panel_month_index(panel), transform=name.split(":")[1])

    def _fit_deals(self, panel, method="nuts", draws=1000, tune=1500, chains=4, seed=0, sampler=None,
                   progressbar=False, **kwargs) -> None:
        from spm_models.forecast import fit as _fit
        from spm_models.forecast.diagnostics import collect_diagnostics, warn_if_failed

        model = self.build_model(panel)
        if method == "nuts":
            idata, info = _fit.sample_nuts(
                model,
                draws=draws,
                tune=tune,
                chains=chains,
                seed=seed,
                sampler=sampler,
                target_accept=self.config.target_accept,
                progressbar=progressbar,
                **kwargs,
            )
        elif method == "fast":
            idata, info = _fit.fit_fast(model, draws=draws, seed=seed, progressbar=progressbar, **kwargs)
        self.idata = idata
        self.fit_info = info
        self.diagnostics = collect_diagnostics(idata, method=method, hyper=HYPER_PARAMS)
        if info.get("sampler_fallback"):
            self.diagnostics["sampler_fallback"] = info["sampler_fallback"]
            self.diagnostics.setdefault("messages", []).append(info["sampler_fallback"])
        warn_if_failed(self.diagnostics)

    # ---- posterior helpers ----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.panel is None or (self.idata is None and not self.dlm):
            raise RuntimeError("BookingsForecast is not fitted: call fit() or load() first")
        if not self.weights:
            self.weights = {"deals": 1.0} if self.idata is not None else {k: 1.0 / len(self.dlm) for k in self.dlm}
        if self._design is None:
            self._design = _design(self.panel)

    @property
    def posterior(self) -> xr.Dataset:
        """Posterior samples as a Dataset with dims ``chain``, ``draw``."""
        self._check_fitted()
        return self.idata["posterior"].to_dataset()

    def summary(self, var_names: list[str] | None = None) -> pd.DataFrame:
        """ArviZ summary (mean, sd, 90 % equal-tailed interval, R-hat, ESS) of the hyper-parameters."""
        import arviz as az

        from spm_models.forecast.diagnostics import CI_KIND, CI_PROB

        post = self.posterior
        names = var_names or [v for v in (*HYPER_PARAMS, "season_amp", "season_peak", "base_deals", "deal_median") if v in post]
        return az.summary(self.idata, var_names=names, ci_kind=CI_KIND, ci_prob=CI_PROB)

    def _params(self, n_draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n_draws`` posterior samples (resampled from all chains) as flat numpy arrays."""
        post = self.posterior
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        S = n_chain * n_draw
        pick = rng.choice(S, n_draws, replace=n_draws > S)
        out: dict[str, np.ndarray] = {}
        for name, var in post.data_vars.items():
            arr = np.asarray(var.values)
            arr = arr.reshape((S,) + arr.shape[2:])
            out[name] = arr[pick]
        return out

    # ---- simulation ---------------------------------------------------------------------
    def _effects(
        self, p: dict[str, np.ndarray], reps: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Count and size effects ``(D, R)`` for ``reps`` (rep_id, region, territory_id).

        Reps in the fitted panel use their posterior effects; new reps (and unknown
        territories / regions) get effects drawn from the population level.
        """
        d = self._design
        D = len(p["log_base_deals"])
        p = dict(p)
        for name in ("rep_z", "region_z", "territory_z", "size_region_z", "size_rep_z"):
            if name in p and p[name].shape[1] > 1:  # same rescaling as _zs in the model
                n = p[name].shape[1]
                p[name] = p[name] * np.sqrt(n / (n - 1.0))
        # fixed (unpooled) region effects: express as sigma * z, sigma = their spread per draw
        for eff_name, sig, z in (("region_eff", "region_sigma", "region_z"),
                                 ("size_region_eff", "size_region_sigma", "size_region_z")):
            if eff_name in p:
                e = p[eff_name]
                sd = e.std(axis=1, ddof=1) if e.shape[1] > 1 else np.zeros(D)
                sd = np.maximum(sd, 1e-12)
                p[sig], p[z] = sd, e / sd[:, None]
        rep_pos = {r: i for i, r in enumerate(d.rep)}
        reg_pos = {g: i for i, g in enumerate(d.regions)}
        ter_pos = {t: i for i, t in enumerate(d.territories)}
        R = len(reps)
        eff = np.zeros((D, R))
        size = np.repeat(p["log_deal_median"][:, None], R, axis=1)
        rep_sigma = p["rep_sigma"]
        marginal = "rep_dev" in p
        if marginal and "territory_sigma" in p:
            # territory effects were integrated out: draw them from their conditional
            # posterior given the reps' deviations, N(v·S_k/σr², v), v = 1/(n_k/σr² + 1/σt²)
            K = len(d.territories)
            S = np.zeros((D, K))
            np.add.at(S.T, d.terr_idx, p["rep_dev"].T)
            n_k = np.bincount(d.terr_idx, minlength=K)
            sr2, st2 = rep_sigma[:, None] ** 2, np.maximum(p["territory_sigma"][:, None], 1e-12) ** 2
            v = 1.0 / (n_k[None, :] / sr2 + 1.0 / st2)
            terr = v * S / sr2 + np.sqrt(v) * rng.standard_normal((D, K))
            p["territory_z"] = terr / np.sqrt(st2)
        region = reps["region"].astype(str).to_numpy()
        tkeys = _territory_keys(region, reps["territory_id"].astype(str).to_numpy())
        new_region: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        new_terr: dict[str, np.ndarray] = {}
        for j, (rid, g, tk) in enumerate(zip(reps["rep_id"].astype(str), region, tkeys)):
            i = rep_pos.get(rid)
            if i is not None and marginal:
                eff[:, j] = p["rep_dev"][:, i]  # rep + territory deviation
                if "size_rep_z" in p:
                    size[:, j] += p["size_rep_sigma"] * p["size_rep_z"][:, i]
            elif i is not None:
                eff[:, j] = rep_sigma * p["rep_z"][:, i]
                if "size_rep_z" in p:
                    size[:, j] += p["size_rep_sigma"] * p["size_rep_z"][:, i]
            else:
                eff[:, j] = rep_sigma * rng.standard_normal(D)
                if "size_rep_z" in p:
                    size[:, j] += p["size_rep_sigma"] * rng.standard_normal(D)
            if "region_z" in p:
                gi = reg_pos.get(g)
                if gi is not None:
                    eff[:, j] += p["region_sigma"] * p["region_z"][:, gi]
                    size[:, j] += p["size_region_sigma"] * p["size_region_z"][:, gi]
                else:
                    if g not in new_region:
                        new_region[g] = (rng.standard_normal(D), rng.standard_normal(D))
                    z1, z2 = new_region[g]
                    eff[:, j] += p["region_sigma"] * z1
                    size[:, j] += p["size_region_sigma"] * z2
            if "territory_z" in p and not (marginal and i is not None):
                ti = ter_pos.get(tk)
                if ti is not None:
                    eff[:, j] += p["territory_sigma"] * p["territory_z"][:, ti]
                else:
                    if tk not in new_terr:
                        new_terr[tk] = rng.standard_normal(D)
                    eff[:, j] += p["territory_sigma"] * new_terr[tk]
        return eff, size

    def _deal_rate(self, p: dict[str, np.ndarray], eff: np.ndarray, tyear: np.ndarray, fm: np.ndarray,
                   tenure: np.ndarray, active: np.ndarray) -> np.ndarray:
        """Expected deal counts ``λ (D, R, P)`` per posterior draw: the count part of the model
        (``log λ`` as in :meth:`build_model`); 0 where the rep is not active.
        ``tests/test_forecast_model_sim.py`` checks it against ``pm.sample_posterior_predictive``."""
        cfg = self.config
        D, R = eff.shape
        P = len(tyear)
        log_lam = (p["log_base_deals"][:, None, None] + eff[:, :, None]
                   + p["trend"][:, None, None] * tyear[None, None, :])
        if cfg.season_harmonics:
            k = np.arange(1, cfg.season_harmonics + 1)
            ang = 2 * np.pi * np.outer(fm, k) / 12.0  # (P, H)
            season = p["season_a"] @ np.cos(ang).T + p["season_b"] @ np.sin(ang).T  # (D, P)
            log_lam = log_lam + season[:, None, :]
        if cfg.ramp:
            ten = np.maximum(tenure, 0)[None, :, :]
            log_lam = log_lam + np.log(-np.expm1(-(ten + 1.0) / p["ramp_tau"][:, None, None]))
        return np.exp(log_lam) * np.broadcast_to(active, (D, R, P))

    def _simulate(
        self,
        p: dict[str, np.ndarray],
        eff: np.ndarray,
        size_mu: np.ndarray,
        tyear: np.ndarray,
        fm: np.ndarray,
        tenure: np.ndarray,
        active: np.ndarray,
        rng: np.random.Generator,
        pending: tuple[np.ndarray, np.ndarray] | None = None,
        max_deals: int = 2_000_000,
    ) -> np.ndarray:
        """Net bookings ``(D, R, P)``: deal counts, log-normal sizes, cancellations 1–3 months on.

        ``active`` is ``(D, R, P)`` or ``(R, P)``; ``pending`` = (deals, gross) ``(R, 3)`` of the
        last three history months (oldest first) whose cancellations may land in the horizon.
        """
        cfg = self.config
        D, R = eff.shape
        P = len(tyear)
        lam = self._deal_rate(p, eff, tyear, fm, tenure, active)
        if cfg.count_likelihood == "negbin":
            alpha = 1.0 / p["inv_alpha"][:, None, None]
            lam = rng.gamma(alpha, lam / alpha)
        out = np.zeros((D, R, P))
        # draw blocks so that the per-deal arrays stay bounded
        per_draw = max(float(lam.sum()) / max(D, 1), 1.0)
        block = int(max(1, min(D, max_deals // per_draw)))
        cr = p["cancel_rate"]
        ratio = self._design.cancel_size_ratio
        for lo in range(0, D, block):
            hi = min(D, lo + block)
            n = rng.poisson(lam[lo:hi])  # (b, R, P)
            flat_n = n.ravel()
            cell = np.repeat(np.arange(flat_n.size), flat_n)
            b_of = cell // (R * P)
            r_of = (cell // P) % R
            t_of = cell % P
            mu = size_mu[lo:hi][b_of, r_of]
            sizes = np.exp(mu + p["deal_sigma"][lo:hi][b_of] * rng.standard_normal(cell.size))
            blk = np.bincount(cell, weights=sizes, minlength=flat_n.size)
            canc = rng.random(cell.size) < cr[lo:hi][b_of]
            lag = rng.integers(1, 4, size=int(canc.sum()))
            tgt_t = t_of[canc] + lag
            ok = tgt_t < P
            tgt = (b_of[canc][ok] * R + r_of[canc][ok]) * P + tgt_t[ok]
            blk -= ratio * np.bincount(tgt, weights=sizes[canc][ok], minlength=flat_n.size)
            out[lo:hi] = blk.reshape(hi - lo, R, P)
        if pending is not None:
            pdeals, pgross = pending  # (R, 3): months end-2, end-1, end
            pdeals = np.asarray(pdeals).astype(np.int64)
            mean_size = np.where(pdeals > 0, pgross / np.maximum(pdeals, 1), 0.0)
            for j in range(3):  # j = 0 → last history month
                col = 2 - j
                for h in range(3 - j):
                    if h >= P:
                        break
                    k = rng.binomial(np.broadcast_to(pdeals[:, col], (D, R)), (cr / 3.0)[:, None])
                    out[:, :, h] -= ratio * k * mean_size[:, col][None, :] * np.broadcast_to(active, (D, R, P))[:, :, h]
        return out

    def _draw_counts(self, n_draws: int) -> dict[str, int]:
        """Draws per component, proportional to the stacking weights (largest remainder)."""
        names = list(self.weights)
        w = np.array([self.weights[k] for k in names], float)
        w = w / w.sum()
        c = np.floor(w * n_draws).astype(int)
        order = np.argsort(-(w * n_draws - c), kind="stable")
        c[order[: n_draws - c.sum()]] += 1
        return dict(zip(names, c.tolist()))

    # ---- predictions ----------------------------------------------------------------------
    def sample_posterior_predictive(self, n_draws: int = 500, seed: int = 0) -> xr.Dataset:
        """In-sample posterior-predictive net bookings ``bookings(rep, period, draw)``
        over the fitted panel (zero where the rep was not active)."""
        self._check_fitted()
        rng = np.random.default_rng(seed)
        panel = self.panel
        if "deals" not in self.weights:  # rep-month model: one-step-ahead predictive draws
            counts = self._draw_counts(n_draws)
            sims = np.concatenate([self.dlm[k].one_step_draws(c, rng) for k, c in counts.items() if c], axis=0)
            sims = sims[rng.permutation(n_draws)] if len(counts) > 1 else sims
            sims = sims * np.asarray(panel["active"].values, bool)[None]
            return xr.Dataset(
                {"bookings": (("rep", "period", "draw"), np.moveaxis(sims, 0, -1))},
                coords={"rep": panel["rep"].values, "period": panel["period"].values, "draw": np.arange(n_draws),
                        "territory_id": ("rep", panel["territory_id"].values),
                        "region": ("rep", panel["region"].values)},
            )
        p = self._params(n_draws, rng)
        reps = pd.DataFrame(
            {
                "rep_id": panel["rep"].values.astype(str),
                "region": panel["region"].values.astype(str),
                "territory_id": panel["territory_id"].values.astype(str),
            }
        )
        eff, size = self._effects(p, reps, rng)
        n_t = panel.sizes["period"]
        tyear = (np.arange(n_t) - self._design.t_mid) / 12.0
        sims = self._simulate(
            p, eff, size, tyear, np.asarray(panel["fiscal_month"].values, float),
            np.asarray(panel["tenure"].values, float), np.asarray(panel["active"].values, bool), rng,
        )
        ds = xr.Dataset(
            {"bookings": (("rep", "period", "draw"), np.moveaxis(sims, 0, -1))},
            coords={
                "rep": panel["rep"].values,
                "period": panel["period"].values,
                "draw": np.arange(n_draws),
                "territory_id": ("rep", panel["territory_id"].values),
                "region": ("rep", panel["region"].values),
            },
        )
        return ds

    def forecast(
        self,
        start: str,
        months: int,
        n_draws: int = 1000,
        seed: int = 0,
        future_reps: pd.DataFrame | None = None,
        attrition: bool | float = False,
    ) -> xr.Dataset:
        """Posterior-predictive net bookings for ``months`` months from ``start`` (``YYYY-MM``).

        Reps employed in the panel's last month continue (until a known ``term_month``);
        ``future_reps`` (``rep_id, hire_date`` and optional ``region, territory_id, role,
        term_date``) join in their hire month with population-level effects and the ramp.
        ``attrition`` (True = rate estimated from the panel, or a monthly probability) lets
        reps leave at random, per draw.

        Returns
        -------
        xr.Dataset
            ``bookings(rep, period, draw)`` (float, plan currency) and ``active(rep, period,
            draw)`` with rep coords ``territory_id``, ``region``, ``role``, ``hire_month``.
        """
        self._check_fitted()
        if months < 1:
            raise InputError(f"forecast, field 'months': must be >= 1, got {months}")
        try:
            p0 = pd.Period(start, freq="M")
        except (ValueError, TypeError):
            raise InputError(f"forecast, field 'start': not a month YYYY-MM: {start!r}") from None
        rng = np.random.default_rng(seed)
        panel = self.panel
        d = self._design
        periods = pd.period_range(p0, periods=months, freq="M")
        pan_periods = pd.PeriodIndex(panel["period"].values.astype(str), freq="M")
        pan_start, pan_end = pan_periods[0], pan_periods[-1]
        h_off = (p0 - pan_start).n  # panel index of the first horizon month
        t_idx = h_off + np.arange(months)
        tyear = (t_idx - d.t_mid) / 12.0
        fys = int(panel.attrs.get("fiscal_year_start", 1))
        fm = ((np.array([q.month for q in periods]) - fys) % 12 + 1).astype(float)

        # existing reps still employed at the end of the panel
        last_active = np.asarray(panel["active"].values)[:, -1]
        term = np.asarray(panel["term_month"].values).astype(str)
        keep = last_active
        reps = pd.DataFrame(
            {
                "rep_id": panel["rep"].values.astype(str)[keep],
                "region": panel["region"].values.astype(str)[keep],
                "territory_id": panel["territory_id"].values.astype(str)[keep],
                "role": panel["role"].values.astype(str)[keep] if "role" in panel.coords else "",
                "hire_month": panel["hire_month"].values.astype(str)[keep],
            }
        )
        ten_end = np.asarray(panel["tenure"].values)[keep, -1]
        n_after_end = (p0 - pan_end).n
        tenure = ten_end[:, None] + n_after_end + np.arange(months)[None, :]
        term_k = term[keep]
        act = np.ones((len(reps), months), bool)
        for j, tm in enumerate(term_k):
            if tm:
                tp = pd.Period(tm, freq="M")
                act[j] = np.array([q <= tp for q in periods])
        pending = None
        if n_after_end == 1 and panel.sizes["period"] >= 3:
            pending = (
                np.asarray(panel["deals"].values)[keep, -3:].astype(float),
                np.asarray(panel["gross"].values)[keep, -3:].astype(float),
            )
        if future_reps is not None and len(future_reps):
            fr, f_ten, f_act = self._future_reps(future_reps, periods, set(reps["rep_id"]))
            if pending is not None:
                pending = (
                    np.vstack([pending[0], np.zeros((len(fr), 3))]),
                    np.vstack([pending[1], np.zeros((len(fr), 3))]),
                )
            reps = pd.concat([reps, fr], ignore_index=True)
            tenure = np.vstack([tenure, f_ten])
            act = np.vstack([act, f_act])
        active = np.broadcast_to(act, (n_draws,) + act.shape)
        if attrition:
            rate = d.attrition_monthly if attrition is True else float(attrition)
            if not 0 <= rate < 1:
                raise InputError(f"forecast, field 'attrition': monthly rate must be in [0, 1), got {rate}")
            leave = rng.random((n_draws,) + act.shape) < rate
            stayed = np.cumsum(leave & act[None], axis=2) == 0
            active = active & stayed
        parts = []
        lo = 0
        for name, nd in self._draw_counts(n_draws).items():
            act_b = np.broadcast_to(active, (n_draws,) + act.shape)[lo : lo + nd]
            lo += nd
            if nd == 0:
                continue
            if name == "deals":
                p = self._params(nd, rng)
                eff, size = self._effects(p, reps, rng)
                parts.append(self._simulate(p, eff, size, tyear, fm, tenure.astype(float), act_b, rng,
                                            pending=pending))
            else:
                if n_after_end < 1:
                    raise InputError(f"forecast, field 'start': the rep-month model forecasts after the data "
                                     f"({pan_end}); got start {p0}")
                fit = self.dlm[name]
                sim = fit.simulate(n_after_end - 1 + months, nd, rng)[:, keep, n_after_end - 1 :]
                if len(reps) > sim.shape[1]:  # planned hires: population-level draws
                    from spm_models.forecast.rep_month import new_rep_draws

                    new = new_rep_draws(panel, tenure[sim.shape[1] :], nd, rng)
                    sim = np.concatenate([sim, new], axis=1)
                parts.append(sim * act_b)
        sims = np.concatenate(parts, axis=0)
        if len(parts) > 1:
            sims = sims[rng.permutation(n_draws)]
        coords = {
            "rep": reps["rep_id"].to_numpy().astype(str),
            "period": [str(q) for q in periods],
            "draw": np.arange(n_draws),
            "territory_id": ("rep", reps["territory_id"].to_numpy().astype(str)),
            "region": ("rep", reps["region"].to_numpy().astype(str)),
            "role": ("rep", reps["role"].fillna("").to_numpy().astype(str)),
            "hire_month": ("rep", reps["hire_month"].to_numpy().astype(str)),
        }
        ds = xr.Dataset(
            {
                "bookings": (("rep", "period", "draw"), np.moveaxis(sims, 0, -1)),
                "active": (("rep", "period", "draw"), np.moveaxis(np.asarray(active), 0, -1)),
            },
            coords=coords,
            attrs={
                "data_hash": str(panel.attrs.get("data_hash", "")),
                "model_config": json.dumps(self.config.to_dict(), sort_keys=True),
                "fit_method": str(self.fit_info.get("method", "")),
                "seed": int(seed),
                "forecast_start": str(p0),
                "diagnostics_ok": int(bool(self.diagnostics.get("ok", False))),
            },
        )
        ds["bookings"].attrs["units"] = "net bookings (plan currency)"
        return ds

    def _future_reps(
        self, future_reps: pd.DataFrame, periods: pd.PeriodIndex, existing: set[str]
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        problems = [f"future_reps, field '{c}': required column missing" for c in ("rep_id", "hire_date") if c not in future_reps]
        if problems:
            raise InputError(problems)
        fr = future_reps.reset_index(drop=True)
        hire = pd.to_datetime(fr["hire_date"], errors="coerce")
        for i in np.flatnonzero(hire.isna().to_numpy()):
            problems.append(f"future_reps, row {i + 1}, field 'hire_date': cannot parse {fr['hire_date'].iloc[i]!r}")
        for i, rid in enumerate(fr["rep_id"].astype(str)):
            if rid in existing:
                problems.append(f"future_reps, row {i + 1}, field 'rep_id': {rid!r} is already an active rep")
        if fr["rep_id"].astype(str).duplicated().any():
            for i in np.flatnonzero(fr["rep_id"].astype(str).duplicated().to_numpy()):
                problems.append(f"future_reps, row {i + 1}, field 'rep_id': duplicate {fr['rep_id'].iloc[i]!r}")
        if problems:
            raise InputError(problems)
        hire_m = hire.dt.to_period("M")
        term_m = (
            pd.to_datetime(fr["term_date"], errors="coerce").dt.to_period("M")
            if "term_date" in fr
            else pd.Series([pd.NaT] * len(fr))
        )
        h0 = np.array([q.year * 12 + q.month - 1 for q in hire_m])
        pidx = np.array([q.year * 12 + q.month - 1 for q in periods])
        tenure = pidx[None, :] - h0[:, None]
        act = tenure >= 0
        for j, tm in enumerate(term_m):
            if not pd.isna(tm):
                act[j] &= pidx <= tm.year * 12 + tm.month - 1
        out = pd.DataFrame(
            {
                "rep_id": fr["rep_id"].astype(str),
                "region": fr["region"].astype(str) if "region" in fr else "__new__",
                "territory_id": fr["territory_id"].astype(str) if "territory_id" in fr else "__new__",
                "role": fr["role"].astype(str) if "role" in fr else "",
                "hire_month": [str(q) for q in hire_m],
            }
        )
        return out, tenure, act

    # ---- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (config, panel, posterior, diagnostics) to directory ``path``
        atomically (temporary directory, then rename)."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            _to_zarr(self.panel, tmp / "panel.zarr")
            for group in ("posterior", "sample_stats") if self.idata is not None else ():
                if group in self.idata.children:
                    _to_zarr(self.idata[group].to_dataset(), tmp / f"{group}.zarr")
            meta = {
                "config": self.config.to_dict(),
                "diagnostics": self.diagnostics,
                "fit_info": self.fit_info,
                "weights": self.weights,
                "selection": self.selection,
                "dlm": {k: {"u_map": f.u_map.tolist(), "u_cov": f.u_cov.tolist(), "U_rep": f.U_rep.tolist(),
                             "U_sd": None if f.U_sd is None else f.U_sd.tolist(),
                             "info": f.info}
                        for k, f in self.dlm.items()},
                "format": 2,
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default))
            if path.exists():
                shutil.rmtree(path)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> BookingsForecast:
        """Read a model written by :meth:`save`."""
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
            from spm_models.forecast import dlm, rep_month

            month = rep_month.panel_month_index(m.panel)
            for k, v in meta["dlm"].items():
                prep = dlm.prepare(np.asarray(m.panel["amount"].values, float),
                                   np.asarray(m.panel["active"].values, bool), month, k.split(":")[1])
                m.dlm[k] = dlm.DLMFit(prep, np.asarray(v["u_map"]), np.asarray(v["u_cov"]),
                                      np.asarray(v["U_rep"]), v["info"],
                                      None if v.get("U_sd") is None else np.asarray(v["U_sd"]))
        m.diagnostics = meta.get("diagnostics", {})
        m.fit_info = meta.get("fit_info", {})
        m._design = _design(m.panel)
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
