"""Plan acceptance: reps' sign-offs of their plan documents, in the approvals store.

Each acceptance is one JSON line in ``plan_acceptances.jsonl``, in the same folder as the
approvals ledger (:func:`spm_models.reporting.approvals.ledger_path`: ``$SPM_APPROVALS``'s
folder, else the scenario file's folder). The rules are those of approvals: append-only
under an exclusive file lock; the name given (``--by``) is recorded with the operating-system
user who ran the command (``os_user``); every entry carries ``prev``, the previous entry's
``entry_hash`` (64 zeros for the first), and ``entry_hash``, the SHA-256 of its other fields
(the approvals ledger's format), so an edited, removed or reordered line is detected
(:func:`verify`).

An acceptance is recorded against the *content hash* of the rep's document (the canonical
form of everything the document states, see ``plan_docs.content_hash``): the index shows a
rep as ``accepted`` while the latest acceptance matches the document's current hash,
``changed`` when the document changed since, and ``not accepted`` otherwise.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spm_models.errors import InputError

LEDGER_NAME = "plan_acceptances.jsonl"
GENESIS = "0" * 64


def acceptance_ledger(scenario: Any, ledger: str | Path | None = None) -> Path:
    """The acceptance ledger beside the scenario's approvals ledger (or ``ledger`` if given)."""
    if ledger is not None:
        return Path(ledger)
    from spm_models.reporting.approvals import ledger_path

    return ledger_path(scenario).parent / LEDGER_NAME


def os_user() -> str:
    """The operating-system user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an entry's fields other than ``entry_hash`` (canonical JSON: sorted keys,
    no spaces) — the approvals ledger's rule, so one verifier reads both ledgers."""
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_entries(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of the ledger in order (a missing ledger is empty).

    Raises :class:`InputError` naming the line when a line is not JSON.
    """
    path = Path(path)
    if not path.exists():
        return []
    out = []
    with open(path) as fh:
        for i, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    raise InputError(f"{path}, line {i}: not a JSON entry") from None
    return out


def verify(entries: list[dict[str, Any]]) -> int | None:
    """1-based number of the first entry that breaks the hash chain, or None when intact."""
    prev = GENESIS
    for i, e in enumerate(entries, start=1):
        if e.get("prev") != prev or e.get("entry_hash") != entry_hash(e):
            return i
        prev = e["entry_hash"]
    return None


def record(scenario_name: str, rep_id: str, content_hash: str, by: str,
           ledger: str | Path, now: datetime | None = None) -> dict[str, Any]:
    """Append an acceptance of ``rep_id``'s document (``content_hash``) by ``by``; return it.

    Raises :class:`InputError` for an empty name or a ledger whose chain is broken (nothing
    is appended to a tampered ledger).
    """
    if not by or not by.strip():
        raise InputError("--by: the name of the person accepting must not be empty")
    path = Path(ledger)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            entries = [json.loads(line) for line in fh if line.strip()]
            bad = verify(entries)
            if bad is not None:
                raise InputError(f"{path}, line {bad}: the acceptance ledger fails its hash-chain "
                                 "check (edited or removed entries); nothing recorded")
            entry = {
                "kind": "plan_acceptance", "scenario": scenario_name, "rep_id": str(rep_id),
                "content_hash": content_hash, "by": by.strip(), "os_user": os_user(),
                "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
                "prev": entries[-1]["entry_hash"] if entries else GENESIS,
            }
            entry["entry_hash"] = entry_hash(entry)
            fh.seek(0, os.SEEK_END)
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return entry


@dataclass(frozen=True)
class AcceptanceState:
    """A rep's acceptance as the index shows it."""

    state: str  # "accepted" | "changed" | "not accepted"
    by: str | None = None
    os_user: str | None = None
    at: str | None = None

    @property
    def label(self) -> str:
        when = (self.at or "")[:10]
        if self.state == "accepted":
            return f"accepted by {self.by} on {when}"
        if self.state == "changed":
            return f"changed since acceptance by {self.by} on {when}"
        return "not accepted"


def states(entries: list[dict[str, Any]], scenario_name: str,
           current: dict[str, str]) -> dict[str, AcceptanceState]:
    """``rep_id → AcceptanceState`` for the reps of ``current`` (rep → current content hash)."""
    last: dict[str, dict[str, Any]] = {}
    matching: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.get("kind") != "plan_acceptance" or e.get("scenario") != scenario_name:
            continue
        rep = str(e.get("rep_id"))
        last[rep] = e
        if current.get(rep) == e.get("content_hash"):
            matching[rep] = e
    out = {}
    for rep in current:
        e = matching.get(rep)
        if e is not None:
            out[rep] = AcceptanceState("accepted", e.get("by"), e.get("os_user"), e.get("at"))
        elif rep in last:
            e = last[rep]
            out[rep] = AcceptanceState("changed", e.get("by"), e.get("os_user"), e.get("at"))
        else:
            out[rep] = AcceptanceState("not accepted")
    return out
