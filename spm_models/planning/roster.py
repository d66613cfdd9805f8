"""The plan-year roster on the forecast's draws: who is active when, in every draw.

A scenario is one simulated world ``rep × period × draw``. This module turns the forecast of
today's reps into that world's roster:

* **Leavers.** Each current rep ``r`` stays a geometric number of months in draw ``d``
  (monthly leave probability ``attrition_monthly``, the capacity section's rate):
  ``leave_month(r, d)`` is the index of the first plan month in which the rep is gone
  (``months`` = stays all year). From that month on the rep books nothing, is credited
  nothing and is paid nothing (:func:`apply_roster`). The same convention as
  :mod:`spm_models.planning.capacity`: a rep is active in the first month and leaves at the
  end of a month with probability ``attrition_monthly``.
* **Hires.** ``hiring_plan[m]`` requisitions opened in month ``m`` start in
  ``m + hiring_lag_months`` (hires starting after the horizon are dropped). The ``j``-th hire
  starting in month ``s`` is the rep ``hire-YYYY-MM-jjj`` with ``hire_month`` ``YYYY-MM``; it
  books nothing before ``s``, then ramps: in its month of tenure ``τ`` it books
  ``ramp(τ) = 1 − exp(−(τ + 1)/ramp_tau)`` of a ramped rep (the ramp of
  :func:`spm_models.planning.capacity.ramp` and of the forecast model). It may leave like
  anyone else.
* **Common random numbers.** Every random number belongs to a rep (current reps by position,
  hires by ``(start month, j)``) and is drawn from its own prefix-stable stream, so the
  ``j``-th hire of month ``s`` books the same in every draw whatever else is hired: adding a
  hire adds its (non-negative) bookings and never lowers any draw's revenue.

Hire bookings come from one of two sources (see ``docs/scenario_world.md``):

``hire_pool_from_forecast``
    The forecast model's own posterior predictive for future reps
    (``BookingsForecast.forecast(future_reps=...)``): a fixed pool of hire slots is
    simulated once with population-level rep effects, seasonality, trend and ramp; a plan
    takes the first ``n_s`` slots of each start month. Same seed ⇒ same posterior samples
    per draw as the forecast of today's reps.
``synthetic_hire_bookings``
    When no fitted model is at hand (the what-if panel works from the cube):
    ``productivity(period, draw) × ramp(τ) × skill(hire, draw)``, with ``productivity`` the
    mean monthly bookings of the forecast's ramped reps (parameter uncertainty per draw,
    seasonality and trend per month) and ``skill`` log-normal with mean 1 and the
    cross-sectional spread of ramped reps' median plan-year bookings. It omits the
    month-to-month lumpiness of a single rep's deals (documented limitation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError
from spm_models.planning.capacity import _lifetimes, _skill, hiring_vector, ramp

#: stream ids of the world's random numbers (np.random.default_rng([seed, stream, ...]))
_STREAM_LEAVE_NOW, _STREAM_LEAVE_HIRE, _STREAM_SKILL_HIRE = 101, 102, 103
#: reps hired at least this many months before the horizon count as ramped
RAMPED_MONTHS = 12
#: prefix of hire ids
HIRE_PREFIX = "hire"


# --------------------------------------------------------------------------- leavers
def leave_months(n_reps: int, n_draws: int, months: int, attrition_monthly: float,
                 seed: int, stream: Sequence[int] = (_STREAM_LEAVE_NOW,)) -> np.ndarray:
    """First inactive month (0-based, counted from the rep's first month) per rep and draw,
    ``(n_reps, n_draws)`` int; ``months`` means "stays the whole horizon".

    Geometric lifetimes by inversion of uniforms from ``default_rng([seed, *stream])``; the
    uniforms of rep ``i`` do not depend on ``n_reps`` (prefix-stable), so adding reps does not
    change anyone else's leave month. Raises :class:`InputError` for a rate outside [0, 1).
    """
    if not 0 <= attrition_monthly < 1:
        raise InputError(f"scenario section 'capacity', key 'attrition_monthly': must be in [0, 1), "
                         f"got {attrition_monthly}")
    u = np.random.default_rng([int(seed), *map(int, stream)]).random((int(n_reps), int(n_draws)))
    return np.minimum(_lifetimes(u, float(attrition_monthly)), int(months)).astype(np.int64)


def active_mask(first: np.ndarray, life: np.ndarray, months: int) -> np.ndarray:
    """Active flag ``(rep, period, draw)``: ``first[r] <= t < first[r] + life[r, d]``."""
    t = np.arange(int(months))[None, :, None]
    f = np.asarray(first)[:, None, None]
    return (t >= f) & (t < f + np.asarray(life)[:, None, :])


def current_roster(forecast: xr.Dataset, attrition_monthly: float, seed: int) -> xr.Dataset:
    """Roster of today's reps: ``leave_month(rep, draw)`` (index of the first month gone,
    ``months`` = never) and ``active(rep, period, draw)`` (bool), combined with the forecast's
    own ``active`` (known terminations) when it has one."""
    b = forecast["bookings"]
    R, T, D = b.sizes[REP], b.sizes[PERIOD], b.sizes[DRAW]
    life = leave_months(R, D, T, attrition_monthly, seed)
    act = active_mask(np.zeros(R, dtype=np.int64), life, T)
    if "active" in forecast:
        act &= np.asarray(forecast["active"].transpose(REP, PERIOD, DRAW).values, dtype=bool)
    coords = {REP: b[REP].values, PERIOD: b[PERIOD].values, DRAW: b[DRAW].values}
    return xr.Dataset({"leave_month": ((REP, DRAW), life), "active": ((REP, PERIOD, DRAW), act)},
                      coords=coords)


# --------------------------------------------------------------------------- hires
def hire_slots(hiring_plan: Any, periods: Sequence[str], hiring_lag_months: int = 0,
               regions: Sequence[str] | None = None, weights: Sequence[float] | None = None) -> pd.DataFrame:
    """One row per hire starting inside the horizon: ``rep_id``, ``open_month`` and
    ``start`` (period indices), ``hire_month`` (``YYYY-MM``), ``slot`` (``j``, 0-based rank among
    the hires starting that month) and ``region``.

    ``hiring_plan`` as in :func:`spm_models.planning.capacity.hiring_vector` (number per month,
    list, or ``{YYYY-MM: n}``). Regions follow a fixed weighted sequence per start month
    (largest remainder on ``weights``, e.g. today's headcount per region), so slot ``j`` of a
    month always lands in the same region, whatever the plan's size.
    """
    periods = [str(p) for p in periods]
    months = len(periods)
    vec = hiring_vector(hiring_plan, months, periods)
    lag = int(hiring_lag_months)
    if lag < 0:
        raise InputError("scenario section 'capacity', key 'hiring_lag_months': must be >= 0")
    starting = np.zeros(months, dtype=np.int64)
    rows = []
    for m in range(months):
        s = m + lag
        if vec[m] == 0 or s >= months:
            continue
        for _ in range(int(vec[m])):
            rows.append((m, s, int(starting[s])))
            starting[s] += 1
    df = pd.DataFrame(rows, columns=["open_month", "start", "slot"], dtype=np.int64)
    df["hire_month"] = [periods[s] for s in df["start"]]
    df["rep_id"] = [f"{HIRE_PREFIX}-{periods[s]}-{j + 1:03d}" for s, j in zip(df["start"], df["slot"], strict=True)]
    seq = region_sequence(regions, weights, int(df["slot"].max()) + 1 if len(df) else 0)
    df["region"] = [seq[j] for j in df["slot"]] if seq else ""
    return df[["rep_id", "open_month", "start", "hire_month", "slot", "region"]]


def region_sequence(regions: Sequence[str] | None, weights: Sequence[float] | None, n: int) -> list[str]:
    """A deterministic sequence of ``n`` regions whose first ``k`` entries follow ``weights``
    as closely as whole numbers allow, for every ``k`` (highest-deficit rule)."""
    if not regions or n <= 0:
        return []
    regions = [str(g) for g in regions]
    w = np.ones(len(regions)) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum()
    count = np.zeros(len(regions))
    out = []
    for k in range(1, n + 1):
        i = int(np.argmax(k * w - count))
        count[i] += 1
        out.append(regions[i])
    return out


def ramped_reps(forecast: xr.Dataset, min_months: int = RAMPED_MONTHS) -> np.ndarray:
    """Boolean ``(rep,)``: reps hired at least ``min_months`` before the first plan month
    (all reps when the cube has no ``hire_month`` or none qualifies)."""
    b = forecast["bookings"]
    if "hire_month" not in b.coords:
        return np.ones(b.sizes[REP], dtype=bool)
    start = pd.Period(str(b[PERIOD].values[0]), freq="M")
    out = np.zeros(b.sizes[REP], dtype=bool)
    for i, hm in enumerate(np.asarray(b["hire_month"].values).astype(str)):
        try:
            out[i] = (start - pd.Period(hm, freq="M")).n >= min_months
        except (ValueError, TypeError):
            out[i] = True  # unknown hire month: treat as tenured
    return out if out.any() else np.ones_like(out)


def hire_productivity(forecast: xr.Dataset) -> tuple[xr.DataArray, float]:
    """Monthly bookings of a ramped rep ``(period, draw)`` — the mean over the forecast's
    ramped reps (:func:`ramped_reps`) — and the log-sd of ramped reps' median plan-year
    bookings (the spread of rep skill a hire is drawn from)."""
    sel = {REP: ramped_reps(forecast)}
    b = forecast["bookings"].isel(sel)
    if "active" in forecast:  # a rep with a known leave date does not dilute the mean
        act = forecast["active"].isel(sel).astype(float)
        prod = (b * act).sum(REP) / act.sum(REP).where(act.sum(REP) > 0)
        prod = prod.fillna(b.mean(REP)).transpose(PERIOD, DRAW)
    else:
        prod = b.mean(REP).transpose(PERIOD, DRAW)
    med = np.asarray(b.sum(PERIOD).median(DRAW).values, dtype=float)
    med = med[med > 0]
    sigma = float(np.std(np.log(med), ddof=1)) if med.size > 2 else 0.0
    return prod, sigma


def synthetic_hire_bookings(slots: pd.DataFrame, productivity: xr.DataArray, ramp_tau: float,
                            skill_sigma: float, seed: int) -> xr.DataArray:
    """Bookings ``(rep, period, draw)`` of the hires in ``slots`` (:func:`hire_slots`):
    ``productivity(period, draw) × ramp(t − start) × skill`` from the start month on, 0 before.

    ``skill`` is log-normal with mean 1 and log-sd ``skill_sigma``, one value per hire and draw,
    drawn from the stream of its start month (slot ``j``'s value is fixed whatever the count).
    """
    prod = np.asarray(productivity.transpose(PERIOD, DRAW).values, dtype=float)
    T, D = prod.shape
    out = np.zeros((len(slots), T, D))
    t = np.arange(T)
    for s, grp in slots.groupby("start", sort=True):
        s = int(s)
        n = int(grp["slot"].max()) + 1
        u = np.random.default_rng([int(seed), _STREAM_SKILL_HIRE, s]).random((n, D))
        skill = _skill(u, float(skill_sigma))[grp["slot"].to_numpy()]  # (H, D)
        r = np.where(t >= s, ramp(np.maximum(t - s, 0), float(ramp_tau)), 0.0)  # (T,)
        out[grp.index.to_numpy()] = r[None, :, None] * prod[None] * skill[:, None, :]
    return xr.DataArray(out, dims=(REP, PERIOD, DRAW),
                        coords={REP: slots["rep_id"].to_numpy(), PERIOD: productivity[PERIOD].values,
                                DRAW: productivity[DRAW].values})


def future_reps_frame(slots: pd.DataFrame, role: str = "AE") -> pd.DataFrame:
    """The ``future_reps`` table of ``BookingsForecast.forecast`` for ``slots``: each hire gets
    its own new territory (``rep_id``), so hires' territory effects are independent draws."""
    return pd.DataFrame({"rep_id": slots["rep_id"].to_numpy(),
                         "hire_date": pd.PeriodIndex(slots["hire_month"], freq="M").to_timestamp(),
                         "region": slots["region"].astype(str).to_numpy(),
                         "territory_id": slots["rep_id"].to_numpy(), "role": role})


def hire_pool_from_forecast(model: Any, start: str, months: int, n_draws: int, seed: int,
                            slots_per_month: int, hiring_lag_months: int = 0,
                            regions: Sequence[str] | None = None,
                            weights: Sequence[float] | None = None, role: str = "AE") -> xr.DataArray:
    """Posterior-predictive bookings ``(rep, period, draw)`` of a fixed pool of
    ``slots_per_month`` hires starting in every month from ``hiring_lag_months`` on, from a
    fitted :class:`spm_models.forecast.BookingsForecast` (``forecast(future_reps=...)``).

    With the forecast's ``seed`` and ``n_draws`` draw ``d`` uses the same posterior sample as
    the forecast of today's reps. A plan takes the first ``n_s`` slots of each start month
    (:func:`select_hires`), so the pool fixes every hire's draws: common random numbers.
    """
    periods = [str(p) for p in pd.period_range(pd.Period(start, freq="M"), periods=int(months), freq="M")]
    lag = int(hiring_lag_months)
    plan = [slots_per_month if m + lag < len(periods) else 0 for m in range(len(periods))]
    slots = hire_slots(plan, periods, lag, regions, weights)
    out = model.forecast(start=start, months=int(months), n_draws=int(n_draws), seed=int(seed),
                         future_reps=future_reps_frame(slots, role))
    pool = out["bookings"].sel({REP: slots["rep_id"].to_numpy()})
    return pool.assign_coords(hire_start=(REP, slots["start"].to_numpy()), hire_slot=(REP, slots["slot"].to_numpy()))


def select_hires(pool: xr.DataArray, slots: pd.DataFrame) -> xr.DataArray:
    """The pool's bookings of the hires in ``slots``; raises :class:`InputError` when the plan
    needs more hires in a month than the pool holds."""
    missing = sorted(set(slots["rep_id"]) - set(map(str, pool[REP].values)))
    if missing:
        raise InputError(f"scenario section 'capacity', key 'hiring_plan': needs hire {missing[0]!r}, "
                         f"beyond the simulated pool of future reps; enlarge the pool")
    return pool.sel({REP: slots["rep_id"].to_numpy()}).drop_vars(["hire_start", "hire_slot"], errors="ignore")


def hire_roster(slots: pd.DataFrame, months: int, n_draws: int, attrition_monthly: float,
                seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``leave_month(hire, draw)`` (absolute period index of the first month gone; ``months`` =
    never) and ``active(hire, period, draw)`` of the hires in ``slots``; each start month has
    its own prefix-stable stream of uniforms."""
    H = len(slots)
    leave = np.full((H, int(n_draws)), int(months), dtype=np.int64)
    for s, grp in slots.groupby("start", sort=True):
        n = int(grp["slot"].max()) + 1
        life = leave_months(n, n_draws, months, attrition_monthly, seed, (_STREAM_LEAVE_HIRE, int(s)))
        leave[grp.index.to_numpy()] = np.minimum(int(s) + life[grp["slot"].to_numpy()], int(months))
    first = slots["start"].to_numpy(dtype=np.int64)
    act = active_mask(first, leave - first[:, None], months)
    return leave, act


# --------------------------------------------------------------------------- the world
def build_roster(forecast: xr.Dataset, hiring_plan: Any = None, *, attrition_monthly: float = 0.0,
                 hiring_lag_months: int = 0, ramp_tau: float = 3.0, seed: int = 0,
                 hire_pool: xr.DataArray | None = None, hire_role: str = "AE",
                 hire_plan: str | None = None) -> xr.Dataset:
    """The world's roster and bookings: today's reps (with leavers) and the planned hires.

    Parameters
    ----------
    forecast : forecast cube, ``bookings(rep, period, draw)`` (plan currency per month) with rep
        coords ``region``/``territory_id``/``role``/``hire_month`` when known, optional
        ``active(rep, period, draw)`` (known terminations). The world's attrition replaces the
        forecast's own ``attrition`` option: forecast today's reps without it, or they leave twice.
    hiring_plan : requisitions opened per month (see :func:`hire_slots`); None = no hires.
    attrition_monthly : monthly leave probability of every rep (0 = nobody leaves).
    hiring_lag_months, ramp_tau : requisition → start lag, ramp constant (months).
    seed : seed of the roster's random numbers (common across hiring plans).
    hire_pool : bookings of a pool of future reps (:func:`hire_pool_from_forecast`); None =
        :func:`synthetic_hire_bookings` from the forecast's ramped reps.
    hire_role, hire_plan : role of the hires and the plan key they are paid on (e.g. the
        new-hire draw plan; default the role's plan).

    Returns
    -------
    Dataset over ``rep`` (today's reps, then hires) × ``period`` × ``draw``:
    ``bookings`` (zero when inactive), ``potential_bookings`` (the same before attrition: what
    the rep would book if they stayed — quotas are set on it), ``active`` (bool),
    ``leave_month(rep, draw)`` (period index, ``months`` = stays); rep coords ``is_hire``,
    ``hire_month``, ``role``, ``plan_role``, ``region``, ``territory_id``.
    """
    b = forecast["bookings"].transpose(REP, PERIOD, DRAW)
    periods = [str(p) for p in b[PERIOD].values]
    T, D = len(periods), b.sizes[DRAW]
    cur = current_roster(forecast, attrition_monthly, seed)
    region = (np.asarray(b["region"].values).astype(str) if "region" in b.coords
              else np.full(b.sizes[REP], ""))
    names, counts = np.unique(region, return_counts=True)
    slots = hire_slots(hiring_plan, periods, hiring_lag_months, list(names), counts)
    pot = [np.asarray(b.values, dtype=float)]
    act = [np.asarray(cur["active"].values)]
    leave = [np.asarray(cur["leave_month"].values)]
    if len(slots):
        if hire_pool is not None:
            hb = select_hires(hire_pool, slots).transpose(REP, PERIOD, DRAW)
        else:
            prod, sigma = hire_productivity(forecast)
            hb = synthetic_hire_bookings(slots, prod, ramp_tau, sigma, seed)
        h_leave, h_act = hire_roster(slots, T, D, attrition_monthly, seed)
        pot.append(np.asarray(hb.values, dtype=float))
        act.append(h_act)
        leave.append(h_leave)
    potential = np.concatenate(pot)
    active = np.concatenate(act)
    rep_ids = np.concatenate([np.asarray(b[REP].values).astype(str), slots["rep_id"].to_numpy(str)])

    def coord(name: str, fill_now: str, fill_hire: np.ndarray) -> np.ndarray:
        now = np.asarray(b[name].values).astype(str) if name in b.coords else np.full(b.sizes[REP], fill_now)
        return np.concatenate([now, np.asarray(fill_hire, dtype=str)]).astype(str)

    roles = coord("role", "AE", np.full(len(slots), hire_role))
    plan_roles = roles.astype(object)
    if hire_plan is not None:
        plan_roles[b.sizes[REP]:] = str(hire_plan)
    plan_roles = plan_roles.astype(str)
    ds = xr.Dataset(
        {"bookings": ((REP, PERIOD, DRAW), np.where(active, potential, 0.0)),
         "potential_bookings": ((REP, PERIOD, DRAW), potential),
         "active": ((REP, PERIOD, DRAW), active),
         "leave_month": ((REP, DRAW), np.concatenate(leave))},
        coords={REP: rep_ids, PERIOD: periods, DRAW: b[DRAW].values,
                "is_hire": (REP, np.r_[np.zeros(b.sizes[REP], bool), np.ones(len(slots), bool)]),
                "hire_month": (REP, coord("hire_month", "", slots["hire_month"].to_numpy())),
                "role": (REP, roles), "plan_role": (REP, plan_roles),
                "region": (REP, coord("region", "", slots["region"].to_numpy())),
                "territory_id": (REP, coord("territory_id", "", slots["rep_id"].to_numpy()))},
    )
    ds["bookings"].attrs["units"] = "net bookings (plan currency) per month"
    ds.attrs.update(attrition_monthly=float(attrition_monthly), hiring_lag_months=int(hiring_lag_months),
                    ramp_tau=float(ramp_tau), seed=int(seed), total_hires=len(slots),
                    hire_source="forecast_pool" if hire_pool is not None else "synthetic")
    return ds


#: keys of the ``capacity`` section that concern the world's hires only
HIRE_KEYS = ("hire_role", "hire_plan", "span_of_control")


def roster_settings(section: Mapping[str, Any] | None, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario's ``capacity`` section as (:func:`build_roster` keyword arguments, solver
    settings). Roster: ``hiring_plan`` (default none), ``attrition_monthly`` (default 0),
    ``hiring_lag_months`` (0),
    ``ramp_tau`` (3), ``hire_role`` (``AE``), ``hire_plan`` (plan key of hires; default their
    role's), ``seed``. Solver (empty when the section fixes a ``hiring_plan``): ``probability``,
    ``target`` (None = the scenario's), ``schedule``, ``max_hires``. Unknown keys and a
    ``hiring_plan`` given together with ``probability`` raise :class:`InputError`."""
    from spm_models.planning._config import check_keys, number, raise_if, where
    from spm_models.planning.capacity import _CONFIG_KEYS

    section = dict(section or {})
    problems = check_keys("capacity", section, set(_CONFIG_KEYS) | set(HIRE_KEYS))
    att = number("capacity", section, "attrition_monthly", problems, default=0.0, lo=0, hi=1, hi_open=True)
    lag = number("capacity", section, "hiring_lag_months", problems, default=0, lo=0)
    tau = number("capacity", section, "ramp_tau", problems, default=3.0, lo=0)
    if "hiring_plan" in section and ("probability" in section or "target" in section):
        problems.append(f"{where('capacity', 'hiring_plan')}: give either a hiring_plan or target+probability")
    raise_if(problems)
    roster = {"hiring_plan": section.get("hiring_plan"), "attrition_monthly": float(att),
              "hiring_lag_months": int(lag), "ramp_tau": float(tau), "seed": int(seed),
              "hire_role": str(section.get("hire_role", "AE")), "hire_plan": section.get("hire_plan")}
    solve = {}
    if "probability" in section:
        solve = {"probability": section["probability"], "target": section.get("target"),
                 "schedule": section.get("schedule", "constant"), "max_hires": section.get("max_hires", 5000)}
    return roster, solve


def apply_roster(values: xr.DataArray, active: xr.DataArray) -> xr.DataArray:
    """``values`` (e.g. payouts or credits ``(rep, period, draw)``) set to 0 where the rep is
    inactive: a leaver is paid nothing from the month they leave (and a hire nothing before
    their start)."""
    return values.where(active.reindex_like(values).fillna(False).astype(bool), 0.0)


def headcount(world: xr.Dataset) -> xr.DataArray:
    """Active reps ``(period, draw)``."""
    return world["active"].sum(REP)


def revenue(world: xr.Dataset) -> xr.DataArray:
    """Plan-year revenue per draw: the world's bookings summed over reps and months."""
    return world["bookings"].sum([REP, PERIOD])


def roster_summary(world: xr.Dataset) -> Mapping[str, Any]:
    """Headcount P50 at the start and end, leavers P50, hires of the plan year."""
    hc = headcount(world)
    now = ~world["is_hire"].values
    T = world.sizes[PERIOD]
    leavers = (world["leave_month"].isel({REP: now}) < T).sum(REP)
    return {"headcount_start_p50": float(hc.isel({PERIOD: 0}).median()),
            "headcount_end_p50": float(hc.isel({PERIOD: -1}).median()),
            "leavers_p50": float(leavers.median()), "hires": int(world["is_hire"].sum())}
