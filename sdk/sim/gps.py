"""1 Hz GPS fixes from a true trajectory: correlated error, urban canyons, dropouts, tunnels.

Positions are in a local tangent plane (x east, y north, metres) around an origin; see
:func:`local_to_wgs84` for the conversion to degrees.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdk.sim.signals import IMU_RATE_HZ, event_times, ou_process

EARTH_RADIUS_M = 6_371_008.8


@dataclasses.dataclass
class GpsState:
    """Receiver error state carried from leg to leg.

    Attributes:
        error_m: ``(2,)`` current slowly varying position error (east, north), m.
        lost_until_s: Time before which the receiver has no fix (reacquisition after a tunnel), s.
    """

    error_m: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(2))
    lost_until_s: float = -np.inf


@dataclasses.dataclass
class GpsFixes:
    """GPS fixes in the local plane.

    Attributes:
        t: ``(M,)`` s. x_m, y_m: ``(M,)`` east/north, m. accuracy_m, speed_mps: ``(M,)``.
    """

    t: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    accuracy_m: np.ndarray
    speed_mps: np.ndarray


def local_to_wgs84(x_m: np.ndarray, y_m: np.ndarray, origin_latlon: tuple[float, float]):
    """East/north metres around ``origin_latlon`` (degrees) to ``(lat, lon)`` degrees (equirectangular,
    accurate to well under a metre within tens of kilometres)."""
    lat0, lon0 = origin_latlon
    lat = lat0 + np.rad2deg(np.asarray(y_m) / EARTH_RADIUS_M)
    lon = lon0 + np.rad2deg(np.asarray(x_m) / (EARTH_RADIUS_M * np.cos(np.deg2rad(lat0))))
    return lat, lon


def simulate_gps(
    grid_t0: float,
    x_m: np.ndarray,
    y_m: np.ndarray,
    speed_mps: np.ndarray,
    rng: np.random.Generator,
    sigma_m: float,
    dropouts_per_h: float,
    urban: float,
    indoor: bool = False,
    underground: np.ndarray | None = None,
    state: GpsState | None = None,
    fs_hz: float = IMU_RATE_HZ,
) -> tuple[GpsFixes, GpsState]:
    """Fixes at whole seconds within the leg.

    Parameters
    ----------
    grid_t0 : float
        Time of the first grid sample, s.
    x_m, y_m, speed_mps : ndarray, shape ``(n,)``
        True trajectory on the grid: east, north (m) and speed (m/s).
    rng : numpy.random.Generator
    sigma_m : float
        Receiver error (Gauss-Markov, 60 s correlation) under open sky, m.
    dropouts_per_h : float
        Rate of 5-60 s dropouts, per hour.
    urban : float
        0 (open sky) .. 1 (dense city): rate and strength of urban-canyon error bursts.
    indoor : bool
        Indoors: large error, inflated accuracy, most fixes missing.
    underground : ndarray of bool, shape ``(n,)``, optional
        No fix where True, and 5-25 s to reacquire after.
    state : GpsState, optional

    Returns
    -------
    fixes : GpsFixes
    state : GpsState
    """
    state = GpsState() if state is None else state
    n = len(x_m)
    t_grid = grid_t0 + np.arange(n) / fs_hz
    if n == 0:
        e = np.zeros(0)
        return GpsFixes(e, e, e, e, e), state
    t = np.arange(np.ceil(grid_t0), t_grid[-1] + 1e-9, 1.0)
    m = len(t)
    if m == 0:
        e = np.zeros(0)
        return GpsFixes(e, e, e, e, e), state
    x, y, v = (np.interp(t, t_grid, a) for a in (x_m, y_m, speed_mps))
    base = ou_process(rng, m, 60.0, sigma_m, fs_hz=1.0, step_s=1.0, x0=state.error_m, n_channels=2)
    burst_sd = np.zeros(m)
    for ts in event_times(rng, float(m), urban * 8.0 / 3600.0):
        burst_sd[int(ts) : int(ts + rng.uniform(10, 90))] = rng.uniform(8.0, 40.0) * (0.5 + urban)
    if indoor:
        burst_sd[:] = np.maximum(burst_sd, rng.uniform(10.0, 45.0))
    burst = ou_process(rng, m, 8.0, 1.0, fs_hz=1.0, step_s=1.0, n_channels=2) * burst_sd[:, None]
    err = base + burst + rng.normal(0.0, 0.6, (m, 2))
    ok = np.ones(m, bool)
    for ts in event_times(rng, float(m), dropouts_per_h * (1.0 + 2.0 * urban) / 3600.0):
        ok[int(ts) : int(ts + rng.uniform(5, 60))] = False
    if indoor:
        ok &= rng.random(m) < 0.25
    ok &= t >= state.lost_until_s
    if underground is not None and underground.any():
        ug = np.interp(t, t_grid, underground.astype(float)) > 0.0
        ok &= ~ug
        exits = np.flatnonzero(ug[:-1] & ~ug[1:])
        for i in exits:
            ok[i + 1 : i + 1 + int(rng.uniform(5, 25))] = False
        if ug[-1]:
            state.lost_until_s = t[-1] + rng.uniform(5, 25)
    reported = np.sqrt(sigma_m**2 + (burst_sd * rng.uniform(0.3, 1.0)) ** 2) * 1.5
    accuracy = np.maximum(reported * rng.lognormal(0.0, 0.2, m), 2.0)
    speed_noise = 0.15 + 0.05 * burst_sd
    sp = np.abs(v + rng.normal(0.0, 1.0, m) * speed_noise)
    state.error_m = base[-1].copy()
    return (
        GpsFixes(t[ok], x[ok] + err[ok, 0], y[ok] + err[ok, 1], accuracy[ok].astype(np.float32),
                 sp[ok].astype(np.float32)),
        state,
    )
