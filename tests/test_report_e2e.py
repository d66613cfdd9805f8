"""`spm report` end to end on a tiny scenario: outputs, contract, isolation, escaping, determinism."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from test_report_helpers import XSS, make_env, report_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run():
    return report_run()


def test_outputs_per_scenario_and_exit_code(run):
    assert run.returncode == 1, run.stderr  # the broken scenario makes the command fail...
    for name in ("tiny_a", "tiny_b"):  # ...but the others render
        d = run.out / name
        for f in ("report.html", "report.ipynb", "summary.json", "cube.zarr"):
            assert (d / f).exists(), f"{name}/{f} missing; stderr: {run.stderr}"
    assert (run.out / "index.html").exists()
    assert (run.out / "compare.html").exists()
    assert "Traceback" not in run.stderr


def test_summary_contract_matches_cube(run):
    from spm_models.cube import read_tree

    s = json.loads((run.out / "tiny_a" / "summary.json").read_text())
    assert s["scenario"] == "tiny_a"
    for key in ("revenue", "incentive_cost"):
        assert s[key]["p10"] <= s[key]["p50"] <= s[key]["p90"]
    assert 0 <= s["prob_company_target"] <= 1
    assert 0 <= s["share_reps_at_quota"]["p50"] <= 1
    assert set(s["provenance"]) >= {"package_version", "scenario_hash", "data_hash", "seed"}
    assert s["provenance"]["seed"] == 1
    assert "pipeline" in s and isinstance(s["pipeline"].get("notes"), list)
    assert s["pipeline"]["available"] is True  # tiny_a runs the pipeline step (tiny_b: off)
    tree = read_tree(run.out / "tiny_a" / "cube.zarr")
    assert tree.attrs["scenario_hash"] == s["provenance"]["scenario_hash"]
    assert tree.attrs["data_hash"] == s["provenance"]["data_hash"]
    assert {"forecast", "comp", "history"} <= set(tree.children)
    assert tree["history"]["bookings"].dims == ("rep", "period")
    cube = tree.spm.cube
    revenue = cube["bookings"].sum(["rep", "period"]).values
    cost = cube["payout"].sum(["rep", "period"]).values
    assert s["revenue"]["p50"] == pytest.approx(np.quantile(revenue, 0.5), abs=0.01)
    assert s["incentive_cost"]["p90"] == pytest.approx(np.quantile(cost, 0.9), abs=0.01)
    assert s["cost_of_sales"]["p50"] == pytest.approx(np.median(cost / revenue), abs=1e-6)
    assert s["prob_company_target"] == pytest.approx(float((revenue >= 15_000_000).mean()))
    annual_b = cube["bookings"].sum("period")
    annual_q = cube["quota"].sum("period")
    share = ((annual_b >= annual_q) & (annual_q > 0)).sum("rep") / int((annual_q > 0).sum())
    assert s["share_reps_at_quota"]["p50"] == pytest.approx(float(np.median(share)), abs=1e-6)
    # a tier rate of 8-12 % with a revenue basis bounds the cost of sales
    assert 0.0 < s["cost_of_sales"]["p50"] < 0.125 * 2.5


def test_html_has_no_code_and_is_self_contained(run):
    html = (run.out / "tiny_a" / "report.html").read_text()
    assert 'class="jp-InputArea' not in html and 'class="jp-Cell-inputWrapper' not in html
    assert "workflow.run(" not in html and "from spm_models" not in html
    assert "Executive summary" in html and "Leaderboard" in html and "Provenance" in html
    assert "Pipeline and quarter outlook" in html  # the section renders (pipeline or a banner)
    assert "data:image/png;base64," in html
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']https?://""", html)
    assert "Draft: not approved" in html


def test_failing_scenario_is_isolated_and_explained(run):
    index = (run.out / "index.html").read_text()
    row = index[index.index('data-scenario="broken"'):]
    row = row[: row.index("</tr>")]
    assert "FAILED" in row and "negative rate" in row
    assert 'href="tiny_a/report.html"' in index and 'href="tiny_b/report.html"' in index
    assert "FAILED  broken" in run.stderr


def test_html_escapes_data(run):
    raw = XSS
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    report_b = (run.out / "tiny_b" / "report.html").read_text()
    report_a = (run.out / "tiny_a" / "report.html").read_text()
    for page in (report_a, report_b, (run.out / "index.html").read_text(),
                 (run.out / "compare.html").read_text()):
        assert raw not in page
    assert escaped in report_a  # the rep's name in the leaderboard, as text
    assert escaped in report_b  # the scenario title
    assert escaped in (run.out / "index.html").read_text()


def test_index_shows_headline_figures(run):
    from spm_models.plots.report import money

    index = (run.out / "index.html").read_text()
    for name in ("tiny_a", "tiny_b"):
        s = json.loads((run.out / name / "summary.json").read_text())
        assert money(s["revenue"]["p50"]) in index
        assert money(s["incentive_cost"]["p50"]) in index


def test_forecast_fit_is_shared_between_scenarios(run):
    def entries(kind):
        return [p for p in (run.cache / kind).iterdir() if p.is_dir() and not p.name.startswith(".")]

    fits = entries("fits")
    assert len(fits) == 1, fits  # tiny_a and tiny_b differ in seed and quota only
    assert len(entries("forecast")) == 2
    assert all((p / "manifest.json").is_file() for p in fits + entries("forecast"))


def test_same_scenario_and_seed_give_identical_summary(run, monkeypatch):
    from spm_models import workflow

    for k, v in make_env(run.root, run.cache).items():
        monkeypatch.setenv(k, v)
    shutil.rmtree(run.cache / "forecast")  # regenerate the forecast draws from the posterior
    monkeypatch.chdir(run.root)
    res = workflow.run(run.scenarios["tiny_a"])
    again = run.root / "again"
    workflow.write_outputs(res, again / "summary.json", again / "cube.zarr")
    assert (again / "summary.json").read_text() == (run.out / "tiny_a" / "summary.json").read_text()


def test_compare_notebook_runs_on_the_reports(run, tmp_path):
    import papermill as pm
    from test_report_helpers import REPO

    out = tmp_path / "compare.ipynb"
    pm.execute_notebook(str(REPO / "notebooks" / "compare.ipynb"), str(out),
                        parameters={"report_dir": str(run.out)}, kernel_name="python3",
                        progress_bar=False, cwd=str(run.root))
    text = out.read_text()
    assert "tiny_a" in text and "tiny_b" in text and "image/png" in text
