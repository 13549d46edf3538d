"""Carrier motion per mode: what the body, bike or vehicle does, in its own frame.

The carrier frame has x forward, y left, z up (tilted with the body or vehicle). Each generator
returns the specific force the carrier feels (gravity included, before the phone's own motion),
its angular rate, its speed and heading, and the vibration that reaches the phone through the
placement (kept apart so the placement can damp it).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.records import STANDARD_GRAVITY_MPS2 as G
from momentsense.sdk.sim.person import PersonProfile
from momentsense.sdk.sim.signals import (
    IMU_RATE_HZ,
    event_times,
    lowpass_gain,
    ou_process,
    resonance_gain,
    rotate,
    shaped_noise,
    smooth,
)
from momentsense.sdk.sim.vehicles import (
    VehicleProfile,
    engine_line,
    rail_joints,
    speed_profile,
    yaw_rate_profile,
)


@dataclasses.dataclass
class CarrierMotion:
    """Motion of the carrier over one leg, on the regular simulation grid.

    Attributes:
        force_mps2: ``(n, 3)`` specific force in the carrier frame, gravity included, m/s².
        rate_rad_s: ``(n, 3)`` angular rate of the carrier frame, rad/s.
        vibration_mps2: ``(n, 3)`` vibration to pass through the placement coupling, m/s².
        speed_mps: ``(n,)`` ground speed, m/s.
        yaw_rate_rad_s: ``(n,)`` rate of change of the heading, rad/s.
        limb_phase_rad: ``(n,)`` phase of the thigh swing (stride or crank), or None.
        limb_amp_rad: Thigh swing amplitude, rad.
        underground: ``(n,)`` bool, True where the sky is hidden (tunnels), or None.
    """

    force_mps2: np.ndarray
    rate_rad_s: np.ndarray
    vibration_mps2: np.ndarray
    speed_mps: np.ndarray
    yaw_rate_rad_s: np.ndarray
    limb_phase_rad: np.ndarray | None = None
    limb_amp_rad: float = 0.0
    underground: np.ndarray | None = None


def _tilted(acc_h: np.ndarray, roll: np.ndarray, pitch: np.ndarray, fs_hz: float):
    """Specific force in the tilted body frame and the body's tilt rates."""
    f_h = acc_h + np.array([0.0, 0.0, G])
    tilt = np.stack([roll, pitch, np.zeros_like(roll)], axis=1)
    return rotate(f_h, -tilt), np.gradient(tilt, 1.0 / fs_hz, axis=0)


#: Median RMS (m/s², per axis) of the body micro-motion a carried phone feels while its person is
#: still: breathing, postural sway, small shifts of weight. Calibrated on real still recordings
#: (``scripts/still_vibration_stats.py``): WISDM (21 subjects, phone in the pocket) has a median std
#: of |acc| per 10 s window of 0.037 m/s² sitting and 0.060 standing (10th-90th percentile
#: 0.021-0.16 and 0.025-0.25); the simulated phones' own noise floor adds ~0.015 in quadrature.
#: Simulated pocket still then has 10/25/50/75/90th percentiles 0.018/0.024/0.041/0.083/0.15 against
#: WISDM's 0.023/0.028/0.046/0.095/0.23 (``tests/test_sim_calibration.py`` keeps them together).
#: Lying is quieter than sitting (breathing only).
STILL_MICRO_MPS2: dict[str, float] = {"sitting": 0.038, "standing": 0.062, "lying": 0.022}

#: Spread (log-normal sigma) of the micro-motion level between still legs, and of its slow envelope
#: within a leg: fit to the long upper tail of the real windows (90th percentile 4x the median).
STILL_MICRO_SPREAD = 0.8
STILL_ENVELOPE_SIGMA = 1.0


