"""Pipeline snapshots: the open opportunities as they stood on a past date.

:func:`pipeline_as_of` reads the CRM's stage history (``opportunity_history``) when the source
has one: each opportunity's last history row dated strictly before the as-of date gives its
stage, amount and expected close date then, and the number of close-date pushes so far
(``n_slips``). Without a history, the snapshot is reconstructed from ``created_date`` and the
final ``close_date``/``status`` (an opportunity created before the date that had not closed by
then): stages and expected close dates are then today's, not the past's, so every row is
marked ``approximate`` (and such a snapshot knows the future close date: it must not be used
to score forecasts).

:class:`OppBook` prepares the tables once (sorted arrays), so many snapshots are cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spm_models.data.schemas import CLOSED_STAGES
from spm_models.errors import InputError

#: the region of reps without one
NO_REGION = "__all__"


def _day(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]").astype(np.int64)


def to_day(date) -> int:
    """A date (str, Timestamp, datetime64; an int is already a day number) as days since
    1970-01-01; raises :class:`InputError` when it is not a date."""
    if isinstance(date, int | np.integer):
        return int(date)
    try:
        return int(np.datetime64(pd.Timestamp(date).date(), "D").astype(np.int64))
    except (ValueError, TypeError):
        raise InputError(f"--as-of: not a date YYYY-MM-DD: {date!r}") from None


def rep_regions(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """``region`` by ``rep_id`` from ``reps`` (empty Series without one)."""
    reps = tables.get("reps")
    if reps is None or "region" not in reps:
        return pd.Series(dtype=object)
    return reps.drop_duplicates("rep_id").set_index("rep_id")["region"].astype(str)


@dataclass
class OppBook:
    """The opportunities and their history as sorted arrays (days since epoch).

    Attributes
    ----------
    opps
        ``opp_id, rep_id, region, created`` (day), ``final_close`` (day), ``status``.
    has_history
        Whether the source has an ``opportunity_history`` table.
    h_opp, h_day, h_stage, h_amount, h_close, h_prob, h_pushes
        History rows sorted by (opportunity index, day): opportunity row index, day, stage
        name, amount, expected close day, CRM probability (NaN when absent), pushes so far.
    won_day, won_amount, lost_day
        Day of the ``Closed Won`` / ``Closed Lost`` row (large when none) and the amount then.
    """

    opps: pd.DataFrame
    has_history: bool
    h_opp: np.ndarray
    h_day: np.ndarray
    h_stage: np.ndarray
    h_amount: np.ndarray
    h_close: np.ndarray
    h_prob: np.ndarray
    h_pushes: np.ndarray
    won_day: np.ndarray
    won_amount: np.ndarray
    lost_day: np.ndarray

    @classmethod
    def from_tables(cls, tables: Mapping[str, pd.DataFrame]) -> OppBook:
        """Prepare validated tables (``opportunities`` required; raises :class:`InputError`)."""
        if "opportunities" not in tables:
            raise InputError("opportunities: table missing (needed for the pipeline)")
        o = tables["opportunities"].reset_index(drop=True)
        regions = rep_regions(tables)
        region = o["rep_id"].astype(str).map(regions)
        if "region" in o:
            region = region.fillna(o["region"])
        status = o["status"].astype(str).str.lower().to_numpy()
        opps = pd.DataFrame({
            "opp_id": o["opp_id"].astype(str).to_numpy(),
            "rep_id": o["rep_id"].astype(str).to_numpy(),
            "region": region.fillna(NO_REGION).astype(str).to_numpy(),
            "created": _day(o["created_date"]),
            "final_close": _day(o["close_date"]),
            "status": status,
            "stage": o["stage"].astype(str).to_numpy(),
            "amount": o["amount"].to_numpy(dtype=float),
        })
        big = np.iinfo(np.int64).max // 4
        n = len(opps)
        hist = tables.get("opportunity_history")
        if hist is None or len(hist) == 0:
            e = np.zeros(0, np.int64)
            won_day = np.where(status == "won", opps["final_close"], big)
            lost_day = np.where(status == "lost", opps["final_close"], big)
            return cls(opps, False, e, e, np.zeros(0, object), np.zeros(0), e, np.zeros(0), e,
                       won_day, opps["amount"].to_numpy(), lost_day)
        idx = pd.Index(opps["opp_id"])
        h_opp = idx.get_indexer(hist["opp_id"].astype(str))
        keep = h_opp >= 0
        h = hist.loc[keep]
        h_opp = h_opp[keep]
        h_day = _day(h["date"])
        order = np.lexsort((np.arange(len(h_day)), h_day, h_opp))
        h_opp, h_day = h_opp[order], h_day[order]
        h = h.iloc[order]
        stage = h["stage"].astype(str).to_numpy()
        lower = np.char.lower(stage.astype(str))
        if "status" in h:
            st = h["status"].astype(str).str.lower().to_numpy()
            stage = np.where(st == "won", CLOSED_STAGES[0], np.where(st == "lost", CLOSED_STAGES[1], stage))
            lower = np.char.lower(stage.astype(str))
        h_close = _day(h["close_date"])
        h_amount = h["amount"].to_numpy(dtype=float)
        same = np.r_[False, h_opp[1:] == h_opp[:-1]]
        push = same & np.r_[False, h_close[1:] > h_close[:-1]]
        # cumulative pushes within each opportunity
        cum = np.cumsum(push)
        first = np.r_[True, ~same[1:]]
        base = np.maximum.accumulate(np.where(first, cum - push, 0))
        pushes = cum - base
        prob = h["probability"].to_numpy(dtype=float) if "probability" in h else np.full(len(h), np.nan)
        won_row = lower == CLOSED_STAGES[0].lower()
        lost_row = lower == CLOSED_STAGES[1].lower()
        won_day = np.full(n, big, np.int64)
        won_amount = opps["amount"].to_numpy(dtype=float).copy()
        lost_day = np.full(n, big, np.int64)
        wi = np.flatnonzero(won_row)[::-1]  # earliest wins
        won_day[h_opp[wi]] = h_day[wi]
        won_amount[h_opp[wi]] = h_amount[wi]
        li = np.flatnonzero(lost_row)[::-1]
        lost_day[h_opp[li]] = h_day[li]
        return cls(opps, True, h_opp, h_day, stage, h_amount, h_close, prob, pushes,
                   won_day, won_amount, lost_day)

    def snapshot(self, as_of: int, approximate_ok: bool = True) -> pd.DataFrame:
        """Open pipeline at day ``as_of`` (see :func:`pipeline_as_of`); row order = opps."""
        o = self.opps
        if self.has_history:
            before = self.h_day < as_of
            nxt_same = np.r_[self.h_opp[1:] == self.h_opp[:-1], False]
            nxt_before = np.r_[before[1:], False]
            last = before & ~(nxt_same & nxt_before)
            rows = np.flatnonzero(last)
            stage = self.h_stage[rows]
            lower = np.char.lower(stage.astype(str))
            open_ = ~np.isin(lower, [s.lower() for s in CLOSED_STAGES])
            rows = rows[open_]
            oi = self.h_opp[rows]
            created = o["created"].to_numpy()[oi]
            ok = created < as_of
            rows, oi = rows[ok], oi[ok]
            return pd.DataFrame({
                "opp_id": o["opp_id"].to_numpy()[oi],
                "rep_id": o["rep_id"].to_numpy()[oi],
                "region": o["region"].to_numpy()[oi],
                "created": o["created"].to_numpy()[oi],
                "stage": self.h_stage[rows],
                "amount": self.h_amount[rows],
                "close": self.h_close[rows],
                "probability": self.h_prob[rows],
                "n_slips": self.h_pushes[rows],
                "approximate": False,
                "opp_index": oi,
            })
        if not approximate_ok:
            raise InputError("opportunity_history: table missing (needed for an exact snapshot)")
        closed_day = np.minimum(self.won_day, self.lost_day)
        open_ = (o["created"].to_numpy() < as_of) & ((closed_day >= as_of) | (o["status"].to_numpy() == "open"))
        oi = np.flatnonzero(open_)
        stage = o["stage"].to_numpy()[oi].astype(object)
        stage = np.where(np.isin(np.char.lower(stage.astype(str)), [s.lower() for s in CLOSED_STAGES]), None, stage)
        return pd.DataFrame({
            "opp_id": o["opp_id"].to_numpy()[oi],
            "rep_id": o["rep_id"].to_numpy()[oi],
            "region": o["region"].to_numpy()[oi],
            "created": o["created"].to_numpy()[oi],
            "stage": stage,
            "amount": o["amount"].to_numpy()[oi],
            "close": o["final_close"].to_numpy()[oi],
            "probability": np.nan,
            "n_slips": 0,
            "approximate": True,
            "opp_index": oi,
        })

    def created_amount(self) -> np.ndarray:
        """Amount of each opportunity when it was created (first history row, else current)."""
        amt = self.opps["amount"].to_numpy(dtype=float).copy()
        if self.has_history and len(self.h_opp):
            first = np.r_[True, self.h_opp[1:] != self.h_opp[:-1]]
            amt[self.h_opp[first]] = self.h_amount[first]
        return amt


def pipeline_as_of(tables: Mapping[str, pd.DataFrame] | OppBook, date) -> pd.DataFrame:
    """The open pipeline as it stood on ``date`` (information strictly before that day).

    Parameters
    ----------
    tables
        Validated tables (``opportunities``, optional ``opportunity_history`` and ``reps``) or
        a prepared :class:`OppBook`.
    date
        The as-of date (``YYYY-MM-DD``, Timestamp or datetime64).

    Returns
    -------
    DataFrame
        One row per opportunity created before ``date`` and still open then: ``opp_id,
        rep_id, region, created_date, stage, amount, close_date`` (the expected close date
        then), ``probability`` (the CRM's, NaN when unknown), ``n_slips`` (close-date pushes so
        far), ``age_days`` and ``approximate`` (True when reconstructed without a history:
        stage and close date are the final ones).

    Raises
    ------
    InputError
        Without an ``opportunities`` table or with an unparseable date.
    """
    book = tables if isinstance(tables, OppBook) else OppBook.from_tables(tables)
    day = to_day(date)
    snap = book.snapshot(day)
    out = snap.drop(columns=["opp_index"]).assign(
        created_date=snap["created"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]"),
        close_date=snap["close"].to_numpy().astype("datetime64[D]").astype("datetime64[ns]"),
        age_days=day - snap["created"].to_numpy(),
    )
    cols = ["opp_id", "rep_id", "region", "created_date", "stage", "amount", "close_date",
            "probability", "n_slips", "age_days", "approximate"]
    return out[cols].reset_index(drop=True)
