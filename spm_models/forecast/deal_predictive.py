"""Posterior-predictive draws of the deal model in numpy (fast forecasts for any roster).

The same equations as the PyMC graph of :mod:`spm_models.forecast.deal_graph`:
``tests/test_forecast_model_ppc.py`` checks :func:`deal_rate` against
``pm.sample_posterior_predictive`` on a small model. Shapes: ``D`` posterior draws, ``R`` reps,
``P`` periods; amounts in the plan currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.forecast.config import ForecastConfig
from spm_models.forecast.design import Design, territory_keys


def posterior_params(post: xr.Dataset, n_draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n_draws`` posterior samples (resampled from all chains of ``post``, dims ``chain, draw, ...``)
    as numpy arrays ``(n_draws, ...)``."""
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    S = n_chain * n_draw
    pick = rng.choice(S, n_draws, replace=n_draws > S)
    out: dict[str, np.ndarray] = {}
    for name, var in post.data_vars.items():
        arr = np.asarray(var.values)
        arr = arr.reshape((S,) + arr.shape[2:])
        out[str(name)] = arr[pick]
    return out



def rep_effects(
    d: Design, p: dict[str, np.ndarray], reps: pd.DataFrame, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Count and size effects ``(D, R)`` for ``reps`` (rep_id, region, territory_id).

    Reps in the fitted panel use their posterior effects; new reps (and unknown
    territories / regions) get effects drawn from the population level.
    """
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
    tkeys = territory_keys(region, reps["territory_id"].astype(str).to_numpy())
    new_region: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    new_terr: dict[str, np.ndarray] = {}
    if "size_rep_mean" in p:
        # per-rep size effects were integrated out of the fit: draw them from their exact
        # conditional posterior N(size_rep_mean, size_rep_sd²) (deal_graph.size_rep_marginal)
        fitted_size = p["size_rep_mean"] + p["size_rep_sd"] * rng.standard_normal(p["size_rep_mean"].shape)
    elif "size_rep_z" in p:  # non-centred effects (models saved before the marginal form)
        fitted_size = p["size_rep_sigma"][:, None] * p["size_rep_z"]
    else:
        fitted_size = None
    for j, (rid, g, tk) in enumerate(zip(reps["rep_id"].astype(str), region, tkeys)):
        i = rep_pos.get(rid)
        if i is not None and marginal:
            eff[:, j] = p["rep_dev"][:, i]  # rep + territory deviation
        elif i is not None:
            eff[:, j] = rep_sigma * p["rep_z"][:, i]
        else:
            eff[:, j] = rep_sigma * rng.standard_normal(D)
        if fitted_size is not None:
            size[:, j] += fitted_size[:, i] if i is not None else p["size_rep_sigma"] * rng.standard_normal(D)
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


def deal_rate(cfg: ForecastConfig, p: dict[str, np.ndarray], eff: np.ndarray, tyear: np.ndarray,
              fm: np.ndarray, tenure: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Expected deal counts ``λ (D, R, P)`` per posterior draw: the count part of the model
    (``log λ`` as in :func:`~spm_models.forecast.deal_graph.build_deal_model`); 0 where the rep is not active.
    ``tests/test_forecast_model_sim.py`` checks it against ``pm.sample_posterior_predictive``."""
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


def simulate(
    cfg: ForecastConfig,
    d: Design,
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
    D, R = eff.shape
    P = len(tyear)
    lam = deal_rate(cfg, p, eff, tyear, fm, tenure, active)
    if cfg.count_likelihood == "negbin":
        alpha = 1.0 / p["inv_alpha"][:, None, None]
        lam = rng.gamma(alpha, lam / alpha)
    out = np.zeros((D, R, P))
    # draw blocks so that the per-deal arrays stay bounded
    per_draw = max(float(lam.sum()) / max(D, 1), 1.0)
    block = int(max(1, min(D, max_deals // per_draw)))
    cr = p["cancel_rate"]
    ratio = d.cancel_size_ratio
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
