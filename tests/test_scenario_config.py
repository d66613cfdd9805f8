"""Typed scenario files: every problem of a file at once, each naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from spm_models.errors import InputError
from spm_models.scenario import load_scenarios


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_all_problems_of_a_file_are_reported_at_once(tmp_path):
    path = _write(tmp_path / "bad.yaml", """
name: ok
seed: -1
draws: 0
horizon: {start: 2027-01, months: 12, weeks: 3}
quota: {method: growth, growth: -2, probability: 0.5}
territory: {max_moved_share: 1.5, colour: red}
capacity: {hiring_plan: {2027-01: -1}, schedule: weekly}
forecast: {method: gibbs, fit_draws: 0, prior_trend_sd: 0.1}
sweep: {key: seed}
unknown_top: 1
""")
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    lines = exc.value.problems
    keys = {line.split("key '", 1)[1].split("'", 1)[0] for line in lines}
    assert all(line.startswith(f"{path.resolve()}, key '") for line in lines), lines
    assert {"seed", "draws", "horizon.weeks", "quota.growth", "territory.max_moved_share",
            "territory.colour", "capacity.hiring_plan", "capacity.schedule", "forecast.method",
            "forecast.fit_draws", "sweep", "unknown_top"} <= keys, lines
    # model options of the forecast pass through to ForecastConfig (not checked here)
    assert "forecast.prior_trend_sd" not in keys
    assert any("unknown key" in ln and "'territory.colour'" in ln for ln in lines)
    assert any("'sweep': missing 'values'" in ln for ln in lines)


def test_quota_keys_must_fit_the_method(tmp_path):
    path = _write(tmp_path / "q.yaml", "name: q\nquota: {method: growth, growth: 0.1, probability: 0.5}\n")
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    (line,) = exc.value.problems
    assert "'quota'" in line and "'probability' does not apply to method 'growth'" in line


def test_a_swept_value_is_checked_like_a_written_one(tmp_path):
    path = _write(tmp_path / "s.yaml", "name: s\nquota: {method: growth, growth: 0.1}\n"
                  "sweep: {key: quota.growth, values: [0.1, -3]}\n")
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    (line,) = exc.value.problems
    assert "s.yaml" in line and "'quota.growth'" in line and "-1" in line


def test_valid_sections_load_unchanged(tmp_path):
    path = _write(tmp_path / "s.yaml", "name: s\nquota: {method: equal_probability, probability: 0.6}\n"
                  "capacity: {hiring_plan: {2027-01: 5}, ramp_tau: 3}\n"
                  "forecast: {method: fast, n_steps: 100, prior_trend_sd: 0.1}\n")
    (sc,) = load_scenarios(path)
    assert sc.section("capacity") == {"hiring_plan": {"2027-01": 5}, "ramp_tau": 3}
    assert sc.section("forecast")["prior_trend_sd"] == 0.1


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[1].glob("scenarios/*.yaml")))
def test_shipped_scenarios_are_valid(path):
    assert load_scenarios(path)


def test_hire_plan_must_name_a_plan_reported_with_the_other_problems(tmp_path):
    plan = tmp_path / "ae.yaml"
    plan.write_text("name: AE\nplan_year_start: 2027-01\nmeasures: [{name: b, tiers: [{rate: 0.1}]}]\n")
    path = _write(tmp_path / "h.yaml", f"name: h\ndraws: 0\nplans: {{AE: {plan}}}\n"
                  "capacity: {hire_plan: Missing}\n")
    with pytest.raises(InputError) as exc:
        load_scenarios(path)
    lines = exc.value.problems
    assert any("'draws'" in ln for ln in lines), lines
    assert any("'capacity.hire_plan'" in ln and "'Missing'" in ln and "(AE)" in ln
               for ln in lines), lines


def test_failed_line_keeps_every_problem():
    from spm_models.reporting.runner import _problems_line, _reason

    problems = [f"s.yaml, key 'k{i}': " + "x" * 150 for i in range(8)]
    text = _problems_line(problems)
    assert text.splitlines() == [p for p in problems]  # one problem per line, none lost
    many = _problems_line([f"p{i}" for i in range(25)])
    assert many.splitlines()[-2:] == ["p19", "... and 5 more problems"] and "p20" not in many
    # a capped check (20 named rows + one "... and 1060 more rows" line) is shown whole, not
    # "... and 1 more problems"; hidden summary lines count the rows they stand for
    from spm_models.errors import MAX_ROWS_NAMED, row_problems

    capped = row_problems("b.csv", "amount", list(range(2, 2 + MAX_ROWS_NAMED + 1060)), "bad", "bad")
    text = _problems_line(capped)
    assert text.splitlines()[-1] == "b.csv, rows 22-1081, field 'amount': ... and 1060 more rows with the same problem (bad)"
    assert "more problems" not in text
    text = _problems_line(["other"] + capped)
    assert text.splitlines()[-1] == "... and 1061 more problems"  # row 21 + the 1060 behind the summary

    class NotebookError(Exception):  # what papermill raises for an error in a cell
        ename, evalue = "InputError", "a.yaml, key 'x': bad\nb.yaml, key 'y': bad"

    assert _reason(NotebookError()) == "a.yaml, key 'x': bad\nb.yaml, key 'y': bad"


def test_duplicate_keys_missing_data_and_bad_money_come_in_one_report(tmp_path):
    """A new user fixed a scenario in four rounds: a key written twice stopped the reading,
    the data source was only checked when the run started, and a negative budget was never
    reported. All of them are now reported at once, duplicates first."""
    path = _write(tmp_path / "y1.yaml", """
name: y1
target: 5000000
target: 6000000
budget: -5
data: nope.duckdb
quota: {method: growth, probabilty: 0.5}
""")
    with pytest.raises(InputError) as exc:
        load_scenarios(path, check_data=True)
    lines = exc.value.problems
    assert lines[0].startswith(f"{path}, line 4: key 'target' appears twice")
    joined = "\n".join(lines)
    assert f"{path}, key 'budget': " in joined and "greater than 0" in joined
    assert f"{path}, key 'data': data source not found: " in joined and "nope.duckdb" in joined
    assert f"{path}, key 'quota.probabilty': unknown key" in joined
    assert len(lines) == 4


def test_existing_data_folder_and_url_are_accepted(tmp_path):
    (tmp_path / "src").mkdir()
    path = _write(tmp_path / "s.yaml", "name: s\ndata: src\n")
    assert load_scenarios(path, check_data=True)[0].spec["data"] == str((tmp_path / "src").resolve())
    path = _write(tmp_path / "u.yaml", "name: u\ndata: duckdb:///x.duckdb\n")
    assert load_scenarios(path, check_data=True)[0].spec["data"] == "duckdb:///x.duckdb"
    # without check_data (API use with data made later) a missing source is not a problem
    path = _write(tmp_path / "later.yaml", "name: later\ndata: made_later.duckdb\n")
    assert load_scenarios(path)[0].spec["data"].endswith("made_later.duckdb")
