"""Geography helpers: haversine distances, spherical centroids, ZIP → lat/lon.

ZIP centroids come from the installed ``zipcodes`` package (bundled data; no download).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    lat1: np.ndarray | float, lon1: np.ndarray | float, lat2: np.ndarray | float, lon2: np.ndarray | float
) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_matrix_km(
    lat: np.ndarray, lon: np.ndarray, c_lat: np.ndarray, c_lon: np.ndarray
) -> np.ndarray:
    """Distances (n_points × n_centres) in km."""
    return haversine_km(lat[:, None], lon[:, None], c_lat[None, :], c_lon[None, :])


def to_unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Unit vectors (n × 3) on the sphere."""
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def from_unit(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude, longitude (degrees) of (not necessarily unit) vectors."""
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    lon = np.degrees(np.arctan2(y, x))
    return lat, lon


def weighted_centres(
    lat: np.ndarray, lon: np.ndarray, weight: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted spherical centroid of each label ``0..k-1`` (NaN for empty labels)."""
    xyz = to_unit(lat, lon) * weight[:, None]
    sums = np.zeros((k, 3))
    np.add.at(sums, labels, xyz)
    counts = np.bincount(labels, weights=weight, minlength=k)
    c_lat, c_lon = from_unit(sums)
    empty = counts <= 0
    c_lat[empty] = np.nan
    c_lon[empty] = np.nan
    return c_lat, c_lon


@lru_cache(maxsize=1)
def _zip_table() -> dict[str, tuple[float, float]]:
    import zipcodes

    out: dict[str, tuple[float, float]] = {}
    for z in zipcodes.list_all():
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (TypeError, ValueError, KeyError):
            continue
        if lat == 0.0 and lon == 0.0:  # the package's "unknown" (military/PO-box ZIPs, a few others)
            continue
        out[z["zip_code"]] = (lat, lon)
    return out


def zip_to_latlon(zips: list[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude of US ZIP codes, NaN where unknown.

    ZIPs are first normalised (:func:`spm_models.data.zipcode.normalise_zips`: ``2134``,
    ``2134.0``, ``21341234``, ``02134-1234`` are all 02134); a ZIP that is no ZIP spelling or
    has no centroid in the ``zipcodes`` package gets NaN -- never the centroid of another ZIP
    sharing its prefix (that placed accounts in the wrong state).
    """
    import pandas as pd

    from spm_models.data.zipcode import normalise_zips

    table = _zip_table()
    norm, _ = normalise_zips(pd.Series(list(zips), dtype=object))
    lat = np.full(len(norm), np.nan)
    lon = np.full(len(norm), np.nan)
    for i, key in enumerate(norm):
        hit = table.get(key) if key is not None else None
        if hit is not None:
            lat[i], lon[i] = hit
    return lat, lon


def all_zip_centroids() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every known ZIP with its centroid: ``(zips, lat, lon)`` (for synthetic account sets)."""
    table = _zip_table()
    zips = np.array(sorted(table))
    ll = np.array([table[z] for z in zips])
    return zips, ll[:, 0], ll[:, 1]
