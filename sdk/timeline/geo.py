"""Distances on the WGS84 sphere and a local plane, vectorised (numpy only, runs on the phone).

All angles are degrees on input, all distances metres. The sphere radius is the IUGG mean radius,
the same as the sensor simulator's (:data:`sdk.sim.gps.EARTH_RADIUS_M`), so a track simulated in a
local plane and measured here agrees to well under a metre over tens of kilometres.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance, m, between points given in degrees (arrays broadcast).

    Parameters
    ----------
    lat1_deg, lon1_deg, lat2_deg, lon2_deg : float or ndarray
        WGS84 degrees; any shapes that broadcast together.

    Returns
    -------
    ndarray
        float64 metres, the broadcast shape (a 0-d array for scalars).

    Examples
    --------
    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)))
    111195
    """
    p1 = np.deg2rad(np.asarray(lat1_deg, dtype=np.float64))
    p2 = np.deg2rad(np.asarray(lat2_deg, dtype=np.float64))
    dp = p2 - p1
    dl = np.deg2rad(np.asarray(lon2_deg, dtype=np.float64) - np.asarray(lon1_deg, dtype=np.float64))
    a = np.sin(dp * 0.5) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def path_length_m(lat_deg: np.ndarray, lon_deg: np.ndarray) -> float:
    """Length, m, of the polyline through the points in order (0.0 for fewer than two points)."""
    lat_deg = np.asarray(lat_deg, dtype=np.float64)
    lon_deg = np.asarray(lon_deg, dtype=np.float64)
    if lat_deg.size < 2:
        return 0.0
    return float(haversine_m(lat_deg[:-1], lon_deg[:-1], lat_deg[1:], lon_deg[1:]).sum())


def to_local_m(lat_deg, lon_deg, origin_lat_deg: float, origin_lon_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Degrees to east/north metres in the tangent plane at the origin (equirectangular).

    Accurate to a fraction of a metre within a few kilometres of the origin, which is all the stay
    and place stages need (their radii are ~100 m). Longitude differences are wrapped to (-180, 180].
    """
    dlon = (np.asarray(lon_deg, dtype=np.float64) - origin_lon_deg + 180.0) % 360.0 - 180.0
    x = np.deg2rad(dlon) * EARTH_RADIUS_M * np.cos(np.deg2rad(origin_lat_deg))
    y = np.deg2rad(np.asarray(lat_deg, dtype=np.float64) - origin_lat_deg) * EARTH_RADIUS_M
    return x, y


def from_local_m(x_m, y_m, origin_lat_deg: float, origin_lon_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`to_local_m`: east/north metres to ``(lat, lon)`` degrees."""
    lat = origin_lat_deg + np.rad2deg(np.asarray(y_m, dtype=np.float64) / EARTH_RADIUS_M)
    lon = origin_lon_deg + np.rad2deg(
        np.asarray(x_m, dtype=np.float64) / (EARTH_RADIUS_M * np.cos(np.deg2rad(origin_lat_deg))))
    lon = (lon + 180.0) % 360.0 - 180.0
    return lat, lon


def mean_position_deg(lat_deg, lon_deg, weights=None) -> tuple[float, float]:
    """(Weighted) mean position, degrees, computed in the local plane of the first point.

    Correct across the antimeridian, unlike a plain mean of longitudes.
    """
    lat_deg = np.asarray(lat_deg, dtype=np.float64)
    lon_deg = np.asarray(lon_deg, dtype=np.float64)
    x, y = to_local_m(lat_deg, lon_deg, float(lat_deg[0]), float(lon_deg[0]))
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None and not w.sum() > 0:
        w = None
    lat, lon = from_local_m(np.average(x, weights=w), np.average(y, weights=w), float(lat_deg[0]), float(lon_deg[0]))
    return float(lat), float(lon)
