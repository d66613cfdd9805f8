"""Monthly rep × period panel of bookings: the data the forecast model is fitted to.

:func:`monthly_panel` turns the ``bookings`` table (one row per credited deal, negative rows
are cancellations) and the optional ``reps`` table into an :class:`xarray.Dataset` with dims
``rep`` and ``period`` (``"YYYY-MM"``):

``amount``        net bookings (sum of all rows)
``gross``         sum of positive rows
``deals``         number of positive rows (credited deals)
``cancel_amount`` absolute sum of negative rows (cancellations, >= 0)
``cancels``       number of negative rows
``active``        the rep was employed that month (between hire and term month)
``tenure``        whole months since the hire month (0 in the hire month; negative before);
                  from :data:`TENURED` in the hire month on for a rep with positive bookings in
                  :data:`PRE_HIRE_MONTHS` or more months before it (a rehire)
``fiscal_month``  (period) 1..12 counted from ``fiscal_year_start``

Rep coordinates ``territory_id``, ``region`` (``"all"`` when the reps table is absent),
``role``, ``hire_month`` and ``term_month`` (``""`` when still employed).

Without a reps table a rep is active from the first to the last month with bookings; a rep
whose last booking falls within ``inactive_after`` months of the panel end is assumed to be
still employed (lumpy reps have empty months), and a rep whose first booking falls within the
first ``tenured_within`` months of the data is assumed tenured (no ramp), since the history
simply starts there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.errors import InputError, row_problems
from spm_models.provenance import hash_frames

#: tenure (months) given to reps assumed tenured before the data starts
TENURED = 120


#: months with positive bookings before the hire month that make a rep tenured, not a hire
PRE_HIRE_MONTHS = 2


def _sold_before_hire(bk: pd.DataFrame, rep_ids: np.ndarray, hire: pd.Series) -> np.ndarray:
    """``(len(rep_ids),)`` bool: the rep has positive bookings (``bk``: rep_id, month, amount) in
    at least :data:`PRE_HIRE_MONTHS` distinct months before its hire month (``hire``, aligned
    with ``rep_ids``)."""
    hire_of = pd.Series(hire.to_numpy(), index=rep_ids)
    pos = bk[bk["amount"] > 0]
    before = pos[pos["month"].to_numpy() < pos["rep_id"].map(hire_of).to_numpy()]
    months = before.groupby("rep_id")["month"].nunique()
    return months.reindex(rep_ids, fill_value=0).to_numpy() >= PRE_HIRE_MONTHS


def _month_index(p: pd.Series | pd.PeriodIndex) -> np.ndarray:
    """Months since year 0 (integer) of a monthly Period series."""
    return np.asarray([x.year * 12 + x.month - 1 for x in p], dtype=np.int64)


def _to_month(values: pd.Series, table: str, field: str, required: bool) -> pd.Series:
    """Parse dates (or ``YYYY-MM``) into monthly periods; raise InputError naming rows."""
    parsed = pd.to_datetime(values, errors="coerce")
    bad = parsed.isna() & (values.notna() if not required else True)
    if not required:
        bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        pos = np.flatnonzero(np.asarray(bad))
        raise InputError(row_problems(table, field, pos + 1,
                                      lambda k: f"cannot parse date {values.iloc[pos[k]]!r}",
                                      "cannot parse date"))
    return parsed.dt.to_period("M")


def monthly_panel(
    tables: Mapping[str, pd.DataFrame],
    start: str | None = None,
    end: str | None = None,
    *,
    fiscal_year_start: int = 1,
    inactive_after: int = 6,
    tenured_within: int = 3,
    booking_roles_only: bool = True,
) -> xr.Dataset:
    """Aggregate ``bookings`` (and optional ``reps``) to a rep × month panel.

    Parameters
    ----------
    tables
        ``{"bookings": DataFrame(rep_id, date, amount), "reps": DataFrame(...) (optional)}``.
    start, end
        First / last month (``"YYYY-MM"``) of the panel; default the bookings' range.
    fiscal_year_start
        Calendar month (1..12) in which the fiscal year starts.
    inactive_after, tenured_within
        Heuristics used only without a reps table (see module docstring).
    booking_roles_only
        With a ``role`` column, keep only reps whose role has bookings somewhere (the demo's
        SEs and managers carry no deals of their own).

    Returns
    -------
    xr.Dataset
        Panel with dims ``rep``, ``period`` (see module docstring).
    """
    if "bookings" not in tables:
        raise InputError("bookings: table missing (needed for forecasting)")
    if not 1 <= int(fiscal_year_start) <= 12:
        raise InputError(f"config, field 'fiscal_year_start': must be 1..12, got {fiscal_year_start}")
    bk = tables["bookings"]
    missing = [c for c in ("rep_id", "date", "amount") if c not in bk.columns]
    if missing:
        raise InputError([f"bookings, field '{c}': required column missing" for c in missing])
    bk = bk[["rep_id", "date", "amount"]].copy()
    bk["rep_id"] = bk["rep_id"].astype(str)
    amt = pd.to_numeric(bk["amount"], errors="coerce")
    if amt.isna().any():
        pos = np.flatnonzero(amt.isna().to_numpy())
        raise InputError(row_problems("bookings", "amount", pos + 1,
                                      lambda k: f"not a number {bk['amount'].iloc[pos[k]]!r}",
                                      "not a number"))
    bk["amount"] = amt.astype(float)
    bk["month"] = _to_month(bk["date"], "bookings", "date", required=True)
    reps = tables.get("reps")
    if bk.empty and reps is None:
        raise InputError("bookings: table is empty")

    bmin = bk["month"].min() if not bk.empty else None
    bmax = bk["month"].max() if not bk.empty else None
    p_start = pd.Period(start, freq="M") if start else bmin
    p_end = pd.Period(end, freq="M") if end else bmax
    if p_start is None or p_end is None:
        raise InputError("bookings: table is empty and no start/end given")
    if p_end < p_start:
        raise InputError(f"panel: end {p_end} before start {p_start}")
    periods = pd.period_range(p_start, p_end, freq="M")
    n_t = len(periods)
    t0 = p_start.year * 12 + p_start.month - 1
    bk_all = bk  # a kept rep is hired by p_end: its bookings before the hire month are all in here
    bk = bk[(bk["month"] >= p_start) & (bk["month"] <= p_end)]

    # --- reps and their attributes --------------------------------------------------------
    if reps is not None:
        for c in ("rep_id", "hire_date"):
            if c not in reps.columns:
                raise InputError(f"reps, field '{c}': required column missing")
        reps = reps.copy()
        reps["rep_id"] = reps["rep_id"].astype(str)
        dup = reps["rep_id"].duplicated()
        if dup.any():
            pos = np.flatnonzero(dup.to_numpy())
            ids = reps["rep_id"]
            raise InputError(row_problems("reps", "rep_id", pos + 1,
                                          lambda k: f"duplicate {ids.iloc[pos[k]]!r}",
                                          "duplicate rep_id"))
        unknown = ~bk["rep_id"].isin(reps["rep_id"])
        if unknown.any():
            idx = np.flatnonzero(unknown.to_numpy())
            raise InputError(row_problems("bookings", "rep_id", bk.index.to_numpy()[idx] + 1,
                                          lambda k: f"unknown rep {bk['rep_id'].iloc[idx[k]]!r}",
                                          "unknown rep"))
        hire = _to_month(reps["hire_date"], "reps", "hire_date", required=True)
        term = (
            _to_month(reps["term_date"], "reps", "term_date", required=False)
            if "term_date" in reps.columns
            else pd.Series([pd.NaT] * len(reps), index=reps.index)
        )
        hire_i = _month_index(hire) - t0
        term_i = np.array(
            [(x.year * 12 + x.month - 1 - t0) if not pd.isna(x) else 10**6 for x in term], dtype=np.int64
        )
        # keep reps employed at some point of the panel; roles that never book (overlay,
        # managers) are left out: their zero months say nothing about deal rates
        keep = (hire_i <= n_t - 1) & (term_i >= 0)
        if "role" in reps.columns and booking_roles_only:
            booked = set(bk["rep_id"].unique())
            roles_with = set(reps.loc[reps["rep_id"].isin(booked), "role"].astype(str))
            keep &= reps["role"].astype(str).isin(roles_with).to_numpy()
        reps = reps[keep]
        hire_i, term_i = hire_i[keep], term_i[keep]
        rep_ids = reps["rep_id"].to_numpy().astype(str)
        region = reps["region"].astype(str).to_numpy() if "region" in reps else np.full(len(reps), "all")
        territory = (
            reps["territory_id"].astype(str).to_numpy() if "territory_id" in reps else np.full(len(reps), "all")
        )
        role = reps["role"].astype(str).to_numpy() if "role" in reps else np.full(len(reps), "")
        # tenure in panel month 0; a rep who booked in PRE_HIRE_MONTHS or more months before the
        # hire month (rehired, or a hire_date that starts the current role) sold before: tenured,
        # not a ramping hire (a single early deal or clawback row does not make a rehire)
        tenure0 = np.where(_sold_before_hire(bk_all, rep_ids, hire[keep]), TENURED, 0) - hire_i
        hire_lbl = [str(p) for p in hire[keep]]
        term_lbl = ["" if pd.isna(x) else str(x) for x in term[keep]]
    else:
        g = bk.groupby("rep_id")["month"]
        first, last = g.min(), g.max()
        rep_ids = first.index.to_numpy().astype(str)
        hire_i = _month_index(first) - t0
        last_i = _month_index(last) - t0
        term_i = np.where(last_i >= n_t - 1 - inactive_after, 10**6, last_i)
        tenure0 = np.where(hire_i < tenured_within, TENURED, -hire_i)
        hire_i = np.where(hire_i < tenured_within, 0, hire_i)
        region = np.full(len(rep_ids), "all")
        territory = np.full(len(rep_ids), "all")
        role = np.full(len(rep_ids), "")
        hire_lbl = [str(p) for p in first]
        term_lbl = ["" if t >= 10**6 else str(periods[t]) for t in term_i]

    n_r = len(rep_ids)
    rep_pos = pd.Series(np.arange(n_r), index=rep_ids)
    t_idx = np.arange(n_t)
    active = (t_idx[None, :] >= hire_i[:, None]) & (t_idx[None, :] <= term_i[:, None])
    tenure = tenure0[:, None] + t_idx[None, :]

    # --- aggregate bookings ------------------------------------------------------------------
    r = rep_pos.reindex(bk["rep_id"].to_numpy()).to_numpy()
    ok = ~np.isnan(r)
    r = r[ok].astype(np.int64)
    t = (_month_index(bk["month"]) - t0)[ok] if len(bk) else np.zeros(0, np.int64)
    a = bk["amount"].to_numpy()[ok]
    flat = r * n_t + t
    size = n_r * n_t
    pos, neg = a > 0, a < 0
    net = np.bincount(flat, weights=a, minlength=size).reshape(n_r, n_t)
    gross = np.bincount(flat[pos], weights=a[pos], minlength=size).reshape(n_r, n_t)
    deals = np.bincount(flat[pos], minlength=size).reshape(n_r, n_t)
    canc = -np.bincount(flat[neg], weights=a[neg], minlength=size).reshape(n_r, n_t)
    ncanc = np.bincount(flat[neg], minlength=size).reshape(n_r, n_t)

    cal_month = np.array([p.month for p in periods])
    fiscal_month = (cal_month - int(fiscal_year_start)) % 12 + 1
    dims = ("rep", "period")
    ds = xr.Dataset(
        {
            "amount": (dims, net),
            "gross": (dims, gross),
            "deals": (dims, deals.astype(np.int64)),
            "cancel_amount": (dims, canc + 0.0),
            "cancels": (dims, ncanc.astype(np.int64)),
            "active": (dims, active),
            "tenure": (dims, tenure.astype(np.int64)),
            "fiscal_month": (("period",), fiscal_month.astype(np.int64)),
        },
        coords={
            "rep": rep_ids,
            "period": [str(p) for p in periods],
            "territory_id": ("rep", territory),
            "region": ("rep", region),
            "role": ("rep", role),
            "hire_month": ("rep", np.asarray(hire_lbl, dtype=str)),
            "term_month": ("rep", np.asarray(term_lbl, dtype=str)),
        },
        attrs={
            "fiscal_year_start": int(fiscal_year_start),
            "data_hash": hash_frames({k: v for k, v in tables.items() if k in ("bookings", "reps")}),
            "has_reps_table": int(reps is not None),
        },
    )
    return ds


def incomplete_last_months(bookings: pd.DataFrame, share: float = 0.5, window: int = 12) -> list[str]:
    """The last months (``'YYYY-MM'``, in order) in which fewer than ``share`` of the reps that
    book in a usual month have any booking row -- the median count of reps with rows over the
    ``window`` months before them: an export cut before every rep's month was in (one rep's
    rows running past the others'). ``[]`` when the last month looks complete or the
    history is shorter than ``window`` months. ``bookings``: ``rep_id``, ``date``."""
    months = pd.to_datetime(bookings["date"], errors="coerce").dt.to_period("M")
    if months.isna().all():
        return []
    counts = bookings["rep_id"].groupby(months).nunique()
    counts = counts.reindex(pd.period_range(counts.index.min(), counts.index.max(), freq="M"), fill_value=0)
    k = len(counts)  # months counts[k:] are incomplete
    while k - 1 >= window and counts.iloc[k - 1] < share * float(np.median(counts.iloc[k - 1 - window: k - 1])):
        k -= 1
    return [str(p) for p in counts.index[k:]]
