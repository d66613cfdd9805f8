"""A comp plan in plain words, generated from the :class:`~spm_models.comp.plan.Plan` object.

The text is never written by hand: every sentence comes from a *rule*, a function
``rule(ctx) -> list[str]`` that reads one feature of the plan (tiers, threshold, cap, curve,
modifiers, advance cap, bonuses, draw, ...) and returns nothing when the plan lacks it. A
feature is read from the plan object's attribute when it has one and otherwise from the plan's
mapping (``Plan.raw``, the YAML as written, whose keys are fixed by ``spec/comp_plan.md``), so
attributes a plan version does not have are skipped rather than failing. To describe a new
plan feature, write a rule and add it to :data:`MEASURE_RULES` or :data:`PLAN_RULES`.

Rates and attainments follow the contract: 1.0 = 100 %; on a ``revenue`` basis a rate is a
commission rate on credited revenue; on a ``target_incentive`` basis a rate of 1.0 pays 1 % of
the measure's share of target incentive per 1 % of attainment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

PERIOD_WORDS = {"month": "month", "quarter": "quarter", "year": "plan year"}
FREQUENCY_WORDS = {"month": "monthly", "quarter": "quarterly", "year": "once a year"}


@dataclass(frozen=True)
class Section:
    """One titled block of sentences (the plan overview, a measure, bonuses, the draw)."""

    title: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class MeasureContext:
    """What a measure rule sees: the plan, the measure object, its YAML mapping, the rep's TI."""

    plan: Any
    measure: Any
    raw: dict[str, Any]
    target_incentive: float | None

    def get(self, key: str, default: Any = None) -> Any:
        """The feature ``key`` of the measure: the object's attribute, else the YAML value."""
        value = getattr(self.measure, key, None)
        if value is None:
            value = self.raw.get(key)
        return default if value is None else value

    @property
    def currency(self) -> str:
        return getattr(self.plan, "currency", None) or ""


# --------------------------------------------------------------------------- formatting
def pct(x: float) -> str:
    """``1.25`` → ``125 %`` (up to one decimal)."""
    v = round(float(x) * 100, 1)
    return f"{v:g} %"


def money(x: float, currency: str = "") -> str:
    """``120000`` → ``USD 120,000`` (cents shown only when not whole)."""
    v = float(x)
    s = f"{v:,.0f}" if abs(v - round(v)) < 0.005 else f"{v:,.2f}"
    return f"{currency} {s}".strip()


def _field(obj: Any, *names: str) -> Any:
    """The first of ``names`` present on ``obj`` (attribute or mapping key)."""
    for n in names:
        if isinstance(obj, dict) and obj.get(n) is not None:
            return obj[n]
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return None


def _pairs(points: Any) -> list[tuple[float, float]]:
    """``[[a, f], ...]`` or objects with two fields as ``(attainment, factor)`` pairs."""
    out = []
    for p in points or ():
        if isinstance(p, (list, tuple)) and len(p) >= 2:
            out.append((float(p[0]), float(p[1])))
        else:
            a = _field(p, "attainment", "at", "x")
            f = _field(p, "factor", "value", "y")
            if a is not None and f is not None:
                out.append((float(a), float(f)))
    return out


def _rate_words(ctx: MeasureContext, rate: float) -> str:
    if ctx.get("basis", "revenue") == "target_incentive":
        return f"{rate:g} % of the measure's target incentive per 1 % of attainment"
    return f"{pct(rate)} of credited revenue"


# --------------------------------------------------------------------------- measure rules
def rule_scope(ctx: MeasureContext) -> list[str]:
    qp = PERIOD_WORDS.get(str(ctx.get("quota_period", "year")), str(ctx.get("quota_period")))
    out = [(f"Attainment is your credited {ctx.get('name')} divided by your quota, per {qp}; "
            "cancellations lower it.")]
    if ctx.get("basis", "revenue") == "target_incentive":
        weight = float(ctx.get("weight", 1.0))
        ti = ctx.target_incentive
        share = (f" ({money(ti * weight, ctx.currency)} a year)" if ti is not None else "")
        out.append(f"This measure carries {pct(weight)} of your target incentive{share}.")
    return out


