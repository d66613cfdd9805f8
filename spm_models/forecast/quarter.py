"""In-quarter bookings forecast: closed-to-date + open pipeline + not-yet-created business.

For an as-of day ``a`` in a calendar quarter ending on day ``h`` (all from information strictly
before ``a``), per rep and draw::

    quarter = closed_to_date                                   (bookings dated in [q0, a))
            + Σ_open Bernoulli(p_i) × amount_i × ratio          (win model, :mod:`win_model`)
            + Σ_{new wins} size                                 (compound Poisson)
            − Σ_{cancellations} size                            (compound Poisson)

* **not yet created**: rep creation rate ``λ_r ~ Gamma(κ·λ_region + n_r, κ + exposure_r)``
  (counts of the last 90 days, shrunk towards the region's rate with ``κ = 30`` days of
  pseudo-exposure), times the seasonal ratio of creations a year earlier (same window ÷ the
  90 days before it), times the conversion curve ``g(k)`` = share of opportunities won within
  ``k`` days of creation (opportunities created 92-457 days before ``a``); new wins by the
  quarter end ~ Poisson(λ_r Σ_u g(h − u)); sizes log-normal per region (won deals of the last
  year; the log-mean drawn from its posterior under a flat prior).
* **cancellations** (negative bookings): Poisson with the rep's share of the last 180 days'
  cancellations per day (company rate ~ Gamma posterior), sizes like new wins.

Returns an ``xarray.Dataset`` with dims ``rep × period × draw`` (the quarter's months).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.forecast.opportunities import NO_REGION, OppBook, rep_regions
from spm_models.forecast.win_model import WinModel, quarter_bounds, quarter_label

_KAPPA = 30.0


def _months(q0: int, h: int) -> list[str]:
    p0 = pd.Timestamp(np.datetime64(q0, "D")).to_period("M")
    return [str(p0 + i) for i in range(3)]


def _bookings_before(tables: Mapping[str, pd.DataFrame], a: int) -> pd.DataFrame:
    b = tables.get("bookings")
    if b is None:
        return pd.DataFrame({"rep_id": [], "day": [], "amount": []})
    day = pd.to_datetime(b["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    keep = day < a
    return pd.DataFrame({"rep_id": b["rep_id"].astype(str).to_numpy()[keep], "day": day[keep],
                         "amount": b["amount"].to_numpy(dtype=float)[keep]})


def active_reps(tables: Mapping[str, pd.DataFrame], book: OppBook | None, a: int) -> pd.DataFrame:
    """Reps in seat on day ``a`` with bookings or opportunities before it: ``rep_id, region``."""
    bk = _bookings_before(tables, a)
    ids = set(bk.loc[bk["day"] >= a - 365, "rep_id"])
    if book is not None:
        o = book.opps
        ids |= set(o.loc[(o["created"] < a) & (o["created"] >= a - 365), "rep_id"])
    reps = tables.get("reps")
    if reps is not None and "rep_id" in reps:
        r = reps.drop_duplicates("rep_id").set_index("rep_id")
        if "term_date" in r:
            term = pd.to_datetime(r["term_date"]).to_numpy().astype("datetime64[D]")
            gone = ~np.isnat(term) & (term.astype(np.int64) < a)
            ids -= set(r.index[gone].astype(str))
    regions = rep_regions(tables)
    ordered = sorted(ids)
    return pd.DataFrame({"rep_id": ordered,
                         "region": pd.Series(ordered, dtype=object).map(regions).fillna(NO_REGION).to_numpy()})


def _conversion_curve(book: OppBook, a: int, horizon: int) -> np.ndarray:
    """``g[k]``: share of opportunities won within ``k`` days of creation, k = 0..horizon."""
    o = book.opps
    created = o["created"].to_numpy()
    sel = (created < a - 92) & (created >= a - 457)
    if sel.sum() < 50:
        sel = created < a - 92
    if sel.sum() == 0:
        return np.zeros(horizon + 1)
    cyc = book.won_day[sel] - created[sel]
    won = book.won_day[sel] < a
    k = np.arange(horizon + 1)
    return np.array([(won & (cyc <= kk)).sum() for kk in k]) / sel.sum()


def _size_model(tables, book: OppBook | None, a: int, reps: pd.DataFrame) -> dict[str, tuple[float, float, int]]:
    """Log-normal size (mu, sigma, n) of won deals of the last year by region (and ``*``)."""
    bk = _bookings_before(tables, a)
    bk = bk[(bk["day"] >= a - 365) & (bk["amount"] > 0)]
    regions = rep_regions(tables)
    reg = bk["rep_id"].map(regions).fillna(NO_REGION)
    out = {}
    la = np.log(bk["amount"].to_numpy())
    if len(la) >= 2:
        out["*"] = (float(la.mean()), float(la.std()), len(la))
    else:
        out["*"] = (np.log(10_000.0), 1.0, 1)
    for g in reps["region"].unique():
        x = la[(reg == g).to_numpy()]
        out[g] = (float(x.mean()), float(x.std()), len(x)) if len(x) >= 20 else out["*"]
    return out


def _compound(rng, counts: np.ndarray, mu: np.ndarray, sd: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Sum of ``counts[d, r]`` log-normal sizes (log-mean drawn per draw from its posterior)."""
    D, R = counts.shape
    mu_d = mu[None, :] + rng.standard_normal((D, R)) * (sd / np.sqrt(np.maximum(n, 1)))[None, :]
    tot = counts.ravel()
    idx = np.repeat(np.arange(D * R), tot)
    sizes = np.exp(mu_d.ravel()[idx] + np.repeat(np.broadcast_to(sd, (D, R)).ravel(), tot)
                   * rng.standard_normal(len(idx)))
    return np.bincount(idx, sizes, D * R).reshape(D, R)


