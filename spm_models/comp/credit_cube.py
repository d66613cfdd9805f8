"""Crediting on a simulated bookings cube (``rep × period × draw``): the rules of
:mod:`spm_models.comp.crediting` (``where`` shares, ``rollup``) for the Monte Carlo simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.comp.crediting import Names, _header, _hierarchy, _numbers, _text
from spm_models.comp.plan import CreditRule, Plan
from spm_models.data.csvfile import row_numbers
from spm_models.errors import InputError


# ---------------------------------------------------------------------------------------
# simulation: the same rules on a simulated bookings cube
# ---------------------------------------------------------------------------------------
def check_plan_columns(plans: dict[str, Plan], bookings: pd.DataFrame, *, where: str,
                       data: str = "bookings") -> None:
    """Every bookings column the plans' credit rules name (``amount``, ``where``) is in the
    data's bookings table; else :class:`InputError` with one line per missing column naming
    ``where`` (the scenario file), the plan key and file, and the field. Run before the
    forecast so a scenario on the wrong data stops at once."""
    cols = {str(c).strip() for c in bookings.columns}
    problems = []
    for role, plan in plans.items():
        for i, m in enumerate(plan.measures):
            rule = m.credit or CreditRule()
            for col, what in rule.columns():
                if col not in cols:
                    problems.append(f"{where}, key 'plans.{role}' ({plan.source}, key "
                                    f"'measures[{i}].credit.{what}'): column '{col}' is not in "
                                    f"the {data} table (have: {', '.join(sorted(cols))})")
    if problems:
        raise InputError(problems)


def history_shares(plan: Plan, history: pd.DataFrame, *, name: str = "bookings") -> xr.DataArray:
    """Each rep's share of its bookings that each measure credits, from its history.

    ``share[r, m] = Σ b[amount_m] over r's bookings passing where_m ÷ Σ b[amount] over all
    of r's bookings`` (the booking's own ``rep_id``; splits and roll-up are not shares of a
    rep's own business). A rep with no history (or a zero total) gets the share pooled
    over all reps. Dims ``(rep, measure)``; a measure without a ``credit`` section (or one
    crediting every row's ``amount``) has share 1.

    This is the documented assumption of :func:`credit_cube`: a rep's future bookings split
    into measures (new business vs renewal, margin vs revenue, ...) as its past ones did.
    Raises :class:`InputError` naming the file and field of a missing or non-numeric column.
    """
    problems: list[str] = []
    df = history.copy()
    df.columns = [str(c).strip() for c in df.columns]
    _header(df, name, ["rep_id", "amount"], problems)
    for i, m in enumerate(plan.measures):
        rule = m.credit or CreditRule()
        for col, what in rule.columns():
            if col not in df.columns:
                problems.append(f"{name}, header, field '{col}': column named by plan key "
                                f"'measures[{i}].credit.{what}' is not in the bookings file")
    if problems:
        raise InputError(problems)
    rows = row_numbers(df)
    reps = _text(df["rep_id"])
    r_codes, r_uniques = pd.factorize(reps)
    base = _numbers(df["amount"], name, "amount", rows, problems)
    if problems:
        raise InputError(problems)
    n_r = len(r_uniques)
    denom = np.bincount(r_codes, weights=base, minlength=n_r)
    out = np.ones((n_r, len(plan.measures)))
    for j, m in enumerate(plan.measures):
        rule = m.credit or CreditRule()
        if not rule.where and rule.amount == "amount":
            continue
        keep = np.ones(len(df), dtype=bool)
        for col, allowed in rule.where:
            keep &= _text(df[col]).isin(allowed).to_numpy()
        vals = np.zeros(len(df))
        sel = np.flatnonzero(keep)
        vals[sel] = _numbers(df[rule.amount].iloc[sel], name, rule.amount, rows[sel], problems)
        if problems:
            raise InputError(problems)
        num = np.bincount(r_codes, weights=vals, minlength=n_r)
        pooled = num.sum() / denom.sum() if denom.sum() != 0 else 0.0
        out[:, j] = np.where(denom != 0, num / np.where(denom != 0, denom, 1.0), pooled)
    da = xr.DataArray(out, dims=["rep", "measure"],
                      coords={"rep": np.asarray(r_uniques, dtype=str), "measure": plan.measure_names},
                      name="share")
    pooled_all = np.array([
        float((da.sel(measure=mn) * xr.DataArray(denom, dims=["rep"])).sum() / denom.sum())
        if denom.sum() != 0 else 1.0 for mn in plan.measure_names])
    da.attrs["pooled"] = pooled_all.tolist()
    return da


def _manager_map(reps: pd.DataFrame | dict[str, str] | None, plan: Plan, rules: list[CreditRule],
                 name: str) -> dict[str, str]:
    if isinstance(reps, dict):
        df = pd.DataFrame({"rep_id": list(reps), "manager_id": list(reps.values())})
    else:
        df = reps
    problems: list[str] = []
    manager = _hierarchy(df, plan, rules, Names(plan=plan.source, reps=name), problems)
    if problems:
        raise InputError(problems)
    return manager


def _rollup_last(x: np.ndarray, anc: np.ndarray, desc: np.ndarray, n_out: int,
                 src: np.ndarray) -> np.ndarray:
    """Roll-up along the last axis: ``out[..., k] = x[..., src[k]]`` (own credits, 0 when
    ``src[k] < 0``) ``+ Σ x[..., desc]`` over the pairs whose ancestor is ``k``."""
    out = np.zeros(x.shape[:-1] + (n_out,))
    have = src >= 0
    out[..., have] = x[..., src[have]]
    if len(anc):
        np.add.at(np.moveaxis(out, -1, 0), anc, np.moveaxis(x[..., desc], -1, 0))
    return out


def credit_cube(plan: Plan, bookings: xr.DataArray, *,
                reps: pd.DataFrame | dict[str, str] | None = None,
                history: pd.DataFrame | None = None,
                shares: xr.DataArray | None = None,
                names: tuple[str, str] = ("reps", "bookings")) -> xr.DataArray:
    """Credits of every measure of ``plan`` from a simulated bookings cube.

    Parameters
    ----------
    plan : the plan whose ``credit`` sections apply.
    bookings : simulated bookings ``(rep, period, draw[, scenario])`` in money, numpy- or
        dask-backed, credited to each booking's rep. When the forecast supplies the split,
        the cube has a ``measure`` dimension holding each measure's bookings (e.g. new
        business and renewals forecast separately) and those are used as they are.
    reps : the reps hierarchy: a reps table ``rep_id, manager_id`` or a mapping
        ``rep → manager``; needed when a measure has ``rollup: true``.
    history : past bookings (the bookings table: ``rep_id, amount`` and the columns named
        by ``where``/``amount``), from which :func:`history_shares` takes each rep's share
        per measure; needed for a measure with a ``where`` filter or another ``amount``
        column when ``bookings`` has no ``measure`` dimension.
    shares : precomputed :func:`history_shares` (instead of ``history``).
    names : file names of ``reps`` and ``history`` for error lines.

    Returns
    -------
    DataArray ``(..., rep, period, ..., measure)`` (the input dims, ``measure`` last) named
    ``credits``. ``rep`` holds the cube's reps plus every manager in the hierarchy (a
    manager with no bookings of its own is credited its team's under ``rollup``). For
    measure ``m``: ``credits = bookings × share[rep, m]`` (share 1 without a filter; reps
    not in the history use the pooled share) and, with ``rollup``, each rep also gets the
    credits of every rep below it (any depth), per period and draw.

    Assumption (documented in docs/comp.md): without a forecast split, a rep's simulated
    bookings divide into measures in the proportions of its own history; splits between
    reps are already in the simulated per-rep bookings.

    Raises
    ------
    InputError
        a measure needing a share without ``history``/``shares``; a roll-up without a
        hierarchy; a ``manager_id`` cycle; a history column missing.
    """
    rules = [m.credit or CreditRule() for m in plan.measures]
    needs_share = [i for i, r in enumerate(rules) if r.where or r.amount != "amount"]
    has_split = "measure" in bookings.dims
    if has_split:
        have = set(map(str, bookings["measure"].values))
        missing = [m for m in plan.measure_names if m not in have]
        if missing:
            raise InputError(f"bookings cube: the forecast split along 'measure' lacks "
                             f"{', '.join(missing)} of plan {plan.source}")
    elif needs_share and shares is None:
        if history is None:
            i = needs_share[0]
            raise InputError(f"{plan.source}, key 'measures[{i}].credit': a filtered measure "
                             "needs the reps' booking history (or a forecast split by measure) "
                             "to be simulated")
        shares = history_shares(plan, history, name=names[1])
    manager = _manager_map(reps, plan, rules, names[0]) if any(r.rollup for r in rules) else {}

    cube_reps = [str(r) for r in bookings["rep"].values]
    extra = [r for r in dict.fromkeys([*manager, *manager.values()]) if r not in set(cube_reps)]
    out_reps = cube_reps + extra
    pos = {r: k for k, r in enumerate(out_reps)}
    src = np.array([k if k < len(cube_reps) else -1 for k in range(len(out_reps))])
    # (ancestor, descendant) pairs over the cube's reps (the only ones with own credits)
    anc, desc = [], []
    for k, r in enumerate(cube_reps):
        up = r
        while up in manager:
            up = manager[up]
            anc.append(pos[up])
            desc.append(k)
    anc_a, desc_a = np.array(anc, dtype=np.int64), np.array(desc, dtype=np.int64)

    parts = []
    for j, (m, rule) in enumerate(zip(plan.measures, rules)):
        if has_split:
            x = bookings.sel(measure=m.name, drop=True)
        elif j in needs_share:
            assert shares is not None
            sh = shares.sel(measure=m.name, drop=True).reindex(rep=cube_reps)
            pooled = shares.attrs.get("pooled")
            fill = pooled[j] if pooled is not None else float(sh.mean())
            x = bookings * sh.fillna(fill)
        else:
            x = bookings
        x = x.assign_coords(rep=cube_reps)
        if rule.rollup or extra:
            anc_m = anc_a if rule.rollup else anc_a[:0]
            desc_m = desc_a if rule.rollup else desc_a[:0]
            dims = x.dims
            if x.chunks is not None:
                x = x.chunk({"rep": -1})
            x = xr.apply_ufunc(
                _rollup_last, x, input_core_dims=[["rep"]], output_core_dims=[["rep_out"]],
                kwargs={"anc": anc_m, "desc": desc_m, "n_out": len(out_reps), "src": src},
                dask="parallelized", output_dtypes=[np.float64],
                dask_gufunc_kwargs={"output_sizes": {"rep_out": len(out_reps)}},
            ).rename(rep_out="rep").assign_coords(rep=out_reps).transpose(*dims)
        parts.append(x)
    out = xr.concat(parts, dim="measure", coords="minimal", compat="override", join="override")
    out = out.assign_coords(measure=plan.measure_names).transpose(..., "measure")
    out.name = "credits"
    return out