def rule_tiers(ctx: MeasureContext) -> list[str]:
    tiers = getattr(ctx.measure, "tiers", None) or ()
    if not tiers:
        return []
    bands = []
    for t in tiers:
        start = float(_field(t, "start", "from") or 0.0)
        end = _field(t, "end", "to")
        rate = float(_field(t, "rate") or 0.0)
        span = (f"from {pct(start)} to {pct(end)} of quota" if end is not None
                else f"above {pct(start)} of quota")
        bands.append(f"{span}: {_rate_words(ctx, rate)}")
    if ctx.get("retroactive", False):
        head = ("Retroactive tiers: the rate of the band you reach applies to all of your "
                "attainment from the first unit")
    else:
        head = "Marginal tiers: each rate applies only to the part of your attainment inside its band"
    return [f"{head} — " + "; ".join(bands) + "."]


def _curve(ctx: MeasureContext) -> tuple[list[tuple[float, float]], str]:
    """The measure's pay-curve points and interpolation, whichever form the plan holds them in:
    ``Measure.curve`` (a tuple of points, ``Measure.interpolate`` beside it), an object or
    mapping with ``points``/``interpolate`` (the YAML form)."""
    curve = ctx.get("curve")
    if not curve:
        curve = ctx.raw.get("curve")
    if not curve:
        return [], "linear"
    if isinstance(curve, (list, tuple)):
        points, mode = curve, ctx.get("interpolate", "linear")
    else:
        points = _field(curve, "points")
        mode = _field(curve, "interpolate", "interpolation") or ctx.get("interpolate", "linear")
    return _pairs(points), str(mode)


def _unit_words(ctx: MeasureContext) -> str:
    """Rule 2's unit ``U`` in words: the quota, or the measure's share of TI for the period."""
    qp = str(ctx.get("quota_period", "year"))
    words = PERIOD_WORDS.get(qp, qp)
    if ctx.get("basis", "revenue") != "target_incentive":
        return f"your quota for the {words}"
    share = f"the measure's share of your target incentive for the {words}"
    ti = ctx.target_incentive
    if ti is None:
        return share
    months = {"month": 1, "quarter": 3, "year": 12}.get(qp, 12)
    unit = float(ti) * float(ctx.get("weight", 1.0)) * months / 12
    return f"{share} ({money(unit, ctx.currency)})"


def rule_curve(ctx: MeasureContext) -> list[str]:
    points, mode = _curve(ctx)
    if not points:
        return []
    pts = ", ".join(f"{pct(a)} → {f:g}×" for a, f in points)
    unit = _unit_words(ctx)
    if mode == "step":
        how = ("Step pay curve: you earn the factor of the last point your attainment has reached "
               f"(reaching a point exactly counts), times {unit}; nothing below "
               f"{pct(points[0][0])}")
    else:
        how = ("Linear pay curve: the factor moves in a straight line between the points, times "
               f"{unit}; nothing below {pct(points[0][0])}, and the last factor above "
               f"{pct(points[-1][0])}")
    return [f"{how}. Points (attainment → factor): {pts}."]


def rule_threshold(ctx: MeasureContext) -> list[str]:
    thr = float(ctx.get("threshold", 0.0) or 0.0)
    return [f"Below {pct(thr)} of quota this measure pays nothing."] if thr > 0 else []


def rule_cap(ctx: MeasureContext) -> list[str]:
    out = []
    cap_att = ctx.get("cap_attainment")
    cap_pay = ctx.get("cap_payout")
    cap = ctx.raw.get("cap") if isinstance(ctx.raw.get("cap"), dict) else {}
    cap_att = cap_att if cap_att is not None else cap.get("attainment")
    cap_pay = cap_pay if cap_pay is not None else cap.get("payout")
    if cap_att is not None:
        out.append(f"Attainment above {pct(cap_att)} earns nothing more.")
    if cap_pay is not None:
        out.append(f"Earnings on this measure are capped at {money(cap_pay, ctx.currency)} "
                   "per plan year.")
    return out


