"""Benchmarks of the compensation engine (ratios against baselines measured in the same run).

1. In memory: one 3-tier plan (annual quota, quarterly payout, recoverable draw) simulated
   on 500 reps × 12 months × 4,000 draws, against a plain ``numpy.cumsum`` over an array of
   the same size (the memory-bandwidth floor). Target: ratio ≤ 4.
2. Larger than memory: a dask-backed cube of 20,000 reps × 12 × 4,000 draws × 4 scenarios
   (≈ 30.7 GB as float64, generated lazily with ``dask.array`` random numbers) simulated and
   reduced to plan metrics on a ``dask.distributed`` LocalCluster, never materialised.
   Target: peak RSS of the whole process tree (client, nannies, workers) < 4 GB.

Run: ``.venv/bin/python benchmarks/bench_comp.py`` (``--quick`` for a small smoke run,
``--skip-large`` for part 1 only).
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import psutil
import xarray as xr

from spm_models.comp import Plan, plan_metrics, simulate_plan

PLAN = {
    "name": "AE 3-tier", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 100000,
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"to": 1.0, "rate": 0.10}, {"to": 1.5, "rate": 0.15}, {"rate": 0.05}]}],
    "draw": {"amount": 5000, "recoverable": True},
}
MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_in_memory(n_reps: int, n_draws: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    quota = xr.DataArray(rng.uniform(60000, 140000, size=(n_reps, 1)) * np.ones((1, 12)),
                         dims=["rep", "period"],
                         coords={"rep": [f"R{i}" for i in range(n_reps)], "period": MONTHS})
    data = rng.lognormal(-0.06, 0.35, size=(n_reps, 12, n_draws)) * quota.values[..., None]
    bookings = xr.DataArray(data, dims=["rep", "period", "draw"], coords=quota.coords)
    plan = Plan.from_dict(PLAN)

    def engine() -> None:
        simulate_plan(plan, bookings, quota)

    def baseline() -> None:
        np.cumsum(data, axis=1)

    engine(), baseline()  # warm up (page faults, imports)
    # interleave engine and baselines so that load from other processes hits both alike
    t_engine, t_cumsum, t_flat = [], [], []
    for _ in range(repeat):
        t_cumsum.append(_best(baseline, 1))
        t_flat.append(_best(lambda: np.cumsum(data.reshape(-1)), 1))
        t_engine.append(_best(engine, 1))
    floor = [min(a, b) for a, b in zip(t_cumsum, t_flat)]
    return {"engine_s": min(t_engine), "cumsum_period_s": min(t_cumsum),
            "cumsum_flat_s": min(t_flat), "ratio": min(t_engine) / min(floor),
            "ratio_median_paired": float(np.median([e / f for e, f in zip(t_engine, floor)]))}


class PeakRSS:
    """Sample the RSS of this process and all its descendants (workers, nannies)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process(os.getpid())
        total = 0
        for p in [me, *me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_distributed(n_reps: int, n_draws: int, n_scen: int, workers: int,
                      memory_limit: str, chunk_reps: int) -> dict[str, float]:
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    with PeakRSS() as mem:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit, dashboard_address=":0")
        client = Client(cluster)
        try:
            rng = np.random.default_rng(1)
            quota = xr.DataArray(rng.uniform(60000, 140000, size=(n_reps, 1)) * np.ones((1, 12)),
                                 dims=["rep", "period"],
                                 coords={"rep": np.arange(n_reps), "period": MONTHS})
            growth = xr.DataArray(np.linspace(0.9, 1.2, n_scen), dims=["scenario"])
            shape = (n_scen, n_reps, 12, n_draws)
            noise = da.random.default_rng(2).lognormal(
                -0.06, 0.35, size=shape, chunks=(n_scen, chunk_reps, 12, n_draws))
            bookings = xr.DataArray(noise, dims=["scenario", "rep", "period", "draw"],
                                    coords={"period": MONTHS}) * quota * growth
            cube_gb = np.prod(shape) * 8 / 1e9
            base = Plan.from_dict(PLAN)
            plans = [base.with_value("measures[0].tiers[1].rate", r)
                     for r in np.linspace(0.12, 0.2, n_scen).round(3).tolist()]
            t0 = time.perf_counter()
            res = simulate_plan(plans, bookings, quota,
                                scenarios=[f"s{i}" for i in range(n_scen)])
            metrics = plan_metrics(res, budget=float(quota.sum()) * 0.12)
            elapsed = time.perf_counter() - t0
        finally:
            client.close()
            cluster.close()
    p50 = {s: round(m["incentive_cost"]["p50"] / 1e6, 2) for s, m in metrics.items()}
    return {"cube_gb": cube_gb, "peak_rss_gb": mem.peak / 1e9, "elapsed_s": elapsed,
            "cost_p50_musd": p50}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--skip-large", action="store_true", help="skip the distributed cube")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="1.5GiB", help="per worker")
    args = ap.parse_args()

    reps, draws = (50, 400) if args.quick else (500, 4000)
    r = bench_in_memory(reps, draws, args.repeat)
    print(f"[1] simulate 3-tier plan, {reps} reps x 12 x {draws} draws: "
          f"engine {r['engine_s'] * 1e3:.0f} ms; numpy.cumsum same size: "
          f"{r['cumsum_period_s'] * 1e3:.0f} ms along period, {r['cumsum_flat_s'] * 1e3:.0f} ms flat")
    print(f"    ratio engine / cumsum = {r['ratio']:.2f} (best of {args.repeat}; median of paired "
          f"runs {r['ratio_median_paired']:.2f})  target <= 4  "
          f"{'(target applies at full size)' if args.quick else 'PASS' if r['ratio'] <= 4 else 'FAIL'}")
    missed = [] if args.quick or r["ratio"] <= 4 else ["engine / cumsum ratio > 4"]
    if args.skip_large:
        if missed:
            raise SystemExit(f"bench_comp: missed target(s): {', '.join(missed)}")
        return
    # chunks: all draws and scenarios, 50 reps (77 MB): long contiguous runs along `draw`
    big = (400, 400, 4, 40) if args.quick else (20000, 4000, 4, 50)
    d = bench_distributed(big[0], big[1], big[2], args.workers, args.memory_limit, big[3])
    print(f"[2] dask.distributed LocalCluster ({args.workers} workers x 1 thread, "
          f"{args.memory_limit} each): {big[0]} reps x 12 x {big[1]} draws x {big[2]} scenarios "
          f"= {d['cube_gb']:.1f} GB as float64 in chunks of {big[3]} reps, never materialised")
    print(f"    elapsed {d['elapsed_s']:.0f} s; peak RSS of process tree {d['peak_rss_gb']:.2f} GB "
          f"(target < 4 GB; ratio to cube {d['peak_rss_gb'] / d['cube_gb']:.3f})  "
          f"{'PASS' if d['peak_rss_gb'] < 4 else 'FAIL'}")
    print(f"    incentive cost P50 by scenario (M): {d['cost_p50_musd']}")
    if d["peak_rss_gb"] >= 4:
        missed.append("peak RSS >= 4 GB")
    if missed:
        raise SystemExit(f"bench_comp: missed target(s): {', '.join(missed)}")


if __name__ == "__main__":
    main()
