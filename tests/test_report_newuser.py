"""A new user's report findings (bookings-only sources, leavers before the plan year, figures
that disagree across the report): each test fails on the code before the fix."""

from __future__ import annotations

import re
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest
import xarray as xr
from test_report_helpers import REPO

from spm_models.reporting import runner

PERIODS = [f"2027-{m:02d}" for m in range(1, 13)]


def _cube(n_reps: int = 4, n_draws: int = 50, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    b = rng.gamma(4.0, 25_000.0, (n_reps, 12, n_draws))
    reps = [f"R{i:02d}" for i in range(n_reps)]
    return xr.Dataset(
        {"bookings": (("rep", "period", "draw"), b),
         "quota": (("rep", "period"), np.full((n_reps, 12), 100_000.0)),
         "payout": (("rep", "period", "draw"), b * 0.1)},
        coords={"rep": reps, "period": PERIODS, "draw": np.arange(n_draws),
                "region": ("rep", ["East"] * n_reps),
                "territory_id": ("rep", [f"T{i}" for i in range(n_reps)])})


# ------------------------------------------------------------------ 1. bookings-only source
def test_report_notebook_reads_the_reps_table_only_when_present():
    """`finnorep`: KeyError 'reps' in the leaderboard cell of a bookings-only source."""
    for folder in ("notebooks", "spm_models/notebooks"):
        nb = nbformat.read(str(REPO / folder / "scenario_report.ipynb"), as_version=4)
        src = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert not re.search(r"tables\[[\"']reps[\"']\]", src), folder
        assert "result.tables.get(\"reps\")" in src


def test_leaderboard_without_a_reps_table_has_no_name_column():
    from spm_models.reporting import sections

    html = sections.leaderboard(_cube(), None).data
    assert "R00" in html and ">Name<" not in html


def test_a_failed_scenario_leaves_no_half_written_folder(tmp_path, monkeypatch):
    """A failing notebook published its lone partial `report.ipynb` as `OUT/NAME`; now the
    scenario folder holds all its outputs or does not exist (old outputs removed too)."""
    import papermill as pm

    def failing(src, dst, **kw):
        open(dst, "w").write("{}")  # papermill writes the partial notebook, then raises
        raise RuntimeError("KeyError: 'reps'")

    monkeypatch.setattr(pm, "execute_notebook", failing)
    monkeypatch.delenv("SPM_DEBUG", raising=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "s1").mkdir()
    (out / "s1" / "report.html").write_text("old")
    sc = SimpleNamespace(path=str(tmp_path / "s1.yaml"))
    run = runner.run_one(runner.ScenarioRun("s1", "s1.yaml", scenario=sc), out, tmp_path)
    assert not run.ok and "KeyError" in (run.error or "")
    assert sorted(p.name for p in out.iterdir()) == []  # no folder, no temp folder left
    monkeypatch.setenv("SPM_DEBUG", "1")  # debugging: the partial notebook is kept aside
    run = runner.run_one(runner.ScenarioRun("s1", "s1.yaml", scenario=sc), out, tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["s1.failed.ipynb"]


def test_failed_text_puts_each_problem_on_its_own_line():
    from spm_models.cli.reporting import failed_text

    text = failed_text("finbad", "a.csv, row 2: bad\na.csv, row 3: bad")
    assert text.splitlines() == ["FAILED  finbad: a.csv, row 2: bad", "        a.csv, row 3: bad"]


# ------------------------------------------------------------------ 2. leavers before the plan
def test_forecast_keeps_active_and_drops_reps_who_left_before_the_plan(tmp_path, monkeypatch):
    """R00063 (term_date 2026-12-01, plan year 2027) was active in every draw: the cached
    forecast kept only `bookings`, losing the forecast's known terminations."""
    from spm_models.workflow import forecast_step
    from spm_models.workflow.cache import Cache

    fc = _cube()[["bookings"]]
    active = np.ones((4, 12, 50), bool)
    active[1] = False  # left in 2026-12
    active[2, 6:] = False  # leaves in 2027-06
    fc["active"] = (("rep", "period", "draw"), active)

    class Model:
        def diagnostics(self):
            return {"ok": True}

        def forecast(self, **kw):
            return fc

    monkeypatch.setattr(forecast_step, "fitted_model", lambda *a, **k: Model())
    monkeypatch.setattr("spm_models.forecast.monthly_panel", lambda tables: None)
    sc = SimpleNamespace(seed=1, draws=50, horizon={"start": "2027-01", "months": 12},
                         section=lambda name: {}, spec={})
    monkeypatch.setattr(forecast_step, "forecast_key", lambda *a: "k")
    monkeypatch.setattr(forecast_step, "forecast_settings", lambda s: ({}, {}))
    out, _ = forecast_step.forecast_cube({}, sc, "h", Cache(tmp_path))
    assert list(out["rep"].values) == ["R00", "R02", "R03"]
    assert "active" in out and not out["active"].sel(rep="R02", period="2027-07").any()
    again, _ = forecast_step.forecast_cube({}, sc, "h", Cache(tmp_path))  # from the cache
    assert list(again["rep"].values) == ["R00", "R02", "R03"] and "active" in again


def test_current_roster_keeps_the_forecasts_terminations():
    from spm_models.planning import roster as ros

    fc = _cube()[["bookings"]]
    active = np.ones((4, 12, 50), bool)
    active[2, 6:] = False
    fc["active"] = (("rep", "period", "draw"), active)
    cur = ros.current_roster(fc, 0.0, seed=0)
    assert not cur["active"].sel(rep="R02").isel(period=slice(6, None)).any()


# ------------------------------------------------------------------ 6. leaderboard
def test_leaderboard_ranks_todays_reps_not_planned_hires():
    from spm_models.reporting import sections

    cube = _cube(n_reps=6)
    cube["bookings"][4:] *= 3.0  # the two hires would top the table
    cube["quota"][3] = 0.0  # a rep with no quota (e.g. left before the plan): no attainment
    cube = cube.assign_coords(is_hire=("rep", [False, False, False, False, True, True]))
    cube = cube.assign_coords(rep=["R00", "R01", "R02", "R03", "hire-2027-12-001", "hire-2027-12-002"])
    html = sections.leaderboard(cube, None).data
    assert "hire-2027" not in html and ">R03<" not in html
    assert "3 of today&#39;s reps ranked; not ranked: 2 planned hires and 1 rep without a quota" in html
    assert "Bottom" not in html  # 3 reps: all in the top table, none shown twice
    big = _cube(n_reps=15)
    html = sections.leaderboard(big, None).data
    assert "Bottom 5 reps" in html and all(html.count(f">R{i:02d}<") == 1 for i in range(15))


def test_leaderboard_says_when_its_order_is_noise():
    """With equal-chance quotas every rep projects to ~100 %: the base report's "Bottom 10
    reps (coaching focus)" singled out reps whose prospects were those of the top 10."""
    from spm_models.reporting import sections

    flat = _cube(n_reps=15, n_draws=400)
    html = sections.leaderboard(flat, None).data
    proj = sections.leaderboard_frame(flat)[0]["projected_p50"]
    assert proj.max() - proj.min() < sections.FLAT_SPREAD
    assert "the reps&#39; prospects barely differ" in html
    assert f"Projected attainments lie within {proj.min():.0%}-{proj.max():.0%}" in html
    spread = _cube(n_reps=15, n_draws=400)
    spread["bookings"][:5] *= 1.5
    assert "barely differ" not in sections.leaderboard(spread, None).data


# ------------------------------------------------------------------ 7. cost of sales footnote
def test_index_footnote_defines_cost_of_sales_as_the_report_does(tmp_path):
    from spm_models.reporting.html import write_index

    (tmp_path / "bad.failed.ipynb").write_text("{}")
    runs = [runner.ScenarioRun("bad", "bad.yaml", error="a.csv, row 2: x\na.csv, row 3: y")]
    html = write_index(tmp_path, runs).read_text()
    assert "incentive cost ÷ revenue (median)" not in html
    assert "managers and SEs the planned hires" in html
    assert 'href="bad.failed.ipynb">notebook (partial)' in html


# ------------------------------------------------------------------ 3. quota fairness
def test_fairness_table_says_what_it_measures_and_gives_the_scenario_share():
    from spm_models.reporting import sections

    s = {"quota_fairness": {"p_reach_mean": 0.6, "p_reach_sd": 0.0, "expected_share_at_quota": 0.6},
         "quota_method": "equal_probability", "share_reps_at_quota": {"p50": 0.54}}
    html = sections.fairness_table(s).data
    assert "forecast the quotas were set on" in html and "before attrition" in html
    assert "Share of reps at quota in the scenario" in html and "54%" in html


# ------------------------------------------------------------------ 4. one hire fewer
def test_probabilities_never_round_onto_or_across_the_target():
    from spm_models.reporting.capacity_section import capacity_sentence, pct_vs_target

    assert pct_vs_target(0.799, 0.8) == "79.9%" and pct_vs_target(0.83, 0.8) == "83%"
    assert pct_vs_target(0.8, 0.8) == "80%" and pct_vs_target(0.8004, 0.8) == "80.04%"
    assert pct_vs_target(0.7999, 0.8) == "79.99%"
    c = {"total_hires": 91, "hiring_plan": {"2027-01": 91}, "hiring_lag_months": 2, "mode": "solve",
         "target": 1.9e8, "probability_target": 0.8, "probability_reached": 0.83,
         "probability_one_fewer": 0.799, "feasible": True,
         "capacity": {"p10": 1e8, "p50": 1.1e8, "p90": 1.2e8}, "headcount_end": {"p50": 60},
         "headcount_now": 157}
    text = capacity_sentence(c)
    assert "with probability 83% (79.9% with one hire fewer)" in text


# ------------------------------------------------------------------ 5. what the hires add
def test_hires_economics_is_the_bridges_hires_bar():
    import pandas as pd

    from spm_models.workflow.world_step import hires_economics

    bridge = pd.DataFrame([
        {"step": "base", "revenue": 100.0, "cost": 10.0, "revenue_change_p50": 0.0, "cost_change_p50": 0.0},
        {"step": "hires", "revenue": 34.4, "cost": 3.0, "revenue_change_p50": 34.2, "cost_change_p50": 2.9}])
    econ = hires_economics(SimpleNamespace(bridge=bridge))
    assert econ == {"revenue_p50": 34.4, "cost_p50": 3.0, "cost_per_revenue": round(3.0 / 34.4, 6)}


# ------------------------------------------------------------------ 9. smaller findings
def test_kpi_rate_changes_are_percentage_points():
    from spm_models.reporting.pipeline_sections import kpi_frame

    block = {"kpis": {"period": "2026-11", "win_rate": 0.31, "slip_rate": 0.2, "avg_deal_size": 5e4},
             "trends": {"win_rate": {"change_3m": -0.028}, "slip_rate": {"change_3m": -0.002},
                        "avg_deal_size": {"change_3m": 1500.0}}}
    df = kpi_frame(block).set_index("KPI")["change (3 months vs 3 before)"]
    assert df["Win rate"] == "−2.8 pp" and df["Slip rate"] == "−0.2 pp"
    assert df["Average deal size"] == "+1.5k"


def test_pipeline_money_axes_use_the_reports_units():
    import pandas as pd

    from spm_models.plots.pipeline import plot_kpi_trends, plot_quarter_fan

    rng = np.random.default_rng(0)
    q = xr.Dataset({"bookings": (("rep", "period", "draw"), rng.gamma(4, 4e6, (3, 3, 100))),
                    "closed": ("rep", [1e6, 2e6, 3e6])},
                   coords={"rep": ["a", "b", "c"], "period": ["2027-01", "2027-02", "2027-03"]})
    fig = plot_quarter_fan(q)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e7"
    assert any(t.get_text().endswith("M") for t in ax.get_yticklabels())
    periods = pd.period_range("2026-01", periods=8, freq="M").astype(str)
    names = ("pipeline_created", "win_rate")
    k = xr.Dataset({n: (("id", "period"), rng.uniform(1e7, 3e7, (1, 8)) if n == "pipeline_created"
                        else rng.uniform(0.2, 0.4, (1, 8))) for n in names},
                   coords={"period": periods, "id": [0]})
    fig = plot_kpi_trends(k, names)
    fig.canvas.draw()
    created, win = fig.axes[0], fig.axes[1]
    assert created.yaxis.get_offset_text().get_text() == ""
    assert any(t.get_text().endswith("M") for t in created.get_yticklabels())
    assert any(t.get_text().endswith("%") for t in win.get_yticklabels())


def _summary(**over):
    """A minimal summary of 5 reps for the executive-summary cards."""
    return {"revenue": {"p10": 1e8, "p50": 1.1e8, "p90": 1.2e8},
            "incentive_cost": {"p10": 8e6, "p50": 9e6, "p90": 1e7}, "cost_of_sales": {"p50": 0.09},
            "share_reps_at_quota": {"p50": 0.5}, "n_reps": 5, "n_reps_with_quota": 5,
            "prob_company_target": None, "company_target": None, "prob_cost_over_budget": None,
            "incentive_cost_by_plan": {}, **over}


def test_reps_at_quota_card_counts_the_reps_the_share_is_over():
    from spm_models.reporting import sections
    from spm_models.workflow.summary import n_with_quota

    cube = _cube(n_reps=5)
    cube["quota"][2] = 0.0
    assert n_with_quota(cube["quota"]) == 4
    s = _summary(n_reps_with_quota=4)
    html = sections.executive_summary(s).data
    assert "of 4 reps with a quota" in html and "of 5 reps" not in html


def test_territory_table_says_how_many_territories_miss_the_potential_band():
    from spm_models.reporting import sections

    fig = {"cv_potential": 0.3}
    t = {"before": fig, "after": fig, "max_moved_share": 0.2, "accounts_moved": 10, "n_accounts": 50,
         "share_moved": 0.2, "n_territories": 160, "territories_outside_potential_band": 65,
         "potential_tol": 0.01}
    html = sections.territory_table({"territory": t}).data
    assert "Territories outside ±1% of the mean potential" in html and "65 of 160" in html


def test_a_finished_quarter_has_no_outlook():
    from spm_models.reporting.pipeline_sections import pipeline_section, quarter_complete

    q = {"mean": 4806968.91, "p10": 4806968.909999997, "p50": 4806968.909999997, "p90": 4806968.909999997}
    block = {"available": True, "quarter": "2024-Q4", "as_of": "2024-12-02", "closed_to_date": 4806968.91,
             "forecast": q, "notes": []}
    assert quarter_complete(block)
    assert not quarter_complete({**block, "forecast": {**q, "p90": 5.2e6}})
    shown = []
    tree = xr.DataTree.from_dict({"/pipeline": xr.Dataset({"closed": ("rep", [1.0])})})
    pipeline_section(tree, {"pipeline": block}, display=shown.append)
    assert len(shown) == 1 and "already complete" in shown[0].data  # no table, no fan


def test_no_hires_no_hires_bar():
    import pandas as pd

    from spm_models.workflow.world_step import bridge_summary

    bridge = pd.DataFrame([{"step": s, "revenue": 1.0} for s in ("base", "attrition", "hires", "total")])
    world = xr.Dataset(coords={"rep": ["a", "b"], "is_hire": ("rep", [False, False])})
    steps = [r["step"] for r in bridge_summary(SimpleNamespace(bridge=bridge, world=world))]
    assert steps == ["base", "attrition", "total"]
    world = world.assign_coords(is_hire=("rep", [False, True]))
    assert "hires" in [r["step"] for r in bridge_summary(SimpleNamespace(bridge=bridge, world=world))]


def test_payout_chart_has_no_legend_entry_without_target_incentives():
    from spm_models.plots.report import payout_distribution

    cube = _cube()
    labels = [t.get_text() for t in payout_distribution(cube).axes[0].get_legend().get_texts()]
    assert "target incentive" not in labels
    cube["target_incentive"] = ("rep", np.full(4, np.nan))
    labels = [t.get_text() for t in payout_distribution(cube).axes[0].get_legend().get_texts()]
    assert "target incentive" not in labels
    cube["target_incentive"] = ("rep", np.full(4, 5e4))
    labels = [t.get_text() for t in payout_distribution(cube).axes[0].get_legend().get_texts()]
    assert "target incentive" in labels


def test_data_warnings_open_the_executive_summary():
    """A doubled export doubles every figure: the report says so before the figures."""
    from spm_models.reporting import sections

    s = _summary(n_reps_with_quota=5)
    clean = sections.executive_summary(s).data
    assert "Check the data" not in clean
    warned = sections.executive_summary({**s, "data_warnings": ["bookings.csv: 1160 row(s) repeat an earlier row"]}).data
    # the banner comes first, then the unchanged summary
    assert warned.endswith(clean) and "1160 row(s) repeat an earlier row" in warned[: -len(clean)]
    assert "Check the data" in warned[: -len(clean)]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