def _is_gate(table: list[tuple[float, float]]) -> bool:
    """``[[0, 0], [at, 1]]`` (or just ``[[at, 1]]``): pay ×1 from ``at``, nothing below."""
    rows = table[1:] if len(table) == 2 and table[0] == (0.0, 0.0) else table
    return len(rows) == 1 and rows[0][1] == 1 and rows[0][0] > 0


def rule_modifiers(ctx: MeasureContext) -> list[str]:
    mods = ctx.get("modifiers") or ()
    qp = PERIOD_WORDS.get(str(ctx.get("quota_period", "year")), "quota period")
    out = []
    for mod in mods:
        name = _field(mod, "measure")
        table = _pairs(_field(mod, "table"))
        if name is None or not table:
            continue
        if _is_gate(table):
            out.append(f"Gate: this measure pays only once your {name} attainment in the same "
                       f"{qp} reaches {pct(table[-1][0])}.")
            continue
        steps = ", ".join(f"×{f:g} from {pct(a)}" for a, f in table)
        below = f", ×0 below {pct(table[0][0])}" if table[0][0] > 0 else ""
        out.append(f"Modifier: these earnings are multiplied by a factor set by your {name} "
                   f"attainment in the same {qp} ({steps}{below}).")
    return out


def rule_advance_cap(ctx: MeasureContext) -> list[str]:
    x = ctx.get("advance_cap")
    if x is None:
        return []
    qp = str(ctx.get("quota_period", "year"))
    if qp == "month":
        return [(f"Advance cap of {pct(x)}: with a monthly quota every month ends its quota "
                 "period, so it never holds earnings back.")]
    return [(f"Advance cap: before the last month of a {PERIOD_WORDS.get(qp, qp)}, what counts "
             f"for it is limited to {pct(x)} of its earnings at 100 % of quota, pro rata for the "
             "months elapsed; the last month counts in full (a true-up).")]


def _where(credit: Any) -> list[tuple[str, list[str]]]:
    """``where`` as ``(column, allowed values)`` pairs, from ``CreditRule.where`` (pairs) or
    the YAML mapping."""
    where = _field(credit, "where")
    if not where:
        return []
    items = where.items() if isinstance(where, dict) else where
    out = []
    for col, values in items:
        vals = values if isinstance(values, (list, tuple)) else [values]
        out.append((str(col), [str(v) for v in vals]))
    return out


def _or_words(values: list[str]) -> str:
    if len(values) <= 1:
        return values[0] if values else "(no value)"
    return ", ".join(values[:-1]) + " or " + values[-1]


def rule_credit(ctx: MeasureContext) -> list[str]:
    credit = ctx.get("credit") or ctx.raw.get("credit")
    if not credit:
        return []
    out = []
    amount = _field(credit, "amount")
    if amount and amount != "amount":
        out.append(f"You are credited each booking's {amount} (not its amount).")
    where = _where(credit)
    if where:
        conds = " and ".join(f"whose {col} is {_or_words(vals)}" for col, vals in where)
        out.append(f"Only bookings {conds} count toward this measure.")
    if _field(credit, "rollup"):
        out.append("You are also credited the bookings of everyone reporting to you, directly or "
                   "through others (by the reps' managers).")
    return out


#: measure rules, in the order their sentences appear; extend by appending a function
MEASURE_RULES: list[Callable[[MeasureContext], list[str]]] = [
    rule_scope, rule_credit, rule_tiers, rule_curve, rule_threshold, rule_cap, rule_modifiers,
    rule_advance_cap,
]


# --------------------------------------------------------------------------- plan rules
def rule_overview(plan: Any, ti: float | None) -> Section | None:
    freq = str(getattr(plan, "payout_frequency", "quarter"))
    start = getattr(plan, "plan_year_start", None)
    s = [f"Paid {FREQUENCY_WORDS.get(freq, freq)}"
         + (f", for the plan year starting {start}." if start else ".")]
    if ti is not None:
        s.append(f"Target incentive (pay at 100 % of quota): {money(ti, plan.currency or '')} a year.")
    return Section(f"Plan: {plan.name}", tuple(s))


