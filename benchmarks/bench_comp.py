"""Benchmarks of the compensation engine (ratios against baselines measured in the same run).

0. Crediting: 1,000,000 bookings (15 % split between two or three reps) with a 4-level
   manager hierarchy above 2,000 reps and a roll-up measure, through ``spm comp credit``'s
   code path (read the CSVs, credit, write the credits CSV). Target: < 10 s.
1. In memory: one 3-tier plan (annual quota, quarterly payout, recoverable draw) simulated
   on 500 reps × 12 months × 4,000 draws, against a plain ``numpy.cumsum`` over an array of
   the same size (the memory-bandwidth floor). Target: ratio ≤ 1.5.
   And the same plan with the tiers replaced by a linear pay curve and a margin modifier (two
   measures; the margin credits are the bookings cube seen through a zero-copy broadcast, as a
   forecast split would hand them over) on the same cube. Target: ≤ 1.5 × the tiered plan's
   time. Reported without a target: that plan with quarterly quota periods and capped monthly
   advances (four period ends per measure instead of one).
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
import sys
import tempfile
import threading
import time
from pathlib import Path

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
#: The target's plan: the tiered plan's structure (annual quota, quarterly payout, recoverable
#: draw) with the tiers replaced by a linear pay curve and a margin modifier -- what the target
#: is about ("a curve and a modifier"); the modifier needs a second measure, so margin is one.
CURVE_PLAN = {
    "name": "AE curve + margin modifier", "plan_year_start": "2027-01",
    "payout_frequency": "quarter", "target_incentive": 100000,
    "measures": [
        {"name": "bookings", "quota_period": "year", "basis": "target_incentive", "weight": 0.8,
         "curve": {"points": [[0.5, 0.25], [1.0, 1.0], [1.5, 2.0], [2.0, 2.5]],
                   "interpolate": "linear"},
         "modifiers": [{"measure": "margin", "table": [[0.0, 0.0], [0.8, 1.0], [1.1, 1.2]]}]},
        {"name": "margin", "quota_period": "year", "basis": "target_incentive", "weight": 0.2,
         "tiers": [{"rate": 1.0}], "cap": {"attainment": 1.5}},
    ],
    "draw": {"amount": 5000, "recoverable": True},
}
#: Reported, no target: the same plan with quarterly quota periods and monthly advances capped
#: at the period's target (four period ends per measure instead of one, and the advance cap).
QUARTERLY_PLAN = {
    **CURVE_PLAN, "name": "AE curve + margin modifier, quarterly, advance cap",
    "measures": [{**CURVE_PLAN["measures"][0], "quota_period": "quarter", "advance_cap": 1.0},
                 {**CURVE_PLAN["measures"][1], "quota_period": "quarter"}],
}
MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


_CPU: dict[str, list[float]] = {}


def _best(fn, repeat: int, label: str = "") -> float:
    """Best wall time of ``repeat`` runs; the CPU time (all threads) of each run is kept
    under ``label`` in :data:`_CPU`."""
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        _CPU.setdefault(label, []).append(time.process_time() - c0)
    return min(times)


def bench_in_memory(n_reps: int, n_draws: int, repeat: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    quota = xr.DataArray(rng.uniform(60000, 140000, size=(n_reps, 1)) * np.ones((1, 12)),
                         dims=["rep", "period"],
                         coords={"rep": [f"R{i}" for i in range(n_reps)], "period": MONTHS})
    data = rng.lognormal(-0.06, 0.35, size=(n_reps, 12, n_draws)) * quota.values[..., None]
    bookings = xr.DataArray(data, dims=["rep", "period", "draw"], coords=quota.coords)
    plan = Plan.from_dict(PLAN)

    curve_plan = Plan.from_dict(CURVE_PLAN)
    quarterly_plan = Plan.from_dict(QUARTERLY_PLAN)
    two = np.broadcast_to(data[..., None], data.shape + (2,))  # zero-copy: margin = bookings
    bookings2 = xr.DataArray(two, dims=["rep", "period", "draw", "measure"],
                             coords={**quota.coords, "measure": ["bookings", "margin"]})
    quota2 = quota.expand_dims(measure=["bookings", "margin"], axis=-1) * xr.DataArray(
        [1.0, 1.0], dims=["measure"], coords={"measure": ["bookings", "margin"]})

    def engine() -> None:
        simulate_plan(plan, bookings, quota)

    def curve_engine() -> None:
        simulate_plan(curve_plan, bookings2, quota2)

    def quarterly_engine() -> None:
        simulate_plan(quarterly_plan, bookings2, quota2)

    def baseline() -> None:
        np.cumsum(data, axis=1)

    engine(), curve_engine(), quarterly_engine(), baseline()  # warm up (page faults, compilation)
    # interleave engine and baselines so that load from other processes hits both alike
    t_engine, t_curve, t_quarterly, t_cumsum, t_flat = [], [], [], [], []
    for _ in range(repeat):
        t_cumsum.append(_best(baseline, 1, "cumsum"))
        t_flat.append(_best(lambda: np.cumsum(data.reshape(-1)), 1, "flat"))
        t_engine.append(_best(engine, 1, "engine"))
        t_curve.append(_best(curve_engine, 1, "curve"))
        t_quarterly.append(_best(quarterly_engine, 1, "quarterly"))
    floor = [min(a, b) for a, b in zip(t_cumsum, t_flat)]
    cpu = {k: min(v) for k, v in _CPU.items()}
    return {"cpu_engine_s": cpu["engine"], "cpu_curve_s": cpu["curve"],
            "cpu_floor_s": min(cpu["cumsum"], cpu["flat"]),
            "engine_s": min(t_engine), "cumsum_period_s": min(t_cumsum),
            "cumsum_flat_s": min(t_flat), "ratio": min(t_engine) / min(floor),
            "ratio_median_paired": float(np.median([e / f for e, f in zip(t_engine, floor)])),
            "curve_s": min(t_curve), "curve_ratio": min(t_curve) / min(t_engine),
            "curve_ratio_median_paired": float(np.median([c / e for c, e in zip(t_curve, t_engine)])),
            "cpu_quarterly_s": cpu["quarterly"], "quarterly_s": min(t_quarterly),
            "quarterly_ratio": min(t_quarterly) / min(t_engine)}


def make_bookings(folder: Path, n_bookings: int, n_reps: int = 2000, seed: int = 0) -> dict:
    """Write a bookings, splits and reps CSV: reps under a 4-level hierarchy
    (rep → manager → director → VP → CRO) and a roll-up plan."""
    import pandas as pd
    import yaml

    rng = np.random.default_rng(seed)
    reps = [f"R{i:05d}" for i in range(n_reps)]
    mgrs = [f"M{i:04d}" for i in range(n_reps // 10)]
    dirs = [f"D{i:03d}" for i in range(max(len(mgrs) // 10, 1))]
    vps = [f"V{i:02d}" for i in range(max(len(dirs) // 5, 1))]
    table = pd.DataFrame({
        "rep_id": reps + mgrs + dirs + vps + ["CRO"],
        "manager_id": ([mgrs[i // 10] for i in range(n_reps)] + [dirs[i // 10] for i in range(len(mgrs))]
                       + [vps[i // 5 % len(vps)] for i in range(len(dirs))] + ["CRO"] * len(vps) + [""]),
    })
    days = rng.integers(0, 365, n_bookings)
    dates = (np.datetime64("2027-01-01") + days).astype(str)
    bookings = pd.DataFrame({
        "booking_id": np.char.add("B", np.arange(n_bookings).astype(str)),
        "rep_id": np.asarray(reps)[rng.integers(0, n_reps, n_bookings)],
        "date": dates,
        "amount": np.round(rng.lognormal(9.5, 1.0, n_bookings), 2),
        "deal_type": rng.choice(["new", "upsell", "renewal"], n_bookings),
        "margin": np.round(rng.lognormal(8.5, 1.0, n_bookings), 2),
    })
    split_ids = rng.choice(n_bookings, int(0.15 * n_bookings), replace=False)
    k = rng.integers(2, 4, len(split_ids))
    rows_b = np.repeat(split_ids, k)
    share = np.where(np.repeat(k, k) == 2, 0.5, 0.25)
    first = np.r_[0, np.cumsum(k)[:-1]]
    share[first[k == 3]] = 0.5
    splits = pd.DataFrame({"booking_id": bookings["booking_id"].to_numpy()[rows_b],
                           "rep_id": np.asarray(reps)[rng.integers(0, n_reps, len(rows_b))],
                           "share": share})
    plan = {"name": "roll-up", "plan_year_start": "2027-01", "measures": [
        {"name": "team_new", "tiers": [{"rate": 0.05}],
         "credit": {"where": {"deal_type": ["new", "upsell"]}, "rollup": True}},
        {"name": "margin", "tiers": [{"rate": 0.02}], "credit": {"amount": "margin"}}]}
    paths = {"bookings": folder / "bookings.csv", "splits": folder / "splits.csv",
             "reps": folder / "reps.csv", "plan": folder / "plan.yaml",
             "out": folder / "credits.csv"}
    bookings.to_csv(paths["bookings"], index=False)
    splits.to_csv(paths["splits"], index=False)
    table.to_csv(paths["reps"], index=False)
    paths["plan"].write_text(yaml.safe_dump(plan))
    return paths


def bench_crediting(n_bookings: int) -> dict[str, float]:
    from spm_models.comp.calc import credit_files

    with tempfile.TemporaryDirectory() as tmp:
        paths = make_bookings(Path(tmp), n_bookings)
        t0, c0 = time.perf_counter(), time.process_time()
        df = credit_files(paths["plan"], paths["bookings"], paths["splits"], paths["reps"],
                          paths["out"])
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"elapsed_s": elapsed, "cpu_s": cpu, "rows": len(df)}


def bench_compile() -> dict[str, float]:
    """First compile of the payout kernel with an empty numba cache (a fresh clone): a
    child process imports the kernel (its signature compiles eagerly) with
    ``NUMBA_CACHE_DIR`` set to a new folder; then again, loading that cache."""
    import resource
    import subprocess

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NUMBA_CACHE_DIR": tmp}
        for label in ("cold", "cached"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import spm_models.comp.kernel"], env=env,
                           check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out[f"{label}_wall_s"] = time.perf_counter() - t0
            out[f"{label}_cpu_s"] = (after.ru_utime - before.ru_utime
                                     + after.ru_stime - before.ru_stime)
    return out


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
    ap.add_argument("--compile-time", action="store_true",
                    help="also time the kernel's first compile with an empty numba cache")
    args = ap.parse_args()

    failed = []
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs); CPU times count all threads of this process")
    if args.compile_time:
        k = bench_compile()
        print(f"[-] numba first compile (empty NUMBA_CACHE_DIR, import of the kernel): "
              f"{k['cold_wall_s']:.1f} s wall, {k['cold_cpu_s']:.1f} s CPU; from the cache: "
              f"{k['cached_wall_s']:.1f} s wall, {k['cached_cpu_s']:.1f} s CPU")
    n_book = 50_000 if args.quick else 1_000_000
    c = bench_crediting(n_book)
    ok = c["elapsed_s"] < 10 or args.quick
    print(f"[0] spm comp credit: {n_book:,} bookings, 15 % split, 4-level roll-up: "
          f"{c['elapsed_s']:.2f} s wall, {c['cpu_s']:.2f} s CPU ({c['rows']:,} credit rows)  "
          "target < 10 s  "
          f"{'(target applies at full size)' if args.quick else 'PASS' if ok else 'FAIL'}")
    if not ok:
        failed.append("crediting")
    reps, draws = (50, 400) if args.quick else (500, 4000)
    r = bench_in_memory(reps, draws, args.repeat)
    print(f"[1] simulate 3-tier plan, {reps} reps x 12 x {draws} draws: "
          f"engine {r['engine_s'] * 1e3:.0f} ms; numpy.cumsum same size: "
          f"{r['cumsum_period_s'] * 1e3:.0f} ms along period, {r['cumsum_flat_s'] * 1e3:.0f} ms flat")
    print(f"    CPU: engine {r['cpu_engine_s'] * 1e3:.0f} ms, curve plan "
          f"{r['cpu_curve_s'] * 1e3:.0f} ms, cumsum floor {r['cpu_floor_s'] * 1e3:.0f} ms "
          f"(CPU ratios {r['cpu_engine_s'] / r['cpu_floor_s']:.2f}, "
          f"{r['cpu_curve_s'] / r['cpu_engine_s']:.2f})")
    ok = r["ratio"] <= 1.5 or args.quick
    print(f"    ratio engine / cumsum = {r['ratio']:.2f} (best of {args.repeat}; median of paired "
          f"runs {r['ratio_median_paired']:.2f})  target <= 1.5  "
          f"{'(target applies at full size)' if args.quick else 'PASS' if ok else 'FAIL'}")
    if not ok:
        failed.append("tiered/cumsum")
    ok = r["curve_ratio"] <= 1.5 or args.quick
    print(f"    curve + margin modifier plan (2 measures, annual quota): {r['curve_s'] * 1e3:.0f} ms; "
          f"ratio to the tiered plan = {r['curve_ratio']:.2f} (median of paired runs "
          f"{r['curve_ratio_median_paired']:.2f})  target <= 1.5  "
          f"{'(target applies at full size)' if args.quick else 'PASS' if ok else 'FAIL'}")
    if not ok:
        failed.append("curve/tiered")
    print(f"    (no target) the same with quarterly quota periods and capped advances: "
          f"{r['quarterly_s'] * 1e3:.0f} ms; ratio to the tiered plan = {r['quarterly_ratio']:.2f} "
          f"(CPU {r['cpu_quarterly_s'] / r['cpu_engine_s']:.2f})")
    if args.skip_large:
        _exit(failed)
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
    if d["peak_rss_gb"] >= 4 and not args.quick:
        failed.append("distributed memory")
    _exit(failed)


def _exit(failed: list[str]) -> None:
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if failed:
        print(f"MISSED: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
