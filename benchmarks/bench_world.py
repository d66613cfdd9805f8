"""Benchmark of the scenario world's what-if path (issue 11: recompute under 300 ms).

A demo-sized synthetic forecast cube (160 reps × 12 months × 1000 draws, the standard AE
plan and the new-hire draw plan, equal-probability quotas, 1.5 %/month attrition, 2-month
hiring lag) is turned into a :class:`spm_models.planning.world.HiringCurve` once; then a
headcount change is evaluated on the curve and, as the baseline measured in the same run, by a
full :func:`spm_models.planning.world.simulate_world` of the same plan. Reports both times,
their ratio and the relative difference of revenue and cost P50 (must be < 1 %, exact in
fact). Exits 1 when the curve's evaluation takes 300 ms or more, or the figures disagree.

Run: ``.venv/bin/python benchmarks/bench_world.py``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0


def cube(n_reps: int = 160, n_draws: int = 1000, seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    periods = [f"2027-{m:02d}" for m in range(1, 13)]
    skill = np.exp(rng.normal(0, 0.35, n_reps))
    level = 95_000 * np.exp(rng.normal(0, 0.05, n_draws))
    b = rng.gamma(3.0, (skill[:, None, None] * level[None, None, :] / 3.0) * np.ones((1, 12, 1)))
    return xr.Dataset({"bookings": (("rep", "period", "draw"), b)},
                      coords={"rep": [f"R{i:03d}" for i in range(n_reps)], "period": periods,
                              "draw": np.arange(n_draws),
                              "region": ("rep", np.array(["East", "West", "Central"])[np.arange(n_reps) % 3]),
                              "territory_id": ("rep", [f"T{i:03d}" for i in range(n_reps)]),
                              "role": ("rep", np.full(n_reps, "AE")),
                              "hire_month": ("rep", np.full(n_reps, "2020-01"))})


def main() -> int:
    from spm_models.comp import Plan
    from spm_models.planning.world import (
        WorldInputs,
        hiring_curve,
        incentive_cost,
        revenue,
        simulate_world,
    )

    plans = {"AE": Plan.from_yaml(ROOT / "scenarios/plans/ae_standard.yaml"),
             "AE_new_hire": Plan.from_yaml(ROOT / "scenarios/plans/ae_new_hire_draw.yaml")}
    inp = WorldInputs(forecast=cube(), quota={"method": "equal_probability", "probability": 0.6}, plans=plans,
                      roster={"attrition_monthly": 0.015, "hiring_lag_months": 2, "ramp_tau": 3.0, "seed": 1,
                              "hire_plan": "AE_new_hire"})
    t = time.perf_counter()
    curve = hiring_curve(inp, slots_per_month=12)
    build = time.perf_counter() - t
    plan = pd.Series([8] * 10 + [0, 0], index=curve.periods).to_dict()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        r, c = curve.evaluate(plan)
        best = min(best, time.perf_counter() - t)
    t = time.perf_counter()
    w = simulate_world(WorldInputs(**{**inp.__dict__, "roster": {**inp.roster, "hiring_plan": plan}}))
    full = time.perf_counter() - t
    dr = abs(np.median(r) / np.median(revenue(w).values) - 1)
    dc = abs(np.median(c) / np.median(incentive_cost(w).values) - 1)
    print(f"hiring curve build: {build:.2f} s (once per scenario)")
    print(f"what-if headcount change: curve {1e3 * best:.3f} ms vs full world {1e3 * full:.0f} ms "
          f"(ratio {full / best:,.0f}x)")
    print(f"agreement with the full run: revenue P50 {dr:.2e}, cost P50 {dc:.2e} (relative)")
    ok = 1e3 * best < TARGET_MS and dr < 0.01 and dc < 0.01
    print("OK" if ok else f"FAILED: target {TARGET_MS} ms and 1 % agreement")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
