"""The deal-count x deal-size model as a PyMC graph (the model's one definition for fitting).

See :mod:`spm_models.forecast.model` for the generative story; the forecast draws of
:mod:`spm_models.forecast.deal_predictive` follow the same equations (checked against
``pm.sample_posterior_predictive`` in ``tests/test_forecast_model_ppc.py``).
"""

from __future__ import annotations

import numpy as np

from spm_models.forecast.config import MARGINAL_MIN_REPS, ForecastConfig
from spm_models.forecast.design import Design


def zs(pm, name: str, dim: str, n: int):
    """Non-centered group effects: standard normal constrained to sum to zero (removes the
    intercept ridge that few groups leave); scaled by the group sigma by the caller.
    Rescaled by sqrt(n/(n-1)) so each effect keeps unit marginal variance."""
    z = pm.ZeroSumNormal(name, sigma=1.0, dims=dim)
    return z * np.sqrt(n / (n - 1.0)) if n > 1 else z


def rep_effects_mode(cfg: ForecastConfig, use_terr: bool, n_reps: int) -> str:
    """``"auto"``: territory effects integrated out ("marginal") when they are used and
    there are at least :data:`MARGINAL_MIN_REPS` reps, otherwise non-centred rep effects
    (centred effects funnel when few reps leave their spread poorly known)."""
    mode = cfg.rep_effects
    if mode == "auto":
        return "marginal" if use_terr and n_reps >= MARGINAL_MIN_REPS else "noncentered"
    if mode == "marginal" and not use_terr:
        return "centered"
    return mode


def use_territory(cfg: ForecastConfig, R: int, G: int, K: int) -> bool:
    """Territory effects are separable from rep effects only when territories hold more
    than one rep over the history; ``territory_effects="auto"`` needs >= 1.1 on average."""
    mode = cfg.territory_effects
    if K <= max(G, 1) or mode == "off":
        return False
    return mode == "on" or R / K >= 1.1


def size_rep_marginal(pm, pt, e, s2, pos_rep, n_reps: int, tau):
    """Per-rep deal-size effects integrated out of the size likelihood (conjugate normal).

    Given a rep's effect ``u_r ~ N(0, tau²)``, its months' log totals are independent,
    ``e_i = log_gross_i − mu_i ~ N(u_r, s_i²)`` (``e``, ``s2``: ``(n_pos,)``, cells with deals;
    ``pos_rep``: their rep index). Integrating ``u_r`` out gives each rep's months a normal
    with covariance ``diag(s²) + tau² 11ᵀ``; with ``w_i = 1/s_i²``, ``W_r = Σ w_i``,
    ``A_r = Σ w_i e_i`` (rank-one update, Sherman-Morrison / matrix determinant lemma)::

        log p(e_r) = Σ_i log N(e_i; 0, s_i²) + A_r² / (2 (W_r + 1/tau²)) − log(1 + tau² W_r) / 2

    added as the potential ``log_gross``. The sampler sees only ``tau`` (``size_rep_sigma``),
    not ``n_reps`` latents whose non-centred form funnelled when ``tau`` is near zero (demo
    seeds 1 and 4: bulk ESS 356 / 377, R-hat 1.018; the demo has no rep size effect). The
    conditional posterior ``u_r | rest ~ N(A_r / (W_r + 1/tau²), 1 / (W_r + 1/tau²))`` is kept
    as the deterministics ``size_rep_mean`` and ``size_rep_sd`` (dims ``rep``; a rep without
    deals gets the prior ``N(0, tau²)``), from which the forecast draws each rep's effect
    (:func:`spm_models.forecast.deal_predictive.rep_effects`). Murphy, "Conjugate Bayesian
    analysis of the Gaussian distribution" (2007), sec. 2; Gelman et al., BDA3, sec. 5.4.
    """
    w = 1.0 / s2
    W = pt.inc_subtensor(pt.zeros(n_reps)[pos_rep], w)
    A = pt.inc_subtensor(pt.zeros(n_reps)[pos_rep], w * e)
    prec = W + 1.0 / tau**2
    cond = -0.5 * pt.sum(pt.log(2 * np.pi * s2) + w * e**2)
    pm.Potential("log_gross", cond + pt.sum(0.5 * A**2 / prec - 0.5 * pt.log1p(tau**2 * W)))
    pm.Deterministic("size_rep_mean", A / prec, dims="rep")
    pm.Deterministic("size_rep_sd", 1.0 / pt.sqrt(prec), dims="rep")


def data_values(model) -> dict[str, np.ndarray]:
    """The values of ``model``'s data containers (``pm.Data``) by name."""
    return {v.name: v.get_value() for v in model.data_vars}


def same_structure(a, b) -> bool:
    """True when models ``a`` and ``b`` differ only in their data values: same coords, same
    variables, data of the same rank (so a model compiled for ``a`` runs ``b``'s data)."""
    if {k: tuple(v) for k, v in a.coords.items()} != {k: tuple(v) for k, v in b.coords.items()}:
        return False
    if list(a.named_vars) != list(b.named_vars):
        return False
    return all(v.type.ndim == b[v.name].type.ndim for v in a.data_vars)


