"""Benchmarks of the forecast backtest (``make bench``), plus the issue-3 acceptance run.

Default (seconds): scoring and baselines on a 200-rep × 12-month holdout.

* CRPS: the sorted ``O(n log n)`` energy formula vs the pairwise ``O(n^2)`` definition
  (ratio, and the largest difference between the two);
* baselines: seasonal naive and AutoETS per series, vs the time of scoring itself.

``--acceptance`` (minutes): the full backtest on the default demo organisation (200 reps,
3 years, 12-month holdout) with the Bayesian model, printing the acceptance figures of
issue 3 (total CRPS vs seasonal naive and ETS, rep-level 80 % / 95 % coverage). Options:
``--fast`` (ADVI fit), ``--draws/--tune/--chains``, ``--data SOURCE`` (default: the demo
generated in memory), ``--headcount steady|attrition|hindsight|all`` (``all`` fits once and
scores every mode), ``--json PATH`` to keep the metrics, scores and predictions.

Run: ``.venv/bin/python benchmarks/bench_backtest.py [--acceptance [--fast]]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def _timeit(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def bench_scoring() -> None:
    from spm_models.forecast import baselines, scoring

    rng = np.random.default_rng(0)
    cells, n = 200 * 12, 1000
    draws = rng.gamma(2.0, 1000.0, size=(cells, n))
    y = rng.gamma(2.0, 1000.0, size=cells)

    sub = slice(0, 200)
    t_sorted = _timeit(lambda: scoring.crps_draws(y, draws))
    t_pair_sub = _timeit(lambda: [np.abs(draws[i][:, None] - draws[i][None, :]).mean() for i in range(200)], 1)
    t_pair = t_pair_sub * cells / 200
    diff = np.max(np.abs(scoring.crps_draws(y[sub], draws[sub]) - pairwise_rows(draws[sub], y[sub])))
    print(f"crps  sorted O(n log n): {t_sorted * 1e3:8.1f} ms for {cells} cells x {n} draws")
    print(f"crps  pairwise O(n^2)  : {t_pair * 1e3:8.1f} ms (extrapolated from 200 cells)")
    print(f"crps  speed-up ratio   : {t_pair / t_sorted:8.1f}x   max |diff| = {diff:.2e}")

    t0 = 36
    series = [rng.gamma(2.0, 1000.0, size=t0) * (1 + 0.3 * np.cos(np.arange(t0) * np.pi / 6)) for _ in range(200)]
    baselines.ets(series[0], 12, 10)  # warm the numba cache
    t_sn = _timeit(lambda: baselines.baseline_draws("seasonal_naive", series, 12, n), 1)
    t_ets = _timeit(lambda: baselines.baseline_draws("ets", series, 12, n), 1)
    print(f"baseline seasonal_naive: {t_sn * 1e3:8.1f} ms for 200 series ({t_sn / t_sorted:5.1f}x scoring)")
    print(f"baseline ets (AutoETS) : {t_ets * 1e3:8.1f} ms for 200 series ({t_ets / t_sorted:5.1f}x scoring)")


def pairwise_rows(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pairwise-definition CRPS row by row (the reference for the sorted formula)."""
    return np.array(
        [np.abs(x - v).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean() for x, v in zip(draws, y)]
    )


def acceptance(args: argparse.Namespace) -> int:
    from spm_models.forecast.backtest import (
        HEADCOUNT_MODES,
        bayesian_forecaster,
        load_tables,
        run_backtest,
    )

    if args.data:
        tables = load_tables(args.data)
    else:
        from spm_models.data.demo import make_demo

        tables = make_demo(n_reps=200, years=3, seed=0)
    modes = HEADCOUNT_MODES if args.headcount == "all" else (args.headcount,)
    cache: dict = {}
    status = 0
    for mode in modes:
        diag: dict = {}
        fc = bayesian_forecaster(
            method="fast" if args.fast else "nuts", draws=args.draws, tune=args.tune, chains=args.chains,
            diagnostics=diag, headcount=mode, cache=cache,
        )
        t = time.perf_counter()
        res = run_backtest(tables, args.holdout, forecaster=fc, n_draws=args.n_draws, seed=args.seed,
                           headcount=mode, ets_model=args.ets_model,
                           source=args.data or "demo(200 reps, 3 years, seed 0)")
        elapsed = time.perf_counter() - t
        m = res.metrics
        tot = {k: m[k]["total"]["crps"] for k in ("model", "seasonal_naive", "ets")}
        r_sn, r_ets = tot["model"] / tot["seasonal_naive"], tot["model"] / tot["ets"]
        c80, c95 = m["model"]["rep"]["coverage_80"], m["model"]["rep"]["coverage_95"]
        print(f"== headcount={mode}: backtest wall time {elapsed:.0f} s ({'fast' if args.fast else 'nuts'} fit"
              f"{', cached' if mode != modes[0] else ''})")
        for k in ("model", "seasonal_naive", "ets"):
            r, tt = m[k]["rep"], m[k]["total"]
            print(f"{k:15s} rep: crps {r['crps']:.4f} mase {r['mase']:.3f} cov80 {r['coverage_80']:.3f} "
                  f"cov95 {r['coverage_95']:.3f} | total: crps {tt['crps']:.4g} mase {tt['mase']:.3f} "
                  f"cov80 {tt['coverage_80']:.3f} cov95 {tt['coverage_95']:.3f}")
        checks = {
            "total CRPS <= 0.85 x seasonal naive": r_sn <= 0.85,
            "total CRPS <= ETS": r_ets <= 1.0,
            "rep 80% coverage in [0.72, 0.88]": 0.72 <= c80 <= 0.88,
            "rep 95% coverage in [0.90, 0.98]": 0.90 <= c95 <= 0.98,
        }
        print(f"ratio total CRPS model/seasonal_naive = {r_sn:.3f}, model/ets = {r_ets:.3f}")
        for name, ok in checks.items():
            print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
        if diag:
            print("diagnostics:", json.dumps({k: v for k, v in diag.items() if not isinstance(v, dict)}, default=str)[:500])
        if args.json:
            stem = args.json.removesuffix(".json") + (f"_{mode}" if len(modes) > 1 else "")
            with open(stem + ".json", "w") as fh:
                json.dump(m, fh, indent=1, default=str)
            res.scores.to_csv(stem + "_scores.csv", index=False)
            res.predictions.to_csv(stem + "_pred.csv", index=False)
        status |= 0 if all(checks.values()) else 1
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acceptance", action="store_true")
    ap.add_argument("--data")
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--holdout", type=int, default=12)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--tune", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--n-draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--headcount", default="steady", help="steady | attrition | hindsight | all")
    ap.add_argument("--ets-model", default="ZZZ")
    args = ap.parse_args(argv)
    bench_scoring()
    if args.acceptance:
        return acceptance(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
