"""US ZIP geography for the demo organisation: regions and k-means territories.

ZIP centroids come from the installed ``zipcodes`` package (no download at run time). Sales
regions are groups of states; territories are k-means clusters of ZIP centroids inside a region
(longitude scaled by ``cos(latitude)`` so distances are roughly isotropic).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2, vq

#: Sales regions as groups of US states (50 states + DC).
REGION_STATES: dict[str, tuple[str, ...]] = {
    "West": ("WA", "OR", "CA", "NV", "ID", "MT", "WY", "UT", "CO", "AZ", "NM", "AK", "HI"),
    "Central": ("ND", "SD", "NE", "KS", "OK", "TX", "MN", "IA", "MO", "AR", "LA", "WI", "IL",
                "MI", "IN", "OH"),
    "Northeast": ("ME", "NH", "VT", "MA", "RI", "CT", "NY", "NJ", "PA", "DE", "MD", "DC"),
    "Southeast": ("VA", "WV", "KY", "TN", "NC", "SC", "GA", "FL", "AL", "MS"),
}
#: Short codes used in territory ids, e.g. ``WST-0042``.
REGION_CODES: dict[str, str] = {"West": "WST", "Central": "CEN", "Northeast": "NEA",
                                "Southeast": "SEA"}


@lru_cache(maxsize=1)
def us_zips() -> pd.DataFrame:
    """Active standard US ZIP codes with centroids: ``zip, city, state, lat, lon, region``."""
    import zipcodes

    state_region = {s: r for r, states in REGION_STATES.items() for s in states}
    rows = [
        (z["zip_code"], z["city"], z["state"], z["lat"], z["long"])
        for z in zipcodes.list_all()
        # the package stores a few hundred ZIPs at (0, 0): no centroid, skip them
        if z["active"] and z["zip_code_type"] == "STANDARD"
        and float(z["lat"] or 0) != 0 and float(z["long"] or 0) != 0
        and z["state"] in state_region
    ]
    df = pd.DataFrame(rows, columns=["zip", "city", "state", "lat", "lon"])
    df["lat"] = df["lat"].astype(float)
    df["lon"] = df["lon"].astype(float)
    df["region"] = df["state"].map(state_region)
    return df.sort_values("zip", ignore_index=True)


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    raw = total * w / w.sum()
    out = np.floor(raw).astype(int)
    short = total - out.sum()
    if short > 0:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def _kmeans_pp(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding in O(n k) (scipy's ``minit='++'`` is O(n k^2))."""
    n = len(xy)
    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    chosen = np.empty(k, dtype=int)
    chosen[0] = rng.integers(n)
    d2 = (x - x[chosen[0]]) ** 2 + (y - y[chosen[0]]) ** 2
    u = rng.random(k)
    cum = np.empty(n)
    for i in range(1, k):
        np.cumsum(d2, out=cum)
        j = min(int(np.searchsorted(cum, u[i] * cum[-1], side="right")), n - 1)
        chosen[i] = j
        np.minimum(d2, (x - x[j]) ** 2 + (y - y[j]) ** 2, out=d2)
    return xy[chosen]


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Cluster labels 0..k-1 with no empty cluster (k <= len(xy))."""
    if k == 1:
        return np.zeros(len(xy), dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centroids, _ = kmeans2(xy, _kmeans_pp(xy, k, rng), iter=10, minit="matrix")
    labels, _ = vq(xy, centroids)
    counts = np.bincount(labels, minlength=k)
    for empty in np.flatnonzero(counts == 0):
        # give an empty cluster the point farthest from the centroid of the largest cluster
        big = int(np.argmax(counts))
        members = np.flatnonzero(labels == big)
        far = members[np.argmax(((xy[members] - centroids[big]) ** 2).sum(axis=1))]
        labels[far] = empty
        counts[big] -= 1
        counts[empty] = 1
    return labels


def build_territories(
    zips: pd.DataFrame, seats: dict[str, int], rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster each region's ZIPs into ``seats[region]`` territories.

    Returns
    -------
    (territories, territory_zips)
        ``territories``: ``territory_id, region, lat, lon, n_zips`` (ids run west to east inside a
        region); ``territory_zips``: ``territory_id`` and the ZIP row index (``zip_idx``) of every
        ZIP in it. With more territories than ZIPs a ZIP is shared by several territories.
    """
    terr_rows = []
    pairs = []
    for region, k in seats.items():
        if k <= 0:
            continue
        idx = np.flatnonzero(zips["region"].to_numpy() == region)
        lat = zips["lat"].to_numpy()[idx]
        lon = zips["lon"].to_numpy()[idx]
        xy = np.column_stack([lon * np.cos(np.deg2rad(lat.mean())), lat])
        if k <= len(idx):
            labels = _kmeans(xy, k, rng)
            members = [(lab, i) for lab, i in zip(labels, idx, strict=True)]
        else:  # more territories than ZIPs: territory j takes ZIP j mod n
            members = [(j, idx[j % len(idx)]) for j in range(k)]
        lab_arr = np.array([m[0] for m in members])
        zip_arr = np.array([m[1] for m in members])
        c_lat = np.bincount(lab_arr, zips["lat"].to_numpy()[zip_arr], k) / np.bincount(lab_arr,
                                                                                    minlength=k)
        c_lon = np.bincount(lab_arr, zips["lon"].to_numpy()[zip_arr], k) / np.bincount(lab_arr,
                                                                                    minlength=k)
        order = np.lexsort((c_lat, np.round(c_lon, 1)))  # west to east, then south to north
        rank = np.empty(k, dtype=int)
        rank[order] = np.arange(k)
        width = max(4, len(str(k)))
        names = np.array([f"{REGION_CODES[region]}-{j + 1:0{width}d}" for j in range(k)])
        tid = names[rank]
        n_zips = np.bincount(lab_arr, minlength=k)
        terr_rows.append(pd.DataFrame({"territory_id": tid, "region": region,
                                       "lat": c_lat.round(4), "lon": c_lon.round(4),
                                       "n_zips": n_zips}).iloc[order])
        pairs.append(pd.DataFrame({"territory_id": tid[lab_arr], "zip_idx": zip_arr}))
    territories = pd.concat(terr_rows, ignore_index=True)
    territory_zips = pd.concat(pairs, ignore_index=True)
    return territories, territory_zips
