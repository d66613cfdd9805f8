"""A synthetic scenario world of any size, for the plan-document benchmark and fast tests.

:func:`synthetic_world` writes a plan and a scenario file into a folder and builds a cube
shaped like the pipeline's (``bookings``/``payout`` ``(rep, period, draw)``, ``quota(rep,
period)``, ``target_incentive``, ``plan``, coords ``role``/``territory_id``, territory
variables along ``account``). Payouts come from the comp engine, so the cube is consistent.
No forecast is fitted: bookings are lognormal around each rep's quota.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from spm_models.distribution.world import World

PLAN = {
    "name": "AE synthetic", "currency": "USD", "plan_year_start": "2027-01",
    "payout_frequency": "quarter", "target_incentive": 80000,
    "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "revenue",
                  "tiers": [{"to": 0.5, "rate": 0.04}, {"to": 1.0, "rate": 0.1},
                            {"rate": 0.15}], "cap": {"attainment": 2.5}}],
    "bonuses": [{"name": "club", "measure": "bookings", "at": 1.2, "amount": 2500}],
}


def synthetic_world(folder: str | Path, n_reps: int = 50, n_draws: int = 200,
                    n_territories: int | None = None, accounts_per_territory: int = 30,
                    seed: int = 0, names: dict[int, str] | None = None,
                    rep_ids: list[str] | None = None, plan: dict | None = None,
                    level: float = 1.0) -> World:
    """A :class:`World` of ``n_reps`` quota-holding reps (``rep_ids`` / ``names`` override
    ids and display names by position), with its plan and scenario files in ``folder``.
    ``plan``: the plan mapping (default :data:`PLAN`); ``level``: bookings ÷ quota scale."""
    from spm_models.comp import Plan, compute_payouts
    from spm_models.scenario import load_scenario

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    plan_path = folder / "ae.yaml"
    plan_path.write_text(yaml.safe_dump(plan or PLAN, sort_keys=False))
    spec = {"name": "synthetic", "data": "demo", "seed": seed, "draws": n_draws,
            "plans": {"AE": "ae.yaml"}}
    scen_path = folder / "synthetic.yaml"
    scen_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    scenario = load_scenario(scen_path)
    plan_obj = Plan.from_yaml(plan_path)
    rng = np.random.default_rng(seed)
    ids = list(rep_ids) if rep_ids is not None else [f"R{i:05d}" for i in range(n_reps)]
    n = len(ids)
    n_terr = n_territories or n
    terr_ids = [f"T{j:04d}" for j in range(n_terr)]
    rep_terr = np.array([terr_ids[i % n_terr] for i in range(n)])
    months = plan_obj.months
    annual = rng.uniform(4e5, 2e6, n)
    season = np.array([0.7, 0.8, 1.1, 0.8, 0.9, 1.1, 0.8, 0.9, 1.2, 0.9, 1.0, 1.8])
    quota = annual[:, None] * season[None, :] / season.sum()
    rep_level = rng.lognormal(0.0, 0.25, n) * level
    noise = rng.lognormal(-0.08, 0.4, (n, 12, n_draws))
    bookings = quota[:, :, None] * rep_level[:, None, None] * noise
    coords = {"rep": ids, "period": months, "draw": np.arange(n_draws)}
    b = xr.DataArray(bookings, dims=["rep", "period", "draw"], coords=coords)
    q = xr.DataArray(quota, dims=["rep", "period"], coords={"rep": ids, "period": months})
    ti = xr.DataArray(np.full(n, 80000.0), dims=["rep"], coords={"rep": ids})
    pay = compute_payouts(plan_obj, b, q, ti)["payout"].reindex(period=months, fill_value=0.0)
    n_acc = n_terr * accounts_per_territory
    acc_terr = np.repeat(terr_ids, accounts_per_territory)
    centre = {t: (rng.uniform(30, 47), rng.uniform(-120, -75)) for t in terr_ids}
    lat = np.array([centre[t][0] for t in acc_terr]) + rng.normal(0, 0.6, n_acc)
    lon = np.array([centre[t][1] for t in acc_terr]) + rng.normal(0, 0.8, n_acc)
    cube = xr.Dataset({
        "bookings": b, "quota": q, "target_incentive": ti,
        "payout": pay.transpose("rep", "period", "draw"),
        "plan": ("rep", np.array(["AE"] * n)),
        "territory_before": ("account", acc_terr), "territory_after": ("account", acc_terr),
        "potential": ("account", rng.lognormal(11, 1, n_acc)),
        "lat": ("account", lat), "lon": ("account", lon),
    }, coords={"account": [f"A{k:06d}" for k in range(n_acc)]})
    cube = cube.assign_coords(territory_id=("rep", rep_terr), role=("rep", np.array(["AE"] * n)))
    cube.attrs.update(scenario_hash=scenario.scenario_hash(), data_hash="synthetic", seed=seed,
                      package_version="test", scenario="synthetic")
    display = [(names or {}).get(i, f"Rep {i}") for i in range(n)]
    reps = pd.DataFrame({"rep_id": ids, "name": display, "territory_id": rep_terr, "role": "AE"})
    accounts = pd.DataFrame({"account_id": cube["account"].values, "territory_id": acc_terr,
                             "lat": lat, "lon": lon, "potential": cube["potential"].values})
    return World(scenario, cube, {"reps": reps, "accounts": accounts}, {"AE": plan_obj})
