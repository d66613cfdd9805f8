"""The workflow's pipeline step (summary["pipeline"], /pipeline groups) and its report section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_models.scenario import Scenario
from spm_models.workflow import pipeline_step
from spm_models.workflow.cache import Cache

FAST = {"draws": 60, "tune": 60, "chains": 1, "n_draws": 200}


def _scenario(**pipeline) -> Scenario:
    return Scenario({"name": "p", "seed": 1, "draws": 200, "pipeline": pipeline})


def _fcube(tables: dict[str, pd.DataFrame], months: list[str], n_draws: int = 200) -> xr.DataArray:
    """A stand-in forecast cube: each rep's mean monthly bookings of 2026 × gamma noise."""
    b = tables["bookings"]
    b26 = b[pd.to_datetime(b["date"]).dt.year == 2026]
    mean = b26.groupby(b26["rep_id"].astype(str))["amount"].sum() / 12.0
    reps = sorted(mean.index)
    rng = np.random.default_rng(0)
    m = np.maximum(mean.reindex(reps).to_numpy(), 1.0)
    x = rng.gamma(4.0, m[:, None, None] / 4.0, (len(reps), len(months), n_draws))
    return xr.DataArray(x, dims=("rep", "period", "draw"),
                        coords={"rep": reps, "period": months, "draw": np.arange(n_draws)})


def test_data_end_and_as_of(demo_tables):
    end = pipeline_step.data_end(demo_tables)
    assert end == pd.Timestamp("2026-12-31")
    assert pipeline_step.as_of_date(demo_tables, {}) == "2027-01-01"
    assert pipeline_step.as_of_date(demo_tables, {"as_of": "2026-08-20"}) == "2026-08-20"


def test_settings_defaults_overrides_and_off():
    assert pipeline_step.settings(Scenario({"name": "x"})) == pipeline_step.DEFAULTS
    assert pipeline_step.settings(_scenario(draws=80))["draws"] == 80
    assert pipeline_step.settings(_scenario(enabled=False)) is None
    _, _, block = pipeline_step.outlook({}, _scenario(enabled=False), "h", Cache("/nonexistent"))
    assert block["available"] is False and "switched off" in block["notes"][0]


def test_no_opportunities_uses_the_forecast_and_says_so(demo_tables, tmp_path):
    tables = {k: demo_tables[k] for k in ("reps", "bookings", "quotas")}
    cube = _fcube(tables, ["2027-01", "2027-02", "2027-03"])
    cache = Cache(tmp_path / "cache")
    q, k, block = pipeline_step.outlook(tables, _scenario(**FAST), "h0", cache, cube, "fk")
    assert k is None and q is not None
    assert block["available"] and not block["pipeline_used"]
    assert block["quarter"] == "2027-Q1" and block["closed_to_date"] == 0.0
    notes = " ".join(block["notes"])
    assert "no opportunities table" in notes and "bookings model only" in notes
    assert "given forecast" in notes and "no pipeline KPIs" in notes
    assert block["kpis"] == {} and block["trends"] == {}
    # the quarter is the forecast's first three months, summed over the reps it shares
    reps = [r for r in q["rep"].values if r in set(cube["rep"].values)]
    want = cube.sel(rep=reps).sum(["rep", "period"]).values
    assert block["forecast"]["p50"] == pytest.approx(float(np.percentile(want, 50)), rel=1e-9)
    json.dumps(block, allow_nan=False)


def test_short_forecast_is_not_used_for_a_quarter_it_does_not_cover(demo_tables):
    from spm_models.forecast.quarter_outlook import _covering

    cube = _fcube(demo_tables, ["2027-01", "2027-02"], 20)
    a = int(np.datetime64("2027-01-01", "D").astype(np.int64))
    assert _covering(cube, a) is None
    assert _covering(cube, a + 2) is None  # still Q1, March missing
    assert _covering(_fcube(demo_tables, ["2027-02", "2027-03"], 20), a + 40) is not None


@pytest.mark.slow
def test_pipeline_block_on_the_demo(demo_tables, tmp_path):
    cache = Cache(tmp_path / "cache")
    q, k, block = pipeline_step.outlook(demo_tables, _scenario(**FAST), "h1", cache)
    assert block["available"] and block["pipeline_used"]
    assert block["quarter"] == "2027-Q1" and block["as_of"] == "2027-01-01"
    assert {"closed_to_date", "open_pipeline", "not_yet_created"} <= set(block["parts"])
    f = block["forecast"]
    assert 0 < f["p10"] <= f["p50"] <= f["p90"]
    regions = set(demo_tables["reps"]["region"].astype(str)) | {"__none__"}
    assert set(block["by_region"]) <= regions and len(block["by_region"]) >= 2
    # region P50s add up to roughly the company's (sums of draws, not of quantiles)
    assert sum(r["p50"] for r in block["by_region"].values()) == pytest.approx(f["p50"], rel=0.15)
    assert set(block["coverage_by_region"]) == set(k["id"].values[k["level"].values == "region"])
    assert block["kpis"]["period"] == "2026-12"
    assert block["trends"]["periods"][-1] == "2026-12" and len(block["trends"]["periods"]) == 12
    assert len(block["trends"]["win_rate"]["values"]) == 12
    assert q["bookings"].dims == ("rep", "period", "draw") and q.sizes["draw"] == FAST["n_draws"]
    json.dumps(block, allow_nan=False)
    # a second run reads the cache: same figures, no refit
    entries = list((tmp_path / "cache" / "pipeline").iterdir())
    q2, _k2, block2 = pipeline_step.outlook(demo_tables, _scenario(**FAST), "h1", cache)
    assert cache.last_state == "hit" and block2 == block
    assert list((tmp_path / "cache" / "pipeline").iterdir()) == entries
    xr.testing.assert_allclose(q2["bookings"], q["bookings"])
    # the report section renders the fan, the coverage and the KPI trends
    tree = pipeline_step.attach(xr.DataTree(), q, k)
    _check_section(tree, block, available=True)


def _check_section(tree, block, available: bool):
    from spm_models.reporting.pipeline_sections import pipeline_section

    shown = []
    out = pipeline_section(tree, {"pipeline": block}, display=shown.append)
    html = "".join(getattr(x, "data", "") or "" for x in [*shown, out] if isinstance(getattr(x, "data", None), str))
    images = [x for x in shown if type(x).__name__ == "Image"]
    if available:
        assert len(images) == 3
        assert block["quarter"] in html and "P50" in html
    else:
        assert not images
        assert "not available" in html


def test_report_section_without_pipeline():
    block = {"available": False, "notes": ["no bookings: nothing to forecast from"]}
    _check_section(xr.DataTree(), block, available=False)
    _check_section(xr.DataTree(), None, available=False)


def test_report_section_bookings_only(demo_tables, tmp_path):
    tables = {k: demo_tables[k] for k in ("reps", "bookings", "quotas")}
    cube = _fcube(tables, ["2027-01", "2027-02", "2027-03"])
    q, k, block = pipeline_step.outlook(tables, _scenario(**FAST), "h2", Cache(tmp_path), cube, "f")
    from spm_models.reporting.pipeline_sections import pipeline_section

    shown = []
    out = pipeline_section(pipeline_step.attach(xr.DataTree(), q, k), {"pipeline": block},
                           display=shown.append)
    html = "".join(x.data for x in [*shown, out] if isinstance(getattr(x, "data", None), str))
    assert "no opportunities table" in html and "bookings model only" in html
    assert sum(type(x).__name__ == "Image" for x in shown) == 1  # the fan; no KPIs to plot
