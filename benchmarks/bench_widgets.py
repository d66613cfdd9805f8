"""What-if panel update time on the demo organisation (target: < 300 ms per control).

Runs the scenario (``scenarios/base.yaml`` by default; its forecast comes from the on-disk
cache that ``make report`` fills), builds the :class:`spm_models.widgets.WhatIfPanel` and, for
each control, sets it to a sequence of new values the panel has not seen (the plan dropdown
walks through the other plan files: each one's first visit, while there are enough of them). Each time is what the user waits for
between moving a control and every output widget holding the new figures, histograms and pay
curve (the browser's drawing of the HTML aside): wall time with ``time.perf_counter``, and the
process CPU time (all threads: numba runs the comp kernel on every core) beside it.

Baselines measured in the same run: ``numpy.cumsum`` over an array the size of the bookings
cube (the memory-bandwidth floor), the comp engine alone over the whole cube (every rep's
plan, as one :func:`~spm_models.comp.engine.payout_kernel` call per plan), and the full
xarray path the scenario run takes (:func:`spm_models.comp.roles.simulate_roles` +
:func:`~spm_models.comp.roles.overlay_payouts` + :func:`spm_models.figures.cube_figures`).

    .venv/bin/python benchmarks/bench_widgets.py [SCENARIO.yaml] [--draws N] [--repeat N] [--fast]

Exits non-zero when the slowest control's median update exceeds 300 ms (the worst single
update is printed too). ``--fast`` fits the forecast with ADVI when the cache is cold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

TARGET_MS = 300.0


def _clock(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _best(fn, repeat: int = 5) -> tuple[float, float]:
    fn()  # warm
    runs = [_clock(fn) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _reference(wi) -> None:
    """The scenario run's own path: payouts of every plan over the labelled cube, overlay, figures."""
    from spm_models import figures
    from spm_models.comp import roles as comp_roles

    pay = comp_roles.simulate_roles(wi.plans, wi.bookings, wi.quota, wi.ti, wi.plan_keys)["payout"]
    ov = comp_roles.overlay_payouts(wi.plans, wi.bookings, wi.quota, wi.reps, wi.plan_keys, wi.region)
    cost = figures.incentive_cost(pay, None if ov is None else ov["payout"])
    figures.cube_figures(wi.bookings, wi.quota, cost, wi.target, wi.budget)


def _engine_only(wi) -> None:
    """The comp kernel alone, every quota carrier's plan over its reps (no overlay, no figures)."""
    for key in wi._groups:
        wi._run_group(key, wi.plans[key], *_struct(wi.plans[key]), 0.0)


def _step(i: int) -> int:
    """+1, -1, +2, -2, ...: new values either side of the scenario's."""
    return (i % 2 * 2 - 1) * (1 + i // 2)


def _struct(plan):
    from spm_models.comp import engine

    return engine.plan_structure(plan), engine.plan_theta(plan)


def main() -> None:
    from spm_models import widgets, workflow
    from spm_models.scenario import load_scenario

    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", nargs="?", default="scenarios/base.yaml")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=7, help="updates timed per control")
    ap.add_argument("--fast", action="store_true", help="ADVI forecast fit if not cached")
    args = ap.parse_args()

    sc = load_scenario(Path(args.scenario))
    sc.spec["draws"] = args.draws
    if args.fast:
        sc.spec.setdefault("forecast", {})["method"] = "fast"
    t0 = time.perf_counter()
    result = workflow.run(sc)
    t_run = time.perf_counter() - t0
    t0 = time.perf_counter()
    panel = widgets.WhatIfPanel(result)
    t_panel = time.perf_counter() - t0
    wi = panel.model
    n_rep, n_per, n_draw = (result.cube.sizes[d] for d in ("rep", "period", "draw"))
    load0 = os.getloadavg()
    print(f"scenario {sc.name}: {n_rep} reps × {n_per} months × {n_draw} draws; workflow.run "
          f"(cached forecast) {t_run:.1f} s; panel built in {t_panel:.2f} s")
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} "
          f"({os.cpu_count()} CPUs)")

    arr = np.random.default_rng(0).random((n_rep, n_per, n_draw))
    floor = _best(lambda: np.cumsum(arr, axis=1))
    engine_t = _best(lambda: _engine_only(wi))
    ref = _best(lambda: _reference(wi), repeat=3)
    print("baselines (median wall / CPU ms):")
    for label, (w, c) in (("numpy.cumsum floor over the cube", floor),
                          ("comp engine alone, all plans", engine_t),
                          ("full xarray path of the scenario run", ref)):
        print(f"  {label:<40}{w * 1000:>8.0f} /{c * 1000:>5.0f}")

    acc0 = panel.accel.value
    names = [p for p in wi.plan_choices if p != panel.plan.value]
    R = args.repeat
    controls = {
        "quota uplift": (panel.uplift, [0.01 * (3 + i) * (1 if i % 2 else -1) for i in range(R)]),
        "accelerator rate": (panel.accel, [round(acc0 * (1 + 0.1 * _step(i)), 4) for i in range(R)]),
        "cap": (panel.cap, [round(panel.cap.value - 0.05 * (1 + i), 2) for i in range(R)]),
        "threshold": (panel.threshold, [round(0.05 * (1 + i), 2) for i in range(R)]),
        "hires": (panel.headcount, [min(max(wi.hires + 2 * _step(i), 0), wi.max_hires) for i in range(R)]),
        "plan": (panel.plan, [names[i % len(names)] for i in range(R)] if names else []),
    }
    print(f"{'control':<18}{'median ms':>10}{'worst ms':>10}{'CPU ms':>8}{'÷ floor':>9}{'÷ 300':>7}"
          "  cost P50 (last)")
    worst_median, worst_any = 0.0, 0.0
    for label, (control, values) in controls.items():
        if not values or control.disabled:
            print(f"{label:<18} (control disabled for this scenario)")
            continue
        walls, cpus = [], []
        for v in values:
            w, c = _clock(lambda c=control, v=v: setattr(c, "value", v))
            walls.append(w)
            cpus.append(c)
        panel._on_reset()
        med, worst = statistics.median(walls), max(walls)
        worst_median, worst_any = max(worst_median, med), max(worst_any, worst)
        res = wi.compute(**panel.settings())
        print(f"{label:<18}{med * 1000:>10.0f}{worst * 1000:>10.0f}{statistics.median(cpus) * 1000:>8.0f}"
              f"{med / floor[0]:>9.1f}{med * 1000 / TARGET_MS:>7.2f}  {res.incentive_cost['p50']:,.0f}")
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print(f"slowest control: median {worst_median * 1000:.0f} ms, worst single update "
          f"{worst_any * 1000:.0f} ms ({'meets' if worst_median * 1000 < TARGET_MS else 'MISSES'} "
          f"the {TARGET_MS:.0f} ms target on the median)")
    if worst_median * 1000 >= TARGET_MS:
        raise SystemExit(f"bench_widgets: missed the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
