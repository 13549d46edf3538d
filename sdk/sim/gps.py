"""1 Hz GPS fixes from a true trajectory: correlated error, urban canyons, dropouts, tunnels.

Positions are in a local tangent plane (x east, y north, metres) around an origin; see
:func:`local_to_wgs84` for the conversion to degrees.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from momentsense.sdk.sim.signals import IMU_RATE_HZ, event_times, ou_process

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


def side_rng(rng: np.random.Generator, tag: int) -> np.random.Generator:
    """A generator derived from ``rng``'s current state without drawing from it.

    Later additions to the simulator draw from one of these so that the streams that existed before
    (the IMU samples of every leg) stay bit-identical, and the shipped models' training files can be
    regenerated as they were.
    """
    digest = hashlib.sha256(repr(rng.bit_generator.state).encode()).digest()
    return np.random.default_rng(list(np.frombuffer(digest, np.uint32).astype(int)) + [int(tag)])


#: Modes whose legs can pass under a roof that hides the sky: car parks, road tunnels, station passages.
_COVERED_RATE_PER_S = {"walk": 1 / 2400, "car": 1 / 1800, "bus": 1 / 2400}


def lose_fixes(fixes: GpsFixes, mode: str, indoor: bool, rng: np.random.Generator) -> GpsFixes:
    """Fixes a phone loses besides dropouts and rail tunnels, so that a missing fix is not a subway.

    - Indoors (still legs): how much of the sky a room sees varies from stay to stay; the share of
      :func:`simulate_gps`'s indoor fixes kept is drawn per stay: none in 35 % of stays (a deep
      room), else 5–100 % (0.0125–0.25 fixes/s). :func:`network_fixes` still come.
    - Car: an underground car park at the start and at the end of a drive (25 % each, 20–120 s);
      car and bus: road tunnels (one per 30 / 40 min, 10–120 s); walk: station passages and malls
      (one per 40 min, 30–180 s). 3–15 s to reacquire after each.

    Parameters
    ----------
    fixes : GpsFixes
        One leg's fixes from :func:`simulate_gps`.
    mode : str
        The leg's transport mode.
    indoor : bool
        Whether the leg is an indoor stay.
    rng : numpy.random.Generator
        Its own stream (see :func:`side_rng`).
    """
    if len(fixes.t) == 0:
        return fixes
    keep = np.ones(len(fixes.t), bool)
    if mode == "still" and indoor:
        share = 0.0 if rng.random() < 0.35 else rng.uniform(0.05, 1.0)  # a deep room sees no satellite
        keep &= rng.random(len(keep)) < share
    t0, t1 = float(fixes.t[0]), float(fixes.t[-1]) + 1.0
    hidden: list[tuple[float, float]] = []
    if mode == "car":
        for at_start in (True, False):
            if rng.random() < 0.25:
                d = rng.uniform(20.0, 120.0)
                hidden.append((t0, t0 + d) if at_start else (t1 - d, t1))
    for ts in event_times(rng, t1 - t0, _COVERED_RATE_PER_S.get(mode, 0.0)):
        d = rng.uniform(30.0, 180.0) if mode == "walk" else rng.uniform(10.0, 120.0)
        hidden.append((t0 + ts, t0 + ts + d))
    for a, b in hidden:
        keep &= ~((fixes.t >= a) & (fixes.t < b + rng.uniform(3.0, 15.0)))
    return GpsFixes(*(getattr(fixes, f.name)[keep] for f in dataclasses.fields(GpsFixes)))


#: Modes in a vehicle: their network fixes come from cell towers (hundreds of metres), not Wi-Fi.
_CELL_MODES = ("bus", "car", "train", "subway")


def network_fixes(grid_t0: float, x_m: np.ndarray, y_m: np.ndarray, mode: str, indoor: bool,
                  rng: np.random.Generator, fs_hz: float = IMU_RATE_HZ) -> GpsFixes:
    """Coarse fixes from Wi-Fi and cell towers, which Android's network provider reports beside GNSS
    (plyer listens to every provider), with speed 0 as ``Location.getSpeed()`` gives without one.

    Every 15–60 s (per leg) when the leg has coverage (85 % of legs; 60 % of subway rides, whose
    tunnels have a cell signal in some cities and not in others); accuracy from Wi-Fi (10–150 m,
    median 35 m) on foot and indoors, from cell towers (150–1,500 m) in vehicles, and a position
    error of that size. They make a fix's presence a weak sign of the sky: a phone in a deep room
    or on an underground platform still gets some.
    """
    n = len(x_m)
    e = np.zeros(0)
    if n == 0 or rng.random() >= (0.6 if mode == "subway" else 0.85):
        return GpsFixes(e, e, e, e, e)
    t_end = grid_t0 + n / fs_hz
    step = rng.uniform(15.0, 60.0)
    t = np.ceil(grid_t0 + rng.uniform(0.0, step)) + np.arange(0.0, max(t_end - grid_t0, 0.0), step)
    t = np.floor(t[t < t_end])
    if mode in _CELL_MODES and not indoor:
        acc = rng.uniform(150.0, 1500.0, len(t))
    else:
        acc = np.clip(35.0 * rng.lognormal(0.0, 0.45, len(t)), 10.0, 150.0)
    i = np.clip(((t - grid_t0) * fs_hz).astype(int), 0, n - 1)
    err = rng.normal(0.0, 1.0, (len(t), 2)) * (acc / 2.0)[:, None]
    return GpsFixes(t, x_m[i] + err[:, 0], y_m[i] + err[:, 1], acc.astype(np.float32), np.zeros(len(t), np.float32))


def merge_fixes(gnss: GpsFixes, network: GpsFixes) -> GpsFixes:
    """Both providers' fixes in time order; at a second with both, the GNSS fix (the network one is dropped)."""
    if len(network.t) == 0:
        return gnss
    net = ~np.isin(network.t, gnss.t)
    cols = [np.concatenate([getattr(gnss, f.name), getattr(network, f.name)[net]]) for f in dataclasses.fields(GpsFixes)]
    order = np.argsort(cols[0], kind="stable")
    return GpsFixes(*(c[order] for c in cols))
