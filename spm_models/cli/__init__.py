"""The ``spm`` command line.

All command-line code sits in this package: the app is assembled here, each area's
sub-commands are in ``spm_models/cli/<area>.py`` (``data``, ``comp``, ``forecast``,
``planning``, ``reporting``, ``distribution``) and import their area's heavy dependencies
(PyMC, dask, papermill) inside the command bodies, so that ``spm --help`` stays fast. The
areas never import this package. ``spm init`` (a new workbench folder) is defined here.

Exit codes: 0 success, 1 invalid input (one line per problem on stderr, no traceback),
2 usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from spm_models.cli.comp import app as comp_app
from spm_models.cli.data import app as data_app
from spm_models.cli.distribution import adjust_app, docs_app
from spm_models.cli.forecast import app as forecast_app
from spm_models.cli.planning import app as plan_app
from spm_models.cli.reporting import register as register_reporting
from spm_models.errors import InputError, UsageError

app = typer.Typer(
    name="spm",
    help="SPM Workbench: forecasts, quotas, territories, capacity and comp plans under uncertainty.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data", help="Sales data: the demo organisation and validation.")
app.add_typer(comp_app, name="comp", help="Compensation plans: payouts and simulation.")
app.add_typer(forecast_app, name="forecast", help="Bayesian revenue forecasts and backtests.")
app.add_typer(plan_app, name="plan", help="Planning: quotas, territories, hiring capacity.")
register_reporting(app)
app.add_typer(docs_app, name="plan-docs")
app.add_typer(adjust_app, name="adjust")


@app.command("init")
def init(directory: Annotated[Path, typer.Argument(help="The new workbench folder.")]) -> None:
    """Create a workbench folder: scenarios/, scenarios/plans/, notebooks/, Makefile."""
    from spm_models.workflow.init import init_workbench

    files = init_workbench(directory)
    typer.echo(f"wrote {len(files)} files to {directory}; next: cd {directory} && "
               "spm report scenarios/*.yaml --out reports  (or: make report, make lab)")


# typer (>= 0.26) vendors click and exports only BadParameter of its exceptions (typer
# discussions #1816, #1832); click's UsageError and ClickException are its bases
_UsageError: Any = next(c for c in typer.BadParameter.__mro__
                                    if c.__name__ == "UsageError")
_ClickException: Any = next(c for c in typer.BadParameter.__mro__
                                        if c.__name__ == "ClickException")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_line(exc: Exception) -> str:
    """A click usage error as one plain line: the message and where to read the usage."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "spm"
    message = _one_line(exc.format_message()).rstrip(".")  # type: ignore[attr-defined]
    return f"{message} (see {where} --help)"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; exit 0 on success, 1 with one line per problem for an
    :class:`InputError`, 2 with one plain line for a usage error (click's missing or unknown
    options and bad option values, and :class:`UsageError`). The app runs in click's
    non-standalone mode so that its errors are printed here (no framed rich box)."""
    try:
        code = app(args=argv, prog_name="spm", standalone_mode=False)
    except _UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # `spm comp`: its help, as click does
            if exc.format_message().strip():  # (typer's rich help is printed already)
                exc.show()
        else:
            print(f"error: {_usage_line(exc)}", file=sys.stderr)
        sys.exit(2)
    except _ClickException as exc:
        print(f"error: {_one_line(exc.format_message())}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(1)
    except UsageError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(2)
    except InputError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # a path the command cannot read or write: one line, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or type(exc).__name__}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
