"""Actual payouts from credit and quota tables (``spm comp calc``).

Validates the tables (one line per problem naming file, row and field), builds
``rep × period × measure`` arrays for the plan year and runs the same engine as the
simulation (:func:`spm_models.comp.engine.compute_payouts`, with no ``draw`` dimension).
Money is rounded to cents on output only, attainments to :data:`ATTAINMENT_DECIMALS` decimals.
CSV files are read by :mod:`spm_models.comp.tables` (the shared reader
:mod:`spm_models.data.csvfile`: spreadsheet row numbers, report footers, wrong delimiters); amounts beyond ±:data:`MAX_ABS_NUMBER` and
duplicated quota rows are input errors.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.atomic import atomic_open
from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import Plan
from spm_models.comp.tables import _date_format, read_large_table, read_table
from spm_models.data.columns import canonical_columns, normalise_id
from spm_models.data.csvfile import row_numbers
from spm_models.data.dates import parse_dates
from spm_models.data.hints import date_hint, number_hint
from spm_models.data.schemas import MAX_ABS_NUMBER, MAX_ABS_TEXT
from spm_models.errors import InputError, Problems, location

_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")
#: Decimals of the ``attainment_<measure>`` columns written (1.4, not 1.4000000000000001).
ATTAINMENT_DECIMALS = 6


def _month(value: Any) -> str | None:
    """``YYYY-MM`` for a month string, date or period; None when unparseable."""
    if isinstance(value, pd.Period):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    s = str(value).strip()
    m = _MONTH_RE.match(s)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    if m.group(3) is not None:  # a full date: its month
        try:
            _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
    else:
        s = str(value).strip()
        if not s:
            return None
        try:
            v = float(s)
        except ValueError:
            return None
    return v if math.isfinite(v) else None


def _months(values: pd.Series, date_format: str | None) -> tuple[list[str | None], str | None]:
    """``YYYY-MM`` of each value (month strings, dates, ISO date-times, day-first dates read
    with one order for the column), None where unreadable; and a column-level problem."""
    out = [_month(v) for v in values]
    other = [i for i, (v, m) in enumerate(zip(values, out)) if m is None and isinstance(v, str)
             and v.strip()]
    if not other:
        return out, None
    text = pd.Series([values.iloc[i].strip() for i in other], dtype=object)
    res = parse_dates(text, date_format,
                      "set date_format: DD/MM/YYYY or MM/DD/YYYY in source.yaml beside the "
                      "credits file")
    for i, d in zip(other, res.values):
        if not pd.isna(d):
            out[i] = f"{d.year:04d}-{d.month:02d}"
    return out, res.problem


def _bounded(raw: Any) -> tuple[float | None, str | None]:
    """A number within ±MAX_ABS_NUMBER, or (None, why not)."""
    v = _number(raw)
    if v is not None and abs(v) <= MAX_ABS_NUMBER:
        return v, None
    try:
        huge = abs(float(str(raw).strip())) > MAX_ABS_NUMBER  # inf, 1e308, 1e400
    except ValueError:
        huge = False
    if huge:
        return None, f"{str(raw).strip()!r} is beyond the bound ±{MAX_ABS_TEXT}"
    return None, f"not a number: {raw!r}{number_hint(raw)}"


def _columns(df: pd.DataFrame, name: str, required: list[str], problems: Problems,
             optional: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """``df`` with its headers matched to ``required`` and ``optional`` up to case and spaces
    (:func:`spm_models.data.columns.canonical_columns`), or None when a required one is
    missing (one problem line each)."""
    df = canonical_columns(df, [*required, *optional])
    cols = [str(c) for c in df.columns]
    ok = True
    for c in required:
        if c not in cols:
            problems.add(f"{name}, header, field '{c}': missing column "
                         f"(have: {', '.join(cols) or 'none'})")
            ok = False
    return df if ok else None


def _parse_rows(df: pd.DataFrame, name: str, value_col: str, plan: Plan,
                problems: Problems, date_format: str | None = None) -> pd.DataFrame:
    """Parsed rows ``rep_id, period, measure, value, row`` (row: spreadsheet row below the
    header, :func:`spm_models.data.csvfile.row_numbers`)."""
    months = set(plan.months)
    names = plan.measure_names
    has_measure = "measure" in df.columns
    rows = row_numbers(df)
    periods, column_problem = _months(df["period"], date_format)
    if column_problem:
        problems.add(f"{location(name, None, 'period')}: {column_problem}")
    out = []
    for i, rec, period in zip(rows.tolist(), df.to_dict("records"), periods):
        rep = normalise_id(rec["rep_id"])
        if not rep or rep.lower() == "nan":
            problems.add_row(name, i, "rep_id", "empty rep_id", "empty rep_id")
            continue
        if period is None:
            if not column_problem:
                problems.add_row(name, i, "period", f"not a month YYYY-MM: {rec['period']!r}"
                                 f"{date_hint(rec['period'])}",
                                 "not a month YYYY-MM")
            continue
        if period not in months:
            year = f"the plan year {plan.months[0]}..{plan.months[-1]}"
            problems.add_row(name, i, "period", f"{period} is outside {year}", f"outside {year}")
            continue
        value, why = _bounded(rec[value_col])
        if value is None:
            problems.add_row(name, i, value_col, str(why),
                             f"not a number within ±{MAX_ABS_TEXT}")
            continue
        measure = str(rec["measure"]).strip() if has_measure else ""
        if not measure or measure.lower() == "nan":
            if len(names) > 1:
                problems.add_row(name, i, "measure", "empty measure (the plan has several: "
                                 f"{', '.join(names)})", "empty measure")
                continue
            measure = names[0]
        elif measure not in names:
            problems.add_row(name, i, "measure", f"'{measure}' is not a measure of the plan "
                             f"({', '.join(names)})", "not a measure of the plan")
            continue
        out.append((rep, period, measure, value, i))
    return pd.DataFrame(out, columns=["rep_id", "period", "measure", "value", "row"])


def _check_duplicate_quotas(rows: pd.DataFrame, name: str, problems: Problems) -> None:
    """A (rep, month, measure) given twice -- e.g. a file concatenated with itself -- is an
    error naming both rows (summing would silently double the quota)."""
    key = ["rep_id", "period", "measure"]
    dup = rows.duplicated(key, keep="first").to_numpy()
    if not dup.any():
        return
    first = rows.groupby(key, sort=False)["row"].transform("min").to_numpy()
    for p in np.flatnonzero(dup):
        r = rows.iloc[p]
        problems.add_row(name, int(r["row"]), "quota", f"duplicate quota row for rep "
                         f"{r['rep_id']}, month {r['period']}, measure {r['measure']} (first at "
                         f"row {int(first[p])})", "duplicate quota rows")


def _quota_period_index(plan: Plan) -> dict[str, dict[str, tuple[int, str]]]:
    """measure -> month -> (quota period index, label)."""
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for m in plan.measures:
        L = m.quota_months
        labels = {}
        for k, mo in enumerate(plan.months):
            j = k // L
            first, last = plan.months[j * L], plan.months[j * L + L - 1]
            labels[mo] = (j, first if L == 1 else f"{first}..{last}")
        out[m.name] = labels
    return out


def _check_quota_periods(plan: Plan, credits: pd.DataFrame, quotas: pd.DataFrame,
                         names: tuple[str, str], problems: Problems) -> None:
    qp = _quota_period_index(plan)
    for df in (credits, quotas):
        df["qp"] = [qp[m][p][0] for m, p in zip(df["measure"], df["period"])]
    qsum = quotas.groupby(["rep_id", "measure", "qp"], sort=True).agg(
        quota=("value", "sum"), row=("row", "min"))
    for (rep, measure, j), rec in qsum.iterrows():
        if rec["quota"] <= 0:
            label = qp[measure][plan.months[j * plan.measure(measure).quota_months]][1]
            what = "is 0" if rec["quota"] == 0 else f"is negative ({rec['quota']:g})"
            problems.add_row(names[1], int(rec["row"]), "quota", f"the quota of rep {rep}, "
                             f"measure {measure} for quota period {label} {what}",
                             "a quota period's quota is not positive")
    cfirst = credits.groupby(["rep_id", "measure", "qp"], sort=True)["row"].min()
    for (rep, measure, j), row in cfirst.items():
        if (rep, measure, j) not in qsum.index:
            label = qp[measure][plan.months[j * plan.measure(measure).quota_months]][1]
            problems.add_row(names[0], int(row), "rep_id", f"rep {rep} has credits for "
                             f"measure {measure} in quota period {label} but no quota",
                             "credits but no quota")


def _reps_ti(reps_df: pd.DataFrame | None, name: str, plan: Plan, rep_ids: list[str],
             problems: Problems) -> tuple[xr.DataArray | None, dict[str, int]]:
    """Target incentives of ``rep_ids`` (NaN where none) and each listed rep's row."""
    if reps_df is None:
        return None, {}
    checked = _columns(reps_df, name, ["rep_id"], problems, optional=("target_incentive",))
    if checked is None:
        return None, {}
    reps_df = checked.copy()
    if "target_incentive" not in reps_df.columns:  # optional (a reps file of managers)
        reps_df["target_incentive"] = ""
    ti: dict[str, float] = {}
    row_of: dict[str, int] = {}
    for i, rec in zip(row_numbers(reps_df).tolist(), reps_df.to_dict("records")):
        rep = normalise_id(rec["rep_id"])
        if not rep or rep.lower() == "nan":
            problems.add_row(name, i, "rep_id", "empty rep_id", "empty rep_id")
            continue
        raw = rec["target_incentive"]
        if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == "":
            v = math.nan
        else:
            bounded, why = _bounded(raw)
            if bounded is None or bounded < 0:
                problems.add_row(name, i, "target_incentive",
                                 str(why) if why and "bound" in why else
                                 f"not a non-negative number: {raw!r}",
                                 f"not a non-negative number within ±{MAX_ABS_TEXT}")
                continue
            v = bounded
        if rep in ti:
            problems.add_row(name, i, "rep_id", f"duplicate rep {rep}", "duplicate reps")
            continue
        ti[rep] = v
        row_of[rep] = i
    return xr.DataArray([ti.get(r, math.nan) for r in rep_ids], dims=["rep"],
                        coords={"rep": rep_ids}), row_of