def build_deal_model(cfg: ForecastConfig, d: Design):
    """The PyMC model of design ``d`` (:func:`spm_models.forecast.design.design`) under ``cfg``;
    returns ``pm.Model`` with coords ``rep (R)``, ``region (G)``, ``territory (K)``,
    ``harmonic`` and observed ``deals`` (counts), ``log_gross`` (log month totals),
    ``cancels`` (Binomial over the panel)."""
    import pymc as pm
    import pytensor.tensor as pt

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
        # every data-dependent number is a pm.Data too (prior centres, panel middle, cancel
        # exposure), so one compiled model serves any panel of the same reps (with_data: the
        # holdout fit of model: auto and the final fit compile once; fit.compile_nutpie)
        log_base = pm.Normal("log_base_deals", pm.Data("prior_log_deals", np.log(max(mean_deals, 1e-3))), 1.0)
        trend = pm.Normal("trend", 0.0, 0.5)
        use_terr = use_territory(cfg, R, G, K)
        mode = rep_effects_mode(cfg, use_terr, R)
        if mode in ("noncentered", "marginal") and use_terr:
            # total spread and territory share, both sigmas as deterministics. With territory
            # effects integrated out ("marginal") the total is identified by the reps' spread
            # and the share is nearly independent of it; sampling rep_sigma and
            # territory_sigma directly left them trading off along a ridge (demo seed 0, 4 x
            # 1000 draws: territory_sigma bulk ESS 367, R-hat 1.014 -> 2033, 1.00; issue 9)
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
                region_z = zs(pm, "region_z", "region", G)
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
            n_k = np.bincount(d.terr_idx, minlength=K).astype(float)  # reps per territory
            sr2, st2 = rep_sigma**2, territory_sigma**2
            # (K,) sums per territory: a scatter-add, O(R) (a dense rep x territory one-hot
            # product was O(R K): 8 of the 8.2 ms per gradient at 1,184 reps x 800 territories)
            tot = pt.inc_subtensor(pt.zeros(K)[terr_idx], dev)
            quad = (pt.sum(dev**2) - pt.sum(st2 * tot**2 / (sr2 + n_k * st2))) / sr2
            logdet = (R - K) * pt.log(sr2) + pt.sum(pt.log(sr2 + n_k * st2))
            pm.Potential("rep_eff_prior", -0.5 * (quad + logdet + R * np.log(2 * np.pi)))
            eff = rep_eff - log_base  # log_base is added back below
        elif mode == "centered":
            if use_terr:
                territory_z = zs(pm, "territory_z", "territory", K)
                group = group + territory_sigma * territory_z[terr_idx]
            rep_eff = pm.Normal("rep_eff", group, rep_sigma, dims="rep")
            scale = np.sqrt(R / (R - 1.0)) if R > 1 else 1.0
            pm.Deterministic("rep_z", (rep_eff - group) / rep_sigma / scale, dims="rep")
            eff = rep_eff
        else:
            if use_terr:
                territory_z = zs(pm, "territory_z", "territory", K)
                group = group + territory_sigma * territory_z[terr_idx]
            rep_z = zs(pm, "rep_z", "rep", R)
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
        pm.Deterministic("base_deals", pt.exp(log_base - trend * pm.Data("t_mid", float(d.t_mid)) / 12.0))

        # deal sizes: moment-matched log-normal for the sum of n deals
        log_med = pm.Normal("log_deal_median", pm.Data("prior_log_size", size_centre), 1.0)
        deal_sigma = pm.HalfNormal("deal_sigma", 1.0)
        size_eff = log_med + pt.zeros(R)
        if G > 1:
            if G >= cfg.min_pooled_groups:
                size_region_sigma = pm.HalfNormal("size_region_sigma", 0.3)
                size_region_z = zs(pm, "size_region_z", "region", G)
                size_eff = size_eff + size_region_sigma * size_region_z[region_idx]
            else:
                size_region_eff = pm.ZeroSumNormal("size_region_eff", sigma=0.5, dims="region")
                size_eff = size_eff + size_region_eff[region_idx]
        pm.Deterministic("deal_median", pt.exp(log_med))
        size_rep_sigma = pm.HalfNormal("size_rep_sigma", 0.3) if cfg.rep_size_effects else None
        if pos.any():
            n = pm.Data("pos_deals", d.deals[pos].astype(float))
            pos_rep = pm.Data("pos_rep", d.r[pos].astype(np.int64))
            log_gross = pm.Data("log_gross_obs", np.log(d.gross[pos]))
            s2 = pt.log1p(pt.expm1(deal_sigma**2) / n)
            mu_s = pt.log(n) + size_eff[pos_rep] + deal_sigma**2 / 2 - s2 / 2
            if size_rep_sigma is None:
                pm.Normal("log_gross", mu_s, pt.sqrt(s2), observed=log_gross)
            else:
                size_rep_marginal(pm, pt, log_gross - mu_s, s2, pos_rep, R, size_rep_sigma)
        elif size_rep_sigma is not None:  # no deal sizes observed: rep effects are the prior
            pm.Deterministic("size_rep_mean", pt.zeros(R), dims="rep")
            pm.Deterministic("size_rep_sd", size_rep_sigma + pt.zeros(R), dims="rep")

        cancel_rate = pm.Beta("cancel_rate", 1.0, 9.0)
        if d.total_deals > 0:
            pm.Binomial("cancels", n=pm.Data("cancel_exposed", int(d.total_deals)), p=cancel_rate,
                        observed=pm.Data("cancels_obs", int(d.total_cancels)))
    return model
