"""Plan response (opt-in): how reps' selling responds to the comp plan and the quotas.

Off by default: the forecast already describes how reps sold under the plans of the history,
and without a ``response`` section the world's bookings do not depend on the plan. An analyst
who wants the plan to move bookings states it in the scenario::

    response:
      effort_elasticity: 0.15     # d log bookings / d log marginal commission rate
      reference_plan: plans/ae_standard.yaml   # the plan the history was sold under
      pull_in_share: 0.10         # share of next month's bookings pulled into a period end
      pull_in_window: 0.10        # ... by reps within 10 % below the threshold
      pull_in_discount: 0.05      # price given up on a pulled-in deal

Two mechanisms, both pure functions on ``(rep, period, draw)`` arrays:

**Effort.** A rep expecting attainment ``a_r`` (median forecast ÷ quota) faces the plan's
marginal commission rate ``m(a_r)`` (tier rate; 0 above the attainment cap or below the
threshold). The forecast already reflects effort under the plan in force during the history
(``reference_plan``, a :class:`~spm_models.comp.Plan` or a plan file the caller loads), so
bookings scale by ``(m(a_r) / m_ref(a_r)) ** effort_elasticity`` — the change in marginal pay
at the same attainment. ``reference_rate`` (a number) replaces ``m_ref`` by a constant; with
neither, the reference is the rep's own plan and the factor is 1 (the status quo). Sources and
range: Misra & Nair (2011, *QME* 9:211–257) report +9 % revenue after a plan redesign that
raised the rewards for output (removing quota ceilings and shortening quota horizons); Chung,
Steenburgh & Sudhir (2014, *Marketing Science* 33(2):165–187) find overachievement
commissions sustain the effort of the best performers after they reach quota and that reps
far from the quota give up. Neither reports a single elasticity; ``[0, 0.3]`` is our reading:
0 = no effort response; 0.3 ≈ log(1.09)/log(1.35), i.e. the Misra–Nair gain from a plan
raising marginal pay by about a third. This is an assumption to be varied, not an estimate.

**Pull-in.** At the end of each quota period (``quota_period`` of the plan's first measure:
month, quarter, year) a rep whose attainment of the period is within ``pull_in_window``
below 100 % pulls ``pull_in_share`` of the next month's bookings into the period's last month,
at a price discount ``pull_in_discount``. Sources: Oyer (1998, *QJE* 113(1):149–185) — sales
are higher at fiscal-year ends and lower at the start under nonlinear contracts; Larkin
(2014, *J. Labor Econ.* 32(2):199–227) — enterprise-software reps time deals into quarters
where accelerators pay and give discounts worth 6–8 % of revenue. Ranges: ``pull_in_share``
``[0, 0.25]`` (assumption: a quarter of a month's deals movable), ``pull_in_window``
``[0, 0.2]``, ``pull_in_discount`` ``[0, 0.08]`` (Larkin's 6–8 % as the upper end). A deal is
only pulled from a month inside the horizon; the plan year's last period end pulls nothing
(the next year is not simulated), so year-end pull-in is understated.

:func:`response_sensitivity` evaluates any decision figures across these ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.planning._config import check_keys, number, raise_if

SECTION = "response"
#: documented ranges (low, high) and the default when the section is on
RANGES: dict[str, tuple[float, float]] = {
    "effort_elasticity": (0.0, 0.3),
    "pull_in_share": (0.0, 0.25),
    "pull_in_window": (0.0, 0.2),
    "pull_in_discount": (0.0, 0.08),
}
DEFAULTS: dict[str, float] = {"effort_elasticity": 0.0, "pull_in_share": 0.0, "pull_in_window": 0.1,
                              "pull_in_discount": 0.0}
SOURCES = {
    "effort_elasticity": "Misra & Nair 2011 QME; Chung, Steenburgh & Sudhir 2014 Marketing Science",
    "pull_in_share": "Oyer 1998 QJE; Larkin 2014 J Labor Econ",
    "pull_in_window": "Larkin 2014 J Labor Econ (reps near an accelerator threshold)",
    "pull_in_discount": "Larkin 2014 J Labor Econ (6-8 % of revenue)",
}


def response_settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``response`` section with defaults; ``enabled`` False when the section is absent or
    ``enabled: false``. Values outside [0, 1] (elasticity: [-1, 2]) raise :class:`InputError`;
    values outside the documented :data:`RANGES` are allowed (the analyst's call)."""
    if not section:
        return {"enabled": False, **DEFAULTS, "reference_rate": None, "reference_plan": None}
    section = dict(section)
    problems = check_keys(SECTION, section, {"enabled", "reference_rate", "reference_plan", *DEFAULTS})
    out: dict[str, Any] = {"enabled": bool(section.get("enabled", True))}
    out["effort_elasticity"] = number(SECTION, section, "effort_elasticity", problems,
                                      default=DEFAULTS["effort_elasticity"], lo=-1, hi=2)
    for k in ("pull_in_share", "pull_in_window", "pull_in_discount"):
        out[k] = number(SECTION, section, k, problems, default=DEFAULTS[k], lo=0, hi=1)
    out["reference_rate"] = number(SECTION, section, "reference_rate", problems, lo=0, lo_open=True)
    ref_plan = section.get("reference_plan")
    if ref_plan is not None and not hasattr(ref_plan, "measures"):
        problems.append("scenario section 'response', key 'reference_plan': load the plan file first "
                        f"(spm_models.comp.Plan.from_yaml), got {ref_plan!r}")
    out["reference_plan"] = ref_plan
    raise_if(problems)
    return out


