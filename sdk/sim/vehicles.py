"""Vehicles: speed profiles with stops, cornering, grades and vibration spectra.

Every ride draws its own :class:`VehicleProfile`. The parameter ranges of the modes overlap on
purpose (a car in congestion drives like a bus, a smooth bus vibrates like a train), so no single
number separates them; what differs is the joint structure: stop spacing and dwell, acceleration
levels, body-mode frequencies, roll sway, engine lines, rail joints.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.modes import get_mode, vehicle_modes
from momentsense.sdk.records import VEHICLE_MODES
from momentsense.sdk.sim.signals import IMU_RATE_HZ, event_times, ou_process, smooth

#: Vehicle profiles of modes added to the registry: mode → (draw(rng) -> VehicleProfile, built-in
#: mode whose placements, postures and GPS behaviour the rider shares).
_ADDED_PROFILES: dict[str, tuple[Callable[[np.random.Generator], "VehicleProfile"], str]] = {}


def register_vehicle_profile(mode: str, draw: Callable[[np.random.Generator], "VehicleProfile"],
                             carried_like: str = "bus") -> None:  # fmt: skip
    """Simulate ``mode`` (registered with :func:`sdk.modes.register_mode` as a vehicle) with rides
    drawn by ``draw(rng)``; the phone is carried as on the built-in ``carried_like`` mode."""
    if not get_mode(mode).vehicle:
        raise InputError(f"mode {mode!r} is not registered as a vehicle")
    if carried_like not in VEHICLE_MODES:
        raise InputError(f"carried_like must be one of {VEHICLE_MODES}, got {carried_like!r}")
    _ADDED_PROFILES[mode] = (draw, carried_like)


def unregister_vehicle_profile(mode: str) -> None:
    """Forget the profile :func:`register_vehicle_profile` added for ``mode`` (no-op if none)."""
    _ADDED_PROFILES.pop(mode, None)


def carried_like(mode: str) -> str:
    """The built-in mode whose carrying (placements, posture, GPS) a leg of ``mode`` uses: itself for
    a built-in mode, the registered one for an added vehicle."""
    return _ADDED_PROFILES[mode][1] if mode in _ADDED_PROFILES else mode

#: Range of the vertical vibration RMS at 10 m/s (m/s²) of a car, bus and train ride. Calibrated on
#: real rides (``scripts/still_vibration_stats.py``): median std of |acc| per 10 s window 0.55 on the
#: three windshield-mounted car trips of ``driver_behavior_trips.h5`` (51 Hz) and 0.59 car, 0.63 bus,
#: 0.14 train in ``us_tm2017_raw.h5`` (~1-10 Hz, placement unknown; bus from one user only, so bus is
#: moved only part of the way there), against 0.022 for its still recordings.
CAR_VIB_MPS2 = (0.25, 1.2)
BUS_VIB_MPS2 = (0.4, 1.4)
TRAIN_VIB_MPS2 = (0.03, 0.25)


@dataclasses.dataclass(frozen=True)
class VehicleProfile:
    """One vehicle and the way it is driven on one ride.

    Attributes:
        kind: bike, car, bus, train or subway.
        cruise_mps: Range of cruise speeds between stops, m/s.
        accel_mps2: Typical acceleration from a stop, m/s².
        decel_mps2: Typical braking deceleration, m/s².
        run_s: Range of driving time between stops or slow-downs, s.
        stop_prob: Probability that a slow-down ends in a full stop.
        dwell_s: Range of stop durations (traffic light, bus stop, station), s.
        congestion_prob: Probability that a run is stop-and-go traffic.
        speed_cv: Relative fluctuation of the speed while cruising.
        jerk_s: Smoothing time of the speed profile (jerk limit), s.
        curvature_per_m: Standard deviation of the path curvature on open stretches, 1/m.
        turns_per_s: Rate of intersection turns, 1/s.
        lat_acc_max_mps2: Lateral acceleration the driver will not exceed, m/s².
        grade_rad: Standard deviation of the road/track grade, rad.
        body_hz: Heave body mode (suspension) frequency, Hz.
        body_q: Quality factor of the body mode.
        roll_hz: Roll/sway mode frequency, Hz.
        roll_rad: Roll sway amplitude at 10 m/s, rad.
        roll_per_mps2: Quasi-static roll per m/s² of lateral acceleration, rad.
        pitch_per_mps2: Quasi-static pitch per m/s² of longitudinal acceleration, rad.
        vib_mps2: Vertical vibration RMS at 10 m/s, m/s².
        vib_idle_mps2: Vertical vibration RMS when stopped (idling engine, HVAC), m/s².
        resonances: ``(f_hz, q, weight)`` structural/seat resonances of the vibration spectrum.
        broadband_hz: Corner of the broadband road/rail spectrum, Hz.
        lateral_ratio: Lateral vibration relative to vertical.
        engine_cylinders: Cylinders of a combustion engine (0 = electric).
        engine_mps2: Amplitude of the engine firing line, m/s².
        rail_joint_m: Rail length between joints, m (0 = continuously welded or road).
        rail_joint_mps2: Amplitude of a rail-joint knock at 10 m/s, m/s².
    """

    kind: str
    cruise_mps: tuple[float, float]
    accel_mps2: float
    decel_mps2: float
    run_s: tuple[float, float]
    stop_prob: float
    dwell_s: tuple[float, float]
    congestion_prob: float
    speed_cv: float
    jerk_s: float
    curvature_per_m: float
    turns_per_s: float
    lat_acc_max_mps2: float
    grade_rad: float
    body_hz: float
    body_q: float
    roll_hz: float
    roll_rad: float
    roll_per_mps2: float
    pitch_per_mps2: float
    vib_mps2: float
    vib_idle_mps2: float
    resonances: tuple[tuple[float, float, float], ...]
    broadband_hz: float
    lateral_ratio: float
    engine_cylinders: int
    engine_mps2: float
    rail_joint_m: float
    rail_joint_mps2: float


def draw_vehicle(
    kind: str, rng: np.random.Generator, cruise_mps: float | None = None, aggressive: bool = False
) -> VehicleProfile:
    """Draw one vehicle of ``kind`` (bike, car, bus, train, subway) and its driving style.

    ``cruise_mps`` sets the typical cruise speed of a bike (the rider's preference), m/s.

    Car drivers are calm by default: accelerations up to ~2 m/s², braking up to ~2.6 m/s², corners
    up to ~3 m/s² lateral, so an ordinary trip rarely crosses the harsh thresholds of
    :class:`sdk.driving.DrivingOptions` (2.25 / 3.0 / 3.5 m/s²), as in fleet telematics where a typical
    driver logs a few harsh events per 100 km. ``aggressive=True`` (cars only) draws a driver who
    accelerates at 2–3.5 m/s², brakes at 2.8–4.5 m/s² and corners at up to 5 m/s². Both draw the
    same number of random numbers, so the rest of a simulation does not shift.
    """
    u = rng.uniform
    if kind in _ADDED_PROFILES:
        return _ADDED_PROFILES[kind][0](rng)
    if kind not in VEHICLE_MODES:
        raise ValueError(f"vehicle kind must be one of {vehicle_modes()}, got {kind!r}")
    res = tuple((float(u(2.5, 11.5)), float(u(2.0, 8.0)), float(u(0.2, 1.0))) for _ in range(rng.integers(1, 4)))
    common = dict(resonances=res, lateral_ratio=float(u(0.3, 0.8)))
    if kind == "bike":
        v = float(cruise_mps) if cruise_mps else float(u(3.5, 7.0))
        return VehicleProfile(
            "bike", (0.7 * v, 1.2 * v), float(u(0.4, 1.0)), float(u(0.8, 2.0)), (20.0, 150.0), 0.5, (5.0, 45.0),
            0.05, 0.12, float(u(1.0, 2.0)), 1 / 80, 1 / 90, 2.5, 0.02, float(u(4.0, 8.0)), 1.5,
            float(u(0.8, 1.6)), float(u(0.01, 0.03)), 0.0, 0.005, float(u(0.5, 2.0)), 0.0,
            broadband_hz=float(u(5.0, 12.0)), engine_cylinders=0, engine_mps2=0.0, rail_joint_m=0.0,
            rail_joint_mps2=0.0, **common,
        )
    if kind == "car":
        road = rng.choice(["urban", "arterial", "highway"], p=[0.5, 0.35, 0.15])
        cruise = {"urban": (7.0, 14.0), "arterial": (11.0, 20.0), "highway": (22.0, 34.0)}[road]
        run = {"urban": (15.0, 90.0), "arterial": (30.0, 180.0), "highway": (120.0, 600.0)}[road]
        electric = rng.random() < 0.2
        acc, dec, lat = ((2.0, 3.5), (2.8, 4.5), (3.5, 5.0)) if aggressive else ((0.8, 1.6), (1.0, 2.0), (1.8, 3.0))
        return VehicleProfile(
            "car", cruise, float(u(*acc)), float(u(*dec)), run, float(u(0.3, 0.7)), (5.0, 60.0),
            float(u(0.05, 0.35)), float(u(0.06, 0.18)), float(u(0.8, 1.6)), 1 / 350, float(u(1 / 240, 1 / 60)),
            float(u(*lat)), 0.025, float(u(1.0, 1.6)), float(u(1.5, 3.0)), float(u(0.9, 1.6)),
            float(u(0.004, 0.015)), float(u(0.006, 0.015)), float(u(0.004, 0.01)), float(u(*CAR_VIB_MPS2)),
            float(u(0.005, 0.02)) if electric else float(u(0.01, 0.06)), broadband_hz=float(u(3.0, 10.0)),
            engine_cylinders=0 if electric else int(rng.choice([3, 4, 6], p=[0.2, 0.65, 0.15])),
            engine_mps2=0.0 if electric else float(u(0.02, 0.12)), rail_joint_m=0.0, rail_joint_mps2=0.0, **common,
        )
    if kind == "bus":
        electric = rng.random() < 0.15
        return VehicleProfile(
            "bus", (float(u(6.0, 10.0)), float(u(10.0, 16.0))), float(u(0.7, 1.4)), float(u(0.9, 1.8)),
            (25.0, 110.0), float(u(0.65, 0.9)), (8.0, 45.0), float(u(0.05, 0.3)), float(u(0.06, 0.15)),
            float(u(1.2, 2.4)), 1 / 400, float(u(1 / 300, 1 / 90)), float(u(1.2, 2.5)), 0.02, float(u(0.6, 1.2)),
            float(u(1.5, 3.5)), float(u(0.4, 0.9)), float(u(0.012, 0.035)), float(u(0.012, 0.03)),
            float(u(0.005, 0.012)), float(u(*BUS_VIB_MPS2)), float(u(0.01, 0.03)) if electric else float(u(0.03, 0.15)),
            broadband_hz=float(u(2.5, 8.0)), engine_cylinders=0 if electric else 6,
            engine_mps2=0.0 if electric else float(u(0.04, 0.2)), rail_joint_m=0.0, rail_joint_mps2=0.0, **common,
        )
    if kind == "train":
        jointed = rng.random() < 0.4
        return VehicleProfile(
            "train", (float(u(15.0, 25.0)), float(u(25.0, 45.0))), float(u(0.3, 0.8)), float(u(0.4, 0.9)),
            (120.0, 480.0), 1.0, (30.0, 120.0), 0.0, float(u(0.02, 0.06)), float(u(2.5, 5.0)), 1 / 2500, 0.0,
            float(u(0.5, 1.0)), 0.006, float(u(0.8, 1.4)), float(u(2.0, 4.0)), float(u(0.5, 1.2)),
            float(u(0.003, 0.012)), float(u(0.005, 0.015)), float(u(0.002, 0.006)), float(u(*TRAIN_VIB_MPS2)),
            float(u(0.005, 0.03)), broadband_hz=float(u(2.0, 9.0)), engine_cylinders=0, engine_mps2=0.0,
            rail_joint_m=float(u(18.0, 30.0)) if jointed else 0.0, rail_joint_mps2=float(u(0.1, 0.6)), **common,
        )
    jointed = rng.random() < 0.6
    return VehicleProfile(
        "subway", (float(u(11.0, 15.0)), float(u(15.0, 22.0))), float(u(0.8, 1.3)), float(u(0.9, 1.3)),
        (35.0, 100.0), 1.0, (15.0, 45.0), 0.0, float(u(0.02, 0.06)), float(u(1.5, 3.0)), 1 / 700, 0.0,
        float(u(0.7, 1.3)), 0.01, float(u(0.9, 1.5)), float(u(2.0, 4.0)), float(u(0.6, 1.4)),
        float(u(0.004, 0.015)), float(u(0.006, 0.02)), float(u(0.003, 0.008)), float(u(0.1, 0.45)),
        float(u(0.01, 0.04)), broadband_hz=float(u(3.0, 10.0)), engine_cylinders=0, engine_mps2=0.0,
        rail_joint_m=float(u(12.0, 25.0)) if jointed else 0.0, rail_joint_mps2=float(u(0.15, 0.8)), **common,
    )


def speed_profile(
    vehicle: VehicleProfile, duration_s: float, rng: np.random.Generator, fs_hz: float = IMU_RATE_HZ
) -> np.ndarray:
    """Speed over one ride, m/s, shape ``(round(duration_s * fs_hz),)``, starting and ending at rest.

    Runs between stops: accelerate, cruise with fluctuations (OU), slow down, then stop and dwell
    (traffic light, bus stop, station) or continue. Congested runs are short and slow. The profile
    is jerk-limited by a moving average of ``vehicle.jerk_s`` and braked to rest at the end.
    """
    n = int(round(duration_s * fs_hz))
    dt = 0.5
    pieces = [np.zeros(int(rng.uniform(0.0, 8.0) / dt))]
    total, v = sum(len(p) for p in pieces), 0.0
    while total * dt < duration_s + 10.0:
        congested = rng.random() < vehicle.congestion_prob
        vc = rng.uniform(2.0, 7.0) if congested else rng.uniform(*vehicle.cruise_mps)
        run_s = rng.uniform(4.0, 25.0) if congested else rng.uniform(*vehicle.run_s)
        acc = vehicle.accel_mps2 * rng.uniform(0.6, 1.3)
        dec = vehicle.decel_mps2 * rng.uniform(0.6, 1.3)
        # n points span n - 1 steps: round up, or short ramps come out far steeper than ``acc``
        ramp = np.linspace(v, vc, max(2, int(np.ceil(abs(vc - v) / acc / dt)) + 1))
        m = max(2, int(run_s / dt))
        cruise = vc * (1.0 + ou_process(rng, m, 20.0, vehicle.speed_cv, fs_hz=1 / dt, step_s=2.0)[:, 0])
        stop = rng.random() < (0.75 if congested else vehicle.stop_prob)
        v_end = 0.0 if stop else float(vc * rng.uniform(0.3, 0.8))
        brake = np.linspace(cruise[-1], v_end, max(2, int(np.ceil(abs(cruise[-1] - v_end) / dec / dt)) + 1))
        dwell = np.zeros(int(rng.uniform(*vehicle.dwell_s) / dt) if stop else 0)
        pieces += [ramp, cruise, brake, dwell]
        total += len(ramp) + m + len(brake) + len(dwell)
        v = v_end
    coarse = np.maximum(np.concatenate(pieces), 0.0)
    t = np.arange(n) / fs_hz
    speed = np.interp(t, np.arange(len(coarse)) * dt, coarse)
    speed = smooth(speed, int(vehicle.jerk_s * fs_hz))
    end_brake = vehicle.decel_mps2 * np.maximum(duration_s - t - 1.0, 0.0)
    start = vehicle.accel_mps2 * t
    return np.maximum(np.minimum(np.minimum(speed, end_brake), start), 0.0)


def yaw_rate_profile(
    vehicle: VehicleProfile, speed_mps: np.ndarray, rng: np.random.Generator, fs_hz: float = IMU_RATE_HZ
) -> np.ndarray:
    """Yaw rate of the vehicle, rad/s: gentle curves (OU curvature × speed) plus intersection turns.

    Turns of 60-110° happen only below 12 m/s; the lateral acceleration ``v·ω`` is capped at
    ``vehicle.lat_acc_max_mps2``.
    """
    n = len(speed_mps)
    if n == 0:
        return np.zeros(0)
    kappa = ou_process(rng, n, 40.0, vehicle.curvature_per_m, fs_hz=fs_hz, step_s=1.0)[:, 0]
    omega = speed_mps * kappa
    for ts in event_times(rng, n / fs_hz, vehicle.turns_per_s):
        i = int(ts * fs_hz)
        v = float(np.mean(speed_mps[i : i + int(5 * fs_hz)])) if i < n else 0.0
        if v < 1.5 or v > 12.0:
            continue
        angle = rng.choice([-1.0, 1.0]) * np.deg2rad(rng.uniform(60.0, 110.0))
        radius = rng.uniform(8.0, 25.0)
        dur = float(np.clip(max(abs(angle) * radius / v, 2.2 * v * abs(angle) / vehicle.lat_acc_max_mps2), 2.0, 20.0))
        m = min(int(dur * fs_hz), n - i)
        shape = np.sin(np.pi * np.arange(m) / max(m, 1)) ** 2
        omega[i : i + m] += angle / (0.5 * dur) * shape
    cap = vehicle.lat_acc_max_mps2 / np.maximum(speed_mps, 0.5)
    return np.clip(omega, -cap, cap) * (speed_mps > 0.05)


def rail_joints(vehicle: VehicleProfile, speed_mps: np.ndarray, rng: np.random.Generator,
                fs_hz: float = IMU_RATE_HZ) -> np.ndarray:
    """Vertical knocks from rail joints passing under the two bogies, m/s², shape ``(n,)``."""
    n = len(speed_mps)
    if vehicle.rail_joint_m <= 0 or n < 2:
        return np.zeros(n)
    s = np.cumsum(speed_mps) / fs_hz + rng.uniform(0, vehicle.rail_joint_m)
    hits = np.zeros(n)
    for offset in (0.0, 2.5, 17.0, 19.5):  # axles of the two bogies under one carriage
        hits[1:] += np.diff(np.floor((s - offset) / vehicle.rail_joint_m)) > 0
    f_ring = rng.uniform(6.0, 11.0)
    k = np.arange(int(0.4 * fs_hz)) / fs_hz
    kernel = np.exp(-k / 0.06) * np.cos(2 * np.pi * f_ring * k)
    amp = vehicle.rail_joint_mps2 * (speed_mps / 10.0) * rng.lognormal(0.0, 0.3, n)
    return np.convolve(hits * amp, kernel)[:n]


def engine_line(vehicle: VehicleProfile, speed_mps: np.ndarray, alias_gain: float,
                rng: np.random.Generator, fs_hz: float = IMU_RATE_HZ) -> np.ndarray:
    """Engine firing vibration sampled at ``fs_hz`` (it aliases, as on a phone), m/s², shape ``(n,)``.

    RPM follows the speed through a sawtooth of gears; the firing frequency is
    ``rpm / 60 · cylinders / 2`` (tens of Hz), well above Nyquist, so what a phone sees is the alias,
    scaled by ``alias_gain`` (how much the sensor's anti-alias filter lets through).
    """
    n = len(speed_mps)
    if vehicle.engine_cylinders == 0 or n == 0:
        return np.zeros(n)
    idle = rng.uniform(650, 900)
    gear_mps = rng.uniform(4.0, 7.0)
    rpm = np.where(speed_mps < 1.0, idle, idle + 1600.0 * np.minimum((speed_mps % gear_mps) / gear_mps + 0.3, 1.0))
    f = rpm / 60.0 * vehicle.engine_cylinders / 2.0
    phase = 2 * np.pi * np.cumsum(f) / fs_hz + rng.uniform(0, 2 * np.pi)
    return vehicle.engine_mps2 * alias_gain * np.sin(phase)
