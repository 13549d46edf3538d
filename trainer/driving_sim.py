"""Simulated car trips with planted driving events, for evaluating :mod:`sdk.driving`.

The vehicle-frame motion (longitudinal and lateral acceleration, yaw rate) is synthesised block by
block (gentle cruising, stops, and planted events), then expressed in a phone fixed in the car with
a random orientation (:func:`sdk.sim.signals.random_rotation`), sampled at 100 Hz with noise and
vibration; GPS at 1 Hz with speed noise and compass heading.

Planted (ground truth, ``SimTrip.truth``): harsh braking / acceleration / cornering above the default
thresholds, *mild* ones below them (must not be detected), speeding stretches, phone handling
(pick-up, turn, put back), phone drops (free fall + impact, or a knock; the car keeps going, or was
slow, or stops normally soon after) and crashes (5–30 g impact at ≥ 43 km/h, the car stops).
A crash's deceleration is also a harsh braking in the truth (it is one physically).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.records import STANDARD_GRAVITY_MPS2 as G
from momentsense.sdk.sim.signals import random_rotation, rotate, smoothstep

FS_HZ = 100.0
T0 = 1_700_000_000.0


@dataclasses.dataclass
class SimTrip:
    """One simulated trip: IMU (``t``, ``acc``, ``gyro``, phone axes), GPS, and the planted truth.

    ``truth`` is a list of dicts ``{"kind", "start", "end"}`` (unix seconds; ``"optional": True`` where a
detection is right but a miss is not counted); kinds are the
    :data:`sdk.driving.KINDS` plus ``mild_braking``, ``mild_acceleration``, ``mild_cornering`` and
    ``drop``.
    """

    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray
    gps_t: np.ndarray
    gps_speed_mps: np.ndarray
    gps_heading_rad: np.ndarray
    truth: list
    speed_limit_mps: float
    rotation: np.ndarray


def _pulse(n: int, ramp: int) -> np.ndarray:
    """Flat-top pulse of length n with smooth ramps of ``ramp`` samples."""
    x = np.ones(n)
    r = min(ramp, n // 2)
    if r > 0:
        up = smoothstep(np.arange(r) / r)
        x[:r], x[n - r:] = up, up[::-1]
    return x


class _Builder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.lon: list[np.ndarray] = []
        self.lat: list[np.ndarray] = []
        self.v = 0.0
        self.n = 0
        self.truth: list[dict] = []
        self.marks: list[dict] = []  # phone-side events: handling, drop, crash impacts

    @property
    def t(self) -> float:
        return self.n / FS_HZ

    def block(self, lon: np.ndarray, lat: np.ndarray | None = None) -> None:
        lat = np.zeros(len(lon)) if lat is None else lat
        v = self.v + np.cumsum(lon) / FS_HZ
        lon = np.where(v < 0, 0.0, lon)  # never reverse
        self.lon.append(lon)
        self.lat.append(np.where(v > 0.5, lat, 0.0))
        self.v = max(0.0, self.v + float(np.sum(lon)) / FS_HZ)
        self.n += len(lon)

    def change_speed(self, v_to: float, a_mps2: float) -> None:
        dur = abs(v_to - self.v) / a_mps2
        m = max(int(dur * FS_HZ), 2)
        if m < 60:
            self.block(np.full(m, (v_to - self.v) * FS_HZ / m))
            return
        shape = _pulse(m, 40)
        self.block(shape * (v_to - self.v) * FS_HZ / shape.sum())

    def cruise(self, dur_s: float, max_lat: float = 1.5) -> None:
        m = int(dur_s * FS_HZ)
        rng = self.rng
        k = np.arange(m) / FS_HZ
        lon = 0.25 * np.sin(2 * np.pi * k / rng.uniform(8, 20) + rng.uniform(0, 6))
        lon -= lon.mean()
        lat = rng.uniform(-max_lat, max_lat) * np.sin(np.pi * k / max(dur_s, 1e-6)) ** 2
        self.block(lon, lat)

    def planted(self, kind: str, level: float, dur_s: float) -> None:
        m = int(dur_s * FS_HZ)
        start = T0 + self.t
        if kind.endswith("braking"):
            self.block(-level * _pulse(m, 40))
        elif kind.endswith("acceleration"):
            self.block(level * _pulse(m, 40))
        else:
            self.block(np.zeros(m), self.rng.choice([-1.0, 1.0]) * level * _pulse(m, 40))
        self.truth.append({"kind": kind, "start": start, "end": T0 + self.t})


def simulate_drive(seed: int, duration_s: float = 480.0, crash: bool = False, n_drops: int = 1,
                   n_handling: int = 1, speed_limit_mps: float = 70 / 3.6,
                   rotation: np.ndarray | None = None, noise: float = 1.0) -> SimTrip:
    """One car trip with planted events (see the module docstring).

    Parameters
    ----------
    seed : int
        Everything (events, noise, orientation) follows from it.
    duration_s : float
        Approximate driving time before the end (or the crash), s.
    crash : bool
        End the trip with a crash.
    n_drops, n_handling : int
        Phone drops and phone-handling episodes to plant.
    speed_limit_mps : float
        Limit the speeding stretches exceed (by 3–7 m/s), m/s.
    rotation : ndarray ``(3, 3)``, optional
        Phone-to-car rotation; default random from ``seed``. Pass one to test orientation invariance.
    noise : float
        Scale of sensor noise and road vibration.
    """
    rng = np.random.default_rng(seed)
    b = _Builder(rng)
    b.block(np.zeros(int(rng.uniform(3, 8) * FS_HZ)))
    b.change_speed(rng.uniform(10, 15), rng.uniform(1.0, 1.6))
    b.cruise(rng.uniform(15, 25))
    kinds = ["harsh_braking", "harsh_acceleration", "harsh_cornering", "mild_braking", "mild_acceleration",
             "mild_cornering", "stop", "speeding"] * 3
    order = [kinds[i] for i in rng.permutation(len(kinds))]
    for extra in ["handling"] * n_handling + ["drop"] * n_drops:  # early enough to happen
        order.insert(int(rng.integers(0, 2 + n_handling + n_drops)), extra)
    for kind in order:
        if b.t > duration_s:
            break
        if b.v < 8:
            b.change_speed(rng.uniform(10, 15), rng.uniform(1.0, 1.5))
        if kind == "harsh_braking":
            lvl, d = rng.uniform(3.6, 6.0), rng.uniform(1.0, 2.0)
            d = min(d, (b.v - 1.0) / lvl)
            b.planted(kind, lvl, max(d, 0.9))
        elif kind == "harsh_acceleration":
            if b.v > 18:
                b.change_speed(12, 1.2)
            b.planted(kind, rng.uniform(2.9, 4.0), rng.uniform(1.5, 3.0))
            if b.v > speed_limit_mps - 2.0:
                b.change_speed(rng.uniform(11, 15), 1.2)
        elif kind == "harsh_cornering":
            b.planted(kind, rng.uniform(4.3, 6.5), rng.uniform(1.5, 3.0))
        elif kind == "mild_braking":
            b.planted(kind, rng.uniform(1.2, 2.2), rng.uniform(1.0, 3.0))
        elif kind == "mild_acceleration":
            b.planted(kind, rng.uniform(1.0, 1.6), rng.uniform(2.0, 4.0))
        elif kind == "mild_cornering":
            b.planted(kind, rng.uniform(1.8, 2.6), rng.uniform(2.0, 4.0))
        elif kind == "stop":
            b.change_speed(0.0, rng.uniform(1.2, 2.0))
            b.block(np.zeros(int(rng.uniform(5, 20) * FS_HZ)))
            b.change_speed(rng.uniform(10, 15), rng.uniform(1.0, 1.6))
        elif kind == "speeding":
            b.change_speed(speed_limit_mps + rng.uniform(3.0, 7.0), 1.2)
            start = T0 + b.t
            b.cruise(rng.uniform(20, 40), max_lat=1.0)
            b.truth.append({"kind": "speeding", "start": start, "end": T0 + b.t})
            b.change_speed(rng.uniform(11, 15), 1.2)
        elif kind == "handling":
            b.marks.append({"kind": "phone_handling", "at": b.t, "angle": rng.uniform(1.2, 2.0),
                            "turn_s": rng.uniform(0.5, 1.0), "hold_s": rng.uniform(5, 15)})
            b.cruise(b.marks[-1]["hold_s"] + 2 * b.marks[-1]["turn_s"] + 2.0)
        elif kind == "drop":
            variant = rng.choice(["moving", "knock", "slow_stop", "ff_then_stop"])
            if variant == "slow_stop":
                b.change_speed(rng.uniform(3.0, 6.0), 1.2)
                b.marks.append({"kind": "drop", "at": b.t, "ff_s": rng.uniform(0.15, 0.35), "g": rng.uniform(6, 25)})
                b.cruise(1.0, 0.0)
                b.change_speed(0.0, 1.5)
                b.block(np.zeros(int(8 * FS_HZ)))
            elif variant == "ff_then_stop":
                b.marks.append({"kind": "drop", "at": b.t, "ff_s": rng.uniform(0.15, 0.35), "g": rng.uniform(6, 25)})
                b.cruise(1.0, 0.0)
                b.change_speed(0.0, 2.0)
                b.block(np.zeros(int(8 * FS_HZ)))
            else:
                ff = 0.0 if variant == "knock" else rng.uniform(0.15, 0.4)
                b.marks.append({"kind": "drop", "at": b.t, "ff_s": ff, "g": rng.uniform(6, 25)})
            b.cruise(rng.uniform(10, 20))
        b.cruise(rng.uniform(12, 25))
    if crash:
        if b.v < 13:
            b.change_speed(rng.uniform(14, 20), 1.4)
            b.cruise(8.0, 0.5)
        stop_s = rng.uniform(0.1, 0.3)
        start = T0 + b.t
        b.marks.append({"kind": "crash", "at": b.t, "g": rng.uniform(8, 30), "dur_s": stop_s})
        b.block(np.full(int(stop_s * FS_HZ), -b.v / stop_s))
        b.truth.append({"kind": "crash", "start": start - 0.5, "end": T0 + b.t + 0.5})
        # physically a harsh braking too: a detection there is right, a miss is not counted
        b.truth.append({"kind": "harsh_braking", "start": start - 0.5, "end": T0 + b.t + 1.0, "optional": True})
        b.block(np.zeros(int(20 * FS_HZ)))
    else:
        b.change_speed(0.0, 1.5)
        b.block(np.zeros(int(5 * FS_HZ)))
    for m in b.marks:
        if m["kind"] == "drop":
            b.truth.append({"kind": "drop", "start": T0 + m["at"], "end": T0 + m["at"] + m["ff_s"] + 0.1})
    return _render(b, rng, speed_limit_mps, rotation, noise)


def _render(b: _Builder, rng, speed_limit_mps, rotation, noise) -> SimTrip:
    lon = np.concatenate(b.lon)
    lat = np.concatenate(b.lat)
    n = len(lon)
    t = np.arange(n) / FS_HZ
    v = np.maximum(np.cumsum(lon) / FS_HZ, 0.0)
    omega = np.where(v > 0.5, lat / np.maximum(v, 0.5), 0.0)
    heading = np.cumsum(omega) / FS_HZ  # yaw, counter-clockwise
    vib = rng.normal(0, 0.25 * noise, (n, 3))
    eng_f = rng.uniform(18, 45)
    vib[:, 2] += 0.15 * noise * np.sin(2 * np.pi * eng_f * t) + rng.normal(0, 0.2 * noise, n) * (v > 0.5)
    a_car = np.stack([lon, lat, np.full(n, G)], axis=1) + vib
    w_car = np.stack([np.zeros(n), np.zeros(n), omega], axis=1)
    R1 = random_rotation(rng) if rotation is None else np.asarray(rotation, dtype=float)
    # phone axes: a_phone = Rot_extra(t)^T R^T a_car
    rotvec = np.zeros((n, 3))  # extra rotation of the phone relative to its mount (phone frame)
    w_extra = np.zeros((n, 3))
    R_of = np.repeat(R1[None], n, axis=0)
    spikes = np.zeros((n, 3))
    freefall = np.zeros(n, bool)
    for m in b.marks:
        i0 = int(m["at"] * FS_HZ)
        if m["kind"] == "phone_handling":
            axis = rng.normal(size=3)
            axis /= np.linalg.norm(axis)
            turn, hold = int(m["turn_s"] * FS_HZ), int(m["hold_s"] * FS_HZ)
            prof = np.concatenate([smoothstep(np.arange(turn) / turn), np.ones(hold), 1 - smoothstep(np.arange(turn) / turn)])
            prof = prof[: n - i0] * m["angle"]
            rotvec[i0:i0 + len(prof)] = axis * prof[:, None]
            w_extra[i0:i0 + len(prof)] = axis * (np.gradient(prof) * FS_HZ)[:, None]
            tremor = rng.normal(0, 0.3, (len(prof), 3))
            a_car[i0:i0 + len(prof)] += tremor * 0.5
        elif m["kind"] == "drop":
            ff = int(m["ff_s"] * FS_HZ)
            land = i0 + ff
            freefall[i0:land] = True
            R2 = random_rotation(rng)
            R_of[land:] = R2
            tumble_end = min(n, land + int(0.4 * FS_HZ))
            w_extra[i0:tumble_end] = rng.normal(0, 8.0, 3)
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            width = int(rng.integers(1, 4))
            spikes[land:land + width] = d * m["g"] * G
        elif m["kind"] == "crash":
            dur = max(int(m["dur_s"] * FS_HZ), 2)
            shape = np.sin(np.pi * np.arange(dur) / dur)
            d = np.array([-1.0, rng.normal(0, 0.3), rng.normal(0, 0.2)])
            d /= np.linalg.norm(d)
            spikes[i0:i0 + dur] = shape[:, None] * d * m["g"] * G
    # after a drop the phone lies elsewhere: subsequent handling rotations are relative to it
    acc_mount = np.einsum("nji,nj->ni", R_of, a_car + spikes)  # R^T a (car → phone)
    gyro_mount = np.einsum("nji,nj->ni", R_of, w_car)
    acc = rotate(acc_mount, -rotvec)
    gyro = rotate(gyro_mount, -rotvec) + w_extra
    acc[freefall] = rng.normal(0, 0.3, (int(freefall.sum()), 3))
    acc += rng.normal(0, 0.05 * noise, acc.shape)
    gyro += rng.normal(0, 0.01 * noise, gyro.shape) + rng.normal(0, 0.005, 3)
    # GPS 1 Hz
    gi = np.arange(0, n, int(FS_HZ))
    gps_t = T0 + t[gi]
    gps_v = np.maximum(v[gi] + rng.normal(0, 0.25, len(gi)), 0.0)
    compass = np.mod(np.pi / 2 - heading[gi] + rng.normal(0, 0.02, len(gi)), 2 * np.pi)
    compass[v[gi] < 1.0] = np.nan
    truth = sorted(b.truth, key=lambda d: d["start"])
    for m in b.marks:
        if m["kind"] == "phone_handling":
            truth.append({"kind": "phone_handling", "start": T0 + m["at"],
                          "end": T0 + m["at"] + m["hold_s"] + 2 * m["turn_s"]})
        if m["kind"] == "drop":  # a tumbling phone is handled too
            truth.append({"kind": "phone_handling", "start": T0 + m["at"] - 0.5, "end": T0 + m["at"] + 1.5})
    return SimTrip(T0 + t, acc.astype(np.float64), gyro.astype(np.float64), gps_t, gps_v, compass, truth,
                   speed_limit_mps, R1)
