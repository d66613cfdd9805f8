"""Cube conventions: accessor verbs, coherent roll-ups, chunking rule, zarr round trip."""

import numpy as np
import pytest
import xarray as xr

from spm_models import cube
from spm_models.provenance import provenance


@pytest.fixture
def bookings() -> xr.Dataset:
    rng = np.random.default_rng(0)
    ds = cube.empty_cube(["r1", "r2", "r3", "r4"], cube.month_range("2027-01", 12), 500)
    ds["bookings"] = (("rep", "period", "draw"), rng.lognormal(10, 1, (4, 12, 500)))
    return ds.assign_coords(
        territory_id=("rep", ["T1", "T1", "T2", "T3"]), region=("rep", ["W", "W", "E", "E"])
    )


def test_month_range_crosses_year():
    assert cube.month_range("2026-11", 3) == ["2026-11", "2026-12", "2027-01"]


def test_rollup_sums_draw_by_draw(bookings):
    region = bookings.spm.rollup("region")["bookings"]
    assert set(region["region"].values) == {"W", "E"}
    np.testing.assert_allclose(
        region.sel(region="W"), bookings["bookings"].isel(rep=[0, 1]).sum("rep")
    )
    company = bookings.spm.rollup("company")["bookings"]
    np.testing.assert_allclose(company.sum("period"), region.sum(["region", "period"]))
    # quantiles of the total are not the sum of the quantiles (coherent roll-up)
    annual = bookings["bookings"].sum("period")
    q_of_sum = annual.sum("rep").quantile(0.9, "draw")
    sum_of_q = annual.quantile(0.9, "draw").sum("rep")
    assert float(q_of_sum) < float(sum_of_q)


def test_rollup_unknown_level(bookings):
    with pytest.raises(KeyError, match="district"):
        bookings.spm.rollup("district")


def test_quantiles_and_probability(bookings):
    q = bookings["bookings"].spm.quantiles()
    assert list(q["quantile"].values) == [0.1, 0.5, 0.9]
    assert (q.sel(quantile=0.1) <= q.sel(quantile=0.9)).all()
    median = bookings["bookings"].median("draw")
    p = bookings.spm.prob_exceeds(median, "bookings")
    np.testing.assert_allclose(p, 0.5, atol=0.01)


def test_chunk_plan_never_splits_period():
    plan = cube.chunk_plan({"scenario": 4, "rep": 20000, "period": 12, "draw": 4000})
    assert plan["period"] == 12
    assert cube.estimate_nbytes(plan) <= cube.DEFAULT_CHUNK_BYTES


def test_maybe_chunk_only_when_too_big(bookings):
    assert bookings["bookings"].chunks is None
    assert cube.maybe_chunk(bookings["bookings"]).chunks is None
    chunked = cube.maybe_chunk(bookings["bookings"], memory_budget=1000)
    assert chunked.chunks is not None
    assert chunked.chunksizes["period"] == (12,)


def test_zarr_round_trip_keeps_provenance(tmp_path, bookings):
    prov = provenance(scenario_hash="abc", data_hash="def", seed=7)
    path = cube.write_cube(bookings, tmp_path / "cube.zarr", prov)
    back = cube.read_cube(path)
    xr.testing.assert_allclose(back["bookings"], bookings["bookings"])
    assert back.spm.provenance["seed"] == 7
    assert back.attrs["scenario_hash"] == "abc"
    assert list(back["territory_id"].values) == ["T1", "T1", "T2", "T3"]
    # overwrite is atomic: no temporary folders left behind
    cube.write_cube(bookings, path, prov)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cube.zarr"]
    lazy = cube.read_cube(path, chunks={})
    assert lazy["bookings"].chunks is not None