def _prepare_frame(df: pd.DataFrame | None, name: str, value_col: str, plan: Plan,
                   problems: Problems, date_format: str | None = None) -> pd.DataFrame | None:
    if df is None:
        problems.add(f"{name}: missing table")
        return None
    required = ["rep_id", "period", value_col] + (["measure"] if len(plan.measures) > 1 else [])
    df = _columns(df, name, required, problems, optional=("measure",))
    if df is None:
        return None
    rows = _parse_rows(df, name, value_col, plan, problems, date_format)
    if value_col == "quota":
        _check_duplicate_quotas(rows, name, problems)
    return rows


def calc_payouts(plan: Plan | str | Path, credits_df: pd.DataFrame, quotas_df: pd.DataFrame,
                 reps_df: pd.DataFrame | None = None, *,
                 names: tuple[str, str, str] = ("credits", "quotas", "reps"),
                 date_format: str | None = None) -> pd.DataFrame:
    """Payout rows of every rep in the credits or quotas for each payout period.

    Columns: ``rep_id, period`` (last month of the payout period), ``attainment_<measure>``
    for each measure (as of that month, in its quota period; empty where the rep has no
    quota; :data:`ATTAINMENT_DECIMALS` decimals), ``earned_to_date, payout`` (rounded to
    cents). Sorted by rep, then period. ``date_format`` (``"DMY"``/``"MDY"``) orders dates such
    as ``03/04/2027`` in a ``period`` column that cannot decide it.
    Raises :class:`InputError` with one line per problem (file, row, field): also for amounts
    beyond ±:data:`MAX_ABS_NUMBER`, duplicated quota rows, and results beyond that bound.
    """
    if not isinstance(plan, Plan):
        plan = Plan.from_yaml(plan)
    problems = Problems()
    credits = _prepare_frame(credits_df, names[0], "amount", plan, problems, date_format)
    quotas = _prepare_frame(quotas_df, names[1], "quota", plan, problems, date_format)
    if problems:
        raise InputError(problems.lines())
    assert credits is not None and quotas is not None
    _check_quota_periods(plan, credits, quotas, names[:2], problems)
    rep_ids = sorted(set(credits["rep_id"]) | set(quotas["rep_id"]))
    ti, ti_rows = _reps_ti(reps_df, names[2], plan, rep_ids, problems)
    if plan.needs_target_incentive and plan.target_incentive is None:
        _check_target_incentives(plan, rep_ids, ti, ti_rows, reps_df is not None,
                                 (names[0], names[1], names[2]), credits, quotas, problems)
    if problems:
        raise InputError(problems.lines())

    credit_da = _to_array(credits, plan, rep_ids)
    quota_da = _to_array(quotas, plan, rep_ids)
    with np.errstate(over="ignore", invalid="ignore"):
        ds = compute_payouts(plan, credit_da, quota_da, ti)
    _check_results(ds, plan, names)
    return payouts_frame(ds, plan)


