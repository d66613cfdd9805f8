"""Where a payout comes from, computed by the comp engine itself (no payout rule is re-coded).

- :func:`earnings_breakdown`: earned-to-date by measure, by tier (or pay curve) and bonuses.
  Each part is ``spm comp calc`` (:func:`spm_models.comp.calc_payouts`) on a *variant* of the
  plan in which everything but that part pays nothing (other rates and curve factors 0, bonus
  amounts 0, no draw). A tier's part is taken without the payout cap and the advance cap, so
  the difference between the measure's earned-to-date and the sum of its tiers is reported as
  one line, "payout cap and advance-cap pacing". Measures add up exactly (caps are per measure;
  modifiers scale a measure's own earnings); money is rounded to cents by ``calc`` as in the
  payout file, so a one-cent rounding line may appear.
- :func:`payout_mechanics`: draw top-ups per payout period, from the engine run on a plan that
  earns exactly the given earned-to-date sequence (one measure, rate 1.0 on revenue) with the
  original plan's payout frequency and draw, so the due/draw/clawback logic is the engine's.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.comp import Plan, calc_payouts, compute_payouts

CAP_LINE = "payout cap and advance-cap pacing"


def rate_label(basis: str, rate: float) -> str:
    """A tier rate as the plan documents word it (:mod:`.plain_words`): on a ``revenue`` basis
    a commission rate in percent (``0.1`` → ``rate 10 %``, exact, not rounded); on a
    ``target_incentive`` basis the share of the measure's target incentive per 1 % of
    attainment (spec/comp_plan.md rule 2: ``1.5`` → ``1.5 % of the measure's target incentive
    per 1 % of attainment``)."""
    if basis == "target_incentive":
        return f"{rate:g} % of the measure's target incentive per 1 % of attainment"
    return f"rate {round(rate * 100, 6):g} %"


def _zero_measure(m: dict[str, Any]) -> None:
    for t in m.get("tiers") or []:
        if isinstance(t, dict):
            t["rate"] = 0.0
    curve = m.get("curve")
    if isinstance(curve, dict) and curve.get("points"):
        curve["points"] = [[p[0], 0.0] for p in curve["points"]]


def _variant(plan: Plan, keep_measure: int, keep_tier: int | None = None) -> Plan:
    """The plan paying only measure ``keep_measure`` (only its tier ``keep_tier`` if given,
    then without payout cap and advance cap); no bonuses, no draw."""
    data = copy.deepcopy(plan.to_dict())
    data.pop("draw", None)
    for b in data.get("bonuses") or []:
        b["amount"] = 0.0
    for i, m in enumerate(data.get("measures") or []):
        if i != keep_measure:
            _zero_measure(m)
        elif keep_tier is not None:
            rates = [t.get("rate", 0.0) for t in m.get("tiers") or []]
            _zero_measure(m)
            m["tiers"][keep_tier]["rate"] = rates[keep_tier]
            _drop_caps(m)
    return Plan.from_dict(data, source=plan.source)


def _drop_caps(m: dict[str, Any]) -> None:
    m.pop("advance_cap", None)
    if isinstance(m.get("cap"), dict):
        m["cap"].pop("payout", None)
        if not m["cap"]:
            m.pop("cap")


def _uncapped(plan: Plan, keep_measure: int) -> Plan:
    """The plan paying only measure ``keep_measure``, without payout cap and advance cap."""
    data = copy.deepcopy(plan.to_dict())
    data.pop("draw", None)
    for b in data.get("bonuses") or []:
        b["amount"] = 0.0
    for i, m in enumerate(data["measures"]):
        if i != keep_measure:
            _zero_measure(m)
        else:
            _drop_caps(m)
    return Plan.from_dict(data, source=plan.source)


def _calc(plan: Plan, credits: pd.DataFrame, quotas: pd.DataFrame, reps: pd.DataFrame | None,
          names: tuple[str, str, str]) -> pd.DataFrame:
    return calc_payouts(plan, credits, quotas, reps, names=names).set_index(["rep_id", "period"])


def _etd(plan: Plan, credits: pd.DataFrame, quotas: pd.DataFrame, reps: pd.DataFrame | None,
         names: tuple[str, str, str]) -> pd.Series:
    return _calc(plan, credits, quotas, reps, names)["earned_to_date"]


def earnings_breakdown(plan: Plan, credits: pd.DataFrame, quotas: pd.DataFrame,
                       reps: pd.DataFrame | None = None,
                       names: tuple[str, str, str] = ("credits", "quotas", "reps")) -> pd.DataFrame:
    """Earned-to-date parts per rep and payout period (plan currency, rounded to cents).

    Returns a long frame ``rep_id, period, measure, part, earned_to_date`` where ``part`` is
    ``tier 1`` … (with the tier's band), ``pay curve``, :data:`CAP_LINE`, or, with measure
    ``bonuses``, each bonus's name. Also, with measure ``__total__``, the full plan's
    ``earned_to_date`` (part ``total``) and ``payout`` (part ``payout``, value in the
    ``earned_to_date`` column): the payout file's figures. Raises
    :class:`~spm_models.errors.InputError` as ``spm comp calc`` does for invalid tables.
    """
    rows: list[pd.DataFrame] = []

    def add(series: pd.Series, measure: str, part: str) -> None:
        f = series.rename("earned_to_date").reset_index()
        f["measure"], f["part"] = measure, part
        rows.append(f)

    full = _calc(plan, credits, quotas, reps, names)
    add(full["earned_to_date"], "__total__", "total")
    add(full["payout"], "__total__", "payout")
    for i, m in enumerate(plan.measures):
        measure_total = _etd(_variant(plan, i), credits, quotas, reps, names)
        tiers = getattr(m, "tiers", None) or ()
        parts = pd.Series(0.0, index=measure_total.index)
        if tiers:
            for k, t in enumerate(tiers):
                band = (f"{t.start * 100:g}–{t.end * 100:g} %" if t.end is not None
                        else f"above {t.start * 100:g} %")
                s = _etd(_variant(plan, i, keep_tier=k), credits, quotas, reps, names)
                add(s, m.name, f"tier {k + 1} ({band}, {rate_label(m.basis, t.rate)})")
                parts = parts + s
        else:
            s = _etd(_uncapped(plan, i), credits, quotas, reps, names)
            raw = (plan.to_dict().get("measures") or [{}])[i]
            mode = (raw.get("curve") or {}).get("interpolate", "linear") if isinstance(raw, dict) else ""
            add(s, m.name, f"pay curve ({mode})")
            parts = parts + s
        add((measure_total - parts).round(2), m.name, CAP_LINE)
    if plan.bonuses:
        for b in plan.bonuses:
            data = copy.deepcopy(plan.to_dict())
            data.pop("draw", None)
            for m in data["measures"]:
                _zero_measure(m)
            for bb in data["bonuses"]:
                if bb.get("name", None) != b.name:
                    bb["amount"] = 0.0
            add(_etd(Plan.from_dict(data, source=plan.source), credits, quotas, reps, names),
                "bonuses", b.name)
    return pd.concat(rows, ignore_index=True)


def payout_mechanics(plan: Plan, etd: pd.DataFrame) -> pd.DataFrame:
    """Draw top-ups of each rep and payout period, from an earned-to-date sequence.

    ``etd``: columns ``rep_id, period, earned_to_date`` (payout periods of ``plan``; missing
    periods count as unchanged earnings). Returns ``rep_id, period, payout, draw_topup`` from
    :func:`spm_models.comp.compute_payouts` (not rounded).
    """
    months = plan.months
    ends = plan.payout_period_ends
    reps = sorted(etd["rep_id"].astype(str).unique())
    wide = (etd.assign(rep_id=etd["rep_id"].astype(str))
            .pivot_table(index="rep_id", columns="period", values="earned_to_date", aggfunc="last")
            .reindex(index=reps, columns=ends).ffill(axis=1).fillna(0.0))
    inc = np.diff(wide.to_numpy(float), axis=1, prepend=0.0)
    credits = np.zeros((len(reps), 12))
    credits[:, [months.index(e) for e in ends]] = inc
    synthetic = Plan.from_dict({
        "name": f"{plan.name} (payout mechanics)", "plan_year_start": plan.plan_year_start,
        "payout_frequency": plan.payout_frequency,
        "measures": [{"name": "earned", "quota_period": "year", "basis": "revenue",
                      "tiers": [{"rate": 1.0}]}],
        **({"draw": {"amount": plan.draw.amount, "recoverable": plan.draw.recoverable}}
           if plan.draw is not None else {}),
    }, source=plan.source)
    dims, coords = ["rep", "period"], {"rep": reps, "period": months}
    ds = compute_payouts(synthetic, xr.DataArray(credits, dims=dims, coords=coords),
                         xr.DataArray(np.full((len(reps), 12), 1.0 / 12.0), dims=dims, coords=coords))
    out = ds[["payout", "draw_topup"]].to_dataframe().reset_index()
    return out[["rep", "period", "payout", "draw_topup"]].rename(columns={"rep": "rep_id"})
