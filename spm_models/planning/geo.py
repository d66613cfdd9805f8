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


@lru_cache(maxsize=1)
def _zip3_table() -> dict[str, tuple[float, float]]:
    """Centroid of the known ZIPs sharing a 3-digit prefix (fallback for unknown ZIPs)."""
    groups: dict[str, list[tuple[float, float]]] = {}
    for z, ll in _zip_table().items():
        groups.setdefault(z[:3], []).append(ll)
    out = {}
    for k, lls in groups.items():
        arr = np.array(lls)
        lat, lon = from_unit(to_unit(arr[:, 0], arr[:, 1]).mean(0))
        out[k] = (float(lat), float(lon))
    return out


def zip_to_latlon(zips: list[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude/longitude of US ZIP codes; a ZIP without a centroid gets the centroid of its
    3-digit prefix; NaN when neither is known. ZIPs are zero-padded to 5."""
    table, table3 = _zip_table(), _zip3_table()
    lat = np.full(len(zips), np.nan)
    lon = np.full(len(zips), np.nan)
    for i, z in enumerate(zips):
        key = str(z).strip().split("-")[0].split(".")[0].zfill(5)
        hit = table.get(key) or table3.get(key[:3])
        if hit is not None:
            lat[i], lon[i] = hit
    return lat, lon


def all_zip_centroids() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every known ZIP with its centroid: ``(zips, lat, lon)`` (for synthetic account sets)."""
    table = _zip_table()
    zips = np.array(sorted(table))
    ll = np.array([table[z] for z in zips])
    return zips, ll[:, 0], ll[:, 1]
