"""Payout statements (`spm comp statement`) equal `spm comp calc` to the cent.

For every rep and payout period of the worked examples of spec/comp_plan.md, the statement's
payout, year-to-date payout and earned-to-date (parsed from the HTML) equal the calc output;
the breakdown by measure and tier adds up to earned-to-date. Part-2 examples join by adding
their cases to ``EXAMPLES`` (same tuple layout as ``test_comp_examples.CASES``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import monthly_quota, run_calc, write_csv, write_plan
from test_comp_examples import CASES
from test_comp_part2_examples import BOOKINGS, REPS, SPLIT_PLAN, SPLIT_QUOTAS, SPLITS, _csv
from test_comp_part2_examples import CASES as PART2_CASES

from spm_models.cli import main

#: name -> (plan dict, credit rows, quota rows, payouts, earned-to-date); part 2 joins here
EXAMPLES: dict[str, tuple] = dict(CASES)
EXAMPLES.update({f"part2_{k}": v for k, v in PART2_CASES.items()})


def _split_rollup_credits() -> list[dict]:
    """The split-and-roll-up example, credited by the crediting stage (A, B and manager M)."""
    from spm_models.comp import Plan
    from spm_models.comp.crediting import credit_bookings

    credits = credit_bookings(Plan.from_dict(SPLIT_PLAN), _csv(BOOKINGS), _csv(SPLITS), _csv(REPS))
    return credits.drop(columns="measure").to_dict("records")


EXAMPLES["part2_split_rollup"] = (SPLIT_PLAN, _split_rollup_credits(), SPLIT_QUOTAS)

TWO_REPS_TWO_MEASURES = {
    "name": "SE two measures", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [
        {"name": "bookings", "weight": 0.7, "quota_period": "quarter", "basis": "target_incentive",
         "threshold": 0.5, "tiers": [{"to": 1.0, "rate": 1.0}, {"rate": 1.5}],
         "cap": {"attainment": 2.0, "payout": 30000}},
        {"name": "new_logos", "weight": 0.3, "quota_period": "quarter", "basis": "target_incentive",
         "retroactive": True, "tiers": [{"to": 1.0, "rate": 1.0}, {"rate": 1.25}]},
    ],
    "bonuses": [{"name": "club", "measure": "bookings", "at": 1.2, "amount": 3000}],
}


def _value(html: str, element_id: str) -> float:
    m = re.search(rf'id="{element_id}" data-value="(-?[0-9.]+)"', html)
    assert m, f"{element_id} not in statement"
    return float(m.group(1))


def _statement(capsys, argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["comp", "statement", *argv])
    return int(exc.value.code or 0), capsys.readouterr().err


def _calc(tmp_path: Path, capsys, plan: dict, credits: list, quotas: list):
    paths = (write_plan(tmp_path, plan), write_csv(tmp_path, "c.csv", credits),
             write_csv(tmp_path, "q.csv", quotas))
    out = tmp_path / "payouts.csv"
    code, err = run_calc(capsys, *paths, out)
    assert code == 0, err
    return paths, out, pd.read_csv(out, dtype={"period": str})


@pytest.mark.parametrize("with_quotas", [True, False], ids=["breakdown", "payouts-only"])
@pytest.mark.parametrize("case", list(EXAMPLES))
def test_statement_equals_calc(tmp_path: Path, capsys, case: str, with_quotas: bool) -> None:
    plan, credits, quotas, *_ = EXAMPLES[case]
    (plan_p, credits_p, quotas_p), payouts_p, calc = _calc(tmp_path, capsys, plan, credits, quotas)
    out = tmp_path / "statements"
    argv = ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits", str(credits_p),
            "--out", str(out)] + (["--quotas", str(quotas_p)] if with_quotas else [])
    code, err = _statement(capsys, argv)
    assert code == 0, err
    for rep, rows in calc.groupby("rep_id"):
        ytd = 0.0
        for rec in rows.to_dict("records"):
            ytd = round(ytd + rec["payout"], 2)
            pages = list(out.glob(f"{rep}_{rec['period']}.html"))
            assert len(pages) == 1, (rep, rec["period"])
            html = pages[0].read_text()
            assert _value(html, "payout") == pytest.approx(rec["payout"], abs=0.001)
            assert _value(html, "ytd") == pytest.approx(ytd, abs=0.001)
            assert _value(html, "earned-to-date") == pytest.approx(rec["earned_to_date"], abs=0.001)
            if with_quotas:  # the parts add up to earned-to-date
                parts = re.findall(r'<tr class="earning">.*?</td>\s*<td data-value="(-?[0-9.]+)">'
                                   r'[^<]*</td><td data-value="(-?[0-9.]+)">', html, re.DOTALL)
                assert parts
                assert sum(float(p[1]) for p in parts) == pytest.approx(rec["earned_to_date"], abs=0.011)
    assert (out / "index.html").exists()


def test_statement_worked_example_figures(tmp_path: Path, capsys) -> None:
    """Marginal example: Q4 earns 90,000 all in tier 2; recoverable draw: month 3 recovers 3,000."""
    plan, credits, quotas, *_ = EXAMPLES["marginal"]
    (plan_p, credits_p, quotas_p), payouts_p, _ = _calc(tmp_path, capsys, plan, credits, quotas)
    out = tmp_path / "s"
    assert _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits",
                               str(credits_p), "--quotas", str(quotas_p), "--out", str(out)])[0] == 0
    q4 = (out / "R1_2027-12.html").read_text()
    assert re.search(r"tier 2 \(100–150 %, rate 15 %\)</td>\s*<td data-value=\"90000.00\"", q4)
    assert 'id="attainment"' in q4 and 'data-value="1.500000"' in q4

    plan, credits, quotas, *_ = EXAMPLES["draw_recoverable"]
    d = tmp_path / "draw"
    d.mkdir()
    (plan_p, credits_p, quotas_p), payouts_p, _ = _calc(d, capsys, plan, credits, quotas)
    assert _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p),
                               "--out", str(d / "s")])[0] == 0
    m2, m3 = (d / "s" / "N1_2027-02.html").read_text(), (d / "s" / "N1_2027-03.html").read_text()
    assert _value(m2, "draw-topup") == 2000.0 and _value(m2, "balance") == 3000.0
    assert _value(m3, "recovered") == 3000.0 and _value(m3, "balance") == 0.0


def test_two_reps_two_measures_bonus_and_cap(tmp_path: Path, capsys) -> None:
    credits = []
    for rep, scale in (("A", 1.0), ("B", 1.6)):
        for m, amt in (("2027-01", 90000), ("2027-05", 150000), ("2027-08", 400000), ("2027-11", 380000)):
            credits.append({"rep_id": rep, "period": m, "amount": amt * scale, "measure": "bookings"})
            credits.append({"rep_id": rep, "period": m, "amount": 3 * scale, "measure": "new_logos"})
    quotas = (monthly_quota("A", 100000, "bookings") + monthly_quota("A", 1, "new_logos")
              + monthly_quota("B", 100000, "bookings") + monthly_quota("B", 1, "new_logos"))
    (plan_p, credits_p, quotas_p), payouts_p, calc = _calc(tmp_path, capsys, TWO_REPS_TWO_MEASURES, credits,
                                                          quotas)
    out = tmp_path / "s"
    code, err = _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits",
                                    str(credits_p), "--quotas", str(quotas_p), "--out", str(out)])
    assert code == 0, err
    assert len(list(out.glob("*_2027-*.html"))) == len(calc)
    for rec in calc.to_dict("records"):
        html = (out / f"{rec['rep_id']}_{rec['period']}.html").read_text()
        assert _value(html, "payout") == pytest.approx(rec["payout"], abs=0.001)
        assert _value(html, "earned-to-date") == pytest.approx(rec["earned_to_date"], abs=0.001)
        assert "new_logos" in html and "bookings" in html


def test_payout_file_that_disagrees_with_the_engine_is_rejected(tmp_path: Path, capsys) -> None:
    plan, credits, quotas, *_ = EXAMPLES["marginal"]
    (plan_p, credits_p, quotas_p), payouts_p, calc = _calc(tmp_path, capsys, plan, credits, quotas)
    calc.loc[1, "earned_to_date"] += 0.01
    calc.loc[3, "payout"] -= 0.01
    calc.to_csv(payouts_p, index=False)
    out = tmp_path / "s"
    code, err = _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits",
                                    str(credits_p), "--quotas", str(quotas_p), "--out", str(out)])
    assert code == 1
    assert "row 2, field 'earned_to_date'" in err and "row 4, field 'payout'" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_payout_file_names_row_and_field(tmp_path: Path, capsys) -> None:
    plan, *_ = EXAMPLES["marginal"]
    plan_p = write_plan(tmp_path, plan)
    bad = write_csv(tmp_path, "p.csv", "rep_id,period,earned_to_date,payout\nR1,2027-03,1,1\nR1,2027-04,2,x\n")
    code, err = _statement(capsys, ["--payouts", str(bad), "--plan", str(plan_p), "--out",
                                    str(tmp_path / "s")])
    assert code == 1
    assert "row 2, field 'period'" in err
    assert not (tmp_path / "s").exists()


def test_payout_file_rows_are_numbered_as_the_file_shows_them(tmp_path: Path, capsys) -> None:
    """Row numbers as in a spreadsheet (as every reader: spm_models.data.csvfile): blank lines
    count, a quoted cell over two lines is one row; the engine check names the same rows."""
    plan, credits, quotas, *_ = EXAMPLES["marginal"]
    (plan_p, credits_p, quotas_p), payouts_p, _ = _calc(tmp_path, capsys, plan, credits, quotas)
    header, *rows = payouts_p.read_text().splitlines()
    rep = rows[0].split(",")[0]
    # row 1: a good row, row 2: blank, row 3: a good row whose rep id spans two lines
    # (quoted), row 4: a payout that is not a number, row 5: the last payout period
    bad = rows[2].rsplit(",", 1)[0] + ",x"
    text = "\n".join([header, rows[0], "", rows[1].replace(rep, f'"{rep}\n"', 1), bad,
                      rows[3]]) + "\n"
    p = tmp_path / "p.csv"
    p.write_text(text)
    code, err = _statement(capsys, ["--payouts", str(p), "--plan", str(plan_p), "--out",
                                    str(tmp_path / "s")])
    assert code == 1 and err.strip().splitlines() == [
        f"error: {p}, row 4, field 'payout': not a number: 'x'"]
    # the engine check: row 4 now a wrong figure
    p.write_text(text.replace(bad, rows[2].rsplit(",", 1)[0] + ",123456.78"))
    code, err = _statement(capsys, ["--payouts", str(p), "--plan", str(plan_p), "--credits",
                                    str(credits_p), "--quotas", str(quotas_p), "--out",
                                    str(tmp_path / "s")])
    assert code == 1 and f"{p}, row 4, field 'payout': 123456.78 in the payout file" in err


def test_hostile_rep_id_is_escaped_and_kept_inside(tmp_path: Path, capsys) -> None:
    plan, credits, quotas, *_ = EXAMPLES["marginal"]
    bad = "../<script>alert(1)</script>"
    credits = [{**c, "rep_id": bad} for c in credits]
    quotas = [{**q, "rep_id": bad} for q in quotas]
    (plan_p, credits_p, quotas_p), payouts_p, _ = _calc(tmp_path, capsys, plan, credits, quotas)
    out = tmp_path / "s"
    code, err = _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits",
                                    str(credits_p), "--quotas", str(quotas_p), "--out", str(out)])
    assert code == 0, err
    pages = sorted(out.iterdir())
    assert len(pages) == 5 and all(p.resolve().parent == out.resolve() for p in pages)
    assert not list(tmp_path.glob("*_2027-*.html"))
    for p in pages:
        html = p.read_text()
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_clawback_is_carried_and_recovered(tmp_path: Path, capsys) -> None:
    plan, *_ = EXAMPLES["marginal"]
    credits = [{"rep_id": "C1", "period": "2027-02", "amount": 300000},
               {"rep_id": "C1", "period": "2027-05", "amount": -100000},
               {"rep_id": "C1", "period": "2027-08", "amount": 300000}]
    (plan_p, credits_p, quotas_p), payouts_p, calc = _calc(tmp_path, capsys, plan, credits,
                                                           monthly_quota("C1", 100000))
    assert calc["payout"].tolist()[:3] == [30000.0, 0.0, 20000.0]
    out = tmp_path / "s"
    assert _statement(capsys, ["--payouts", str(payouts_p), "--plan", str(plan_p), "--credits",
                               str(credits_p), "--quotas", str(quotas_p), "--out", str(out)])[0] == 0
    q2, q3 = (out / "C1_2027-06.html").read_text(), (out / "C1_2027-09.html").read_text()
    assert _value(q2, "due") == -10000.0 and _value(q2, "balance") == 10000.0
    assert "a clawback, carried forward" in q2
    assert _value(q3, "due") == 20000.0 and _value(q3, "recovered") == 10000.0
    assert _value(q3, "balance") == 0.0 and _value(q3, "ytd") == 50000.0
