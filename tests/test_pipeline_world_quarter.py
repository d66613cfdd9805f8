"""The report's two first-quarter figures (world vs pipeline outlook) are set side by side with
one sentence saying why they differ (the pipeline is not spliced into the world's draws)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from spm_models.reporting.pipeline_sections import outlook_note, quarter_note, two_figures_sentence
from spm_models.workflow.pipeline_step import world_quarter

PERIODS = [f"2027-{m:02d}" for m in range(1, 13)]


def cube(level: float, n_reps: int = 3, n_draws: int = 101) -> xr.DataArray:
    vals = level * (1 + np.linspace(-0.5, 0.5, n_draws))[None, None, :] * np.ones((n_reps, 12, 1))
    return xr.DataArray(vals, dims=("rep", "period", "draw"), coords={"period": PERIODS})


BLOCK = {"available": True, "quarter": "2027-Q1", "as_of": "2027-01-01",
         "forecast": {"mean": 9.5e6, "p10": 8e6, "p50": 9.5e6, "p90": 1.1e7}}


def test_world_quarter_reads_both_cubes_over_the_quarter_months():
    wq = world_quarter(BLOCK, cube(1e6), cube(1.1e6), ("attrition", "hires", "territory"))
    assert wq["months"] == ["2027-01", "2027-02", "2027-03"]
    assert wq["world"]["p50"] == np.float64(3 * 3 * 1e6)  # 3 reps × 3 months at the median draw
    assert wq["forecast"]["p50"] == np.float64(3 * 3 * 1.1e6)
    assert wq["pipeline"] == {"p10": 8e6, "p50": 9.5e6, "p90": 1.1e7}
    # a quarter outside the world's horizon, or no outlook: nothing to compare
    assert world_quarter({**BLOCK, "quarter": "2026-Q4"}, cube(1e6), cube(1e6)) is None
    assert world_quarter({"available": False}, cube(1e6), cube(1e6)) is None


def test_one_sentence_names_both_figures_and_why():
    summary = {"pipeline": {**BLOCK, "world_quarter": world_quarter(BLOCK, cube(1e6), cube(1.1e6),
                                                                     ("attrition", "hires"))}}
    text = two_figures_sentence(summary)
    assert text.endswith(".") and text.count(". ") == 0  # one sentence
    assert "2027-Q1" in text and "9.0M" in text and "9.9M" in text and "9.5M" in text
    assert "leavers and hires" in text and "not paired" in text and "2027-01-01" in text
    assert "9.0M" in quarter_note(summary).data
    assert two_figures_sentence({"pipeline": BLOCK}) is None and quarter_note({}) is None


def test_the_outlook_table_points_to_the_sentence_instead_of_repeating_it():
    summary = {"pipeline": {**BLOCK, "world_quarter": world_quarter(BLOCK, cube(1e6), cube(1.1e6), ("hires",))}}
    note = outlook_note(summary)
    assert note.startswith("Company P50 9.5M, 80 % range 8.0M – 11.0M.")
    assert "2027-Q1 figure (P50 9.0M)" in note and "under the revenue forecast" in note
    assert two_figures_sentence(summary) not in note and "not paired" not in note
    assert outlook_note({"pipeline": BLOCK}) == "Company P50 9.5M, 80 % range 8.0M – 11.0M."
