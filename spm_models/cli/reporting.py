"""`spm report`, `spm approve` and `spm schedule` commands."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

schedule_app = typer.Typer(no_args_is_help=True, add_completion=False,
                           pretty_exceptions_enable=False,
                           help="Scheduled reports from each scenario's `schedule` (cron).")

_DEFAULT_SCENARIOS = [Path("scenarios")]


def report(
    scenarios: list[Path] = typer.Argument(..., help="Scenario YAML files."),
    out: Path = typer.Option(..., "--out", help="Output folder (index.html, NAME/report.html, ...)."),
    workers: int = typer.Option(0, "--workers", help="Notebooks run in parallel (0: min(2, cores))."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    wait: bool = typer.Option(True, "--wait/--no-wait",
                              help="When another spm report writes OUT: wait for it (default) or fail."),
    store: Path | None = typer.Option(None, "--store", help="Adjustments folder, as for spm adjust "
                                      "--store (default $SPM_ADJUSTMENTS, else adjustments/ "
                                      "beside each scenario)."),
) -> None:
    """Render a report per scenario into OUT; exit 1 when any scenario failed, 130 when
    interrupted (Ctrl-C / SIGTERM: queued scenarios are cancelled, the index says so)."""
    from spm_models.reporting.runner import run_reports

    try:
        runs = run_reports(scenarios, out, workers=workers or None, show_progress=not quiet,
                           wait=wait, adjustments=store)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: queued scenarios cancelled; see {out / 'index.html'}", err=True)
        raise typer.Exit(130) from None
    _echo_runs(runs, out)
    typer.echo(f"index: {out / 'index.html'}")
    if any(not r.ok for r in runs):
        raise typer.Exit(1)


def failed_text(name: str, error: str | None) -> str:
    """``FAILED  NAME: first problem`` then each further problem on its own indented line."""
    first, *rest = (error or "failed").splitlines() or ["failed"]
    return "\n".join([f"FAILED  {name}: {first}"] + [f"        {ln}" for ln in rest])


def _echo_runs(runs: list, out: Path) -> None:
    for r in runs:
        if r.ok:
            typer.echo(f"ok      {r.name}  ({r.seconds:.1f} s)  {out / r.name / 'report.html'}")
            if r.approval and r.approval.get("state") == "unverified":
                typer.echo(f"warning: {r.name}: {r.approval['label']}", err=True)
        else:
            typer.echo(failed_text(r.name, r.error), err=True)


def approve(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    by: str = typer.Option(..., "--by", help="Who approves."),
    note: str = typer.Option(None, "--note", help="Optional note stored with the approval."),
    ledger: Path = typer.Option(None, "--ledger", help="Ledger file (default approvals.jsonl beside the scenario)."),
) -> None:
    """Record an approval of the scenario, its plans and its data in the append-only ledger."""
    from spm_models.reporting import approvals
    from spm_models.scenario import load_scenarios

    for sc in load_scenarios(scenario):
        entry = approvals.approve(sc, by=by, note=note, ledger=ledger)
        typer.echo(f"approved {sc.name} by {entry['by']} at {entry['at']} "
                   f"(hash {entry['approval_hash']}) -> {approvals.ledger_path(sc, ledger)}")


def approval_status(
    scenario: Path = typer.Argument(..., help="Scenario YAML file."),
    ledger: Path = typer.Option(None, "--ledger", help="Ledger file."),
) -> None:
    """Print a scenario's approval state: approved, changed since approval, or draft."""
    from spm_models.reporting import approvals
    from spm_models.scenario import load_scenarios

    for sc in load_scenarios(scenario):
        typer.echo(f"{sc.name}: {approvals.status(sc, ledger=ledger).label}")


@schedule_app.command("run-due")
def run_due_cmd(
    scenarios: list[Path] = typer.Argument(None, help="Scenario files or folders (default: scenarios/)."),
    out: Path = typer.Option(Path("reports/scheduled"), "--out", help="Output folder."),
    state: Path = typer.Option(None, "--state", help="State file (default .spm_schedule.json)."),
    now: str = typer.Option(None, "--now", help="Pretend the time is this ISO timestamp (UTC)."),
) -> None:
    """Render every scenario whose schedule is due since it last ran; remember the runs."""
    from spm_models.errors import InputError
    from spm_models.reporting.schedule import run_due

    try:
        t = datetime.fromisoformat(now) if now else None
    except ValueError:
        raise InputError(f"--now: not an ISO timestamp: {now[:40]!r}") from None
    try:
        runs = run_due(scenarios or _DEFAULT_SCENARIOS, out, state, t)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: see {out / 'index.html'}", err=True)
        raise typer.Exit(130) from None
    if not runs:
        typer.echo("nothing due")
    for r in runs:
        if r.ok:
            typer.echo(f"ok  {r.name}")
        else:
            typer.echo(failed_text(r.name, r.error), err=True)
    if any(not r.ok for r in runs):
        raise typer.Exit(1)


@schedule_app.command("serve")
def serve_cmd(
    scenarios: list[Path] = typer.Argument(None, help="Scenario files or folders (default: scenarios/)."),
    out: Path = typer.Option(Path("reports/scheduled"), "--out", help="Output folder."),
    state: Path = typer.Option(None, "--state", help="State file (default .spm_schedule.json)."),
    poll: float = typer.Option(60.0, "--poll", help="Longest sleep between checks (seconds)."),
    iterations: int = typer.Option(0, "--iterations", help="Stop after N checks (0: run forever)."),
) -> None:
    """Foreground loop: run due scenarios, sleep until the next scheduled time."""
    from spm_models.reporting.schedule import serve

    serve(scenarios or _DEFAULT_SCENARIOS, out, state, poll_seconds=poll,
          max_iterations=iterations or None, log=typer.echo)


@schedule_app.command("list")
def list_cmd(
    scenarios: list[Path] = typer.Argument(None, help="Scenario files or folders (default: scenarios/)."),
    state: Path = typer.Option(None, "--state", help="State file."),
) -> None:
    """List scheduled scenarios, their last run and next fire time."""
    from datetime import UTC

    from spm_models.reporting.schedule import next_fire, read_state, scheduled, state_path

    st = read_state(state_path(state))
    now = datetime.now(UTC)
    problems: list = []
    for s in scheduled(scenarios or _DEFAULT_SCENARIOS, problems):
        last = st["runs"].get(s.name, {}).get("at", "never")
        typer.echo(f"{s.name}  '{s.cron}'  last run {last}  next {next_fire(s.cron, now).isoformat()}")
    for _f, line in problems:
        typer.echo(f"error: {line}", err=True)
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the reporting commands to the top-level app."""
    app.command("report", help="Render scenario reports (papermill + nbconvert).")(report)
    app.command("approve", help="Approve a scenario (append-only ledger).")(approve)
    app.command("approval-status", help="Show a scenario's approval state.")(approval_status)
    app.add_typer(schedule_app, name="schedule")