# --------------------------------------------------------------------------- effort
def marginal_rate(plan: Any, attainment: np.ndarray) -> np.ndarray:
    """Commission per unit of bookings at ``attainment`` under the plan's first measure (tier
    rate; 0 below ``threshold`` and at or above ``cap_attainment``)."""
    m = plan.measures[0]
    a = np.asarray(attainment, dtype=float)
    out = np.zeros(a.shape)
    for tier in m.tiers:
        hi = np.inf if tier.end is None else tier.end
        out = np.where((a >= tier.start) & (a < hi), tier.rate, out)
    if m.threshold:
        out = np.where(a < m.threshold, 0.0, out)
    if m.cap_attainment is not None:
        out = np.where(a >= m.cap_attainment, 0.0, out)
    return out


def expected_attainment(bookings: xr.DataArray, quota: xr.DataArray) -> xr.DataArray:
    """Each rep's plan-year median bookings ÷ plan-year quota ``(rep,)`` (NaN without quota)."""
    q = quota.sum(PERIOD)
    return bookings.sum(PERIOD).median(DRAW) / q.where(q > 0)


def effort_factor(plan: Any, attainment: xr.DataArray, elasticity: float,
                  reference_rate: float | None = None, reference_plan: Any | None = None) -> xr.DataArray:
    """``(m(a_r) / m_ref(a_r)) ** elasticity`` per rep ``(rep,)``: ``m`` the marginal rate of
    ``plan`` at the rep's expected attainment, ``m_ref`` that of ``reference_plan`` at the same
    attainment, or the constant ``reference_rate``; with neither, ``m_ref = m`` (factor 1).
    1 for reps without attainment; zero rates (above a cap) are floored at 1 % of the
    reference plan's rate at 100 % (or of ``reference_rate``), so the factor stays finite."""
    a = np.nan_to_num(np.asarray(attainment.values, dtype=float), nan=1.0)
    ok = np.isfinite(np.asarray(attainment.values, dtype=float))
    if elasticity == 0 or (reference_rate is None and reference_plan is None):
        return xr.ones_like(attainment, dtype=float)
    if reference_plan is not None:
        ref = marginal_rate(reference_plan, a)
        floor = 0.01 * float(marginal_rate(reference_plan, np.array([0.999]))[0])
    else:
        ref = np.full(a.shape, float(reference_rate))
        floor = 0.01 * float(reference_rate)
    floor = max(floor, 1e-9)
    m = marginal_rate(plan, a)
    f = (np.maximum(m, floor) / np.maximum(ref, floor)) ** float(elasticity)
    return attainment.copy(data=np.where(ok, f, 1.0))


# --------------------------------------------------------------------------- pull-in
def period_ends(periods: np.ndarray, quota_period: str, plan_year_start: str | None = None) -> np.ndarray:
    """Indices of the last month of each quota period (``month``/``quarter``/``half``/``year``)
    counted from the plan year's first month (default the first period)."""
    per = pd.PeriodIndex([str(p) for p in periods], freq="M")
    p0 = pd.Period(plan_year_start or str(periods[0]), freq="M")
    k = {"month": 1, "quarter": 3, "half": 6, "year": 12}.get(str(quota_period), 12)
    idx = np.array([(p - p0).n for p in per])
    return np.flatnonzero((idx % k) == k - 1)


