"""Sales capacity planning: headcount, ramp and bookings capacity as a cube; solve hiring.

Each draw simulates reps one by one:

* existing reps (``headcount_now``, tenure ``tenure_now`` months, default fully ramped) and
  hires (``hiring_plan[m]`` requisitions opened in month ``m`` start in ``m + hiring_lag``);
* every rep leaves at the end of each month with probability ``attrition_monthly``
  (geometric lifetime);
* a rep in its ``τ``-th month (τ = 0 in the start month) produces
  ``ramp(τ) = 1 - exp(-(τ + 1) / ramp_tau)`` of a fully ramped rep (the demo's ramp curve);
* a fully ramped rep books ``productivity[draw]`` per month (the forecast's population-level
  monthly bookings per rep — one value per posterior draw, so parameter uncertainty carries
  through), times an optional per-rep lognormal skill factor (``rep_sigma``, mean 1).

Random numbers are common across hiring plans: the lifetime and skill of the ``j``-th hire of
month ``m`` do not depend on how many others are hired, so adding a hire never lowers any
draw's capacity and ``P(capacity >= target)`` is monotone in the number of hires — which is
what lets :func:`solve_hiring` bisect on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import month_range
from spm_models.errors import InputError
from spm_models.planning._config import check_keys, choice, number, raise_if, where
from spm_models.planning.sections import CapacitySection
from spm_models.planning.sections import keys as section_keys

SECTION = "capacity"


def ramp(tenure: np.ndarray, ramp_tau: float) -> np.ndarray:
    """Share of full productivity in the rep's month ``tenure`` (0 = start month)."""
    if ramp_tau <= 0:
        return np.ones_like(np.asarray(tenure, dtype=float))
    return 1.0 - np.exp(-(np.asarray(tenure, dtype=float) + 1.0) / ramp_tau)


def _lifetimes(u: np.ndarray, attrition: float) -> np.ndarray:
    """Months active (>= 1) from uniforms by inversion of the geometric distribution."""
    if attrition <= 0:
        return np.full(u.shape, np.iinfo(np.int32).max, dtype=np.int64)
    if attrition >= 1:
        return np.ones(u.shape, dtype=np.int64)
    return np.maximum(1, np.ceil(np.log1p(-u) / np.log1p(-attrition))).astype(np.int64)


def _skill(u: np.ndarray, rep_sigma: float) -> np.ndarray:
    if rep_sigma <= 0:
        return np.ones(u.shape)
    from scipy.stats import norm

    z = norm.ppf(np.clip(u, 1e-12, 1 - 1e-12))
    return np.exp(rep_sigma * z - 0.5 * rep_sigma**2)


