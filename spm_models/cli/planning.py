"""`spm plan` sub-commands: ``territory`` (rebalance), ``quotas`` (set quotas from a forecast
cube), ``hiring`` (solve the hiring plan). Mount with ``app.add_typer(plan_app, name="plan")``."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import typer

from spm_models.atomic import atomic_write_text as _atomic_write_text

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _tables(data: str) -> dict:
    if data == "demo":
        from spm_models.data.demo import make_demo

        return make_demo()
    from spm_models.data import load_source

    return load_source(data)


def _section(scenario: Path | None, name: str, inline: str | None) -> dict:
    from spm_models.errors import InputError

    if inline:
        try:
            cfg = json.loads(inline)
        except json.JSONDecodeError:
            raise InputError(f"--config: not valid JSON: {inline!r}") from None
        if not isinstance(cfg, dict):
            raise InputError("--config: must be a JSON object")
        return cfg
    if scenario:
        from spm_models.scenario import load_scenarios

        sc = load_scenarios(scenario)[0]
        if name == "quota":
            from spm_models.workflow.planning_steps import quota_section

            return quota_section(sc)  # the same section `spm report` uses
        return sc.section(name)
    from spm_models.errors import UsageError

    raise UsageError(f"--scenario / --config: give one of them (--scenario uses its '{name}' "
                     "section, --config is JSON)")


@app.command("territory")
def territory(
    data: str = typer.Option("demo", "--data", help="Data source with an `accounts` table ('demo' = demo org)."),
    out: Path = typer.Option(..., "--out", help="CSV of the new assignment (account_id, territory_id, ...)."),
    k: int | None = typer.Option(None, "--k", help="Number of territories (default: keep existing)."),
    max_moved: float = typer.Option(0.2, "--max-moved", help="Largest share of accounts that may move."),
    potential_tol: float = typer.Option(0.05, "--potential-tol"),
    workload_tol: float = typer.Option(0.10, "--workload-tol"),
    metrics: Path | None = typer.Option(None, "--metrics", help="JSON of before/after metrics."),
    map_png: Path | None = typer.Option(None, "--map", help="PNG map of the new alignment."),
) -> None:
    """Rebalance territories (HiGHS assignment model with a disruption limit)."""
    from spm_models.errors import InputError
    from spm_models.planning.territory import balance_territories

    tables = _tables(data)
    if "accounts" not in tables:
        raise InputError(f"{data}: table 'accounts' is missing")
    try:
        res = balance_territories(tables["accounts"], k=k, max_moved_share=max_moved,
                                  potential_tol=potential_tol, workload_tol=workload_tol)
    except InputError as exc:
        raise InputError([_as_flag(p, _TERRITORY_FLAGS) for p in exc.problems]) from None
    _atomic_write_text(out, res.assignment.to_csv(index=False))
    if metrics:
        _atomic_write_text(metrics, json.dumps({"before": res.before, "after": res.after}, indent=2, default=float))
    if map_png:
        from spm_models.plots.planning import plot_territory_map

        res_fig = plot_territory_map(res.assignment, res.centres)
        tmp = map_png.with_name(f".{map_png.stem}.tmp.png")
        res_fig.savefig(tmp, dpi=120)
        os.replace(tmp, map_png)
    a, b = res.after, res.before
    if a.get("balance_violation", 0.0) > 1e-6:
        typer.echo(f"warning: the balance bands are not met ({a.get('territories_outside_potential_band', '?')} "
                   f"territories outside the ±{potential_tol:.0%} potential band; largest violation "
                   f"{a['balance_violation']:.2f}): allow more moves (--max-moved) or wider bands", err=True)
    typer.echo(f"CV of potential {b.get('cv_potential', float('nan')):.1%} -> {a['cv_potential']:.1%}, "
               f"moved {a['share_moved']:.1%}, mean distance {a['mean_distance_km']:.0f} km; wrote {out}")


def _forecast_cube(path: Path):
    """The forecast cube at ``path`` (zarr folder or netCDF file) with ``bookings(rep, period,
    draw)``, months as ``YYYY-MM`` text; one :class:`InputError` line naming the file when it
    cannot be read, lacks that variable, has periods that are not months or missing draws."""
    import numpy as np
    import pandas as pd
    import xarray as xr

    from spm_models.cube import read_cube
    from spm_models.errors import InputError

    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    try:
        fc = read_cube(path) if path.is_dir() else xr.open_dataset(path).load()
    except Exception as exc:  # noqa: BLE001 -- any reader failure is the file's problem
        kind = "zarr folder" if path.is_dir() else "netCDF file"
        raise InputError(f"{path}: not a readable forecast cube ({kind}): "
                         f"{type(exc).__name__}: {(str(exc) or 'no detail').split('. ')[0]}") from None
    if "scenario" in fc.dims:
        if fc.sizes["scenario"] > 1:
            names = ", ".join(map(str, fc["scenario"].values[:5])) if "scenario" in fc.coords else ""
            raise InputError(f"{path}: holds {fc.sizes['scenario']} scenarios ({names}): quotas are "
                             "set from one forecast; write the scenario you want to its own cube")
        fc = fc.isel(scenario=0, drop=True)
    if "bookings" not in fc.data_vars:
        raise InputError(f"{path}: variable 'bookings' missing (a forecast cube has "
                         f"bookings(rep, period, draw); found: {', '.join(map(str, fc.data_vars)) or 'none'})")
    dims = set(fc["bookings"].dims)
    if not {"rep", "period", "draw"} <= dims:
        raise InputError(f"{path}: variable 'bookings' has dims {tuple(fc['bookings'].dims)}, "
                         "expected (rep, period, draw)")
    values = fc["period"].values
    try:
        months = pd.PeriodIndex(pd.to_datetime(pd.Index(values).astype(str), format="mixed"),
                                freq="M").strftime("%Y-%m")
    except (ValueError, TypeError):
        raise InputError(f"{path}: coordinate 'period': not months (YYYY-MM), e.g. {values[0]!r}") from None
    fc = fc.assign_coords(period=np.asarray(months, dtype=object).astype(str))
    bad = ~np.isfinite(fc["bookings"].transpose("rep", "period", ...).values)
    if bad.any():
        r, t = np.argwhere(bad.reshape(bad.shape[0], bad.shape[1], -1).any(axis=2))[0]
        raise InputError(f"{path}: variable 'bookings': {int(bad.sum())} missing or non-finite "
                         f"draws, first at rep {fc['rep'].values[r]!s}, period {fc['period'].values[t]!s}")
    return fc


@app.command("quotas")
def quotas(
    cube: Path = typer.Option(..., "--cube", help="Forecast cube (zarr or netCDF) with bookings(rep, period, draw)."),
    out: Path = typer.Option(..., "--out", help="Quotas CSV to write: rep_id, period, quota."),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario YAML (its `quota` section)."),
    config: str | None = typer.Option(None, "--config", help='Quota section as JSON, e.g. \'{"method":"growth","growth":0.1}\''),
    data: str | None = typer.Option(None, "--data", help="Data source (history, accounts)."),
    fairness: Path | None = typer.Option(None, "--fairness", help="JSON of the fairness figures."),
) -> None:
    """Set quotas from a forecast cube (growth, top_down or equal_probability)."""
    from spm_models.errors import InputError
    from spm_models.planning.quota import fairness_summary, set_quotas

    cfg = _section(scenario, "quota", config)
    fc = _forecast_cube(cube)
    tables = _tables(data) if data else None
    try:
        ds = set_quotas(cfg, fc, tables)
    except InputError as exc:  # name the command's options where the library names its inputs
        src = "--config" if config else f"{scenario}"
        raise InputError([p.replace("scenario section 'quota'", f"{src}, section 'quota'")
                          + (" (give --data)" if "not given" in p and not data else "")
                          for p in exc.problems]) from None
    df = ds["quota"].to_dataframe().reset_index()[["rep", "period", "quota"]].rename(columns={"rep": "rep_id"})
    # a month with quota 0 is a month the rep is not on quota (before a hire's start): no row,
    # since comp plans reject a quota period whose quota is 0 (comp_plan.md)
    df = df[df["quota"] > 0]
    without = sorted(set(map(str, ds["rep"].values)) - set(df["rep_id"].astype(str)))
    _atomic_write_text(out, df.to_csv(index=False))
    summary = fairness_summary(ds)
    summary.update({k: v for k, v in ds.attrs.items() if isinstance(v, (int, float))})
    if fairness:  # strict JSON: a figure that cannot be computed (no accounts, ...) is null
        strict = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in summary.items()}
        _atomic_write_text(fairness, json.dumps(strict, indent=2, default=float, allow_nan=False))
    if without:
        typer.echo(f"warning: {len(without)} rep(s) got no quota above 0 and have no rows "
                   f"({', '.join(without[:10])}{', ...' if len(without) > 10 else ''}): "
                   "their forecast is 0 for the plan year; credits of theirs will need a quota", err=True)
    typer.echo(f"{cfg.get('method')}: {ds.sizes['rep']} reps, P(reach quota) mean {summary['p_reach_mean']:.3f} "
               f"sd {summary['p_reach_sd']:.3f}; wrote {out}")


@app.command("hiring")
def hiring(
    target: float = typer.Option(..., "--target", help="Bookings capacity needed over the horizon."),
    probability: float = typer.Option(0.8, "--probability"),
    start: str = typer.Option(..., "--start", help="First month YYYY-MM."),
    months: int = typer.Option(12, "--months"),
    headcount: int = typer.Option(..., "--headcount", help="Fully ramped reps today."),
    productivity: float = typer.Option(..., "--productivity", help="Monthly bookings of a ramped rep (mean)."),
    productivity_cv: float = typer.Option(0.1, "--productivity-cv", help="Uncertainty of that mean."),
    attrition: float = typer.Option(0.015, "--attrition", help="Monthly attrition probability."),
    ramp_tau: float = typer.Option(3.0, "--ramp-tau"),
    lag: int = typer.Option(2, "--lag", help="Months from requisition to start."),
    schedule: str = typer.Option("constant", "--schedule", help="constant | front_loaded"),
    draws: int = typer.Option(2000, "--draws"),
    seed: int = typer.Option(0, "--seed"),
    out: Path | None = typer.Option(None, "--out", help="JSON of the solution."),
) -> None:
    """Fewest hires so that P(capacity >= target) >= probability."""
    import math

    import numpy as np

    from spm_models.errors import InputError
    from spm_models.planning.capacity import solve_hiring

    problems = [f"--{flag}: must be a finite number > 0, got {v!r}"
                for flag, v in (("target", target), ("productivity", productivity))
                if not (math.isfinite(v) and v > 0)]
    if not (math.isfinite(productivity_cv) and productivity_cv >= 0):
        problems.append(f"--productivity-cv: must be a finite number >= 0, got {productivity_cv!r}")
    if draws < 10:
        problems.append(f"--draws: must be at least 10, got {draws}")
    if problems:
        raise InputError(problems)
    prod = productivity * np.random.default_rng([seed, 3]).lognormal(
        -0.5 * np.log1p(productivity_cv**2), np.sqrt(np.log1p(productivity_cv**2)), draws)
    try:
        sol = solve_hiring(target, probability, start=start, months=months, headcount_now=headcount,
                           attrition_monthly=attrition, ramp_tau=ramp_tau, hiring_lag_months=lag,
                           productivity=prod, n_draws=draws, seed=seed, schedule=schedule)
    except InputError as exc:
        raise InputError([_as_flag(p, _HIRING_FLAGS) for p in exc.problems]) from None
    res = {"total_hires": sol.total_hires, "feasible": sol.feasible, "probability": sol.probability,
           "probability_one_fewer": (sol.probability_one_fewer  # null: no "one fewer" below 0
                                     if math.isfinite(sol.probability_one_fewer) else None),
           "hiring_plan": {str(k): int(v) for k, v in sol.hiring_plan.items()}}
    if out:
        _atomic_write_text(out, json.dumps(res, indent=2, default=float, allow_nan=False))
    typer.echo(json.dumps(res, allow_nan=False))


#: ``spm plan hiring``'s flags for the keys the capacity functions name in their errors
_HIRING_FLAGS = {"target": "--target", "probability": "--probability", "months": "--months",
                 "headcount_now": "--headcount", "attrition_monthly": "--attrition",
                 "ramp_tau": "--ramp-tau", "hiring_lag_months": "--lag", "schedule": "--schedule",
                 "n_draws": "--draws", "start": "--start", "productivity": "--productivity"}


#: ``spm plan territory``'s flags for the keys the territory functions name in their errors
_TERRITORY_FLAGS = {"k": "--k", "max_moved_share": "--max-moved", "potential_tol": "--potential-tol",
                    "workload_tol": "--workload-tol"}


def _as_flag(problem: str, flags: dict[str, str]) -> str:
    """An error line naming a scenario key, with the key replaced by the command's flag."""
    import re

    m = re.match(r"scenario section '[^']+', key '([^']+)'(.*)", problem)
    if m and m.group(1) in flags:
        return flags[m.group(1)] + m.group(2)
    return problem
