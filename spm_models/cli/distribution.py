"""``spm plan-docs`` (write documents; ``accept``) and ``spm adjust`` (propose, approve, reject, list)."""

from __future__ import annotations

from pathlib import Path

import click
import typer
from typer.core import TyperGroup


class _DefaultWrite(TyperGroup):
    """``spm plan-docs SCENARIO --out DIR`` runs the ``write`` command; ``accept`` is explicit."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["write", *args]
        return super().parse_args(ctx, args)


docs_app = typer.Typer(cls=_DefaultWrite, no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False,
                       help="Plan documents: `spm plan-docs SCENARIO.yaml --out DIR` writes one per quota-holding "
                       "rep of the reps table (planned hires get none) and index.html; `spm plan-docs accept SCENARIO.yaml --rep REP --by NAME` "
                       "records an acceptance.")
adjust_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                         help="Managers' adjustments to forecasts, quotas and potential, under review.")


@docs_app.command("write")
def write(
    scenario: Path = typer.Argument(..., help="Scenario YAML."),
    out: Path = typer.Option(..., "--out", help="Folder for <rep>.html and index.html."),
) -> None:
    """Write a plan document per quota-holding rep of the reps table and index.html (the
    default command); planned hires of the scenario's hiring plan get none."""
    from spm_models.distribution.plan_docs import plan_docs

    docs, left_out = plan_docs(scenario, out)
    typer.echo(f"wrote {_count(len(docs), 'plan document')} and index.html to {out}")
    if left_out:
        typer.echo(f"left out {_count(len(left_out), 'planned hire')} of the scenario's hiring "
                   "plan: made-up reps of the scenario run, not in the reps table (no person to "
                   "give a document to)")


def _count(n: int, noun: str) -> str:
    """``1 plan document``, ``2 plan documents``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


@docs_app.command("accept")
def accept(
    scenario: Path = typer.Argument(..., help="Scenario YAML."),
    rep: str = typer.Option(..., "--rep", help="The rep accepting their plan document."),
    by: str = typer.Option(..., "--by", help="Name of the person accepting (recorded with the OS user)."),
    docs: Path | None = typer.Option(None, "--docs", help="Folder written by spm plan-docs: accept "
                                     "the document there (default: rebuild it from the scenario)."),
) -> None:
    """Record the rep's acceptance of their current plan document."""
    from spm_models.distribution.plan_docs import accept as do_accept

    entry = do_accept(scenario, rep, by, docs=docs)
    typer.echo(f"recorded: {entry['rep_id']} accepted by {entry['by']} (document "
               f"{entry['content_hash'][:16]})")


def _store(scenario: Path, store: Path | None) -> Path:
    from spm_models.distribution.adjustments import store_path

    return store_path(scenario, store)


def _scenario_name(scenario: Path) -> str:
    from spm_models.scenario import load_scenario

    return load_scenario(scenario).name


def _check_what(value: str) -> str:
    """``--what`` outside its choices: a usage error (exit 2), before the scenario is read."""
    from spm_models.distribution.adjustments import WHATS

    if value not in WHATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(WHATS)}")
    return value


_STORE = typer.Option(None, "--store", help="Adjustments folder (default $SPM_ADJUSTMENTS, "
                      "else adjustments/ beside the scenario).")


