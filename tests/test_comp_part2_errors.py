"""Invalid input of part 2: exit 1, one line naming file, row/key and field, nothing written."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from comp_helpers import monthly_quota, write_csv, write_plan

from spm_models.cli import main
from spm_models.comp import Plan
from spm_models.errors import InputError

PLAN = {
    "name": "Team", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "measures": [{"name": "bookings", "quota_period": "year", "tiers": [{"rate": 0.1}],
                  "credit": {"rollup": True}}],
}
BOOKINGS = ("booking_id,rep_id,date,amount,deal_type\nB1,A,2027-01-15,100000,new\n"
            "B2,B,2027-02-03,5000,renewal\n")
SPLITS = "booking_id,rep_id,share\nB1,A,0.6\nB1,B,0.4\n"
REPS = "rep_id,manager_id\nA,M\nB,M\nM,\n"


def _with(**measure) -> dict:
    plan = copy.deepcopy(PLAN)
    plan["measures"][0].update(measure)
    return plan


CASES = {
    # name: (plan, bookings, splits, reps, file, row or None (header) or key, field)
    "where_column_missing": (_with(credit={"where": {"segment": ["smb"]}}), BOOKINGS, None, None,
                             "bookings.csv", None, "segment"),
    "amount_column_missing": (_with(credit={"amount": "margin"}), BOOKINGS, None, None,
                              "bookings.csv", None, "margin"),
    "split_unknown_booking": (PLAN, BOOKINGS, SPLITS + "B9,A,1.0\n", REPS, "splits.csv", 3,
                              "booking_id"),
    "split_shares_not_one": (PLAN, BOOKINGS, "booking_id,rep_id,share\nB1,A,0.6\nB1,B,0.39\n",
                             REPS, "splits.csv", 1, "share"),
    "manager_cycle": (PLAN, BOOKINGS, None, "rep_id,manager_id\nA,M\nB,M\nM,X\nX,A\n",
                      "reps.csv", 1, "manager_id"),
    "self_manager": (PLAN, BOOKINGS, None, "rep_id,manager_id\nA,A\nB,\n", "reps.csv", 1,
                     "manager_id"),
    "rollup_without_manager_column": (PLAN, BOOKINGS, None, "rep_id,target_incentive\nA,1\n",
                                      "reps.csv", None, "manager_id"),
    "rollup_without_reps": (PLAN, BOOKINGS, None, None, "plan.yaml",
                            "measures[0].credit.rollup", "manager_id"),
    "missing_booking_column": (PLAN, "booking_id,rep_id,amount\nB1,A,5\n", None, REPS,
                               "bookings.csv", None, "date"),
    "bad_amount": (PLAN, "booking_id,rep_id,date,amount\nB1,A,2027-01-02,5\nB2,A,2027-01-03,x\n",
                   None, REPS, "bookings.csv", 2, "amount"),
    "bad_date": (PLAN, "booking_id,rep_id,date,amount\nB1,A,2027-13-02,5\n", None, REPS,
                 "bookings.csv", 1, "date"),
    "date_outside_plan_year": (PLAN, "booking_id,rep_id,date,amount\nB1,A,2026-12-31,5\n", None,
                               REPS, "bookings.csv", 1, "date"),
    "multi_measure_without_credit": (
        {**PLAN, "measures": [{"name": "a", "tiers": [{"rate": 0.1}]},
                              {"name": "b", "tiers": [{"rate": 0.1}]}]},
        BOOKINGS, None, None, "plan.yaml", "measures[0].credit", None),
}


def _run(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("command", ["credit", "calc"])
@pytest.mark.parametrize("case", list(CASES))
def test_invalid_crediting_input(tmp_path: Path, capsys, case: str, command: str) -> None:
    plan, bookings, splits, reps, file, where, field = CASES[case]
    argv = ["comp", command, "--plan", str(write_plan(tmp_path, plan)),
            "--bookings", str(write_csv(tmp_path, "bookings.csv", bookings))]
    if splits is not None:
        argv += ["--splits", str(write_csv(tmp_path, "splits.csv", splits))]
    if reps is not None:
        argv += ["--reps", str(write_csv(tmp_path, "reps.csv", reps))]
    if command == "calc":
        argv += ["--quotas", str(write_csv(tmp_path, "quotas.csv", monthly_quota("A", 1000)))]
    out = tmp_path / "out.csv"
    code, err = _run(argv + ["--out", str(out)], capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1, err
    assert len(lines) == 1, err
    line = lines[0]
    assert file in line, line
    if field is not None:
        assert f"field '{field}'" in line, line
    if isinstance(where, int):
        assert f"row {where}," in line, line
    elif where is None:
        assert "header" in line, line
    else:
        assert f"key '{where}'" in line, line
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))


def _bad(measure: dict | None = None, base: dict | None = None, **top) -> dict:
    plan = copy.deepcopy(base or {
        "name": "P", "plan_year_start": "2027-01", "target_incentive": 40000,
        "measures": [{"name": "bookings", "weight": 0.7, "basis": "target_incentive",
                      "quota_period": "quarter", "tiers": [{"rate": 1.0}]},
                     {"name": "margin", "weight": 0.3, "basis": "target_incentive",
                      "quota_period": "quarter", "tiers": [{"rate": 1.0}]}]})
    if measure:
        plan["measures"][0].update(measure)
    plan.update(top)
    return plan


def _nested() -> dict:
    plan = _bad({"modifiers": [{"measure": "margin", "table": [[0, 1]]}]})
    plan["measures"].append({"name": "logos", "quota_period": "quarter", "tiers": [{"rate": 1}]})
    plan["measures"][1]["modifiers"] = [{"measure": "logos", "table": [[0, 1]]}]
    return plan


CURVE = {"points": [[0.5, 0.25], [1.0, 1.0]], "interpolate": "linear"}
PLAN_CASES = {
    "curve_and_tiers": (_bad({"curve": CURVE}), "measures[0].curve"),
    "curve_with_retroactive": (_bad({"curve": CURVE, "retroactive": True, "tiers": None}),
                               "measures[0].retroactive"),
    "curve_not_ascending": (_bad({"tiers": None, "curve": {"points": [[1.0, 1.0], [0.5, 2.0]]}}),
                            "measures[0].curve.points[1][0]"),
    "curve_equal_points": (_bad({"tiers": None, "curve": {"points": [[1.0, 1.0], [1.0, 2.0]]}}),
                           "measures[0].curve.points[1][0]"),
    "curve_negative_factor": (_bad({"tiers": None, "curve": {"points": [[0.5, -1.0]]}}),
                              "measures[0].curve.points[0][1]"),
    "curve_negative_attainment": (_bad({"tiers": None, "curve": {"points": [[-0.5, 1.0]]}}),
                                  "measures[0].curve.points[0][0]"),
    "curve_bad_interpolation": (_bad({"tiers": None, "curve": {"points": [[0.5, 1.0]],
                                                              "interpolate": "cubic"}}),
                                "measures[0].curve.interpolate"),
    "curve_unknown_key": (_bad({"tiers": None, "curve": {"points": [[0.5, 1.0]], "smooth": 1}}),
                          "measures[0].curve.smooth"),
    "curve_not_pairs": (_bad({"tiers": None, "curve": {"points": [[0.5, 1.0, 2.0]]}}),
                        "measures[0].curve.points[0]"),
    "modifier_unknown_measure": (_bad({"modifiers": [{"measure": "gm", "table": [[0, 1]]}]}),
                                 "measures[0].modifiers[0].measure"),
    "modifier_itself": (_bad({"modifiers": [{"measure": "bookings", "table": [[0, 1]]}]}),
                        "measures[0].modifiers[0].measure"),
    "modifier_other_quota_period": (
        _bad({"quota_period": "year", "modifiers": [{"measure": "margin", "table": [[0, 1]]}]}),
        "measures[0].modifiers[0].measure"),
    "modifier_nested": (_nested(), "measures[0].modifiers[0].measure"),
    "modifier_negative_factor": (_bad({"modifiers": [{"measure": "margin",
                                                      "table": [[0, 0], [0.8, -1]]}]}),
                                 "measures[0].modifiers[0].table[1][1]"),
    "modifier_not_ascending": (_bad({"modifiers": [{"measure": "margin",
                                                    "table": [[0.8, 1], [0.5, 0]]}]}),
                               "measures[0].modifiers[0].table[1][0]"),
    "modifier_unknown_key": (_bad({"modifiers": [{"measure": "margin", "table": [[0, 1]],
                                                  "cap": 2}]}),
                             "measures[0].modifiers[0].cap"),
    "advance_cap_negative": (_bad({"advance_cap": -1}), "measures[0].advance_cap"),
    "credit_unknown_key": (_bad({"credit": {"filter": {"a": [1]}}}), "measures[0].credit.filter"),
    "credit_rollup_not_bool": (_bad({"credit": {"rollup": "yes"}}), "measures[0].credit.rollup"),
    "huge_rate": (_bad({"tiers": [{"rate": 1e27}]}),
                  "measures[0].tiers[0].rate"),
    "huge_target_incentive": (_bad(target_incentive=1e27), "target_incentive"),
    "huge_bonus": (_bad(bonuses=[{"measure": "bookings", "at": 1.0, "amount": 1e27}]),
                   "bonuses[0].amount"),
    "huge_cap": (_bad({"cap": {"payout": 1e16}}), "measures[0].cap.payout"),
}


@pytest.mark.parametrize("case", list(PLAN_CASES))
def test_invalid_plans_part2(tmp_path: Path, capsys, case: str) -> None:
    plan, key = PLAN_CASES[case]
    plan = copy.deepcopy(plan)
    for m in plan["measures"]:
        if m.get("tiers", 0) is None:
            del m["tiers"]
    path = write_plan(tmp_path, plan)
    with pytest.raises(InputError) as exc:
        Plan.from_yaml(path)
    assert len(exc.value.problems) == 1, exc.value.problems
    assert str(path) in exc.value.problems[0] and f"key '{key}'" in exc.value.problems[0]
    out = tmp_path / "out.csv"
    code, err = _run(["comp", "calc", "--plan", str(path),
                      "--credits", str(write_csv(tmp_path, "c.csv", "rep_id,period,amount,measure\n"
                                                 "R1,2027-01,5,bookings\n")),
                      "--quotas", str(write_csv(tmp_path, "q.csv",
                                                monthly_quota("R1", 10, "bookings")
                                                + monthly_quota("R1", 10, "margin"))),
                      "--out", str(out)], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1 and f"key '{key}'" in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_huge_rate_in_uncapped_plan_is_one_line(tmp_path: Path, capsys) -> None:
    """Issue 12 item 5 (plan side): 1e27 as a rate gives one error line, not a traceback."""
    plan = {"name": "U", "plan_year_start": "2027-01",
            "measures": [{"name": "bookings", "tiers": [{"rate": 1e27}]}]}
    out = tmp_path / "o.csv"
    code, err = _run(["comp", "calc", "--plan", str(write_plan(tmp_path, plan)),
                      "--credits", str(write_csv(tmp_path, "c.csv", "rep_id,period,amount\n"
                                                 "R1,2027-01,5\n")),
                      "--quotas", str(write_csv(tmp_path, "q.csv", monthly_quota("R1", 10))),
                      "--out", str(out)], capsys)
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert "measures[0].tiers[0].rate" in err and "1e+27" in err
    assert not out.exists()
