"""`spm forecast` sub-commands."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from spm_models.errors import InputError, UsageError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _model_config(config: str | None) -> dict | None:
    if not config:
        return None
    path = Path(config)
    if path.exists() and path.suffix.lower() in (".yaml", ".yml"):
        from spm_models.yaml_input import read_yaml  # the one YAML reader (bounded, no echo)

        data = read_yaml(path, "model config")
    elif path.exists():
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{config}: cannot parse model config (not valid JSON: "
                             f"line {getattr(exc, 'lineno', '?')})") from None
    else:
        try:
            data = json.loads(config)
        except json.JSONDecodeError as exc:
            raise InputError(f"--config: not a file and not valid JSON: {config!r}") from exc
    if data is not None and not isinstance(data, dict):
        raise InputError(f"--config: model config must be a mapping, got {type(data).__name__}")
    return data


@app.command("backtest")
def backtest(
    data: Annotated[str, typer.Option("--data", help="Data source: DuckDB file, SQLAlchemy URL or folder of CSV/Parquet files.")],
    holdout: Annotated[int, typer.Option("--holdout", help="Number of final months held out and scored.")],
    out: Annotated[Path, typer.Option("--out", help="METRICS.json to write.")],
    predictions: Annotated[Path | None, typer.Option("--predictions", help="PRED.csv to write (model quantiles per rep-month and __total__).")] = None,
    scores: Annotated[Path | None, typer.Option("--scores", help="Optional CSV of per-rep-month scores of every method (diagnostics).")] = None,
    fast: Annotated[bool, typer.Option("--fast", help="Fast approximate fit (also when SPM_BACKTEST_FAST=1).")] = False,
    draws: Annotated[int, typer.Option("--draws", help="Posterior draws per chain (NUTS) or total (fast).")] = 1000,
    tune: Annotated[int | None, typer.Option("--tune", help="NUTS tuning steps per chain (default 500: spm_models.forecast.fit.DEFAULT_TUNE).")] = None,
    chains: Annotated[int, typer.Option("--chains", help="NUTS chains.")] = 4,
    n_draws: Annotated[int, typer.Option("--n-draws", help="Predictive draws per rep-month (model and baselines).")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    config: Annotated[str | None, typer.Option("--config", help="Model config: YAML/JSON file or inline JSON.")] = None,
    headcount: Annotated[str, typer.Option("--headcount", help="Model company total: steady (reps at the origin, no look-ahead), attrition (random departures + planned hires), hindsight (actual departures and hires; diagnosis).")] = "steady",
    standardise: Annotated[str, typer.Option("--standardise", help="Divide each rep's amounts by its mean deal size before fitting: auto (when reps' deal sizes differ widely), on, off.")] = "auto",
    last_month: Annotated[str | None, typer.Option("--last-month", help="Ignore bookings after this month (YYYY-MM), e.g. an incomplete current month.")] = None,
    ets_model: Annotated[str, typer.Option("--ets-model", help="statsforecast ETS spec of the ets baseline (ZZZ = automatic, ZZA = forced additive season).")] = "ZZZ",
    date_format: Annotated[str | None, typer.Option("--date-format", help="DD/MM/YYYY or MM/DD/YYYY (case and separators are ignored): the order of dates such as 03/04/2026 when a column cannot decide it (overrides source.yaml).")] = None,
) -> None:
    """Fit on all but the last HOLDOUT months, score them against seasonal-naive and ETS."""
    import pandas as pd

    from spm_models.forecast.backtest import (
        HEADCOUNT_MODES,
        STANDARDISE_MODES,
        bayesian_forecaster,
        load_tables,
        run_backtest,
        write_outputs,
    )
    from spm_models.forecast.fit import DEFAULT_TUNE

    tune = DEFAULT_TUNE if tune is None else tune
    # values outside an option's fixed choices are usage errors (exit 2, README)
    if headcount not in HEADCOUNT_MODES:
        raise UsageError(f"--headcount: must be one of {', '.join(HEADCOUNT_MODES)}, got {headcount!r}")
    if standardise not in STANDARDISE_MODES:
        raise UsageError(f"--standardise: must be one of {', '.join(STANDARDISE_MODES)}, got {standardise!r}")
    problems = []
    if holdout < 1:
        problems.append(f"--holdout: must be at least 1 month, got {holdout}")
    for name, v in (("--draws", draws), ("--chains", chains), ("--n-draws", n_draws)):
        if v < 1:
            problems.append(f"{name}: must be at least 1, got {v}")
    if len(ets_model) != 3 or ets_model[0] not in "AMZ" or ets_model[1] not in "ANMZ" or ets_model[2] not in "ANMZ":
        problems.append(f"--ets-model: expected a 3-letter ETS spec like ZZZ or ZZA, got {ets_model!r}")
    if tune < 0:
        problems.append(f"--tune: must be >= 0, got {tune}")
    if problems:
        raise InputError(problems)
    seen: dict[Path, str] = {}
    for flag, p in (("--out", out), ("--predictions", predictions), ("--scores", scores)):
        if p is not None and p.resolve() in seen:
            raise InputError(f"{flag}: {p} is also given as {seen[p.resolve()]}; give each output its own file")
        if p is not None:
            seen[p.resolve()] = flag
    fast = fast or os.environ.get("SPM_BACKTEST_FAST", "").strip() not in ("", "0", "false")
    model_config = _model_config(config)
    tables = load_tables(data, date_format)
    # output folders are made (or refused) before the fit, not after minutes of sampling
    for flag, path in (("--out", out), ("--predictions", predictions), ("--scores", scores)):
        if path is None:
            continue
        if path.is_dir():
            problems.append(f"{flag}: {path} is a folder; give the file to write")
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problems.append(f"{flag}: cannot create the folder {path.parent} ({exc.strerror or exc})")
    if problems:
        raise InputError(problems)
    method = "fast" if fast else "nuts"
    diagnostics: dict = {}
    forecaster = bayesian_forecaster(
        method=method, draws=draws, tune=tune, chains=chains, config=model_config, diagnostics=diagnostics,
        headcount=headcount, standardise=standardise,
    )
    settings = {"method": method, "draws": draws, "tune": tune, "chains": chains, "config": model_config,
                "standardise": standardise}
    result = run_backtest(
        tables, holdout, forecaster=forecaster, n_draws=n_draws, seed=seed, source=data,
        settings=settings, ets_model=ets_model, headcount=headcount, last_month=last_month,
    )
    result.metrics["metadata"]["diagnostics"] = diagnostics
    # ``method`` is what was asked for; the rep-month models are fitted by MAP-Laplace whatever
    # was asked, so the provenance also says which method produced the forecast
    result.metrics["metadata"]["settings"]["method_used"] = diagnostics.get("method", method)
    result.metrics["metadata"]["model_selection"] = diagnostics.get("model_selection")
    write_outputs(result, out, predictions)
    if scores is not None:
        tmp = scores.with_name(f".{scores.name}.{os.getpid()}.tmp")
        result.scores.to_csv(tmp, index=False)
        os.replace(tmp, scores)
    m = result.metrics
    meta = m["metadata"]
    late = meta.get("incomplete_last_months") or []
    if late:
        before = str(pd.Period(late[0], freq="M") - 1)
        typer.echo(f"warning: {data}: in {late[0]}..{late[-1]} most reps have no booking row (one rep's rows "
                   f"run past the others'?): their held-out months there are scored against 0; "
                   f"--last-month {before} ends the data before them", err=True)
    elif meta.get("last_month_maybe_partial"):
        typer.echo(f"warning: {data}: the last booking is dated {meta.get('last_booking_date')}, early in its "
                   "month: if the month is incomplete, --last-month excludes it", err=True)
    typer.echo(
        f"scored {meta['periods'][0]}..{meta['periods'][-1]} ({meta['holdout']} months, {meta['n_reps_scored']} reps,"
        f" trained on {meta['train_periods'][0]}..{meta['train_periods'][1]}); CRPS, lower is better:"
    )
    typer.echo(
        f"total CRPS  model {m['model']['total']['crps']:,.0f}  seasonal_naive "
        f"{m['seasonal_naive']['total']['crps']:,.0f}  ets {m['ets']['total']['crps']:,.0f}; "
        f"rep coverage 80% {m['model']['rep']['coverage_80']:.3f}  95% {m['model']['rep']['coverage_95']:.3f}"
    )
    from spm_models.forecast.backtest import plot_paths

    paths = plot_paths(out)
    typer.echo(f"model: {diagnostics.get('model', '')}; plots: {paths['pit']}, {paths['coverage']}")
    if (diagnostics.get("ramp") or {}).get("used"):  # hires' ramp-up found in the training months
        typer.echo(f"hires: {diagnostics['ramp']['reason']}")


# pipeline analytics: `spm forecast pipeline` and `spm forecast pipeline-backtest`
from spm_models.cli.forecast_pipeline import register as _register_pipeline

_register_pipeline(app)
