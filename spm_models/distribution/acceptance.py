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

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from spm_models import ledger as hash_ledger
from spm_models.errors import InputError
from spm_models.ledger import GENESIS, entry_hash, os_user  # noqa: F401 - re-exported

LEDGER_NAME = "plan_acceptances.jsonl"


def acceptance_ledger(scenario: Any, ledger: str | Path | None = None) -> Path:
    """The acceptance ledger beside the scenario's approvals ledger (or ``ledger`` if given)."""
    if ledger is not None:
        return Path(ledger)
    from spm_models.reporting.approvals import ledger_path

    return ledger_path(scenario).parent / LEDGER_NAME


def read_entries(path: str | Path) -> list[dict[str, Any]]:
    """Every entry of the ledger in order (a missing ledger is empty), chain not checked
    (see :func:`verify`).

    Raises :class:`InputError` naming the line when a line is not a JSON object.
    """
    return hash_ledger.read(path, what="acceptance ledger", verify=False)


def verify(entries: list[dict[str, Any]]) -> int | None:
    """1-based number of the first entry that breaks the hash chain, or None when intact."""
    return hash_ledger.first_break(entries)


def record(scenario_name: str, rep_id: str, content_hash: str, by: str,
           ledger: str | Path, now: datetime | None = None) -> dict[str, Any]:
    """Append an acceptance of ``rep_id``'s document (``content_hash``) by ``by``; return it.

    Raises :class:`InputError` for an empty name or a ledger whose chain is broken (nothing
    is appended to a tampered ledger).
    """
    if not by or not by.strip():
        raise InputError("--by: the name of the person accepting must not be empty")
    path = Path(ledger)
    bad = verify(read_entries(path))
    if bad is not None:
        raise InputError(f"{path}, line {bad}: the acceptance ledger fails its hash-chain "
                         "check (edited or removed entries); nothing recorded")
    entry = {
        "kind": "plan_acceptance", "scenario": scenario_name, "rep_id": str(rep_id),
        "content_hash": content_hash, "by": by.strip(), "os_user": os_user(),
        "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    # hash_ledger.append re-checks the chain under the file lock before writing
    return hash_ledger.append(path, entry, what="acceptance ledger")


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
