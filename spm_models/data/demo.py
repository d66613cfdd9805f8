"""The synthetic demo organisation: a B2B sales org on real US ZIP geography.

:func:`make_demo` follows the generating process fixed in ``docs/architecture.md`` (section
"Demo organisation's generating process"); the true parameters are returned in the ``truth``
table (``parameter, value``) and per-rep draws in ``truth_reps``. Everything is vectorised and
deterministic for a seed (one :class:`numpy.random.Generator`).

Monthly, for AE rep ``r`` in month ``t`` (``t = 0`` is the first month of history)::

    n[r,t] ~ Poisson(lam),  log lam = log(base_deals) + region_eff + terr_eff + skill[r]
             + trend * t / 12 + season_amp * cos(2 pi (fm - season_peak) / 12)
             + log(1 - exp(-(tau + 1) / ramp_tau))
    deal size ~ LogNormal(log(deal_median) + region_size_eff, deal_sigma)

with ``fm`` the calendar (= fiscal) month 1..12 and ``tau`` the months since hire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from spm_models.data.demo_history import opportunity_history
from spm_models.data.geography import REGION_CODES, allocate, build_territories, us_zips
from spm_models.errors import InputError

#: The plan year that follows the history.
PLAN_YEAR = 2027

ROLES = ("AE", "SE", "Manager")
PLANS = {"AE": "AE Standard", "SE": "SE Overlay", "Manager": "Manager Override"}
PRODUCTS = ("Core Platform", "Analytics", "Integrations", "Professional Services")
PRODUCT_P = (0.45, 0.25, 0.15, 0.15)
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
OPEN_STAGE_P = (0.10, 0.20, 0.50, 0.75)
INDUSTRIES = ("Manufacturing", "Healthcare", "Financial Services", "Retail", "Technology",
              "Logistics", "Energy", "Education", "Public Sector", "Media")
LOSS_REASONS = ("Price", "Competitor", "No decision", "Timing", "Budget")
_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
          "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
          "Thomas", "Sarah", "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony",
          "Priya", "Mark", "Sandra", "Wei", "Ashley", "Steven", "Maria", "Andrew", "Emily",
          "Kevin", "Aisha", "Brian", "Michelle", "Luis", "Amanda")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
         "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
         "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
         "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young",
         "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Patel", "Kim")
_ACC_A = ("Summit", "Pioneer", "Harbor", "Cedar", "Granite", "Beacon", "Prairie", "Atlas",
          "Liberty", "Evergreen", "Keystone", "Frontier", "Riverside", "Pinnacle", "Meridian",
          "Silverline", "Northstar", "Bluewater", "Ironwood", "Redwood")
_ACC_B = ("Logistics", "Health", "Foods", "Manufacturing", "Energy", "Financial", "Systems",
          "Retail", "Labs", "Partners", "Media", "Industries", "Medical", "Capital", "Supply")
_ACC_C = ("Inc", "LLC", "Corp", "Group", "Co")


@dataclass(frozen=True)
class DemoParams:
    """True parameters of the generating process (names as in ``docs/architecture.md``)."""

    base_deals: float = 2.5  #: deals per month of an average, fully ramped AE at t0
    deal_median: float = 18_000.0  #: median deal size
    deal_sigma: float = 0.8  #: log-sd of deal size
    season_amp: float = 0.3  #: amplitude of the log-seasonality
    season_peak: float = 11.5  #: fiscal month of the seasonal peak
    trend: float = 0.08  #: annual log growth of deal counts
    ramp_tau: float = 3.0  #: ramp time constant in months
    rep_sigma: float = 0.3  #: sd of rep skill (log deal rate)
    territory_sigma: float = 0.15  #: sd of territory effect (log deal rate)
    cancel_rate: float = 0.03  #: share of deals cancelled 1-3 months later
    attrition_monthly: float = 0.015  #: monthly termination hazard
    region_sigma: float = 0.10  #: sd of region effect on log deal rate
    region_size_sigma: float = 0.10  #: sd of region effect on log deal size
    win_rate: float = 0.30  #: share of closed opportunities that are won
    cycle_median: float = 60.0  #: median sales cycle in days (plus 7), created to close
    cycle_sigma: float = 0.5  #: log-sd of the sales cycle
    lost_advance: float = 0.6  #: probability a losing deal still advances to the next stage
    slip_rate: float = 0.7  #: mean number of close-date pushes per opportunity
    slip_shape: float = 1.0  #: gamma shape of the per-deal slip propensity (small = clumpy)
    slip_days: float = 25.0  #: mean push beyond 7 days
    amount_change_p: float = 0.5  #: share of deals whose amount changes once
    amount_change_mu: float = 0.05  #: log-mean of amount at creation / final amount
    amount_change_sigma: float = 0.2  #: log-sd of that ratio


#: A second organisation for out-of-sample checks of the pipeline model: fewer wins, longer
#: cycles, more and longer slips, losing deals dying earlier (use with another seed).
SECOND_ORG = DemoParams(
    base_deals=2.0, deal_median=30_000.0, deal_sigma=0.9, season_amp=0.2, season_peak=6.0,
    trend=0.12, win_rate=0.22, cycle_median=95.0, cycle_sigma=0.6, lost_advance=0.45,
    slip_rate=1.3, slip_shape=0.6, slip_days=35.0, amount_change_p=0.7,
    amount_change_mu=0.12, amount_change_sigma=0.3,
)


@dataclass(frozen=True)
class OrgShape:
    """Organisation shape (not part of the deal process)."""

    share_se: float = 0.12
    share_manager: float = 0.08
    expansion_share: float = 0.08  #: AE seats opened during the history (new headcount)
    tenure_mean_months: float = 30.0  #: mean tenure of the reps in seat at the start
    accounts_per_territory: float = 40.0
    territory_potential_sigma: float = 0.22  #: extra log-sd of territory potential (imbalance)
    quota_stretch: float = 1.10  #: quota over expected net bookings
    quota_ramp_months: int = 6  #: months until a new hire carries full quota


# --------------------------------------------------------------------------- helpers


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """``prefix`` + zero-padded 1..n as an object array of str (vectorised in Arrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(width, len(str(n)))
    digits = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), width, "0")
    out = pc.binary_join_element_wise(pa.scalar(prefix), digits, "")
    return out.to_numpy(zero_copy_only=False).astype(object)


