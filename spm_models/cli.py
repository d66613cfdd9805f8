"""The ``spm`` command line.

Sub-commands live beside the code they drive (``spm_models/<area>/cli.py``) and import
their heavy dependencies (PyMC, dask, papermill) inside the command bodies, so that
``spm --help`` stays fast.

Exit codes: 0 success, 1 invalid input (one line per problem on stderr, no traceback),
2 usage error.
"""

from __future__ import annotations

import sys

import typer

from spm_models.comp.cli import app as comp_app
from spm_models.data.cli import app as data_app
from spm_models.distribution.cli import adjust_app, docs_app
from spm_models.errors import InputError
from spm_models.forecast.cli import app as forecast_app
from spm_models.planning.cli import app as plan_app
from spm_models.reporting.cli import register as register_reporting

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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning :class:`InputError` into exit code 1."""
    try:
        app(args=argv, standalone_mode=True)
    except InputError as exc:
        for line in exc.problems:
            print(f"error: {line}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
