"""Scheduled reports: a scenario's ``schedule`` (cron expression) and a remembered state.

``spm schedule run-due`` (for cron or a systemd timer) renders every scenario whose latest
scheduled time has passed since it last ran, then records the run in a JSON state file
(default ``.spm_schedule.json``, or ``$SPM_SCHEDULE_STATE``). ``spm schedule serve`` repeats
that in a foreground loop, sleeping until the next scheduled time.

A scenario is *due* at ``now`` when the most recent cron fire time ``≤ now`` is later than
its last recorded run (a scenario that never ran is due once).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from spm_models.atomic import atomic_write_text
from spm_models.errors import InputError

DEFAULT_STATE = ".spm_schedule.json"


def state_path(path: str | Path | None = None) -> Path:
    """The state file: ``path``, ``$SPM_SCHEDULE_STATE`` or ``./.spm_schedule.json``."""
    return Path(path or os.environ.get("SPM_SCHEDULE_STATE", DEFAULT_STATE))


def read_state(path: str | Path) -> dict[str, Any]:
    """The remembered runs: ``{"runs": {name: {"at": iso, "ok": bool, ...}}}``."""
    p = Path(path)
    if not p.exists():
        return {"runs": {}}
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError:
        raise InputError(f"{p}: schedule state file is not valid JSON") from None
    data.setdefault("runs", {})
    return data


def write_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write the state atomically."""
    atomic_write_text(path, json.dumps(state, indent=2, sort_keys=True))


@dataclass(frozen=True)
class Scheduled:
    """A scheduled scenario file."""

    name: str
    path: Path
    cron: str


def scheduled(paths: Sequence[str | Path]) -> list[Scheduled]:
    """Scenario files (or folders of ``*.yaml``) that carry a ``schedule``."""
    from spm_models.scenario import load_scenarios

    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    out = []
    for f in files:
        for sc in load_scenarios(f):
            cron = sc.spec.get("schedule")
            if cron:
                out.append(Scheduled(sc.name, f, str(cron)))
    return out


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def last_fire(cron: str, now: datetime) -> datetime:
    """The most recent time ``≤ now`` at which ``cron`` fires (UTC)."""
    from datetime import timedelta

    now = _aware(now)
    # get_prev is strictly before its start; start just after `now` so `now` itself counts
    return _aware(croniter(cron, now + timedelta(microseconds=1)).get_prev(datetime))


def next_fire(cron: str, now: datetime) -> datetime:
    """The next time ``> now`` at which ``cron`` fires."""
    return _aware(croniter(cron, _aware(now)).get_next(datetime))


def is_due(item: Scheduled, state: dict[str, Any], now: datetime) -> bool:
    """Whether ``item`` should run at ``now`` given the remembered runs."""
    rec = state["runs"].get(item.name)
    if rec is None:
        return True
    last_run = _aware(datetime.fromisoformat(rec["at"]))
    return last_fire(item.cron, now) > last_run


def run_due(paths: Sequence[str | Path], out_dir: str | Path, state_file: str | Path | None = None,
            now: datetime | None = None,
            runner: Callable[[list[Path], Path], list[Any]] | None = None) -> list[Any]:
    """Render every due scenario into ``out_dir`` and remember the runs; return the outcomes."""
    now = _aware(now or datetime.now(UTC))
    spath = state_path(state_file)
    state = read_state(spath)
    due = [s for s in scheduled(paths) if is_due(s, state, now)]
    if not due:
        return []
    if runner is None:
        from spm_models.reporting.runner import run_reports

        def runner(files: list[Path], out: Path) -> list[Any]:
            return run_reports(files, out, show_progress=False)

    files = list(dict.fromkeys(s.path for s in due))
    wanted = {s.name for s in due}
    runs = [r for r in runner(files, Path(out_dir)) if r.name in wanted]
    state = read_state(spath)
    for r in runs:
        state["runs"][r.name] = {"at": now.isoformat(timespec="seconds"), "ok": bool(r.ok),
                                 "error": r.error, "out": str(Path(out_dir) / r.name)}
    write_state(spath, state)
    return runs


def serve(paths: Sequence[str | Path], out_dir: str | Path, state_file: str | Path | None = None,
          poll_seconds: float = 60.0, max_iterations: int | None = None,
          log: Callable[[str], None] = print) -> None:
    """Foreground loop: run what is due, sleep until the next fire time (at most ``poll_seconds``)."""
    i = 0
    while max_iterations is None or i < max_iterations:
        i += 1
        now = datetime.now(UTC)
        for r in run_due(paths, out_dir, state_file, now):
            log(f"{now.isoformat(timespec='seconds')} {r.name}: {'ok' if r.ok else 'FAILED ' + str(r.error)}")
        items = scheduled(paths)
        if max_iterations is not None and i >= max_iterations:
            break
        wait = poll_seconds
        if items:
            soonest = min(next_fire(s.cron, now) for s in items)
            wait = max(1.0, min(poll_seconds, (soonest - datetime.now(UTC)).total_seconds()))
        time.sleep(wait)