def pull_in(bookings: xr.DataArray, quota: xr.DataArray, ends: np.ndarray, share: float,
            window: float, discount: float = 0.0) -> xr.DataArray:
    """Bookings ``(rep, period, draw)`` after pull-in: at each period end ``e`` (indices), in
    each draw, a rep with period attainment in ``[1 − window, 1)`` moves ``share`` of month
    ``e + 1``'s bookings (if positive and inside the horizon) into month ``e``, worth
    ``1 − discount`` there. Totals fall by exactly the discount on what is pulled."""
    b = bookings.transpose(REP, PERIOD, DRAW)
    x = np.array(b.values, dtype=float)
    q = np.asarray(quota.reindex_like(b.isel({DRAW: 0}, drop=True)).transpose(REP, PERIOD).values, dtype=float)
    T = x.shape[1]
    start = 0
    for e in sorted(int(i) for i in ends):
        qsum = q[:, start:e + 1].sum(1)
        if e + 1 < T and share > 0:
            att = x[:, start:e + 1].sum(1) / np.where(qsum > 0, qsum, np.nan)[:, None]
            near = (att >= 1.0 - window) & (att < 1.0)
            moved = np.where(near, share * np.maximum(x[:, e + 1], 0.0), 0.0)
            x[:, e + 1] -= moved
            x[:, e] += moved * (1.0 - discount)
        start = e + 1
    return b.copy(data=x).transpose(*bookings.dims)


def apply_response(bookings: xr.DataArray, quota: xr.DataArray, plan_of_rep: Mapping[str, Any],
                   settings: Mapping[str, Any]) -> xr.DataArray:
    """Both mechanisms on the world's bookings: effort (per rep, by its plan) then pull-in
    (per plan's quota period). ``plan_of_rep`` maps each rep id to its plan (reps missing or
    mapped to None are left alone). Returns ``bookings`` unchanged when not ``enabled``."""
    if not settings.get("enabled"):
        return bookings
    reps = np.asarray(bookings[REP].values).astype(str)
    out = bookings
    att = expected_attainment(bookings, quota)
    keys = pd.Series([id(plan_of_rep.get(r)) if plan_of_rep.get(r) is not None else 0 for r in reps])
    factor = np.ones(len(reps))
    parts = []
    for key in dict.fromkeys(keys):
        if key == 0:
            continue
        idx = np.flatnonzero(keys.to_numpy() == key)
        plan = plan_of_rep[reps[idx[0]]]
        f = effort_factor(plan, att.isel({REP: idx}), float(settings["effort_elasticity"]),
                          settings.get("reference_rate"), settings.get("reference_plan"))
        factor[idx] = f.values
        parts.append((idx, plan))
    out = out * xr.DataArray(factor, dims=(REP,), coords={REP: bookings[REP].values})
    if float(settings["pull_in_share"]) > 0:
        x = out.transpose(REP, PERIOD, DRAW).copy()
        for idx, plan in parts:
            ends = period_ends(out[PERIOD].values, plan.measures[0].quota_period, plan.plan_year_start)
            sub = pull_in(x.isel({REP: idx}), quota.isel({REP: idx}), ends, float(settings["pull_in_share"]),
                          float(settings["pull_in_window"]), float(settings["pull_in_discount"]))
            x[idx] = sub.transpose(REP, PERIOD, DRAW).values
        out = x.transpose(*bookings.dims)
    return out


# --------------------------------------------------------------------------- sensitivity
def response_sensitivity(evaluate: Callable[[dict[str, Any]], Mapping[str, float]],
                         settings: Mapping[str, Any] | None = None,
                         params: tuple[str, ...] = ("effort_elasticity", "pull_in_share", "pull_in_discount"),
                         ) -> pd.DataFrame:
    """How much decision figures move across the documented :data:`RANGES`.

    ``evaluate(settings) -> {figure: value}`` runs the world with a response setting (e.g.
    revenue P50, incentive cost P50, P(target)). Each parameter in ``params`` is set to its low
    and high end with the others at ``settings`` (default: section on, :data:`DEFAULTS`).
    Returns one row per (parameter, end) with the figures, the base figures and the change
    (columns ``<figure>`` and ``<figure>_change``).
    """
    base = {**DEFAULTS, "reference_rate": None, "reference_plan": None, **dict(settings or {}), "enabled": True}
    base_figs = dict(evaluate(base))
    rows = []
    for p in params:
        for end, value in zip(("low", "high"), RANGES[p], strict=True):
            figs = dict(evaluate({**base, p: value}))
            row = {"parameter": p, "end": end, "value": value, "source": SOURCES[p]}
            for k, v in figs.items():
                row[k] = v
                row[f"{k}_change"] = v - base_figs.get(k, np.nan)
            rows.append(row)
    return pd.DataFrame(rows)