def still_motion(n: int, posture: str, rng: np.random.Generator, fs_hz: float = IMU_RATE_HZ,
                 coupling: float = 1.0) -> CarrierMotion:
    """Standing, sitting or lying still: gravity, postural sway when standing, and body micro-motion.

    ``coupling`` (0..~1.2) is the share of the body's micro-motion that reaches the phone (a phone
    lying on a table feels none of it; see :data:`sdk.sim.placement.STILL_COUPLING`).
    """
    acc = np.zeros((n, 3))
    if posture == "standing":
        sway = shaped_noise(rng, n, lambda f: resonance_gain(f, 0.4, 1.5) * lowpass_gain(f, 1.5, 2), fs_hz, 2)
        acc[:, :2] = sway * rng.uniform(0.01, 0.05) * max(coupling, 0.0)
    if coupling > 0:
        level = STILL_MICRO_MPS2.get(posture, STILL_MICRO_MPS2["sitting"]) * coupling
        level *= rng.lognormal(0.0, STILL_MICRO_SPREAD)
        env = np.exp(ou_process(rng, n, 20.0, STILL_ENVELOPE_SIGMA, fs_hz=fs_hz, step_s=1.0)[:, 0]
                     - 0.5 * STILL_ENVELOPE_SIGMA**2)
        body = shaped_noise(rng, n, lambda f: lowpass_gain(f, rng.uniform(2.0, 5.0), 2) * (f > 0.1), fs_hz, 3)
        breath_hz = rng.uniform(0.2, 0.35)
        breath = np.sin(2 * np.pi * breath_hz * np.arange(n) / fs_hz + rng.uniform(0, 2 * np.pi))
        acc += body * (level * env)[:, None]
        acc[:, 2] += 0.5 * level * breath
    f, r = _tilted(acc, np.zeros(n), np.zeros(n), fs_hz)
    z = np.zeros(n)
    return CarrierMotion(f, r, np.zeros((n, 3)), z, z.copy())


def _step_phase(n: int, step_hz: float, cv: float, rng: np.random.Generator, fs_hz: float):
    """Step phase (rad) from step-to-step variable durations, and per-step amplitude factors."""
    dur_s = n / fs_hz
    k = int(dur_s * step_hz * 1.3) + 8
    slow = ou_process(rng, k, 30.0, 0.03, fs_hz=step_hz, step_s=2.0)[:, 0]
    steps = (1.0 / step_hz) * (1.0 + slow) * (1.0 + cv * rng.standard_normal(k))
    times = np.concatenate([[0.0], np.cumsum(steps)]) - rng.uniform(0, 1.0 / step_hz)
    t = np.arange(n) / fs_hz
    phase = 2 * np.pi * np.interp(t, times, np.arange(k + 1))
    amp = np.interp(t, times, 1.0 + 0.08 * rng.standard_normal(k + 1))
    inst_hz = np.interp(t, times[:-1], 1.0 / steps)
    return phase, amp, inst_hz


