"""Sales-territory alignment: balanced, compact territories with a disruption limit.

The textbook alignment model (Hess & Samuels 1971; Zoltners & Sinha 2005) assigns accounts
``i`` to territory centres ``j`` with binaries ``x_ij``::

    min   sum_ij w_i (d_ij + c_move [j != cur_i]) x_ij        potential-weighted distance
    s.t.  sum_j x_ij = 1                                      every account in one territory
          (1-t_p) P/K <= sum_i p_i x_ij <= (1+t_p) P/K        potential band
          (1-t_w) W/K <= sum_i q_i x_ij <= (1+t_w) W/K        workload band
          sum_i x_{i,cur_i} >= (1 - m) n                      at most a share m moved

It is solved with HiGHS (``highspy``) as a location-allocation loop (Hess-Weaver):

1. candidates: each account may only go to its ``n_candidates`` nearest centres, its current
   territory and its territory of the previous iteration (keeps the problem small and the
   previous solution feasible), and each territory may take its ``reach × n/k`` nearest
   accounts (so an isolated territory can still be filled);
2. the LP relaxation is solved; its basic solution is integral except for at most one
   account per side constraint (transportation structure), so
3. the few fractional accounts are re-solved as a small MIP with the integral ones fixed;
4. centres move to the potential-weighted centroid of their accounts; repeat until the
   weighted distance stops improving.

Balance rows carry penalised slacks so the model is always feasible; a remaining violation is
reported as ``balance_violation``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import xarray as xr

from spm_models.errors import InputError
from spm_models.planning._config import check_keys, choice, number, raise_if
from spm_models.planning.geo import (
    distance_matrix_km,
    haversine_km,
    to_unit,
    weighted_centres,
    zip_to_latlon,
)

SECTION = "territory"
TABLE = "table 'accounts'"
_PENALTY = 1e5  # cost per unit of normalised band violation (one territory's mean load)
#: (width, relative penalty) of the band-violation tiers; the last one is unbounded
_TIERS = ((0.01, 1.0), (0.02, 3.0), (0.04, 9.0), (0.08, 27.0), (np.inf, 81.0))


# --------------------------------------------------------------------------- inputs
def prepare_accounts(accounts: pd.DataFrame, need_territory: bool) -> pd.DataFrame:
    """Validate the accounts table and fill ``lat``/``lon`` from ``zip`` where missing.

    Returns a copy with float ``lat, lon, potential, workload`` (workload defaults to 1 per
    account) and string ``territory_id`` (when present). Raises :class:`InputError`.
    """
    if not isinstance(accounts, pd.DataFrame):
        raise InputError(f"{TABLE}: expected a DataFrame")
    problems: list[str] = []
    for col in ("account_id", "potential"):
        if col not in accounts.columns:
            problems.append(f"{TABLE}, field '{col}': missing column")
    has_ll = {"lat", "lon"} <= set(accounts.columns)
    if not has_ll and "zip" not in accounts.columns:
        problems.append(f"{TABLE}, field 'zip': missing column (or give 'lat' and 'lon')")
    if need_territory and "territory_id" not in accounts.columns:
        problems.append(f"{TABLE}, field 'territory_id': missing column (needed when k is not given)")
    raise_if(problems)
    if len(accounts) == 0:
        raise InputError(f"{TABLE}: no rows")
    df = accounts.reset_index(drop=True).copy()
    df["account_id"] = df["account_id"].astype(str)
    dup = df["account_id"].duplicated()
    for i in np.flatnonzero(dup.to_numpy())[:10]:
        problems.append(f"{TABLE}, row {i + 1}, field 'account_id': duplicate {df['account_id'][i]!r}")
    pot = pd.to_numeric(df["potential"], errors="coerce")
    for i in np.flatnonzero((pot.isna() | (pot < 0)).to_numpy())[:10]:
        problems.append(f"{TABLE}, row {i + 1}, field 'potential': must be a non-negative number, got {df['potential'][i]!r}")
    df["potential"] = pot.astype(float)
    if "workload" in df.columns:
        wl = pd.to_numeric(df["workload"], errors="coerce")
        for i in np.flatnonzero((wl.isna() | (wl < 0)).to_numpy())[:10]:
            problems.append(f"{TABLE}, row {i + 1}, field 'workload': must be a non-negative number, got {df['workload'][i]!r}")
        df["workload"] = wl.astype(float)
    else:
        df["workload"] = 1.0
    reported = np.zeros(len(df), dtype=bool)
    if "zip" in df.columns:  # spreadsheet spellings (2134, 2134.0, 21341234) -> 02134
        from spm_models.data.zipcode import normalise_zips

        zips, not_zip = normalise_zips(df["zip"])
        reported = not_zip
        for i in np.flatnonzero(not_zip)[:10]:
            problems.append(f"{TABLE}, row {i + 1}, field 'zip': not a US ZIP code "
                            f"({df['zip'][i]!r}): 5 digits, or ZIP+4")
        df["zip"] = zips
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float) if has_ll else np.full(len(df), np.nan)
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float) if has_ll else np.full(len(df), np.nan)
    # (0, 0) is the usual "unknown" sentinel (e.g. the zipcodes package for some ZIPs)
    miss = np.isnan(lat) | np.isnan(lon) | ((lat == 0) & (lon == 0))
    lat[miss], lon[miss] = np.nan, np.nan
    if miss.any() and "zip" in df.columns:
        zlat, zlon = zip_to_latlon(df.loc[miss, "zip"].to_numpy())
        lat[miss], lon[miss] = zlat, zlon
    for i in np.flatnonzero((np.isnan(lat) | np.isnan(lon)) & ~reported)[:10]:
        z = df["zip"][i] if "zip" in df.columns else None
        problems.append(f"{TABLE}, row {i + 1}, field 'zip': no location for ZIP {z!r} "
                        "(not a known US ZIP with a centroid; give lat and lon)")
    bad_ll = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    for i in np.flatnonzero(bad_ll)[:10]:
        problems.append(f"{TABLE}, row {i + 1}, field 'lat': coordinates out of range ({lat[i]}, {lon[i]})")
    if "territory_id" in df.columns:
        tid = df["territory_id"]
        for i in np.flatnonzero(tid.isna().to_numpy())[:10]:
            if need_territory:
                problems.append(f"{TABLE}, row {i + 1}, field 'territory_id': missing")
        df["territory_id"] = tid.astype(str).where(tid.notna(), None)
    raise_if(problems)
    df["lat"], df["lon"] = lat, lon
    return df


# --------------------------------------------------------------------------- metrics
def _cv(x: np.ndarray) -> float:
    m = x.mean()
    return float(x.std(ddof=0) / m) if m > 0 else float("nan")


def _maxmin(x: np.ndarray) -> float:
    return float(x.max() / x.min()) if x.min() > 0 else float("inf")


def territory_metrics(
    lat: np.ndarray,
    lon: np.ndarray,
    potential: np.ndarray,
    workload: np.ndarray,
    labels: np.ndarray,
    k: int,
    centres: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Balance and compactness of an alignment (``labels`` in ``0..k-1``).

    ``centres`` default to each territory's potential-weighted centroid. Returns
    ``cv_potential``, ``cv_workload``, ``max_min_potential``, ``max_min_workload``,
    ``mean_distance_km`` (account to own centre), ``weighted_distance_km`` (potential-weighted
    mean), ``max_p90_radius_km`` (largest territory's 90th-percentile distance),
    ``share_nearest_centre`` and ``share_within_3_nearest`` (accounts whose own centre is the
    nearest / among the 3 nearest centres), ``empty_territories``.
    """
    pot_t = np.bincount(labels, weights=potential, minlength=k)
    wl_t = np.bincount(labels, weights=workload, minlength=k)
    if centres is None:
        w = np.where(potential > 0, potential, 1e-9)
        centres = weighted_centres(lat, lon, w, labels, k)
    c_lat, c_lon = centres
    ok = ~np.isnan(c_lat)
    d = distance_matrix_km(lat, lon, np.where(ok, c_lat, 0.0), np.where(ok, c_lon, 0.0))
    d[:, ~ok] = np.inf
    own = d[np.arange(len(labels)), labels]
    rank = (d < own[:, None]).sum(axis=1)  # how many centres are strictly nearer
    p90 = [np.quantile(own[labels == j], 0.9) for j in range(k) if np.any(labels == j)]
    return {
        "n_territories": int(k),
        "cv_potential": _cv(pot_t),
        "cv_workload": _cv(wl_t),
        "max_min_potential": _maxmin(pot_t),
        "max_min_workload": _maxmin(wl_t),
        "mean_distance_km": float(own.mean()),
        "weighted_distance_km": float(np.average(own, weights=potential) if potential.sum() > 0 else own.mean()),
        "max_p90_radius_km": float(max(p90)) if p90 else float("nan"),
        "median_p90_radius_km": float(np.median(p90)) if p90 else float("nan"),
        "share_nearest_centre": float(np.mean(rank == 0)),
        "share_within_3_nearest": float(np.mean(rank < 3)),
        "empty_territories": int(np.sum(np.bincount(labels, minlength=k) == 0)),
    }


