"""A cancellation that no measure's where filter passes is warned about (nothing claws it back)."""

import warnings
from pathlib import Path

import pandas as pd
import pytest

from spm_models.comp import Plan
from spm_models.comp.crediting import CreditingWarning, credit_bookings

PLAN = Path(__file__).resolve().parents[1] / "scenarios" / "plans" / "ae_new_vs_renewal.yaml"


def _bookings(cancel_type: str) -> pd.DataFrame:
    return pd.DataFrame({"booking_id": ["B1", "B2", "B3", "B4"], "rep_id": ["R1"] * 4,
                         "date": ["2027-01-10", "2027-02-10", "2027-02-11", "2027-03-01"],
                         "amount": [100000.0, -100000.0, 5000.0, 2000.0],
                         "deal_type": ["new", cancel_type, "renewal", "upsell"]})


def test_cancellation_typed_apart_is_warned_about():
    plan = Plan.from_yaml(PLAN)
    with pytest.warns(CreditingWarning, match=r"row 2, field 'amount': 1 cancellation\(s\) "
                      r"\(negative amounts, total -100,000.00\) pass no measure's where filter"):
        out = credit_bookings(plan, _bookings("cancellation"))
    assert out.query("measure == 'new_business'")["amount"].sum() == 102000.0


def test_cancellation_with_its_deal_type_is_clawed_back_quietly():
    plan = Plan.from_yaml(PLAN)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CreditingWarning)
        out = credit_bookings(plan, _bookings("new"))
    assert out.query("measure == 'new_business'")["amount"].sum() == 2000.0
