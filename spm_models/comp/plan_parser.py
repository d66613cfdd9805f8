"""Validation of a comp plan mapping into a :class:`~spm_models.comp.plan.Plan`.

Collects every problem of one plan as a line ``FILE, key 'PATH': message`` and raises them
together as one :class:`~spm_models.errors.InputError` (unknown keys are errors: a typo must
not silently change pay). The plan format is docs/plan_format.md.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import re
from typing import Any

from spm_models.comp.plan import (
    BASES,
    FREQUENCIES,
    INTERPOLATIONS,
    MAX_MONEY,
    MAX_RATE,
    WEIGHT_TOLERANCE,
    Bonus,
    CreditRule,
    Draw,
    Measure,
    Modifier,
    Plan,
    Tier,
)
from spm_models.errors import InputError

_PLAN_KEYS = {
    "name", "currency", "plan_year_start", "payout_frequency", "target_incentive",
    "measures", "bonuses", "draw", "description",
}
_MEASURE_KEYS = {
    "name", "weight", "quota_period", "basis", "retroactive", "threshold", "tiers", "cap",
    "curve", "modifiers", "advance_cap", "credit",
}
_CURVE_KEYS = {"points", "interpolate"}
_MODIFIER_KEYS = {"measure", "table"}
_CREDIT_KEYS = {"amount", "where", "rollup"}
_TIER_KEYS = {"from", "to", "rate"}
_CAP_KEYS = {"attainment", "payout"}
_BONUS_KEYS = {"name", "measure", "at", "amount"}
_DRAW_KEYS = {"amount", "recoverable"}



def _short(v: Any, limit: int = 60) -> str:
    """``repr`` of a value cut to ``limit`` characters (never format unbounded input)."""
    text = repr(v) if not isinstance(v, (dict, list)) else type(v).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _as_text(x: Any) -> str:
    """A YAML scalar as the text a CSV cell would hold (``True`` → ``true``; 1.0 → ``1.0``)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x).strip()


