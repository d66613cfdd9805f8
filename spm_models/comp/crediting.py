"""Crediting: bookings (+ splits, + the reps hierarchy) → credits by rep, month and measure.

Implements the crediting rules of the plan contract (part 2): for measure ``m`` the credit
of rep ``r`` in month ``t`` is ``Σ share(b, r) × b[amount]`` over the bookings ``b`` of month
``t`` that pass the measure's ``where`` filter, where ``share(b, r)`` is ``r``'s split
share of ``b`` (1 for the booking's own rep when ``b`` has no split rows). With
``rollup: true`` a rep is also credited the credits of every rep whose chain of
``manager_id`` reaches it (any depth).

Everything is vectorised: text columns are factorised once, a booking-to-rep allocation
table (split rows, or the booking's own rep) is built once, credits are summed with
:func:`numpy.bincount` into a dense ``rep × month`` array per measure, and the roll-up adds
each level of the hierarchy to the next one up (deepest first), so a million bookings
with splits and a four-level hierarchy take a few seconds, mostly reading the CSV
(``benchmarks/bench_comp.py``).

:func:`credit_bookings` works on tables (``spm comp credit``, ``spm comp calc --bookings``);
:func:`credit_cube` applies the same rules to a simulated bookings cube
(``rep × period × draw``) for the Monte Carlo simulation.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.comp.plan import MAX_MONEY, CreditRule, Plan
from spm_models.errors import InputError, location

#: Split shares of one booking must sum to 1 within this tolerance (contract).
SHARE_TOLERANCE = 1e-9
#: Credit sums are rounded to this many decimals (micro-units: far below a cent) so that
#: float noise neither writes ``60000.00000000001`` nor keeps a row whose sum is zero.
CREDIT_DECIMALS = 6
BOOKING_COLUMNS = ["booking_id", "rep_id", "date", "amount"]
_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")
CREDIT_COLUMNS = ["rep_id", "period", "amount", "measure"]


@dataclass(frozen=True)
class Names:
    """File names used in error lines."""

    plan: str = "plan"
    bookings: str = "bookings"
    splits: str = "splits"
    reps: str = "reps"


def _rows(index: pd.Index | np.ndarray) -> np.ndarray:
    """1-based data-row numbers (header excluded) of a frame's positions."""
    return np.asarray(index) + 1