def gait_motion(mode: str, n: int, person: PersonProfile, rng: np.random.Generator,
                fs_hz: float = IMU_RATE_HZ) -> CarrierMotion:
    """Walking or running: a heel-strike pulse at the step frequency plus per-person harmonics.

    Vertical: a von Mises pulse (peaked, zero mean) with 2nd-4th harmonics and a stride-frequency
    asymmetry term; fore-aft at the step frequency; lateral sway at the stride frequency (half the
    step frequency); trunk yaw/roll at the stride frequency. Walks pause now and then (crossings).
    Running has a flight phase (specific force near zero) and impacts of 2-3 g.
    """
    run = mode == "run"
    step_hz = (person.run_step_hz if run else person.walk_step_hz) * rng.normal(1.0, 0.025)
    phase, amp, inst_hz = _step_phase(n, step_hz, person.step_cv, rng, fs_hz)
    kappa = 1.0 + 0.5 * person.impact_sharpness if run else person.impact_sharpness
    pulse = np.exp(kappa * (np.cos(phase) - 1.0))
    mean = np.exp(-kappa) * np.i0(kappa)
    pulse = (pulse - mean) / (1.0 - mean)
    a_v = (person.run_vertical_mps2 if run else person.walk_vertical_mps2) * rng.normal(1.0, 0.08)
    h, p = person.harmonics, person.harmonic_phases_rad
    vert = pulse + sum(h[i] * np.cos((i + 2) * phase + p[i]) for i in range(3))
    vert += person.asymmetry * np.cos(0.5 * phase + p[0])
    fwd = 0.55 * np.cos(phase + p[1]) + 0.25 * np.cos(2 * phase + p[2])
    lat = 0.35 * np.cos(0.5 * phase + p[2]) + 0.1 * np.cos(1.5 * phase)
    moving = np.ones(n)
    if not run:
        for ts in event_times(rng, n / fs_hz, 1 / 240):  # waiting at a crossing
            i0, i1 = int(ts * fs_hz), int((ts + rng.uniform(4.0, 25.0)) * fs_hz)
            moving[i0:i1] = 0.0
        moving = smooth(moving, int(1.0 * fs_hz))
    scale = (a_v * amp * moving)[:, None]
    acc = np.stack([fwd, lat, vert], axis=1) * scale
    acc[:, 2] = np.maximum(acc[:, 2], -0.95 * G)  # feet cannot pull the body down faster than gravity
    turns = np.zeros(n)
    for ts in event_times(rng, n / fs_hz, 1 / 90):
        i0, m = int(ts * fs_hz), int(rng.uniform(1.5, 3.5) * fs_hz)
        m = min(m, n - i0)
        turns[i0 : i0 + m] += rng.choice([-1, 1]) * np.deg2rad(rng.uniform(30, 100)) / (0.5 * m / fs_hz) * np.sin(
            np.pi * np.arange(m) / max(m, 1)) ** 2
    trunk_yaw = (0.05 if not run else 0.08) * np.sin(0.5 * phase + 1.0) * moving
    roll = (0.035 if not run else 0.05) * np.sin(0.5 * phase + p[1]) * moving
    pitch = 0.015 * np.sin(phase + p[2]) * moving
    f, r = _tilted(acc, roll, pitch, fs_hz)
    r[:, 2] += np.gradient(trunk_yaw, 1.0 / fs_hz) + turns
    step_len = person.run_step_length_m if run else person.walk_step_length_m
    speed = step_len * inst_hz * moving
    return CarrierMotion(f, r, np.zeros((n, 3)), speed, turns, 0.5 * phase,
                         rng.uniform(0.4, 0.6) if run else rng.uniform(0.25, 0.4))


def _vibration(vehicle: VehicleProfile, speed: np.ndarray, rng: np.random.Generator, fs_hz: float) -> np.ndarray:
    """Road/rail vibration (x, y, z) scaled by speed and roughness, plus resonances."""
    n = len(speed)

    def spectrum(f):
        g = lowpass_gain(f, vehicle.broadband_hz, 2) + 0.8 * resonance_gain(f, vehicle.body_hz, vehicle.body_q)
        for f0, q, w in vehicle.resonances:
            g = g + w * (resonance_gain(f, f0, q) - 1.0 / (1.0 + (f / f0) ** 2))
        return g

    noise = shaped_noise(rng, n, spectrum, fs_hz, 3)
    rough = np.exp(ou_process(rng, n, 30.0, 0.3, fs_hz=fs_hz, step_s=2.0)[:, 0])
    env = vehicle.vib_idle_mps2 * (speed < 0.5) + vehicle.vib_mps2 * (speed / 10.0) ** 0.8 * rough
    ratio = np.array([0.5 * vehicle.lateral_ratio, vehicle.lateral_ratio, 1.0])
    return noise * env[:, None] * ratio


