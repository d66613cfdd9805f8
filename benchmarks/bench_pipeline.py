"""Benchmark: the in-quarter pipeline forecast against the stage-weighted pipeline, run-rate and
the bookings-only model, on the demo and on a second organisation (SECOND_ORG: another seed,
lower win rate, longer cycles, more slips) without retuning.

Prints each organisation's table of mean CRPS / APE / coverage by method, level and as-of point
(day 1, 30, 60 of each of the last 4 quarters) and the acceptance checks of issue 13:
pipeline CRPS <= 0.7 x stage-weighted and <= bookings-only at day 30 and 60 (company and region),
region q10-q90 coverage in 60-95 % and q05-q95 >= 80 %, win-model fit <= 120 s of CPU. The baseline
measured in the same run is the bookings model's fast fit (ratio reported). Exits 1 on a miss.

    .venv/bin/python benchmarks/bench_pipeline.py [--quarters 4] [--out DIR] [--org demo|second|both]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

FIT_TARGET_S = 120.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quarters", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None, help="folder for METRICS json files")
    ap.add_argument("--org", choices=("demo", "second", "both"), default="both")
    ap.add_argument("--n-draws", type=int, default=1000)
    a = ap.parse_args()

    from spm_models.cli.forecast_pipeline import _clean, format_table
    from spm_models.data.demo import SECOND_ORG, make_demo
    from spm_models.forecast.pipeline_backtest import run_pipeline_backtest

    orgs = {"demo": {"seed": 0}, "second": {"seed": 11, "params": SECOND_ORG}}
    ok = True
    for name, kw in orgs.items():
        if a.org not in (name, "both"):
            continue
        t0 = time.perf_counter()
        tables = make_demo(**kw)
        res = run_pipeline_backtest(tables, a.quarters, n_draws=a.n_draws, seed=0,
                                    progress=lambda m, name=name: print(f"[{name}] {m}", file=sys.stderr, flush=True))
        md = res["metadata"]
        print(f"\n=== {name} ({time.perf_counter() - t0:.0f} s) ===")
        print(format_table(res))
        wall = max(md["win_model_fit_seconds"])
        cpu = max(md["win_model_fit_cpu_seconds"])
        base = max(md["bookings_model_fit_seconds"] or [float("nan")])
        # gated on the fit's CPU time (all threads of this process): on a shared machine the
        # wall time mostly measures waiting for a core; on an idle 2-core machine the two
        # chains run in parallel and wall time <= CPU time
        fit_ok = cpu <= FIT_TARGET_S
        print(f"win-model fit: max {cpu:.1f} s CPU ({wall:.1f} s wall, incl. compilation), target "
              f"{FIT_TARGET_S:.0f} s CPU: {'ok' if fit_ok else 'MISS'}; bookings-model fast fit "
              f"{base:.1f} s wall (ratio win/bookings wall {wall / base:.2f})")
        ok &= bool(res["acceptance"]["all_gated_ok"]) and fit_ok
        if a.out:
            a.out.mkdir(parents=True, exist_ok=True)
            (a.out / f"pipeline_backtest_{name}.json").write_text(json.dumps(_clean(res), indent=2))
    print("\nALL OK" if ok else "\nMISSED TARGETS")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
