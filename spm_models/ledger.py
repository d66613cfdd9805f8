"""Append-only, hash-chained JSON-lines ledgers (approvals, plan acceptances).

One JSON object per line. Every entry carries ``prev``, the previous entry's ``entry_hash``
(:data:`GENESIS`, 64 zeros, for the first), and ``entry_hash``, the SHA-256 of its other
fields in canonical JSON (sorted keys, no spaces). A line edited by hand, deleted, inserted
or reordered breaks the chain, which :func:`first_break` and :func:`read` detect. Appends
happen under an exclusive ``fcntl`` lock on the ledger and are ``fsync``-ed, so concurrent
writers never interleave and a crash loses at most the entry being written.

The chain is the tamper-evidence scheme of an audit log (Schneier & Kelsey, "Secure audit
logs to support computer forensics", ACM TISSEC 2(2), 1999, without the keyed MAC: the
ledger detects edits, it does not authenticate their author). The name a user gives is
recorded together with the operating-system user who ran the command (:func:`os_user`).
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from spm_models.errors import InputError

GENESIS = "0" * 64


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of an entry's fields other than ``entry_hash``, in canonical JSON."""
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def os_user() -> str:
    """The operating-system user running the command (``uid N`` when there is no login name,
    e.g. in containers)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - getpass raises KeyError/OSError without a passwd entry
        return f"uid {os.getuid()}"


def first_break(entries: list[dict[str, Any]]) -> int | None:
    """1-based number of the first entry that breaks the hash chain, or None when intact."""
    prev = GENESIS
    for i, e in enumerate(entries, start=1):
        if e.get("prev") != prev or e.get("entry_hash") != entry_hash(e):
            return i
        prev = e["entry_hash"]
    return None


def _parse(path: Path, lines: list[str], what: str) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path}, line {n}: {what} line is not valid JSON "
                             "(truncated or edited); repair or remove the line") from None
        if not isinstance(entry, dict):
            raise InputError(f"{path}, line {n}: {what} line is not a JSON object")
        out.append((n, entry))
    return out


def _check_chain(path: Path, numbered: list[tuple[int, dict[str, Any]]], what: str) -> None:
    prev = GENESIS
    for n, entry in numbered:
        if "entry_hash" not in entry:
            raise InputError(f"{path}, line {n}: {what} entry has no hash chain "
                             "(written by hand or by an old version)")
        if entry.get("prev") != prev or entry_hash(entry) != entry["entry_hash"]:
            raise InputError(f"{path}, line {n}: {what} entry does not match the ledger's "
                             "hash chain (the ledger was edited)")
        prev = entry["entry_hash"]


def read(path: str | Path, what: str = "ledger", verify: bool = True) -> list[dict[str, Any]]:
    """Every entry of the ledger at ``path``, in order (a missing ledger is empty).

    ``what`` names the ledger in messages (e.g. ``"approvals ledger"``).

    Raises :class:`InputError` naming the file and line when the file cannot be read, a line
    is not a JSON object, or (``verify``) an entry does not continue the hash chain.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror})") from None
    numbered = _parse(path, lines, what)
    if verify:
        _check_chain(path, numbered, what)
    return [e for _, e in numbered]


def append(path: str | Path, entry: dict[str, Any], what: str = "ledger") -> dict[str, Any]:
    """Chain ``entry`` to the ledger at ``path`` and append it; return the entry written.

    Under an exclusive lock: reads the ledger, refuses to extend it when its chain is broken
    (:class:`InputError` naming file and line; nothing is written), sets ``prev`` and
    ``entry_hash``, appends one line and ``fsync``-s it. Creates the folder and file as
    needed. ``entry`` is not modified.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            numbered = _parse(path, fh.readlines(), what)
            _check_chain(path, numbered, what)
            out = dict(entry)
            out["prev"] = numbered[-1][1]["entry_hash"] if numbered else GENESIS
            out["entry_hash"] = entry_hash(out)
            fh.seek(0, os.SEEK_END)
            fh.write(json.dumps(out, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return out