def vehicle_motion(vehicle: VehicleProfile, n: int, posture: str, rng: np.random.Generator,
                   alias_gain: float = 0.5, person: PersonProfile | None = None,
                   fs_hz: float = IMU_RATE_HZ) -> CarrierMotion:
    """Riding a bike, car, bus, train or subway.

    Longitudinal acceleration is the derivative of the speed profile, lateral acceleration is
    ``v·ω`` (centripetal), the body pitches under braking/acceleration and on grades and rolls in
    curves and in its sway mode; a bike leans into curves so the lateral force stays in its plane.
    Vibration: broadband road/rail spectrum, body and structural resonances, aliased engine line,
    rail-joint knocks. A standing passenger adds slow body sway.
    """
    dur = n / fs_hz
    speed = speed_profile(vehicle, dur, rng, fs_hz)
    yaw = yaw_rate_profile(vehicle, speed, rng, fs_hz)
    a_fwd = np.gradient(speed, 1.0 / fs_hz)
    a_lat = speed * yaw
    grade = ou_process(rng, n, 60.0, vehicle.grade_rad, fs_hz=fs_hz, step_s=2.0)[:, 0]
    sway = shaped_noise(rng, n, lambda f: resonance_gain(f, vehicle.roll_hz, 3.0) * lowpass_gain(f, 2.0, 2), fs_hz, 2)
    sway_env = np.minimum(speed / 10.0, 1.5) + 0.1
    roll = vehicle.roll_per_mps2 * a_lat + vehicle.roll_rad * sway[:, 0] * sway_env
    pitch = grade - vehicle.pitch_per_mps2 * a_fwd + 0.4 * vehicle.roll_rad * sway[:, 1] * sway_env
    limb_phase, limb_amp = None, 0.0
    acc = np.stack([a_fwd, a_lat, np.zeros(n)], axis=1)
    if vehicle.kind == "bike":
        roll = -np.arctan2(a_lat, G) + vehicle.roll_rad * sway[:, 0] * sway_env + 0.12 * (speed < 0.3)
        acc[:, 1] = 0.0  # coordinated lean: no lateral force in the bike's plane
        cadence_hz = (person.cadence_rpm if person else 75.0) / 60.0 * (
            1.0 + ou_process(rng, n, 10.0, 0.05, fs_hz=fs_hz, step_s=1.0)[:, 0])
        coast = ou_process(rng, n, 8.0, 1.0, fs_hz=fs_hz, step_s=1.0)[:, 0] < -0.8
        pedal = smooth(((speed > 1.0) & (a_fwd > -0.3) & ~coast).astype(float), int(fs_hz))
        limb_phase = 2 * np.pi * np.cumsum(cadence_hz * pedal) / fs_hz
        limb_amp = rng.uniform(0.3, 0.5)
        acc[:, 2] += rng.uniform(0.2, 0.6) * np.cos(2 * limb_phase) * pedal
        acc[:, 1] += rng.uniform(0.1, 0.4) * np.cos(limb_phase) * pedal
        roll = roll + 0.03 * np.sin(limb_phase) * pedal
    elif posture == "standing":
        body = shaped_noise(rng, n, lambda f: resonance_gain(f, 0.5, 2.0) * lowpass_gain(f, 1.5, 2), fs_hz, 2)
        roll = roll + 0.02 * body[:, 0]
        pitch = pitch + 0.02 * body[:, 1] - 0.01 * smooth(a_fwd, int(2 * fs_hz))
    f, r = _tilted(acc, roll, pitch, fs_hz)
    r[:, 2] += yaw
    vib = _vibration(vehicle, speed, rng, fs_hz)
    vib[:, 2] += engine_line(vehicle, speed, alias_gain, rng, fs_hz) + rail_joints(vehicle, speed, rng, fs_hz)
    underground = None
    if vehicle.kind == "subway":
        underground = np.ones(n, bool)
        if rng.random() < 0.2:  # an elevated or surface section
            i0 = int(rng.uniform(0, 0.7) * n)
            underground[i0 : i0 + int(rng.uniform(0.2, 0.5) * n)] = False
    elif vehicle.kind == "train":
        underground = np.zeros(n, bool)
        for ts in event_times(rng, dur, 1 / 900):
            underground[int(ts * fs_hz) : int((ts + rng.uniform(15, 150)) * fs_hz)] = True
    return CarrierMotion(f, r, vib, speed, yaw, limb_phase, limb_amp, underground)
