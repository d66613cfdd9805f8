"""Plan documents on a synthetic scenario world (no forecast fit): figures equal the cube's,
one document per quota-holding rep, hostile rep ids and names are safe, acceptance and
change detection through the hash-chained acceptance ledger, the CLI dispatch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from spm_models.cli import main
from spm_models.distribution import acceptance, plan_docs
from spm_models.distribution.plain_words import as_text, plan_in_words
from spm_models.distribution.synthetic import synthetic_world
from spm_models.errors import InputError

XSS = "<script>alert(1)</script>"
IDS = ["R1", XSS, "../x", "R4", "R5", "NOQUOTA"]


@pytest.fixture()
def world(tmp_path: Path):
    w = synthetic_world(tmp_path / "scen", rep_ids=IDS, n_draws=120, names={0: XSS, 2: "A & B"},
                        seed=3)
    w.cube["quota"].loc[{"rep": "NOQUOTA"}] = 0.0
    return w


def _value(html: str, element_id: str) -> float:
    m = re.search(rf'id="{element_id}" data-value="(-?[0-9.]+)"', html)
    assert m, element_id
    return float(m.group(1))


def test_one_document_per_quota_holder_and_index(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    docs = plan_docs.write_plan_docs(world, out)
    assert [d.rep_id for d in docs] == IDS[:5]
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 6 and "index.html" in files
    index = (out / "index.html").read_text()
    for d in docs:
        assert f'href="{d.file_name}"' in index
    assert "NOQUOTA" not in index


def test_document_figures_equal_the_cube(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    docs = plan_docs.write_plan_docs(world, out)
    cube = world.cube
    for d in docs:
        html = (out / d.file_name).read_text()
        c = cube.sel(rep=d.rep_id)
        annual_q = float(c["quota"].sum())
        pay = c["payout"].sum("period").values
        b = c["bookings"].sum("period").values
        assert _value(html, "quota-annual") == pytest.approx(round(annual_q, 2), abs=0.006)
        for q in (10, 50, 90):
            assert _value(html, f"earn-p{q}") == pytest.approx(
                round(float(np.quantile(pay, q / 100)), 2), abs=0.006)
        assert _value(html, "p-reach") == pytest.approx(float((b >= annual_q).mean()), abs=1e-6)
        table = re.search(r'<table class="quota" data-quota-period="quarter">.*?</table>', html, re.DOTALL)
        quarters = [float(v) for v in re.findall(r'data-value="([0-9.]+)"', table.group(0))]
        expect = c["quota"].values.reshape(4, 3).sum(1)
        assert quarters == pytest.approx(np.round(expect, 2).tolist(), abs=0.006)
        assert 'id="pay-curve"' in html and "data:image/svg+xml;base64," in html
        assert 'id="territory-map"' in html


def test_hostile_ids_and_names_are_escaped_and_files_stay_inside(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    docs = plan_docs.write_plan_docs(world, out)
    names = {d.rep_id: d.file_name for d in docs}
    for fname in names.values():
        assert "/" not in fname and "<" not in fname and not fname.startswith(".")
        assert (out / fname).resolve().parent == out.resolve()
    assert names["../x"] != "x.html" and names[XSS] != names["R1"]
    assert not (tmp_path / "x.html").exists()
    pages = [(out / f).read_text() for f in names.values()] + [(out / "index.html").read_text()]
    for html in pages:
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (out / names[XSS]).read_text()
    assert "A &amp; B" in (out / names["../x"]).read_text()


def test_documents_are_deterministic(world, tmp_path: Path) -> None:
    a = plan_docs.build_docs(world)
    b = plan_docs.build_docs(world)
    assert [d.html for d in a] == [d.html for d in b]
    assert len({d.content_hash for d in a}) == len(a)


def test_acceptance_states_and_changes(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    plan_docs.write_plan_docs(world, out)
    scen = world.scenario.path
    for rep in ("R1", "R4"):
        plan_docs.accept(scen, rep, "Ana", docs=out)
    ledger = acceptance.acceptance_ledger(world.scenario)
    entries = acceptance.read_entries(ledger)
    assert [e["rep_id"] for e in entries] == ["R1", "R4"] and entries[0]["os_user"]
    assert acceptance.verify(entries) is None
    # R4's quota changes after acceptance: its document changes, R1's does not
    world.cube["quota"].loc[{"rep": "R4"}] = world.cube["quota"].sel(rep="R4") * 1.1
    plan_docs.write_plan_docs(world, out)
    index = (out / "index.html").read_text()
    states = dict(re.findall(r'data-rep="([^"]+)" data-state="([^"]+)"', index))
    assert states["R1"] == "accepted" and states["R4"] == "changed"
    assert states["R5"] == "not accepted"
    assert re.search(r'id="n-accepted">1<', index) and re.search(r'id="n-changed">1<', index)


def test_tampered_ledger_is_detected(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    plan_docs.write_plan_docs(world, out)
    scen = world.scenario.path
    plan_docs.accept(scen, "R1", "Ana", docs=out)
    plan_docs.accept(scen, "R4", "Ben", docs=out)
    ledger = acceptance.acceptance_ledger(world.scenario)
    lines = ledger.read_text().splitlines()
    forged = json.loads(lines[0])
    forged["by"] = "Mallory"
    ledger.write_text(json.dumps(forged, sort_keys=True) + "\n" + lines[1] + "\n")
    assert acceptance.verify(acceptance.read_entries(ledger)) == 1
    with pytest.raises(InputError, match="hash-chain"):
        plan_docs.accept(scen, "R5", "Cy", docs=out)
    plan_docs.write_plan_docs(world, out)
    index = (out / "index.html").read_text()
    assert 'id="ledger-problem"' in index and 'data-state="accepted"' not in index


def test_cli_plan_docs_and_accept(world, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(plan_docs, "scenario_world", lambda path: world)
    out = tmp_path / "cli-docs"
    scen = str(world.scenario.path)
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", scen, "--out", str(out)])
    assert exc.value.code in (0, None), capsys.readouterr().err
    assert (out / "index.html").exists() and (out / "R1.html").exists()
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", "accept", scen, "--rep", "R1", "--by", "Ana"])
    assert exc.value.code in (0, None)
    assert "accepted by Ana" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["plan-docs", "accept", scen, "--rep", "NOQUOTA", "--by", "Ana"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "NOQUOTA" in err and "Traceback" not in err


def test_plain_words_skip_absent_and_describe_part_two_features() -> None:
    """A plan object with curve/modifiers/advance cap (part 2) and one without tiers."""
    curve_measure = SimpleNamespace(
        name="bookings", weight=0.7, quota_period="quarter", basis="target_incentive",
        retroactive=False, threshold=0.0, tiers=(), cap_attainment=None, cap_payout=None,
        curve=SimpleNamespace(points=((0.8, 0.5), (1.0, 1.0), (1.2, 1.5)), interpolate="step"),
        modifiers=(SimpleNamespace(measure="margin", table=((0.0, 0.0), (0.8, 1.0))),),
        advance_cap=1.0, something_new=object())
    margin = SimpleNamespace(name="margin", weight=0.3, quota_period="quarter",
                             basis="target_incentive", tiers=(SimpleNamespace(start=0.0, end=None, rate=1.0),))
    plan = SimpleNamespace(name="P2", currency="EUR", plan_year_start="2027-01",
                           payout_frequency="month", target_incentive=40000.0,
                           measures=(curve_measure, margin), bonuses=(), draw=None, raw={})
    text = as_text(plan_in_words(plan))
    assert "Step pay curve" in text and "120 % → 1.5×" in text
    assert ("Gate: this measure pays only once your margin attainment in the same quarter "
            "reaches 80 %") in text
    assert "Advance cap" in text and "100 %" in text
    assert "EUR 28,000 a year" in text  # 70 % of the TI
    bare = SimpleNamespace(name="bare", currency=None, plan_year_start=None, payout_frequency="year",
                           target_incentive=None, measures=(SimpleNamespace(name="m"),), raw={})
    text = as_text(plan_in_words(bare))
    assert "Measure: m" in text and "tiers" not in text.lower()


def test_plain_words_change_with_the_plan(world) -> None:
    plan = world.plans["AE"]
    a = as_text(plan_in_words(plan))
    b = as_text(plan_in_words(plan.with_value("measures[0].tiers[1].rate", 0.12)))
    assert "10 % of credited revenue" in a and "12 % of credited revenue" in b
    assert "club: USD 2,500" in a and "120 %" in a


def test_accept_refuses_a_document_of_another_scenario_or_rep(world, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    plan_docs.write_plan_docs(world, out)
    scen = Path(world.scenario.path)
    other = scen.with_name("other.yaml")
    other.write_text(scen.read_text().replace("name: synthetic", "name: other"))
    with pytest.raises(InputError, match="a document of scenario 'synthetic', not 'other'"):
        plan_docs.accept(other, "R1", "Dee", docs=out)
    (out / "R4.html").write_text((out / "R1.html").read_text())  # R1's document under R4's name
    with pytest.raises(InputError, match="the document of rep 'R1', not 'R4'"):
        plan_docs.accept(scen, "R4", "Dee", docs=out)
    assert acceptance.read_entries(acceptance.acceptance_ledger(world.scenario)) == []
    assert plan_docs.accept(scen, "R1", "Dee", docs=out)["rep_id"] == "R1"


def test_accept_refuses_a_document_edited_after_it_was_written(world, tmp_path: Path,
                                                                capsys) -> None:
    """The acceptance recomputes the document's hash from its text: an edited figure in the
    HTML body (its meta tags untouched) is refused with one line, nothing recorded."""
    out = tmp_path / "docs"
    docs = {d.rep_id: d for d in plan_docs.write_plan_docs(world, out)}
    scen = world.scenario.path
    ledger = acceptance.acceptance_ledger(world.scenario)
    path = out / docs["R1"].file_name
    html = path.read_text()
    quota = _value(html, "quota-annual")
    m = re.search(r'id="quota-annual" data-value="[^"]*">([^<]*)<', html)
    assert m
    edited = html.replace(m.group(0), f'id="quota-annual" data-value="{quota / 2}">'
                          f'{m.group(1)[:-1]}0<', 1)
    assert edited != html and plan_docs.document_hash(edited) != plan_docs.document_hash(html)
    path.write_text(edited)
    with pytest.raises(InputError) as exc:
        plan_docs.accept(scen, "R1", "Ana", docs=out)
    assert len(exc.value.problems) == 1 and "edited after spm plan-docs wrote it" in str(exc.value)
    assert acceptance.read_entries(ledger) == []
    with pytest.raises(SystemExit) as code:
        main(["plan-docs", "accept", str(scen), "--rep", "R1", "--by", "Ana", "--docs", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code.value.code == 1 and len(err) == 1 and "edited" in err[0]
    # an edit of the visible text alone (no data attribute) is refused too
    path.write_text(html.replace("<h1 id=\"rep-name\">", "<h1 id=\"rep-name\">Dr ", 1))
    with pytest.raises(InputError, match="edited"):
        plan_docs.accept(scen, "R1", "Ana", docs=out)
    # the document as written (line ends changed by an editor or a copy) is accepted
    path.write_bytes(html.replace("\n", "\r\n").encode())
    assert plan_docs.accept(scen, "R1", "Ana", docs=out)["content_hash"] == docs["R1"].content_hash
    assert [e["rep_id"] for e in acceptance.read_entries(ledger)] == ["R1"]
