"""One scenario, one quota answer: ``spm plan quotas --scenario`` and ``spm report`` (the
workflow) read the scenario's ``quota`` section through the same function
(``spm_models.workflow.planning_steps.quota_section``) and give the same quotas (issue 16)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from typer.testing import CliRunner

from spm_models.cli.planning import app
from spm_models.scenario import load_scenario
from spm_models.workflow.planning_steps import quota_section

REPO = Path(__file__).resolve().parents[1]


def _scenario(path: Path, quota: dict, **extra) -> Path:
    spec = {"name": "q", "data": "demo", "seed": 1, "draws": 100,
            "horizon": {"start": "2027-01", "months": 12}, "quota": quota,
            "plans": {"AE": str(REPO / "scenarios/plans/ae_standard.yaml")}, **extra}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_explicit_probability_is_not_overridden_by_the_top_level_target(tmp_path):
    sc = load_scenario(_scenario(tmp_path / "a.yaml", {"method": "equal_probability",
                                                       "probability": 0.6}, target=1.9e8))
    assert quota_section(sc) == {"method": "equal_probability", "probability": 0.6}


def test_a_section_without_target_or_probability_takes_the_top_level_target(tmp_path):
    for method in ("equal_probability", "top_down"):
        sc = load_scenario(_scenario(tmp_path / f"{method}.yaml", {"method": method}, target=1.9e8))
        assert quota_section(sc)["target"] == 1.9e8
    own = load_scenario(_scenario(tmp_path / "own.yaml", {"method": "top_down", "target": 5e7},
                                  target=1.9e8))
    assert quota_section(own)["target"] == 5e7
    growth = load_scenario(_scenario(tmp_path / "g.yaml", {"method": "growth", "growth": 0.1},
                                     target=1.9e8))
    assert "target" not in quota_section(growth)


def test_plan_quotas_and_the_workflow_give_the_same_quotas(tmp_path, monkeypatch):
    """A 12-rep demo, fast forecast (ADVI on the rep-month model), equal-probability quotas at
    p = 0.6 with a top-level target that would imply another p: the CLI on the workflow's own
    forecast cube writes exactly the workflow's quotas."""
    from spm_models.cube import write_cube
    from spm_models.workflow import run
    from spm_models.workflow.paths import write_demo

    monkeypatch.setenv("SPM_CACHE_DIR", str(tmp_path / "cache"))
    data = write_demo(tmp_path / "tiny.duckdb", n_reps=12, years=2, seed=3)
    path = _scenario(tmp_path / "s.yaml", {"method": "equal_probability", "probability": 0.6},
                     target=1.0e6, data=str(data),
                     forecast={"model": "dlm", "method": "fast", "n_steps": 500, "fit_draws": 100})
    res = run(path, workbench=tmp_path)
    fc = res.tree["forecast"].to_dataset()
    cube = write_cube(fc[["bookings"]], tmp_path / "forecast.zarr")
    out = tmp_path / "quotas.csv"
    cli = CliRunner().invoke(app, ["quotas", "--cube", str(cube), "--scenario", str(path),
                                   "--data", str(data), "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    assert "P(reach quota) mean 0.600" in cli.output
    got = pd.read_csv(out).set_index(["rep_id", "period"])["quota"]
    want = res.tree["comp"]["quota"].to_series()
    want.index = want.index.set_names(["rep_id", "period"])
    want = want[want > 0]
    assert len(want) >= 12
    got = got.reindex(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9)
    # and the top-level target alone would have given other quotas
    implied = CliRunner().invoke(app, ["quotas", "--cube", str(cube), "--config",
                                       '{"method": "equal_probability", "target": 1000000}',
                                       "--data", str(data), "--out", str(tmp_path / "t.csv")])
    assert implied.exit_code == 0, implied.output
    assert "P(reach quota) mean 0.600" not in implied.output
