"""What reaches people says one thing one way:

- statements word tier rates as the plan documents do (``rate 10 %``, not ``rate 0.1``) and
  show the rep's name when ``--reps`` gives one;
- counts are singular for one (``for 1 rep``);
- a quota adjustment has no sd (a decision, not an estimate): ``propose`` refuses one and
  ``adjust list`` shows none for one stored by an older version;
- a plan document of a scenario without an accounts table says so instead of "0 accounts";
- the pay curve's attainment axis reaches past the shaded P10–P90 band.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml
from comp_helpers import monthly_quota, run_calc, write_csv, write_plan
from test_distribution_statement_checks import CREDITS, DRAW_PLAN

from spm_models.cli import main
from spm_models.distribution import plan_docs
from spm_models.distribution.adjustments import load_adjustments, propose
from spm_models.distribution.breakdown import rate_label
from spm_models.distribution.rep_figures import attainment_grid
from spm_models.distribution.synthetic import synthetic_world
from spm_models.errors import InputError


def _cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


def test_statement_rates_as_percentages_and_the_rep_name(tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, DRAW_PLAN)
    credits = write_csv(tmp_path, "c.csv", CREDITS)
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("N1", 50000))
    reps = write_csv(tmp_path, "r.csv", "rep_id,name,region\nN1,Nora <New>,West\n")
    payouts = tmp_path / "p.csv"
    code, err = run_calc(capsys, plan, credits, quotas, payouts)
    assert code == 0, err
    out = tmp_path / "s"
    code, text, err = _cli(capsys, ["comp", "statement", "--payouts", str(payouts), "--plan", str(plan),
                                    "--credits", str(credits), "--quotas", str(quotas),
                                    "--reps", str(reps), "--out", str(out)])
    assert code == 0, err
    assert text.strip() == f"wrote 12 statements and index.html to {out}"
    html = (out / "N1_2027-04.html").read_text()
    assert "tier 1 (0–100 %, rate 9 %)" in html and "tier 2 (above 100 %, rate 12 %)" in html
    assert "rate 0.09" not in html
    assert '<b id="rep-name">Nora &lt;New&gt;</b>' in html and '<b id="rep-id">N1</b>' in html
    assert "<title>Statement — Nora &lt;New&gt; (N1) — 2027-04</title>" in html
    assert "Nora &lt;New&gt;" in (out / "index.html").read_text()


def test_rate_label_follows_the_basis() -> None:
    assert rate_label("revenue", 0.1) == "rate 10 %"
    assert rate_label("revenue", 0.0925) == "rate 9.25 %"
    assert rate_label("target_incentive", 1.5) == ("1.5 % of the measure's target incentive per "
                                                   "1 % of attainment")


def test_calc_says_one_rep(tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, DRAW_PLAN)
    credits = write_csv(tmp_path, "c.csv", CREDITS)
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("N1", 50000))
    out = tmp_path / "p.csv"
    code, text, err = _cli(capsys, ["comp", "calc", "--plan", str(plan), "--credits", str(credits),
                                    "--quotas", str(quotas), "--out", str(out)])
    assert code == 0, err
    assert text.strip() == f"wrote 12 payout rows for 1 rep to {out}"


def test_a_quota_adjustment_has_no_sd(tmp_path: Path, monkeypatch, capsys) -> None:
    store = tmp_path / "adj"
    kw = {"target": "rep", "target_id": "R1", "what": "quota", "reason": "r", "by": "Ana"}
    with pytest.raises(InputError, match=r"^--sd: '5%': a quota change is a decision"):
        propose(store, "s", size="10%", sd="5%", **kw)
    assert load_adjustments(store) == []
    propose(store, "s", size="10%", **kw)
    # a file written by an older version, with an sd on a quota, and a forecast change
    legacy = yaml.safe_load((store / "ADJ-0001.yaml").read_text())
    (store / "ADJ-0002.yaml").write_text(yaml.safe_dump({**legacy, "id": "ADJ-0002", "sd": 0.05}))
    propose(store, "s", **{**kw, "what": "forecast"}, size="-20%", sd="2.5%")
    scen = tmp_path / "s.yaml"
    scen.write_text("name: s\ndata: demo\n")
    code, text, err = _cli(capsys, ["adjust", "list", str(scen), "--store", str(store)])
    assert code == 0, err
    lines = text.strip().splitlines()
    assert "quota +10%  —" in lines[0] and "quota +10%  —" in lines[1] and "±" not in lines[1]
    assert "forecast -20% ±2.5%  —" in lines[2]


def test_no_accounts_table_says_so_and_the_axis_covers_the_band(tmp_path: Path) -> None:
    plan = {k: v for k, v in DRAW_PLAN.items() if k != "draw"}  # no cap: its curve ends at 150 %
    world = synthetic_world(tmp_path / "scen", n_reps=3, n_draws=80, seed=4, level=2.2, plan=plan)
    world.cube = world.cube.drop_dims("account")
    del world.tables["accounts"]
    table, _ = plan_docs.document_table(world)
    assert attainment_grid(world.plans["AE"])[-1] == pytest.approx(1.5)
    assert (table["attainment_p90"] > 1.6).all()  # past the plan's own grid top
    out = tmp_path / "docs"
    for d in plan_docs.write_plan_docs(world, out):
        html = (out / d.file_name).read_text()
        assert 'id="n-accounts" data-value="">no accounts data</span>' in html
        assert "0 accounts" not in html
        m = re.search(r'id="pay-curve"[^>]*src="data:image/svg\+xml;base64,([^"]+)"', html)
        svg = base64.b64decode(m.group(1)).decode()
        band = re.search(r"<rect class='band' x='([0-9.]+)' y='[0-9.]+' width='([0-9.]+)'", svg)
        right = float(band.group(1)) + float(band.group(2))
        # the band ends at the P90 inside the plot (x from 62 to 505 px), not clipped at its edge
        assert right < 505 - 1
