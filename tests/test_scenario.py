"""Scenario files: inheritance, sweeps and validation messages."""

from pathlib import Path

import pytest

from spm_models.errors import InputError
from spm_models.scenario import load_scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_extends_deep_merges_and_child_wins(tmp_path):
    _write(tmp_path / "base.yaml", "name: base\nseed: 1\nquota: {method: growth, growth: 0.1}\nhorizon: {start: 2027-01, months: 12}\n")
    child = _write(tmp_path / "child.yaml", "name: child\nextends: base.yaml\nquota: {growth: 0.2}\n")
    sc = load_scenario(child)
    assert sc.name == "child"
    assert sc.seed == 1
    assert sc.section("quota") == {"method": "growth", "growth": 0.2}
    assert sc.horizon == {"start": "2027-01", "months": 12}


def test_sweep_expands_along_scenario(tmp_path):
    path = _write(
        tmp_path / "s.yaml",
        "name: acc\nquota: {method: growth, growth: 0.1}\nsweep: {key: quota.growth, values: [0.05, 0.1, 0.2]}\n",
    )
    scs = load_scenarios(path)
    assert [s.section("quota")["growth"] for s in scs] == [0.05, 0.1, 0.2]
    assert len({s.name for s in scs}) == 3
    assert len({s.scenario_hash() for s in scs}) == 3


def test_hash_changes_with_plan_file(tmp_path):
    plan = _write(tmp_path / "p.yaml", "name: p\n")
    path = _write(tmp_path / "s.yaml", "name: s\nplans: {AE: p.yaml}\n")
    h1 = load_scenario(path).scenario_hash()
    assert load_scenario(path).scenario_hash() == h1
    plan.write_text("name: p2\n")
    assert load_scenario(path).scenario_hash() != h1


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("name: x\nqouta: {}\n", "qouta"),
        ("title: no name\n", "name"),
        ("name: x\nhorizon: {start: 2027-13, months: 12}\n", "horizon.start"),
        ("name: x\nhorizon: {start: 2027-01, months: 0}\n", "horizon.months"),
        ("name: x\nschedule: 'every monday'\n", "schedule"),
        ("name: x\nextends: missing.yaml\n", "extends"),
        ("name: x\nplans: {AE: nope.yaml}\n", "plans.AE"),
        ("name: x\nsweep: {key: quota.growth}\n", "sweep"),
    ],
)
def test_invalid_scenarios_name_file_and_key(tmp_path, text, key):
    path = _write(tmp_path / "bad.yaml", text)
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    (line,) = exc.value.problems
    assert "bad.yaml" in line and f"'{key}'" in line


def test_circular_extends_is_an_error(tmp_path):
    _write(tmp_path / "a.yaml", "name: a\nextends: b.yaml\n")
    _write(tmp_path / "b.yaml", "name: b\nextends: a.yaml\n")
    with pytest.raises(InputError, match="circular"):
        load_scenarios(tmp_path / "a.yaml")


def test_shipped_scenarios_load():
    files = sorted((ROOT / "scenarios").glob("*.yaml"))
    assert len(files) >= 2
    for f in files:
        for sc in load_scenarios(f):
            assert sc.horizon["months"] == 12
            assert sc.plans, f"{f} names no comp plan"
