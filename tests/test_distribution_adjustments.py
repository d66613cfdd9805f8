"""Manager adjustments: the review workflow (store, states, four eyes, CLI) and their effect
on the scenario world (:func:`apply_adjustments`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from spm_models.cli import main
from spm_models.distribution.adjustments import (
    apply_adjustments,
    load_adjustments,
    propose,
    review,
)
from spm_models.distribution.synthetic import synthetic_world
from spm_models.errors import InputError


@pytest.fixture()
def world(tmp_path: Path):
    return synthetic_world(tmp_path / "scen", n_reps=9, n_territories=3, n_draws=400, seed=4)


def _potential_cut(store: Path, territory: str, decision: str) -> list:
    adj = propose(store, "synthetic", target="territory", target_id=territory, what="potential",
                  size="-20%", sd="5%", reason="largest account churns", by="Mia")
    review(store, adj.id, decision, "Leo", comment="checked with the account team")
    return load_adjustments(store, "synthetic")


def _p50_by_rep(bookings) -> np.ndarray:
    return bookings.sum("period").median("draw").values


def test_approved_potential_cut_lowers_territory_forecast_and_revenue(world, tmp_path: Path) -> None:
    cube = world.cube
    adjs = _potential_cut(tmp_path / "adj", "T0001", "approved")
    new, quota, potential = apply_adjustments(cube, None, None, adjs, np.random.default_rng(0))
    in_t = cube["territory_id"].values == "T0001"
    before, after = _p50_by_rep(cube["bookings"]), _p50_by_rep(new["bookings"])
    assert np.all(after[in_t] < before[in_t])
    assert np.allclose(after[~in_t], before[~in_t])
    ratio = after[in_t].sum() / before[in_t].sum()
    assert 0.75 < ratio < 0.85  # about -20 %
    rev_before = cube["bookings"].sum(["rep", "period"]).median().item()
    rev_after = new["bookings"].sum(["rep", "period"]).median().item()
    assert rev_after < rev_before
    acc = cube["territory_after"].values == "T0001"
    assert np.allclose(potential.values[acc], cube["potential"].values[acc] * 0.8)
    assert np.allclose(potential.values[~acc], cube["potential"].values[~acc])
    assert np.allclose(quota.values, cube["quota"].values)
    # the input cube is not changed (pure function)
    assert np.allclose(_p50_by_rep(cube["bookings"]), before)


def test_rejected_or_proposed_adjustment_changes_nothing(world, tmp_path: Path) -> None:
    cube = world.cube
    adjs = _potential_cut(tmp_path / "adj", "T0001", "rejected")
    adjs.append(propose(tmp_path / "adj", "synthetic", target="rep", target_id="R00001",
                        what="forecast", size=-0.5, reason="pending", by="Mia"))
    new, quota, potential = apply_adjustments(cube, None, None, adjs, np.random.default_rng(0))
    assert np.array_equal(new["bookings"].values, cube["bookings"].values)
    assert np.array_equal(quota.values, cube["quota"].values)
    assert np.array_equal(potential.values, cube["potential"].values)


def test_forecast_factor_spread_follows_sd_and_quota_is_scaled(world, tmp_path: Path) -> None:
    cube = world.cube
    store = tmp_path / "adj"
    a = propose(store, "synthetic", target="rep", target_id="R00002", what="forecast", size=0.1,
                sd=0.2, reason="new product", by="Mia", from_period="2027-07")
    review(store, a.id, "approved", "Leo")
    b = propose(store, "synthetic", target="rep", target_id="R00003", what="quota", size="-10 %",
                reason="territory split", by="Mia")
    review(store, b.id, "approved", "Leo")
    adjs = load_adjustments(store)
    new_b, new_q, _ = apply_adjustments(cube["bookings"], cube["quota"], None, adjs,
                                        np.random.default_rng(1))
    f = (new_b.sel(rep="R00002") / cube["bookings"].sel(rep="R00002")).values  # (period, draw)
    assert np.allclose(f[:6], 1.0)  # before 2027-07 untouched
    per_draw = f[6]
    assert np.allclose(f[6:], per_draw)  # one factor per draw
    assert per_draw.mean() == pytest.approx(1.1, abs=0.03)
    assert per_draw.std() == pytest.approx(0.2, abs=0.03)
    assert np.allclose(new_q.sel(rep="R00003").values, cube["quota"].sel(rep="R00003").values * 0.9)
    assert np.allclose(new_q.sel(rep="R00002").values, cube["quota"].sel(rep="R00002").values)


def test_review_rules(tmp_path: Path) -> None:
    store = tmp_path / "adj"
    a = propose(store, "s", target="rep", target_id="R1", what="forecast", size=-0.2,
                reason="churn", by="Mia")
    assert a.id == "ADJ-0001" and a.status == "proposed" and a.proposed_os_user
    with pytest.raises(InputError, match="cannot also review"):
        review(store, a.id, "approved", "Mia")
    with pytest.raises(InputError, match="--comment"):
        review(store, a.id, "rejected", "Leo")
    review(store, a.id, "approved", "Leo")
    with pytest.raises(InputError, match="already approved"):
        review(store, a.id, "rejected", "Leo", comment="no")
    stored = yaml.safe_load((store / "ADJ-0001.yaml").read_text())
    assert stored["status"] == "approved" and stored["reviewed_by"] == "Leo"
    for bad in ({"what": "headcount"}, {"size": "-120%"}, {"sd": "-1"}, {"size": "lots"},
                {"reason": " "}, {"target": "region"}):
        kw = {"target": "rep", "target_id": "R1", "what": "forecast", "size": -0.2,
              "reason": "x", "by": "Mia", **bad}
        with pytest.raises(InputError):
            propose(store, "s", **kw)
    assert [x.id for x in load_adjustments(store)] == ["ADJ-0001"]


def test_cli_propose_approve_reject_list(world, tmp_path: Path, capsys, monkeypatch) -> None:
    from spm_models.distribution import world as world_mod

    scen = str(world.scenario.path)
    monkeypatch.delenv("SPM_ADJUSTMENTS", raising=False)
    targets = world_mod.ScenarioTargets(
        frozenset(world.cube["rep"].values.astype(str)),
        frozenset(world.cube["territory_id"].values.astype(str)), tuple(world.plans["AE"].months))
    monkeypatch.setattr(world_mod, "scenario_targets", lambda path: targets)

    def run(*argv: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as exc:
            main(["adjust", *argv])
        cap = capsys.readouterr()
        return int(exc.value.code or 0), cap.out, cap.err

    code, out, err = run("propose", scen, "--territory", "T0001", "--what", "potential",
                         "--size", "-20%", "--sd", "5%", "--reason", "churn in Q2", "--by", "Mia",
                         "--from", "2027-04")
    assert code == 0, err
    assert "ADJ-0001 proposed" in out
    assert (Path(scen).parent / "adjustments" / "ADJ-0001.yaml").exists()
    # neither --rep nor --territory: a usage error (exit 2)
    assert run("propose", scen, "--what", "quota", "--size", "5%", "--reason", "r", "--by", "Mia")[0] == 2
    code, out, _ = run("propose", scen, "--rep", "R00001", "--what", "quota", "--size", "5%",
                       "--reason", "r", "--by", "Mia")
    assert code == 0
    assert run("approve", scen, "ADJ-0001", "--by", "Leo")[0] == 0
    code, _, err = run("reject", scen, "ADJ-0002", "--by", "Mia", "--comment", "no")
    assert code == 1 and "cannot also review" in err
    assert run("reject", scen, "ADJ-0002", "--by", "Leo", "--comment", "no basis")[0] == 0
    code, out, _ = run("list", scen)
    assert "ADJ-0001  approved" in out and "-20%" in out and "ADJ-0002  rejected" in out
    code, out, _ = run("list", scen, "--status", "approved")
    assert "ADJ-0002" not in out


def test_effects_on_revenue_and_cost(world, tmp_path: Path) -> None:
    from spm_models.distribution.effects import adjustment_effects

    store = tmp_path / "adj"
    _potential_cut(store, "T0001", "approved")
    q = propose(store, "synthetic", target="territory", target_id="T0002", what="quota",
                size=-0.3, reason="split", by="Mia")
    review(store, q.id, "approved", "Leo")
    r = propose(store, "synthetic", target="rep", target_id="R00001", what="forecast",
                size=0.5, reason="not reviewed", by="Mia")
    eff = adjustment_effects(world.cube, world.plans, load_adjustments(store), seed=0)
    assert list(eff["id"]) == ["ADJ-0001", "ADJ-0002", "all approved"] and r.id not in set(eff["id"])
    cut, lower_quota, both = eff.to_dict("records")
    assert cut["revenue_p50_change"] < 0 and cut["cost_p50_change"] < 0  # less revenue, less pay
    assert lower_quota["revenue_p50_change"] == 0 and lower_quota["cost_p50_change"] > 0
    assert both["revenue_p50_change"] == pytest.approx(cut["revenue_p50_change"])