def _text(series: pd.Series) -> pd.Series:
    """A column as stripped text ('' for missing): the distinct values are stripped once
    (factorised first), which keeps a million-row column fast."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = np.array([("" if u is None else str(u).strip()) for u in uniques] + [""],
                        dtype=object)
    return pd.Series(stripped[codes], index=series.index, dtype=object)


def _month_of(value: str) -> str | None:
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    m = _DATE_RE.match(str(value))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    if m.group(3) is not None:
        try:
            _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _header(df: pd.DataFrame, name: str, required: list[str], problems: list[str],
            why: str = "missing column") -> None:
    cols = list(df.columns)
    for c in required:
        if c not in cols:
            problems.append(f"{location(name, None, c).replace(', field', ', header, field')}: "
                            f"{why} (have: {', '.join(map(str, cols)) or 'none'})")


def _numbers(series: pd.Series, name: str, field: str, rows: np.ndarray,
             problems: list[str]) -> np.ndarray:
    """Parse a numeric column; one problem (first bad row) when some are not finite numbers
    within the money bound."""
    vals = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals) | (np.abs(vals) > MAX_MONEY)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raw = str(series.iloc[i])[:40]
        n = int(bad.sum())
        problems.append(f"{location(name, int(rows[i]), field)}: not a number within "
                        f"±{MAX_MONEY:g}: {raw!r}" + (f" (and {n - 1} more rows)" if n > 1 else ""))
    return vals


def _rules(plan: Plan, names: Names, problems: list[str]) -> list[CreditRule]:
    lacking = [i for i, m in enumerate(plan.measures) if m.credit is None]
    if lacking and len(plan.measures) > 1:
        more = f" (and {len(lacking) - 1} more measures)" if len(lacking) > 1 else ""
        problems.append(f"{names.plan}, key 'measures[{lacking[0]}].credit': missing: a plan "
                        "with several measures needs a credit section on every measure to "
                        f"credit bookings{more}")
    return [m.credit or CreditRule() for m in plan.measures]


def _hierarchy(reps_df: pd.DataFrame | None, plan: Plan, rules: list[CreditRule],
               names: Names, problems: list[str]) -> dict[str, str]:
    """``rep → manager`` from the reps table (checked for cycles) when a rule rolls up."""
    need = [i for i, r in enumerate(rules) if r.rollup]
    if not need:
        return {}
    key = f"measures[{need[0]}].credit.rollup"
    if reps_df is None:
        problems.append(f"{names.plan}, key '{key}', field 'manager_id': rollup needs a reps "
                        "file with a manager_id column (--reps)")
        return {}
    cols = [str(c).strip() for c in reps_df.columns]
    if "manager_id" not in cols or "rep_id" not in cols:
        missing = "manager_id" if "manager_id" not in cols else "rep_id"
        problems.append(f"{names.reps}, header, field '{missing}': missing column, needed by "
                        f"plan key '{key}' (have: {', '.join(cols) or 'none'})")
        return {}
    df = reps_df.copy()
    df.columns = cols
    reps = _text(df["rep_id"]).to_numpy()
    mgrs = _text(df["manager_id"]).to_numpy()
    rows = _rows(np.arange(len(df)))
    manager: dict[str, str] = {}
    row_of: dict[str, int] = {}
    for rep, mgr, row in zip(reps, mgrs, rows):
        if not rep:
            problems.append(f"{location(names.reps, int(row), 'rep_id')}: empty rep_id")
            return {}
        if rep in row_of:
            problems.append(f"{location(names.reps, int(row), 'rep_id')}: duplicate rep {rep}")
            return {}
        row_of[rep] = int(row)
        if mgr:
            manager[rep] = mgr
    # cycles: follow each chain; a chain that comes back to a rep on it is a cycle
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in manager:
        path = []
        r = start
        while r in manager and state.get(r) != 2:
            if state.get(r) == 1:
                cycle = path[path.index(r):]
                first = min(cycle, key=lambda x: row_of[x])
                problems.append(f"{location(names.reps, row_of[first], 'manager_id')}: manager_id "
                                f"cycle {' → '.join(cycle[cycle.index(first):] + cycle[:cycle.index(first)] + [first])}")
                return {}
            state[r] = 1
            path.append(r)
            r = manager[r]
        for x in path:
            state[x] = 2
    return manager


def _depths(manager: dict[str, str]) -> dict[str, int]:
    """Depth of every rep that has a manager (1 = reports to a top rep)."""
    depth: dict[str, int] = {}
    for r in manager:
        chain = []
        x = r
        while x in manager and x not in depth:
            chain.append(x)
            x = manager[x]
        base = depth.get(x, 0)
        for y in reversed(chain):
            base += 1
            depth[y] = base
    return depth


def _levels(manager: dict[str, str], codes: dict[str, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(child codes, manager codes) grouped by depth, deepest first (a valid add order)."""
    by_depth: dict[int, list[str]] = {}
    for r, k in _depths(manager).items():
        by_depth.setdefault(k, []).append(r)
    out = []
    for k in sorted(by_depth, reverse=True):
        reps = by_depth[k]
        out.append((np.array([codes[r] for r in reps], dtype=np.int64),
                    np.array([codes[manager[r]] for r in reps], dtype=np.int64)))
    return out


