"""One model definition (issue 9): the deal model's numpy forecast simulator draws deal counts
with the same rates as the PyMC graph -- checked against ``pm.sample_posterior_predictive``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest


@pytest.mark.slow
def test_numpy_deal_rates_match_pymc_posterior_predictive():
    import pymc as pm

    from spm_models.data.demo import make_demo
    from spm_models.forecast import BookingsForecast, monthly_panel

    panel = monthly_panel(make_demo(n_reps=10, years=2, seed=7))
    m = BookingsForecast({"model": "deals", "season_harmonics": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(panel, method="fast", draws=400, seed=0, n_steps=1500)
        ppc = pm.sample_posterior_predictive(m.idata, model=m.model, var_names=["deals"], random_seed=1,
                                             extend_inferencedata=False, progressbar=False)
    pm_deals = np.asarray(ppc["posterior_predictive"]["deals"].values, float)  # (chain, draw, cell)
    pm_mean = pm_deals.reshape(-1, pm_deals.shape[-1]).mean(axis=0)

    d = m._design
    post = m.posterior
    S = post.sizes["chain"] * post.sizes["draw"]
    p = {k: np.asarray(v.values).reshape((S,) + v.shape[2:]) for k, v in post.data_vars.items()}
    reps = pd.DataFrame({"rep_id": d.rep, "region": panel["region"].values.astype(str),
                         "territory_id": panel["territory_id"].values.astype(str)})
    eff, _ = m._effects(p, reps, np.random.default_rng(0))
    n_t = panel.sizes["period"]
    lam = m._deal_rate(p, eff, (np.arange(n_t) - d.t_mid) / 12.0, np.asarray(panel["fiscal_month"].values, float),
                       np.asarray(panel["tenure"].values, float), np.asarray(panel["active"].values, bool))
    np_mean = lam.mean(axis=0)[d.r, d.t]  # same cells, same order as the PyMC likelihood

    # per rep (sum over its months): Monte-Carlo error of 400 Poisson draws is well below 5 %
    by_rep_pm = np.bincount(d.r, weights=pm_mean)
    by_rep_np = np.bincount(d.r, weights=np_mean)
    np.testing.assert_allclose(by_rep_np, by_rep_pm, rtol=0.05)
    # and month by month the two rates move together (season, trend, ramp)
    assert np.corrcoef(np_mean, pm_mean)[0, 1] > 0.95
