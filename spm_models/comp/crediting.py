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

import warnings

import numpy as np
import pandas as pd

from spm_models.comp.credit_columns import (  # noqa: F401 - Names, CreditingWarning re-exported
    CreditingWarning,
    Names,
    _arrow,
    _codes,
    _fast_numbers,
    _header,
    _id_codes,
    _month_of,
    _numbers,
    _text,
    _warn_repeated_ids,
    _warn_unlisted,
    _where_unmatched,
)
from spm_models.comp.plan import CreditRule, Plan
from spm_models.data.columns import ID_INTEGRAL_PATTERN, canonical_columns, normalise_ids
from spm_models.data.csvfile import row_numbers
from spm_models.data.hints import date_hint
from spm_models.errors import InputError, location, row_problems

#: Split shares of one booking must sum to 1 within this tolerance (contract).
SHARE_TOLERANCE = 1e-9
#: Credit sums are rounded to this many decimals (micro-units: far below a cent) so that
#: float noise neither writes ``60000.00000000001`` nor keeps a row whose sum is zero.
CREDIT_DECIMALS = 6
BOOKING_COLUMNS = ["booking_id", "rep_id", "date", "amount"]
CREDIT_COLUMNS = ["rep_id", "period", "amount", "measure"]
SPLIT_COLUMNS = ["booking_id", "rep_id", "share"]



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
    df = canonical_columns(reps_df, ["rep_id", "manager_id"])
    cols = [str(c) for c in df.columns]
    if "manager_id" not in cols or "rep_id" not in cols:
        missing = "manager_id" if "manager_id" not in cols else "rep_id"
        problems.append(f"{names.reps}, header, field '{missing}': missing column, needed by "
                        f"plan key '{key}' (have: {', '.join(cols) or 'none'})")
        return {}
    reps = normalise_ids(df["rep_id"]).to_numpy()
    mgrs = normalise_ids(df["manager_id"]).to_numpy()
    rows = row_numbers(df)
    manager: dict[str, str] = {}
    row_of: dict[str, int] = {}
    empty, dup = [], []
    for rep, mgr, row in zip(reps, mgrs, rows):
        if not rep:
            empty.append(int(row))
        elif rep in row_of:
            dup.append((int(row), rep))
        else:
            row_of[rep] = int(row)
            if mgr:
                manager[rep] = mgr
    if empty or dup:
        problems.extend(row_problems(names.reps, "rep_id", empty, "empty rep_id", "empty rep_id"))
        problems.extend(row_problems(names.reps, "rep_id", [r for r, _ in dup],
                                     lambda k: f"duplicate rep {dup[k][1]}", "duplicate reps"))
        return {}
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
                    plan_year_only: bool = True, date_format: str | None = None) -> pd.DataFrame:
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
    date_format : ``"DMY"``/``"MDY"`` (``source.yaml``'s ``date_format``) for numeric dates
        such as ``03/01/2027`` whose day/month order the column does not decide.

    Header names match in any case (``Booking_ID``). A ``where`` value that no row has, and
    a ``booking_id`` on several rows (each row is credited), raise a
    :class:`CreditingWarning`: both are likely mistakes that credit less, or twice.

    Returns
    -------
    DataFrame ``rep_id, period, amount, measure``: one row per rep, month and measure with a
    non-zero sum, sorted by rep, measure, period (amounts in the bookings' currency,
    rounded to 1e-6).

    Raises
    ------
    InputError
        Every problem of the inputs together (each check runs; those of a table missing a
        required column are skipped), one line each naming file, row (or plan key) and field,
        a check failing on many rows capped at :data:`spm_models.errors.MAX_ROWS_NAMED` rows
        and one ``... and N more`` line: a missing column
        (the four required ones, or one named by ``where``/``amount``), a bad date or
        amount, a split for an unknown booking, split shares not summing to 1, a
        ``manager_id`` cycle, ``rollup`` without a ``manager_id`` column.
    """
    names = names or Names(plan=plan.source)
    problems: list[str] = []
    rules = _rules(plan, names, problems)
    b = canonical_columns(bookings, BOOKING_COLUMNS + [c for r in rules for c, _ in r.columns()])
    n_before = len(problems)
    _header(b, names.bookings, BOOKING_COLUMNS, problems)
    for i, rule in enumerate(rules):
        key = f"measures[{i}].credit"
        for col, what in rule.columns():
            if col not in b.columns:
                problems.append(f"{names.bookings}, header, field '{col}': column named by plan "
                                f"key '{key}.{what}' is not in the bookings file (have: "
                                f"{', '.join(b.columns)})")
    header_ok = len(problems) == n_before
    # every check runs and every problem is reported together (as spm comp calc does); the
    # checks of a table whose required columns are missing are skipped
    manager = _hierarchy(reps, plan, rules, names, problems)
    if not header_ok:
        if splits is not None:
            _header(canonical_columns(splits, SPLIT_COLUMNS), names.splits, SPLIT_COLUMNS,
                    problems)
        raise InputError(problems)
    n = len(b)
    rows = row_numbers(b)
    period_codes, period_labels = _periods(b["date"], rows, plan, names, problems,
                                           plan_year_only, date_format)
    _warn_repeated_ids(b["booking_id"], rows, names)
    rep_codes, rep_uniques = _id_codes(b["rep_id"])
    empty = rep_uniques[rep_codes] == "" if len(rep_uniques) else np.zeros(n, dtype=bool)
    if empty.any():
        problems.extend(row_problems(names.bookings, "rep_id", rows[empty], "empty rep_id",
                                     "empty rep_id"))
    keeps = [_kept(b, rule, i, names) for i, rule in enumerate(rules)]
    values = _amounts(b, rules, keeps, rows, names, problems)
    # allocation: (booking index, rep, share) rows; reps as codes into all_reps
    alloc_b, alloc_src, alloc_code, alloc_share, split_reps = _allocation(
        b["booking_id"], rep_codes, splits, names, problems)
    if problems:
        raise InputError(problems)
    _warn_unclawed(b, rules, keeps, rows, names)
    assert period_codes is not None and period_labels is not None
    n_t = len(period_labels)
    if reps is not None and any(r.rollup for r in rules):
        _warn_unlisted(np.concatenate([rep_uniques, split_reps]), reps, names)
    all_reps = pd.Index(pd.unique(np.concatenate([
        rep_uniques, split_reps, np.array(list(manager), dtype=object),
        np.array(list(manager.values()), dtype=object)])))
    codes = {r: k for k, r in enumerate(all_reps)}
    maps = (all_reps.get_indexer(rep_uniques), all_reps.get_indexer(split_reps))
    alloc_rep = np.empty(len(alloc_b), dtype=np.int64)
    for src, to_all in enumerate(maps):
        sel = alloc_src == src
        alloc_rep[sel] = to_all[alloc_code[sel]]
    levels = _levels(manager, codes) if manager else []
    n_r = len(all_reps)

    frames = []
    for m, rule, keep in zip(plan.measures, rules, keeps):
        vals = np.where(keep, values[rule.amount], 0.0)
        contrib = vals[alloc_b] * alloc_share
        idx = alloc_rep * n_t + period_codes[alloc_b]
        total = np.bincount(idx, weights=contrib, minlength=n_r * n_t).reshape(n_r, n_t)
        if rule.rollup:
            total = _roll_up(total, levels)
        frames.append(_frame(total, all_reps, period_labels, m.name))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CREDIT_COLUMNS)
    return out.sort_values(["rep_id", "measure", "period"], kind="stable").reset_index(drop=True)


def _periods(dates: pd.Series, rows: np.ndarray, plan: Plan, names: Names, problems: list[str],
             plan_year_only: bool, date_format: str | None
             ) -> tuple[np.ndarray | None, list[str] | None]:
    """Period code of every booking and the period labels (the plan's months, or the months
    present with ``plan_year_only=False``); ``(None, None)`` after adding the problems (an
    ambiguous day/month order, bad dates, dates outside the plan year).

    The distinct values are parsed once: ISO first, then the data layer's reader for
    day-first / month-first spellings, ``date_format`` deciding."""
    d_codes, d_uniques = _codes(dates)
    months = np.array([_month_of(v) for v in d_uniques], dtype=object)
    other = np.flatnonzero([m is None and str(v).strip() != "" for m, v in zip(months, d_uniques)])
    if len(other):
        from spm_models.data.dates import parse_dates

        res = parse_dates(pd.Series([str(d_uniques[k]).strip() for k in other], dtype=object),
                          date_format, f"set date_format: DD/MM/YYYY or MM/DD/YYYY in "
                          f"source.yaml beside {names.bookings}")
        if res.problem:
            problems.append(f"{names.bookings}, field 'date': {res.problem}")
            return None, None
        for k, d in zip(other, res.values):
            if not pd.isna(d):
                months[k] = f"{d.year:04d}-{d.month:02d}"
    bad = np.array([m is None for m in months], dtype=bool)[d_codes]
    if bad.any():
        pos = np.flatnonzero(bad)
        problems.extend(row_problems(
            names.bookings, "date", rows[pos],
            lambda k: f"not a date YYYY-MM-DD: {str(d_uniques[d_codes[pos[k]]])[:40]!r}"
                      f"{date_hint(d_uniques[d_codes[pos[k]]])}",
            "not a date YYYY-MM-DD"))
    plan_months = plan.months
    month_pos = {m: k for k, m in enumerate(plan_months)}
    if plan_year_only:
        outside = np.array([m is not None and m not in month_pos for m in months],
                           dtype=bool)[d_codes]
        if outside.any():
            pos = np.flatnonzero(outside)
            year = f"the plan year {plan_months[0]}..{plan_months[-1]}"
            problems.extend(row_problems(
                names.bookings, "date", rows[pos],
                lambda k: f"{months[d_codes[pos[k]]]} is outside {year}", f"outside {year}"))
        if bad.any() or outside.any():
            return None, None
        return (np.array([month_pos[m] for m in months], dtype=np.int64)[d_codes],
                list(plan_months))
    if bad.any():
        return None, None
    p_codes, labels = pd.factorize(months)
    return p_codes[d_codes], list(labels)


def _warn_unclawed(b: pd.DataFrame, rules: list[CreditRule], keeps: list[np.ndarray],
                   rows: np.ndarray, names: Names) -> None:
    """Warn about cancellations (negative ``amount`` rows) that pass no measure's ``where``
    filter: no measure claws them back, so the plan pays on deals that were cancelled (e.g. a
    CRM export typing them ``cancellation`` while the plan filters ``deal_type``)."""
    if not rules or not all(r.where for r in rules) or "amount" not in b.columns:
        return
    nobody = ~np.logical_or.reduce(keeps)
    if not nobody.any():
        return
    idx = np.flatnonzero(nobody)  # parse only the rows no measure credits
    amount = pd.to_numeric(b["amount"].iloc[idx], errors="coerce").to_numpy(dtype=float)
    neg = amount < 0
    if neg.any():
        at = ", ".join(str(r) for r in rows[idx[neg]][:5]) + (" ..." if neg.sum() > 5 else "")
        cols = sorted({c for r in rules for c, _ in r.where})
        warnings.warn(f"{names.bookings}, row{'s' if neg.sum() > 1 else ''} {at}, field 'amount': "
                      f"{int(neg.sum())} cancellation(s) (negative amounts, total "
                      f"{amount[neg].sum():,.2f}) pass no measure's where filter, so no measure "
                      f"claws them back (give a cancellation its deal's {', '.join(cols)})",
                      CreditingWarning, stacklevel=3)


def _kept(b: pd.DataFrame, rule: CreditRule, i: int, names: Names) -> np.ndarray:
    """The bookings passing measure ``i``'s ``where`` filter (a warning for each listed value
    no row has)."""
    keep = np.ones(len(b), dtype=bool)
    for col, allowed in rule.where:
        w_codes, w_uniques = _codes(b[col])
        keep &= pd.Series(w_uniques, dtype=object).isin(allowed).to_numpy()[w_codes]
        _where_unmatched(col, allowed, w_uniques, i, names)
    return keep


def _amounts(b: pd.DataFrame, rules: list[CreditRule], keeps: list[np.ndarray], rows: np.ndarray,
             names: Names, problems: list[str]) -> dict[str, np.ndarray]:
    """Each amount column the rules credit, parsed once on the rows some rule credits from it
    (0 elsewhere; a bad cell is one problem, however many measures read it)."""
    out: dict[str, np.ndarray] = {}
    for col in dict.fromkeys(r.amount for r in rules):
        used = np.zeros(len(b), dtype=bool)
        for rule, keep in zip(rules, keeps):
            if rule.amount == col:
                used |= keep
        vals = np.zeros(len(b))
        if used.all():
            vals = _fast_numbers(b[col], names.bookings, col, rows, problems)
        elif used.any():
            sel = np.flatnonzero(used)
            vals[sel] = _fast_numbers(b[col].iloc[sel], names.bookings, col, rows[sel], problems)
        out[col] = vals
    return out


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


def _booking_rows(booking_ids: pd.Series, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ``wanted`` booking ids (distinct stripped texts): the first row with
    that id in ``booking_ids`` (-1: none) and how many rows have it. Only the wanted ids
    are hashed (the splits), the bookings are probed against them."""
    k = len(wanted)
    arr = _arrow(booking_ids)
    if arr is not None and k:
        import pyarrow as pa
        import pyarrow.compute as pc

        ids = pc.replace_substring_regex(pc.fill_null(pc.utf8_trim_whitespace(arr), ""),
                                         pattern=ID_INTEGRAL_PATTERN, replacement=r"\1")
        hit = pc.fill_null(pc.index_in(ids, value_set=pa.array(list(wanted), type=pa.string())),
                           -1).to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        codes, uniques = _id_codes(booking_ids)
        hit = pd.Index(wanted).get_indexer(uniques)[codes] if k and len(uniques) else \
            np.full(len(codes), -1, dtype=np.int64)
    rows = np.flatnonzero(hit >= 0)
    keys = hit[rows]
    count = np.bincount(keys, minlength=k)
    first = np.full(k, -1, dtype=np.int64)
    first[keys[::-1]] = rows[::-1]
    return first, count


