"""Territories reach bookings: a rebalanced alignment changes what each rep books.

Two effects, applied to the forecast draws of the reps who own territories:

1. **Potential.** A rep's expected bookings follow the potential of the accounts they own,
   with an elasticity ``β`` learnt from the history: the log-log regression

       log B_r = α_region(r) + β · log P_r + ε_r

   of each rep's last-12-month bookings ``B_r`` on the potential ``P_r`` of the territory they
   own (split evenly when a territory has several reps), over reps with a full year of
   history, with region fixed effects. Its uncertainty is carried by a pairs bootstrap over
   reps (Efron & Tibshirani 1993, ch. 9): one bootstrap slope per forecast draw. After a
   rebalancing, rep ``r``'s draws are scaled by ``(P_r,after / P_r,before) ** β_d``. This is an
   association across reps, not an experiment: reps with more potential may also be better
   reps (a positive bias), while noise in the recorded potential biases ``β`` towards 0.
2. **Transition.** Accounts that change hands lose a share ``transition_loss`` of their
   bookings for the first ``transition_months`` plan months: rep ``r``'s bookings in those
   months are multiplied by ``1 − transition_loss × s_r``, ``s_r`` the share of ``r``'s new
   potential that was moved in. Default 13 % for 12 months: the low end of the 13.2–17.6 %
   loss of annual sales on customers reassigned to a new rep found by Shi, Sridhar, Grewal &
   Lilien (2017, *J. Marketing* 81(2):25–44, difference-in-differences at a Fortune 500 B2B
   distributor, one year after the transition). That study measures reassignment after a rep
   *departs*; a planned realignment with a warm hand-off may lose less (Zoltners & Lorimer
   2000, *JPSSM* 20(3):139–150, discuss the disruption but give no figure) — set
   ``territory.transition_loss`` to the organisation's own experience.

All functions are pure and vectorised; dims: ``rep``, ``period``, ``draw``; money in the plan
currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError
from spm_models.planning._config import number, raise_if

SECTION = "territory"
#: default share of bookings lost on accounts that change hands (Shi et al. 2017, low end)
DEFAULT_TRANSITION_LOSS = 0.13
#: default length of the transition (months; Shi et al. 2017 measure the first year)
DEFAULT_TRANSITION_MONTHS = 12


def transition_settings(section: Mapping[str, Any] | None) -> dict[str, float]:
    """``transition_loss`` (share in [0, 1], default 0.13) and ``transition_months`` (whole
    months >= 0, default 12) of a scenario's ``territory`` section; :class:`InputError` when bad."""
    section = dict(section or {})
    problems: list[str] = []
    loss = number(SECTION, section, "transition_loss", problems, default=DEFAULT_TRANSITION_LOSS, lo=0, hi=1)
    months = number(SECTION, section, "transition_months", problems, default=DEFAULT_TRANSITION_MONTHS, lo=0)
    if months is not None and months != int(months):
        problems.append("scenario section 'territory', key 'transition_months': must be a whole number")
    raise_if(problems)
    return {"transition_loss": float(loss), "transition_months": int(months)}


# --------------------------------------------------------------------------- potential per rep
def rep_potentials(assignment: pd.DataFrame, rep_territory: pd.Series) -> pd.DataFrame:
    """Potential per rep before and after a rebalancing, and the potential moved in.

    ``assignment``: one row per account with ``potential``, ``territory_id`` (after) and
    ``territory_id_before`` (a :class:`~spm_models.planning.territory.TerritoryResult`
    ``.assignment``). ``rep_territory``: territory of each rep (index ``rep_id``). A territory
    held by ``n`` reps gives each ``1/n`` of it. Returns a frame indexed by rep with
    ``potential_before``, ``potential_after``, ``moved_in`` (potential of accounts whose
    territory changed, now the rep's) and ``moved_in_share`` (= moved_in / potential_after);
    NaN for reps whose territory is not in ``assignment`` (hires, overlays).
    """
    need = [c for c in ("potential", "territory_id", "territory_id_before") if c not in assignment]
    if need:
        raise InputError(f"territory assignment, field '{need[0]}': missing column")
    a = assignment
    pot = a["potential"].astype(float)
    after = pot.groupby(a["territory_id"].astype(str)).sum()
    before = pot.groupby(a["territory_id_before"].astype(str)).sum()
    moved = a["territory_id"].astype(str) != a["territory_id_before"].astype(str)
    moved_in = pot[moved].groupby(a.loc[moved, "territory_id"].astype(str)).sum()
    terr = rep_territory.astype(str)
    n_in = terr.map(terr.value_counts()).astype(float)
    out = pd.DataFrame(index=rep_territory.index.astype(str))
    out["potential_before"] = (terr.map(before) / n_in).to_numpy()
    out["potential_after"] = (terr.map(after) / n_in).to_numpy()
    out["moved_in"] = (terr.map(moved_in).fillna(0.0) / n_in).where(out["potential_after"].notna().to_numpy()).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["moved_in_share"] = np.clip(out["moved_in"] / out["potential_after"], 0.0, 1.0)
    return out