def _ramp(tau: np.ndarray, ramp_tau: float) -> np.ndarray:
    return 1.0 - np.exp(-(tau + 1.0) / ramp_tau)


def _season(fm: np.ndarray, p: DemoParams) -> np.ndarray:
    return p.season_amp * np.cos(2 * np.pi * (fm - p.season_peak) / 12.0)


def _days_in(month: np.ndarray) -> np.ndarray:
    m = month.astype("datetime64[M]")
    return ((m + 1).astype("datetime64[D]") - m.astype("datetime64[D]")).astype(int)


def _random_day(rng: np.random.Generator, month: np.ndarray) -> np.ndarray:
    """A uniformly random date inside each ``datetime64[M]`` month."""
    dim = _days_in(month)
    off = np.floor(rng.random(len(month)) * dim).astype(int)
    return month.astype("datetime64[D]") + off


def _pick_weighted(rng: np.random.Generator, group: np.ndarray, starts: np.ndarray,
                   cum: np.ndarray) -> np.ndarray:
    """For each draw, an item of ``group``'s contiguous block chosen with weight ∝ item weight.

    ``cum`` is the cumulative weight over all items sorted by group, ``starts[g]`` the first
    item of group g (``starts`` has one extra entry: the total count).
    """
    lo = np.where(starts[group] > 0, cum[starts[group] - 1], 0.0)
    hi = cum[starts[group + 1] - 1]
    x = lo + rng.random(len(group)) * (hi - lo)
    idx = np.searchsorted(cum, x, side="right")
    return np.clip(idx, starts[group], starts[group + 1] - 1)


# --------------------------------------------------------------------------- pieces


def _seats(n_reps: int, shape: OrgShape, zips: pd.DataFrame) -> dict[str, np.ndarray]:
    """Seat layout: role and region of every seat, AE seats first, ordered by region."""
    n_mgr = max(1, round(shape.share_manager * n_reps))
    n_se = round(shape.share_se * n_reps)
    n_ae = n_reps - n_mgr - n_se
    regions = list(REGION_CODES)
    zip_counts = zips["region"].value_counts().reindex(regions).to_numpy()
    ae_per = allocate(n_ae, zip_counts)
    mgr_per = allocate(n_mgr, np.maximum(ae_per, 1e-9))
    se_per = allocate(n_se, np.maximum(ae_per, 1e-9))
    role = np.concatenate([np.repeat("AE", n_ae), np.repeat("SE", n_se),
                           np.repeat("Manager", n_mgr)]).astype(object)
    region = np.concatenate([np.repeat(regions, ae_per), np.repeat(regions, se_per),
                             np.repeat(regions, mgr_per)]).astype(object)
    return {"role": role, "region": region, "ae_per": ae_per, "regions": np.array(regions)}