def credit_bookings(plan: Plan, bookings: pd.DataFrame, splits: pd.DataFrame | None = None,
                    reps: pd.DataFrame | None = None, *, names: Names | None = None,
                    plan_year_only: bool = True) -> pd.DataFrame:
    """Credits of every rep, month and measure of ``plan`` from a bookings table.

    Parameters
    ----------
    plan : the plan; each measure's ``credit`` section (``amount``, ``where``, ``rollup``)
        says what is credited (none: every booking's ``amount``, one-measure plans only).
    bookings : ``booking_id, rep_id, date, amount`` plus any columns used by ``where`` or
        ``amount``; ``date`` is an ISO date (or date-time; its calendar date as written),
        ``period`` is its month.
    splits : optional ``booking_id, rep_id, share``; shares of a booking sum to 1 (±1e-9).
    reps : optional ``rep_id[, manager_id]`` (``manager_id`` needed by ``rollup``).
    names : file names for error lines.
    plan_year_only : bookings outside the plan year are an error (as credits outside it are).

    Returns
    -------
    DataFrame ``rep_id, period, amount, measure``: one row per rep, month and measure with a
    non-zero sum, sorted by rep, measure, period (amounts in the bookings' currency,
    rounded to 1e-6).

    Raises
    ------
    InputError
        One line per problem naming file, row (or plan key) and field: a missing column
        (the four required ones, or one named by ``where``/``amount``), a bad date or
        amount, a split for an unknown booking, split shares not summing to 1, a
        ``manager_id`` cycle, ``rollup`` without a ``manager_id`` column.
    """
    names = names or Names(plan=plan.source)
    problems: list[str] = []
    rules = _rules(plan, names, problems)
    b = bookings.copy()
    b.columns = [str(c).strip() for c in b.columns]
    _header(b, names.bookings, BOOKING_COLUMNS, problems)
    for i, rule in enumerate(rules):
        key = f"measures[{i}].credit"
        for col, what in [(rule.amount, "amount"), *[(c, f"where.{c}") for c, _ in rule.where]]:
            if col not in b.columns:
                problems.append(f"{names.bookings}, header, field '{col}': column named by plan "
                                f"key '{key}.{what}' is not in the bookings file (have: "
                                f"{', '.join(b.columns)})")
    if problems:
        raise InputError(problems)
    n = len(b)
    rows = _rows(np.arange(n))
    # dates → month codes (parse the distinct values only)
    dates = _text(b["date"])
    d_codes, d_uniques = pd.factorize(dates)
    months = np.array([_month_of(v) for v in d_uniques], dtype=object)
    bad = np.array([m is None for m in months], dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad[d_codes])[0])
        problems.append(f"{location(names.bookings, int(rows[i]), 'date')}: not a date "
                        f"YYYY-MM-DD: {str(dates.iloc[i])[:40]!r}")
        raise InputError(problems)
    plan_months = plan.months
    month_pos = {m: k for k, m in enumerate(plan_months)}
    if plan_year_only:
        outside = np.array([m not in month_pos for m in months], dtype=bool)[d_codes]
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            problems.append(f"{location(names.bookings, int(rows[i]), 'date')}: "
                            f"{months[d_codes[i]]} is outside the plan year "
                            f"{plan_months[0]}..{plan_months[-1]}")
            raise InputError(problems)
        period_codes = np.array([month_pos[m] for m in months], dtype=np.int64)[d_codes]
        period_labels = plan_months
    else:
        p_codes, period_labels = pd.factorize(months)
        period_codes = p_codes[d_codes]
        period_labels = list(period_labels)
    n_t = len(period_labels)

    rep_text = _text(b["rep_id"])
    empty = (rep_text == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        problems.append(f"{location(names.bookings, int(rows[i]), 'rep_id')}: empty rep_id")
        raise InputError(problems)
    booking_ids = _text(b["booking_id"])
    manager = _hierarchy(reps, plan, rules, names, problems)

    # allocation: (booking index, rep, share) rows
    alloc_b, alloc_rep_text, alloc_share = _allocation(booking_ids, rep_text, splits, names,
                                                       problems)
    if problems:
        raise InputError(problems)
    all_reps = pd.Index(pd.unique(np.concatenate([
        alloc_rep_text, np.array(list(manager), dtype=object),
        np.array(list(manager.values()), dtype=object)]))) if len(alloc_rep_text) or manager \
        else pd.Index([], dtype=object)
    codes = {r: k for k, r in enumerate(all_reps)}
    alloc_rep = all_reps.get_indexer(alloc_rep_text)
    levels = _levels(manager, codes) if manager else []
    n_r = len(all_reps)

    frames = []
    for i, (m, rule) in enumerate(zip(plan.measures, rules)):
        keep = np.ones(n, dtype=bool)
        for col, allowed in rule.where:
            keep &= _text(b[col]).isin(allowed).to_numpy()
        vals = np.zeros(n)
        if keep.any():
            sel = np.flatnonzero(keep)
            vals[sel] = _numbers(b[rule.amount].iloc[sel], names.bookings, rule.amount,
                                 rows[sel], problems)
        if problems:
            raise InputError(problems)
        contrib = vals[alloc_b] * alloc_share
        idx = alloc_rep * n_t + period_codes[alloc_b]
        total = np.bincount(idx, weights=contrib, minlength=n_r * n_t).reshape(n_r, n_t)
        if rule.rollup:
            total = _roll_up(total, levels)
        frames.append(_frame(total, all_reps, period_labels, m.name))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CREDIT_COLUMNS)
    return out.sort_values(["rep_id", "measure", "period"], kind="stable").reset_index(drop=True)