# --------------------------------------------------------------------------- elasticity
def potential_elasticity(bookings: np.ndarray, potential: np.ndarray, n_draws: int, seed: int = 0,
                         region: np.ndarray | None = None) -> xr.DataArray:
    """Bootstrap draws ``(draw,)`` of ``β`` in ``log B = α_region + β log P + ε`` (OLS with
    region fixed effects by within-region demeaning; pairs bootstrap over reps, one replicate
    per draw). Reps with ``B <= 0`` or ``P <= 0`` are left out. Raises :class:`InputError` with
    fewer than 5 usable reps or no spread in potential. Attrs: ``point`` (full-sample slope),
    ``n_reps``."""
    b = np.asarray(bookings, dtype=float)
    p = np.asarray(potential, dtype=float)
    g = np.zeros(b.size, dtype=np.int64) if region is None else pd.factorize(np.asarray(region))[0]
    ok = np.isfinite(b) & np.isfinite(p) & (b > 0) & (p > 0)
    if ok.sum() < 5:
        raise InputError(f"territory elasticity: {int(ok.sum())} reps with bookings and potential; need at least 5")
    y, x, g = np.log(b[ok]), np.log(p[ok]), g[ok]
    n, G = y.size, int(g.max()) + 1

    def slope(idx: np.ndarray) -> np.ndarray:
        """OLS slopes for index sets ``idx (B, n)`` (vectorised over replicates)."""
        yy, xx, gg = y[idx], x[idx], g[idx]
        onehot = gg[..., None] == np.arange(G)  # (B, n, G)
        cnt = onehot.sum(1)
        mx = np.einsum("bng,bn->bg", onehot, xx) / np.maximum(cnt, 1)
        my = np.einsum("bng,bn->bg", onehot, yy) / np.maximum(cnt, 1)
        dx = xx - np.take_along_axis(mx, gg, 1)
        dy = yy - np.take_along_axis(my, gg, 1)
        sxx = (dx * dx).sum(1)
        return np.where(sxx > 0, (dx * dy).sum(1) / np.where(sxx > 0, sxx, 1.0), np.nan)

    point = float(slope(np.arange(n)[None])[0])
    if not np.isfinite(point):
        raise InputError("territory elasticity: potential does not vary within regions")
    rng = np.random.default_rng([int(seed), 211])
    draws = np.empty(int(n_draws))
    for lo in range(0, int(n_draws), 256):
        hi = min(int(n_draws), lo + 256)
        draws[lo:hi] = slope(rng.integers(0, n, size=(hi - lo, n)))
    draws = np.where(np.isfinite(draws), draws, point)
    return xr.DataArray(draws, dims=(DRAW,), coords={DRAW: np.arange(int(n_draws))}, name="potential_elasticity",
                        attrs={"point": point, "n_reps": int(n), "units": "d log bookings / d log potential"})


