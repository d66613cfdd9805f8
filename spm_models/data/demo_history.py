"""The demo organisation's CRM stage history (``opportunity_history``), consistent with outcomes.

Every opportunity of the demo gets a row when it is created, one per stage it enters, one per
close-date push (slip), one when its amount changes and a final ``Closed Won`` /
``Closed Lost`` row on its close date. Deals are generated with their outcome; those closing
after the end of the history are cut there and form the open pipeline (their state at the end
is returned too). The generating process (parameters in
:class:`~spm_models.data.demo.DemoParams`):

* **stages**: won deals pass through all four open stages; a lost deal advances from one stage
  to the next with probability ``lost_advance`` (so it dies early more often).
  Time in each stage is a share of the deal's life
  (exponential gaps, normalised).
* **slips**: the number of close-date pushes is Poisson with a gamma-distributed propensity
  per opportunity (mean ``slip_rate``, shape ``slip_shape``: slippery deals keep slipping), at
  most :data:`MAX_SLIPS`; each push moves the close date by ``7 + Exponential(slip_days)`` days
  and is made up to a week before the old date arrives. Pushes that would fall before the
  creation date are dropped. Won deals close up to 10 days before the (final) expected date,
  lost deals up to 45 days before.
* **amounts**: with probability ``amount_change_p`` the amount at creation differs from the
  final one by a factor ``LogNormal(amount_change_mu, amount_change_sigma)`` and changes once,
  part-way through the deal's life.

Vectorised: a dense (opportunity × event slot) matrix, sorted per row; memory is
O(opportunities × 10).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

#: Most close-date pushes per opportunity.
MAX_SLIPS = 4
_N_SLOTS = 6 + MAX_SLIPS  # created, 3 stage entries, slips, amount change, close
_SLOT_AMOUNT = 4 + MAX_SLIPS
_SLOT_CLOSE = 5 + MAX_SLIPS
_BIG = np.int64(1) << 40


#: pandas' Arrow-backed string dtype with NaN as missing value (the default ``str`` of pandas 3):
#: comparisons give numpy bool arrays, ``to_numpy()`` gives object arrays of str
STR = pd.StringDtype("pyarrow", na_value=np.nan)

#: Deals per chunk: bounds the temporaries of the 10,000-rep demo (3 M deals)
CHUNK = 400_000


def opportunity_history(opps: pd.DataFrame, won: np.ndarray, history_end: np.datetime64, p: Any,
                        rng: np.random.Generator, open_stages: tuple[str, ...],
                        open_stage_p: tuple[float, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stage history of ``opps`` (the demo's ``opportunities`` table, in its row order).

    Parameters
    ----------
    opps
        ``opp_id, amount, created_date, close_date`` (final amount and close date; deals that
        close after ``history_end`` are still open at its end).
    won
        Outcome of each deal (bool, one per row of ``opps``).
    history_end
        Last day of the history: later rows are dropped.
    p
        :class:`~spm_models.data.demo.DemoParams` (``lost_advance``, ``slip_rate``,
        ``slip_shape``, ``slip_days``, ``amount_change_p``, ``amount_change_mu``,
        ``amount_change_sigma``).
    rng
        Random generator (its own stream, so the other demo tables do not change).

    Returns
    -------
    (DataFrame, DataFrame)
        The history ``opp_id, date, stage, amount, close_date, probability`` (oldest first per
        opportunity, rows up to ``history_end``) and each opportunity's state at
        ``history_end`` (``stage, amount, close_date, probability``; row order of ``opps``).
    """
    won = np.asarray(won, bool)
    end = np.int64(np.datetime64(history_end, "D").astype(np.int64))
    created = opps["created_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    closes = opps["close_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    amounts = opps["amount"].to_numpy(dtype=float)
    parts = []
    for lo in range(0, len(opps), CHUNK):
        sl = slice(lo, lo + CHUNK)
        part = _chunk(created[sl], closes[sl], amounts[sl], won[sl], end, p, rng)
        part[0] += lo
        parts.append(part)
    opp_row, day, code, amount, close_day = (
        np.concatenate([q[i] for q in parts]) if parts else np.zeros(0) for i in range(5))
    del parts
    opp_row = opp_row.astype(np.int64)
    code = code.astype(np.int8)
    stage_names = pa.array((*open_stages, "Closed Won", "Closed Lost"), pa.string())
    stage_p = np.array((*open_stage_p, 1.0, 0.0))
    # the two string columns of ~4 rows per deal are gathered in Arrow and kept Arrow-backed
    # (pandas' ``str`` dtype): no per-row Python objects, no copy when written to DuckDB/CSV
    ids = pa.array(opps["opp_id"].to_numpy(), pa.string())
    hist = pd.DataFrame({
        "opp_id": pd.array(ids.take(pa.array(opp_row)), dtype=STR),
        "date": day.astype("datetime64[D]").astype("datetime64[ns]"),
        "stage": pd.array(pa.DictionaryArray.from_arrays(pa.array(code), stage_names)
                          .cast(pa.string()), dtype=STR),
        "amount": amount,
        "close_date": close_day.astype("datetime64[D]").astype("datetime64[ns]"),
        "probability": stage_p[code],
    })
    last = np.flatnonzero(np.r_[opp_row[1:] != opp_row[:-1], True])  # every opp has a row
    at_end = hist.iloc[last][["stage", "amount", "close_date", "probability"]].reset_index(drop=True)
    return hist, at_end


def _chunk(c: np.ndarray, a: np.ndarray, a_final: np.ndarray, won: np.ndarray, end: np.int64,
           p: Any, rng: np.random.Generator) -> list[np.ndarray]:
    """History rows of one chunk of deals: ``[opp_row, day, stage code, amount, close day]``."""
    n = len(c)
    # highest open stage reached
    adv = rng.random((n, 3)) < p.lost_advance
    lost_max = np.cumprod(adv, axis=1).sum(axis=1)
    top = np.where(won, 3, lost_max).astype(np.int64)
    life_end = a
    life = np.maximum(life_end - c, 1)

    # stage entry times: k+1 exponential gaps, normalised over the deal's life
    gaps = rng.exponential(1.0, (n, 4))
    gaps = np.where(np.arange(4)[None, :] <= top[:, None], gaps, 0.0)
    frac = np.cumsum(gaps, axis=1)[:, :3] / gaps.sum(axis=1, keepdims=True)
    entry = c[:, None] + np.floor(frac * life[:, None]).astype(np.int64)
    entry = np.where(np.arange(1, 4)[None, :] <= top[:, None], entry, _BIG)

    # close-date pushes, built backwards from the final expected close date
    final_exp = np.where(won, a + rng.integers(0, 11, n), a + rng.integers(0, 46, n))
    prop = rng.gamma(p.slip_shape, p.slip_rate / p.slip_shape, n)
    n_slip = np.minimum(rng.poisson(prop), MAX_SLIPS)
    d = 7 + np.round(rng.exponential(p.slip_days, (n, MAX_SLIPS))).astype(np.int64)
    early = rng.integers(0, 8, (n, MAX_SLIPS))
    back = np.empty((n, MAX_SLIPS + 1), np.int64)
    back[:, 0] = final_exp
    back[:, 1:] = final_exp[:, None] - np.cumsum(d, axis=1)
    t_slip = back[:, 1:] - early
    ok = (np.arange(1, MAX_SLIPS + 1)[None, :] <= n_slip[:, None]) & (t_slip > c[:, None])
    ok &= t_slip < a[:, None]
    ok = np.cumprod(ok, axis=1).astype(bool)
    m = ok.sum(axis=1)
    t_slip = np.where(ok, t_slip, _BIG)

    # amount at creation and the day it changes
    change = rng.random(n) < p.amount_change_p
    ratio = rng.lognormal(p.amount_change_mu, p.amount_change_sigma, n)
    t_amt = c + 1 + np.floor(rng.uniform(0.15, 0.85, n) * (life - 1)).astype(np.int64)
    change &= t_amt < life_end
    a0 = np.where(change, np.round(a_final * ratio, 2), a_final)
    t_amt = np.where(change, t_amt, _BIG)

    # dense event matrix: key = day * 16 + slot (slot order breaks same-day ties); int32 keeps
    # the 10,000-rep demo (3 M deals) small
    days = np.full((n, _N_SLOTS), _BIG, np.int64)
    days[:, 0] = c
    days[:, 1:4] = entry
    days[:, 4:4 + MAX_SLIPS] = t_slip
    days[:, _SLOT_AMOUNT] = t_amt
    # nothing after the close row, nothing after the end of the history
    days = np.where((days > a[:, None]) | (days > end), _BIG, days)
    days[:, _SLOT_CLOSE] = np.where(a <= end, a, _BIG)
    pad = np.int32(1 << 30)
    key = np.where(days < _BIG, days * 16 + np.arange(_N_SLOTS)[None, :], pad).astype(np.int32)
    del days
    key.sort(axis=1)
    valid = key < pad
    slot = (key & 15).astype(np.int8)
    n_stage = np.cumsum((slot >= 1) & (slot <= 3) & valid, axis=1, dtype=np.int8)
    n_push = np.cumsum((slot >= 4) & (slot < 4 + MAX_SLIPS) & valid, axis=1, dtype=np.int8)
    changed = np.cumsum((slot == _SLOT_AMOUNT) & valid, axis=1, dtype=np.int8) > 0
    rows = valid.ravel()
    opp_row = np.repeat(np.arange(n, dtype=np.int32), _N_SLOTS)[rows]
    day = (key.ravel()[rows] >> 4).astype(np.int64)
    del key
    slot_r = slot.ravel()[rows]
    closing = slot_r == _SLOT_CLOSE
    n_push_r = n_push.ravel()[rows].astype(np.int64)
    close_day = back[opp_row, np.clip(m[opp_row] - n_push_r, 0, MAX_SLIPS)]
    close_day = np.where(closing, a[opp_row], close_day)
    amount = np.where(changed.ravel()[rows] | closing, a_final[opp_row], a0[opp_row])
    code = np.where(closing, np.where(won[opp_row], 4, 5), n_stage.ravel()[rows]).astype(np.int8)
    del slot, n_stage, n_push, changed, valid
    return [opp_row, day, code, amount, close_day]
