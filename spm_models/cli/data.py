"""`spm data` sub-commands: ``demo`` and ``validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

_COUNTED = ("reps", "bookings", "quotas", "accounts", "opportunities")


@app.command("validate")
def validate_cmd(
    source: Annotated[str, typer.Argument(help="DuckDB file, SQLAlchemy URL, or folder of "
                                               "CSV/Parquet/Excel files.")],
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="DD/MM/YYYY or MM/DD/YYYY (case and separators are ignored): the "
                              "order of dates such as 03/04/2026 "
                              "when a column cannot decide it (overrides source.yaml).")] = None,
) -> None:
    """Check SOURCE against the data contract: exit 0 when valid, else 1 with one line per
    problem (table, row, column) on stderr."""
    from rich.console import Console

    from spm_models.data.loader import load_source

    with Console(stderr=True).status(f"validating {source}"):
        # raises InputError -> exit 1 in spm_models.cli.main; warnings on stderr, once each
        tables = load_source(source, date_format)
    counts = ", ".join(f"{len(tables[n])} {n}" for n in _COUNTED if n in tables)
    typer.echo(f"valid: {counts} ({source})")


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="A .duckdb/.db file, or a folder for "
                                                    "CSV files.")],
    reps: Annotated[int, typer.Option("--reps", help="Number of seats (AE ~80 %, SE ~12 %, "
                                                     "managers ~8 %).")] = 200,
    years: Annotated[int, typer.Option("--years", help="Years of monthly history ending "
                                                       "2026-12.")] = 3,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="Folder format: csv or parquet.")] = "csv",
) -> None:
    """Write the synthetic demo organisation (with its `truth` table) to OUT."""
    from rich.console import Console

    from spm_models.data.demo import make_demo
    from spm_models.data.write import write_source

    console = Console(stderr=True)
    if not out.suffix or out.suffix.lower() in {".duckdb", ".db"}:
        # `spm data demo --out data/demo.duckdb` on a fresh clone: create `data/`.
        out.parent.mkdir(parents=True, exist_ok=True)
    with console.status("demo organisation") as status:
        def progress(msg: str) -> None:
            status.update(f"demo organisation: {msg}")

        tables = make_demo(n_reps=reps, years=years, seed=seed, progress=progress)
        status.update(f"writing {out}")
        write_source(tables, out, fmt=fmt)
    counts = ", ".join(f"{len(tables[n])} {n}" for n in _COUNTED)
    typer.echo(f"wrote {out}: {counts}")
