"""Output safety (issue 12 items 10, 12-15): file modes, atomic publishing, output lock,
approvals ledger hash chain, schedules, unwritable --out and offline HTML."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from test_report_helpers import PLAN, SPM, scenario

from spm_models.errors import InputError


@pytest.fixture
def umask():
    """Set a umask for the test and restore the old one."""
    saved = os.umask(0o022)
    os.umask(saved)

    def set_(mask: int) -> None:
        os.umask(mask)

    yield set_
    os.umask(saved)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# ----------------------------------------------------------------------------- item 10: modes
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask):
    from spm_models.atomic import atomic_write_text, make_temp_dir
    from spm_models.reporting.html import write_index

    umask(mask)
    f = atomic_write_text(tmp_path / "summary.json", "{}")
    assert _mode(f) == 0o666 & ~mask
    idx = write_index(tmp_path, [])
    assert _mode(idx) == 0o666 & ~mask
    d = make_temp_dir(tmp_path, ".x-")
    assert _mode(d) == 0o777 & ~mask


def test_payout_csv_follows_the_umask(tmp_path, umask):
    """The payout CSV of `spm comp calc` gets 0644 under umask 022 (0640 under 027)."""
    import pandas as pd

    from spm_models.comp.calc import write_csv_atomic

    for mask in (0o022, 0o027):
        umask(mask)
        out = write_csv_atomic(pd.DataFrame({"rep_id": ["R1"], "payout": [1.0]}),
                               tmp_path / f"payouts-{mask:o}.csv")
        assert _mode(Path(out)) == 0o666 & ~mask


# ----------------------------------------------------------------------------- item 12: publish
def _fill(folder: Path, token: str) -> None:
    for name in ("report.html", "report.ipynb", "summary.json"):
        (folder / name).write_text(token)
    (folder / "cube.zarr").mkdir()
    (folder / "cube.zarr" / "zarr.json").write_text(token)


def _tokens(folder: Path) -> set[str]:
    return {p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_publish_swaps_a_scenario_as_a_unit(tmp_path, umask):
    from spm_models.reporting import publish

    umask(0o022)
    out = tmp_path / "out"
    out.mkdir()
    for token in ("old", "new"):
        staged = publish.stage(out, "base")
        assert staged.parent == out and staged.name.startswith(publish.TMP_PREFIX)
        _fill(staged, token)
        publish.publish(out, "base", staged)
        assert _tokens(out / "base") == {token}
        assert not staged.exists()
    assert _mode(out / "base") == 0o755  # not the 0700 of a temp folder
    assert sorted(p.name for p in out.iterdir()) == ["base"]


def test_publish_fallback_and_recovery(tmp_path, monkeypatch):
    """Without renameat2 the old folder is parked; a kill between the renames is repaired."""
    from spm_models.reporting import publish

    out = tmp_path / "out"
    out.mkdir()
    (out / "base").mkdir()
    _fill(out / "base", "old")
    monkeypatch.setattr(publish, "exchange", lambda a, b: False)
    staged = publish.stage(out, "base")
    _fill(staged, "new")
    publish.publish(out, "base", staged)
    assert _tokens(out / "base") == {"new"}
    # simulate a kill after `OUT/base` was parked and before the new one moved in
    os.rename(out / "base", out / f"{publish.OLD_PREFIX}base-abc123")
    leftover = publish.stage(out, "other")
    done = publish.recover(out)
    assert "restored base" in done and not leftover.exists()
    assert _tokens(out / "base") == {"new"}
    assert sorted(p.name for p in out.iterdir()) == ["base"]


def test_publish_refuses_names_outside_the_folder(tmp_path):
    from spm_models.reporting import publish

    for bad in ("../x", "/tmp/x", "javascript:x"):
        with pytest.raises(InputError):
            publish.stage(tmp_path, bad)
    assert list(tmp_path.iterdir()) == []


def test_index_never_claims_missing_files(tmp_path):
    from types import SimpleNamespace

    from spm_models.reporting.html import write_index

    summary = {"revenue": {"p10": 1, "p50": 2, "p90": 3}, "incentive_cost": {"p10": 1, "p50": 2, "p90": 3},
               "prob_company_target": 0.5, "cost_of_sales": {"p50": 0.1},
               "share_reps_at_quota": {"p50": 0.5}}
    run = SimpleNamespace(name="base", source="b.yaml", title="B", ok=True, error=None,
                          summary=summary, approval=None, interrupted=False)
    (tmp_path / "base").mkdir()
    _fill(tmp_path / "base", "x")
    html = write_index(tmp_path, [run]).read_text()
    assert 'class="ok"' in html and 'href="base/report.html"' in html
    (tmp_path / "base" / "summary.json").unlink()
    html = write_index(tmp_path, [run]).read_text()
    assert 'class="ok"' not in html and "outputs missing on disk" in html
    queued = SimpleNamespace(name="later", source="l.yaml", title="L", ok=False,
                             error="interrupted before it ran", summary=None, approval=None,
                             interrupted=True)
    html = write_index(tmp_path, [run, queued], interrupted=True).read_text()
    assert 'id="interrupted"' in html and "INTERRUPTED" in html


# ----------------------------------------------------------------------------- item 13: lock
_HOLDER = textwrap.dedent("""
    import sys, time
    from spm_models.reporting.publish import OutputLock
    with OutputLock(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_output_lock_fails_or_waits_with_a_clear_message(tmp_path):
    from spm_models.reporting.publish import OutputLock

    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out), "3"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError) as exc, OutputLock(out, wait=False):
            pass
        assert str(out) in exc.value.problems[0] and f"pid {holder.pid}" in exc.value.problems[0]
        said: list[str] = []
        t0 = time.monotonic()
        with OutputLock(out, wait=True, say=said.append):
            waited = time.monotonic() - t0
        assert said and "waiting" in said[0] and waited > 0.5
    finally:
        holder.wait(timeout=30)
    with OutputLock(out, wait=False), OutputLock(out, wait=False):  # re-entrant in a process
        pass


