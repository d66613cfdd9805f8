"""Schedules: cron due-ness, remembered runs, and the `spm schedule run-due` command."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from test_report_helpers import BROKEN_PLAN, PLAN, SPM, scenario

MONDAY_6 = "0 6 * * 1"


def test_last_and_next_fire_known_answers():
    from spm_models.reporting.schedule import last_fire, next_fire

    thu = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    assert last_fire(MONDAY_6, thu) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert next_fire(MONDAY_6, thu) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    exact = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert last_fire(MONDAY_6, exact) == exact


@dataclass
class FakeRun:
    name: str
    ok: bool = True
    error: str | None = None


def _files(tmp_path: Path) -> tuple[Path, Path]:
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    data = tmp_path / "org.duckdb"
    weekly = scenario(tmp_path / "weekly.yaml", "weekly", data, plans / "ae.yaml",
                      schedule=MONDAY_6)
    scenario(tmp_path / "never.yaml", "never", data, plans / "ae.yaml")  # no schedule
    return tmp_path, weekly


def test_run_due_remembers_runs(tmp_path):
    from spm_models.reporting.schedule import read_state, run_due

    folder, _ = _files(tmp_path)
    state = tmp_path / "state.json"
    calls: list[list[str]] = []

    def runner(files, out):
        calls.append(sorted(Path(f).name for f in files))
        return [FakeRun("weekly")]

    t1 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # never ran: due once
    assert [r.name for r in run_due([folder], tmp_path / "out", state, t1, runner)] == ["weekly"]
    assert calls == [["weekly.yaml"]]
    rec = read_state(state)["runs"]["weekly"]
    assert rec["at"] == "2026-11-26T14:00:00+00:00" and rec["ok"] is True
    # same week, later: nothing due, runner not called
    assert run_due([folder], tmp_path / "out", state, datetime(2026, 11, 29, 23, 0, tzinfo=UTC),
                   runner) == []
    assert len(calls) == 1
    # after next Monday 06:00: due again
    t3 = datetime(2026, 11, 30, 6, 5, tzinfo=UTC)
    assert [r.name for r in run_due([folder], tmp_path / "out", state, t3, runner)] == ["weekly"]
    assert read_state(state)["runs"]["weekly"]["at"] == "2026-11-30T06:05:00+00:00"
    assert "never" not in read_state(state)["runs"]


def test_cli_run_due_records_failures(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "broken.yaml").write_text(yaml.safe_dump(BROKEN_PLAN, sort_keys=False))
    path = scenario(tmp_path / "b.yaml", "b", tmp_path / "org.duckdb", plans / "broken.yaml",
                    schedule="0 * * * *")
    (tmp_path / "org.duckdb").touch()  # the source exists (checked at load); the plan is broken
    state = tmp_path / "state.json"
    cmd = [*SPM, "schedule", "run-due", str(path), "--out", str(tmp_path / "out"),
           "--state", str(state), "--now", "2026-11-26T14:30:00+00:00"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    rec = json.loads(state.read_text())["runs"]["b"]
    assert rec["ok"] is False and "negative rate" in rec["error"]
    assert (tmp_path / "out" / "index.html").exists()
    # remembered: the same hour is not due again
    proc = subprocess.run(cmd[:-1] + ["2026-11-26T14:59:00+00:00"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "nothing due" in proc.stdout
