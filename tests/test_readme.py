"""The README's one-screen API block runs as written (paths pointed at a tiny demo)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _block() -> str:
    text = (REPO / "README.md").read_text()
    section = text.split("## Python API in one screen", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_readme_block_uses_the_one_screen_api():
    code = _block()
    assert "from spm_models import (BookingsForecast, Plan, load_scenario, load_source, " \
           "plan_metrics,\n                        run_scenario, simulate_plan)" in code
    assert len(code.strip().splitlines()) <= 14


@pytest.mark.slow
def test_readme_block_runs(tmp_path, monkeypatch, capsys):
    from test_report_helpers import FAST, PLAN, scenario, write_tiny_org

    data = write_tiny_org(tmp_path / "tiny.duckdb", n_reps=12, seed=4)
    plan = tmp_path / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    sc = scenario(tmp_path / "s.yaml", "s", data, plan, seed=1)
    monkeypatch.setenv("SPM_CACHE_DIR", str(tmp_path / "cache"))
    code = _block()
    for old, new in (('"data/demo.duckdb"', repr(str(data))),
                     ('"scenarios/plans/ae_standard.yaml"', repr(str(plan))),
                     ('"scenarios/base.yaml"', repr(str(sc))),
                     ('method="fast")', f'method="fast", n_steps={FAST["n_steps"]}, draws=100)'),
                     ("n_draws=500", "n_draws=100")):
        assert old in code, old
        code = code.replace(old, new)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    cost, summary = namespace["payouts"], namespace["summary"]
    assert "p50" in out and set(cost["payout"].dims) >= {"rep", "period", "draw"}
    assert summary["scenario"] == "s"
    assert {"forecast", "comp", "history"} <= set(namespace["tree"].children)
