"""Scheduled reports: a scenario's ``schedule`` (cron expression) and a remembered state.

``spm schedule run-due`` (for cron or a systemd timer) renders every scenario whose latest
scheduled time has passed since it last ran, then records the run in a JSON state file
(default ``.spm_schedule.json``, or ``$SPM_SCHEDULE_STATE``). ``spm schedule serve`` repeats
that in a foreground loop, sleeping until the next scheduled time.

A scenario is *due* at ``now`` when the most recent cron fire time ``≤ now`` is later than
its last recorded run (a scenario that never ran is due once).

Robustness: a cron expression must be valid *and fire* (``0 0 31 2 *`` never does) -- checked
when the scenario is loaded (:func:`check_cron`). A scenario file that fails to load is one
failed item with one line; the other scenarios still run. A state file that is not the
documented shape is one line naming the file. ``run-due`` holds the output folder's lock
(:class:`~spm_models.reporting.publish.OutputLock`) from deciding what is due until the state
is written, so two overlapping ``run-due`` never render the same scenario twice.
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
from spm_models.errors import InputError, short_repr

DEFAULT_STATE = ".spm_schedule.json"


def state_path(path: str | Path | None = None) -> Path:
    """The state file: ``path``, ``$SPM_SCHEDULE_STATE`` or ``./.spm_schedule.json``."""
    return Path(path or os.environ.get("SPM_SCHEDULE_STATE", DEFAULT_STATE))


def read_state(path: str | Path) -> dict[str, Any]:
    """The remembered runs: ``{"runs": {name: {"at": iso, "ok": bool, ...}}}``.

    Raises :class:`InputError` (one line naming the file and key) for invalid JSON or
    another shape."""
    p = Path(path)
    if not p.exists():
        return {"runs": {}}
    try:
        data = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{p}: schedule state file is not valid JSON") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read schedule state file ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise InputError(f"{p}: schedule state file must hold a JSON object with 'runs'")
    data.setdefault("runs", {})
    if not isinstance(data["runs"], dict):
        raise InputError(f"{p}, key 'runs': must be an object of scenario name -> last run")
    for name, rec in data["runs"].items():
        where = f"{p}, key 'runs.{short_repr(name, 40)}'"
        if not isinstance(rec, dict) or not isinstance(rec.get("at"), str):
            raise InputError(f"{where}: must be an object with 'at' (ISO time)")
        try:
            datetime.fromisoformat(rec["at"])
        except ValueError:
            raise InputError(f"{where}.at: not an ISO time: {short_repr(rec['at'], 40)}") from None
    return data


def check_cron(expr: Any, file: str | Path, key: str = "schedule") -> str:
    """Return ``expr`` when it is a valid cron expression that fires; else raise
    :class:`InputError` naming ``file`` and ``key``."""
    from datetime import timedelta

    if not isinstance(expr, str) or not croniter.is_valid(expr):
        raise InputError(f"{file}, key '{key}': not a valid cron expression: {short_repr(expr, 60)}")
    try:  # a schedule must fire within a few years (0 0 31 2 * never does)
        start = datetime(2000, 1, 1, tzinfo=UTC)
        first = croniter(expr, start, max_years_between_matches=8).get_next(datetime)
        if _aware(first) - start > timedelta(days=8 * 366):
            raise ValueError
    except Exception:  # noqa: BLE001 - croniter raises several kinds for dates that never come
        raise InputError(f"{file}, key '{key}': cron expression {short_repr(expr, 60)} never fires "
                         "(no such date)") from None
    return expr


def write_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write the state atomically."""
    atomic_write_text(path, json.dumps(state, indent=2, sort_keys=True))


@dataclass(frozen=True)
class Scheduled:
    """A scheduled scenario file."""

    name: str
    path: Path
    cron: str


def scheduled(paths: Sequence[str | Path],
              problems: list[tuple[Path, str]] | None = None) -> list[Scheduled]:
    """Scenario files (or folders of ``*.yaml``) that carry a ``schedule``.

    A file that fails to load (bad YAML, a cron that never fires, ...) raises
    :class:`InputError` -- unless ``problems`` is given: then ``(file, line)`` is appended to
    it and the other files are still read."""
    from spm_models.scenario import load_scenarios

    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    out = []
    for f in files:
        try:
            found = []
            for sc in load_scenarios(f):
                cron = sc.spec.get("schedule")
                if cron:
                    found.append(Scheduled(sc.name, f, check_cron(cron, f)))
            out.extend(found)
        except InputError as exc:
            if problems is None:
                raise
            problems.append((f, "; ".join(exc.problems)))
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
    """Render every due scenario into ``out_dir`` and remember the runs; return the outcomes
    (a scenario file that cannot be loaded is a failed outcome; the others still run)."""
    from spm_models.reporting.publish import OutputLock

    with OutputLock(out_dir):
        return _run_due(paths, out_dir, state_file, now, runner)


def _run_due(paths: Sequence[str | Path], out_dir: str | Path, state_file: str | Path | None,
             now: datetime | None, runner: Callable[[list[Path], Path], list[Any]] | None
             ) -> list[Any]:
    from spm_models.reporting.runner import ScenarioRun

    now = _aware(now or datetime.now(UTC))
    spath = state_path(state_file)
    state = read_state(spath)
    problems: list[tuple[Path, str]] = []
    items = scheduled(paths, problems)
    broken = [ScenarioRun(f.stem, str(f), f.stem, error=line) for f, line in problems]
    due = [s for s in items if is_due(s, state, now)]
    if not due:
        return broken
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
    return broken + runs


def serve(paths: Sequence[str | Path], out_dir: str | Path, state_file: str | Path | None = None,
          poll_seconds: float = 60.0, max_iterations: int | None = None,
          log: Callable[[str], None] = print) -> None:
    """Foreground loop: run what is due, sleep until the next fire time (at most ``poll_seconds``)."""
    i = 0
    while max_iterations is None or i < max_iterations:
        i += 1
        now = datetime.now(UTC)
        try:
            for r in run_due(paths, out_dir, state_file, now):
                log(f"{now.isoformat(timespec='seconds')} {r.name}: "
                    f"{'ok' if r.ok else 'FAILED ' + str(r.error)}")
        except InputError as exc:  # e.g. a damaged state file: say so, keep serving
            for line in exc.problems:
                log(f"{now.isoformat(timespec='seconds')} error: {line}")
        items = scheduled(paths, [])
        if max_iterations is not None and i >= max_iterations:
            break
        wait = poll_seconds
        if items:
            soonest = min(next_fire(s.cron, now) for s in items)
            wait = max(1.0, min(poll_seconds, (soonest - datetime.now(UTC)).total_seconds()))
        time.sleep(wait)