def _allocation(booking_ids: pd.Series, rep_codes: np.ndarray, splits: pd.DataFrame | None,
                names: Names, problems: list[str]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Booking index, rep and share of every credit line (split rows replace the booking's
    own rep). A line's rep is ``(source, code)``: source 0 → ``rep_codes``' values (the
    booking's own rep), 1 → the returned split reps (distinct stripped texts)."""
    n = len(rep_codes)
    own = (np.arange(n), np.zeros(n, dtype=np.int8), rep_codes, np.ones(n),
           np.array([], dtype=object))
    if splits is None:
        return own
    s = canonical_columns(splits, SPLIT_COLUMNS)
    n_before = len(problems)
    _header(s, names.splits, SPLIT_COLUMNS, problems)
    if len(problems) > n_before:
        return own
    # every check runs; a row failing one is left out of the checks after it
    srows = row_numbers(s)
    sid_codes, sid_u = _id_codes(s["booking_id"])
    srep_codes, srep_u = _id_codes(s["rep_id"])
    share = _fast_numbers(s["share"], names.splits, "share", srows, problems)
    ok = np.isfinite(share)
    for field, cds, uq in (("booking_id", sid_codes, sid_u), ("rep_id", srep_codes, srep_u)):
        empty = uq[cds] == "" if len(uq) else np.zeros(len(cds), dtype=bool)
        if empty.any():
            problems.extend(row_problems(names.splits, field, srows[empty], f"empty {field}",
                                         f"empty {field}"))
            ok &= ~empty
    neg = ok & (share < 0)
    if neg.any():
        pos = np.flatnonzero(neg)
        problems.extend(row_problems(names.splits, "share", srows[pos],
                                     lambda k: f"negative share {share[pos[k]]:g}", "negative share"))
        ok &= ~neg
    first, count = _booking_rows(booking_ids, sid_u)
    u_pos = first[sid_codes]
    dup = ok & (count[sid_codes] > 1)
    if dup.any():
        # duplicated booking ids: only an error when a split names one
        pos = np.flatnonzero(dup)
        problems.extend(row_problems(
            names.splits, "booking_id", srows[pos],
            lambda k: f"booking {sid_u[sid_codes[pos[k]]][:40]!r} appears more than once in "
                      f"{names.bookings}, so its split is ambiguous",
            f"a booking that appears more than once in {names.bookings}"))
        ok &= ~dup
    unknown = ok & (u_pos < 0)
    if unknown.any():
        pos = np.flatnonzero(unknown)
        problems.extend(row_problems(
            names.splits, "booking_id", srows[pos],
            lambda k: f"split for an unknown booking {sid_u[sid_codes[pos[k]]][:40]!r} (not in "
                      f"{names.bookings})", f"unknown booking, not in {names.bookings}"))
        ok &= ~unknown
    # the shares of a booking with a bad split row are not summed (that row is named already)
    bad_booking = np.zeros(n, dtype=bool)
    bad_booking[u_pos[~ok & (u_pos >= 0)]] = True
    sel = np.flatnonzero(ok & ~bad_booking[np.maximum(u_pos, 0)])
    sums = np.bincount(u_pos[sel], weights=share[sel], minlength=n)
    has_split = np.bincount(u_pos[sel], minlength=n) > 0
    off = has_split & (np.abs(sums - 1.0) > SHARE_TOLERANCE)
    if off.any():
        # each booking whose shares do not sum to 1, named on its first split row
        firsts = np.full(n, len(srows), dtype=np.int64)
        np.minimum.at(firsts, u_pos[sel], sel)
        at = np.sort(firsts[np.flatnonzero(off)])
        problems.extend(row_problems(
            names.splits, "share", srows[at],
            lambda k: f"the shares of booking {sid_u[sid_codes[at[k]]][:40]!r} sum to "
                      f"{sums[u_pos[at[k]]]:.12g}, not 1 (±1e-9)",
            "the shares of a booking do not sum to 1 (±1e-9)"))
    if len(problems) > n_before:
        return own
    pos = u_pos
    own_b = np.flatnonzero(~has_split)
    alloc_b = np.concatenate([own_b, pos])
    alloc_src = np.concatenate([np.zeros(len(own_b), dtype=np.int8),
                                np.ones(len(pos), dtype=np.int8)])
    alloc_code = np.concatenate([rep_codes[own_b], srep_codes])
    alloc_share = np.concatenate([np.ones(len(own_b)), share])
    return alloc_b, alloc_src, alloc_code, alloc_share, srep_u
