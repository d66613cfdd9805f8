"""`spm forecast pipeline` and `spm forecast pipeline-backtest` (registered by forecast/cli.py).

``pipeline`` follows the contract in ``DESIGN.md``: only information strictly before the as-of
date; writes ``DIR/quarter_forecast.csv`` and ``DIR/kpis.csv`` (plus ``DIR/notes.txt`` saying
which parts of the forecast were used). A source without ``opportunities`` or without a
usable ``opportunity_history`` falls back to the bookings model alone. The forecast itself is
:func:`spm_models.forecast.quarter_outlook.forecast_quarter`; this module only parses options
and writes files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from spm_models.errors import InputError


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    from spm_models.atomic import atomic_open

    with atomic_open(path, "w", newline="") as fh:
        df.to_csv(fh, index=False)


def register(app: typer.Typer) -> None:
    """Add the ``pipeline`` and ``pipeline-backtest`` commands to ``spm forecast``."""

    @app.command("pipeline")
    def pipeline_cmd(
        data: Annotated[str, typer.Option("--data", help="Data source: DuckDB file, SQLAlchemy URL or folder of CSV/Parquet files.")],
        as_of: Annotated[str, typer.Option("--as-of", help="As-of date YYYY-MM-DD: only what was known strictly before it is used.")],
        out: Annotated[Path, typer.Option("--out", help="Output folder (quarter_forecast.csv, kpis.csv, notes.txt).")],
        n_draws: Annotated[int, typer.Option("--n-draws", help="Predictive draws.")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    ) -> None:
        """Forecast the bookings of the calendar quarter holding AS_OF (company, region, rep)."""
        from spm_models.forecast.backtest import load_tables
        from spm_models.forecast.opportunities import to_day
        from spm_models.forecast.quarter_outlook import forecast_quarter

        try:
            pd.Timestamp(as_of)
            if len(as_of.strip()) != 10:
                raise ValueError
        except (ValueError, TypeError):
            raise InputError(f"--as-of: not a date YYYY-MM-DD: {as_of!r}") from None
        to_day(as_of)
        if n_draws < 10:
            raise InputError(f"--n-draws: must be at least 10, got {n_draws}")
        tables = load_tables(data)
        table, notes = forecast_quarter(tables, as_of, n_draws=n_draws, seed=seed)
        k = _kpis_or_note(tables, as_of, notes)
        out.mkdir(parents=True, exist_ok=True)
        _write_csv(table, out / "quarter_forecast.csv")
        _write_csv(k, out / "kpis.csv")
        from spm_models.atomic import atomic_write_text

        atomic_write_text(out / "notes.txt", "\n".join(notes) + "\n")
        c = table.iloc[0]
        typer.echo(f"{c['quarter']} company: closed {c['closed_to_date']:,.0f}, median {c['q50']:,.0f} "
                   f"(90 %: {c['q05']:,.0f}-{c['q95']:,.0f}); " + "; ".join(notes))

    @app.command("pipeline-backtest")
    def pipeline_backtest_cmd(
        data: Annotated[str, typer.Option("--data", help="Data source with opportunities and opportunity_history.")],
        out: Annotated[Path, typer.Option("--out", help="METRICS.json to write.")],
        quarters: Annotated[int, typer.Option("--quarters", help="Number of final complete quarters scored.")] = 4,
        n_draws: Annotated[int, typer.Option("--n-draws", help="Predictive draws.")] = 1000,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
        no_bookings_model: Annotated[bool, typer.Option("--no-bookings-model", help="Skip the bookings-only baseline (faster).")] = False,
    ) -> None:
        """Score the in-quarter forecast at day 1, 30, 60 of each quarter against the
        stage-weighted pipeline, run-rate and the bookings-only model."""
        from spm_models.atomic import atomic_write_text
        from spm_models.forecast.backtest import load_tables
        from spm_models.forecast.pipeline_backtest import run_pipeline_backtest

        if quarters < 1:
            raise InputError(f"--quarters: must be at least 1, got {quarters}")
        tables = load_tables(data)
        res = run_pipeline_backtest(tables, quarters, n_draws=n_draws, seed=seed,
                                    with_bookings_model=not no_bookings_model,
                                    progress=lambda m: typer.echo(m, err=True))
        atomic_write_text(out, json.dumps(_clean(res), indent=2))
        typer.echo(format_table(res))


def _kpis_or_note(tables, as_of: str, notes: list[str]) -> pd.DataFrame:
    from spm_models.kpis import KPIS, kpis_frame

    if "opportunities" not in tables:
        notes.append("kpis.csv: no opportunities table, pipeline KPIs are empty")
        return pd.DataFrame(columns=["level", "id", "period", *KPIS, "lead_months", "lead_corr"])
    return kpis_frame(tables, as_of)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    return obj


def format_table(res: dict[str, Any]) -> str:
    """The backtest's mean CRPS / APE / coverage by method, level and as-of point."""
    lines = [f"{'method':15s} {'level':8s} {'as-of':6s} {'CRPS':>12s} {'APE':>7s} {'cov80':>6s} {'cov90':>6s}"]
    for method, levels in res["methods"].items():
        for level, points in levels.items():
            for point, r in points.items():
                ape = f"{r['ape']:.3f}" if r.get("ape") is not None else "-"
                c80 = f"{r['coverage_80']:.2f}" if "coverage_80" in r else "-"
                c90 = f"{r['coverage_95']:.2f}" if "coverage_95" in r else "-"
                lines.append(f"{method:15s} {level:8s} {point:6s} {r['crps']:12,.0f} {ape:>7s} {c80:>6s} {c90:>6s}")
    lines.append("acceptance:")
    for k, c in res["acceptance"].items():
        if isinstance(c, dict):
            v = c.get("ratio", c.get("value"))
            lines.append(f"  {k:40s} {v:.3f} {c['target']:10s} {'ok' if c['ok'] else 'MISS'}"
                         f"{'' if c['gated'] else ' (not gated)'}")
        else:
            lines.append(f"  {k}: {c}")
    return "\n".join(lines)