def _check_target_incentives(plan: Plan, rep_ids: list[str], ti: xr.DataArray | None,
                             ti_rows: dict[str, int], have_reps: bool, names: tuple[str, str, str],
                             credits: pd.DataFrame, quotas: pd.DataFrame,
                             problems: Problems) -> None:
    """A plan paying on target incentive without one in the plan: one line per rep lacking
    it, naming the rep's row in the reps file (its row with an empty ``target_incentive``),
    or, for a rep the reps file does not list, its first row in the quotas (or credits)."""
    values = ti.values if ti is not None else [math.nan] * len(rep_ids)
    lacking = [r for r, v in zip(rep_ids, values) if math.isnan(v)]
    if not lacking:
        return
    first_q = quotas.groupby("rep_id")["row"].min()
    first_c = credits.groupby("rep_id")["row"].min()
    summary = "no target incentive, and none in the plan"
    for rep in lacking:
        if rep in ti_rows:
            file, row, field, why = names[2], ti_rows[rep], "target_incentive", "empty"
        else:
            in_q = rep in first_q.index
            file, row = (names[1], first_q[rep]) if in_q else (names[0], first_c[rep])
            field = "rep_id"
            why = (f"not in {names[2]}" if have_reps else "no --reps file with a "
                   "target_incentive column given")
        problems.add_row(file, int(row), field, f"no target incentive for rep {rep} ({why}) and "
                         f"none in the plan {plan.source} (it pays on a target-incentive basis)",
                         summary)


