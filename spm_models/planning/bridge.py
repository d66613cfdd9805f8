"""What moves the number: a bridge (waterfall) from today's roster to the scenario.

The first bar is the forecast of today's roster (no leavers, no hires, today's territories,
no plan response); each further step switches one more lever on in the same simulated world
(:data:`spm_models.planning.world.LEVERS`: attrition, hires, territory change, plan response),
and the last bar is the scenario. Because random numbers are common across the worlds, the
step of each lever is also given as the quantiles of its **paired** per-draw difference, which
is far tighter than the difference of two independent P50s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from spm_models.planning.world import LEVERS

#: labels of the bridge steps
STEP_LABELS = {"base": "Forecast, today's roster", "attrition": "Attrition", "hires": "Hires",
               "territory": "Territory change", "response": "Plan response", "total": "Scenario"}


def bridge_steps(evaluate: Callable[[frozenset[str]], tuple[np.ndarray, np.ndarray]],
                 levers: Sequence[str] = LEVERS, active: Iterable[str] | None = None) -> pd.DataFrame:
    """The bridge as data.

    ``evaluate(levers_on) -> (revenue(draw), incentive_cost(draw))`` runs the world with a set
    of levers (e.g. ``lambda on: (revenue(w := simulate_world(inputs, on)), incentive_cost(w))``).
    Levers not in ``active`` (default: all) are skipped (the scenario does not use them).

    Returns one row per step: ``step``, ``label``, ``kind`` (``level`` for the first and last
    bar, ``delta`` otherwise), ``revenue_p50``/``cost_p50`` (P50 after the step), ``revenue``/
    ``cost`` (the bar: the level, or the change of P50 — the bars add up to the scenario's
    P50), and ``revenue_change_p10/p50/p90``, ``cost_change_p10/p50/p90`` (quantiles of the
    paired per-draw change).
    """
    use = [lv for lv in levers if active is None or lv in set(active)]
    on: set[str] = set()
    rev, cost = evaluate(frozenset(on))
    rows = [_row("base", "level", rev, cost, None, None)]
    for lv in use:
        on.add(lv)
        r2, c2 = evaluate(frozenset(on))
        rows.append(_row(lv, "delta", r2, c2, rev, cost))
        rev, cost = r2, c2
    rows.append(_row("total", "level", rev, cost, None, None))
    return pd.DataFrame(rows)


def _row(step: str, kind: str, rev: np.ndarray, cost: np.ndarray,
         prev_rev: np.ndarray | None, prev_cost: np.ndarray | None) -> dict[str, object]:
    rev, cost = np.asarray(rev, float), np.asarray(cost, float)
    row: dict[str, object] = {"step": step, "label": STEP_LABELS.get(step, step), "kind": kind,
                              "revenue_p50": float(np.median(rev)), "cost_p50": float(np.median(cost))}
    if prev_rev is None:
        row["revenue"], row["cost"] = row["revenue_p50"], row["cost_p50"]
        for k in ("revenue", "cost"):
            for q in ("p10", "p50", "p90"):
                row[f"{k}_change_{q}"] = 0.0
        return row
    row["revenue"] = row["revenue_p50"] - float(np.median(prev_rev))
    row["cost"] = row["cost_p50"] - float(np.median(prev_cost))
    for k, d in (("revenue", rev - prev_rev), ("cost", cost - prev_cost)):
        q = np.quantile(d, [0.1, 0.5, 0.9])
        row[f"{k}_change_p10"], row[f"{k}_change_p50"], row[f"{k}_change_p90"] = map(float, q)
    return row
