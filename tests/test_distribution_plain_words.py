"""Plain words on real :class:`Plan` objects: every part-2 key of every shipped plan
(curve linear/step, modifiers, advance cap, credit amount/where/rollup) and splits gets a
sentence stating its values (docs/distribution.md, "Plain words")."""

from __future__ import annotations

from pathlib import Path

import pytest

from spm_models.comp import Plan
from spm_models.distribution.plain_words import as_text, pct, plan_in_words

PLANS = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "plans").glob("*.yaml"))

#: a tester's plan (/tmp/nu2 plan_ae.yaml): a linear curve with threshold, cap, advance cap
LINEAR = {
    "name": "AE curve FY27", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 50000,
    "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
                  "threshold": 0.3,
                  "curve": {"points": [[0.5, 0.25], [1.0, 1.0], [1.5, 2.0]], "interpolate": "linear"},
                  "cap": {"attainment": 2.0}, "advance_cap": 1.0}],
    "bonuses": [{"name": "club", "at": 1.2, "amount": 3000}],
}


def _measure_text(plan: Plan, name: str) -> str:
    sections = {s.title: s.sentences for s in plan_in_words(plan)}
    return "\n".join(sections[f"Measure: {name}"])


def _or(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _all_plans() -> list[Plan]:
    return [Plan.from_yaml(p) for p in PLANS] + [Plan.from_dict(LINEAR)]


@pytest.mark.parametrize("plan", _all_plans(), ids=lambda p: p.name)
def test_every_part_two_key_has_a_sentence_with_its_values(plan: Plan) -> None:
    text = as_text(plan_in_words(plan))
    assert "A booking split between reps credits each of them their share" in text
    for m in plan.measures:
        words = _measure_text(plan, m.name)
        if m.curve:
            head = "Step pay curve" if m.interpolate == "step" else "Linear pay curve"
            assert head in words
            for a, f in m.curve:
                assert f"{pct(a)} → {f:g}×" in words
        else:
            assert "pay curve" not in words
        credit = m.credit
        if credit is not None and credit.amount != "amount":
            assert f"credited each booking's {credit.amount}" in words
        for col, values in (credit.where if credit is not None else ()):
            assert f"whose {col} is {_or(values)}" in words
        assert ("reporting to you" in words) == bool(credit is not None and credit.rollup)
        for mod in m.modifiers:
            assert f"your {mod.measure} attainment" in words
            for a, f in mod.table:
                assert f"×{f:g} from {pct(a)}" in words or (f == 1 and f"reaches {pct(a)}" in words)
        assert ("Advance cap" in words) == (m.advance_cap is not None)
        if m.advance_cap is not None:
            assert f"limited to {pct(m.advance_cap)} of its earnings at 100 % of quota" in words


def test_shipped_plans_cover_every_part_two_key() -> None:
    """The test above is not vacuous: each part-2 key occurs in a plan it checks."""
    ms = [m for p in _all_plans() for m in p.measures]
    assert any(m.curve and m.interpolate == "step" for m in ms)
    assert any(m.curve and m.interpolate == "linear" for m in ms)
    assert any(m.modifiers for m in ms) and any(m.advance_cap is not None for m in ms)
    assert any(m.credit and m.credit.where for m in ms)
    assert any(m.credit and m.credit.amount != "amount" for m in ms)
    assert any(m.credit and m.credit.rollup for m in ms)


def test_hand_written_sentences_for_the_shipped_plans() -> None:
    plans = {p.stem: Plan.from_yaml(p) for p in PLANS}
    nvr = plans["ae_new_vs_renewal"]
    assert ("Only bookings whose deal_type is new or upsell count toward this measure."
            in _measure_text(nvr, "new_business"))
    assert ("Only bookings whose deal_type is renewal count toward this measure."
            in _measure_text(nvr, "renewals"))
    step = _measure_text(plans["mbo_step_bonus"], "bookings")
    # U = TI × weight × 3 / 12 = 40,000 / 4
    assert "Step pay curve" in step and "for the quarter (USD 10,000)" in step
    assert "Points (attainment → factor): 80 % → 0.5×, 100 % → 1×, 120 % → 1.5×." in step
    gate = _measure_text(plans["ae_gross_margin_gate"], "bookings")
    assert "gross_margin attainment in the same quarter (×0 from 0 %, ×1 from 80 %, ×1.1 from 110 %)" in gate
    assert "You are credited each booking's margin (not its amount)." in _measure_text(
        plans["ae_gross_margin_gate"], "gross_margin")
    lin = _measure_text(Plan.from_dict(LINEAR), "bookings")
    assert "Linear pay curve" in lin and "(12,500)" in lin and "last factor above 150 %" in lin
