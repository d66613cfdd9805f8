"""Figures of the executive scenario report and the what-if workbench.

Every function takes labelled arrays (a scenario cube from :mod:`spm_models.workflow`, or
frames derived from it) and returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from spm_models.cube import cube_view, tree_group

BLUE = "#1f4e79"
LIGHT = "#9dc3e6"
ORANGE = "#c55a11"
GREY = "#7f7f7f"


def money(x: float, _pos: int | None = None) -> str:
    """Compact money label: 1.2B, 34.5M, 12k."""
    a = abs(x)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{x / div:,.1f}{suffix}"
    return f"{x:,.0f}"


_MONEY = FuncFormatter(money)


def _fig(w: float = 8.0, h: float = 3.6) -> tuple[Figure, plt.Axes]:
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    return fig, fig.add_subplot()


def _quarter(periods: Sequence[str] | np.ndarray) -> list[str]:
    return [str(pd.Period(p, freq="M").asfreq("Q")) for p in periods]


def revenue_fan(tree: xr.DataTree | xr.Dataset, target: float | None = None,
                history_quarters: int = 8) -> Figure:
    """Quarterly company revenue: actuals (``/history``), then the forecast's P10–P90 and
    P25–P75 bands (``/forecast``) of a scenario result tree (or a cube without history)."""
    fig, ax = _fig()
    cube = cube_view(tree)
    history = tree_group(tree, "history") if isinstance(tree, xr.DataTree) else None
    comp = cube["bookings"].sum("rep")
    fq = comp.groupby(xr.DataArray(_quarter(comp["period"].values), dims=["period"],
                                   name="quarter")).sum("period")
    qs = np.quantile(fq.transpose("quarter", "draw").values, [0.1, 0.25, 0.5, 0.75, 0.9], axis=1)
    flabels = [str(q) for q in fq["quarter"].values]
    hlabels: list[str] = []
    if history is not None:
        h = history["bookings"].sum("rep")
        hq = h.groupby(xr.DataArray(_quarter(h["period"].values), dims=["period"],
                                    name="quarter")).sum("period")
        hq = hq.isel(quarter=slice(-history_quarters, None))
        hlabels = [str(q) for q in hq["quarter"].values]
        ax.plot(range(len(hlabels)), hq.values, "o-", color=GREY, label="actual")
    x = np.arange(len(hlabels), len(hlabels) + len(flabels))
    ax.fill_between(x, qs[0], qs[4], color=LIGHT, alpha=0.6, label="forecast P10–P90")
    ax.fill_between(x, qs[1], qs[3], color=BLUE, alpha=0.35, label="P25–P75")
    ax.plot(x, qs[2], "o-", color=BLUE, label="forecast P50")
    if target is not None:
        ax.axhline(target / max(len(flabels), 1), color=ORANGE, ls="--", lw=1,
                   label="company target ÷ quarters")
    ax.set_xticks(range(len(hlabels) + len(flabels)), hlabels + flabels, rotation=45, fontsize=8)
    ax.yaxis.set_major_formatter(_MONEY)
    ax.set_ylabel("bookings per quarter")
    ax.set_title("Quarterly revenue: actuals and forecast fan")
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    ax.grid(alpha=0.3)
    return fig


def distribution(values: np.ndarray, title: str, xlabel: str,
                 marks: Mapping[str, float] | None = None, percent: bool = False) -> Figure:
    """Histogram of draws with P10/P50/P90 lines and optional reference marks."""
    fig, ax = _fig(6.0, 3.2)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    ax.hist(v, bins=40, color=LIGHT, edgecolor="white")
    for q, ls in ((0.1, ":"), (0.5, "-"), (0.9, ":")):
        ax.axvline(np.quantile(v, q), color=BLUE, ls=ls, lw=1.2, label=f"P{int(q * 100)}")
    for label, x in (marks or {}).items():
        ax.axvline(x, color=ORANGE, ls="--", lw=1.2, label=label)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0) if percent else _MONEY)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_yticks([])
    ax.legend(fontsize=8)
    return fig


def attainment_distribution(tree: xr.DataTree | xr.Dataset) -> Figure:
    """Projected plan-year attainment of every rep (all draws pooled) with the 100 % line."""
    cube = cube_view(tree)
    from spm_models import figures

    att_da = figures.attainment(cube["bookings"], cube["quota"])
    share = float(figures.share_at_quota(att_da).mean())
    att = att_da.values.ravel()
    att = att[np.isfinite(att)]
    fig, ax = _fig(6.0, 3.2)
    ax.hist(np.clip(att, 0, 3), bins=60, color=LIGHT, edgecolor="white")
    ax.axvline(1.0, color=ORANGE, ls="--", label="quota (100 %)")
    ax.set_title(f"Projected attainment, all reps × draws ({share:.0%} at or above quota)")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("plan-year attainment (clipped at 300 %)")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    return fig


def payout_distribution(tree: xr.DataTree | xr.Dataset) -> Figure:
    """Per-rep plan-year payout: median and P10–P90 range, reps sorted by median."""
    cube = cube_view(tree)
    pay = cube["payout"].sum("period")
    q = np.quantile(pay.transpose("rep", "draw").values, [0.1, 0.5, 0.9], axis=1)
    order = np.argsort(q[1])
    fig, ax = _fig(6.0, 3.2)
    x = np.arange(len(order))
    ax.fill_between(x, q[0][order], q[2][order], color=LIGHT, label="P10–P90")
    ax.plot(x, q[1][order], color=BLUE, lw=1.5, label="P50")
    ti = (np.asarray(cube["target_incentive"].values, dtype=float)[order]
          if "target_incentive" in cube else np.full(len(order), np.nan))
    if np.isfinite(ti).any():  # no legend entry for a line that is not drawn
        ax.plot(x, ti, color=ORANGE, ls="--", lw=1, label="target incentive")
    ax.yaxis.set_major_formatter(_MONEY)
    ax.set_xlabel("reps, sorted by median payout")
    ax.set_ylabel("plan-year payout")
    ax.set_title("Payout per rep")
    ax.legend(fontsize=8)
    return fig


def quota_fairness(fairness: pd.DataFrame) -> Figure:
    """Each rep's probability of reaching quota (histogram) and quota vs forecast median."""
    fig = Figure(figsize=(9.0, 3.2), dpi=100, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    p = fairness["p_reach_quota"].to_numpy(dtype=float)
    ax1.hist(p, bins=np.linspace(0, 1, 21), color=LIGHT, edgecolor="white")
    ax1.axvline(np.mean(p), color=BLUE, label=f"mean {np.mean(p):.0%}")
    ax1.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax1.set_title("P(rep reaches quota)")
    ax1.set_yticks([])
    ax1.legend(fontsize=8)
    ax2.scatter(fairness["forecast_p50"], fairness["quota"], s=10, color=BLUE, alpha=0.7)
    lim = float(np.nanmax([fairness["forecast_p50"].max(), fairness["quota"].max(), 1.0]))
    ax2.plot([0, lim], [0, lim], color=GREY, ls="--", lw=1, label="quota = forecast P50")
    ax2.xaxis.set_major_formatter(_MONEY)
    ax2.yaxis.set_major_formatter(_MONEY)
    ax2.set_xlabel("forecast P50 (plan year)")
    ax2.set_ylabel("quota")
    ax2.set_title("Quota vs forecast")
    ax2.legend(fontsize=8)
    return fig


def territory_map(accounts: pd.DataFrame, color_by: str = "territory_id") -> Figure | None:
    """Accounts at their latitude/longitude coloured by territory (no map tiles)."""
    if accounts is None or not {"lat", "lon"} <= set(accounts.columns) or color_by not in accounts:
        return None
    acc = accounts.dropna(subset=["lat", "lon"])
    acc = acc[~((acc["lat"] == 0) & (acc["lon"] == 0))]  # (0, 0): an unknown location
    codes, uniques = pd.factorize(acc[color_by].astype(str))
    fig, ax = _fig(7.5, 4.2)
    size = np.sqrt(acc["potential"] / acc["potential"].median()) * 8 if "potential" in acc else 8
    ax.scatter(acc["lon"], acc["lat"], c=codes % 20, cmap="tab20", s=size, alpha=0.7,
               linewidths=0)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_aspect(1.25)
    ax.set_title(f"Accounts by territory ({len(uniques)} territories; size = potential)")
    ax.grid(alpha=0.3)
    return fig


def scenario_intervals(summaries: Sequence[Mapping], key: str, title: str) -> Figure:
    """P10–P90 bar with P50 dot for each scenario's ``key`` (e.g. revenue, incentive_cost)."""
    fig, ax = _fig(7.0, 1.0 + 0.45 * max(len(summaries), 1))
    names = [str(s["scenario"]) for s in summaries]
    for i, s in enumerate(summaries):
        q = s[key]
        ax.plot([q["p10"], q["p90"]], [i, i], color=LIGHT, lw=8, solid_capstyle="butt")
        ax.plot([q["p50"]], [i], "o", color=BLUE)
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.4, -0.6)
    ax.margins(x=0.08)
    ax.xaxis.set_major_formatter(_MONEY)
    ax.set_title(title + " (bar P10–P90, dot P50)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def territory_frame(tree: xr.DataTree | xr.Dataset) -> pd.DataFrame | None:
    """The ``/territory`` group (``territory_before``/``territory_after``, ``lat``, ``lon``,
    ``potential``, ``account_moved`` along ``account``) as a frame, or None without one."""
    cube = tree_group(tree, "territory") if isinstance(tree, xr.DataTree) else tree
    need = {"territory_before", "territory_after", "lat", "lon"}
    if cube is None or not need <= set(cube.data_vars):
        return None
    df = pd.DataFrame({"account_id": cube["account"].values.astype(str),
                       "lat": cube["lat"].values, "lon": cube["lon"].values,
                       "territory_id_before": cube["territory_before"].values.astype(str),
                       "territory_id": cube["territory_after"].values.astype(str)})
    df["potential"] = cube["potential"].values if "potential" in cube else 1.0
    df["moved"] = (cube["account_moved"].values.astype(bool) if "account_moved" in cube
                   else (df["territory_id"] != df["territory_id_before"]).to_numpy())
    return df[~((df["lat"] == 0) & (df["lon"] == 0))].dropna(subset=["lat", "lon"])


def _centres(df: pd.DataFrame, column: str) -> pd.DataFrame:
    w = df["potential"].clip(lower=1e-9)
    g = df.assign(w=w, wlat=w * df["lat"], wlon=w * df["lon"]).groupby(column)
    out = pd.DataFrame({"lat": g["wlat"].sum() / g["w"].sum(), "lon": g["wlon"].sum() / g["w"].sum()})
    return out.reset_index().rename(columns={column: "territory_id"})


#: above this many territories the centre crosses are left out of the maps (they hide the accounts)
MAX_CENTRES_SHOWN = 40


def _main_extent(df: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Longitude/latitude limits of the main body of accounts and how many accounts fall
    outside: accounts farther from the median location than 1.25 × the 97th-percentile distance
    are remote (e.g. Alaska and Hawaii for a US organisation, which would shrink the mainland)."""
    from spm_models.planning.geo import haversine_km

    lat0, lon0 = float(df["lat"].median()), float(df["lon"].median())
    d = haversine_km(df["lat"].to_numpy(float), df["lon"].to_numpy(float),
                     np.full(len(df), lat0), np.full(len(df), lon0))
    inside = d <= 1.25 * np.quantile(d, 0.97)
    body = df[inside]
    lon = (float(body["lon"].min()) - 1.0, float(body["lon"].max()) + 1.0)
    lat = (float(body["lat"].min()) - 1.0, float(body["lat"].max()) + 1.0)
    shown = df["lon"].between(*lon) & df["lat"].between(*lat)
    return lon, lat, int((~shown).sum())


def territory_before_after(cube: xr.DataTree | xr.Dataset) -> Figure | None:
    """Maps of the accounts coloured by territory before (top) and after (bottom) balancing
    (same colour per territory in both; moved accounts outlined in black; crosses mark the
    potential-weighted territory centres when there are at most :data:`MAX_CENTRES_SHOWN`).
    The maps show the bulk of the accounts; remote ones are counted in the title. None when
    the cube has no account variables."""
    from spm_models.plots.planning import plot_territory_map

    df = territory_frame(cube)
    if df is None or df.empty:
        return None
    lon, lat, n_out = _main_extent(df)
    k = df["territory_id"].nunique()
    show_centres = k <= MAX_CENTRES_SHOWN
    fig = Figure(figsize=(10.0, 10.5), dpi=100)
    axes = fig.subplots(2, 1)
    n_moved = int(df["moved"].sum())
    outside = f"; {n_out:,} remote accounts outside the map" if n_out else ""
    plot_territory_map(df.drop(columns=["moved"]),
                       _centres(df, "territory_id_before") if show_centres else None,
                       column="territory_id_before", ax=axes[0],
                       title=f"Current alignment: {k} territories, {len(df):,} accounts{outside}")
    plot_territory_map(df, _centres(df, "territory_id") if show_centres else None, ax=axes[1],
                       title=f"Balanced alignment: {n_moved:,} accounts moved (black outline)")
    for ax in axes:
        ax.set_xlim(*lon)
        ax.set_ylim(*lat)
        ax.grid(alpha=0.3)
        for coll in ax.collections[:1]:
            coll.set_linewidths(0.4)
    fig.tight_layout()
    return fig


def capacity_fan(tree: xr.DataTree | xr.Dataset, target: float | None = None) -> Figure | None:
    """Cumulative bookings capacity fan (P10–P90, P50) vs the target, with headcount and ramped
    FTE (``spm_models.plots.planning.plot_capacity`` on the ``/capacity`` group)."""
    from spm_models.plots.planning import plot_capacity

    cap = tree_group(tree, "capacity") if isinstance(tree, xr.DataTree) else tree
    if cap is None or "capacity" not in cap:
        return None
    ds = cap[["capacity", "headcount", "ramped_fte"]]
    fig = plot_capacity(ds, target)
    plt.close(fig)  # drawn through pyplot: close so the notebook does not show it twice
    ax = fig.axes[0]
    ax.yaxis.set_major_formatter(_MONEY)
    ax.set_title("Cumulative bookings capacity of the sales force (band P10–P90, line P50)")
    ax.grid(alpha=0.3)
    ax.set_ylabel("cumulative bookings")
    fig.axes[1].set_ylabel("reps")
    fig.axes[1].grid(alpha=0.3)
    fig.tight_layout()  # again: the money tick labels changed the left margin
    return fig