def rule_bonuses(plan: Any, ti: float | None) -> Section | None:
    bonuses = getattr(plan, "bonuses", None) or ()
    if not bonuses:
        return None
    s = []
    for b in bonuses:
        measure = _field(b, "measure")
        try:
            qp = PERIOD_WORDS.get(plan.measure(measure).quota_period, "quota period")
        except (KeyError, AttributeError):
            qp = "quota period"
        s.append(f"{_field(b, 'name')}: {money(_field(b, 'amount'), plan.currency or '')} once in "
                 f"each {qp} in which your {measure} attainment reaches {pct(_field(b, 'at'))}.")
    return Section("Bonuses", tuple(s))


def rule_draw(plan: Any, ti: float | None) -> Section | None:
    draw = getattr(plan, "draw", None)
    if draw is None:
        return None
    freq = PERIOD_WORDS.get(str(plan.payout_frequency), "payout period")
    s = [f"You are paid at least {money(draw.amount, plan.currency or '')} each {freq}."]
    if draw.recoverable:
        s.append("The draw is recoverable: what it pays above your earnings is taken back from "
                 "later payouts of the same plan year, and forgiven after the last one.")
    else:
        s.append("The draw is not recoverable: what it pays above your earnings is yours to keep.")
    return Section("Draw", tuple(s))


def rule_payout_rule(plan: Any, ti: float | None) -> Section | None:
    return Section("How payouts work", (
        ("Each payout is what you have earned so far in the plan year less what you have already "
         "been paid."),
        ("If cancellations lower your earnings below what was paid, later payouts are held back "
         "until earnings catch up (a clawback carried forward)."),
    ))


def rule_splits(plan: Any, ti: float | None) -> Section | None:
    return Section("Shared bookings", (
        ("A booking split between reps credits each of them their share of it (the shares add up "
         "to 100 %); a booking that is not split credits its own rep in full."),
    ))


#: plan-level rules: the overview first, the measures' sections are inserted after it
PLAN_RULES: list[Callable[[Any, float | None], Section | None]] = [
    rule_splits, rule_bonuses, rule_draw, rule_payout_rule,
]


def _raw_measures(plan: Any) -> list[dict[str, Any]]:
    raw = getattr(plan, "raw", None) or {}
    items = raw.get("measures") if isinstance(raw, dict) else None
    return [m if isinstance(m, dict) else {} for m in (items or [])]


def measure_section(plan: Any, index: int, ti: float | None = None,
                    rules: Iterable[Callable[[MeasureContext], list[str]]] | None = None) -> Section:
    """The plain-words section of the plan's ``index``-th measure."""
    measure = plan.measures[index]
    raws = _raw_measures(plan)
    ctx = MeasureContext(plan, measure, raws[index] if index < len(raws) else {}, ti)
    sentences: list[str] = []
    for rule in (MEASURE_RULES if rules is None else rules):
        sentences += rule(ctx)
    return Section(f"Measure: {getattr(measure, 'name', index)}", tuple(sentences))


def plan_in_words(plan: Any, target_incentive: float | None = None) -> list[Section]:
    """The plan as titled sections of plain sentences.

    ``target_incentive`` is the rep's own (annual, plan currency); None uses the plan's.
    Features a plan lacks produce no sentence; the output depends only on the plan and the TI.
    """
    ti = target_incentive if target_incentive is not None else getattr(plan, "target_incentive", None)
    needs_ti = any(getattr(m, "basis", "revenue") == "target_incentive" for m in plan.measures)
    out = [s for s in [rule_overview(plan, ti if needs_ti else None)] if s]
    out += [measure_section(plan, i, ti) for i in range(len(plan.measures))]
    for rule in PLAN_RULES:
        sec = rule(plan, ti)
        if sec is not None:
            out.append(sec)
    return out


def as_text(sections: Sequence[Section]) -> str:
    """The sections as plain text (titles and sentences, one per line)."""
    lines = []
    for sec in sections:
        lines.append(sec.title)
        lines += [f"  {s}" for s in sec.sentences]
    return "\n".join(lines)