def _check_results(ds: xr.Dataset, plan: Plan, names: tuple[str, ...]) -> None:
    """Earnings beyond ±MAX_ABS_NUMBER (e.g. a tiny quota under large credits in an uncapped
    plan) are one error line naming the first rep and period, not a payout file."""
    for v in ("earned_to_date", "payout"):
        vals = ds[v].transpose("rep", "period").values
        bad = ~(np.abs(vals) <= MAX_ABS_NUMBER)  # NaN and inf too
        if bad.any():
            r, t = np.argwhere(bad)[0]
            rep, period = ds["rep"].values[r], ds["period"].values[t]
            raise InputError(f"{names[0]}: {v} of rep {rep} in {period} is beyond the bound "
                             f"±{MAX_ABS_TEXT} ({vals[r, t]:.3g}): check this rep's credits "
                             f"in {names[0]} and quotas in {names[1]}")


def _to_array(rows: pd.DataFrame, plan: Plan, rep_ids: list[str]) -> xr.DataArray:
    """Sum rows into a dense ``rep × period × measure`` array (zeros where absent)."""
    rep_idx = {r: i for i, r in enumerate(rep_ids)}
    month_idx = {m: i for i, m in enumerate(plan.months)}
    meas_idx = {m: i for i, m in enumerate(plan.measure_names)}
    arr = np.zeros((len(rep_ids), 12, len(meas_idx)))
    if len(rows):
        np.add.at(arr, (rows["rep_id"].map(rep_idx).to_numpy(),
                        rows["period"].map(month_idx).to_numpy(),
                        rows["measure"].map(meas_idx).to_numpy()), rows["value"].to_numpy())
    return xr.DataArray(arr, dims=["rep", "period", "measure"],
                        coords={"rep": rep_ids, "period": plan.months,
                                "measure": plan.measure_names})