def elasticity_from_history(tables: Mapping[str, pd.DataFrame], first_plan_period: str, n_draws: int,
                            seed: int = 0, months: int = 12) -> xr.DataArray:
    """:func:`potential_elasticity` from the source tables: each territory-owning rep's bookings
    over the ``months`` months before ``first_plan_period`` (reps hired at least ``months``
    before the window ends and not terminated before the plan), against the potential of the
    accounts of their territory (``accounts.territory_id``), with region fixed effects."""
    for t, cols in (("reps", ("rep_id", "territory_id")), ("accounts", ("territory_id", "potential")),
                    ("bookings", ("rep_id", "date", "amount"))):
        if t not in tables:
            raise InputError(f"table '{t}': needed for the territory elasticity but not given")
        miss = [c for c in cols if c not in tables[t].columns]
        if miss:
            raise InputError(f"table '{t}', field '{miss[0]}': missing column")
    reps = tables["reps"].copy()
    reps["rep_id"] = reps["rep_id"].astype(str)
    first = pd.Period(first_plan_period, freq="M")
    start = first - months
    if "hire_date" in reps:
        reps = reps[pd.to_datetime(reps["hire_date"], errors="coerce").dt.to_period("M") <= start]
    if "term_date" in reps:
        term = pd.to_datetime(reps["term_date"], errors="coerce").dt.to_period("M")
        reps = reps[term.isna() | (term >= first)]
    if "role" in reps:
        reps = reps[reps["role"].astype(str) == "AE"] if (reps["role"].astype(str) == "AE").any() else reps
    acc = tables["accounts"]
    terr_pot = acc.groupby(acc["territory_id"].astype(str))["potential"].sum()
    terr = reps["territory_id"].astype(str)
    n_in = terr.map(terr.value_counts()).astype(float)
    pot = (terr.map(terr_pot) / n_in).to_numpy(dtype=float)
    bk = tables["bookings"]
    per = pd.to_datetime(bk["date"]).dt.to_period("M")
    win = bk[(per >= start) & (per < first)]
    booked = win.groupby(win["rep_id"].astype(str))["amount"].sum()
    b = booked.reindex(reps["rep_id"]).fillna(0.0).to_numpy(dtype=float)
    region = reps["region"].astype(str).to_numpy() if "region" in reps else None
    return potential_elasticity(b, pot, n_draws, seed, region)


# --------------------------------------------------------------------------- factors
def potential_factor(pots: pd.DataFrame, rep_ids: np.ndarray, elasticity: xr.DataArray) -> xr.DataArray:
    """``(P_after / P_before) ** β`` per rep and draw ``(rep, draw)``; 1 for reps without both
    potentials (hires, overlays) or with a zero potential before."""
    p = pots.reindex(pd.Index(np.asarray(rep_ids).astype(str)))
    ratio = (p["potential_after"] / p["potential_before"]).to_numpy(dtype=float)
    ok = np.isfinite(ratio) & (ratio > 0)
    lr = np.where(ok, np.log(np.where(ok, ratio, 1.0)), 0.0)
    f = np.exp(lr[:, None] * np.asarray(elasticity.values, dtype=float)[None, :])
    return xr.DataArray(f, dims=(REP, DRAW), coords={REP: rep_ids, DRAW: elasticity[DRAW].values})


def transition_factor(pots: pd.DataFrame, rep_ids: np.ndarray, periods: np.ndarray,
                      transition_loss: float, transition_months: int) -> xr.DataArray:
    """``1 − transition_loss × moved_in_share`` in the first ``transition_months`` plan months,
    1 after, per rep ``(rep, period)``; 1 for reps without a territory in the alignment."""
    share = pots.reindex(pd.Index(np.asarray(rep_ids).astype(str)))["moved_in_share"].fillna(0.0).to_numpy()
    t = np.arange(len(periods))
    f = 1.0 - float(transition_loss) * share[:, None] * (t[None, :] < int(transition_months))
    return xr.DataArray(f, dims=(REP, PERIOD), coords={REP: rep_ids, PERIOD: periods})


def apply_territory(bookings: xr.DataArray, pots: pd.DataFrame, elasticity: xr.DataArray,
                    transition_loss: float = DEFAULT_TRANSITION_LOSS,
                    transition_months: int = DEFAULT_TRANSITION_MONTHS) -> xr.DataArray:
    """Bookings ``(rep, period, draw)`` after a rebalancing: scaled by :func:`potential_factor`
    and :func:`transition_factor`. With equal potentials and ``transition_loss = 0`` the
    bookings are returned unchanged."""
    rep_ids = np.asarray(bookings[REP].values)
    fp = potential_factor(pots, rep_ids, elasticity.assign_coords({DRAW: bookings[DRAW].values}))
    ft = transition_factor(pots, rep_ids, bookings[PERIOD].values, transition_loss, transition_months)
    return (bookings * fp * ft).transpose(*bookings.dims)


#: keys of the ``territory`` section read here, not by the balancing solver
TRANSITION_KEYS = ("transition_loss", "transition_months")


def split_section(section: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, float]]:
    """The ``territory`` section split into the balancing solver's keys (for
    :func:`spm_models.planning.territory.balance_from_config`) and the transition settings
    (:func:`transition_settings`)."""
    section = dict(section or {})
    return ({k: v for k, v in section.items() if k not in TRANSITION_KEYS},
            transition_settings({k: section[k] for k in TRANSITION_KEYS if k in section}))
