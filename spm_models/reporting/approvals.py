"""Approvals: an append-only JSON-lines ledger of sign-offs on scenarios.

An approval is recorded against the *approval hash* of a scenario: the hash of its resolved
spec and plan files (:meth:`Scenario.scenario_hash`) together with the content hash of its
data (``hash_frames`` of the loaded tables — the same ``data_hash`` reports carry in their
provenance). Reports then show one of three states:

``approved``  the latest approval of the scenario matches its current hashes;
``changed``   it was approved, but the scenario, a plan or the data changed since;
``draft``     it was never approved.

The ledger (default ``approvals.jsonl`` next to the scenario file, or ``$SPM_APPROVALS``) is
only ever appended to: one JSON object per line, written under an exclusive file lock.

Each entry records the OS user who ran ``spm approve`` (``os_user``) and is chained to the
one before: ``prev`` is the previous entry's ``entry_hash`` and ``entry_hash`` is the SHA-256
of the entry's other fields (canonical JSON). A line edited by hand, deleted or inserted
breaks the chain; the ledger is then *unverified*: reports show
``Approval not verified: LEDGER, line N …`` instead of "Approved by …". A line that is not
valid JSON (e.g. truncated by a full disk) is reported the same way, naming the ledger and
the line; nothing in that ledger counts as an approval until it is repaired.
A fourth state joins the three above:

``unverified``  the ledger is damaged or was edited; the banner names the ledger and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spm_models import ledger as hash_ledger
from spm_models.errors import InputError
from spm_models.ledger import GENESIS, entry_hash  # noqa: F401 - re-exported
from spm_models.provenance import hash_obj
from spm_models.scenario import Scenario

LEDGER_NAME = "approvals.jsonl"


def ledger_path(scenario: Scenario | None = None, ledger: str | Path | None = None) -> Path:
    """The ledger: ``ledger`` if given, else ``$SPM_APPROVALS``, else beside the scenario file."""
    if ledger is not None:
        return Path(ledger)
    if os.environ.get("SPM_APPROVALS"):
        return Path(os.environ["SPM_APPROVALS"])
    if scenario is not None and scenario.path is not None:
        return Path(scenario.path).resolve().parent / LEDGER_NAME
    return Path(LEDGER_NAME)


def approval_hash(scenario_hash: str, data_hash: str) -> str:
    """The hash an approval is recorded against."""
    return hash_obj({"scenario": scenario_hash, "data": data_hash})


def current_data_hash(scenario: Scenario) -> str:
    """Content hash of the scenario's data (loads it; same as the reports' ``data_hash``)."""
    from spm_models import workflow

    return workflow.data_hash_of(workflow.load_tables(workflow.resolve_data(scenario)))


@dataclass(frozen=True)
class ApprovalStatus:
    """What a report's approval banner shows."""

    state: str  # "approved" | "changed" | "draft" | "unverified"
    by: str | None = None
    at: str | None = None
    note: str | None = None
    problem: str | None = None

    @property
    def label(self) -> str:
        """One line for the banner, e.g. ``approved by Ana on 2026-11-26``."""
        if self.state == "approved":
            return f"Approved by {self.by} on {(self.at or '')[:10]}"
        if self.state == "changed":
            return (f"Changed since approval (last approved by {self.by} on {(self.at or '')[:10]}"
                    "; scenario, plans or data differ)")
        if self.state == "unverified":
            return f"Approval not verified: {self.problem}"
        return "Draft: not approved"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "by": self.by, "at": self.at, "note": self.note,
                "label": self.label, "problem": self.problem}


def read_ledger(path: str | Path, verify: bool = True) -> list[dict[str, Any]]:
    """All ledger entries in order (a missing ledger is empty).

    Raises :class:`InputError` naming the ledger and line when a line is not a JSON object,
    or (``verify``) when an entry does not match the hash chain (edited, inserted or
    deleted lines). The chain rules are :mod:`spm_models.ledger`'s."""
    return hash_ledger.read(path, what="approvals ledger", verify=verify)


def approve(scenario: Scenario, by: str, note: str | None = None,
            ledger: str | Path | None = None, data_hash: str | None = None,
            now: datetime | None = None) -> dict[str, Any]:
    """Append an approval of ``scenario`` by ``by`` to the ledger; return the entry."""
    if not by or not by.strip():
        raise InputError("--by: the approver's name must not be empty")
    data_hash = data_hash if data_hash is not None else current_data_hash(scenario)
    s_hash = scenario.scenario_hash()
    entry = {
        "scenario": scenario.name,
        "scenario_file": str(scenario.path) if scenario.path else None,
        "scenario_hash": s_hash,
        "plans": {role: Path(p).name for role, p in scenario.plans.items()},
        "data_hash": data_hash,
        "approval_hash": approval_hash(s_hash, data_hash),
        "by": by.strip(),
        "os_user": hash_ledger.os_user(),
        "note": note,
        "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    # hash_ledger.append refuses to extend a damaged or edited ledger (one line naming it)
    return hash_ledger.append(ledger_path(scenario, ledger), entry, what="approvals ledger")


def status(scenario: Scenario, data_hash: str | None = None,
           ledger: str | Path | None = None) -> ApprovalStatus:
    """Approval state of ``scenario`` given its current data hash; a damaged or edited
    ledger gives the ``unverified`` state with the problem (ledger and line)."""
    try:
        all_entries = read_ledger(ledger_path(scenario, ledger))
    except InputError as exc:
        return ApprovalStatus("unverified", problem=exc.problems[0])
    entries = [e for e in all_entries if e.get("scenario") == scenario.name]
    if not entries:
        return ApprovalStatus("draft")
    data_hash = data_hash if data_hash is not None else current_data_hash(scenario)
    want = approval_hash(scenario.scenario_hash(), data_hash)
    last = entries[-1]
    matching = [e for e in entries if e.get("approval_hash") == want]
    if matching:
        e = matching[-1]
        return ApprovalStatus("approved", e.get("by"), e.get("at"), e.get("note"))
    return ApprovalStatus("changed", last.get("by"), last.get("at"), last.get("note"))
