"""Payout statements: one HTML page per rep and payout period (``spm comp statement``).

The payout file (``spm comp calc`` output) is the source of the headline figures: the payout,
earned-to-date and attainment of every row are shown as the file states them, and the
year-to-date payout is the sum of the rep's payouts through the period. Everything else is
computed by the comp engine (:mod:`.breakdown`): draw top-ups, recoveries and the balance
carried forward from the earned-to-date sequence; with ``--credits`` and ``--quotas``, the
earnings by measure and tier (or pay curve), bonuses and cap lines — and then the payout file
is checked against the engine (a row that differs by a cent is an error naming row and field).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spm_models.atomic import atomic_write_text
from spm_models.comp import Plan
from spm_models.comp.calc import read_table, round_cents
from spm_models.data.columns import canonical_columns, normalise_ids
from spm_models.data.csvfile import row_numbers
from spm_models.distribution.breakdown import CAP_LINE, earnings_breakdown, payout_mechanics
from spm_models.distribution.plan_docs import safe_file_name
from spm_models.distribution.statement_html import INDEX, STATEMENT
from spm_models.distribution.templates import STYLE
from spm_models.errors import InputError, Problems, UsageError, location
from spm_models.provenance import hash_file

TOLERANCE = 0.005  # payout-file figures are rounded to cents
#: payout vs. the payout rules on the file's own (rounded) earned-to-date: both sides carry a
#: rounding to cents, so they may differ by one cent
ARITHMETIC_TOLERANCE = 0.015


def _num(v: Any) -> float | None:
    try:
        x = float(str(v).strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def read_payouts(path: str | Path, plan: Plan) -> pd.DataFrame:
    """The payout file, validated: ``rep_id, period, earned_to_date, payout`` (+ attainments).

    Raises :class:`InputError` naming file, row and field for a missing column, a period that
    is not a payout period end of the plan, a duplicate row or a non-number; and naming file,
    rep and periods for a rep without a row for every payout period of the plan year (``spm
    comp calc`` writes them all; with one missing, the year to date, the amount counted as
    paid and the draw balance of every later statement would be wrong).
    """
    need = ["rep_id", "period", "earned_to_date", "payout"]
    raw = canonical_columns(read_table(path), need)
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError([f"{location(str(path), None, c)}: missing column (have: "
                          f"{', '.join(raw.columns)})" for c in missing])
    att_cols = [c for c in raw.columns if c.startswith("attainment_")]
    ends = set(plan.payout_period_ends)
    problems, rows, seen = Problems(), [], set()
    name = str(path)
    raw = raw.assign(rep_id=normalise_ids(raw["rep_id"]))
    # rows as the file numbers them (spm_models.data.csvfile: blank lines count)
    for i, rec in zip(row_numbers(raw).tolist(), raw.to_dict("records")):
        rep, period = rec["rep_id"], str(rec["period"]).strip()[:7]
        if not rep:
            problems.add_row(name, i, "rep_id", "empty rep_id", "empty rep_id")
            continue
        if period not in ends:
            problems.add_row(name, i, "period", f"{period!r} is not the last month of a payout "
                             f"period of plan {plan.name!r} ({', '.join(plan.payout_period_ends)})",
                             "not the last month of a payout period")
            continue
        if (rep, period) in seen:
            problems.add_row(name, i, "period", f"duplicate row for rep {rep}, {period}",
                             "duplicate rows")
            continue
        seen.add((rep, period))
        row = {"rep_id": rep, "period": period, "row": i}
        for c in ["earned_to_date", "payout"] + att_cols:
            v = _num(rec[c])
            if v is None and not (c.startswith("attainment_") and str(rec[c]).strip() == ""):
                problems.add_row(name, i, c, f"not a number: {rec[c]!r}", "not a number")
            row[c] = v
        rows.append(row)
    if problems:
        raise InputError(problems.lines())
    df = pd.DataFrame(rows)
    if df.empty:
        raise InputError(f"{path}: no payout rows")
    _check_complete(df, plan, name)
    return df.sort_values(["rep_id", "period"], kind="stable").reset_index(drop=True)


def _check_complete(df: pd.DataFrame, plan: Plan, name: str) -> None:
    """One line per rep missing a payout period of the plan year (file, rep, periods)."""
    ends = plan.payout_period_ends
    lines = []
    for rep, periods in df.groupby("rep_id", sort=True)["period"]:
        missing = [e for e in ends if e not in set(periods)]
        if missing:
            lines.append(f"{name}: rep {rep}: no row for payout period{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (spm comp calc writes a row for every payout "
                         f"period of the plan year; without {'them' if len(missing) > 1 else 'it'} "
                         "the paid-to-date and draw balance of the later statements would be "
                         "wrong); nothing written")
    if lines:
        raise InputError(lines)


def _credits_view(credits: pd.DataFrame | None, plan: Plan) -> pd.DataFrame | None:
    """Credits per rep, month and measure (raw amounts; invalid rows are caught by calc)."""
    if credits is None:
        return None
    c = canonical_columns(credits, ["rep_id", "period", "amount", "measure"]).copy()
    if "measure" not in c or len(plan.measures) == 1:
        c["measure"] = plan.measure_names[0] if "measure" not in c else c["measure"].replace("", plan.measure_names[0])
    c["rep_id"] = normalise_ids(c["rep_id"])
    c["period"] = c["period"].astype(str).str.strip().str[:7]
    c["amount"] = pd.to_numeric(c["amount"], errors="coerce").fillna(0.0)
    return c


def _check_against_engine(payouts: pd.DataFrame, engine: dict[str, pd.Series], path: str) -> None:
    problems = Problems()
    for rec in payouts.to_dict("records"):
        key = (rec["rep_id"], rec["period"])
        if key not in engine["earned_to_date"].index:
            problems.add_row(path, rec["row"], "rep_id", f"rep {rec['rep_id']} has no credits or "
                             "quotas in the given files", "no credits or quotas")
            continue
        for field in ("earned_to_date", "payout"):
            want = float(engine[field][key])
            if abs(rec[field] - want) > TOLERANCE:
                problems.add_row(path, rec["row"], field, f"{rec[field]:.2f} in the payout file, "
                                 f"but the plan, credits and quotas give {want:.2f}",
                                 "differs from the engine")
    if problems:
        raise InputError(problems.lines())


def _check_arithmetic(payouts: pd.DataFrame, mech: pd.DataFrame, path: str) -> None:
    """The statement's own arithmetic: the payout of every row must be what the plan's payout
    rules (due, draw top-up, recovery, clawback carry: :func:`payout_mechanics`, the engine)
    pay on the file's own earned-to-date sequence and earlier payouts; otherwise the "From
    earnings to payout" lines would not add up to the payout shown. One line per row, naming
    the row and field ``payout``. Tolerance :data:`ARITHMETIC_TOLERANCE` (the file's cents)."""
    problems = Problems()
    for rec in payouts.to_dict("records"):
        key = (rec["rep_id"], rec["period"])
        want = float(mech.at[key, "payout"])
        top = float(mech.at[key, "draw_topup"])
        if abs(rec["payout"] - want) > ARITHMETIC_TOLERANCE:
            parts = (f"due {want - top:,.2f} + draw top-up {top:,.2f}" if top else
                     f"due {want:,.2f}")
            problems.add_row(path, rec["row"], "payout", f"{rec['payout']:.2f} in the payout "
                             f"file, but its earned_to_date and earlier payouts under the plan's "
                             f"payout rules give {want:.2f} ({parts}): the statement would not "
                             "add up", "payout does not add up")
    if problems:
        raise InputError(problems.lines())


def _check_options(credits: object, quotas: object) -> None:
    """``--quotas`` without ``--credits`` is one line naming the missing option (the breakdown
    recomputes the earnings from both files; without credits every rep would earn 0)."""
    if quotas is not None and credits is None:
        raise UsageError("--credits: missing: --quotas needs --credits as well (the credits "
                         "file given to spm comp calc): the breakdown by measure and tier "
                         "recomputes the earnings from both; give --credits, or leave out "
                         "--quotas for statements without the breakdown")


def statement_views(plan: Plan, payouts: pd.DataFrame, credits: pd.DataFrame | None = None,
                    quotas: pd.DataFrame | None = None, reps: pd.DataFrame | None = None,
                    names: tuple[str, str, str, str] = ("payouts", "credits", "quotas", "reps"),
                    ) -> list[dict[str, Any]]:
    """One view (a dict the template renders) per rep and payout period of ``payouts``.

    Raises :class:`InputError` when ``quotas`` is given without ``credits`` (one line naming
    ``--credits``), for payouts that differ from the engine's on the given files, and (with or
    without them) for a payout that the file's own earned-to-date sequence does not give under
    the plan's payout rules (:func:`_check_arithmetic`)."""
    parts = None
    _check_options(credits, quotas)
    if quotas is not None:
        assert credits is not None
        parts = earnings_breakdown(plan, credits, quotas, reps, names=names[1:])
        tot = parts[parts["measure"] == "__total__"]
        engine = {f: tot[tot["part"] == p].set_index(["rep_id", "period"])["earned_to_date"]
                  for f, p in (("earned_to_date", "total"), ("payout", "payout"))}
        _check_against_engine(payouts, engine, names[0])
    mech = payout_mechanics(plan, payouts).set_index(["rep_id", "period"])
    _check_arithmetic(payouts, mech, names[0])
    rep_names = _rep_names(reps)
    cview = _credits_view(credits, plan)
    ends = plan.payout_period_ends
    pm = plan.payout_months
    views = []
    for rep, g in payouts.groupby("rep_id", sort=True):
        g = g.set_index("period").reindex(ends)
        paid = g["payout"].fillna(0.0).to_numpy()
        etd = g["earned_to_date"].ffill().fillna(0.0).to_numpy()
        topup = np.array([mech["draw_topup"].get((rep, p), 0.0) for p in ends])
        nonrec = plan.draw is not None and not plan.draw.recoverable
        counted = np.cumsum(paid - (topup if nonrec else 0.0))
        balance = np.maximum(counted - etd, 0.0)
        for k, period in enumerate(ends):
            if pd.isna(g["payout"].iloc[k]):
                continue
            prev_counted = counted[k - 1] if k else 0.0
            prev_balance = balance[k - 1] if k else 0.0
            due = etd[k] - prev_counted
            recovered = (max(0.0, prev_balance + (0.0 if nonrec else topup[k]) - balance[k])
                         if k else 0.0)
            first = plan.months[plan.months.index(period) - pm + 1]
            view = {
                "rep_id": rep, "name": rep_names.get(rep), "period": period, "first_month": first,
                "label": period if pm == 1 else f"{first}..{period}",
                "plan": plan.name, "currency": plan.currency or "",
                "payout": round_cents(paid[k]), "ytd": round_cents(float(paid[: k + 1].sum())),
                "earned_to_date": round_cents(etd[k]),
                "earned_this_period": round_cents(etd[k] - (etd[k - 1] if k else 0.0)),
                "paid_before": round_cents(float(paid[:k].sum())),
                "counted_before": round_cents(prev_counted), "due": round_cents(due),
                "draw_topup": round_cents(topup[k]), "recovered": round_cents(recovered),
                "balance": round_cents(balance[k]),
                "forgiven": round_cents(balance[k]) if (k == len(ends) - 1 and plan.draw is not None
                                                       and plan.draw.recoverable) else 0.0,
                "draw": plan.draw,
                "attainment": [(m, g[f"attainment_{m}"].iloc[k]) for m in plan.measure_names
                               if f"attainment_{m}" in g],
                "credits": _credit_rows(cview, rep, plan, first, period),
                "earnings": _earning_rows(parts, rep, period, ends[k - 1] if k else None),
            }
            views.append(view)
    return views


def _rep_names(reps: pd.DataFrame | None) -> dict[str, str]:
    """Rep id → display name from the reps file's ``name`` column (empty names skipped)."""
    if reps is None:
        return {}
    r = canonical_columns(reps, ["rep_id", "name"])
    if "rep_id" not in r or "name" not in r:
        return {}
    ids, names = normalise_ids(r["rep_id"]), r["name"].fillna("").astype(str).str.strip()
    return {i: n for i, n in zip(ids, names, strict=True) if i and n}


def _credit_rows(cview: pd.DataFrame | None, rep: str, plan: Plan, first: str,
                 period: str) -> list[tuple[str, float, float]] | None:
    if cview is None:
        return None
    mine = cview[cview["rep_id"] == rep]
    out = []
    for m in plan.measure_names:
        cm = mine[mine["measure"] == m]
        this = cm[(cm["period"] >= first) & (cm["period"] <= period)]["amount"].sum()
        ytd = cm[(cm["period"] >= plan.months[0]) & (cm["period"] <= period)]["amount"].sum()
        out.append((m, round_cents(float(this)), round_cents(float(ytd))))
    return out


def _earning_rows(parts: pd.DataFrame | None, rep: str, period: str,
                  prev: str | None) -> list[dict[str, Any]] | None:
    if parts is None:
        return None
    mine = parts[(parts["rep_id"] == rep) & (parts["measure"] != "__total__")]
    out = []
    for (measure, part), g in mine.groupby(["measure", "part"], sort=False):
        s = g.set_index("period")["earned_to_date"]
        now = float(s.get(period, 0.0))
        before = float(s.get(prev, 0.0)) if prev else 0.0
        if part == CAP_LINE and now == 0 and before == 0:
            continue
        out.append({"measure": measure, "part": part, "to_date": round_cents(now),
                    "this_period": round_cents(now - before)})
    return out


def write_statements(payouts: str | Path, plan: str | Path, out: str | Path,
                     credits: str | Path | None = None, quotas: str | Path | None = None,
                     reps: str | Path | None = None) -> list[Path]:
    """``spm comp statement``: read, check, render; every file written atomically at the end."""
    _check_options(credits, quotas)
    plan_obj = Plan.from_yaml(plan)
    pay = read_payouts(payouts, plan_obj)
    cdf = read_table(credits) if credits is not None else None
    qdf = read_table(quotas) if quotas is not None else None
    rdf = read_table(reps) if reps is not None else None
    views = statement_views(plan_obj, pay, cdf, qdf, rdf,
                            names=(str(payouts), str(credits) if credits else "credits",
                                   str(quotas) if quotas else "quotas", str(reps) if reps else "reps"))
    prov = {"plan": Path(plan).name, "plan_hash": hash_file(plan),
            "payouts": Path(payouts).name, "payouts_hash": hash_file(payouts),
            "credits": Path(credits).name if credits else None,
            "credits_hash": hash_file(credits) if credits else None,
            "quotas_hash": hash_file(quotas) if quotas else None}
    pages = []
    for v in views:
        v["file_name"] = safe_file_name(f"{v['rep_id']}").removesuffix(".html") + f"_{v['period']}.html"
        pages.append((v["file_name"], STATEMENT.render(v=v, prov=prov, style=STYLE,
                                                       breakdown=qdf is not None)))
    out = Path(out)
    written = []
    for name, html in pages:
        written.append(atomic_write_text(out / name, html))
    written.append(atomic_write_text(out / "index.html", INDEX.render(views=views, prov=prov,
                                                                      style=STYLE, plan=plan_obj.name)))
    return written