def _teams(seat_role: np.ndarray, seat_region: np.ndarray) -> np.ndarray:
    """Manager seat of every seat (-1 for managers): contiguous AE blocks, SEs round robin."""
    mgr_seat = np.full(len(seat_role), -1)
    all_mgrs = np.flatnonzero(seat_role == "Manager")
    for region in np.unique(seat_region):
        mgrs = np.flatnonzero((seat_role == "Manager") & (seat_region == region))
        if len(mgrs) == 0:
            mgrs = all_mgrs
        aes = np.flatnonzero((seat_role == "AE") & (seat_region == region))
        ses = np.flatnonzero((seat_role == "SE") & (seat_region == region))
        if len(aes):
            mgr_seat[aes] = mgrs[(np.arange(len(aes)) * len(mgrs)) // len(aes)]
        mgr_seat[ses] = mgrs[np.arange(len(ses)) % len(mgrs)]
    return mgr_seat


def _timeline(rng: np.random.Generator, seat_role: np.ndarray, n_months: int, p: DemoParams,
              shape: OrgShape) -> dict[str, np.ndarray]:
    """Hires, terminations and replacements per seat, month by month (vectorised over seats).

    Returns rep-level arrays ``seat, hire_m, term_m`` (month indices relative to the first
    history month; ``term_m = -1`` when still employed) and the occupancy matrix ``occ``
    (seat x month -> rep index, -1 when vacant).
    """
    n = len(seat_role)
    is_ae = seat_role == "AE"
    expansion = is_ae & (rng.random(n) < shape.expansion_share) & (n_months > 1)
    opens = np.where(expansion, rng.integers(1, max(n_months, 2), n), 0)
    tenure = np.floor(rng.exponential(shape.tenure_mean_months, n)).astype(int)
    tenure = tenure + np.where(seat_role == "Manager", 12, 0)
    first_hire = np.where(expansion, opens, -tenure)
    seat_l = [np.arange(n)[~expansion]]
    hire_l = [first_hire[~expansion]]
    cur = np.full(n, -1)
    cur[~expansion] = np.arange((~expansion).sum())
    n_reps = int((~expansion).sum())
    next_hire = np.where(expansion, opens, np.iinfo(np.int64).max)
    term: dict[int, int] = {}
    occ = np.full((n, n_months), -1)
    cur_hire = np.where(expansion, 0, first_hire)
    for t in range(n_months):
        hire_now = (cur < 0) & (next_hire == t)
        k = int(hire_now.sum())
        if k:
            seats = np.flatnonzero(hire_now)
            cur[seats] = n_reps + np.arange(k)
            cur_hire[seats] = t
            seat_l.append(seats)
            hire_l.append(np.full(k, t))
            n_reps += k
            next_hire[seats] = np.iinfo(np.int64).max
        occ[:, t] = cur
        leave = (cur >= 0) & (cur_hire < t) & (rng.random(n) < p.attrition_monthly)
        for r in cur[leave]:
            term[int(r)] = t
        next_hire[leave] = t + rng.integers(1, 4, int(leave.sum()))
        cur[leave] = -1
    term_m = np.full(n_reps, -1)
    if term:
        term_m[np.fromiter(term.keys(), int)] = np.fromiter(term.values(), int)
    return {"seat": np.concatenate(seat_l), "hire_m": np.concatenate(hire_l), "term_m": term_m,
            "occ": occ}


def _manager_ids(tl: dict[str, np.ndarray], mgr_seat: np.ndarray, n_months: int) -> np.ndarray:
    """Index of each rep's manager (-1 for managers): the manager seat's occupant (or its last
    occupant when vacant) in the rep's last month in history."""
    occ = tl["occ"]
    pos = np.where(occ >= 0, np.arange(n_months), -1)
    pos = np.maximum.accumulate(pos, axis=1)
    filled = np.where(pos >= 0, np.take_along_axis(occ, np.maximum(pos, 0), axis=1), -1)
    last = np.where(tl["term_m"] >= 0, tl["term_m"], n_months - 1)
    last = np.clip(last, 0, n_months - 1)
    ms = mgr_seat[tl["seat"]]
    return np.where(ms >= 0, filled[np.maximum(ms, 0), last], -1)


# --------------------------------------------------------------------------- main


def make_demo(
    n_reps: int = 200,
    years: int = 3,
    seed: int = 0,
    params: DemoParams | None = None,
    shape: OrgShape | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Generate the demo organisation.

    Parameters
    ----------
    n_reps
        Number of seats (AE ~80 %, SE overlay ~12 %, managers ~8 %); the ``reps`` table also
        holds the reps who left and their replacements, so it has somewhat more rows.
    years
        Years of monthly history, ending 2026-12 (the plan year is 2027).
    seed
        Seed of the single random generator; same arguments give identical tables.
    params, shape
        Generating parameters and organisation shape (defaults: :class:`DemoParams`,
        :class:`OrgShape`).
    progress
        Called with a short message before each step.

    Returns
    -------
    dict of DataFrame
        ``reps, bookings, quotas, accounts, opportunities, opportunity_history`` (the data
        contract) plus
        ``truth`` (``parameter, value``), ``truth_reps`` and ``territories``.
    """
    if int(n_reps) < 3:
        raise InputError(f"--reps: must be at least 3 (got {n_reps})")
    if not 1 <= int(years) <= 20:
        raise InputError(f"--years: must be between 1 and 20 (got {years})")
    p = params or DemoParams()
    shape = shape or OrgShape()
    say = progress or (lambda msg: None)
    rng = np.random.default_rng(seed)
    n_months = 12 * int(years)
    start = np.datetime64(f"{PLAN_YEAR - int(years)}-01", "M")
    months = start + np.arange(n_months)
    history_end = (start + n_months).astype("datetime64[D]") - 1

    # -- geography: regions, territories -------------------------------------------------
    say("territories from US ZIP geography")
    zips = us_zips()
    seats = _seats(int(n_reps), shape, zips)
    regions = list(seats["regions"])
    territories, terr_zips = build_territories(
        zips, dict(zip(regions, seats["ae_per"].tolist(), strict=True)), rng)
    n_terr = len(territories)
    region_eff = dict(zip(regions, rng.normal(0, p.region_sigma, len(regions)), strict=True))
    region_size_eff = dict(zip(regions, rng.normal(0, p.region_size_sigma, len(regions)),
                               strict=True))
    terr_eff = rng.normal(0, p.territory_sigma, n_terr)
    terr_region = territories["region"].to_numpy()
    terr_reff = np.array([region_eff[r] for r in terr_region])

    # -- seats, people, timeline ---------------------------------------------------------
    say("reps: roles, hires, attrition")
    seat_role, seat_region = seats["role"], seats["region"]
    n_seats = len(seat_role)
    seat_terr = np.full(n_seats, -1)
    seat_terr[: n_terr] = np.arange(n_terr)  # AE seats come first, in territory order
    mgr_seat = _teams(seat_role, seat_region)
    tl = _timeline(rng, seat_role, n_months, p, shape)
    n_rep = len(tl["seat"])
    r_seat = tl["seat"]
    r_role = seat_role[r_seat]
    r_region = seat_region[r_seat]
    r_terr = seat_terr[r_seat]
    rep_ids = _ids("R", n_rep, 5)
    mgr_idx = _manager_ids(tl, mgr_seat, n_months)
    skill = rng.normal(0, p.rep_sigma, n_rep)
    hire_month = start + tl["hire_m"]
    hire_date = _random_day(rng, hire_month)
    term_month = start + np.maximum(tl["term_m"], 0)
    term_day = _random_day(rng, term_month)
    term_date = np.where(tl["term_m"] >= 0, term_day, np.datetime64("NaT"))
    ti_base = {"AE": 70_000, "SE": 35_000, "Manager": 55_000}
    sal_base = {"AE": 110_000, "SE": 135_000, "Manager": 165_000}
    ti = np.array([ti_base[r] for r in r_role]) * rng.lognormal(0, 0.1, n_rep)
    salary = np.array([sal_base[r] for r in r_role]) * rng.lognormal(0, 0.08, n_rep)
    overlay = np.array([f"{REGION_CODES[r]}-OVL" for r in r_region], dtype=object)
    terr_ids = territories["territory_id"].to_numpy()
    reps = pd.DataFrame({
        "rep_id": rep_ids,
        "name": (np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n_rep)] + " "
                 + np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n_rep)]),
        "role": r_role,
        "region": r_region,
        "territory_id": np.where(r_terr >= 0, terr_ids[np.maximum(r_terr, 0)], overlay),
        "manager_id": np.where(mgr_idx >= 0, rep_ids[np.maximum(mgr_idx, 0)], None),
        "hire_date": pd.to_datetime(hire_date),
        "term_date": pd.to_datetime(term_date),
        "target_incentive": np.round(ti, -3),
        "base_salary": np.round(salary, -3),
        "plan": np.array([PLANS[r] for r in r_role], dtype=object),
    })

    # -- accounts -------------------------------------------------------------------------
    say("accounts at real ZIPs")
    mean_size = p.deal_median * np.exp(p.deal_sigma**2 / 2)
    k_pot = 3.0 * 12 * p.base_deals * mean_size  # wallet ~3x an average AE's bookings
    terr_pot = k_pot * np.exp(terr_reff + terr_eff
                              + rng.normal(0, shape.territory_potential_sigma, n_terr))
    n_acc = 5 + rng.poisson(shape.accounts_per_territory * terr_pot / k_pot)
    acc_terr = np.repeat(np.arange(n_terr), n_acc)
    w = rng.lognormal(0, 1.1, len(acc_terr))
    w_sum = np.bincount(acc_terr, w, n_terr)
    potential = np.round(terr_pot[acc_terr] * w / w_sum[acc_terr], -2)
    potential = np.maximum(potential, 100.0)
    tz = terr_zips.assign(t=pd.Categorical(terr_zips["territory_id"], categories=terr_ids).codes)
    tz = tz.sort_values(["t", "zip_idx"], kind="stable")
    tz_count = np.bincount(tz["t"].to_numpy(), minlength=n_terr)
    tz_start = np.concatenate([[0], np.cumsum(tz_count)])
    pick = tz_start[acc_terr] + np.floor(rng.random(len(acc_terr)) * tz_count[acc_terr]).astype(
        int)
    acc_zip = tz["zip_idx"].to_numpy()[pick]
    workload = 40.0 * (potential / np.median(potential)) ** 0.6 * rng.lognormal(0, 0.3,
                                                                                len(potential))
    pot_rank = pd.Series(potential).rank(pct=True).to_numpy()
    terr_owner = tl["occ"][:n_terr, n_months - 1]
    acc_owner = terr_owner[acc_terr]
    n_accounts = len(acc_terr)
    accounts = pd.DataFrame({
        "account_id": _ids("A", n_accounts, 6),
        "name": (np.array(_ACC_A, dtype=object)[rng.integers(0, len(_ACC_A), n_accounts)] + " "
                 + np.array(_ACC_B, dtype=object)[rng.integers(0, len(_ACC_B), n_accounts)] + " "
                 + np.array(_ACC_C, dtype=object)[rng.integers(0, len(_ACC_C), n_accounts)]),
        "industry": np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES),
                                                                    n_accounts)],
        "segment": np.where(pot_rank > 0.9, "Enterprise",
                            np.where(pot_rank > 0.6, "Mid-Market", "SMB")).astype(object),
        "zip": zips["zip"].to_numpy()[acc_zip],
        "city": zips["city"].to_numpy()[acc_zip],
        "state": zips["state"].to_numpy()[acc_zip],
        "lat": zips["lat"].to_numpy()[acc_zip],
        "lon": zips["lon"].to_numpy()[acc_zip],
        "region": terr_region[acc_terr],
        "territory_id": terr_ids[acc_terr],
        "rep_id": np.where(acc_owner >= 0, rep_ids[np.maximum(acc_owner, 0)], None),
        "potential": potential,
        "workload": np.round(workload, 1),
    })
    acc_cum = np.cumsum(potential)
    acc_start = np.concatenate([[0], np.cumsum(n_acc)])

    # -- AE rep-months and the deal process ------------------------------------------------
    say("bookings: deals, cancellations")
    ae = np.flatnonzero(r_role == "AE")
    first = np.maximum(tl["hire_m"][ae], 0)
    last = np.where(tl["term_m"][ae] >= 0, tl["term_m"][ae], n_months - 1)
    span = last - first + 1
    rm_rep = np.repeat(ae, span)
    rm_t = np.repeat(first, span) + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span,
                                                                       span))
    rm_terr = r_terr[rm_rep]
    rm_tau = rm_t - tl["hire_m"][rm_rep]
    start_m0 = int(str(start)[5:7]) - 1
    rm_fm = (start_m0 + rm_t) % 12 + 1
    rm_region = terr_region[rm_terr]
    rm_size_eff = np.array([region_size_eff[r] for r in regions])[
        pd.Categorical(rm_region, categories=regions).codes]
    base_log = (np.log(p.base_deals) + terr_reff[rm_terr] + terr_eff[rm_terr]
                + p.trend * rm_t / 12.0 + _season(rm_fm, p))
    lam = np.exp(base_log + skill[rm_rep] + np.log(_ramp(rm_tau, p.ramp_tau)))
    n_deals = rng.poisson(lam)
    d_rm = np.repeat(np.arange(len(rm_rep)), n_deals)
    n_d = len(d_rm)
    d_rep = rm_rep[d_rm]
    d_amount = np.round(np.exp(np.log(p.deal_median) + rm_size_eff[d_rm]
                               + p.deal_sigma * rng.standard_normal(n_d)), 2)
    d_month = months[rm_t[d_rm]]
    d_date = _random_day(rng, d_month)
    d_date = np.maximum(d_date, hire_date[d_rep])
    d_date = np.where(tl["term_m"][d_rep] >= 0, np.minimum(d_date, term_date[d_rep]), d_date)
    d_acc = _pick_weighted(rng, rm_terr[d_rm], acc_start, acc_cum)
    d_prod = rng.choice(len(PRODUCTS), n_d, p=PRODUCT_P)
    cancelled = rng.random(n_d) < p.cancel_rate
    lag = rng.integers(1, 4, n_d)
    c_t = rm_t[d_rm] + lag
    # a cancellation is booked while the rep is still employed and inside the history
    rep_last = np.where(tl["term_m"] >= 0, tl["term_m"], n_months - 1)
    keep_c = cancelled & (c_t <= rep_last[d_rep])
    c_idx = np.flatnonzero(keep_c)
    c_month = months[np.minimum(c_t[c_idx], n_months - 1)]
    c_day = np.minimum((d_date[c_idx] - d_month[c_idx].astype("datetime64[D]")).astype(int),
                       _days_in(c_month) - 1)
    c_date = c_month.astype("datetime64[D]") + c_day
    c_rep = d_rep[c_idx]
    c_date = np.where(tl["term_m"][c_rep] >= 0, np.minimum(c_date, term_date[c_rep]), c_date)

    # -- opportunities ----------------------------------------------------------------------
    say("opportunity pipeline")
    odds = (1 - p.win_rate) / p.win_rate
    n_lost = rng.poisson(lam * odds)
    l_rm = np.repeat(np.arange(len(rm_rep)), n_lost)
    n_l = len(l_rm)
    l_rep = rm_rep[l_rm]
    l_amount = np.round(np.exp(np.log(p.deal_median) + rm_size_eff[l_rm] + 0.1
                               + p.deal_sigma * rng.standard_normal(n_l)), 2)
    l_date = _random_day(rng, months[rm_t[l_rm]])
    l_date = np.maximum(l_date, hire_date[l_rep])
    l_date = np.where(tl["term_m"][l_rep] >= 0, np.minimum(l_date, term_date[l_rep]), l_date)
    l_acc = _pick_weighted(rng, rm_terr[l_rm], acc_start, acc_cum)
    # deals of the AEs in seat at the end of history that close in the next 6 months: the
    # same process continued; those created by the end of history are the open pipeline
    active = ae[(tl["term_m"][ae] < 0)]
    o_rep_l, o_h_l, o_won_l = [], [], []
    for h in range(1, 7):
        t = n_months - 1 + h
        tau = t - tl["hire_m"][active]
        fm = (start_m0 + t) % 12 + 1
        lam_h = np.exp(np.log(p.base_deals) + terr_reff[r_terr[active]] + terr_eff[r_terr[active]]
                       + skill[active] + p.trend * t / 12.0 + _season(np.array(fm), p)
                       + np.log(_ramp(tau, p.ramp_tau)))
        kw, kl = rng.poisson(lam_h), rng.poisson(lam_h * odds)
        o_rep_l += [np.repeat(active, kw), np.repeat(active, kl)]
        o_h_l += [np.full(kw.sum(), h), np.full(kl.sum(), h)]
        o_won_l += [np.ones(kw.sum(), bool), np.zeros(kl.sum(), bool)]
    o_rep = np.concatenate(o_rep_l)
    o_h = np.concatenate(o_h_l)
    o_won = np.concatenate(o_won_l)
    o_region_size = np.array([region_size_eff[r] for r in regions])[
        pd.Categorical(terr_region[r_terr[o_rep]], categories=regions).codes]
    o_amount = np.round(np.exp(np.log(p.deal_median) + o_region_size + np.where(o_won, 0.0, 0.1)
                               + p.deal_sigma * rng.standard_normal(len(o_rep))), 2)
    o_close = _random_day(rng, months[-1] + o_h)
    o_cycle = np.round(rng.lognormal(np.log(p.cycle_median), p.cycle_sigma, len(o_rep))).astype(int) + 7
    o_created = o_close - o_cycle
    keep_o = (o_created <= history_end) & (o_created >= hire_date[o_rep])
    o_rep, o_won, o_amount = o_rep[keep_o], o_won[keep_o], o_amount[keep_o]
    o_close, o_created = o_close[keep_o], o_created[keep_o]
    n_o = len(o_rep)
    o_stage = np.zeros(n_o, int)  # set from the stage history below
    o_acc = _pick_weighted(rng, r_terr[o_rep], acc_start, acc_cum)
    cycle_w = np.round(rng.lognormal(np.log(p.cycle_median), p.cycle_sigma, n_d)).astype(int) + 7
    cycle_l = np.round(rng.lognormal(np.log(p.cycle_median), p.cycle_sigma, n_l)).astype(int) + 7
    won_created = d_date - cycle_w
    lost_created = l_date - cycle_l
    opp_created = np.concatenate([won_created, lost_created, o_created])
    # rows sorted by created date; permute integer codes, then map codes to strings through
    # small lookup arrays (fast, cache friendly)
    order = np.argsort(opp_created, kind="stable")
    n_opp = len(order)
    opp_num = np.empty(n_opp, dtype=np.int64)
    opp_num[order] = np.arange(n_opp)
    opp_ids = _ids("O", n_opp, 7)  # already in row order
    stage_names = np.array(("Closed Won", "Closed Lost", *OPEN_STAGES), dtype=object)
    stage_code = np.concatenate([np.zeros(n_d, np.int8), np.ones(n_l, np.int8),
                                 (2 + o_stage).astype(np.int8)])[order]
    status_names = np.array(("won", "lost", "open"), dtype=object)
    status_code = np.concatenate([np.zeros(n_d, np.int8), np.ones(n_l, np.int8),
                                  np.full(n_o, 2, np.int8)])[order]
    stage_p = np.array((1.0, 0.0, *OPEN_STAGE_P))
    acc_ids = accounts["account_id"].to_numpy()
    prod_names = np.array(PRODUCTS, dtype=object)
    loss_names = np.array((None, *LOSS_REASONS), dtype=object)
    loss_code = np.concatenate([np.zeros(n_d, np.int8),
                                rng.integers(1, len(LOSS_REASONS) + 1, n_l).astype(np.int8),
                                np.zeros(n_o, np.int8)])[order]
    opp_prod = np.concatenate([d_prod, rng.choice(len(PRODUCTS), n_l, p=PRODUCT_P),
                               rng.choice(len(PRODUCTS), n_o, p=PRODUCT_P)])[order]
    opportunities = pd.DataFrame({
        "opp_id": opp_ids,
        "rep_id": rep_ids[np.concatenate([d_rep, l_rep, o_rep])[order]],
        "account_id": acc_ids[np.concatenate([d_acc, l_acc, o_acc])[order]],
        "product": prod_names[opp_prod],
        "amount": np.concatenate([d_amount, l_amount, o_amount])[order],
        "stage": stage_names[stage_code],
        "probability": stage_p[stage_code],
        "created_date": opp_created[order].astype("datetime64[ns]"),
        "close_date": np.concatenate([d_date, l_date, o_close])[order].astype("datetime64[ns]"),
        "status": status_names[status_code],
        "loss_reason": loss_names[loss_code],
    })

    say("opportunity stage history")
    outcome_won = np.concatenate([np.ones(n_d, bool), np.zeros(n_l, bool), o_won])[order]
    history, at_end = opportunity_history(opportunities, outcome_won, history_end, p,
                                          np.random.default_rng([seed, 13]), OPEN_STAGES,
                                          OPEN_STAGE_P)
    still = status_code == 2  # open at the end of history: the state of the last row
    for col in ("stage", "amount", "close_date", "probability"):
        vals = opportunities[col].to_numpy().copy()
        vals[still] = at_end[col].to_numpy()[still]
        opportunities[col] = vals

    # -- bookings table -------------------------------------------------------------------------
    b_deal = np.concatenate([np.arange(n_d), c_idx])  # deal behind each booking row
    b_date = d_date.copy() if not len(c_idx) else np.concatenate([d_date, c_date])
    b_order = np.lexsort((d_rep[b_deal], b_date))
    b_deal = b_deal[b_order]
    b_cancel = (np.arange(len(b_order)) >= n_d)[b_order]
    bookings = pd.DataFrame({
        "booking_id": _ids("B", len(b_order), 7),
        "rep_id": rep_ids[d_rep[b_deal]],
        "date": b_date[b_order].astype("datetime64[ns]"),
        "amount": np.where(b_cancel, -d_amount[b_deal], d_amount[b_deal]),
        "account_id": acc_ids[d_acc[b_deal]],
        "product": prod_names[d_prod[b_deal]],
        "opp_id": opp_ids[opp_num[b_deal]],
        "deal_type": _deal_types(d_acc[b_deal], b_cancel, np.random.default_rng([seed, 21])),
        "margin": _margins(d_amount[b_deal], d_prod[b_deal], b_deal, b_cancel,
                           np.random.default_rng([seed, 22])),
    })

    # -- quotas ---------------------------------------------------------------------------
    say("quotas")
    exp_net = (np.exp(base_log) * p.deal_median * np.exp(rm_size_eff + p.deal_sigma**2 / 2)
               * (1 - p.cancel_rate))
    year_noise = rng.lognormal(0, 0.05, (n_terr, int(years)))[rm_terr, rm_t // 12]
    q_ramp = np.minimum(1.0, (rm_tau + 1.0) / shape.quota_ramp_months)
    quotas = pd.DataFrame({
        "rep_id": rep_ids[rm_rep],
        "period": np.datetime_as_string(months[rm_t], unit="M").astype(object),
        "quota": np.round(shape.quota_stretch * exp_net * year_noise * q_ramp, -2),
        "territory_id": terr_ids[rm_terr],
    })

    # -- truth ------------------------------------------------------------------------------------
    say("truth tables")
    truth_rows = [(k, float(v)) for k, v in asdict(p).items()]
    truth_rows += [("t0_year", float(PLAN_YEAR - int(years))), ("t0_month", 1.0),
                   ("history_months", float(n_months)), ("n_seats", float(n_seats)),
                   ("seed", float(seed))]
    truth_rows += [(f"region_eff[{r}]", float(v)) for r, v in region_eff.items()]
    truth_rows += [(f"region_size_eff[{r}]", float(v)) for r, v in region_size_eff.items()]
    truth = pd.DataFrame(truth_rows, columns=["parameter", "value"])
    truth_reps = pd.DataFrame({
        "rep_id": rep_ids,
        "role": r_role,
        "region": r_region,
        "territory_id": reps["territory_id"].to_numpy(),
        "skill": skill,
        "terr_eff": np.where(r_terr >= 0, terr_eff[np.maximum(r_terr, 0)], np.nan),
        "region_eff": np.array([region_eff[r] for r in r_region]),
        "region_size_eff": np.array([region_size_eff[r] for r in r_region]),
    })
    terr_table = territories.assign(
        terr_eff=terr_eff,
        potential=np.bincount(acc_terr, potential, n_terr).round(-2),
        workload=np.bincount(acc_terr, workload, n_terr).round(1),
        n_accounts=n_acc,
    )
    return {"reps": reps, "bookings": bookings, "quotas": quotas, "accounts": accounts,
            "opportunities": opportunities, "opportunity_history": history, "truth": truth, "truth_reps": truth_reps,
            "territories": terr_table}


#: gross-margin rate of each of :data:`PRODUCTS` (mean, before per-deal noise): software sells
#: at a higher margin than services (the range of published SaaS gross margins, 60-80 %, and
#: typical professional-services margins, 25-40 %)
PRODUCT_MARGIN = (0.80, 0.74, 0.66, 0.32)
RENEWAL_SHARE = 0.6  # of repeat business on an account, the share that is a renewal (else upsell)


def _deal_types(account: np.ndarray, cancel: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``deal_type`` of each booking row (rows in date order): a cancellation is
    ``cancellation``; an account's first won deal is ``new``; its later deals are ``renewal``
    (probability :data:`RENEWAL_SHARE`) or ``upsell``. Drawn from its own random stream, so the
    rest of the demo does not change with it."""
    out = np.full(len(account), "cancellation", dtype=object)
    won = np.flatnonzero(~cancel)
    first = np.zeros(len(won), bool)
    first[np.unique(account[won], return_index=True)[1]] = True
    repeat = np.where(rng.random(len(won)) < RENEWAL_SHARE, "renewal", "upsell")
    out[won] = np.where(first, "new", repeat)
    return out


def _margins(amount: np.ndarray, product: np.ndarray, deal: np.ndarray, cancel: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """Gross margin of each booking row (currency): the deal's amount × its product's margin
    rate (:data:`PRODUCT_MARGIN`) + Normal(0, 0.05) noise, clipped to 10-95 %; a cancellation
    reverses its deal's margin. Rounded to cents. Its own random stream."""
    rate_of_deal = np.clip(np.asarray(PRODUCT_MARGIN)[product]
                           + rng.normal(0.0, 0.05, len(amount)), 0.10, 0.95)
    # one rate per deal: a cancellation row takes the rate of its deal's won row
    won_rate = pd.Series(rate_of_deal[~cancel], index=deal[~cancel])
    rate = won_rate.reindex(deal).to_numpy()
    return np.round(np.where(cancel, -amount, amount) * rate, 2)