def test_cli_report_no_wait_on_a_locked_folder(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(out), "20"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run([*SPM, "report", str(tmp_path / "x.yaml"), "--out", str(out),
                               "--no-wait", "--quiet"], capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "another spm report is writing" in proc.stderr


# ----------------------------------------------------------------------------- item 15: --out
def test_unwritable_out_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = subprocess.run([*SPM, "report", str(tmp_path / "x.yaml"), "--out", str(blocker / "sub"),
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(blocker / "sub") in lines[0]


def test_read_only_out_is_one_line(tmp_path):
    """A folder nobody may write: a read-only folder for a normal user; for root (CI runs as
    root, and root writes through file modes) a folder inside /proc, which no one can create."""
    if os.geteuid() == 0:
        out = Path("/proc/spm-read-only-out")
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o500)
    try:
        proc = subprocess.run([*SPM, "report", str(tmp_path / "x.yaml"), "--out", str(out), "--quiet"],
                              capture_output=True, text=True, timeout=120)
    finally:
        if out.is_relative_to(tmp_path):
            out.chmod(0o700)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and str(out) in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1


def test_report_html_has_no_remote_scripts(tmp_path):
    import nbformat

    from spm_models.reporting.html import notebook_to_html, strip_remote_scripts

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```mermaid\ngraph TD; A-->B\n```\n$x^2$"),
                nbformat.v4.new_code_cell("1")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    src = tmp_path / "r.ipynb"
    nbformat.write(nb, src)
    html = notebook_to_html(src, tmp_path / "r.html").read_text()
    import re

    for tag in re.findall(r"<script\b[^>]*>.*?</script>", html, re.DOTALL | re.IGNORECASE):
        assert "//" not in re.sub(r"//[^\n]*\n", "", tag.split(">", 1)[0]), tag[:200]
        assert not re.search(r"import[^;]*['\"]https?://", tag), tag[:200]
    assert "cdnjs" not in html and "unpkg" not in html and "jsdelivr" not in html
    assert not re.search(r"<link[^>]+href=[\"']https?://", html)
    dirty = '<script type="module">import m from "https://cdn.example/x.mjs";</script><script>var a=1</script>'
    assert strip_remote_scripts(dirty) == "<script>var a=1</script>"


# ----------------------------------------------------------------------------- item 14: approvals
@pytest.fixture
def approval_setup(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    data = tmp_path / "org.duckdb"
    data.write_bytes(b"placeholder")
    a = scenario(tmp_path / "a.yaml", "a", data, plans / "ae.yaml")
    b = scenario(tmp_path / "b.yaml", "b", data, plans / "ae.yaml")
    from spm_models.scenario import load_scenario

    return tmp_path, load_scenario(a), load_scenario(b)


def test_ledger_records_os_user_and_chain(approval_setup):
    import getpass

    from spm_models.reporting import approvals

    root, a, b = approval_setup
    ledger = root / "ledger.jsonl"
    e1 = approvals.approve(a, "Ana Lima", ledger=ledger, data_hash="d")
    e2 = approvals.approve(b, "Ben Ode", ledger=ledger, data_hash="d")
    assert e1["os_user"] == getpass.getuser()
    assert e1["prev"] == approvals.GENESIS and e2["prev"] == e1["entry_hash"]
    assert approvals.status(a, "d", ledger).state == "approved"


@pytest.mark.parametrize("edit", ["by", "delete_first", "insert", "truncate", "legacy"])
def test_damaged_or_edited_ledger_is_shown_not_approved(approval_setup, edit):
    from spm_models.reporting import approvals

    root, a, b = approval_setup
    ledger = root / "ledger.jsonl"
    approvals.approve(a, "Ana Lima", ledger=ledger, data_hash="d")
    approvals.approve(b, "Ben Ode", ledger=ledger, data_hash="d")
    lines = ledger.read_text().splitlines()
    if edit == "by":  # someone changes who approved
        lines[0] = lines[0].replace("Ana Lima", "Eve Mallory")
        bad_line = 1
    elif edit == "delete_first":
        lines = lines[1:]
        bad_line = 1
    elif edit == "insert":
        forged = dict(json.loads(lines[0]), by="Eve Mallory")
        lines.insert(1, json.dumps(forged))
        bad_line = 2
    elif edit == "truncate":
        lines[1] = lines[1][: len(lines[1]) // 2]
        bad_line = 2
    else:
        lines = [json.dumps({k: v for k, v in json.loads(ln).items() if k not in ("prev", "entry_hash")})
                 for ln in lines]
        bad_line = 1
    ledger.write_text("\n".join(lines) + "\n")
    st = approvals.status(a, "d", ledger)
    assert st.state == "unverified"
    assert "Approved by" not in st.label and "Eve" not in st.label
    assert str(ledger) in st.label and f"line {bad_line}" in st.label
    assert approvals.status(b, "d", ledger).state == "unverified"
    with pytest.raises(InputError) as exc:  # nothing is appended to a damaged ledger
        approvals.approve(a, "Ana Lima", ledger=ledger, data_hash="d")
    assert f"line {bad_line}" in exc.value.problems[0]


def test_cli_approval_status_with_truncated_ledger(approval_setup):
    root, a, _ = approval_setup
    ledger = root / "ledger.jsonl"
    ledger.write_text('{"scenario": "a", "by": "Ana"\n')
    proc = subprocess.run([*SPM, "approval-status", str(a.path), "--ledger", str(ledger)],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr
    assert "not verified" in proc.stdout and "line 1" in proc.stdout


# ----------------------------------------------------------------------------- item 14: schedules
def _sched_files(tmp_path: Path, crons: dict[str, str]) -> Path:
    plans = tmp_path / "plans"
    plans.mkdir(exist_ok=True)
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    folder = tmp_path / "sc"
    folder.mkdir()
    for name, cron in crons.items():
        scenario(folder / f"{name}.yaml", name, tmp_path / "org.duckdb", plans / "ae.yaml",
                 schedule=cron)
    return folder


@pytest.mark.parametrize("cron", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4 *"])
def test_cron_that_never_fires_is_rejected_at_load(tmp_path, cron):
    from spm_models.scenario import load_scenarios

    folder = _sched_files(tmp_path, {"feb": cron})
    with pytest.raises(InputError) as exc:
        load_scenarios(folder / "feb.yaml")
    assert "schedule" in exc.value.problems[0] and "never fires" in exc.value.problems[0]


def test_one_malformed_cron_does_not_stop_the_others(tmp_path):
    from dataclasses import dataclass

    from spm_models.reporting.schedule import run_due

    @dataclass
    class Fake:
        name: str
        ok: bool = True
        error: str | None = None

    folder = _sched_files(tmp_path, {"weekly": "0 6 * * 1", "feb": "0 0 31 2 *",
                                     "garbage": "every tuesday"})
    ran: list[str] = []

    def runner(files, out):
        ran.extend(Path(f).stem for f in files)
        return [Fake(Path(f).stem) for f in files]

    now = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    runs = run_due([folder], tmp_path / "out", tmp_path / "state.json", now, runner)
    assert ran == ["weekly"]
    by = {r.name: r for r in runs}
    assert by["weekly"].ok and not by["feb"].ok and not by["garbage"].ok
    assert "never fires" in by["feb"].error and "schedule" in by["garbage"].error
    proc = subprocess.run([*SPM, "schedule", "list", str(folder), "--state",
                           str(tmp_path / "state.json")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "weekly" in proc.stdout and "feb.yaml" in proc.stderr and "garbage.yaml" in proc.stderr


@pytest.mark.parametrize("content", ["[]", '{"runs": []}', '{"runs": {"a": 5}}',
                                     '{"runs": {"a": {"at": "yesterday"}}}', '{"runs": {"a": {}}}',
                                     "{not json", '"x"'])
def test_state_file_of_the_wrong_shape_is_one_line(tmp_path, content):
    folder = _sched_files(tmp_path, {"weekly": "0 6 * * 1"})
    state = tmp_path / "state.json"
    state.write_text(content)
    for cmd in (["schedule", "list", str(folder)],
                ["schedule", "run-due", str(folder), "--out", str(tmp_path / "out")]):
        proc = subprocess.run([*SPM, *cmd, "--state", str(state)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and str(state) in lines[0]