def round_cents(x: float) -> float:
    """Round money half away from zero to cents.

    The float is first read to 15 significant digits (what a double holds exactly, the
    precision spreadsheets show), so that binary noise of the arithmetic does not decide a
    half cent: 10 % of 100.05 is ``10.004999999999999`` as a double and pays 10.01. From
    10^12 on, 15 digits no longer reach the cents and the shortest repr is used."""
    if not math.isfinite(x):
        return x
    text = f"{float(x):.15g}" if abs(x) < 1e12 else repr(float(x))
    with localcontext() as ctx:
        ctx.prec = 400  # enough digits for any finite float: never InvalidOperation
        v = float(Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return 0.0 if v == 0 else v


def payouts_frame(ds: xr.Dataset, plan: Plan) -> pd.DataFrame:
    """The payout rows of an engine result without extra dims (``rep × period``)."""
    cols = ["rep_id", "period"] + [f"attainment_{m}" for m in plan.measure_names] + [
        "earned_to_date", "payout"]
    reps = [str(r) for r in ds["rep"].values]
    periods = [str(p) for p in ds["period"].values]
    data: dict[str, Any] = {
        "rep_id": np.repeat(reps, len(periods)),
        "period": np.tile(periods, len(reps)),
    }
    for m in plan.measure_names:  # rounded on output only: 1.4, not 1.4000000000000001
        data[f"attainment_{m}"] = np.round(
            ds[f"attainment_{m}"].transpose("rep", "period").values.ravel(), ATTAINMENT_DECIMALS)
    for v in ("earned_to_date", "payout"):
        vals = ds[v].transpose("rep", "period").values.ravel()
        data[v] = [round_cents(x) for x in vals]
    df = pd.DataFrame(data, columns=cols)
    return df.sort_values(["rep_id", "period"], kind="stable").reset_index(drop=True)


def write_csv_atomic(df: pd.DataFrame, out: str | Path) -> Path:
    """Write ``df`` to ``out`` via a temporary file in the same folder and a rename."""
    with atomic_open(out, "w", newline="") as fh:
        df.to_csv(fh, index=False, float_format=None)
    return Path(out)


def calc_files(plan: str | Path, credits: str | Path | None, quotas: str | Path,
               reps: str | Path | None, out: str | Path, *, bookings: str | Path | None = None,
               splits: str | Path | None = None) -> pd.DataFrame:
    """``spm comp calc``: read, validate, compute and write the payout CSV atomically.

    With ``bookings`` (and optional ``splits``) instead of ``credits``, the bookings are
    credited first by the plan's credit rules (:func:`credit_files` without writing)."""
    plan_obj = Plan.from_yaml(plan)
    reps_df = read_table(reps) if reps is not None else None
    if bookings is not None:
        credits_df = _credit_tables(plan_obj, plan, bookings, splits, reps, reps_df)
        credits_name = f"{bookings} (credited)"
    else:
        assert credits is not None
        credits_df = read_table(credits)
        credits_name = str(credits)
    quotas_df = read_table(quotas)
    df = calc_payouts(plan_obj, credits_df, quotas_df, reps_df,
                      date_format=_date_format(bookings if bookings is not None else credits or ""),
                      names=(credits_name, str(quotas), str(reps) if reps else "reps"))
    write_csv_atomic(df, out)
    return df


def _credit_tables(plan_obj: Plan, plan: str | Path, bookings: str | Path,
                   splits: str | Path | None, reps: str | Path | None,
                   reps_df: pd.DataFrame | None) -> pd.DataFrame:
    from spm_models.comp.crediting import Names, credit_bookings

    names = Names(plan=str(plan), bookings=str(bookings), splits=str(splits or "splits"),
                  reps=str(reps or "reps"))
    return credit_bookings(plan_obj, read_large_table(bookings),
                           read_large_table(splits) if splits is not None else None, reps_df,
                           names=names, date_format=_date_format(bookings))


def credit_files(plan: str | Path, bookings: str | Path, splits: str | Path | None,
                 reps: str | Path | None, out: str | Path) -> pd.DataFrame:
    """``spm comp credit``: credit bookings by the plan's rules; write the credits CSV
    (``rep_id, period, amount, measure``) atomically."""
    plan_obj = Plan.from_yaml(plan)
    reps_df = read_table(reps) if reps is not None else None
    df = _credit_tables(plan_obj, plan, bookings, splits, reps, reps_df)
    write_csv_atomic(df, out)
    return df
