"""A small synthetic forecast cube and plan for the world tests (no model fit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
PERIODS = [f"2027-{m:02d}" for m in range(1, 13)]


def forecast_cube(n_reps: int = 40, n_draws: int = 300, seed: int = 1, n_recent: int = 4) -> xr.Dataset:
    """``bookings(rep, period, draw)`` of ``n_reps`` reps in two regions: gamma monthly bookings
    around a rep skill (log-sd 0.3) × a per-draw level (parameter uncertainty); the last
    ``n_recent`` reps were hired three months before the plan (ramping, no full history)."""
    rng = np.random.default_rng(seed)
    skill = np.exp(rng.normal(0, 0.3, n_reps))
    level = 80_000 * np.exp(rng.normal(0, 0.05, n_draws))
    hire = np.array(["2020-01"] * (n_reps - n_recent) + ["2026-10"] * n_recent)
    tenure = np.array([(pd.Period("2027-01", "M") - pd.Period(h, "M")).n for h in hire])
    ten = tenure[:, None] + np.arange(12)[None, :]
    ramp = 1 - np.exp(-(ten + 1) / 3.0)
    mean = skill[:, None, None] * ramp[:, :, None] * level[None, None, :]
    b = rng.gamma(4.0, mean / 4.0)
    reps = np.array([f"R{i:03d}" for i in range(n_reps)])
    return xr.Dataset(
        {"bookings": (("rep", "period", "draw"), b)},
        coords={"rep": reps, "period": PERIODS, "draw": np.arange(n_draws),
                "region": ("rep", np.where(np.arange(n_reps) % 2 == 0, "East", "West")),
                "territory_id": ("rep", [f"T{i:03d}" for i in range(n_reps)]),
                "role": ("rep", np.full(n_reps, "AE")), "hire_month": ("rep", hire)},
    )


def history_tables(fc: xr.Dataset, seed: int = 2) -> dict[str, pd.DataFrame]:
    """A ``bookings`` table for 2026 consistent with the cube (one row per rep-month)."""
    rng = np.random.default_rng(seed)
    med = fc["bookings"].median("draw").values  # (rep, period)
    rows = []
    hires = fc["hire_month"].values.astype(str)
    for i, r in enumerate(fc["rep"].values):
        for m in range(12):
            month = f"2026-{m + 1:02d}"
            if pd.Period(month, "M") < pd.Period(hires[i], "M"):
                continue
            rows.append((str(r), f"{month}-15", float(med[i, m] * rng.lognormal(0, 0.2))))
    return {"bookings": pd.DataFrame(rows, columns=["rep_id", "date", "amount"])}


def plans() -> dict:
    from spm_models.comp import Plan

    return {"AE": Plan.from_yaml(ROOT / "scenarios" / "plans" / "ae_standard.yaml"),
            "AE_new_hire": Plan.from_yaml(ROOT / "scenarios" / "plans" / "ae_new_hire_draw.yaml")}
