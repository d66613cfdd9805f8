"""opportunity_history: demo generator, validation, pipeline_as_of."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_models.data.demo import SECOND_ORG, make_demo
from spm_models.data.loader import validate_source
from spm_models.forecast.opportunities import OppBook, pipeline_as_of


@pytest.fixture(scope="module")
def small():
    return make_demo(n_reps=30, years=2, seed=3)


def test_history_is_consistent_with_each_outcome(small):
    o = small["opportunities"].set_index("opp_id")
    h = small["opportunity_history"]
    assert (h.groupby("opp_id", sort=False)["date"].apply(lambda s: s.is_monotonic_increasing)).all()
    last = h.groupby("opp_id").tail(1).set_index("opp_id").loc[o.index]
    won, lost, open_ = (o["status"] == s for s in ("won", "lost", "open"))
    assert (last.loc[won.to_numpy(), "stage"] == "Closed Won").all()
    assert (last.loc[lost.to_numpy(), "stage"] == "Closed Lost").all()
    closed = (won | lost).to_numpy()
    assert (last["date"].to_numpy()[closed] == o["close_date"].to_numpy()[closed]).all()
    # the last row carries the final amount, stage and close date
    assert np.allclose(last["amount"].to_numpy(), o["amount"].to_numpy())
    assert (last.loc[open_.to_numpy(), "stage"].to_numpy() == o.loc[open_, "stage"].to_numpy()).all()
    assert (last["close_date"].to_numpy() == o["close_date"].to_numpy()).all()
    first = h.groupby("opp_id").head(1).set_index("opp_id").loc[o.index]
    assert (first["date"].to_numpy() == o["created_date"].to_numpy()).all()
    assert (first["stage"] == "Prospecting").all()
    # won deals pass every stage; some deals slip and change amount
    n_neg = h[h["stage"] == "Negotiation"].groupby("opp_id").size()
    assert set(o.index[won.to_numpy()]) <= set(n_neg.index)
    book = OppBook.from_tables(small)
    assert (book.h_pushes > 0).mean() > 0.05
    changed = h.groupby("opp_id")["amount"].nunique() > 1
    assert 0.2 < changed.mean() < 0.8


def test_history_deterministic_and_second_org_differs():
    a = make_demo(n_reps=12, years=1, seed=5)["opportunity_history"]
    b = make_demo(n_reps=12, years=1, seed=5)["opportunity_history"]
    pd.testing.assert_frame_equal(a, b)
    c = make_demo(n_reps=60, years=2, seed=7, params=SECOND_ORG)
    o = c["opportunities"]
    closed = o[o["status"] != "open"]
    assert 0.17 < (closed["status"] == "won").mean() < 0.27  # SECOND_ORG win rate 0.22
    won = closed[closed["status"] == "won"]
    cycle = (won["close_date"] - won["created_date"]).dt.days.median()
    assert cycle > 85  # longer cycles than the default (~67 days)


def test_pipeline_as_of_uses_history_strictly_before(small):
    h = small["opportunity_history"]
    o = small["opportunities"]
    day = pd.Timestamp("2026-05-01")
    snap = pipeline_as_of(small, "2026-05-01")
    assert not snap["approximate"].any()
    assert (snap["created_date"] < day).all()
    assert (snap["stage"].isin(["Prospecting", "Qualification", "Proposal", "Negotiation"])).all()
    # expected: opportunities whose last row before the day is not a closed stage
    prior = h[h["date"] < day].groupby("opp_id").tail(1)
    expect = set(prior.loc[~prior["stage"].str.startswith("Closed"), "opp_id"])
    assert set(snap["opp_id"]) == expect
    row = snap.iloc[0]
    ref = prior.set_index("opp_id").loc[row["opp_id"]]
    assert row["amount"] == ref["amount"] and row["close_date"] == ref["close_date"]
    # a row dated on the as-of day is not yet known
    on_day = h[h["date"] == day]
    if len(on_day):
        oid = on_day["opp_id"].iloc[0]
        if oid in set(snap["opp_id"]):
            assert snap.set_index("opp_id").loc[oid, "stage"] == prior.set_index("opp_id").loc[oid, "stage"]
    # slips so far are the close-date increases before the day
    hist = h[(h["opp_id"] == row["opp_id"]) & (h["date"] < day)]
    assert row["n_slips"] == int((hist["close_date"].diff().dt.days > 0).sum())
    # without history: reconstructed from created/close dates, flagged approximate
    approx = pipeline_as_of({k: v for k, v in small.items() if k != "opportunity_history"}, "2026-05-01")
    assert approx["approximate"].all()
    exp2 = o[(o["created_date"] < day) & ((o["close_date"] >= day) | (o["status"] == "open"))]
    assert set(approx["opp_id"]) == set(exp2["opp_id"])


BASE = {
    "reps.csv": "rep_id,region,territory_id,hire_date\nR1,West,T1,2024-01-01\n",
    "opportunities.csv": """opp_id,rep_id,amount,stage,created_date,close_date,status
O1,R1,100,Prospecting,2024-01-01,2024-03-01,open
O2,R1,100,Sleeping,2024-01-01,2024-03-01,open
O3,R1,-5,Proposal,2024-01-01,2024-03-01,open
O4,R1,100,Closed Won,2024-03-01,2024-02-01,won
O5,R9,100,Negotiation,2024-01-01,2024-03-01,open
""",
    "opportunity_history.csv": """opp_id,date,stage,amount,close_date,probability
O1,2024-01-01,Prospecting,100,2024-03-01,0.1
O1,2024-01-05,Dreaming,100,2024-03-01,0.1
O9,2024-01-05,Proposal,100,2024-03-01,0.5
O1,2024-01-06,Proposal,-1,2024-03-01,1.5
""",
}

EXPECTED = {
    "opportunities.csv, row 2, column 'stage': unknown stage 'Sleeping' (known: an open CRM stage such as Prospecting/Qualification/Proposal/Negotiation, or Closed Won/Closed Lost)",
    "opportunities.csv, row 3, column 'amount': negative amount (-5)",
    "opportunities.csv, row 4, column 'close_date': close_date 2024-02-01 is before created_date 2024-03-01",
    "opportunities.csv, row 5, column 'rep_id': unknown rep_id 'R9' (not in reps.csv)",
    "opportunity_history.csv, row 2, column 'stage': unknown stage 'Dreaming' (known: an open CRM stage such as Prospecting/Qualification/Proposal/Negotiation, or Closed Won/Closed Lost)",
    "opportunity_history.csv, row 3, column 'opp_id': unknown opp_id 'O9' (not in opportunities.csv)",
    "opportunity_history.csv, row 4, column 'amount': negative amount (-1)",
    "opportunity_history.csv, row 4, column 'probability': above 1 (1.5)",
}


def test_bad_opportunity_rows_one_line_each(tmp_path: Path, capsys):
    for name, text in BASE.items():
        (tmp_path / name).write_text(text)
    assert set(validate_source(tmp_path)) == EXPECTED
    from spm_models.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["data", "validate", str(tmp_path)])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == len(EXPECTED)