def quarter_forecast(tables: Mapping[str, pd.DataFrame], as_of, model: WinModel | None,
                     book: OppBook | None = None, n_draws: int = 1000, seed: int = 0) -> xr.Dataset:
    """Draws of the bookings of the quarter holding ``as_of``, per rep and month.

    Parameters
    ----------
    tables
        Validated tables (``bookings``; ``opportunities`` and ``opportunity_history`` for the
        pipeline parts; ``reps`` for regions and departures).
    as_of
        The as-of date; only information strictly before it is used.
    model
        A fitted :class:`WinModel` (trained before ``as_of``), or ``None`` to leave out the
        open pipeline (then ``book`` is still used for the not-yet-created part if given).
    book
        Prepared opportunities (:class:`OppBook`); built from ``tables`` when omitted.

    Returns
    -------
    xr.Dataset
        ``bookings(rep, period, draw)`` (currency, closed-to-date included),
        ``closed(rep, period)``, ``open(rep, period, draw)``, ``new(rep, period, draw)``,
        ``cancel(rep, period, draw)`` (≤ 0); coord ``region(rep)``; attrs ``quarter``,
        ``as_of``, ``parts``.
    """
    from spm_models.forecast.opportunities import to_day

    a = to_day(as_of)
    q0, h = quarter_bounds(a)
    rng = np.random.default_rng(seed)
    if book is None and "opportunities" in tables:
        book = OppBook.from_tables(tables)
    reps = active_reps(tables, book, a)
    R, D = len(reps), n_draws
    rix = pd.Index(reps["rep_id"])
    periods = _months(q0, h)
    month_start = np.array([np.datetime64(p, "M").astype("datetime64[D]").astype(np.int64)
                            for p in periods])
    parts = ["closed_to_date"]
    # closed to date
    bk = _bookings_before(tables, a)
    cur = bk[bk["day"] >= q0]
    closed = np.zeros((R, 3))
    ri = rix.get_indexer(cur["rep_id"])
    ok = ri >= 0
    cm = np.searchsorted(month_start, cur["day"].to_numpy()[ok], side="right") - 1
    np.add.at(closed, (ri[ok], cm), cur["amount"].to_numpy()[ok])
    # open pipeline
    open_ = np.zeros((D, R, 3))
    if model is not None and book is not None and book.has_history:
        snap = book.snapshot(a)
        snap = snap[rix.get_indexer(snap["rep_id"]) >= 0].reset_index(drop=True)
        if len(snap):
            p = model.prob_draws(snap, a, h, D, rng)
            win = rng.random(p.shape) < p
            ratio = np.exp(rng.choice(model.log_ratio, p.shape))
            val = win * snap["amount"].to_numpy(float)[None, :] * ratio
            close = np.clip(snap["close"].to_numpy(), a, h)
            m = np.searchsorted(month_start, close, side="right") - 1
            cell = rix.get_indexer(snap["rep_id"]) * 3 + m
            for d in range(D):
                open_[d] += np.bincount(cell, val[d], R * 3).reshape(R, 3)
        parts.append("open_pipeline")
    # not yet created
    new = np.zeros((D, R, 3))
    sizes = _size_model(tables, book, a, reps)
    mu = np.array([sizes[g][0] for g in reps["region"]])
    sd = np.array([sizes[g][1] for g in reps["region"]])
    nn = np.array([sizes[g][2] for g in reps["region"]])
    days_left = h - a + 1
    if book is not None and days_left > 0:
        g = _conversion_curve(book, a, days_left)
        o = book.opps
        created = o["created"].to_numpy()
        win90 = (created < a) & (created >= a - 90)
        n_r = np.bincount(rix.get_indexer(o.loc[win90, "rep_id"]).clip(-1) + 1, minlength=R + 1)[1:]
        # days of the window the data cover (an as-of date after the data's end)
        seen = created[created < a]
        data_end = max(int(seen.max()) if len(seen) else a - 1,
                       int(bk["day"].max()) if len(bk) else a - 1)
        exposure = np.full(R, float(np.clip(data_end + 1 - (a - 90), 1, 90)))
        reg_rate = pd.Series(n_r / exposure).groupby(reps["region"].to_numpy()).transform("mean").to_numpy()
        ly = (created >= a - 365) & (created <= h - 365)
        ly_before = (created >= a - 365 - 90) & (created < a - 365)
        season = (ly.sum() / days_left) / (ly_before.sum() / 90) if ly_before.sum() > 50 and ly.sum() > 0 else 1.0
        lam = rng.gamma(_KAPPA * reg_rate[None, :] + n_r[None, :] + 1e-3,
                        1.0 / (_KAPPA + exposure[None, :]), (D, R)) * season
        # expected wins closed by day v: W(v) = Σ_{u=a}^{v} g(v − u) = cumsum(g)
        W = np.cumsum(g[:days_left])
        mends = np.minimum(np.r_[month_start[1:] - 1, h], h) - a
        Wm = np.where(mends >= 0, W[np.clip(mends, 0, days_left - 1)], 0.0)
        share = np.diff(np.r_[0.0, Wm]) / max(W[-1], 1e-12)
        counts = rng.poisson(lam * W[-1])
        tot = _compound(rng, counts, mu, sd, nn)
        new = tot[:, :, None] * share[None, None, :]
        parts.append("not_yet_created")
    # cancellations: run rate of the last 180 days, split by the reps' share of recent wins
    cancel = np.zeros((D, R, 3))
    recent = bk[bk["day"] >= a - 180]
    n_c = int((recent["amount"] < 0).sum())
    wins = recent[recent["amount"] > 0]
    if n_c and len(wins) and days_left > 0:
        share_r = np.bincount(rix.get_indexer(wins["rep_id"]).clip(-1) + 1, minlength=R + 1)[1:] / len(wins)
        rate = rng.gamma(n_c + 1e-3, 1.0 / 180.0, D)
        counts = rng.poisson(rate[:, None] * share_r[None, :] * days_left)
        tot = _compound(rng, counts, mu, sd, nn)
        share_m = np.array([max(0, min(e, h) - max(s, a) + 1) for s, e in
                            zip(month_start, np.r_[month_start[1:] - 1, h], strict=True)]) / days_left
        cancel = -tot[:, :, None] * share_m[None, None, :]
        parts.append("cancellations")
    total = closed[None] + open_ + new + cancel
    dims = ("rep", "period", "draw")

    def cube(x):
        return (dims, np.moveaxis(x, 0, -1))

    return xr.Dataset(
        {"bookings": cube(total), "closed": (("rep", "period"), closed), "open": cube(open_),
         "new": cube(new), "cancel": cube(cancel)},
        coords={"rep": reps["rep_id"].to_numpy().astype(str), "period": periods,
                "draw": np.arange(D), "region": ("rep", reps["region"].to_numpy().astype(str))},
        attrs={"quarter": quarter_label(a), "as_of": str(np.datetime64(a, "D")),
               "parts": ",".join(parts)},
    )


QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)


def levels_table(quarter_draws: xr.DataArray, closed: xr.DataArray, quarter: str) -> pd.DataFrame:
    """Company, region and rep rows of the quarter's total: ``level, id, quarter,
    closed_to_date, mean, q05 … q95`` from ``quarter_draws(rep, draw)`` and ``closed(rep)``."""
    rows = []

    def add(level, ident, draws, c):
        q = np.quantile(draws, QUANTILES)
        rows.append({"level": level, "id": ident, "quarter": quarter, "closed_to_date": float(c),
                     "mean": float(draws.mean()),
                     **{f"q{round(p * 100):02d}": float(v) for p, v in zip(QUANTILES, q, strict=True)}})

    x = np.asarray(quarter_draws.transpose("rep", "draw").values)
    c = np.asarray(closed.values)
    add("company", "__total__", x.sum(0), c.sum())
    region = quarter_draws["region"].values
    for g in sorted(set(region)):
        m = region == g
        add("region", g, x[m].sum(0), c[m].sum())
    for i, r in enumerate(quarter_draws["rep"].values):
        add("rep", str(r), x[i], c[i])
    return pd.DataFrame(rows)


def join_bookings_cube(cube: xr.DataArray | xr.Dataset, quarter: xr.Dataset) -> xr.DataArray:
    """The bookings cube with the current quarter's months taken from the pipeline forecast.

    Parameters
    ----------
    cube
        ``BookingsForecast.forecast(...)`` output (Dataset with ``bookings``) or its
        ``bookings`` DataArray, dims ``rep × period × draw`` (``period`` = ``YYYY-MM``).
    quarter
        :func:`quarter_forecast` output (``bookings(rep, period, draw)``).

    Returns
    -------
    xr.DataArray
        Same dims, coords and draws as ``cube``: for reps in both and the quarter's months in
        the cube, the pipeline draws (pipeline draw ``j mod D`` for cube draw ``j``); every
        other cell (later quarters, reps without pipeline) keeps the history model's draws.
        ``attrs["pipeline_quarter"]`` names the replaced quarter.
    """
    da = cube["bookings"] if isinstance(cube, xr.Dataset) else cube
    out = da.copy()
    reps = [r for r in da["rep"].values if r in set(quarter["rep"].values)]
    periods = [p for p in da["period"].values if p in set(quarter["period"].values)]
    if reps and periods:
        q = quarter["bookings"].sel(rep=reps, period=periods).reset_coords(drop=True)
        D = quarter.sizes["draw"]
        q = q.isel(draw=np.arange(da.sizes["draw"]) % D).assign_coords(draw=da["draw"].values)
        out.loc[{"rep": reps, "period": periods}] = q.transpose(*[d for d in da.dims]).values
    out.attrs = {**da.attrs, "pipeline_quarter": quarter.attrs.get("quarter", "")}
    return out
