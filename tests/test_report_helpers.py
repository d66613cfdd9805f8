"""Shared set-up for the report tests: a tiny demo org, plans, scenarios and one report run.

The run is computed once per test session (module-level cache) and reused by
``test_report_e2e.py`` and ``test_browser.py``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SPM = [sys.executable, "-m", "spm_models.cli"]
XSS = "<script>alert(1)</script>"

PLAN = {
    "name": "Test AE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 60000,
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"to": 1.0, "rate": 0.08}, {"to": 1.5, "rate": 0.12}, {"rate": 0.05}],
                  "cap": {"attainment": 2.5}}],
}
BROKEN_PLAN = {
    "name": "Broken", "plan_year_start": "2027-01",
    "measures": [{"name": "bookings", "tiers": [{"to": 1.0, "rate": -0.1}, {"rate": 0.2}]}],
}
FAST = {"method": "fast", "n_steps": 1500, "fit_draws": 100}


def write_tiny_org(path: Path, n_reps: int = 12, seed: int = 3) -> Path:
    """A small demo organisation whose first AE is named like an XSS payload."""
    from spm_models.data import write_source
    from spm_models.data.demo import make_demo

    tables = make_demo(n_reps=n_reps, years=2, seed=seed)
    reps = tables["reps"]
    booked = set(tables["bookings"]["rep_id"].astype(str))
    first = reps.index[reps["rep_id"].astype(str).isin(booked)][0]
    if "name" not in reps:
        reps["name"] = reps["rep_id"].astype(str)
    reps.loc[first, "name"] = XSS
    write_source(tables, path)
    return path


def scenario(path: Path, name: str, data: Path, plan: Path, seed: int = 1, **extra) -> Path:
    spec = {"name": name, "data": str(data), "seed": seed, "draws": 200,
            "horizon": {"start": "2027-01", "months": 12}, "target": 15_000_000,
            "budget": 1_000_000, "forecast": dict(FAST), "quota": {"method": "growth", "growth": 0.1},
            "plans": {"AE": str(plan)},
            # the win model's fit is the pipeline tests' subject (test_pipeline_workflow.py);
            # elsewhere the step is off (the summary and report then say so)
            "pipeline": {"enabled": False}}
    spec.update(extra)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@dataclass
class ReportRun:
    root: Path
    out: Path
    cache: Path
    scenarios: dict[str, Path]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def env(self) -> dict[str, str]:
        return make_env(self.root, self.cache)


def make_env(root: Path, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(SPM_CACHE_DIR=str(cache), SPM_APPROVALS=str(root / "approvals.jsonl"),
               SPM_DEMO_DATA=str(root / "demo.duckdb"), TQDM_DISABLE="1")
    return env


_RUN: dict[str, ReportRun] = {}


def private_tmp(prefix: str) -> Path:
    """A temporary folder outside pytest's rotating basetemp (other sessions on this machine
    prune old ``pytest-of-USER/pytest-N`` folders while a slow test may still use them)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def report_run(root: Path | None = None) -> ReportRun:
    """Run ``spm report`` once on two tiny scenarios and a broken one (cached per session)."""
    if "run" in _RUN:
        return _RUN["run"]
    root = root or private_tmp("spm-report-test-")
    root.mkdir(parents=True, exist_ok=True)
    data = write_tiny_org(root / "tiny.duckdb")
    plans = root / "plans"
    plans.mkdir(exist_ok=True)
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    (plans / "broken.yaml").write_text(yaml.safe_dump(BROKEN_PLAN, sort_keys=False))
    sc = {
        "tiny_a": scenario(root / "tiny_a.yaml", "tiny_a", data, plans / "ae.yaml", seed=1,
                           title="Tiny A",  # the pipeline step on, with a light win-model fit
                           pipeline={"draws": 60, "tune": 60, "chains": 1}),
        "tiny_b": scenario(root / "tiny_b.yaml", "tiny_b", data, plans / "ae.yaml", seed=2,
                           title=f"Tiny B {XSS}", quota={"method": "growth", "growth": 0.25}),
        "broken": scenario(root / "broken.yaml", "broken", data, plans / "broken.yaml"),
    }
    out = root / "reports"
    cache = root / "cache"
    t0 = time.perf_counter()
    proc = subprocess.run([*SPM, "report", *map(str, sc.values()), "--out", str(out), "--quiet"],
                          cwd=root, env=make_env(root, cache), capture_output=True, text=True,
                          timeout=900)
    _RUN["run"] = ReportRun(root, out, cache, sc, proc.returncode, proc.stdout, proc.stderr,
                            time.perf_counter() - t0)
    return _RUN["run"]