@lru_cache(maxsize=4)
def _existing_reps(
    h0: int, n_draws: int, months: int, seed: int, attrition: float, ramp_tau: float,
    rep_sigma: float, tenure: tuple[float, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Headcount, ramped FTE and skill-weighted FTE ``(months, draws)`` of today's reps
    (cached: :func:`solve_hiring` re-simulates the same reps for every candidate plan)."""
    t = np.arange(months)
    rng = np.random.default_rng([seed, 0])
    u = rng.random((h0, n_draws, 2))
    life = _lifetimes(u[..., 0], attrition)  # (R, D)
    skill = _skill(u[..., 1], rep_sigma)
    active = t[None, None, :] < life[..., None]  # (R, D, T)
    r = ramp(np.asarray(tenure)[:, None] + t[None, :], ramp_tau)  # (R, T)
    head = active.sum(0).T.astype(float)
    fte = (active * r[:, None, :]).sum(0).T
    eff = (active * r[:, None, :] * skill[..., None]).sum(0).T
    for a in (head, fte, eff):
        a.setflags(write=False)
    return head, fte, eff


def hiring_vector(plan: Any, months: int, periods: Sequence[str]) -> np.ndarray:
    """Requisitions opened per month from a number (same every month), a list (one per month)
    or a mapping ``{"YYYY-MM": hires}``."""
    if plan is None:
        return np.zeros(months, dtype=np.int64)
    if isinstance(plan, (int, float, np.integer, np.floating)) and not isinstance(plan, bool):
        vec = np.full(months, plan, dtype=float)
    elif isinstance(plan, Mapping):
        unknown = [k for k in plan if str(k) not in periods]
        if unknown:
            raise InputError(f"{where(SECTION, 'hiring_plan')}: month {unknown[0]!r} is outside the horizon")
        vec = np.array([float(plan.get(p, 0)) for p in periods])
    else:
        vec = np.asarray(list(plan), dtype=float)
        if vec.size != months:
            raise InputError(f"{where(SECTION, 'hiring_plan')}: {vec.size} values for {months} months")
    if np.any(vec < 0) or np.any(vec != np.round(vec)) or not np.all(np.isfinite(vec)):
        raise InputError(f"{where(SECTION, 'hiring_plan')}: hires must be non-negative whole numbers")
    return vec.astype(np.int64)


def _productivity(productivity: Any, n_draws: int, periods: Sequence[str], seed: int) -> np.ndarray:
    """Productivity as an array ``(n_periods, n_draws)``."""
    n_t = len(periods)
    if isinstance(productivity, xr.DataArray):
        da = productivity
        if "period" in da.dims:
            da = da.sel(period=list(periods)) if set(periods) <= set(da["period"].values.astype(str)) else da
            arr = da.transpose("period", "draw").values if "draw" in da.dims else np.repeat(da.values[:, None], 1, 1)
        else:
            arr = np.atleast_1d(da.values)[None, :]
    else:
        arr = np.atleast_1d(np.asarray(productivity, dtype=float))[None, :]
    arr = np.asarray(arr, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{where(SECTION, 'productivity')}: contains non-finite values")
    if (arr < 0).any():
        raise InputError(f"{where(SECTION, 'productivity')}: must be >= 0 (bookings per ramped "
                         f"rep-month), got {float(arr.min()):g}")
    if arr.shape[0] not in (1, n_t):
        raise InputError(f"{where(SECTION, 'productivity')}: {arr.shape[0]} periods for a {n_t}-month horizon")
    if arr.shape[1] != n_draws:
        idx = np.random.default_rng([seed, 2]).integers(0, arr.shape[1], n_draws)
        arr = arr[:, idx]
    return np.broadcast_to(arr, (n_t, n_draws))


def simulate_capacity(
    start: str,
    months: int,
    headcount_now: int,
    hiring_plan: Any = 0,
    attrition_monthly: float = 0.02,
    ramp_tau: float = 4.0,
    hiring_lag_months: int = 0,
    productivity: Any = 100_000.0,
    n_draws: int = 1000,
    seed: int = 0,
    *,
    tenure_now: Sequence[float] | None = None,
    rep_sigma: float = 0.0,
) -> xr.Dataset:
    """Simulate headcount and bookings capacity over ``months`` months from ``start``.

    Returns a Dataset with ``headcount(period, draw)``, ``ramped_fte(period, draw)``,
    ``capacity(period, draw)`` (bookings), ``capacity_total(draw)`` (sum over the horizon),
    ``hires_opened(period)`` and ``hires_starting(period)``.
    """
    problems: list[str] = []
    cfg = {
        "months": months, "headcount_now": headcount_now, "attrition_monthly": attrition_monthly,
        "ramp_tau": ramp_tau, "hiring_lag_months": hiring_lag_months, "n_draws": n_draws,
        "rep_sigma": rep_sigma,
    }
    number(SECTION, cfg, "months", problems, required=True, lo=1)
    number(SECTION, cfg, "headcount_now", problems, required=True, lo=0)
    number(SECTION, cfg, "attrition_monthly", problems, lo=0, hi=1)
    number(SECTION, cfg, "ramp_tau", problems, lo=0)
    number(SECTION, cfg, "hiring_lag_months", problems, lo=0)
    number(SECTION, cfg, "n_draws", problems, lo=1)
    number(SECTION, cfg, "rep_sigma", problems, lo=0)
    periods: list[str] = []
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(start)):
        problems.append(f"{where(SECTION, 'start')}: expected YYYY-MM, got {start!r}")
    elif not problems:
        periods = month_range(str(start), int(months))
    raise_if(problems)
    months, n_draws, lag = int(months), int(n_draws), int(hiring_lag_months)
    hires = hiring_vector(hiring_plan, months, periods)
    prod = _productivity(productivity, n_draws, periods, seed)  # (T, D)
    t = np.arange(months)

    fte = np.zeros((months, n_draws))
    eff = np.zeros((months, n_draws))  # skill-weighted ramped FTE
    head = np.zeros((months, n_draws))
    # existing reps
    h0 = int(headcount_now)
    if h0:
        ten = np.full(h0, 10_000.0) if tenure_now is None else np.asarray(tenure_now, dtype=float)
        if ten.size != h0:
            raise InputError(f"{where(SECTION, 'tenure_now')}: {ten.size} values for headcount_now={h0}")
        blocks = _existing_reps(h0, n_draws, months, int(seed), float(attrition_monthly), float(ramp_tau),
                                float(rep_sigma), tuple(ten.tolist()))
        head, fte, eff = (b.copy() for b in blocks)
    # hires: slot j of month m starts at m + lag, with its own random numbers
    starting = np.zeros(months, dtype=np.int64)
    for m in range(months):
        s = m + lag
        if hires[m] == 0 or s >= months:
            continue
        starting[s] += hires[m]
        rng = np.random.default_rng([seed, 1, m])
        u = rng.random((int(hires[m]), n_draws, 2))  # prefix-stable: slot j's numbers fixed
        life = _lifetimes(u[..., 0], attrition_monthly)
        skill = _skill(u[..., 1], rep_sigma)
        ten = t[s:] - s
        active = ten[None, None, :] < life[..., None]  # (H, D, T - s)
        r = ramp(ten, ramp_tau)
        head[s:] += active.sum(0).T
        fte[s:] += (active * r).sum(0).T
        eff[s:] += (active * r * skill[..., None]).sum(0).T
    capacity = eff * prod
    coords = {"period": periods, "draw": np.arange(n_draws)}
    ds = xr.Dataset(
        {
            "headcount": (("period", "draw"), head),
            "ramped_fte": (("period", "draw"), fte),
            "capacity": (("period", "draw"), capacity),
            "capacity_total": (("draw",), capacity.sum(0)),
            "hires_opened": (("period",), hires),
            "hires_starting": (("period",), starting),
        },
        coords=coords,
    )
    ds.attrs.update(
        start=periods[0], months=months, headcount_now=h0, attrition_monthly=float(attrition_monthly),
        ramp_tau=float(ramp_tau), hiring_lag_months=lag, rep_sigma=float(rep_sigma), seed=int(seed),
        total_hires=int(hires.sum()),
    )
    return ds


def schedule_hires(total: int, months: int, schedule: str = "constant", window: tuple[int, int] | None = None) -> np.ndarray:
    """Spread ``total`` hires over the hiring ``window`` (first, last month index, inclusive).

    ``constant``: an even monthly rate, the remainder in the earliest months;
    ``front_loaded``: everything in the window's first month.
    Adding one hire never lowers any month's count (so capacity is monotone in ``total``).
    """
    lo, hi = window if window is not None else (0, months - 1)
    vec = np.zeros(months, dtype=np.int64)
    if total <= 0:
        return vec
    if schedule == "front_loaded":
        vec[lo] = total
        return vec
    n = hi - lo + 1
    base, rem = divmod(int(total), n)
    vec[lo : hi + 1] = base
    vec[lo : lo + rem] += 1
    return vec


@dataclass
class HiringSolution:
    """Minimal hiring plan reaching ``target`` with ``probability`` (see :func:`solve_hiring`)."""

    total_hires: int
    hiring_plan: pd.Series  # hires opened per month
    probability: float  # P(capacity_total >= target) with this plan
    probability_one_fewer: float  # ... with one hire fewer (nan when total_hires == 0)
    feasible: bool
    simulation: xr.Dataset
    settings: dict[str, Any] = field(default_factory=dict)


def _solve_window(target: float, probability: float, schedule: str, max_hires: int, months: int,
                  lag: int, hiring_window: tuple[int, int] | None) -> tuple[int, int]:
    """Validate a hiring solve's settings (all problems at once) and return its hiring window:
    by default the months whose hires still start inside the horizon."""
    problems: list[str] = []
    cfg = {"target": target, "probability": probability, "schedule": schedule, "max_hires": max_hires,
           "months": months, "hiring_lag_months": lag}
    number(SECTION, cfg, "months", problems, required=True, lo=1)
    number(SECTION, cfg, "hiring_lag_months", problems, lo=0)
    number(SECTION, cfg, "target", problems, required=True, lo=0, lo_open=True)
    number(SECTION, cfg, "probability", problems, required=True, lo=0, hi=1, lo_open=True, hi_open=True)
    number(SECTION, cfg, "max_hires", problems, lo=0)
    choice(SECTION, cfg, "schedule", ("constant", "front_loaded"), problems)
    raise_if(problems)
    window = hiring_window or (0, int(months) - 1 - lag)
    if window[1] < window[0] or window[0] < 0:
        raise InputError(f"{where(SECTION, 'hiring_lag_months')}: no hire can start inside the horizon")
    return window


def _fewest_hires(p_of: Callable[[int], float], probability: float, max_hires: int) -> tuple[int, bool]:
    """Smallest ``h`` with ``p_of(h) >= probability`` (doubling, then bisection; ``p_of`` must be
    non-decreasing in ``h``), and whether it was reached within ``max_hires``."""
    lo, hi = 0, 1
    if p_of(0) >= probability:
        return 0, True
    while p_of(hi) < probability and hi < max_hires:
        lo, hi = hi, min(2 * hi, int(max_hires))
    if p_of(hi) < probability:
        return hi, False
    while hi - lo > 1:  # invariant: p(lo) < probability <= p(hi)
        mid = (lo + hi) // 2
        if p_of(mid) >= probability:
            hi = mid
        else:
            lo = mid
    return hi, True


def solve_hiring(
    target: float,
    probability: float,
    *,
    start: str,
    months: int,
    headcount_now: int,
    attrition_monthly: float = 0.02,
    ramp_tau: float = 4.0,
    hiring_lag_months: int = 0,
    productivity: Any = 100_000.0,
    n_draws: int = 1000,
    seed: int = 0,
    schedule: str = "constant",
    hiring_window: tuple[int, int] | None = None,
    max_hires: int = 5000,
    tenure_now: Sequence[float] | None = None,
    rep_sigma: float = 0.0,
) -> HiringSolution:
    """Fewest hires (spread by ``schedule``) so that ``P(capacity over the horizon >= target)
    >= probability`` under :func:`simulate_capacity` with the same seed.

    The hiring window defaults to the months whose hires still start inside the horizon
    (``0 .. months - 1 - hiring_lag_months``). Bisection on the total (the probability is
    monotone in it under common random numbers). ``feasible`` is False when even
    ``max_hires`` does not reach the probability.
    """
    lag = int(hiring_lag_months)
    window = _solve_window(target, probability, schedule, max_hires, months, lag, hiring_window)
    common = {
        "start": start, "months": months, "headcount_now": headcount_now, "attrition_monthly": attrition_monthly,
        "ramp_tau": ramp_tau, "hiring_lag_months": lag, "productivity": productivity, "n_draws": n_draws,
        "seed": seed, "tenure_now": tenure_now, "rep_sigma": rep_sigma,
    }
    cache: dict[int, xr.Dataset] = {}

    def sim(h: int) -> xr.Dataset:
        if h not in cache:
            cache[h] = simulate_capacity(hiring_plan=schedule_hires(h, int(months), schedule, window), **common)
        return cache[h]

    def p_of(h: int) -> float:
        return float((sim(h)["capacity_total"] >= target).mean())

    hi, feasible = _fewest_hires(p_of, probability, max_hires)
    if not feasible:
        ds = sim(hi)
        return HiringSolution(hi, ds["hires_opened"].to_series(), p_of(hi), float("nan"), False, ds,
                              {**common, "schedule": schedule, "target": target, "probability": probability})
    ds = sim(hi)
    ds.attrs.update(target=float(target), probability_target=float(probability), schedule=schedule)
    p_fewer = p_of(hi - 1) if hi > 0 else float("nan")
    return HiringSolution(
        total_hires=hi,
        hiring_plan=ds["hires_opened"].to_series(),
        probability=p_of(hi),
        probability_one_fewer=p_fewer,
        feasible=True,
        simulation=ds,
        settings={**common, "schedule": schedule, "target": target, "probability": probability},
    )


def productivity_from_forecast(forecast: xr.Dataset, by_period: bool = False) -> xr.DataArray:
    """Population-level monthly bookings per rep from a forecast cube, one value per draw:
    the mean of ``bookings`` over reps (and months unless ``by_period``).

    Ramping reps in the cube pull this below a fully ramped rep's level; pass a cube of
    tenured reps (e.g. ``forecast.sel(rep=tenured)``) when that matters.
    """
    if "bookings" not in forecast:
        raise InputError("forecast cube, field 'bookings': missing")
    da = forecast["bookings"].mean("rep")
    return (da if by_period else da.mean("period")).compute().rename("productivity")


_CONFIG_KEYS = section_keys(CapacitySection)


def capacity_from_config(
    config: Mapping[str, Any], productivity: Any | None = None
) -> xr.Dataset:
    """Run the scenario's ``capacity`` section: with ``target`` and ``probability`` solve for
    the hiring plan (result attrs ``total_hires``, ``probability_reached``), else simulate
    the given ``hiring_plan``. ``productivity`` (e.g. from :func:`productivity_from_forecast`)
    overrides the section's number; ``tenure_now`` (months in seat of each current rep) may
    be given (see :func:`spm_models.planning.capacity_inputs.capacity_config`)."""
    config = {k: v for k, v in dict(config or {}).items() if k not in ("hire_role", "hire_plan", "span_of_control")}
    problems = check_keys(SECTION, config, _CONFIG_KEYS)
    for key in ("start", "months", "headcount_now"):
        if key not in config:
            problems.append(f"{where(SECTION, key)}: required")
    raise_if(problems)
    prod = productivity if productivity is not None else config.pop("productivity", 100_000.0)
    config.pop("productivity", None)
    if "target" in config or "probability" in config:
        if "hiring_plan" in config:
            raise InputError(f"{where(SECTION, 'hiring_plan')}: give either a hiring_plan or target+probability")
        sol = solve_hiring(config.pop("target", None), config.pop("probability", None), productivity=prod, **config)
        ds = sol.simulation.copy()
        ds.attrs.update(total_hires=sol.total_hires, probability_reached=sol.probability,
                        probability_one_fewer=sol.probability_one_fewer, feasible=int(sol.feasible))
        return ds
    config.pop("schedule", None)
    config.pop("max_hires", None)
    return simulate_capacity(productivity=prod, **config)


# --------------------------------------------------------------------------- capacity = revenue
@dataclass
class WorldHiringSolution:
    """Smallest hiring plan whose world revenue reaches ``target`` with ``probability``
    (:func:`solve_hiring_on_world`)."""

    total_hires: int
    hiring_plan: np.ndarray  # requisitions opened per month
    probability: float  # P(revenue >= target) with this plan
    probability_one_fewer: float  # ... with one hire fewer (nan when total_hires == 0)
    feasible: bool
    revenue: np.ndarray  # (draw,) world revenue with this plan
    evaluated: dict[int, float] = field(default_factory=dict)  # total hires -> probability


def solve_hiring_on_world(
    revenue_of: Any,
    target: float,
    probability: float,
    *,
    months: int,
    hiring_lag_months: int = 0,
    schedule: str = "constant",
    hiring_window: tuple[int, int] | None = None,
    max_hires: int = 5000,
) -> WorldHiringSolution:
    """Fewest hires (spread by :func:`schedule_hires`) with ``P(revenue >= target) >=
    probability`` where ``revenue_of(plan) -> (draw,)`` is the scenario world's plan-year
    revenue under hiring ``plan`` (requisitions per month, length ``months``) — e.g.
    ``lambda plan: revenue(build_roster(forecast, plan, ...))``. The same simulated world
    gives the report's revenue, so capacity *is* revenue: there is no second bookings number.

    Bisection on the total; valid because under common random numbers (see
    :mod:`spm_models.planning.roster`) revenue never falls in any draw when a hire is added.
    The answer is checked: ``probability`` reached with ``total_hires`` and missed with one
    fewer (``probability_one_fewer``); ``feasible`` False when ``max_hires`` falls short.
    Raises :class:`InputError` for a bad target/probability/schedule or no month a hire can
    start in.
    """
    lag = int(hiring_lag_months)
    window = _solve_window(target, probability, schedule, max_hires, months, lag, hiring_window)
    revs: dict[int, np.ndarray] = {}

    def rev(h: int) -> np.ndarray:
        if h not in revs:
            revs[h] = np.asarray(revenue_of(schedule_hires(h, int(months), schedule, window)), dtype=float)
        return revs[h]

    def p_of(h: int) -> float:
        return float((rev(h) >= float(target)).mean())

    hi, feasible = _fewest_hires(p_of, probability, max_hires)
    p_fewer = p_of(hi - 1) if hi > 0 else float("nan")
    return WorldHiringSolution(
        total_hires=hi, hiring_plan=schedule_hires(hi, int(months), schedule, window),
        probability=p_of(hi), probability_one_fewer=p_fewer, feasible=feasible, revenue=rev(hi),
        evaluated={h: p_of(h) for h in sorted(revs)},
    )


def world_capacity_summary(solution: WorldHiringSolution | None, revenue: np.ndarray,
                           headcount: xr.DataArray, target: float | None) -> dict[str, Any]:
    """``summary["capacity"]`` read from the scenario's world: hires (solved or planned), the
    probability of the target on the world's revenue (and with one hire fewer when solved),
    revenue P10/P50/P90 (the same figure as the summary's revenue) and headcount
    ``(period, draw)`` P50 at the start and the end of the horizon."""
    rev = np.asarray(revenue, dtype=float)
    q = np.quantile(rev, [0.1, 0.5, 0.9])
    out: dict[str, Any] = {
        "revenue": {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])},
        "prob_target": float((rev >= target).mean()) if target is not None else None,
        "headcount_start_p50": float(headcount.isel(period=0).median()),
        "headcount_end_p50": float(headcount.isel(period=-1).median()),
    }
    if solution is not None:
        out.update(total_hires=int(solution.total_hires), solved=True, feasible=bool(solution.feasible),
                   probability_reached=float(solution.probability),
                   probability_one_fewer=float(solution.probability_one_fewer),
                   hiring_plan=[int(x) for x in solution.hiring_plan])
    return out
