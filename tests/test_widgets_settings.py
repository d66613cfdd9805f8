"""What-if settings are checked: invalid values and unknown plans are errors naming the setting
and the allowed range, settings that change nothing warn, and the panel shows both as a message.

Uses the synthetic cube of ``test_report_widgets`` (20 AEs, plans ``ae.yaml`` 10 % flat and
``ae_accel.yaml`` 10 % to 100 %, 30 % above); a curve plan ``curve.yaml`` is added beside them.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_report_widgets import result  # noqa: F401 - the fixture

from spm_models.errors import InputError


def _curve_plan(folder: Path) -> None:
    (folder / "curve.yaml").write_text(yaml.safe_dump({
        "name": "curve", "plan_year_start": "2027-01", "payout_frequency": "quarter",
        "target_incentive": 50000, "measures": [{
            "name": "bookings", "quota_period": "year", "basis": "target_incentive",
            "curve": {"points": [[0.5, 0.2], [1.0, 1.0], [1.5, 2.0]]}}]}))


@pytest.fixture
def whatif(result):  # noqa: F811
    from spm_models.widgets import WhatIf

    _curve_plan(Path(result.scenario.path).parent / "plans")
    return WhatIf(result)


@pytest.mark.parametrize("settings, named, allowed", [
    ({"plan": "nope.yaml"}, "'plan'", "ae.yaml, ae_accel.yaml, curve.yaml"),
    ({"quota_uplift": -1.0}, "'quota_uplift'", "greater than -1"),
    ({"quota_uplift": -1.5}, "'quota_uplift'", "greater than -1"),
    ({"quota_uplift": math.nan}, "'quota_uplift'", "greater than -1"),
    ({"quota_uplift": math.inf}, "'quota_uplift'", "greater than -1"),
    ({"quota_uplift": "0.1"}, "'quota_uplift'", "greater than -1"),
    ({"quota_uplift": 1e308}, "'quota_uplift'", "at most 10"),
    ({"cap": 1e308}, "'cap'", "at most 100"),
    ({"accelerator": 1e6}, "'accelerator'", "at most 100"),
    ({"accelerator": -0.5}, "'accelerator'", ">= 0"),
    ({"accelerator": math.nan}, "'accelerator'", ">= 0"),
    ({"cap": 0.0}, "'cap'", "> 0"),
    ({"cap": math.nan}, "'cap'", "> 0"),
    ({"threshold": -0.1}, "'threshold'", ">= 0"),
    ({"hires": -100}, "'hires'", ">= 0"),
    ({"hires": 2.5}, "'hires'", "whole number"),
])
def test_invalid_settings_are_errors_naming_setting_and_range(whatif, settings, named, allowed):
    with pytest.raises(InputError) as err:
        whatif.compute(**settings)
    text = str(err.value)
    assert len(err.value.problems) == 1
    assert named in text and allowed in text, text


def test_pay_curve_checks_its_settings_too(whatif):
    with pytest.raises(InputError, match="'plan'.*allowed: ae.yaml"):
        whatif.pay_curve(plan="nope.yaml")
    with pytest.raises(InputError, match="'quota_uplift'"):
        whatif.pay_curve(quota_uplift=math.nan)
    for kw, name in (({"n": 2.5}, "'n'"), ({"n": 0}, "'n'"), ({"max_attainment": math.nan}, "'max_attainment'"),
                     ({"max_attainment": -1.0}, "'max_attainment'")):
        with pytest.raises(InputError, match=name):
            whatif.pay_curve(**kw)
    curve = whatif.pay_curve(n=11.0, max_attainment=2)  # whole-number float and int accepted
    assert curve["total"].sizes["attainment"] == 11
    assert float(curve["total"]["attainment"].max()) == 2.0


def test_valid_settings_still_change_the_figures(whatif):
    base = whatif.compute().incentive_cost["p50"]
    up = whatif.compute(quota_uplift=0.2, plan="ae_accel.yaml").incentive_cost["p50"]
    assert base > 0 and up > 0 and up != base
    # a numpy number is accepted
    assert whatif.compute(quota_uplift=np.float64(0.2), plan="ae_accel.yaml").incentive_cost[
        "p50"] == up


def test_accelerator_on_a_curve_plan_warns_and_changes_nothing(whatif):
    from spm_models.widgets import WhatIfWarning

    plain = whatif.compute(plan="curve.yaml").incentive_cost["p50"]
    with pytest.warns(WhatIfWarning, match="'accelerator'.*curve.*changes nothing"):
        accel = whatif.compute(plan="curve.yaml", accelerator=0.5).incentive_cost["p50"]
    assert accel == plain
    with warnings.catch_warnings():  # a plan with an accelerator tier: no warning
        warnings.simplefilter("error", WhatIfWarning)
        moved = whatif.compute(plan="ae_accel.yaml", accelerator=0.5).incentive_cost["p50"]
    assert moved != whatif.compute(plan="ae_accel.yaml").incentive_cost["p50"]


def test_hires_without_a_hiring_curve_warns(whatif):
    from spm_models.widgets import WhatIfWarning

    assert whatif.curve is None  # the synthetic result has no world
    with pytest.warns(WhatIfWarning, match="'hires'.*no hiring curve"):
        whatif.compute(hires=whatif.hires + 3)


def test_panel_shows_errors_and_warnings_as_messages(result):  # noqa: F811
    from spm_models.widgets import WhatIfPanel

    _curve_plan(Path(result.scenario.path).parent / "plans")
    panel = WhatIfPanel(result)
    figures = panel.figures.value
    panel.accel.disabled = False  # (the fixture's plan is flat: as for a plan with tiers)
    panel.accel.value = 0.5  # moved on the scenario's plan ...
    panel.plan.value = "curve.yaml"  # ... then a curve plan: a warning below the timing
    assert "spm-whatif-warning" in panel.status.value
    assert "changes nothing" in panel.status.value
    panel.model.plan_choices.pop("ae_accel.yaml")  # the file went away: an error, no crash
    panel.plan.value = "ae_accel.yaml"
    assert "what-if setting &#x27;plan&#x27;" in panel.status.value
    assert "#a4262c" in panel.status.value
    assert panel.figures.value != figures  # the curve plan's figures stay shown
