"""Synthetic inputs for planning tests and benchmarks (real ZIP centroids, lognormal
potential, a drifted-but-compact starting alignment; lognormal forecast cubes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.planning.geo import all_zip_centroids

#: Continental US bounding box (excludes AK, HI, territories).
_CONUS = (24.0, 50.0, -125.0, -66.0)


def _bisect(lat: np.ndarray, lon: np.ndarray, w: np.ndarray, idx: np.ndarray, k: int, out: np.ndarray, first: int) -> None:
    """Recursive coordinate bisection into ``k`` parts of equal weight (compact, balanced)."""
    if k == 1:
        out[idx] = first
        return
    k1 = k // 2
    la, lo = lat[idx], lon[idx] * np.cos(np.radians(lat[idx].mean()))
    key = la if np.ptp(la) > np.ptp(lo) else lo
    order = idx[np.argsort(key, kind="stable")]
    cum = np.cumsum(w[order])
    cut = int(np.searchsorted(cum, cum[-1] * k1 / k)) + 1
    cut = min(max(cut, k1), order.size - (k - k1))
    _bisect(lat, lon, w, order[:cut], k1, out, first)
    _bisect(lat, lon, w, order[cut:], k - k1, out, first + k1)


def synthetic_accounts(
    n_accounts: int = 2000,
    n_territories: int = 20,
    seed: int = 0,
    potential_sigma: float = 1.0,
    drift: float = 0.2,
) -> pd.DataFrame:
    """Accounts at real ZIP centroids with a compact alignment that has drifted out of balance.

    The alignment is drawn balanced (recursive coordinate bisection on potential), then each
    territory's accounts grow by a common lognormal factor (sd ``drift`` on the log scale), as
    markets grow unevenly after an alignment. Columns: ``account_id, zip, lat, lon,
    potential, workload, territory_id, rep_id``.
    """
    rng = np.random.default_rng(seed)
    zips, lat, lon = all_zip_centroids()
    box = (lat > _CONUS[0]) & (lat < _CONUS[1]) & (lon > _CONUS[2]) & (lon < _CONUS[3])
    idx = rng.choice(np.flatnonzero(box), size=n_accounts, replace=n_accounts > box.sum())
    a_lat, a_lon = lat[idx], lon[idx]
    potential = rng.lognormal(np.log(50_000), potential_sigma, n_accounts)
    lab = np.zeros(n_accounts, dtype=int)
    _bisect(a_lat, a_lon, potential, np.arange(n_accounts), n_territories, lab, 0)
    potential = np.round(potential * rng.lognormal(0.0, drift, n_territories)[lab], 2)
    workload = np.round(1.0 + 0.5 * np.log1p(potential / 50_000) + rng.gamma(2.0, 0.25, n_accounts), 3)
    tid = np.array([f"T{j + 1:03d}" for j in range(n_territories)])
    return pd.DataFrame({
        "account_id": [f"A{i + 1:05d}" for i in range(n_accounts)],
        "zip": zips[idx],
        "lat": a_lat,
        "lon": a_lon,
        "potential": potential,
        "workload": workload,
        "territory_id": tid[lab],
        "rep_id": [f"R{j + 1:03d}" for j in lab],
    })


def synthetic_forecast(
    n_reps: int = 20,
    n_draws: int = 2000,
    start: str = "2027-01",
    months: int = 12,
    seed: int = 0,
    sigma: float = 0.35,
    n_territories: int | None = None,
    draw_seed: int | None = None,
) -> xr.Dataset:
    """A forecast-like cube: ``bookings(rep, period, draw)`` lognormal with rep-specific
    scale and spread plus a Q4 seasonal peak; rep coords ``territory_id`` and ``region``.

    ``seed`` fixes the reps; ``draw_seed`` (optional) gives fresh draws for the same reps."""
    rng = np.random.default_rng(seed)
    periods = [str(p) for p in pd.period_range(start, periods=months, freq="M")]
    fm = np.array([pd.Period(p, freq="M").month for p in periods])
    season = 0.3 * np.cos(2 * np.pi * (fm - 11.5) / 12)
    scale = rng.lognormal(np.log(80_000), 0.5, n_reps)
    spread = sigma * rng.uniform(0.6, 1.6, n_reps)
    if draw_seed is not None:  # same reps (scales, spreads), fresh draws
        rng = np.random.default_rng([seed, draw_seed])
    rep_eff = rng.normal(0, 1, (n_reps, 1, n_draws)) * spread[:, None, None] * 0.7  # common over months
    mu = np.log(scale)[:, None, None] + season[None, :, None] + rep_eff
    bookings = rng.lognormal(mu, spread[:, None, None] * 0.7)
    reps = [f"R{i + 1:03d}" for i in range(n_reps)]
    n_t = n_territories or n_reps
    return xr.Dataset(
        {"bookings": (("rep", "period", "draw"), bookings)},
        coords={
            "rep": reps,
            "period": periods,
            "draw": np.arange(n_draws),
            "territory_id": ("rep", [f"T{(i % n_t) + 1:03d}" for i in range(n_reps)]),
            "region": ("rep", [("East", "West", "Central")[i % 3] for i in range(n_reps)]),
        },
    )
