"""`spm comp` sub-commands: ``calc`` (actual payouts) and ``simulate`` (plan simulation)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _distinct_paths(out: Path, **inputs: Path | None) -> None:
    """``--out`` must not be one of the input files (it would be replaced)."""
    from spm_models.errors import InputError

    for opt, p in inputs.items():
        if p is not None and p.exists() and out.exists() and out.resolve() == p.resolve():
            raise InputError(f"{out}: --out is the same file as --{opt}; write the result "
                             "to another file")


def _count(n: int, noun: str) -> str:
    """``1 rep``, ``2 reps``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _echo_warnings(caught: list) -> None:
    """Print crediting warnings (``warning: ...`` lines on stderr)."""
    from spm_models.comp.crediting import CreditingWarning

    for w in caught:
        if issubclass(w.category, CreditingWarning):
            typer.echo(f"warning: {w.message}", err=True)


@app.command("calc")
def calc(
    plan: Path = typer.Option(..., "--plan", help="Comp plan YAML (docs/comp.md)."),
    quotas: Path = typer.Option(..., "--quotas", help="CSV: rep_id, period, quota [, measure]."),
    out: Path = typer.Option(..., "--out", help="Payout CSV to write."),
    credits: Path | None = typer.Option(
        None, "--credits", help="CSV: rep_id, period, amount [, measure] (or --bookings)."),
    bookings: Path | None = typer.Option(
        None, "--bookings", help="CSV: booking_id, rep_id, date, amount, ...: credited first "
        "by the plan's credit rules (instead of --credits)."),
    splits: Path | None = typer.Option(None, "--splits", help="CSV: booking_id, rep_id, share "
                                       "(with --bookings)."),
    reps: Path | None = typer.Option(None, "--reps", help="CSV: rep_id [, target_incentive] "
                                     "[, manager_id]."),
) -> None:
    """Actual payouts for each rep and payout period of the plan year."""
    import warnings

    from spm_models.comp.calc import calc_files

    # usage errors (exit 2, with the usage line), as for a missing option
    if (credits is None) == (bookings is None):
        raise typer.BadParameter("give exactly one of them", param_hint="'--credits' / '--bookings'")
    if splits is not None and bookings is None:
        raise typer.BadParameter("needs --bookings", param_hint="'--splits'")
    _distinct_paths(out, plan=plan, quotas=quotas, credits=credits, bookings=bookings,
                    splits=splits, reps=reps)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = calc_files(plan, credits, quotas, reps, out, bookings=bookings, splits=splits)
    _echo_warnings(caught)
    typer.echo(f"wrote {_count(len(df), 'payout row')} for {_count(df['rep_id'].nunique(), 'rep')} "
               f"to {out}")


@app.command("credit")
def credit(
    plan: Path = typer.Option(..., "--plan", help="Comp plan YAML (its measures' credit rules)."),
    bookings: Path = typer.Option(..., "--bookings", help="CSV: booking_id, rep_id, date, "
                                  "amount, plus any columns the credit rules use."),
    out: Path = typer.Option(..., "--out", help="Credits CSV to write (rep_id, period, amount, "
                             "measure)."),
    splits: Path | None = typer.Option(None, "--splits", help="CSV: booking_id, rep_id, share."),
    reps: Path | None = typer.Option(None, "--reps", help="CSV: rep_id [, manager_id] (needed "
                                     "by rollup)."),
) -> None:
    """Credits by rep, month and measure from bookings (splits and roll-up applied)."""
    import warnings

    from spm_models.comp.calc import credit_files

    _distinct_paths(out, plan=plan, bookings=bookings, splits=splits, reps=reps)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = credit_files(plan, bookings, splits, reps, out)
    _echo_warnings(caught)
    typer.echo(f"wrote {_count(len(df), 'credit row')} for {_count(df['rep_id'].nunique(), 'rep')} "
               f"to {out}")


@app.command("simulate")
def simulate(
    plan: list[Path] = typer.Option(..., "--plan", help="Plan YAML; repeat to compare plans."),
    quotas: Path = typer.Option(..., "--quotas", help="CSV: rep_id, period, quota [, measure]."),
    out: Path = typer.Option(..., "--out", help="Metrics JSON to write."),
    bookings: Path | None = typer.Option(
        None, "--bookings", help="Bookings cube (zarr) with a `bookings` variable (rep, period, draw). "
        "Without it, bookings are drawn around quota (--draws, --cv, --seed)."),
    reps: Path | None = typer.Option(None, "--reps", help="CSV: rep_id, target_incentive."),
    draws: int = typer.Option(1000, "--draws", min=1),
    cv: float = typer.Option(0.35, "--cv", min=0.0, help="Spread of synthetic monthly bookings."),
    seed: int = typer.Option(0, "--seed"),
    budget: float | None = typer.Option(None, "--budget", help="Incentive budget for P(cost > budget)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="dask.distributed scheduler address tcp://HOST:PORT "
        "(default: $SPM_DASK_SCHEDULER; a LocalCluster when the cube does not fit in memory)."),
) -> None:
    """Monte Carlo simulation of one or more plans: cost, cost of sales, pay for performance."""
    from spm_models.comp.simulate import simulate_files

    simulate_files(plan, quotas, out, bookings=bookings, reps=reps, draws=draws, cv=cv,
                   seed=seed, budget=budget, scheduler=scheduler)
    typer.echo(f"wrote {out}")


@app.command("statement")
def statement(
    payouts: Path = typer.Option(..., "--payouts", help="Payout CSV written by spm comp calc."),
    plan: Path = typer.Option(..., "--plan", help="The comp plan YAML the payouts were computed with."),
    credits: Path | None = typer.Option(None, "--credits", help="Credits CSV given to spm comp calc."),
    quotas: Path | None = typer.Option(None, "--quotas", help="Quotas CSV given to spm comp calc "
                                       "(with it: earnings by measure and tier, checked against the engine)."),
    reps: Path | None = typer.Option(None, "--reps", help="Reps CSV given to spm comp calc."),
    out: Path = typer.Option(..., "--out", help="Folder for the HTML statements."),
) -> None:
    """One HTML payout statement per rep and payout period (spm_models.distribution.statements)."""
    from spm_models.distribution.statements import write_statements

    files = write_statements(payouts, plan, out, credits=credits, quotas=quotas, reps=reps)
    typer.echo(f"wrote {_count(len(files) - 1, 'statement')} and index.html to {out}")
