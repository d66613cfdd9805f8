"""Benchmark: the safety steps of ``spm report`` cost < 5 % of a report run (issue 12).

Runs ``spm report`` (in process, ``run_reports``) on two scenarios of a 12-rep organisation
with the fast forecast -- once to fill the forecast cache, then timed -- and compares the time
spent in the safety steps (staging folder, credential masking of every output file, atomic
swap; plus taking the lock and cleaning leftovers) with the run's wall time, measured in the
same run. A small organisation is the hard case: the report run is short while the outputs
still hold every figure. The figure is conservative: most of it is deleting the previous
outputs after the swap, which the runner did before too (``write_cube`` removed the old
cube). Exits 1 when the ratio is 5 % or more.

Run: ``.venv/bin/python benchmarks/bench_report_safety.py``
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

PLAN = {
    "name": "Bench AE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 60000,
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"to": 1.0, "rate": 0.08}, {"to": 1.5, "rate": 0.12}, {"rate": 0.05}]}],
}


def main() -> int:
    from spm_models import pipeline
    from spm_models.reporting import publish
    from spm_models.reporting.runner import run_reports

    root = Path(tempfile.mkdtemp(prefix="spm-bench-safety-"))
    os.environ.update(SPM_CACHE_DIR=str(root / "cache"), SPM_APPROVALS=str(root / "a.jsonl"),
                      SPM_DEMO_DATA=str(root / "demo.duckdb"))
    data = root / "org.duckdb"
    pipeline._write_source(pipeline._make_demo(n_reps=12, years=2, seed=3), data)
    (root / "ae.yaml").write_text(yaml.safe_dump(PLAN, sort_keys=False))
    files = []
    for i, growth in enumerate((0.1, 0.2)):
        spec = {"name": f"bench{i}", "data": str(data), "seed": 1, "draws": 200,
                "horizon": {"start": "2027-01", "months": 12}, "target": 15_000_000,
                "forecast": {"method": "fast", "n_steps": 1500, "fit_draws": 100},
                "quota": {"method": "growth", "growth": growth},
                "plans": {"AE": str(root / "ae.yaml")}}
        (root / f"bench{i}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        files.append(root / f"bench{i}.yaml")
    out = root / "reports"
    run_reports(files, out, show_progress=False)  # fills the forecast cache
    t0 = time.perf_counter()
    runs = run_reports(files, out, show_progress=False)
    wall = time.perf_counter() - t0
    assert all(r.ok for r in runs), [r.error for r in runs]
    t1 = time.perf_counter()
    with publish.OutputLock(out):
        publish.recover(out)
    fixed = time.perf_counter() - t1
    overhead = sum(r.overhead for r in runs) + fixed
    ratio = overhead / wall
    print(f"report run {wall:.2f} s; safety steps {overhead * 1000:.0f} ms "
          f"(stage+mask+swap {sum(r.overhead for r in runs) * 1000:.0f} ms, "
          f"lock+cleanup {fixed * 1000:.1f} ms); ratio {ratio:.2%} (target < 5 %)")
    return 0 if ratio < 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