# --------------------------------------------------------------------------- result
@dataclass
class TerritoryResult:
    """Outcome of :func:`balance_territories`."""

    assignment: pd.DataFrame  # account_id, [zip,] lat, lon, potential, workload, territory_id, territory_id_before, moved, distance_km
    centres: pd.DataFrame  # territory_id, lat, lon, potential, workload, n_accounts
    before: dict[str, float]
    after: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dataset(self) -> xr.Dataset:
        """Cube variables: ``territory_assignment(account)``, ``account_moved(account)``,
        ``territory_potential(territory)``, ``territory_workload(territory)``, centres, and
        the before/after metrics in ``attrs``."""
        a, c = self.assignment, self.centres
        ds = xr.Dataset(
            {
                "territory_assignment": ("account", a["territory_id"].astype(str).to_numpy()),
                "account_moved": ("account", a["moved"].to_numpy(bool)),
                "territory_potential": ("territory", c["potential"].to_numpy(float)),
                "territory_workload": ("territory", c["workload"].to_numpy(float)),
                "territory_lat": ("territory", c["lat"].to_numpy(float)),
                "territory_lon": ("territory", c["lon"].to_numpy(float)),
            },
            coords={"account": a["account_id"].to_numpy(str), "territory": c["territory_id"].to_numpy(str)},
        )
        ds.attrs.update({f"before_{k}": v for k, v in self.before.items()})
        ds.attrs.update({f"after_{k}": v for k, v in self.after.items()})
        return ds