@adjust_app.command("propose")
def propose(
    scenario: Path = typer.Argument(..., help="Scenario YAML."),
    rep: str | None = typer.Option(None, "--rep", help="The rep the change is about."),
    territory: str | None = typer.Option(None, "--territory", help="The territory the change is about."),
    what: str = typer.Option(..., "--what", help="forecast | quota | potential",
                             callback=_check_what),
    size: str = typer.Option(..., "--size", help="Expected relative change, e.g. -20% or -0.2."),
    sd: str = typer.Option("0", "--sd", help="Uncertainty of the change (sd), e.g. 5% "
                           "(forecast and potential; a quota change has none)."),
    reason: str = typer.Option(..., "--reason"),
    by: str = typer.Option(..., "--by", help="Proposer's name."),
    from_period: str | None = typer.Option(None, "--from", help="First month affected, YYYY-MM "
                                           "(a month of the scenario's horizon)."),
    confirm_large: bool = typer.Option(False, "--confirm-large", help="Accept a size or sd "
                                       "above +100 % (refused otherwise: usually a missing %)."),
    store: Path | None = _STORE,
) -> None:
    """Propose an adjustment (state: proposed). The rep or territory must be in the scenario's
    data and --from in its horizon."""
    from spm_models.distribution.adjustments import propose as do_propose
    from spm_models.distribution.world import scenario_targets
    from spm_models.errors import UsageError

    if (rep is None) == (territory is None):
        raise UsageError("--rep / --territory: give exactly one of them")
    known = scenario_targets(scenario)
    adj = do_propose(_store(scenario, store), _scenario_name(scenario),
                     target="rep" if rep is not None else "territory",
                     target_id=rep if rep is not None else territory, what=what, size=size,
                     sd=sd, reason=reason, by=by, from_period=from_period,
                     known_ids=known.reps if rep is not None else known.territories,
                     months=known.months, allow_large=confirm_large)
    typer.echo(f"{adj.id} proposed")


def _review(decision: str, scenario: Path, adj_id: str, by: str, comment: str | None,
            store: Path | None) -> None:
    from spm_models.distribution.adjustments import review

    adj = review(_store(scenario, store), adj_id, decision, by, comment,
                 scenario=_scenario_name(scenario))
    typer.echo(f"{adj.id} {adj.status} by {adj.reviewed_by}")


@adjust_app.command("approve")
def approve(scenario: Path = typer.Argument(...), adj_id: str = typer.Argument(..., metavar="ID"),
            by: str = typer.Option(..., "--by", help="Reviewer's name (not the proposer)."),
            comment: str | None = typer.Option(None, "--comment"), store: Path | None = _STORE) -> None:
    """Approve a proposed adjustment: it enters the scenario world."""
    _review("approved", scenario, adj_id, by, comment, store)


@adjust_app.command("reject")
def reject(scenario: Path = typer.Argument(...), adj_id: str = typer.Argument(..., metavar="ID"),
           by: str = typer.Option(..., "--by", help="Reviewer's name (not the proposer)."),
           comment: str = typer.Option(..., "--comment", help="Why it is rejected."),
           store: Path | None = _STORE) -> None:
    """Reject a proposed adjustment (with a comment)."""
    _review("rejected", scenario, adj_id, by, comment, store)


def _check_status(value: str | None) -> str | None:
    from spm_models.distribution.adjustments import STATES

    if value is not None and value not in STATES:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(STATES)}")
    return value


@adjust_app.command("list")
def list_(scenario: Path = typer.Argument(...),
          status: str | None = typer.Option(None, "--status", help="proposed | approved | rejected",
                                            callback=_check_status),
          store: Path | None = _STORE) -> None:
    """List the scenario's adjustments."""
    from spm_models.distribution.adjustments import load_adjustments

    adjs = load_adjustments(_store(scenario, store), _scenario_name(scenario), status)
    for a in adjs:
        # a quota change has no sd (refused by propose; one stored by an older version is not used)
        sd = f" ±{a.sd * 100:g}%" if a.sd and a.what != "quota" else ""
        review = f" by {a.reviewed_by}" + (f": {a.comment}" if a.comment else "") if a.reviewed_by else ""
        typer.echo(f"{a.id}  {a.status:<8}  {a.target} {a.target_id}  {a.what} {a.size * 100:+g}%{sd}"
                   f"{' from ' + a.from_period if a.from_period else ''}  — {a.reason} "
                   f"(proposed by {a.proposed_by}){review}")
    if not adjs:
        typer.echo("no adjustments")
