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
hold one or two reps; region size effects are non-centered and per-rep size effects are
integrated out analytically (conjugate normal, :func:`deal_graph.size_rep_marginal`). The first
harmonic is reported as ``season_amp`` and ``season_peak`` (fiscal month of the peak), so
they compare directly with the demo's ``truth`` table.

Fitting (see :mod:`spm_models.forecast.fit`) uses nutpie's NUTS by default, PyMC's NUTS as a
fallback, or ADVI for a fast approximate fit. Forecasts are drawn in numpy from the
posterior samples (fast), for the reps still employed and for future hires.

Modules: :mod:`~spm_models.forecast.config` (options), :mod:`~spm_models.forecast.design`
(index arrays of a panel), :mod:`~spm_models.forecast.deal_graph` (the PyMC graph),
:mod:`~spm_models.forecast.deal_predictive` (numpy predictive draws),
:mod:`~spm_models.forecast.persist` (save / load); this module fits and forecasts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.errors import InputError
from spm_models.forecast import deal_graph, deal_predictive, persist, ramp
from spm_models.forecast import fit as _fit
from spm_models.forecast.config import HYPER_PARAMS, MARGINAL_MIN_REPS, ForecastConfig
from spm_models.forecast.design import Design as _Design
from spm_models.forecast.design import design as _design
from spm_models.forecast.design import territory_keys as _territory_keys

