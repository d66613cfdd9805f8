"""Benchmark of quota setting (``make bench``), plus the issue-4 quota acceptance run.

Default (seconds): ``equal_probability`` reconciled with a company target (bisection on the
common probability) on a synthetic 200-rep × 12-month × 4,000-draw cube, against the time of
one plain per-rep quantile over draws (the baseline: what a single ``probability`` costs).

``--demo`` (minutes): the demo organisation (200 seats, 3 years) with a forecast cube from
the forecast engineer's ``BookingsForecast`` (ADVI fit, ``--cube PATH.nc`` to reuse a saved
cube). Sets ``equal_probability`` (p = 0.6) and ``growth`` (10 %) quotas and prints the spread
of P(reaching quota) across reps for both — in sample (the draws the quotas were set on) and
out of sample (quotas set on the first half of the draws, checked on the second half).

Run: ``.venv/bin/python benchmarks/bench_quota.py [--demo [--cube PATH.nc]]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def bench_synthetic() -> None:
    from spm_models.planning.quota import annual_draws, set_quotas
    from spm_models.planning.synthetic import synthetic_forecast

    fc = synthetic_forecast(n_reps=200, n_draws=4000, seed=0)
    annual = annual_draws(fc)
    total = float(annual.median("draw").sum())
    t = time.perf_counter()
    for _ in range(3):
        np.quantile(annual.values, 0.4, axis=1)
    t_base = (time.perf_counter() - t) / 3
    t = time.perf_counter()
    ds = set_quotas({"method": "equal_probability", "target": total, "over_assignment": 1.1}, fc)
    t_set = time.perf_counter() - t
    print("quota setting: 200 reps × 12 months × 4,000 draws")
    print(f"  equal_probability + target reconciliation: {t_set:.3f} s "
          f"(implied p = {ds.attrs['implied_probability']:.4f})")
    print(f"  one per-rep quantile (baseline):          {t_base:.4f} s  ratio = {t_set / t_base:.0f}x")


def _demo_cube(path: str | None):
    import xarray as xr

    from spm_models.data.demo import make_demo

    tables = make_demo(n_reps=200, years=3, seed=0)
    if path:
        return tables, xr.open_dataset(path).load(), "saved cube " + path
    from spm_models.forecast import BookingsForecast, monthly_panel

    t = time.perf_counter()
    model = BookingsForecast().fit(monthly_panel(tables), method="fast", draws=1000, seed=0)
    fc = model.forecast("2027-01", 12, n_draws=4000, seed=1)
    return tables, fc, f"BookingsForecast ADVI fit + forecast ({time.perf_counter() - t:.0f} s)"


def bench_demo(path: str | None) -> None:
    from spm_models.planning.quota import fairness_summary, quota_fairness, set_quotas

    tables, fc, how = _demo_cube(path)
    print(f"demo organisation, forecast cube: {how}; {fc.sizes['rep']} reps × {fc.sizes['draw']} draws")
    half = fc.sizes["draw"] // 2
    fit_half, check_half = fc.isel(draw=slice(0, half)), fc.isel(draw=slice(half, None))
    p = 0.6
    for cfg in ({"method": "equal_probability", "probability": p}, {"method": "growth", "growth": 0.10}):
        ds = set_quotas(cfg, fc, tables)
        s = fairness_summary(ds)
        ev = ds["evaluated"].values
        dev = np.abs(ds["p_reach"].values[ev] - p)
        oos = quota_fairness(set_quotas(cfg, fit_half, tables)["annual_quota"], check_half)
        po = oos["p_reach"].values[oos["evaluated"].values]
        print(f"  {cfg}")
        print(f"    in sample : P(reach) mean {s['p_reach_mean']:.3f} sd {s['p_reach_sd']:.3f} "
              f"min {s['p_reach_min']:.3f} max {s['p_reach_max']:.3f} IQR {s['p_reach_iqr']:.3f}; "
              f"max |P - {p}| = {dev.max():.4f}; reps evaluated {int(s['n_reps_evaluated'])}")
        print(f"    out of sample: P(reach) sd {po.std():.3f}, max |P - {p}| = {np.abs(po - p).max():.4f}, "
              f"share within ±0.02 = {np.mean(np.abs(po - p) <= 0.02):.2f}")
        print(f"    quota/median mean {s['quota_to_median_mean']:.3f} sd {s['quota_to_median_sd']:.3f}; "
              f"Gini(quota/potential) {s['gini_quota_to_potential']:.3f}; "
              f"company total implies common p = {ds.attrs['implied_probability_of_total']:.3f}")
    target = float(fc["bookings"].sum(("rep", "period")).median())
    ds = set_quotas({"method": "equal_probability", "target": target, "over_assignment": 1.1}, fc, tables)
    print(f"  target = company median {target:,.0f} × over-assignment 1.1 implies p = "
          f"{ds.attrs['implied_probability']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--cube", default=None, help="netCDF forecast cube to reuse (with --demo)")
    args = ap.parse_args()
    if args.demo:
        bench_demo(args.cube)
    else:
        bench_synthetic()


if __name__ == "__main__":
    main()
