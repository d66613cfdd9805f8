"""`spm comp` sub-commands: ``calc`` (actual payouts) and ``simulate`` (plan simulation)."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command("calc")
def calc(
    plan: Path = typer.Option(..., "--plan", help="Comp plan YAML (spec/comp_plan.md)."),
    credits: Path = typer.Option(..., "--credits", help="CSV: rep_id, period, amount [, measure]."),
    quotas: Path = typer.Option(..., "--quotas", help="CSV: rep_id, period, quota [, measure]."),
    reps: Path | None = typer.Option(None, "--reps", help="CSV: rep_id, target_incentive."),
    out: Path = typer.Option(..., "--out", help="Payout CSV to write."),
) -> None:
    """Actual payouts for each rep and payout period of the plan year."""
    from spm_models.comp.calc import calc_files

    df = calc_files(plan, credits, quotas, reps, out)
    typer.echo(f"wrote {len(df)} payout rows for {df['rep_id'].nunique()} reps to {out}")


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
    typer.echo(f"wrote {len(files) - 1} statements and index.html to {out}")