__all__ = ["HYPER_PARAMS", "MARGINAL_MIN_REPS", "BookingsForecast", "ForecastConfig", "_Design", "_design",
           "_territory_keys"]


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
        """Build the PyMC model for ``panel`` (see :func:`monthly_panel`); returns ``pm.Model``
        (:func:`spm_models.forecast.deal_graph.build_deal_model`)."""
        d = _design(panel)
        self.panel = panel
        self._design = d
        self.model = deal_graph.build_deal_model(self.config, d)
        return self.model

    # ---- fitting ------------------------------------------------------------------------
    def fit(
        self,
        panel: xr.Dataset,
        method: Literal["nuts", "fast"] = "nuts",
        draws: int = _fit.DEFAULT_DRAWS,
        tune: int = _fit.DEFAULT_TUNE,
        chains: int = _fit.DEFAULT_CHAINS,
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

        # nutpie: the deal model is compiled once; its holdout fit reuses it (fit.holdout_nuts)
        reuse = method == "nuts" and sampler in (None, "nutpie") and _fit.nutpie_available()
        compiled: dict[str, Any] = {}
        how: dict[str, str] = {}
        memo: dict[Any, Any] = {}  # rep-month fits by (component, months): dlm:rep reuses dlm:none/log

        def deals_compiled():
            if not compiled:
                compiled["m"] = deal_graph.build_deal_model(cfg, _design(panel))
                compiled["c"] = _fit.compile_nutpie(compiled["m"])
            return compiled["m"], compiled["c"]

        def val_forecast(name, train, periods, n, sd):
            sub = BookingsForecast(cfg)
            train_model = deal_graph.build_deal_model(cfg, _design(train)) if name == "deals" and reuse else None
            if train_model is not None and deal_graph.same_structure(deals_compiled()[0], train_model):
                sub.idata, how[name] = _fit.holdout_nuts(deals_compiled()[1], train_model, max(n, 300), sd, cfg.target_accept)
                sub.panel, sub._design, sub.model = train, _design(train), train_model
            elif name == "deals":  # otherwise validation fits of the deal model use ADVI (speed)
                sub._fit_deals(train, method="fast", draws=max(n, 300), seed=sd)
                how[name] = "ADVI (mean-field)"
            else:
                sub._fit_dlm(name, train, memo)
            sub.weights = {name: 1.0}
            ds = sub.forecast(periods[0], len(periods), n_draws=n, seed=sd)["bookings"]
            return np.asarray(ds.transpose("rep", "period", "draw").values, float)

        sel = rep_month.select(panel, names, cfg.auto_holdout, val_forecast, seed, origins=cfg.auto_origins)
        sel["validation_fit"] = "; ".join(f"{k}: {how.get(k, 'MAP-Laplace')}" for k in sel.get("validation_crps", {}))
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
                self._fit_deals(panel, prebuilt=(deals_compiled() if reuse else None), **fit_kw)
                info["components"]["deals"] = self.fit_info
                diag = dict(self.diagnostics)
            else:
                self._fit_dlm(name, panel, memo)
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
        for key, name in (("holdout_crps", "validation_crps_chosen"), ("holdout_coverage_80", "validation_coverage_80_chosen"),
                          ("holdout_coverage_95", "validation_coverage_95_chosen")):
            if name in self.selection:  # the chosen model's rolling-origin scores (report diagnostics)
                diag[key] = float(self.selection[name])
        self.diagnostics = diag
        return self

    def _fit_dlm(self, name: str, panel: xr.Dataset, memo: dict[Any, Any] | None = None) -> None:
        self.panel = panel
        self._design = _design(panel)
        from spm_models.forecast.rep_month import fit_component

        self.dlm[name] = fit_component(name, panel, memo, with_ramp=bool(self.config.ramp))

    def _fit_deals(self, panel, method="nuts", draws=_fit.DEFAULT_DRAWS, tune=_fit.DEFAULT_TUNE,
                   chains=_fit.DEFAULT_CHAINS, seed=0, sampler=None, progressbar=False, prebuilt=None, **kwargs) -> None:
        """Fit the deal model to ``panel``; ``prebuilt``: its ``(model, nutpie compiled model)``."""
        from spm_models.forecast.diagnostics import collect_diagnostics, warn_if_failed

        if prebuilt is not None:
            model = self.model = prebuilt[0]
            self.panel, self._design = panel, _design(panel)
            kwargs["compiled"] = prebuilt[1]
        else:
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
    def _check_fitted(self) -> tuple[xr.Dataset, _Design]:
        """The fitted panel and its design; RuntimeError when the model is not fitted."""
        if self.panel is None or (self.idata is None and not self.dlm):
            raise RuntimeError("BookingsForecast is not fitted: call fit() or load() first")
        if not self.weights:
            self.weights = {"deals": 1.0} if self.idata is not None else {k: 1.0 / len(self.dlm) for k in self.dlm}
        if self._design is None:
            self._design = _design(self.panel)
        return self.panel, self._design

    @property
    def posterior(self) -> xr.Dataset:
        """Posterior samples as a Dataset with dims ``chain``, ``draw``."""
        self._check_fitted()
        if self.idata is None:
            raise RuntimeError("BookingsForecast: no posterior samples (a rep-month DLM fit)")
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
        return deal_predictive.posterior_params(self.posterior, n_draws, rng)

    # ---- simulation (numpy, see deal_predictive) ------------------------------------------
    def _effects(self, p: dict[str, np.ndarray], reps: pd.DataFrame,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return deal_predictive.rep_effects(self._check_fitted()[1], p, reps, rng)

    def _deal_rate(self, p: dict[str, np.ndarray], eff: np.ndarray, tyear: np.ndarray, fm: np.ndarray,
                   tenure: np.ndarray, active: np.ndarray) -> np.ndarray:
        return deal_predictive.deal_rate(self.config, p, eff, tyear, fm, tenure, active)

    def _simulate(self, p, eff, size_mu, tyear, fm, tenure, active, rng, pending=None) -> np.ndarray:
        return deal_predictive.simulate(self.config, self._check_fitted()[1], p, eff, size_mu, tyear, fm, tenure, active,
                                        rng, pending=pending)

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
        panel, d = self._check_fitted()
        rng = np.random.default_rng(seed)
        if "deals" not in self.weights:  # rep-month model: one-step-ahead predictive draws
            counts = self._draw_counts(n_draws)
            sims = np.concatenate([self.dlm[k].one_step_draws(c, rng) * ramp.multipliers(
                self.dlm[k].info.get("ramp"), panel["tenure"].values) for k, c in counts.items() if c], axis=0)
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
        tyear = (np.arange(n_t) - d.t_mid) / 12.0
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
        panel, d = self._check_fitted()
        if months < 1:
            raise InputError(f"forecast, field 'months': must be >= 1, got {months}")
        try:
            p0 = pd.Period(start, freq="M")
        except (ValueError, TypeError):
            raise InputError(f"forecast, field 'start': not a month YYYY-MM: {start!r}") from None
        rng = np.random.default_rng(seed)
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
                sim = self.dlm[name].simulate(n_after_end - 1 + months, nd, rng)[:, keep, n_after_end - 1 :]
                sim = sim * ramp.multipliers(self.dlm[name].info.get("ramp"), tenure[: sim.shape[1]])  # ramping hires
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
        for row, rid in enumerate(fr["rep_id"].astype(str), start=1):
            if rid in existing:
                problems.append(f"future_reps, row {row}, field 'rep_id': {rid!r} is already an active rep")
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
        """Write the fitted model to directory ``path`` atomically (:func:`persist.save`)."""
        return persist.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> BookingsForecast:
        """Read a model written by :meth:`save`; raises InputError when ``path`` is not one."""
        return persist.load(cls, path)