# --------------------------------------------------------------------------- solver
def _kmeans_centres(
    xyz: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20
) -> np.ndarray:
    """Weighted k-means++ on unit vectors; returns ``labels`` (greenfield start)."""
    n = xyz.shape[0]
    prob = w / w.sum()
    centres = [xyz[rng.choice(n, p=prob)]]
    d2 = ((xyz - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        p = w * d2
        centres.append(xyz[rng.choice(n, p=p / p.sum())])
        d2 = np.minimum(d2, ((xyz - centres[-1]) ** 2).sum(1))
    C = np.array(centres)
    for _ in range(iters):
        labels = np.argmin(((xyz[:, None, :] - C[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            m = labels == j
            if m.any():
                C[j] = np.average(xyz[m], axis=0, weights=w[m])
    return np.argmin(((xyz[:, None, :] - C[None]) ** 2).sum(-1), axis=1)


_BANNER_DONE = False


def _new_highs():
    """A silent ``highspy.Highs``; the first one in a process prints a licence banner on
    stdout, which is swallowed (stdout may carry a command's JSON output)."""
    global _BANNER_DONE
    import highspy

    if _BANNER_DONE:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_DONE = True
    return h


def _solve_assignment(
    dist: np.ndarray,
    w: np.ndarray,
    pot_n: np.ndarray,
    wl_n: np.ndarray,
    cand: tuple[np.ndarray, np.ndarray],
    cur: np.ndarray | None,
    *,
    t_p: float,
    t_w: float | None,
    max_moved: int | None,
    move_cost: float,
    time_limit: float,
    threads: int,
    full_mip: bool = False,
    repair_time_limit: float = 60.0,
    repair_max_nodes: int = 200,
    repair_boundary: bool = False,
    repair_small: float = 0.0,
    dive_rounds: int = 8,
    dive_share: float = 0.5,
) -> tuple[np.ndarray, dict[str, float]]:
    """LP relaxation + MIP repair of fractional accounts; returns labels and solver stats."""
    import highspy

    n, k = dist.shape
    acc, ter = cand
    # drop duplicate (account, territory) pairs among candidates
    key = acc * k + ter
    _, first = np.unique(key, return_index=True)
    first.sort()
    acc, ter = acc[first], ter[first]
    n_x = acc.size
    stay = cur is not None
    cost = w[acc] * dist[acc, ter]
    if stay and move_cost > 0:
        cost = cost + w[acc] * move_cost * (ter != cur[acc])
    # rows: assign (n) | potential band (k) | workload band (k, optional) | stay (1, optional)
    rows, cols, vals = [np.arange(n_x) * 0 + acc], [np.arange(n_x)], [np.ones(n_x)]
    rows.append(n + ter); cols.append(np.arange(n_x)); vals.append(pot_n[acc])
    r_next = n + k
    use_wl = t_w is not None
    if use_wl:
        rows.append(r_next + ter); cols.append(np.arange(n_x)); vals.append(wl_n[acc])
        r_next += k
    n_band = r_next - n
    if stay and max_moved is not None:
        m = ter == cur[acc]
        rows.append(np.full(m.sum(), r_next)); cols.append(np.flatnonzero(m)); vals.append(np.ones(m.sum()))
        r_stay = r_next
        r_next += 1
    else:
        r_stay = None
    n_rows = r_next
    # slack columns for band rows, +u (under) and -v (over), in tiers of rising penalty so
    # an unavoidable violation is spread over territories (≈ quadratic: keeps the CV low)
    band_rows = np.arange(n, n + n_band)
    n_tiers = len(_TIERS)
    n_s = 2 * n_band * n_tiers
    s_cols = n_x + np.arange(n_s)
    rows.append(np.tile(band_rows, 2 * n_tiers)); cols.append(s_cols)
    vals.append(np.concatenate([np.ones(n_band * n_tiers), -np.ones(n_band * n_tiers)]))
    A = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_x + n_s)
    )
    A.sort_indices()
    row_lo = np.ones(n_rows)
    row_hi = np.ones(n_rows)
    row_lo[n : n + k], row_hi[n : n + k] = 1 - t_p, 1 + t_p
    if use_wl:
        row_lo[n + k : n + 2 * k], row_hi[n + k : n + 2 * k] = 1 - t_w, 1 + t_w
    if r_stay is not None:
        row_lo[r_stay], row_hi[r_stay] = n - max_moved, highspy.kHighsInf
    tier_cost = np.repeat([c for _, c in _TIERS], n_band)
    tier_cap = np.repeat([w for w, _ in _TIERS], n_band)
    col_cost = np.concatenate([cost, _PENALTY * tier_cost, _PENALTY * tier_cost])
    col_lo = np.zeros(n_x + n_s)
    col_hi = np.concatenate([np.ones(n_x), tier_cap, tier_cap])

    def run(
        lo: np.ndarray, hi: np.ndarray, integer: np.ndarray | None, start: np.ndarray | None = None,
        keep: list | None = None,
    ) -> np.ndarray:
        h = _new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("random_seed", 0)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = col_cost, lo, hi
        lp.row_lower_, lp.row_upper_ = row_lo, row_hi
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        if integer is not None:
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer
            ]
            h.setOptionValue("mip_rel_gap", 1e-3)
            # a work limit (nodes), not a clock limit, keeps results reproducible under load;
            # the time limit is only a safety net
            h.setOptionValue("mip_max_nodes", int(repair_max_nodes))
            h.setOptionValue("time_limit", float(min(time_limit, repair_time_limit)))
        h.passModel(lp)
        if start is not None:
            hs = highspy.HighsSolution()
            hs.col_value = list(start)
            hs.value_valid = True
            h.setSolution(hs)
        h.run()
        if keep is not None:
            keep.append(h)
        return _solution(h)

    def _solution(h) -> np.ndarray:
        status = h.getModelStatus()
        sol = np.asarray(h.getSolution().col_value)
        if sol.size != A.shape[1] or status not in (
            highspy.HighsModelStatus.kOptimal,
            highspy.HighsModelStatus.kTimeLimit,
            highspy.HighsModelStatus.kInterrupt,
            highspy.HighsModelStatus.kSolutionLimit,
            highspy.HighsModelStatus.kIterationLimit,
        ):
            raise RuntimeError(f"HiGHS: {h.modelStatusToString(status)}")
        return sol

    if full_mip:
        sol = run(col_lo, col_hi, np.concatenate([np.ones(n_x, bool), np.zeros(n_s, bool)]))
        x = sol[:n_x]
        frac_acc = np.array([], int)
        lp_violation = float("nan")
    else:
        keep: list = []
        sol = run(col_lo, col_hi, None, keep=keep)
        h_lp = keep[0]
        x = sol[:n_x]
        lp_violation = float(sol[n_x:].reshape(2 * n_tiers, n_band).sum(0).max(initial=0.0))
        # dive: an account larger than the band cannot be split, so fix big fractional
        # accounts to their largest share and re-solve the LP (warm start), a few rounds
        big = pot_n > dive_share * t_p
        for _ in range(dive_rounds):
            frac = (x > 1e-6) & (x < 1 - 1e-6)
            cols_big = np.flatnonzero(frac & big[acc])
            if cols_big.size == 0:
                break
            accs = np.unique(acc[cols_big])
            cols = np.flatnonzero(np.isin(acc, accs))
            best_share = np.zeros(n)
            np.maximum.at(best_share, acc[cols], x[cols])
            win = x[cols] >= best_share[acc[cols]] - 1e-12
            # one winner per account (the first maximal column)
            _, first_win = np.unique(acc[cols][win], return_index=True)
            chosen = np.zeros(cols.size, bool)
            chosen[np.flatnonzero(win)[first_win]] = True
            new_lo = np.where(chosen, 1.0, 0.0)
            new_hi = np.where(chosen, 1.0, 0.0)
            col_lo[cols], col_hi[cols] = new_lo, new_hi
            h_lp.changeColsBounds(cols.size, cols.astype(np.int32), new_lo, new_hi)
            h_lp.run()
            sol = _solution(h_lp)
            x = sol[:n_x]
        frac = (x > 1e-6) & (x < 1 - 1e-6)
        frac_acc = np.unique(acc[frac])
    n_frac = int(frac_acc.size)
    n_free = 0
    if n_frac:
        # free the fractional accounts and the "boundary" accounts (LP territory is not their
        # cheapest candidate): small integer adjustments need small accounts to trade
        cheapest = np.full(n, np.inf)
        np.minimum.at(cheapest, acc, cost)
        chosen = x > 0.5
        boundary = np.zeros(n, bool)
        boundary[acc[chosen & (cost > cheapest[acc] + 1e-9)]] = True
        if repair_boundary:
            free_acc = np.union1d(frac_acc, np.flatnonzero(boundary))
        else:
            free_acc = frac_acc
        if repair_small > 0:
            # small accounts that could join or leave a territory touched by a fractional one
            touched = np.zeros(k, bool)
            touched[ter[np.isin(acc, frac_acc)]] = True
            small = pot_n <= np.quantile(pot_n, repair_small)
            near_touched = np.zeros(n, bool)
            near_touched[acc[touched[ter]]] = True
            free_acc = np.union1d(free_acc, np.flatnonzero(small & near_touched))
        is_free_col = np.isin(acc, free_acc)
        n_free = int(free_acc.size)
        lo, hi = col_lo.copy(), col_hi.copy()
        fixed = ~is_free_col
        xr_ = np.round(x[fixed])
        lo[:n_x][fixed] = xr_
        hi[:n_x][fixed] = xr_
        integer = np.concatenate([is_free_col, np.zeros(n_s, bool)])
        # start from the LP solution rounded to each account's largest share
        x0 = np.zeros(n_x)
        order0 = np.argsort(x, kind="stable")
        best_col = np.full(n, -1)
        best_col[acc[order0]] = order0
        x0[best_col] = 1.0
        keep_m: list = []
        sol = run(lo, hi, integer, np.concatenate([x0, np.zeros(n_s)]), keep=keep_m)
        if keep_m[0].getInfo().primal_solution_status != 2:  # no feasible MIP solution in time
            sol = np.concatenate([x0, np.zeros(n_s)])
        x = sol[:n_x]
    labels = np.full(n, -1)
    # the largest x per account wins (x is integral after the repair)
    order = np.argsort(x, kind="stable")
    labels[acc[order]] = ter[order]
    slack = sol[n_x:].reshape(2 * n_tiers, n_band).sum(0) if n_band else np.zeros(0)
    stats = {"fractional_accounts": n_frac, "n_vars": int(n_x), "balance_violation": float(slack.max(initial=0.0)),
             "lp_violation": lp_violation, "repair_accounts": n_free}
    return labels, stats


def _enforce_move_limit(labels: np.ndarray, cur: np.ndarray, pot: np.ndarray, max_moved: int) -> np.ndarray:
    """Send the smallest moved accounts home until at most ``max_moved`` accounts move (a
    time-limited repair MIP may return an incumbent slightly over the limit)."""
    labels = labels.copy()
    moved = np.flatnonzero(labels != cur)
    excess = moved.size - max_moved
    if excess > 0:
        back = moved[np.argsort(pot[moved], kind="stable")[:excess]]
        labels[back] = cur[back]
    return labels


def _band_violation(
    labels: np.ndarray, pot_n: np.ndarray, wl_n: np.ndarray, k: int, t_p: float, t_w: float | None
) -> float:
    """Largest excess of a territory's normalised load beyond its band (0 = all inside)."""
    dev = np.abs(np.bincount(labels, weights=pot_n, minlength=k) - 1) - t_p
    if t_w is not None:
        dev = np.concatenate([dev, np.abs(np.bincount(labels, weights=wl_n, minlength=k) - 1) - t_w])
    return float(max(dev.max(), 0.0))


def balance_territories(
    accounts: pd.DataFrame,
    k: int | None = None,
    max_moved_share: float | None = 0.2,
    *,
    potential_tol: float = 0.03,
    workload_tol: float | None = 0.10,
    n_candidates: int = 8,
    reach: float = 3.0,
    max_distance_km: float | None = None,
    max_iter: int = 10,
    move_cost_km: float = 25.0,
    distance_weight: str = "potential",
    time_limit: float = 600.0,
    threads: int = 1,
    seed: int = 0,
) -> TerritoryResult:
    """Rebalance accounts into ``k`` territories (default: the existing ``territory_id`` s).

    Parameters
    ----------
    accounts : table with ``account_id``, ``potential`` and ``lat``/``lon`` (or ``zip``);
        optional ``workload`` (default 1 per account), ``territory_id``, ``rep_id``.
    k : number of territories; ``None`` keeps the existing territories (and limits moves).
        A ``k`` different from the existing count starts greenfield (weighted k-means++).
    max_moved_share : at most this share of accounts may change territory (``None``: no
        limit); only applies when keeping the existing territories.
    potential_tol, workload_tol : each territory's potential (workload) within ± this share
        of the mean (``workload_tol=None`` skips the workload band).
    n_candidates : nearest centres each account may join (plus its current territory).
    reach : each territory may also take its ``reach × n/k`` nearest accounts (0 = off), so
        isolated territories can reach the band.
    max_distance_km : no account joins a territory whose centre is farther than this (it
        may always keep its current territory); ``None`` = no cap. With a cap an isolated
        territory (e.g. Hawaii) may stay outside the band instead of taking far accounts.
    max_iter : location-allocation iterations (stops early when the distance stops improving).
    move_cost_km : disruption penalty per moved account, in km of weighted distance.
    distance_weight : ``potential`` (textbook: potential-weighted distance), ``workload`` or
        ``unit``.
    time_limit : safety net in seconds for the whole run (results are reproducible only when
        it is not reached: the repair MIPs are limited by nodes, not by the clock).

    Returns
    -------
    :class:`TerritoryResult` with the new assignment, centres and before/after metrics
    (``cv_potential``, ``cv_workload``, ``max_min_*``, ``mean_distance_km``, compactness
    shares, ``accounts_moved``, ``share_moved``).
    """
    problems: list[str] = []
    cfg = {
        "k": k, "max_moved_share": max_moved_share, "potential_tol": potential_tol,
        "workload_tol": workload_tol, "n_candidates": n_candidates, "max_iter": max_iter,
        "move_cost_km": move_cost_km, "distance_weight": distance_weight,
    }
    number(SECTION, cfg, "k", problems, lo=1)
    number(SECTION, cfg, "max_moved_share", problems, lo=0, hi=1)
    number(SECTION, cfg, "potential_tol", problems, lo=0, hi=1, lo_open=True)
    number(SECTION, cfg, "workload_tol", problems, lo=0, lo_open=True)
    number(SECTION, cfg, "n_candidates", problems, lo=1)
    number(SECTION, {"reach": reach}, "reach", problems, lo=0)
    number(SECTION, {"max_distance_km": max_distance_km}, "max_distance_km", problems, lo=0, lo_open=True)
    number(SECTION, cfg, "max_iter", problems, lo=1)
    number(SECTION, cfg, "move_cost_km", problems, lo=0)
    choice(SECTION, cfg, "distance_weight", ("potential", "workload", "unit"), problems)
    raise_if(problems)

    t0 = time.perf_counter()
    df = prepare_accounts(accounts, need_territory=k is None)
    n = len(df)
    lat, lon = df["lat"].to_numpy(), df["lon"].to_numpy()
    pot, wl = df["potential"].to_numpy(), df["workload"].to_numpy()
    has_terr = "territory_id" in df.columns and df["territory_id"].notna().all()
    existing = np.array(sorted(df["territory_id"].unique())) if has_terr else np.array([], dtype=str)
    keep = k is None or (has_terr and int(k) == existing.size)
    if keep:
        tids = existing
        cur = np.searchsorted(tids, df["territory_id"].to_numpy(str))
    else:
        k = int(k)
        tids = np.array([f"T{j + 1:03d}" for j in range(k)])
        cur = None
    k_ = int(tids.size)
    if k_ > n:
        raise InputError(f"scenario section '{SECTION}', key 'k': {k_} territories for {n} accounts")
    w = {"potential": pot, "workload": wl, "unit": np.ones(n)}[distance_weight]
    w = w / w.mean() if w.mean() > 0 else np.ones(n)
    cw = np.where(w > 0, w, 1e-9)
    pot_n = pot / (pot.sum() / k_) if pot.sum() > 0 else np.full(n, k_ / n)
    wl_n = wl / (wl.sum() / k_) if wl.sum() > 0 else np.full(n, k_ / n)
    max_moved = None
    if cur is not None and max_moved_share is not None:
        max_moved = int(np.floor(max_moved_share * n + 1e-9))

    if cur is not None:
        labels = cur.copy()
        before = territory_metrics(lat, lon, pot, wl, cur, k_)
        before.update(accounts_moved=0, share_moved=0.0)
    else:
        labels = _kmeans_centres(to_unit(lat, lon), cw, k_, np.random.default_rng(seed))
        before = {}
        if has_terr:
            cur_ex = np.searchsorted(existing, df["territory_id"].to_numpy(str))
            before = territory_metrics(lat, lon, pot, wl, cur_ex, int(existing.size))
    c_lat, c_lon = weighted_centres(lat, lon, cw, labels, k_)
    history: list[dict[str, float]] = []
    prev_obj = np.inf
    best_labels, best_obj = None, np.inf
    for it in range(int(max_iter)):
        empty = np.isnan(c_lat)
        if empty.any():  # re-seed an empty territory at the heaviest account far from others
            c_lat[empty], c_lon[empty] = lat[np.argmax(w)], lon[np.argmax(w)]
        dist = distance_matrix_km(lat, lon, c_lat, c_lon)
        n_c = min(int(n_candidates), k_)
        near = np.argpartition(dist, n_c - 1, axis=1)[:, :n_c] if n_c < k_ else np.tile(np.arange(k_), (n, 1))
        extra = [labels[:, None]]
        if cur is not None:
            extra.append(cur[:, None])
        cand_m = np.concatenate([near, *extra], axis=1)
        acc_c = np.repeat(np.arange(n), cand_m.shape[1])
        ter_c = cand_m.ravel()
        if reach > 0 and k_ > n_c:
            # each territory may also take its `reach` × (n/k) nearest accounts, so an isolated
            # territory (an island, a remote state) can still be brought into the band
            m = min(n, int(np.ceil(reach * n / k_)))
            near_acc = np.argpartition(dist, m - 1, axis=0)[:m, :]  # (m, k)
            acc_c = np.concatenate([acc_c, near_acc.ravel()])
            ter_c = np.concatenate([ter_c, np.tile(np.arange(k_), m)])
        if max_distance_km is not None:
            # no new account farther than the cap (an account may always stay where it is)
            ok = dist[acc_c, ter_c] <= max_distance_km
            n_col = cand_m.shape[1]
            ok[: n * n_col] |= (np.arange(n * n_col) % n_col) >= n_c  # previous/current territory
            acc_c, ter_c = acc_c[ok], ter_c[ok]
        cand = (acc_c, ter_c)
        labels, stats = _solve_assignment(
            dist, w, pot_n, wl_n, cand, cur,
            t_p=potential_tol, t_w=workload_tol, max_moved=max_moved, move_cost=move_cost_km,
            time_limit=max(1.0, time_limit - (time.perf_counter() - t0)), threads=threads,
        )
        if max_moved is not None and np.sum(labels != cur) > max_moved:
            labels = _enforce_move_limit(labels, cur, pot, max_moved)
        c_lat, c_lon = weighted_centres(lat, lon, cw, labels, k_)
        obj = float(np.mean(w * haversine_km(lat, lon, c_lat[labels], c_lon[labels])))
        stats.update(iteration=it, weighted_distance=obj, seconds=time.perf_counter() - t0)
        history.append(stats)
        if obj < best_obj - 1e-9:
            best_obj, best_labels = obj, labels.copy()
        if prev_obj - obj < 1e-3 * prev_obj or time.perf_counter() - t0 > time_limit:
            break
        prev_obj = obj
    labels = best_labels
    c_lat, c_lon = weighted_centres(lat, lon, cw, labels, k_)
    after = territory_metrics(lat, lon, pot, wl, labels, k_)
    moved = labels != cur if cur is not None else np.zeros(n, bool)
    after.update(
        accounts_moved=int(moved.sum()) if cur is not None else float("nan"),
        share_moved=float(moved.mean()) if cur is not None else float("nan"),
        balance_violation=_band_violation(labels, pot_n, wl_n, k_, potential_tol, workload_tol),
        territories_outside_potential_band=int(np.sum(
            np.abs(np.bincount(labels, weights=pot_n, minlength=k_) - 1) > potential_tol + 1e-9
        )),
        iterations=len(history),
        seconds=time.perf_counter() - t0,
    )
    out = pd.DataFrame({
        "account_id": df["account_id"],
        **({"zip": df["zip"]} if "zip" in df.columns else {}),  # normalised (prepare_accounts)
        "lat": lat, "lon": lon, "potential": pot, "workload": wl,
        "territory_id": tids[labels],
        "territory_id_before": tids[cur] if cur is not None else (df["territory_id"] if has_terr else None),
        "moved": moved,
        "distance_km": haversine_km(lat, lon, c_lat[labels], c_lon[labels]),
    })
    if "rep_id" in df.columns and cur is not None:
        # a moved account goes to the rep holding most of its new territory's unmoved accounts
        kept = pd.DataFrame({"t": out.loc[~moved, "territory_id"], "r": df.loc[~moved, "rep_id"]}).dropna()
        owner = kept.groupby("t")["r"].agg(lambda s: s.value_counts().index[0])
        out["rep_id"] = np.where(moved, out["territory_id"].map(owner), df["rep_id"])
    centres = pd.DataFrame({
        "territory_id": tids, "lat": c_lat, "lon": c_lon,
        "potential": np.bincount(labels, weights=pot, minlength=k_),
        "workload": np.bincount(labels, weights=wl, minlength=k_),
        "n_accounts": np.bincount(labels, minlength=k_),
    })
    settings = dict(cfg, k=k_, threads=threads, seed=seed)
    return TerritoryResult(out, centres, before, after, history, settings)


#: Alias named in docs/architecture.md.
balance = balance_territories

_CONFIG_KEYS = {
    "k", "max_moved_share", "potential_tol", "workload_tol", "n_candidates", "reach", "max_iter",
    "max_distance_km",
    "move_cost_km", "distance_weight", "time_limit", "threads", "seed",
}


def balance_from_config(config: Mapping[str, Any] | None, accounts: pd.DataFrame) -> TerritoryResult:
    """Run :func:`balance_territories` with the scenario's ``territory`` section."""
    config = dict(config or {})
    raise_if(check_keys(SECTION, config, _CONFIG_KEYS))
    return balance_territories(accounts, **config)


def nearest_centre_assignment(accounts: pd.DataFrame) -> np.ndarray:
    """Baseline: assign every account to the nearest existing territory centroid (no balance)."""
    df = prepare_accounts(accounts, need_territory=True)
    tids = np.array(sorted(df["territory_id"].unique()))
    cur = np.searchsorted(tids, df["territory_id"].to_numpy(str))
    lat, lon = df["lat"].to_numpy(), df["lon"].to_numpy()
    w = np.where(df["potential"].to_numpy() > 0, df["potential"].to_numpy(), 1e-9)
    c_lat, c_lon = weighted_centres(lat, lon, w, cur, tids.size)
    return tids[np.argmin(distance_matrix_km(lat, lon, c_lat, c_lon), axis=1)]
