"""The scenario result tree: groups with their own dims, zarr round trip, accessor on import."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import xarray as xr


def _tree() -> xr.DataTree:
    reps = np.array(["R1", "R2", "R3"], dtype=object)
    fc = xr.Dataset({"bookings": (("rep", "period", "draw"), np.arange(36.0).reshape(3, 3, 4))},
                    coords={"rep": reps, "period": ["2027-01", "2027-02", "2027-03"],
                            "draw": np.arange(4), "region": ("rep", ["W", "W", "E"])})
    comp = xr.Dataset({"quota": (("rep", "period"), np.ones((3, 3))),
                       "payout": (("rep", "period", "draw"), np.zeros((3, 3, 4))),
                       "plan": ("rep", np.array(["AE", "AE", "AE"], dtype=object))},
                      coords={"rep": reps, "period": fc["period"].values, "draw": np.arange(4)})
    overlay = xr.Dataset({"payout": (("rep", "period", "draw"), np.ones((2, 3, 4)))},
                         coords={"rep": ["S1", "S2"], "period": fc["period"].values,
                                 "draw": np.arange(4), "role": ("rep", ["SE", "SE"])})
    history = xr.Dataset({"bookings": (("rep", "period"), np.ones((3, 24)))},
                         coords={"rep": reps, "period": [f"{y}-{m:02d}" for y in (2025, 2026)
                                                         for m in range(1, 13)]})
    capacity = xr.Dataset({"capacity": (("period", "draw"), np.ones((6, 10)))},
                          coords={"period": [f"2027-0{m}" for m in range(2, 8)],
                                  "draw": np.arange(10)}, attrs={"feasible": 1})
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"scenario": "s"}), "/forecast": fc,
                                  "/comp": comp, "/overlay": overlay, "/history": history,
                                  "/capacity": capacity})


def test_groups_keep_their_own_dims_and_round_trip(tmp_path):
    from spm_models.cube import read_tree, write_tree

    tree = _tree()
    path = write_tree(tree, tmp_path / "cube.zarr",
                      provenance={"scenario_hash": "abc", "data_hash": "def", "seed": 7})
    back = read_tree(path)
    assert back.attrs["scenario_hash"] == "abc" and back.attrs["seed"] == 7
    assert back.spm.provenance == {"package_version": None, "scenario_hash": "abc",
                                   "data_hash": "def", "seed": 7}
    for name in ("forecast", "comp", "overlay", "history", "capacity"):
        want = tree[name].to_dataset(inherit=False)
        got = back[name].to_dataset(inherit=False)
        assert set(got.variables) == set(want.variables), name
        for var in want.variables:
            np.testing.assert_array_equal(np.asarray(got[var].values).astype(str)
                                          if want[var].dtype == object else got[var].values,
                                          np.asarray(want[var].values).astype(str)
                                          if want[var].dtype == object else want[var].values)
    # the same dim name means each group's own axis: no renamed duplicates
    assert back["overlay"].sizes["rep"] == 2 and back["forecast"].sizes["rep"] == 3
    assert back["history"].sizes["period"] == 24 and back["capacity"].sizes["period"] == 6
    assert not {"overlay_rep", "capacity_period", "capacity_draw", "history_period"} & {
        d for node in back.subtree for d in node.dims}
    view = back.spm.cube
    assert set(view.data_vars) == {"bookings", "quota", "payout", "plan"}
    assert view["bookings"].dims == ("rep", "period", "draw")


def test_accessor_registered_on_import_in_a_fresh_interpreter():
    code = ("import numpy as np, xarray as xr, spm_models\n"
            "ds = xr.Dataset({'bookings': (('rep', 'period', 'draw'), np.ones((2, 1, 5)))},"
            " coords={'rep': ['a', 'b'], 'period': ['2027-01'], 'draw': range(5)})\n"
            "print(float(ds.spm.annual('bookings').sum()), hasattr(xr.DataTree(), 'spm'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["10.0", "True"]
