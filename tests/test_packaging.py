"""The installable product: a wheel installed non-editable into a fresh venv runs
``spm init`` + ``spm report`` on a tiny scenario (notebooks and templates are package data).

The fresh venv has no system site packages; pip resolves the dependencies as configured on
this machine (its local wheel mirror / cache), so the test runs offline where those are set up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], cwd: Path | None = None, timeout: int = 1800, env=None) -> str:
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_template_files_cover_a_workbench(tmp_path):
    from spm_models.scenario import load_scenarios
    from spm_models.workflow.init import init_workbench

    written = {p.relative_to(tmp_path / "wb").as_posix() for p in init_workbench(tmp_path / "wb")}
    assert {"scenarios/base.yaml", "scenarios/plans/ae.yaml", "scenarios/plans/se.yaml",
            "notebooks/scenario_report.ipynb", "notebooks/workbench.ipynb",
            "notebooks/compare.ipynb", "Makefile", ".gitignore"} <= written
    (sc,) = load_scenarios(tmp_path / "wb" / "scenarios" / "base.yaml")  # valid as shipped
    assert set(sc.plans) == {"AE", "SE"}


@pytest.mark.slow
def test_wheel_installs_and_runs_init_and_report(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(dist), str(REPO)])
    (wheel,) = dist.glob("spm_workbench-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TQDM_DISABLE="1", SPM_REPORT_WORKERS="1")
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], env=env)
    # installed, not editable: the package lives in the venv
    where = _run([str(py), "-c", "import spm_models; print(spm_models.__file__)"], cwd=tmp_path,
                 env=env)
    assert where.strip().startswith(str(venv)), where
    wb = tmp_path / "wb"
    _run([str(venv / "bin" / "spm"), "init", str(wb)], cwd=tmp_path, env=env)
    # a tiny organisation and a quick forecast so the report runs in a minute
    make_demo = ("from spm_models.workflow.paths import write_demo; "
                 "write_demo('data/demo.duckdb', n_reps=12, years=2, seed=3)")
    _run([str(py), "-c", make_demo], cwd=wb, env=env)
    base = wb / "scenarios" / "base.yaml"
    spec = yaml.safe_load(base.read_text())
    spec.update(draws=100, target=15_000_000,
                forecast={"method": "fast", "n_steps": 800, "fit_draws": 100},
                pipeline={"enabled": False})  # the win model is tested in-tree
    base.write_text(yaml.safe_dump(spec, sort_keys=False))
    _run([str(venv / "bin" / "spm"), "report", "scenarios/base.yaml", "--out", "reports"],
         cwd=wb, env=env)
    summary = json.loads((wb / "reports" / "base" / "summary.json").read_text())
    assert summary["scenario"] == "base" and summary["n_reps"] > 0
    assert summary["revenue"]["p10"] <= summary["revenue"]["p50"] <= summary["revenue"]["p90"]
    html = (wb / "reports" / "base" / "report.html").read_text()
    assert "Executive summary" in html
    assert (wb / ".spm_cache" / "forecast").is_dir()  # the workbench's own cache
