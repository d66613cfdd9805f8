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
:func:`spm_models.comp.credit_cube.credit_cube` applies the same rules to a simulated bookings
cube (``rep × period × draw``) for the Monte Carlo simulation.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
        path: list[str] = []
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