def _roll_up(total: np.ndarray, levels: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Add every rep's (already rolled-up) credits to its manager, deepest level first.

    ``total`` may have any trailing dims after the leading ``rep`` axis."""
    total = total.copy()
    for child, mgr in levels:
        np.add.at(total, mgr, total[child])
    return total


def _frame(total: np.ndarray, reps: pd.Index, periods: list[str], measure: str) -> pd.DataFrame:
    total = np.round(total, CREDIT_DECIMALS)
    r, t = np.nonzero(total)
    return pd.DataFrame({"rep_id": reps.to_numpy()[r].astype(str),
                         "period": np.asarray(periods, dtype=object)[t],
                         "amount": total[r, t] + 0.0, "measure": measure},
                        columns=CREDIT_COLUMNS)


def _allocation(booking_ids: pd.Series, rep_text: pd.Series, splits: pd.DataFrame | None,
                names: Names, problems: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Booking index, rep and share of every credit line (split rows replace the booking's
    own rep)."""
    n = len(booking_ids)
    own_b = np.arange(n)
    if splits is None:
        return own_b, rep_text.to_numpy(), np.ones(n)
    s = splits.copy()
    s.columns = [str(c).strip() for c in s.columns]
    _header(s, names.splits, ["booking_id", "rep_id", "share"], problems)
    if problems:
        return own_b, rep_text.to_numpy(), np.ones(n)
    srows = _rows(np.arange(len(s)))
    sid = _text(s["booking_id"])
    srep = _text(s["rep_id"])
    share = _numbers(s["share"], names.splits, "share", srows, problems)
    if problems:
        return own_b, rep_text.to_numpy(), np.ones(n)
    for field, col in (("booking_id", sid), ("rep_id", srep)):
        empty = (col == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            problems.append(f"{location(names.splits, int(srows[i]), field)}: empty {field}")
            return own_b, rep_text.to_numpy(), np.ones(n)
    neg = share < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        problems.append(f"{location(names.splits, int(srows[i]), 'share')}: negative share "
                        f"{share[i]:g}")
        return own_b, rep_text.to_numpy(), np.ones(n)
    bidx = pd.Index(booking_ids)
    pos = bidx.get_indexer(sid) if bidx.is_unique else None
    if pos is None:
        # duplicated booking ids: only an error when a split names one
        dup = bidx[bidx.duplicated()].unique()
        hit = sid.isin(dup).to_numpy()
        if hit.any():
            i = int(np.flatnonzero(hit)[0])
            problems.append(f"{location(names.splits, int(srows[i]), 'booking_id')}: booking "
                            f"{sid.iloc[i]!r} appears more than once in {names.bookings}, so "
                            "its split is ambiguous")
            return own_b, rep_text.to_numpy(), np.ones(n)
        first = ~bidx.duplicated()
        pos = pd.Index(booking_ids[first]).get_indexer(sid)
        pos = np.where(pos >= 0, np.flatnonzero(first)[np.maximum(pos, 0)], -1)
    unknown = pos < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        problems.append(f"{location(names.splits, int(srows[i]), 'booking_id')}: split for an "
                        f"unknown booking {sid.iloc[i][:40]!r} (not in {names.bookings})")
        return own_b, rep_text.to_numpy(), np.ones(n)
    sums = np.bincount(pos, weights=share, minlength=n)
    has_split = np.bincount(pos, minlength=n) > 0
    off = has_split & (np.abs(sums - 1.0) > SHARE_TOLERANCE)
    if off.any():
        bad_b = np.flatnonzero(off)
        first_row = {}
        for k, p in enumerate(pos):
            if off[p] and p not in first_row:
                first_row[p] = k
        k = min(first_row.values())
        p = pos[k]
        problems.append(f"{location(names.splits, int(srows[k]), 'share')}: the shares of "
                        f"booking {sid.iloc[k][:40]!r} sum to {sums[p]:.12g}, not 1 (±1e-9)"
                        + (f" (and {len(bad_b) - 1} more bookings)" if len(bad_b) > 1 else ""))
        return own_b, rep_text.to_numpy(), np.ones(n)
    own = np.flatnonzero(~has_split)
    alloc_b = np.concatenate([own, pos])
    alloc_rep = np.concatenate([rep_text.to_numpy()[own], srep.to_numpy()])
    alloc_share = np.concatenate([np.ones(len(own)), share])
    return alloc_b, alloc_rep, alloc_share


# ---------------------------------------------------------------------------------------
# simulation: the same rules on a simulated bookings cube
# ---------------------------------------------------------------------------------------
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
        for col, what in [(rule.amount, "amount"), *[(c, f"where.{c}") for c, _ in rule.where]]:
            if col not in df.columns:
                problems.append(f"{name}, header, field '{col}': column named by plan key "
                                f"'measures[{i}].credit.{what}' is not in the bookings file")
    if problems:
        raise InputError(problems)
    rows = _rows(np.arange(len(df)))
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
        x = r
        while x in manager:
            x = manager[x]
            anc.append(pos[x])
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
