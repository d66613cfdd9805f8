"""Plan documents are for people and state earnings as the contract defines them.

- Only the reps of the scenario's ``reps`` table get a document: the planned hires of the
  hiring plan (made-up reps of the scenario run) are left out, and the CLI says how many.
- The earnings a document shows are earnings (spec/comp_plan.md rules 3–4: earned to date),
  not payouts (rule 5): for a rep on a draw plan the draw top-ups are left out, as the
  document's own sentence says ("a draw is not counted as earnings").
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spm_models.cli import main
from spm_models.comp import compute_payouts
from spm_models.distribution import plan_docs
from spm_models.distribution.synthetic import synthetic_world

PEOPLE = ["R1", "R2", "R3"]
HIRES = ["hire-2027-03-001", "hire-2027-05-002"]

DRAW_PLAN = {
    "name": "AE draw", "currency": "USD", "plan_year_start": "2027-01",
    "payout_frequency": "month", "target_incentive": 90000,
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"to": 1.0, "rate": 0.09}, {"rate": 0.12}]}],
    "draw": {"amount": 3000, "recoverable": True},
}


def _value(html: str, element_id: str) -> float:
    m = re.search(rf'id="{element_id}" data-value="(-?[0-9.]+)"', html)
    assert m, element_id
    return float(m.group(1))


def _with_hires(tmp_path: Path):
    """A world whose cube holds three people and two planned hires (quota holders that are
    not in the reps table, ``is_hire`` true), as the scenario run's world does."""
    w = synthetic_world(tmp_path / "scen", rep_ids=PEOPLE + HIRES, n_draws=60, seed=5)
    w.tables["reps"] = w.tables["reps"][w.tables["reps"]["rep_id"].isin(PEOPLE)]
    w.cube = w.cube.assign_coords(is_hire=("rep", np.array([r in HIRES for r in w.cube["rep"].values])))
    return w


def test_planned_hires_get_no_document(tmp_path: Path) -> None:
    world = _with_hires(tmp_path)
    out = tmp_path / "docs"
    docs = plan_docs.write_plan_docs(world, out)
    assert [d.rep_id for d in docs] == PEOPLE
    assert sorted(p.name for p in out.iterdir()) == sorted([f"{r}.html" for r in PEOPLE] + ["index.html"])
    index = (out / "index.html").read_text()
    assert all(h not in index for h in HIRES)
    assert plan_docs.document_table(world)[1] == HIRES
    # without a reps table the cube's is_hire mark decides
    del world.tables["reps"]
    table, left_out = plan_docs.document_table(world)
    assert table["rep_id"].tolist() == PEOPLE and left_out == HIRES


def test_cli_says_how_many_hires_were_left_out(tmp_path: Path, monkeypatch, capsys) -> None:
    world = _with_hires(tmp_path)
    monkeypatch.setattr(plan_docs, "scenario_world", lambda path: world)
    out = tmp_path / "cli"
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", str(world.scenario.path), "--out", str(out)])
    text = capsys.readouterr().out
    assert exc.value.code in (0, None)
    assert f"wrote 3 plan documents and index.html to {out}" in text
    assert "left out 2 planned hires" in text and "not in the reps table" in text
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", "accept", str(world.scenario.path), "--rep", HIRES[0], "--by", "Ana"])
    assert exc.value.code == 1 and "planned hires get no document" in capsys.readouterr().err


@pytest.mark.parametrize("recoverable", [True, False])
def test_draw_plan_earnings_leave_out_draw_top_ups(tmp_path: Path, recoverable: bool) -> None:
    """Low bookings: most plan years earn less than 12 × 3,000, so the payouts sit on the draw
    floor (P10 of the payouts is exactly 36,000); the document's earnings are the engine's
    earned-to-date at the end of the plan year, draw excluded."""
    plan = {**DRAW_PLAN, "draw": {"amount": 3000, "recoverable": recoverable}}
    world = synthetic_world(tmp_path / "scen", n_reps=4, n_draws=200, seed=7, plan=plan, level=0.15)
    cube = world.cube
    paid = cube["payout"].sum("period").transpose("rep", "draw").values
    assert np.quantile(paid, 0.1, axis=1) == pytest.approx(np.full(4, 36000.0))  # the draw floor
    etd = compute_payouts(world.plans["AE"], cube["bookings"], cube["quota"], cube["target_incentive"])
    earned = etd["earned_to_date"].isel(period=-1).transpose("rep", "draw").values
    out = tmp_path / "docs"
    for d in plan_docs.write_plan_docs(world, out):
        html = (out / d.file_name).read_text()
        i = list(cube["rep"].values).index(d.rep_id)
        for q in (10, 50, 90):
            assert _value(html, f"earn-p{q}") == pytest.approx(
                round(float(np.quantile(earned[i], q / 100)), 2), abs=0.006)
        assert _value(html, "earn-p10") < 36000.0
        assert "a draw is not counted as earnings" in html


def test_plans_without_a_draw_keep_the_cube_payouts(tmp_path: Path) -> None:
    world = synthetic_world(tmp_path / "scen", n_reps=3, n_draws=50, seed=2)
    table, _ = plan_docs.document_table(world)
    pay = world.cube["payout"].sum("period").transpose("rep", "draw").values
    assert table["earnings_p50"].to_numpy() == pytest.approx(np.quantile(pay, 0.5, axis=1))
