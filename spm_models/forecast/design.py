"""Design of the deal model: index arrays and observations of a panel's active rep-months.

:func:`design` turns a monthly panel (:func:`spm_models.forecast.panel.monthly_panel`) into a
:class:`Design`: per active cell ``(N,)`` the rep index, period, time in years from the
panel's middle, fiscal month, tenure, deal count and gross bookings; per rep ``(R,)`` region
and territory codes; and the panel-level cancellation and attrition figures the forecast
uses. Raises :class:`~spm_models.errors.InputError` when the panel lacks a field or has no
active rep-month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from spm_models.errors import InputError


@dataclass
class Design:
    """Index arrays and observations of the active cells of a panel."""

    rep: np.ndarray  # rep labels
    region_idx: np.ndarray  # (R,) region code of each rep
    terr_idx: np.ndarray  # (R,) territory code of each rep
    regions: np.ndarray
    territories: np.ndarray  # unique "region|territory" keys
    r: np.ndarray  # (N,) rep index of each active cell
    t: np.ndarray  # (N,) period index
    tyear: np.ndarray  # (N,) (t - t_mid)/12
    fm: np.ndarray  # (N,) fiscal month
    tenure: np.ndarray  # (N,)
    deals: np.ndarray  # (N,)
    gross: np.ndarray  # (N,)
    t_mid: float
    total_deals: int
    total_cancels: int
    cancel_size_ratio: float
    attrition_monthly: float


def territory_keys(region: np.ndarray, territory: np.ndarray) -> np.ndarray:
    """Unique territory keys ``"region|territory"`` ``(R,)`` (territory ids may repeat across regions)."""
    return np.asarray([f"{g}|{t}" for g, t in zip(region, territory)], dtype=str)


def design(panel: xr.Dataset) -> Design:
    """The :class:`Design` of ``panel`` (see the module docstring); raises InputError."""
    need = ("deals", "gross", "active", "tenure", "fiscal_month", "cancels", "cancel_amount")
    missing = [v for v in need if v not in panel]
    if missing:
        raise InputError([f"panel, field '{v}': missing (build it with monthly_panel)" for v in missing])
    active = np.asarray(panel["active"].values, dtype=bool)
    if not active.any():
        raise InputError("bookings: no active rep-months to fit")
    region = np.asarray(panel["region"].values).astype(str)
    territory = np.asarray(panel["territory_id"].values).astype(str)
    regions, region_idx = np.unique(region, return_inverse=True)
    tkeys = territory_keys(region, territory)
    territories, terr_idx = np.unique(tkeys, return_inverse=True)
    r, t = np.nonzero(active)
    n_t = panel.sizes["period"]
    t_mid = (n_t - 1) / 2.0
    deals = np.asarray(panel["deals"].values)[r, t].astype(np.int64)
    gross = np.asarray(panel["gross"].values)[r, t].astype(float)
    gross = np.where(deals > 0, np.maximum(gross, 1e-9), 0.0)
    fm = np.asarray(panel["fiscal_month"].values)[t].astype(float)
    tenure = np.maximum(np.asarray(panel["tenure"].values)[r, t], 0).astype(float)
    all_deals = np.asarray(panel["deals"].values)
    all_gross = np.asarray(panel["gross"].values)
    cancels = np.asarray(panel["cancels"].values)
    camount = np.asarray(panel["cancel_amount"].values)
    # cancellations land 1-3 months after the deal and are seen only while the rep is on the
    # books: deals of a rep's last three observable months (panel end, or the term month of a
    # rep who left) count with the share of that window we can observe. A rep's last
    # observable month is the later of the last active month and the last month with any
    # booking row (real data may charge cancellations to reps after they left).
    t_idx = np.arange(n_t)
    seen = active | (all_deals > 0) | (cancels > 0)
    last_obs = np.where(seen.any(axis=1), n_t - 1 - np.argmax(seen[:, ::-1], axis=1), n_t - 1)
    window = np.clip((last_obs[:, None] - t_idx[None, :]) / 3.0, 0.0, 1.0)
    total_deals = round(float((all_deals * window).sum()))
    total_cancels = int(cancels.sum())
    if total_cancels > 0 and total_deals > 0:
        ratio = float((camount.sum() / total_cancels) / (all_gross.sum() / max(int(all_deals.sum()), 1)))
    else:
        ratio = 1.0
    # attrition: terminations inside the panel / active rep-months
    term = np.asarray(panel["term_month"].values).astype(str) if "term_month" in panel.coords else None
    periods = set(np.asarray(panel["period"].values).astype(str))
    n_terms = int(sum(1 for x in term if x and x in periods)) if term is not None else 0
    attrition = (n_terms + 0.5) / (active.sum() + 1.0)
    return Design(
        rep=np.asarray(panel["rep"].values).astype(str),
        region_idx=region_idx,
        terr_idx=terr_idx,
        regions=regions,
        territories=territories,
        r=r,
        t=t,
        tyear=(t - t_mid) / 12.0,
        fm=fm,
        tenure=tenure,
        deals=deals,
        gross=gross,
        t_mid=t_mid,
        total_deals=total_deals,
        total_cancels=min(total_cancels, total_deals),
        cancel_size_ratio=ratio,
        attrition_monthly=float(attrition),
    )

