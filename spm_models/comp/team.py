"""Who is credited with whose simulated bookings in a scenario world (``docs/scenario_world.md``).

The scenario world (:mod:`spm_models.planning.world`) simulates the bookings of its *quota
carriers* — today's reps and the planned hires — per draw, zero while a rep is not active.
Managers and overlay roles (e.g. sales engineers) book nothing of their own: they are
credited through the ``rollup`` rule of their plan (part 2 of the plan contract) on a
crediting hierarchy built here, so their credits come from the same simulated bookings:

* **Managers** (:func:`carrier_managers`): a current rep reports to its ``manager_id`` in the
  reps table when that manager is employed in the plan year. A hire — or a rep whose manager
  has left — joins a manager of its region: the region's managers (of quota carriers, employed
  in the plan year) ordered by plan-day team size (smallest first, then ``rep_id``), the
  ``k``-th such rep of the region going to the ``k mod n``-th manager; without a manager in the
  region, the company's managers in the same way. Managers' own ``manager_id`` chains are kept
  (multi-level roll-up).
* **Overlay pods** (:func:`overlay_cover`): each quota carrier is covered by one overlay rep of
  each overlay role: one reporting to the carrier's manager when there is any, else one of the
  carrier's region; carriers are dealt round-robin (today's reps by position, then hires in
  start order) over the group's overlay reps ordered by ``rep_id``, so pods are about equal.

Because the world's bookings are zero outside a rep's active months, a leaver's bookings stop
reaching its manager and overlay from the month it leaves, and a hire's start from its first
month. Quotas roll up the same way (plan-day quotas: a leaver's quota stays with the team).

Shares of filtered measures (``where``/``amount``; :func:`world_shares`): each rep's share from
its own booking history (:func:`spm_models.comp.credit_cube.history_shares`), else its region's
pooled share (hires, transfers), else the company's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.comp.credit_cube import history_shares
from spm_models.comp.plan import CreditRule, Plan

#: labels along ``rep`` (rep ids, regions): a sequence or a numpy array
Labels = Sequence[str] | np.ndarray


def _text(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str).str.strip()


def employed(reps: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Boolean per row of ``reps``: employed at some point of ``[start, end]`` (no ``term_date``
    before ``start``, no ``hire_date`` after ``end``)."""
    ok = pd.Series(True, index=reps.index)
    if "term_date" in reps:
        term = pd.to_datetime(reps["term_date"], errors="coerce")
        ok &= term.isna() | (term >= start)
    if "hire_date" in reps:
        ok &= pd.to_datetime(reps["hire_date"], errors="coerce").fillna(start) <= end
    return ok


