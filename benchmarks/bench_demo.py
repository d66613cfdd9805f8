"""Benchmark: `spm data demo --reps 10000 --years 3` (target < 60 s, peak RSS < 4 GB on 2 cores).

Runs each command as a child process and reads its own resource usage (``os.wait4``): wall
time, CPU time (user + system; wall time on a shared machine includes waiting for a core) and
peak resident memory. The baseline measured in the same run is the default demo (200 reps);
ratios show how the cost scales with the organisation size.

    .venv/bin/python benchmarks/bench_demo.py [--reps 10000] [--years 3] [--validate] [--csv]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPM = str(Path(sys.executable).with_name("spm"))
TARGET_SECONDS = 60.0
TARGET_GB = 4.0


def measure(args: list[str]) -> dict[str, float]:
    """Run ``spm ARGS`` in a child process; wall s, cpu s and peak RSS (GB) of that child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([SPM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"spm {' '.join(args)} failed ({proc.returncode}):\n{err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_gb": usage.ru_maxrss / 1024**2, "out": out.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--validate", action="store_true", help="also time `spm data validate`")
    ap.add_argument("--csv", action="store_true", help="also time the CSV-folder output")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    try:
        runs = {
            "baseline demo --reps 200": measure(
                ["data", "demo", "--out", str(tmp / "base.duckdb")]),
            f"demo --reps {a.reps} --years {a.years} (DuckDB)": measure(
                ["data", "demo", "--out", str(tmp / "big.duckdb"), "--reps", str(a.reps),
                 "--years", str(a.years)]),
        }
        if a.csv:
            runs[f"demo --reps {a.reps} --years {a.years} (CSV folder)"] = measure(
                ["data", "demo", "--out", str(tmp / "big_csv"), "--reps", str(a.reps),
                 "--years", str(a.years)])
        if a.validate:
            runs[f"validate (DuckDB, {a.reps} reps)"] = measure(
                ["data", "validate", str(tmp / "big.duckdb")])
            if a.csv:  # the shared CSV reader: spreadsheet row numbers, footers, date formats
                runs[f"validate (CSV folder, {a.reps} reps)"] = measure(
                    ["data", "validate", str(tmp / "big_csv")])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base = runs["baseline demo --reps 200"]
    print(f"{'command':48s} {'wall s':>8s} {'cpu s':>8s} {'peak GB':>8s} {'wall/base':>10s}")
    for name, r in runs.items():
        print(f"{name:48s} {r['wall']:8.1f} {r['cpu']:8.1f} {r['rss_gb']:8.2f} "
              f"{r['wall'] / base['wall']:10.1f}")
    big = runs[f"demo --reps {a.reps} --years {a.years} (DuckDB)"]
    print(f"\nreps ratio {a.reps / 200:.0f}x -> wall ratio {big['wall'] / base['wall']:.1f}x, "
          f"cpu ratio {big['cpu'] / base['cpu']:.1f}x")
    ok_t = big["wall"] < TARGET_SECONDS
    ok_m = big["rss_gb"] < TARGET_GB
    print(f"target wall < {TARGET_SECONDS:.0f} s: {'OK' if ok_t else 'MISSED'} "
          f"({big['wall']:.1f} s wall, {big['cpu']:.1f} s cpu; load avg {os.getloadavg()[0]:.1f})")
    print(f"target peak < {TARGET_GB:.0f} GB: {'OK' if ok_m else 'MISSED'} ({big['rss_gb']:.2f} GB)")


if __name__ == "__main__":
    main()
