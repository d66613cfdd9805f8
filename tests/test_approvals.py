"""Approvals ledger: draft → approved → changed since approval → approved again."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime

import pytest
import yaml
from test_report_helpers import PLAN, SPM, XSS, scenario, write_tiny_org


@pytest.fixture
def setup(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    data = tmp_path / "org.duckdb"
    data.write_bytes(b"placeholder")  # data hashes are passed explicitly below
    path = scenario(tmp_path / "s.yaml", "s", data, plans / "ae.yaml")
    return tmp_path, path, plans / "ae.yaml"


def _load(path):
    from spm_models.scenario import load_scenario

    return load_scenario(path)


def test_ledger_states(setup):
    from spm_models.reporting import approvals

    root, path, plan = setup
    ledger = root / "ledger.jsonl"
    sc = _load(path)
    assert approvals.status(sc, "d1", ledger).state == "draft"
    assert approvals.status(sc, "d1", ledger).label == "Draft: not approved"

    t = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    approvals.approve(sc, "Ana CRO", note="ok for FY27", ledger=ledger, data_hash="d1", now=t)
    st = approvals.status(sc, "d1", ledger)
    assert (st.state, st.by, st.note) == ("approved", "Ana CRO", "ok for FY27")
    assert st.label == "Approved by Ana CRO on 2026-11-20"

    # the data changed
    assert approvals.status(sc, "d2", ledger).state == "changed"
    # a plan changed (same scenario file, different plan bytes)
    plan.write_text(plan.read_text().replace("0.08", "0.09"))
    st = approvals.status(_load(path), "d1", ledger)
    assert st.state == "changed" and "Changed since approval" in st.label and "Ana CRO" in st.label
    # the scenario changed
    plan.write_text(plan.read_text().replace("0.09", "0.08"))
    assert approvals.status(_load(path), "d1", ledger).state == "approved"
    spec = yaml.safe_load(path.read_text())
    spec["draws"] = 300
    path.write_text(yaml.safe_dump(spec))
    assert approvals.status(_load(path), "d1", ledger).state == "changed"
    # re-approval of the new state; the ledger only grows
    before = ledger.read_text()
    approvals.approve(_load(path), "Ben CFO", ledger=ledger, data_hash="d1")
    after = ledger.read_text()
    assert after.startswith(before) and len(after.splitlines()) == 2
    st = approvals.status(_load(path), "d1", ledger)
    assert (st.state, st.by) == ("approved", "Ben CFO")
    # the schedule is not part of what is approved
    spec["schedule"] = "0 6 * * 1"
    path.write_text(yaml.safe_dump(spec))
    assert approvals.status(_load(path), "d1", ledger).state == "approved"


def test_other_scenarios_stay_draft(setup):
    from spm_models.reporting import approvals

    root, path, plan = setup
    ledger = root / "ledger.jsonl"
    approvals.approve(_load(path), "Ana", ledger=ledger, data_hash="d1")
    other = scenario(root / "o.yaml", "other", root / "org.duckdb", plan)
    assert approvals.status(_load(other), "d1", ledger).state == "draft"


def test_banner_escapes_names_and_notes(setup):
    from spm_models.reporting import approvals, sections

    root, path, _ = setup
    ledger = root / "ledger.jsonl"
    approvals.approve(_load(path), XSS, note=XSS, ledger=ledger, data_hash="d1")
    st = approvals.status(_load(path), "d1", ledger)
    summary = {"scenario": "s", "title": XSS, "horizon": {"start": "2027-01", "months": 12},
               "n_reps": 3, "n_draws": 10}
    html = sections.header(summary, st).data
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_cli_approve_appends_and_rejects_empty_name(tmp_path):
    data = write_tiny_org(tmp_path / "org.duckdb", n_reps=6)
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    path = scenario(tmp_path / "s.yaml", "s", data, plans / "ae.yaml")
    ledger = tmp_path / "ledger.jsonl"
    for who in ("Ana", "Ben"):
        proc = subprocess.run([*SPM, "approve", str(path), "--by", who, "--note", "fine",
                               "--ledger", str(ledger)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    entries = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert [e["by"] for e in entries] == ["Ana", "Ben"]
    assert entries[0]["approval_hash"] == entries[1]["approval_hash"]
    proc = subprocess.run([*SPM, "approval-status", str(path), "--ledger", str(ledger)],
                          capture_output=True, text=True)
    assert "Approved by Ben" in proc.stdout
    proc = subprocess.run([*SPM, "approve", str(path), "--by", " ", "--ledger", str(ledger)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "--by" in proc.stderr
    assert len(ledger.read_text().splitlines()) == 2