def plan_year(periods: Sequence[Any]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First day of the first and last day of the last month of ``periods`` (``YYYY-MM``)."""
    return (pd.Period(str(periods[0]), freq="M").to_timestamp(),
            pd.Period(str(periods[-1]), freq="M").to_timestamp("M"))


def _round_robin(keys: Sequence[Any], pools: Mapping[Any, list[str]]) -> list[str]:
    """For each of ``keys`` (in order) the next member of ``pools[key]`` round-robin ("" when
    the pool is empty or missing)."""
    count: dict[Any, int] = {}
    out = []
    for k in keys:
        pool = pools.get(k) or []
        if not pool:
            out.append("")
            continue
        i = count.get(k, 0)
        out.append(pool[i % len(pool)])
        count[k] = i + 1
    return out


def carrier_managers(reps: pd.DataFrame, carriers: Labels, regions: Labels,
                     periods: Sequence[Any]) -> dict[str, str]:
    """The crediting hierarchy ``rep → manager`` of a world's quota carriers (see the module
    docstring), plus the managers' own ``manager_id`` chains. ``carriers`` in cube order
    (today's reps, then hires in start order), ``regions`` aligned with them; ``reps`` the reps
    table (``rep_id``, ``manager_id``, optional ``region``, ``hire_date``, ``term_date``).
    Empty when the table has no ``manager_id``."""
    if "manager_id" not in reps:
        return {}
    start, end = plan_year(periods)
    tab = reps.assign(rep_id=_text(reps["rep_id"]), manager_id=_text(reps["manager_id"]))
    tab = tab.drop_duplicates("rep_id").set_index("rep_id")
    ok = employed(tab, start, end)
    region_of = _text(tab["region"]) if "region" in tab else pd.Series("", index=tab.index)
    carriers = [str(c) for c in carriers]
    mgr_now = tab["manager_id"].reindex(carriers).fillna("").astype(str)
    valid = mgr_now.map(lambda m: bool(m) and m in ok.index and bool(ok.get(m, False)))
    # managers of quota carriers employed in the plan year, by plan-day team size then id
    size = mgr_now[valid].value_counts()
    mgrs = sorted(size.index, key=lambda m: (int(size[m]), m))
    by_region: dict[str, list[str]] = {}
    for m in mgrs:
        by_region.setdefault(str(region_of.get(m, "")), []).append(m)
    need = [i for i, c in enumerate(carriers) if not valid.iloc[i]]
    keys = [str(regions[i]) if str(regions[i]) in by_region else "*" for i in need]
    picked = _round_robin(keys, {**by_region, "*": mgrs})
    out = {c: m for c, m, v in zip(carriers, mgr_now, valid, strict=True) if v}
    out.update({carriers[i]: m for i, m in zip(need, picked, strict=True) if m})
    # the managers' own chains (multi-level roll-up), over managers employed in the plan year
    todo = list(dict.fromkeys(out.values()))
    while todo:
        m = todo.pop()
        up = str(tab["manager_id"].get(m, "") or "")
        if up and m not in out and bool(ok.get(up, False)) and up not in carriers:
            out[m] = up
            todo.append(up)
    return out


def overlay_cover(reps: pd.DataFrame, role: str, carriers: Labels, regions: Labels,
                  managers: Mapping[str, str], periods: Sequence[Any]) -> dict[str, str]:
    """``carrier → overlay rep`` of ``role`` (the overlay pods; see the module docstring):
    the overlay reps are the reps table's rows of ``role`` employed in the plan year;
    ``managers`` is :func:`carrier_managers`. An overlay rep whose manager leads no carrier
    (e.g. has left) covers its region. Carriers without an overlay rep of their manager or
    region are absent (not covered)."""
    start, end = plan_year(periods)
    tab = reps.assign(rep_id=_text(reps["rep_id"]))
    sel = tab[(_text(tab["role"]) == role) & employed(tab, start, end)] if "role" in tab else tab.iloc[:0]
    if sel.empty:
        return {}
    sel = sel.sort_values("rep_id")
    ids = sel["rep_id"].tolist()
    mgr = _text(sel["manager_id"]).tolist() if "manager_id" in sel else [""] * len(ids)
    reg = _text(sel["region"]).tolist() if "region" in sel else [""] * len(ids)
    by_mgr: dict[Any, list[str]] = {}
    by_reg: dict[Any, list[str]] = {}
    leads = set(managers.values())
    for i, m, g in zip(ids, mgr, reg, strict=True):
        if m in leads:  # an overlay whose manager left (or leads no carrier) covers its region
            by_mgr.setdefault(("m", m), []).append(i)
        by_reg.setdefault(("r", g), []).append(i)
    keys = []
    for c, g in zip(carriers, regions, strict=True):
        m = managers.get(str(c), "")
        keys.append(("m", m) if ("m", m) in by_mgr else ("r", str(g)))
    picked = _round_robin(keys, {**by_mgr, **by_reg})
    return {str(c): o for c, o in zip(carriers, picked, strict=True) if o}


def needs_shares(plan: Plan) -> bool:
    """Whether a measure of ``plan`` credits a part of the bookings (``where`` or ``amount``)."""
    return any((m.credit or CreditRule()).where or (m.credit or CreditRule()).amount != "amount"
               for m in plan.measures)


def world_shares(plan: Plan, history: pd.DataFrame, reps: pd.DataFrame | None,
                 rep_ids: Labels, regions: Labels, *,
                 name: str = "bookings") -> xr.DataArray:
    """Each world rep's share of its simulated bookings credited to each measure ``(rep,
    measure)``: its own history's (:func:`~spm_models.comp.credit_cube.history_shares`), else
    (no history: hires, transfers) its region's pooled share, else the company's.

    ``history``: the bookings table; ``reps``: the reps table (``rep_id``, ``region``) placing
    history reps in regions. Raises :class:`~spm_models.errors.InputError` naming ``name`` and
    the field when a column named by the plan is missing."""
    own = history_shares(plan, history, name=name)
    company = np.asarray(own.attrs.get("pooled", [1.0] * len(plan.measure_names)), dtype=float)
    rep_ids = [str(r) for r in rep_ids]
    out = np.tile(company, (len(rep_ids), 1))
    if reps is not None and "region" in reps:
        reg_of = pd.Series(_text(reps["region"]).to_numpy(), index=_text(reps["rep_id"]).to_numpy())
        reg_of = reg_of[~reg_of.index.duplicated()]
        hist = history.assign(rep_id=_text(history["rep_id"]).map(reg_of).fillna("").to_numpy())
        hist = hist[hist["rep_id"] != ""]
        if len(hist):
            by_reg = history_shares(plan, hist, name=name)
            regs = [str(g) for g in by_reg["rep"].values]
            for i, g in enumerate(regions):
                if str(g) in regs:
                    out[i] = by_reg.sel(rep=str(g)).values
    have = {str(r): k for k, r in enumerate(own["rep"].values)}
    for i, r in enumerate(rep_ids):
        if r in have:
            out[i] = own.values[have[r]]
    return xr.DataArray(out, dims=["rep", "measure"],
                        coords={"rep": rep_ids, "measure": plan.measure_names}, name="share",
                        attrs={"pooled": company.tolist()})
