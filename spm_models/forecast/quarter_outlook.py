"""The in-quarter outlook: which parts of the forecast the data allow, and the quarter's draws.

:func:`quarter_outlook` is the one place that decides how the bookings of the calendar quarter
holding an as-of date are forecast (``spm forecast pipeline`` and the scenario workflow's
pipeline step both call it):

* with an ``opportunities`` table **and** enough ``opportunity_history`` before the as-of date:
  closed-to-date + the win-and-timing model's simulation of the open pipeline + not-yet-created
  business − cancellations (:func:`spm_models.forecast.quarter.quarter_forecast`);
* otherwise (no opportunities, no stage history, too little history): closed-to-date + the
  bookings model (fast fit on the complete months before the as-of month) for the rest of the
  quarter, with a note saying so.

Only information strictly before the as-of date is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.data.dates import month_stamp
from spm_models.errors import InputError


@dataclass
class QuarterOutlook:
    """Draws of one quarter's bookings and how they were made.

    ``quarter`` is an ``xarray.Dataset`` with ``bookings(rep, period, draw)`` (currency, the
    quarter's three months, closed-to-date included), ``closed(rep, period)`` and coord
    ``region(rep)``; attrs ``quarter`` (``YYYY-Qn``), ``as_of`` and ``parts``.
    """

    quarter: xr.Dataset
    notes: list[str]
    #: whether the open pipeline (win model) was used
    pipeline_used: bool
    #: the win model's fit information (rows, seconds, sampler) when it was fitted
    fit_info: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``YYYY-Qn`` of the forecast quarter."""
        return str(self.quarter.attrs["quarter"])

    def totals(self) -> tuple[xr.DataArray, xr.DataArray]:
        """Quarter totals per rep: ``bookings(rep, draw)`` and ``closed(rep)``."""
        return self.quarter["bookings"].sum("period"), self.quarter["closed"].sum("period")

    def table(self) -> pd.DataFrame:
        """The contract table of ``quarter_forecast.csv`` (company, region and rep rows)."""
        from spm_models.forecast.quarter import levels_table

        draws, closed = self.totals()
        return levels_table(draws, closed, self.label)


def quarter_outlook(tables: Mapping[str, pd.DataFrame], as_of: str | int, *, n_draws: int = 1000,
                    seed: int = 0, draws: int = 250, tune: int = 250, chains: int = 2,
                    bookings_cube: xr.DataArray | None = None) -> QuarterOutlook:
    """Forecast the bookings of the calendar quarter holding ``as_of``.

    Parameters
    ----------
    tables
        Validated tables: ``bookings`` (required); ``opportunities`` and
        ``opportunity_history`` for the pipeline parts; ``reps`` for regions and departures.
    as_of
        ``YYYY-MM-DD`` (or days since epoch); only information strictly before it is used.
    n_draws
        Predictive draws.
    seed
        Random seed (win-model fit and simulation).
    draws, tune, chains
        NUTS settings of the win model (:func:`spm_models.forecast.win_model.fit_win_model`).
    bookings_cube
        Draws of the bookings model ``bookings(rep, period, draw)`` to use for the rest of the
        quarter when the pipeline is not used (e.g. the scenario's forecast, fitted on the
        same data); used only when it covers every month from the as-of month to the
        quarter's end, otherwise the bookings model is fitted (fast, ADVI).

    Returns
    -------
    QuarterOutlook
        The draws (``rep × period × draw``) and notes naming the parts used.

    Raises
    ------
    InputError
        Without a ``bookings`` table, or without bookings before the as-of month when the
        bookings model is needed.
    """
    from spm_models.forecast.opportunities import OppBook, to_day
    from spm_models.forecast.quarter import quarter_forecast
    from spm_models.forecast.win_model import fit_win_model

    a = as_of if isinstance(as_of, int | np.integer) else to_day(as_of)
    if "bookings" not in tables:
        raise InputError("bookings: table missing (needed for forecasting)")
    notes: list[str] = []
    book = OppBook.from_tables(tables) if "opportunities" in tables else None
    model = None
    if book is None:
        notes.append("no opportunities table: bookings model only")
    elif not book.has_history:
        notes.append("no opportunity_history table: bookings model only (a pipeline without "
                     "stage history cannot be seen as it stood before the as-of date)")
    else:
        try:
            model = fit_win_model(book, a, draws=draws, tune=tune, chains=chains, seed=seed)
        except InputError as exc:
            notes.append(f"{exc}: bookings model only")
    if model is not None:
        ds = quarter_forecast(tables, a, model, book=book, n_draws=n_draws, seed=seed)
        notes.append("parts used: " + ds.attrs["parts"].replace(",", ", ")
                     + f" (win model: {model.info['rows']} training snapshot rows)")
        return QuarterOutlook(ds, notes, True, dict(model.info))
    stamp = month_stamp(tables["bookings"]["date"])
    cube = _covering(bookings_cube, a, stamp)
    ds = bookings_only_quarter(tables, a, book, n_draws, seed, cube)
    if stamp is not None:
        notes.append(f"bookings are dated by month (every date is the {_STAMP_WORDS[stamp]}): "
                     "a month dated before the as-of date counts as closed in full, later "
                     "months are forecast in full")
    notes.append("parts used: " + ds.attrs["parts"].replace(",", ", ") + " (rest of the quarter"
                 + (", the given forecast's draws)" if cube is not None else ")"))
    return QuarterOutlook(ds, notes, False)


_STAMP_WORDS = {"start": "first of its month", "end": "last day of its month"}


def first_open_month(a: int, stamp: str | None) -> pd.Period:
    """The first month the bookings model forecasts for as-of day ``a``: the as-of month,
    except for bookings stamped on the first of the month (:func:`month_stamp` ``"start"``)
    when ``a`` is after that first day -- the as-of month's row is then already known."""
    m = pd.Timestamp(np.datetime64(a, "D")).to_period("M")
    if stamp == "start" and pd.Timestamp(np.datetime64(a, "D")) > m.start_time:
        return m + 1
    return m


def _covering(cube: xr.DataArray | None, a: int, stamp: str | None = None) -> xr.DataArray | None:
    """``cube`` when its periods hold every month the outlook forecasts for day ``a``
    (:func:`first_open_month` to the quarter's end)."""
    from spm_models.forecast.win_model import quarter_bounds

    if cube is None:
        return None
    _, h = quarter_bounds(a)
    m0 = first_open_month(a, stamp)
    m1 = pd.Timestamp(np.datetime64(h, "D")).to_period("M")
    need = {str(m0 + i) for i in range((m1 - m0).n + 1)}
    return cube if need <= {str(p) for p in cube["period"].values} else None


def forecast_quarter(tables: Mapping[str, pd.DataFrame], as_of: str, *, n_draws: int = 1000,
                     seed: int = 0, draws: int = 250, tune: int = 250,
                     chains: int = 2) -> tuple[pd.DataFrame, list[str]]:
    """The contract's ``quarter_forecast.csv`` table for ``as_of`` and the notes on the parts
    used (:func:`quarter_outlook`; same parameters and errors)."""
    out = quarter_outlook(tables, as_of, n_draws=n_draws, seed=seed, draws=draws, tune=tune,
                          chains=chains)
    return out.table(), out.notes


def bookings_only_quarter(tables: Mapping[str, pd.DataFrame], a: int, book: Any, n_draws: int,
                          seed: int, cube: xr.DataArray | None = None) -> xr.Dataset:
    """Closed-to-date + the bookings model for the rest of the quarter holding day ``a``.

    Each month of the quarter gets its bookings before ``a`` plus the bookings model's draws
    times the share of the month still ahead (0 for months already over). Month-stamped
    bookings (:func:`spm_models.data.dates.month_stamp`, one row per rep and month) make a
    month all closed or all ahead: closed when its stamp is before ``a``. Returns the same
    layout as :func:`spm_models.forecast.quarter.quarter_forecast` (``bookings``, ``closed``,
    coord ``region``; attrs ``quarter``, ``as_of``, ``parts``). ``cube`` (bookings-model
    draws covering the months ahead) is fitted by :func:`bookings_model_cube` when None; reps
    of the quarter that it lacks get zero for the months ahead.
    """
    from spm_models.forecast.quarter import _bookings_before, _months, active_reps
    from spm_models.forecast.win_model import quarter_bounds, quarter_label

    q0, h = quarter_bounds(a)
    stamp = month_stamp(tables["bookings"]["date"])
    m_open = first_open_month(a, stamp)
    ahead = m_open <= pd.Timestamp(np.datetime64(h, "D")).to_period("M")
    if cube is None and ahead:
        cube = bookings_model_cube(tables, a, n_draws, seed)
    reps = active_reps(tables, book, a)
    rix = pd.Index(reps["rep_id"])
    periods = _months(q0, h)
    starts = np.array([np.datetime64(p, "M").astype("datetime64[D]").astype(np.int64)
                       for p in periods])
    ends = np.r_[starts[1:] - 1, h]
    if stamp is None:
        share = np.array([max(0, e - max(s, a) + 1) / (e - s + 1)
                          for s, e in zip(starts, ends, strict=True)])
    else:
        share = np.array([float(pd.Period(p, "M") >= m_open) for p in periods])
    bk = _bookings_before(tables, a)
    cur = bk[bk["day"] >= q0]
    closed = np.zeros((len(reps), 3))
    ri = rix.get_indexer(cur["rep_id"])
    ok = ri >= 0
    m = np.searchsorted(starts, cur["day"].to_numpy()[ok], side="right") - 1
    np.add.at(closed, (ri[ok], m), cur["amount"].to_numpy()[ok])
    if cube is None:  # every month of the quarter is closed
        x = np.zeros((len(reps), len(periods), n_draws))
    else:
        x = (cube.reindex(rep=reps["rep_id"].to_numpy(), period=periods, fill_value=0.0)
             .transpose("rep", "period", "draw").values)
    total = closed[:, :, None] + x * share[None, :, None]
    return xr.Dataset(
        {"bookings": (("rep", "period", "draw"), total), "closed": (("rep", "period"), closed)},
        coords={"rep": reps["rep_id"].to_numpy().astype(str), "period": periods,
                "draw": np.arange(total.shape[2]),
                "region": ("rep", reps["region"].to_numpy().astype(str))},
        attrs={"quarter": quarter_label(a), "as_of": str(np.datetime64(a, "D")),
               "parts": "closed_to_date,bookings_model"},
    )


def bookings_model_cube(tables: Mapping[str, pd.DataFrame], a: int, n_draws: int,
                        seed: int) -> xr.DataArray:
    """Fast bookings-model forecast (ADVI) from the as-of month (:func:`first_open_month`) to
    the quarter's end, fitted on the complete months before it: ``bookings(rep, period, draw)``.

    Raises :class:`InputError` without bookings before the as-of month."""
    from spm_models.forecast.model import BookingsForecast
    from spm_models.forecast.panel import monthly_panel
    from spm_models.forecast.win_model import quarter_bounds

    m0 = first_open_month(a, month_stamp(tables["bookings"]["date"]))
    _, h = quarter_bounds(a)
    m_end = pd.Timestamp(np.datetime64(h, "D")).to_period("M")
    b = tables["bookings"]
    sub = dict(tables)
    sub["bookings"] = b[pd.to_datetime(b["date"]) < m0.start_time]
    if len(sub["bookings"]) == 0:
        raise InputError("bookings: no bookings before the as-of month (nothing to forecast from)")
    panel = monthly_panel(sub, end=str(m0 - 1))
    model = BookingsForecast().fit(panel, method="fast", seed=seed)
    return model.forecast(str(m0), (m_end - m0).n + 1, n_draws=n_draws, seed=seed)["bookings"]
