"""Monte Carlo plan simulation: the payout engine over a bookings cube with ``draw``.

:func:`simulate_plan` is :func:`spm_models.comp.engine.compute_payouts` (the engine that
also computes actual payouts) applied to a cube whose ``draw`` and ``scenario``
dimensions broadcast; :func:`sweep_plans` stacks plan variants on ``scenario``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spm_models.atomic import atomic_write_text
from spm_models.comp.engine import MEASURE, PERIOD, _prepare, compute_payouts, plan_structure
from spm_models.comp.plan import Plan
from spm_models.errors import InputError, Problems


def _as_array(bookings: xr.DataArray | xr.Dataset) -> xr.DataArray:
    if isinstance(bookings, xr.Dataset):
        if "bookings" not in bookings:
            raise InputError("bookings cube: no 'bookings' variable")
        return bookings["bookings"]
    return bookings


def simulate_plan(plan: Plan | Sequence[Plan] | str | Path,
                  bookings: xr.DataArray | xr.Dataset, quotas: xr.DataArray,
                  target_incentive: xr.DataArray | float | None = None,
                  scenarios: Sequence[str] | None = None) -> xr.Dataset:
    """Payout cube of ``plan`` over simulated bookings.

    Parameters
    ----------
    plan : a plan (or path), or plans sharing one structure, compared along ``scenario``.
    bookings : credits ``(rep, period, draw[, scenario][, measure])``, numpy- or dask-backed.
    quotas : monthly quotas ``(rep, period[, measure])``.
    target_incentive : per-rep (``rep``) or scalar; NaN/None → the plan's.
    scenarios : labels of the plans along ``scenario`` when several are given.

    Returns
    -------
    The engine's Dataset (``payout``, ``earned_to_date``, ``attainment_<m>``, cost elements)
    plus ``revenue`` (plan-year bookings of the first measure per rep) and
    ``annual_attainment`` (plan-year credits ÷ plan-year quota, per measure).
    """
    if isinstance(plan, (str, Path)):
        plan = Plan.from_yaml(plan)
    bookings = _as_array(bookings)
    ds = compute_payouts(plan, bookings, quotas, target_incentive)
    ref = plan if isinstance(plan, Plan) else next(iter(plan))
    if not isinstance(plan, Plan):
        labels = list(scenarios) if scenarios is not None else [p.name for p in plan]
        ds = ds.assign_coords(scenario=labels)
    annual_b = ds["credited"]  # the year's credits, summed inside the engine's pass
    annual_q = _prepare(quotas, ref, "quotas").sum(PERIOD, skipna=False)
    ds["revenue"] = annual_b.isel({MEASURE: 0}, drop=True)
    # divided in the memory order of the engine's output (``draw`` innermost; the result
    # keeps annual_b's dims): numpy's strided broadcast loop costs several times more
    mem = sorted(annual_b.dims, key=lambda d: -abs(annual_b.data.strides[annual_b.get_axis_num(d)])) \
        if isinstance(annual_b.data, np.ndarray) else list(annual_b.dims)
    ds["annual_attainment"] = (annual_b.transpose(*mem) / annual_q.where(annual_q > 0)) \
        .transpose(*annual_b.dims, ...)
    return ds


def plan_variants(plan: Plan, key: str, values: Sequence[Any]) -> list[Plan]:
    """Validated copies of ``plan`` with ``key`` set to each of ``values``."""
    return [plan.with_value(key, v) for v in values]


def sweep_plans(plan: Plan, key: str, values: Sequence[Any],
                bookings: xr.DataArray | xr.Dataset, quotas: xr.DataArray,
                target_incentive: xr.DataArray | float | None = None) -> xr.Dataset:
    """Simulate variants of ``plan`` (``key`` set to each value) stacked on ``scenario``.

    Variants that keep the plan's structure (a rate, cap, threshold, tier boundary, bonus
    or draw amount) run in one engine call with the parameters broadcast along
    ``scenario``; structural changes (e.g. ``quota_period``) are grouped and concatenated.
    """
    variants = plan_variants(plan, key, values)
    labels = [f"{key}={v}" for v in values]
    groups: dict[Any, list[int]] = {}
    for i, p in enumerate(variants):
        groups.setdefault(plan_structure(p), []).append(i)
    parts = []
    for idx in groups.values():
        parts.append(simulate_plan([variants[i] for i in idx], bookings, quotas,
                                   target_incentive, scenarios=[labels[i] for i in idx]))
    ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="scenario", join="outer", data_vars="all")
    ds = ds.sel(scenario=labels)
    ds.attrs["sweep_key"] = key
    return ds


# ---------------------------------------------------------------------------------------
# synthetic bookings and the `spm comp simulate` command
# ---------------------------------------------------------------------------------------
def synthetic_bookings(quotas: xr.DataArray, n_draws: int, cv: float = 0.35, seed: int = 0,
                       chunks: dict[str, int] | None = None) -> xr.DataArray:
    """Lognormal monthly bookings around quota (mean = quota, coefficient of variation
    ``cv``) with a per-rep-draw performance factor; dask-backed (lazy) when ``chunks``."""
    sigma = float(np.sqrt(np.log1p(cv**2)))
    mu = -0.5 * sigma**2
    dims = tuple(quotas.dims) + ("draw",)
    shape = tuple(quotas.shape) + (n_draws,)
    if chunks:
        import dask.array as da

        rs = da.random.default_rng(seed)
        ch = tuple(chunks.get(d, s) for d, s in zip(dims, shape))
        noise = rs.lognormal(mu, sigma, size=shape, chunks=ch)
        data = noise * quotas.data[..., None]
    else:
        rng = np.random.default_rng(seed)
        data = rng.lognormal(mu, sigma, size=shape) * quotas.values[..., None]
    coords = {d: quotas[d] for d in quotas.dims}
    coords["draw"] = np.arange(n_draws)
    return xr.DataArray(data, dims=dims, coords=coords, name="bookings")


def simulate_files(plans: Sequence[Path], quotas: Path, out: Path, *, bookings: Path | None,
                   reps: Path | None, draws: int, cv: float, seed: int,
                   budget: float | None, scheduler: str | None) -> dict[str, Any]:
    """``spm comp simulate``: simulate plans, write the metrics JSON atomically."""
    from spm_models.comp.calc import _prepare_frame, _reps_ti, _to_array, read_table
    from spm_models.comp.distributed import close_client, get_client
    from spm_models.comp.metrics import plan_metrics
    from spm_models.cube import chunk_cube, estimate_nbytes, maybe_chunk

    plan_objs = [Plan.from_yaml(p) for p in plans]
    ref = plan_objs[0]
    problems = Problems()
    rows = _prepare_frame(read_table(quotas), str(quotas), "quota", ref, problems)
    if problems:
        raise InputError(problems.lines())
    rep_ids = sorted(set(rows["rep_id"]))
    quota_da = _to_array(rows, ref, rep_ids)
    ti = _reps_ti(read_table(reps), str(reps), ref, rep_ids, problems)[0] if reps else None
    if problems:
        raise InputError(problems.lines())
    if bookings is not None:
        from spm_models.cube import read_cube

        cube = read_cube(bookings, chunks={})
        b = _as_array(cube)
        if MEASURE not in b.dims:
            quota_da = quota_da.isel({MEASURE: 0}, drop=True) if len(ref.measures) == 1 else quota_da
        nbytes = estimate_nbytes(dict(b.sizes))
    else:
        nbytes = estimate_nbytes({**dict(quota_da.sizes), "draw": draws})
        b = maybe_chunk(synthetic_bookings(quota_da, draws, cv, seed))
    client = get_client(scheduler, nbytes=nbytes)
    if client is not None and b.chunks is None:
        b = chunk_cube(b)  # a cluster was asked for: send it the work
    try:
        results = []
        for p in plan_objs:
            res = simulate_plan(p, b, quota_da, ti)
            results.append(plan_metrics(res, budget=budget))
    finally:
        close_client(client)
    summary = {"plans": {p.name: r for p, r in zip(plan_objs, results)},
               "draws": int(b.sizes["draw"]), "reps": len(rep_ids), "seed": seed}
    atomic_write_text(out, json.dumps(summary, indent=2))
    return summary
