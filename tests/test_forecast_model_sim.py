"""A small simulator of the demo organisation's generating process (docs/architecture.md),
used by the forecast-model tests and benchmark independently of ``spm_models.data.demo``."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUTH = {
    "base_deals": 2.0,
    "deal_median": 20_000.0,
    "deal_sigma": 0.7,
    "season_amp": 0.3,
    "season_peak": 11.5,
    "trend": 0.08,
    "ramp_tau": 4.0,
    "rep_sigma": 0.35,
    "territory_sigma": 0.15,
    "region_sigma": 0.1,
    "region_size_sigma": 0.2,
    "cancel_rate": 0.05,
    "attrition_monthly": 0.01,
}


def simulate_org(
    n_reps: int = 200, years: int = 3, seed: int = 0, n_regions: int = 4, terr_per_region: int = 5,
    end: str = "2026-12", truth: dict | None = None,
) -> dict[str, pd.DataFrame]:
    """Tables ``reps``, ``bookings``, ``truth`` following the demo generating process."""
    tr = {**TRUTH, **(truth or {})}
    rng = np.random.default_rng(seed)
    n_t = 12 * years
    periods = pd.period_range(end=pd.Period(end, freq="M"), periods=n_t, freq="M")
    regions = [f"R{g}" for g in range(n_regions)]
    region_eff = rng.normal(0, tr["region_sigma"], n_regions)
    region_size = rng.normal(0, tr["region_size_sigma"], n_regions)
    n_terr = n_regions * terr_per_region
    terr_eff = rng.normal(0, tr["territory_sigma"], n_terr)
    terr_region = np.repeat(np.arange(n_regions), terr_per_region)
    rep_terr = rng.integers(0, n_terr, n_reps)
    skill = rng.normal(0, tr["rep_sigma"], n_reps)
    # 70 % hired before the history starts, 30 % during it
    hire_off = np.where(rng.random(n_reps) < 0.7, -rng.integers(1, 60, n_reps), rng.integers(0, n_t - 3, n_reps))
    term_off = np.full(n_reps, 10**6)
    for i in range(n_reps):
        t = max(hire_off[i], 0)
        while t < n_t:
            if rng.random() < tr["attrition_monthly"]:
                term_off[i] = t
                break
            t += 1
    rows = []
    fm = np.array([p.month for p in periods])  # calendar fiscal year
    for i in range(n_reps):
        g = terr_region[rep_terr[i]]
        for t in range(n_t):
            if t < hire_off[i] or t > term_off[i]:
                continue
            tau = t - hire_off[i]
            lam = np.exp(
                np.log(tr["base_deals"]) + region_eff[g] + terr_eff[rep_terr[i]] + skill[i]
                + tr["trend"] * t / 12
                + tr["season_amp"] * np.cos(2 * np.pi * (fm[t] - tr["season_peak"]) / 12)
            ) * (1 - np.exp(-(tau + 1) / tr["ramp_tau"]))
            n = rng.poisson(lam)
            for _ in range(n):
                amt = float(np.exp(np.log(tr["deal_median"]) + region_size[g] + tr["deal_sigma"] * rng.standard_normal()))
                day = periods[t].to_timestamp() + pd.Timedelta(days=int(rng.integers(0, 28)))
                rows.append((f"rep{i:03d}", day, round(amt, 2)))
                if rng.random() < tr["cancel_rate"]:
                    lag = int(rng.integers(1, 4))
                    if t + lag < n_t:
                        rows.append((f"rep{i:03d}", periods[t + lag].to_timestamp() + pd.Timedelta(days=3), -round(amt, 2)))
    bookings = pd.DataFrame(rows, columns=["rep_id", "date", "amount"])
    reps = pd.DataFrame(
        {
            "rep_id": [f"rep{i:03d}" for i in range(n_reps)],
            "region": [regions[terr_region[k]] for k in rep_terr],
            "territory_id": [f"T{k:02d}" for k in rep_terr],
            "hire_date": [(periods[0] + int(h)).to_timestamp() for h in hire_off],
            "term_date": [pd.NaT if t >= 10**6 else (periods[0] + int(t)).to_timestamp() + pd.Timedelta(days=27) for t in term_off],
            "role": "AE",
        }
    )
    truth = pd.DataFrame({"parameter": list(tr), "value": list(tr.values())})
    return {"reps": reps, "bookings": bookings, "truth": truth}


def test_simulator_shapes():
    t = simulate_org(n_reps=5, years=1, seed=1)
    assert set(t) == {"reps", "bookings", "truth"}
    assert len(t["reps"]) == 5
    assert (t["bookings"]["amount"] > 0).sum() > 10
