"""Tests of the forecast panel and the hierarchical bookings model (small and fast)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

sys.path.insert(0, str(Path(__file__).parent))
from test_forecast_model_sim import simulate_org

from spm_models.cube import rollup
from spm_models.errors import InputError
from spm_models.forecast.panel import TENURED, monthly_panel

# --------------------------------------------------------------------------------------
# panel
# --------------------------------------------------------------------------------------


def _tiny_tables():
    bookings = pd.DataFrame(
        {
            "rep_id": ["a", "a", "a", "b", "b", "a"],
            "date": ["2025-01-05", "2025-01-20", "2025-03-02", "2025-02-10", "2025-04-01", "2025-04-15"],
            "amount": [100.0, 50.0, 30.0, 200.0, -200.0, -40.0],
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "region": ["East", "West", "West"],
            "territory_id": ["E1", "W1", "W1"],
            "hire_date": ["2024-06-01", "2025-02-01", "2025-03-15"],
            "term_date": [None, None, "2025-03-31"],
        }
    )
    return bookings, reps


def test_panel_aggregates_known_answer():
    bookings, reps = _tiny_tables()
    p = monthly_panel({"bookings": bookings, "reps": reps}, end="2025-05", fiscal_year_start=2)
    assert list(p.period.values) == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05"]
    a = p.sel(rep="a")
    np.testing.assert_allclose(a["amount"].values, [150, 0, 30, -40, 0])
    np.testing.assert_array_equal(a["deals"].values, [2, 0, 1, 0, 0])
    np.testing.assert_allclose(a["cancel_amount"].values, [0, 0, 0, 40, 0])
    b = p.sel(rep="b")
    np.testing.assert_allclose(b["amount"].values, [0, 200, 0, -200, 0])  # net-negative month
    np.testing.assert_array_equal(b["active"].values, [False, True, True, True, True])
    np.testing.assert_array_equal(b["tenure"].values, [-1, 0, 1, 2, 3])
    np.testing.assert_array_equal(a["tenure"].values, [7, 8, 9, 10, 11])
    c = p.sel(rep="c")
    np.testing.assert_array_equal(c["active"].values, [False, False, True, False, False])
    # fiscal year starting in February: Feb = fiscal month 1, Jan = 12
    np.testing.assert_array_equal(p["fiscal_month"].values, [12, 1, 2, 3, 4])
    assert p["region"].sel(rep="b").item() == "West"
    assert p["territory_id"].sel(rep="a").item() == "E1"


def test_panel_without_reps_table_defaults():
    bookings, _ = _tiny_tables()
    p = monthly_panel({"bookings": bookings}, tenured_within=1)
    assert set(p["region"].values) == {"all"}
    assert set(p["territory_id"].values) == {"all"}
    # 'a' books in the first month: treated as tenured; 'b' starts in month 2: a new hire
    assert p["tenure"].sel(rep="a").values[0] == TENURED
    np.testing.assert_array_equal(p["active"].sel(rep="b").values, [False, True, True, True])
    np.testing.assert_array_equal(p["tenure"].sel(rep="b").values, [-1, 0, 1, 2])
    # with the default (first 3 months = history start) 'b' counts as tenured
    p3 = monthly_panel({"bookings": bookings})
    assert p3["active"].sel(rep="b").all() and p3["tenure"].sel(rep="b").values[0] == TENURED


def test_panel_bad_input_names_table_row_field():
    bookings, reps = _tiny_tables()
    bad = bookings.copy()
    bad.loc[2, "amount"] = "abc"
    with pytest.raises(InputError, match=r"bookings, row 3, field 'amount'"):
        monthly_panel({"bookings": bad, "reps": reps})
    bad = bookings.copy()
    bad.loc[1, "rep_id"] = "zz"
    with pytest.raises(InputError, match=r"bookings, row 2, field 'rep_id'"):
        monthly_panel({"bookings": bad, "reps": reps})
    with pytest.raises(InputError, match="bookings"):
        monthly_panel({"reps": reps})


def test_panel_drops_roles_without_bookings():
    bookings, reps = _tiny_tables()
    reps = reps.assign(role=["AE", "AE", "Manager"])
    p = monthly_panel({"bookings": bookings, "reps": reps})
    assert list(p.rep.values) == ["a", "b"]


# --------------------------------------------------------------------------------------
# model (fast ADVI fit on a tiny organisation, shared by the tests below)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    tables = simulate_org(n_reps=6, years=2, seed=3, n_regions=2, terr_per_region=2)
    return monthly_panel(tables)


@pytest.fixture(scope="module")
def fitted(tiny):
    from spm_models.forecast.model import BookingsForecast

    m = BookingsForecast({"model": "deals", "rep_size_effects": False})
    m.fit(tiny, method="fast", draws=200, seed=1, n_steps=2000)
    return m


def test_config_validation():
    from spm_models.forecast.model import BookingsForecast

    with pytest.raises(InputError, match="count_likelihood"):
        BookingsForecast({"count_likelihood": "gaussian"})
    with pytest.raises(InputError, match="'nope': unknown option"):
        BookingsForecast({"nope": 1})
    with pytest.raises(InputError, match="rep_effects"):
        BookingsForecast({"rep_effects": "sideways"})


def test_marginal_rep_territory_prior_is_the_exact_mvn(tiny):
    """The integrated-out territory prior equals N(0, rep_sigma² I + territory_sigma² Z Zᵀ)."""
    import pytensor
    from scipy.stats import multivariate_normal

    from spm_models.forecast.model import BookingsForecast

    m = BookingsForecast({"model": "deals", "rep_effects": "marginal"})
    model = m.build_model(tiny)
    d = m._design
    pot = model.replace_rvs_by_values([model["rep_eff_prior"]])[0]
    f = pytensor.function(model.value_vars, pot, on_unused_input="ignore")
    ip = model.initial_point()
    e = np.random.default_rng(0).normal(0, 0.4, len(d.rep))
    ip["log_base_deals"] = 0.0 * ip["log_base_deals"]  # then rep_dev = rep_eff
    for k in ip:
        if k.startswith("region_eff"):
            ip[k] = 0.0 * ip[k]
    ip["rep_eff"] = e
    # rep_sigma 0.3, territory_sigma 0.2 as total spread x territory share
    ip["effect_sigma_log__"] = np.log(np.sqrt(0.13))
    ip["territory_share_logodds__"] = np.log(0.04 / 0.09)
    Z = np.zeros((len(e), len(d.territories)))
    Z[np.arange(len(e)), d.terr_idx] = 1.0
    assert len(d.territories) < len(e)  # some territories hold several reps
    cov = 0.3**2 * np.eye(len(e)) + 0.2**2 * Z @ Z.T
    want = multivariate_normal(np.zeros(len(e)), cov).logpdf(e)
    assert float(f(*[ip[v.name] for v in model.value_vars])) == pytest.approx(want, rel=1e-10)


def test_marginal_rep_size_effects_are_the_exact_integral(tiny):
    """Per-rep deal-size effects integrated out: the potential equals each rep's months'
    multivariate normal N(mu, diag(s²) + tau² 11ᵀ) (scipy), and size_rep_mean / size_rep_sd
    equal the conditional posterior of the rep effect found by quadrature on a grid."""
    import pytensor
    from scipy.stats import multivariate_normal, norm

    from spm_models.forecast.model import BookingsForecast

    m = BookingsForecast({"model": "deals"})
    model = m.build_model(tiny)
    d = m._design
    assert "size_rep_z" not in model.named_vars and "log_gross" in {v.name for v in model.potentials}
    outs = model.replace_rvs_by_values([model["log_gross"], model["size_rep_mean"], model["size_rep_sd"]])
    f = pytensor.function(model.value_vars, outs, on_unused_input="ignore")
    ip = model.initial_point()
    tau, sig, med = 0.25, 0.7, 9.5
    ip["size_rep_sigma_log__"] = np.log(tau)
    ip["deal_sigma_log__"] = np.log(sig)
    ip["log_deal_median"] = np.asarray(med)
    for k in ip:
        if k.startswith("size_region_eff"):
            ip[k] = 0.0 * ip[k]
    pot, mean, sd = f(*[ip[v.name] for v in model.value_vars])
    pos = d.deals > 0
    n, rep, y = d.deals[pos].astype(float), d.r[pos], np.log(d.gross[pos])
    s2 = np.log1p(np.expm1(sig**2) / n)
    mu = np.log(n) + med + sig**2 / 2 - s2 / 2
    want = 0.0
    grid = np.linspace(-3, 3, 60001)
    for r in range(len(d.rep)):
        k = rep == r
        if not k.any():
            assert mean[r] == 0.0 and sd[r] == pytest.approx(tau)
            continue
        cov = np.diag(s2[k]) + tau**2 * np.ones((k.sum(), k.sum()))
        want += multivariate_normal(mu[k], cov).logpdf(y[k])
        logw = norm(0, tau).logpdf(grid) + norm.logpdf(y[k][:, None], mu[k][:, None] + grid, np.sqrt(s2[k])[:, None]).sum(0)
        w = np.exp(logw - logw.max())
        w /= w.sum()
        gm = (w * grid).sum()
        assert mean[r] == pytest.approx(gm, abs=1e-6)
        assert sd[r] == pytest.approx(np.sqrt((w * (grid - gm) ** 2).sum()), rel=1e-4)
    assert float(pot) == pytest.approx(want, rel=1e-10)


def test_cancel_exposure_stops_at_term_month():
    """Deals in a leaver's last months count only with the observable share of the 1-3
    month cancellation window (as at the panel end)."""
    from spm_models.forecast.model import _design

    bookings = pd.DataFrame({
        "rep_id": ["a"] * 6 + ["b"] * 3,
        "date": ["2025-01-05", "2025-02-05", "2025-03-05", "2025-04-05", "2025-05-05",
                 "2025-06-05", "2025-01-05", "2025-02-05", "2025-03-05"],
        "amount": [100.0] * 9,
    })
    reps = pd.DataFrame({"rep_id": ["a", "b"], "hire_date": ["2020-01-01", "2020-01-01"],
                         "term_date": [None, "2025-03-20"]})
    p = monthly_panel({"bookings": bookings, "reps": reps}, end="2025-06")
    d = _design(p)
    # share of lags 1..3 landing on or before the last observable month:
    # a (panel end Jun): Jan-Mar 1, Apr 2/3, May 1/3, Jun 0 -> 4; b (term Mar): 2/3 + 1/3 + 0 -> 1
    assert d.total_deals == 5


def test_model_builds_with_expected_variables(tiny):
    from spm_models.forecast.model import BookingsForecast

    model = BookingsForecast({"count_likelihood": "negbin", "rep_effects": "marginal"}).build_model(tiny)
    names = {v.name for v in model.free_RVs}
    assert {"log_base_deals", "trend", "rep_eff", "ramp_tau", "season_a", "season_b",
            "deal_sigma", "cancel_rate", "inv_alpha"} <= names
    # 6 reps in 4 territories: territory effects on, integrated out with "marginal"
    assert {"effect_sigma", "territory_share"} <= names and "territory_z" not in model.named_vars
    assert {"rep_sigma", "territory_sigma"} <= set(model.named_vars)
    assert {"season_amp", "season_peak"} <= set(model.named_vars)
    # "auto" with only 6 reps (< MARGINAL_MIN_REPS): non-centred total spread x share
    nc = BookingsForecast({"model": "deals"}).build_model(tiny)
    assert {"effect_sigma", "territory_share", "territory_z", "rep_z"} <= {v.name for v in nc.free_RVs}
    c = BookingsForecast({"rep_effects": "centered"}).build_model(tiny)
    assert {"rep_eff", "territory_z"} <= {v.name for v in c.free_RVs} and "rep_z" in c.named_vars
    # 2 regions: zero-sum fixed region effects rather than a pooled variance
    assert "region_eff" in names and "region_sigma" not in model.named_vars
    off = BookingsForecast({"territory_effects": "off"}).build_model(tiny)
    assert "rep_sigma" in {v.name for v in off.free_RVs} and "territory_z" not in off.named_vars
    assert {"deals", "cancels"} <= {v.name for v in model.observed_RVs}
    assert "log_gross" in {v.name for v in model.potentials}  # rep size effects integrated out
    no_rep_size = BookingsForecast({"rep_size_effects": False}).build_model(tiny)
    assert "log_gross" in {v.name for v in no_rep_size.observed_RVs}


def test_fast_fit_and_forecast_cube(fitted, tiny):
    assert fitted.diagnostics["ok"] is True and fitted.diagnostics["method"] == "fast"
    cube = fitted.forecast("2027-01", 6, n_draws=50, seed=0)
    assert cube["bookings"].dims == ("rep", "period", "draw")
    assert list(cube.period.values) == [f"2027-0{i}" for i in range(1, 7)]
    assert cube.sizes["draw"] == 50
    still = tiny["rep"].values[tiny["active"].values[:, -1]]
    assert set(cube.rep.values) == set(still)
    for c in ("territory_id", "region", "role", "hire_month"):
        assert c in cube.coords
    assert np.isfinite(cube["bookings"].values).all()
    # mean forecast is on the scale of history (per active rep-month)
    hist = float(tiny["amount"].where(tiny["active"]).mean())
    fc = float(cube["bookings"].mean())
    assert 0.3 * hist < fc < 3 * hist


def test_rollup_coherent(fitted):
    cube = fitted.forecast("2027-01", 3, n_draws=40, seed=2)
    total = rollup(cube["bookings"], "company")
    np.testing.assert_allclose(total.values, cube["bookings"].sum("rep").values)
    by_region = rollup(cube["bookings"], "region")
    np.testing.assert_allclose(by_region.sum("region").values, total.values)
    by_terr = cube.spm.rollup("territory_id")["bookings"]
    np.testing.assert_allclose(by_terr.sum("territory_id").values, total.values)


def test_future_hires_ramp_from_zero(fitted):
    future = pd.DataFrame(
        {"rep_id": [f"new{i}" for i in range(30)], "hire_date": "2027-03-10", "region": "R0", "territory_id": "T00"}
    )
    cube = fitted.forecast("2027-01", 12, n_draws=200, seed=4, future_reps=future)
    new = cube["bookings"].sel(rep=[f"new{i}" for i in range(30)])
    assert (new.sel(period=["2027-01", "2027-02"]) == 0).all()
    assert not cube["active"].sel(rep="new0", period="2027-02").any()
    m = new.mean(("rep", "draw"))
    # ramp: the hire month books less than months later (posterior ramp_tau > 0)
    assert float(m.sel(period="2027-03")) < float(m.sel(period=["2027-10", "2027-11", "2027-12"]).mean())
    # expected deal rate ratio month 0 vs month 9 follows the ramp curve
    tau = fitted.posterior["ramp_tau"].values.ravel()
    r0 = np.mean(1 - np.exp(-1 / tau))
    assert r0 < 0.9
    with pytest.raises(InputError, match="future_reps, row 1, field 'hire_date'"):
        fitted.forecast("2027-01", 3, future_reps=pd.DataFrame({"rep_id": ["x"], "hire_date": ["soon"]}))


def test_forecast_deterministic_for_seed(fitted):
    a = fitted.forecast("2027-01", 4, n_draws=30, seed=7)
    b = fitted.forecast("2027-01", 4, n_draws=30, seed=7)
    c = fitted.forecast("2027-01", 4, n_draws=30, seed=8)
    xr.testing.assert_identical(a["bookings"], b["bookings"])
    assert not np.allclose(a["bookings"].values, c["bookings"].values)


def test_attrition_removes_reps(fitted):
    base = fitted.forecast("2027-01", 12, n_draws=100, seed=1)
    attr = fitted.forecast("2027-01", 12, n_draws=100, seed=1, attrition=0.2)
    assert float(attr["active"].mean()) < float(base["active"].mean())
    assert float(attr["bookings"].sum()) < float(base["bookings"].sum())


def test_in_sample_posterior_predictive(fitted, tiny):
    pp = fitted.sample_posterior_predictive(n_draws=40, seed=0)
    assert pp["bookings"].dims == ("rep", "period", "draw")
    assert pp.sizes["period"] == tiny.sizes["period"]
    inactive = ~tiny["active"]
    assert (pp["bookings"].where(inactive.broadcast_like(pp["bookings"])).fillna(0) == 0).all()
    # observed company total lies within the predictive range for most months
    obs = tiny["amount"].where(tiny["active"], 0).sum("rep")
    sim = pp["bookings"].sum("rep")
    lo, hi = sim.quantile(0.01, "draw"), sim.quantile(0.99, "draw")
    assert float(((obs >= lo) & (obs <= hi)).mean()) >= 0.75


def test_save_load_round_trip(fitted, tmp_path):
    from spm_models.forecast.model import BookingsForecast

    path = fitted.save(tmp_path / "fit")
    m2 = BookingsForecast.load(path)
    assert m2.config == fitted.config
    assert m2.diagnostics == fitted.diagnostics
    xr.testing.assert_allclose(m2.posterior, fitted.posterior)
    a = fitted.forecast("2027-01", 3, n_draws=20, seed=5)
    b = m2.forecast("2027-01", 3, n_draws=20, seed=5)
    np.testing.assert_allclose(a["bookings"].values, b["bookings"].values)


def test_fit_cached_hit_returns_same_posterior(fitted, tiny, tmp_path, monkeypatch):
    from spm_models.forecast import cache
    from spm_models.forecast.model import BookingsForecast

    calls = []

    def fake_fit(self, panel, **kw):  # stands in for sampling: reuse the fixture's posterior
        calls.append(kw)
        self.panel, self.idata = panel, fitted.idata
        self.diagnostics, self.fit_info = dict(fitted.diagnostics), {"method": kw.get("method")}
        return self

    monkeypatch.setattr(BookingsForecast, "fit", fake_fit)
    kw = {"method": "fast", "draws": 50, "seed": 0}
    m1 = cache.fit_cached(tiny, {"model": "deals", "rep_size_effects": False}, tmp_path, **kw)
    assert m1.fit_info["cache"] == "miss" and len(calls) == 1
    m2 = cache.fit_cached(tiny, {"model": "deals", "rep_size_effects": False}, tmp_path, **kw)
    assert m2.fit_info["cache"] == "hit" and len(calls) == 1  # no refit
    xr.testing.assert_allclose(m1.posterior, m2.posterior)
    np.testing.assert_allclose(
        m1.forecast("2027-01", 2, n_draws=10, seed=0)["bookings"].values,
        m2.forecast("2027-01", 2, n_draws=10, seed=0)["bookings"].values,
    )
    # another config, other fit settings or other data is another key
    assert cache.cache_key(tiny, {"rep_size_effects": True}, kw) != cache.cache_key(tiny, {"rep_size_effects": False}, kw)
    assert cache.cache_key(tiny, None, {**kw, "seed": 1}) != cache.cache_key(tiny, None, kw)
    other = tiny.copy()
    other["deals"] = other["deals"] + 1
    assert cache.cache_key(other, None, kw) != cache.cache_key(tiny, None, kw)
    m3 = cache.fit_cached(other, {"model": "deals", "rep_size_effects": False}, tmp_path, **kw)
    assert m3.fit_info["cache"] == "miss" and len(calls) == 2


def test_diagnostics_flag_failures():
    from spm_models.forecast.diagnostics import banner, collect_diagnostics

    rng = np.random.default_rng(0)
    good = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"trend": (("chain", "draw"), rng.normal(size=(4, 500)))}),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), np.zeros((4, 500), bool))}),
        }
    )
    d = collect_diagnostics(good, hyper=["trend"])
    assert d["ok"] and d["rhat_max"] < 1.01 and d["ess_bulk_min"] > 1000
    assert banner(d) is None
    shifted = rng.normal(size=(4, 500)) + np.arange(4)[:, None]
    div = np.zeros((4, 500), bool)
    div[0, :3] = True
    bad = xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset({"trend": (("chain", "draw"), shifted)}),
            "sample_stats": xr.Dataset({"diverging": (("chain", "draw"), div)}),
        }
    )
    d = collect_diagnostics(bad, hyper=["trend"])
    assert not d["ok"] and d["divergences"] == 3 and d["rhat_max"] > 1.1
    assert "R-hat" in banner(d) and "divergent" in banner(d)


@pytest.mark.slow
def test_tiny_nuts_fit(tiny):
    from spm_models.forecast.model import BookingsForecast

    m = BookingsForecast({"model": "deals", "rep_size_effects": False})
    m.fit(tiny, method="nuts", draws=150, tune=150, chains=2, seed=0)
    assert m.fit_info["sampler"] in ("nutpie", "pymc")
    d = m.diagnostics
    assert {"rhat_max", "ess_bulk_min", "divergences", "ok", "messages"} <= set(d)
    assert d["rhat_max"] < 1.1
    post = m.posterior
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 150
    cube = m.forecast("2027-01", 2, n_draws=20, seed=0)
    assert cube.sizes["draw"] == 20


def test_forecast_plots_return_figures():
    from matplotlib.figure import Figure

    from spm_models.plots.forecast import plot_forecast_fan, plot_parameter_intervals

    rng = np.random.default_rng(0)
    fc = xr.DataArray(rng.gamma(5, 10, (6, 100)), dims=("period", "draw"),
                      coords={"period": [f"2027-0{i}" for i in range(1, 7)]})
    hist = xr.DataArray(rng.gamma(5, 10, 12), dims="period",
                        coords={"period": [f"2026-{i:02d}" for i in range(1, 13)]})
    fig = plot_forecast_fan(fc, hist)
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="roll up"):
        plot_forecast_fan(fc.expand_dims(rep=["a"]))
    post = xr.Dataset({"trend": (("chain", "draw"), rng.normal(0.08, 0.01, (2, 50)))})
    fig = plot_parameter_intervals(post, ["trend", "missing"], truth={"trend": 0.08})
    assert isinstance(fig, Figure) and len(fig.axes) == 1


def test_marginal_mode_fast_fit_forecasts_known_and_new_reps(tiny):
    """With territories integrated out, known reps forecast from their own effect and a new
    hire in a known territory gets a finite, territory-informed effect."""
    from spm_models.forecast.model import BookingsForecast

    m = BookingsForecast({"model": "deals", "rep_size_effects": False, "rep_effects": "marginal"})
    m.fit(tiny, method="fast", draws=100, seed=2, n_steps=1500)
    d = m._design
    k = d.territories[0]
    g, t = k.split("|", 1)
    hires = pd.DataFrame({"rep_id": ["new1"], "hire_date": ["2027-01-01"], "region": [g],
                          "territory_id": [t]})
    rng = np.random.default_rng(0)
    p = m._params(100, rng)
    reps = pd.DataFrame({"rep_id": [*d.rep[:2], "new1"], "region": [*np.asarray(tiny["region"].values[:2]), g],
                         "territory_id": [*np.asarray(tiny["territory_id"].values[:2]), t]})
    eff, _ = m._effects(p, reps, rng)
    assert np.isfinite(eff).all()
    # a known rep's effect is its posterior deviation plus its region's effect
    i0 = 0
    region_part = eff[:, 0] - p["rep_dev"][:, i0]
    g0 = str(tiny["region"].values[0])
    gi = list(d.regions).index(g0)
    np.testing.assert_allclose(region_part, p["region_eff"][:, gi], atol=1e-9)
    cube = m.forecast("2027-01", 3, n_draws=50, seed=0, future_reps=hires)
    assert "new1" in cube["bookings"].rep.values


def test_holdout_model_is_the_full_graph_with_training_data(tiny):
    """model: auto compiles the deal model once and runs its holdout fit by swapping the data
    (nutpie with_data): valid only when every data-dependent number is a pm.Data. The full
    panel's graph with the training panel's data values must give the training model's logp."""
    from spm_models.forecast import deal_graph
    from spm_models.forecast.model import BookingsForecast, _design
    from spm_models.forecast.rep_month import validation_split

    train, _ = validation_split(tiny, 12)
    cfg = BookingsForecast({"model": "deals"}).config
    full_m = deal_graph.build_deal_model(cfg, _design(tiny))
    train_m = deal_graph.build_deal_model(cfg, _design(train))
    assert deal_graph.same_structure(full_m, train_m)
    point = train_m.initial_point()
    point = {k: v + 0.1 for k, v in point.items()}
    want = train_m.compile_logp()(point)
    before = full_m.compile_logp()(point)
    for name, value in deal_graph.data_values(train_m).items():
        full_m[name].set_value(value)
    assert full_m.compile_logp()(point) == pytest.approx(want, rel=1e-12)
    assert before != pytest.approx(want, rel=1e-6)  # the data do change the log-density
    other = BookingsForecast({"model": "deals", "season_harmonics": 2}).build_model(tiny)
    assert not deal_graph.same_structure(full_m, other)
