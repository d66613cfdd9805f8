"""Small static images for the plan documents: the territory map and the rep's pay curve.

Both are matplotlib PNGs returned as base64 text (inlined in the HTML, no network). Drawing
1,000 documents is dominated by matplotlib, so each renderer builds its figure once and only
updates the artists' data between images; territory maps are cached per territory.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

ACCENT = "#1f4e79"
DPI = 80


def _short_money(x: float, _pos: Any = None) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.1f}M"
    if a >= 1e3:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


class MapRenderer:
    """Territory maps: every account in light grey, the territory's accounts highlighted.

    ``accounts``: columns ``lat``, ``lon``, ``territory`` (the territory each account belongs
    to in this scenario) and optionally ``potential`` (dot size). Accounts at (0, 0) or without
    coordinates are left out.
    """

    def __init__(self, accounts: pd.DataFrame):
        acc = accounts.dropna(subset=["lat", "lon"])
        acc = acc[~((acc["lat"] == 0) & (acc["lon"] == 0))]
        self.acc = acc.reset_index(drop=True)
        pot = self.acc["potential"].to_numpy(float) if "potential" in self.acc else np.ones(len(self.acc))
        med = np.median(pot[pot > 0]) if (pot > 0).any() else 1.0
        self.size = np.clip(np.sqrt(np.clip(pot, 0, None) / med) * 14, 3, 60)
        self.groups = {str(k): np.asarray(v) for k, v in
                       self.acc.groupby(self.acc["territory"].astype(str)).indices.items()}
        self.fig, self.ax = plt.subplots(figsize=(3.6, 2.7))
        self.ax.scatter(self.acc["lon"], self.acc["lat"], s=3, c="#d0d4d9", linewidths=0)
        self.hi = self.ax.scatter([], [], s=[], c=ACCENT, alpha=0.8, linewidths=0)
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        self.fig.subplots_adjust(0.02, 0.02, 0.98, 0.98)
        self._cache: dict[str, str | None] = {}

    def accounts_of(self, territory: str) -> pd.DataFrame:
        idx = self.groups.get(str(territory))
        return self.acc.iloc[idx] if idx is not None else self.acc.iloc[:0]

    def png(self, territory: str) -> str | None:
        """Base64 PNG of ``territory``'s accounts (None when it has none); cached."""
        key = str(territory)
        if key not in self._cache:
            self._cache[key] = self._draw(key)
        return self._cache[key]

    def _draw(self, key: str) -> str | None:
        idx = self.groups.get(key)
        if idx is None or len(idx) == 0:
            return None
        sub = self.acc.iloc[idx]
        xy = sub[["lon", "lat"]].to_numpy(float)
        self.hi.set_offsets(xy)
        self.hi.set_sizes(self.size[idx])
        (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
        span = max(x1 - x0, (y1 - y0) * 1.33, 1.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.ax.set_xlim(cx - span * 0.8, cx + span * 0.8)
        self.ax.set_ylim(cy - span * 0.6, cy + span * 0.6)
        return _png(self.fig)

    def close(self) -> None:
        plt.close(self.fig)


class CurveRenderer:
    """The pay curve (plan-year earnings against attainment) with the rep's quota marked and
    the scenario's P10–P90 range of the rep's attainment shaded."""

    def __init__(self, currency: str = ""):
        self.fig, self.ax = plt.subplots(figsize=(5.2, 2.9))
        ax = self.ax
        self.band = Rectangle((0, 0), 0, 1, color=ACCENT, alpha=0.12, lw=0,
                              transform=ax.get_xaxis_transform())
        ax.add_patch(self.band)
        (self.line,) = ax.plot([], [], color=ACCENT, lw=2)
        self.quota_line = ax.axvline(100, color="#888", ls="--", lw=1)
        (self.point,) = ax.plot([], [], "o", color="#c0392b", ms=6)
        self.label = ax.annotate("", (0, 0), xytext=(6, -14), textcoords="offset points",
                                 fontsize=8, color="#c0392b")
        ax.set_xlabel("attainment of your quota (%)", fontsize=8)
        ax.set_ylabel(f"plan-year earnings {currency}".strip(), fontsize=8)
        ax.yaxis.set_major_formatter(FuncFormatter(_short_money))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        self.fig.subplots_adjust(0.14, 0.17, 0.98, 0.97)

    def png(self, grid: np.ndarray, earnings: np.ndarray, at_quota: float,
            band: tuple[float, float] | None = None) -> str:
        """Base64 PNG; ``grid`` attainments (1.0 = 100 %), ``earnings`` at each,
        ``at_quota`` earnings at 100 %, ``band`` the attainment P10–P90 (or None)."""
        x = np.asarray(grid) * 100
        self.line.set_data(x, earnings)
        self.point.set_data([100], [at_quota])
        self.label.xy = (100, at_quota)
        self.label.set_text(f"your quota: {_short_money(at_quota)}")
        if band is not None and all(np.isfinite(band)):
            lo, hi = (max(0.0, min(b * 100, x[-1])) for b in band)
            self.band.set_x(lo)
            self.band.set_width(max(hi - lo, 0.5))
            self.band.set_visible(True)
        else:
            self.band.set_visible(False)
        top = float(np.nanmax(earnings)) if len(earnings) else 1.0
        self.ax.set_xlim(0, x[-1])
        self.ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
        return _png(self.fig)

    def close(self) -> None:
        plt.close(self.fig)