class _Parser:
    """Collects every problem of one plan, then raises them together."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def err(self, key: str, msg: str) -> None:
        self.problems.append(f"{self.source}, key '{key}': {msg}")

    # scalar helpers --------------------------------------------------------------------
    def number(self, d: dict, key: str, path: str, *, required: bool = False,
               default: float | None = None, minimum: float | None = None,
               positive: bool = False, what: str = "value",
               money: bool = False) -> float | None:
        if key not in d or d[key] is None:
            if required:
                self.err(path, "missing (required)")
            return default
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.err(path, f"expected a number, got {v!r}")
            return default
        v = float(v)
        if not math.isfinite(v):
            self.err(path, f"expected a finite number, got {v!r}")
            return default
        bound = MAX_MONEY if money else MAX_RATE
        if abs(v) > bound:
            self.err(path, f"{what} {v:g} is beyond the accepted bound "
                           f"(|x| <= {bound:g}{' in money' if money else ''})")
            return default
        if positive and v <= 0:
            self.err(path, f"{what} must be positive, got {v:g}")
        elif minimum is not None and v < minimum:
            self.err(path, f"negative {what} {v:g}")
        return v

    def choice(self, d: dict, key: str, path: str, options: Any, default: str) -> str:
        v = d.get(key, default)
        if v is None:
            v = default
        if v not in options:
            self.err(path, f"must be one of {', '.join(options)}; got {v!r}")
            return default
        return str(v)

    def unknown(self, d: dict, allowed: set[str], path: str) -> None:
        for k in d:
            if k not in allowed:
                where = f"{path}.{k}" if path else str(k)
                self.err(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def mapping(self, v: Any, path: str) -> dict | None:
        if not isinstance(v, dict):
            self.err(path, f"expected a mapping, got {type(v).__name__}")
            return None
        return v

    # structure -------------------------------------------------------------------------
    def plan(self, data: Any) -> Plan:
        if not isinstance(data, dict):
            raise InputError(f"{self.source}: a plan must be a YAML mapping")
        self.unknown(data, _PLAN_KEYS, "")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            self.err("name", "missing (required)" if name is None else f"expected text, got {name!r}")
            name = ""
        start = self.plan_year_start(data.get("plan_year_start"))
        freq = self.choice(data, "payout_frequency", "payout_frequency", tuple(FREQUENCIES), "quarter")
        ti = self.number(data, "target_incentive", "target_incentive", minimum=0.0,
                         what="target_incentive", money=True)
        currency = data.get("currency")
        if currency is not None and not isinstance(currency, str):
            self.err("currency", f"expected text, got {currency!r}")
            currency = None
        measures = self.measures(data.get("measures"))
        names = [m.name for m in measures]
        bonuses = self.bonuses(data.get("bonuses"), names)
        draw = self.draw(data.get("draw"))
        ti_measures = [(i, m) for i, m in enumerate(measures) if m.basis == "target_incentive"]
        if ti_measures:
            total = sum(m.weight for _, m in ti_measures)
            if abs(total - 1.0) > WEIGHT_TOLERANCE:
                key = f"measures[{ti_measures[-1][0]}].weight"
                self.err(key, f"weights of the target_incentive measures sum to {total:g}, not 1")
        if self.problems:
            raise InputError(self.problems)
        return Plan(
            name=name, plan_year_start=start, payout_frequency=freq, measures=tuple(measures),
            currency=currency, target_incentive=ti, bonuses=tuple(bonuses), draw=draw,
            source=self.source, raw=copy.deepcopy(data),
        )

    def plan_year_start(self, v: Any) -> str:
        if v is None:
            self.err("plan_year_start", "missing (required), e.g. 2027-01")
            return "2000-01"
        if isinstance(v, (_dt.date, _dt.datetime)):
            return f"{v.year:04d}-{v.month:02d}"
        match = re.fullmatch(r"(\d{4})-(\d{1,2})(-0?1)?", v.strip()) if isinstance(v, str) else None
        if match and 1 <= int(match.group(2)) <= 12:
            return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"
        self.err("plan_year_start", f"expected a month YYYY-MM, got {v!r}")
        return "2000-01"

    def measures(self, v: Any) -> list[Measure]:
        if v is None:
            self.err("measures", "missing (required): one or more measures")
            return []
        if not isinstance(v, list) or not v:
            self.err("measures", "expected a non-empty list of measures")
            return []
        out: list[Measure] = []
        seen: set[str] = set()
        for i, item in enumerate(v):
            m = self.measure(item, f"measures[{i}]", single=len(v) == 1)
            if m is None:
                continue
            if m.name in seen:
                self.err(f"measures[{i}].name", f"duplicate measure name '{m.name}'")
            seen.add(m.name)
            out.append(m)
        self.check_modifiers(out, v)
        return out

    def check_modifiers(self, measures: list[Measure], raw: list) -> None:
        """Modifier measures exist, are not the measure itself, share its quota period and
        are not modified themselves (no nesting)."""
        by_name = {m.name: m for m in measures}
        index: dict[str, int] = {}
        for i, item in enumerate(raw):
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                index.setdefault(item["name"], i)
        for m in measures:
            i_raw = index.get(m.name)
            for j, mod in enumerate(m.modifiers):
                key = f"measures[{i_raw}].modifiers[{j}].measure"
                other = by_name.get(mod.measure)
                if other is None:
                    self.err(key, f"'{mod.measure}' is not a measure of the plan "
                                  f"({', '.join(by_name)})")
                elif other.name == m.name:
                    self.err(key, f"measure '{m.name}' cannot modify itself")
                elif other.quota_period != m.quota_period:
                    self.err(key, f"modifier measure '{other.name}' has quota_period "
                                  f"{other.quota_period}, not {m.quota_period} like "
                                  f"'{m.name}'")
                elif other.modifiers:
                    self.err(key, f"modifier measure '{other.name}' has modifiers itself "
                                  "(modifiers do not nest)")

    def measure(self, item: Any, p: str, single: bool) -> Measure | None:
        d = self.mapping(item, p)
        if d is None:
            return None
        self.unknown(d, _MEASURE_KEYS, p)
        name = d.get("name")
        if not isinstance(name, str) or not name.strip():
            self.err(f"{p}.name", "missing (required)" if name is None else f"expected text, got {name!r}")
            name = f"measure{p}"
        weight = self.number(d, "weight", f"{p}.weight", default=1.0, minimum=0.0, what="weight")
        qp = self.choice(d, "quota_period", f"{p}.quota_period", tuple(FREQUENCIES), "year")
        basis = self.choice(d, "basis", f"{p}.basis", BASES, "revenue")
        retro = d.get("retroactive", False)
        if retro is None:
            retro = False
        if not isinstance(retro, bool):
            self.err(f"{p}.retroactive", f"expected true or false, got {retro!r}")
            retro = False
        threshold = self.number(d, "threshold", f"{p}.threshold", default=0.0, minimum=0.0,
                                what="threshold")
        curve: list[tuple[float, float]] = []
        interpolate = "linear"
        if d.get("curve") is not None:
            if d.get("tiers") is not None:
                self.err(f"{p}.curve", "a measure has either 'tiers' or 'curve', not both")
            if "retroactive" in d:
                self.err(f"{p}.retroactive", "'retroactive' does not apply to a 'curve' "
                                             "(remove it)")
            curve, interpolate = self.curve(d["curve"], f"{p}.curve")
            tiers: list[Tier] = []
        else:
            tiers = self.tiers(d.get("tiers"), f"{p}.tiers")
        modifiers = self.modifiers(d.get("modifiers"), f"{p}.modifiers")
        advance_cap = self.number(d, "advance_cap", f"{p}.advance_cap", minimum=0.0,
                                  what="advance_cap")
        credit = self.credit(d.get("credit"), f"{p}.credit")
        cap_att = cap_pay = None
        if d.get("cap") is not None:
            cap = self.mapping(d["cap"], f"{p}.cap")
            if cap is not None:
                self.unknown(cap, _CAP_KEYS, f"{p}.cap")
                cap_att = self.number(cap, "attainment", f"{p}.cap.attainment", positive=True,
                                      what="cap attainment")
                cap_pay = self.number(cap, "payout", f"{p}.cap.payout", minimum=0.0,
                                      what="cap payout", money=True)
        return Measure(
            name=str(name), weight=float(weight or 0.0), quota_period=qp, basis=basis,
            retroactive=retro, threshold=float(threshold or 0.0), tiers=tuple(tiers),
            cap_attainment=cap_att, cap_payout=cap_pay, curve=tuple(curve),
            interpolate=interpolate, modifiers=tuple(modifiers), advance_cap=advance_cap,
            credit=credit,
        )

    def table(self, v: Any, p: str, what: str) -> list[tuple[float, float]]:
        """Pairs ``[attainment, factor]``: attainments strictly ascending and ≥ 0,
        factors ≥ 0."""
        if not isinstance(v, list) or not v:
            self.err(p, f"expected a non-empty list of [attainment, factor] {what}")
            return []
        out: list[tuple[float, float]] = []
        for i, pair in enumerate(v):
            ip = f"{p}[{i}]"
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                self.err(ip, f"expected a pair [attainment, factor], got {_short(pair)}")
                return []
            a = self.number({"a": pair[0]}, "a", f"{ip}[0]", required=True, minimum=0.0,
                            what="attainment")
            f = self.number({"f": pair[1]}, "f", f"{ip}[1]", required=True, minimum=0.0,
                            what="factor")
            if a is None or f is None:
                return []
            if out and a <= out[-1][0]:
                self.err(f"{ip}[0]", f"{what} not ascending: attainment {a:g} is not above "
                                     f"the previous {out[-1][0]:g}")
                return []
            out.append((a, f))
        return out

    def curve(self, v: Any, p: str) -> tuple[list[tuple[float, float]], str]:
        d = self.mapping(v, p)
        if d is None:
            return [], "linear"
        self.unknown(d, _CURVE_KEYS, p)
        interpolate = self.choice(d, "interpolate", f"{p}.interpolate", INTERPOLATIONS, "linear")
        if d.get("points") is None:
            self.err(f"{p}.points", "missing (required): [[attainment, factor], ...]")
            return [], interpolate
        return self.table(d["points"], f"{p}.points", "points"), interpolate

    def modifiers(self, v: Any, p: str) -> list[Modifier]:
        if v is None:
            return []
        if not isinstance(v, list):
            self.err(p, "expected a list of modifiers {measure, table}")
            return []
        out = []
        for j, item in enumerate(v):
            mp = f"{p}[{j}]"
            d = self.mapping(item, mp)
            if d is None:
                continue
            self.unknown(d, _MODIFIER_KEYS, mp)
            measure = d.get("measure")
            if not isinstance(measure, str) or not measure:
                self.err(f"{mp}.measure", "missing (required)" if measure is None
                         else f"expected a measure name, got {_short(measure)}")
                continue
            if d.get("table") is None:
                self.err(f"{mp}.table", "missing (required): [[attainment, factor], ...]")
                continue
            table = self.table(d["table"], f"{mp}.table", "table rows")
            if table:
                out.append(Modifier(measure=measure, table=tuple(table)))
        return out

    def credit(self, v: Any, p: str) -> CreditRule | None:
        if v is None:
            return None
        d = self.mapping(v, p)
        if d is None:
            return None
        self.unknown(d, _CREDIT_KEYS, p)
        amount = d.get("amount", "amount")
        if not isinstance(amount, str) or not amount.strip():
            self.err(f"{p}.amount", f"expected a bookings column name, got {_short(amount)}")
            amount = "amount"
        where: list[tuple[str, tuple[str, ...]]] = []
        if d.get("where") is not None:
            w = self.mapping(d["where"], f"{p}.where")
            for col, values in (w or {}).items():
                wp = f"{p}.where.{col}"
                if not isinstance(values, list):
                    values = [values]
                if not values:
                    self.err(wp, "expected a non-empty list of values")
                    continue
                bad = [x for x in values if isinstance(x, (dict, list)) or x is None]
                if bad:
                    self.err(wp, f"expected values as text or numbers, got {_short(bad[0])}")
                    continue
                where.append((str(col), tuple(_as_text(x) for x in values)))
        rollup = d.get("rollup", False)
        if rollup is None:
            rollup = False
        if not isinstance(rollup, bool):
            self.err(f"{p}.rollup", f"expected true or false, got {_short(rollup)}")
            rollup = False
        return CreditRule(amount=amount.strip(), where=tuple(where), rollup=rollup)

    def tiers(self, v: Any, p: str) -> list[Tier]:
        if v is None:
            self.err(p, "missing (required): one or more tiers")
            return []
        if not isinstance(v, list) or not v:
            self.err(p, "expected a non-empty list of tiers")
            return []
        out: list[Tier] = []
        prev_end: float | None = 0.0
        for i, item in enumerate(v):
            tp = f"{p}[{i}]"
            d = self.mapping(item, tp)
            if d is None:
                return out
            self.unknown(d, _TIER_KEYS, tp)
            rate = self.number(d, "rate", f"{tp}.rate", required=True, minimum=0.0, what="rate")
            start = self.number(d, "from", f"{tp}.from")
            end = self.number(d, "to", f"{tp}.to")
            last = i == len(v) - 1
            if start is None:
                start = prev_end if prev_end is not None else 0.0
            elif i == 0 and start != 0.0:
                self.err(f"{tp}.from", f"the first tier must start at 0, got {start:g}")
            elif prev_end is not None and start != prev_end:
                self.err(f"{tp}.from", f"tiers not ascending/contiguous: starts at {start:g} "
                                       f"but the previous tier ends at {prev_end:g}")
            if end is None and not last:
                self.err(f"{tp}.to", "missing: only the last tier may omit 'to'")
            if end is not None and end <= start:
                self.err(f"{tp}.to", f"tiers not ascending: 'to' {end:g} is not above "
                                     f"the tier's start {start:g}")
            out.append(Tier(start=float(start), end=end, rate=float(rate or 0.0)))
            prev_end = end
        return out

    def bonuses(self, v: Any, measure_names: list[str]) -> list[Bonus]:
        if v is None:
            return []
        if not isinstance(v, list):
            self.err("bonuses", "expected a list of bonuses")
            return []
        out = []
        for i, item in enumerate(v):
            p = f"bonuses[{i}]"
            d = self.mapping(item, p)
            if d is None:
                continue
            self.unknown(d, _BONUS_KEYS, p)
            name = d.get("name", f"bonus{i + 1}")
            if not isinstance(name, str) or not name:
                self.err(f"{p}.name", f"expected text, got {name!r}")
                name = f"bonus{i + 1}"
            measure = d.get("measure")
            if measure is None:
                if len(measure_names) == 1:
                    measure = measure_names[0]
                else:
                    self.err(f"{p}.measure", "missing: required when the plan has several measures")
                    measure = ""
            elif measure not in measure_names:
                self.err(f"{p}.measure", f"'{measure}' is not a measure of the plan "
                                         f"({', '.join(measure_names)})")
            at = self.number(d, "at", f"{p}.at", required=True, minimum=0.0, what="attainment")
            amount = self.number(d, "amount", f"{p}.amount", required=True, minimum=0.0,
                                 what="amount", money=True)
            out.append(Bonus(name=str(name), measure=str(measure), at=float(at or 0.0),
                             amount=float(amount or 0.0)))
        names = [b.name for b in out]
        for i, n in enumerate(names):
            if n in names[:i]:
                self.err(f"bonuses[{i}].name", f"duplicate bonus name '{n}'")
        return out

    def draw(self, v: Any) -> Draw | None:
        if v is None:
            return None
        d = self.mapping(v, "draw")
        if d is None:
            return None
        self.unknown(d, _DRAW_KEYS, "draw")
        amount = self.number(d, "amount", "draw.amount", required=True, minimum=0.0,
                             what="draw amount", money=True)
        rec = d.get("recoverable", True)
        if not isinstance(rec, bool):
            self.err("draw.recoverable", f"expected true or false, got {rec!r}")
            rec = True
        return Draw(amount=float(amount or 0.0), recoverable=rec)


def parse_plan(data: Any, source: str = "plan") -> Plan:
    """Validate a plan given as a mapping (as read from YAML); raises :class:`InputError`
    with every problem of the plan, each naming ``source`` and the key."""
    return _Parser(source).plan(data)
