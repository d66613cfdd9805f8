"""``spm report --store DIR`` reads the adjustments of ``spm adjust ... --store DIR``: an
approved adjustment in a custom store changes the report's inputs (the forecast draws the
scenario run adjusts), as ``$SPM_ADJUSTMENTS`` or the default folder do."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from tiny_scenario import tiny_scenario

from spm_models.cli import main
from spm_models.distribution.adjustments import propose, review
from spm_models.reporting import runner
from spm_models.scenario import load_scenario
from spm_models.workflow import adjust_step


@pytest.fixture()
def scenario(tmp_path: Path) -> Path:
    return tiny_scenario(tmp_path, "R1,2026-01-05,100\n", 3)


def _report_inputs(monkeypatch, capsys, argv: list[str]) -> list[xr.DataArray]:
    """Run ``spm report`` with the notebooks replaced by what a scenario run does with the
    adjustments (workflow.run: adjust_step.load, then adjust_forecast); the adjusted draws."""
    seen: list[xr.DataArray] = []

    def fake_run(paths, out, workers, show_progress):
        for p in paths:
            sc = load_scenario(p)
            fcube = xr.Dataset({"bookings": xr.DataArray(
                np.full((2, 3, 4), 100.0), dims=("rep", "period", "draw"),
                coords={"rep": ["R1", "R2"], "period": ["2027-04", "2027-05", "2027-06"]})})
            seen.append(adjust_step.adjust_forecast(fcube, adjust_step.load(sc), sc.seed)
                        ["bookings"])
        return []

    monkeypatch.setattr(runner, "_run_locked", fake_run)
    with pytest.raises(SystemExit) as exc:
        main(["report", *argv])
    assert exc.value.code in (0, None), capsys.readouterr().err
    return seen


def test_an_approved_adjustment_in_a_custom_store_reaches_the_report(
        scenario: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("SPM_ADJUSTMENTS", raising=False)
    store = tmp_path / "elsewhere" / "adjustments"
    adj = propose(store, "tiny", target="rep", target_id="R1", what="forecast", size="-20%",
                  reason="lost account", by="Ana")
    review(store, adj.id, "approved", "Ben", scenario="tiny")
    out = str(tmp_path / "reports")
    (plain,) = _report_inputs(monkeypatch, capsys, [str(scenario), "--out", out])
    np.testing.assert_array_equal(plain.values, 100.0)  # the default store holds nothing
    (adjusted,) = _report_inputs(monkeypatch, capsys, [str(scenario), "--out", out, "--store",
                                                       str(store)])
    np.testing.assert_allclose(adjusted.sel(rep="R1").values, 80.0)  # -20 %, no sd
    np.testing.assert_array_equal(adjusted.sel(rep="R2").values, 100.0)
    assert "SPM_ADJUSTMENTS" not in os.environ  # restored after the run
