"""A scenario's ``plans`` keys must name roles someone has: a misspelt role pays nobody."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from spm_models.comp.roles import check_plan_roles
from spm_models.errors import InputError

REPS = pd.DataFrame({"rep_id": ["1", "2", "3"], "role": ["AE", "SE", "Manager"]})


def test_known_roles_default_and_hire_plan_pass():
    check_plan_roles({"AE": 1, "SE": 2, "Manager": 3, "default": 4, "AE_new_hire": 5}, REPS,
                     where="s.yaml", extra=("AE_new_hire",))
    check_plan_roles({"AE": 1}, None, where="s.yaml")
    check_plan_roles({"AE": 1}, REPS.drop(columns="role"), where="s.yaml")


def test_misspelt_role_is_named_with_the_roles_left_unpaid():
    with pytest.raises(InputError) as exc:
        check_plan_roles({"AE": 1, "SE": 2, "Mgr": 3, "Sales": 4}, REPS, where="s.yaml")
    lines = exc.value.problems
    assert len(lines) == 2
    assert lines[0] == ("s.yaml, key 'plans.Mgr': no rep has role 'Mgr' in the reps table "
                        "(roles: AE, Manager, SE; roles without a plan: Manager)")
    assert lines[1].startswith("s.yaml, key 'plans.Sales':")
    with pytest.raises(InputError, match="plans.SE"):
        check_plan_roles({"AE": 1, "SE": 2}, None, where="s.yaml")


def test_scenario_run_stops_before_the_forecast(tmp_path, monkeypatch):
    from spm_models import workflow
    from spm_models.workflow import forecast_step

    plan_dir = Path("scenarios/plans").resolve()
    spec = {"name": "typo", "data": "demo", "seed": 0, "draws": 20,
            "plans": {"AE": str(plan_dir / "ae_standard.yaml"),
                      "Mgr": str(plan_dir / "manager_rollup.yaml")}}
    src = tmp_path / "typo.yaml"
    src.write_text(yaml.safe_dump(spec))
    called = []
    monkeypatch.setattr(forecast_step, "forecast_cube", lambda *a, **k: called.append(1))
    with pytest.raises(InputError, match=r"key 'plans.Mgr': no rep has role 'Mgr'"):
        workflow.run(src, tmp_path / "wb")
    assert called == []


def test_horizon_that_misses_the_plan_year_stops_before_the_forecast(tmp_path, monkeypatch):
    """A new user waited 1 min 49 s for a fit before "credits: months 2027-11..2027-12 of the
    plan year are missing", which named neither the horizon nor the plan."""
    from spm_models import workflow
    from spm_models.workflow import forecast_step

    plan = Path("scenarios/plans/ae_standard.yaml").resolve()
    src = tmp_path / "short.yaml"
    src.write_text(yaml.safe_dump({"name": "short", "data": "demo", "draws": 20,
                                   "horizon": {"start": "2027-01", "months": 10},
                                   "plans": {"AE": str(plan)}}))
    called = []
    monkeypatch.setattr(forecast_step, "forecast_cube", lambda *a, **k: called.append(1))
    with pytest.raises(InputError) as exc:
        workflow.run(src, tmp_path / "wb")
    assert exc.value.problems == [
        (f"{src.resolve()}, key 'horizon': 2027-01..2027-10 does not cover the plan year "
        f"2027-01..2027-12 of plans.AE ({plan}); set horizon.start to 2027-01 and "
        "horizon.months to at least 12")]
    assert called == []
