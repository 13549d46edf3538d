"""Sensor chunks → the inputs of :func:`sdk.driving.detect_driving_events`, for :mod:`sdk.driving.live`.

What the live stage hands the driving detector must satisfy its contract (times strictly increasing
across the whole drive, finite values, the gyroscope on the accelerometer's times, GPS speed ≥ 0 or
NaN, a course over ground). Phones and files deliver less: this module cleans a
:class:`~sdk.sources.SensorChunk` into a :class:`Piece`, dropping what cannot be used:

* IMU samples with a non-finite time or value, or a time not after every earlier one, are dropped
  (counted); a gyroscope on its own clock is interpolated onto the accelerometer's times.
* GPS fixes with a non-finite time or a time not after the previous fix are dropped; a speed that
  is NaN, negative or over 100 m/s is unknown (NaN).
* :class:`~sdk.timeline.records.GpsFix` has no course, so the heading is the bearing from the
  previous fix (NaN when the two are closer than 3 m or the speed is under 2 m/s, where the
  direction is GPS noise). The detector uses it only when there is no gyroscope.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.timeline.geo import haversine_m

_MAX_GPS_SPEED_MPS = 100.0
_MIN_HEADING_STEP_M = 3.0
_MIN_HEADING_SPEED_MPS = 2.0


@dataclasses.dataclass
class Piece:
    """Cleaned IMU (s, m/s², rad/s) and GPS (s, m/s, rad clockwise from north) of one time span."""

    t: np.ndarray
    acc: np.ndarray
    gyro: Optional[np.ndarray]
    gps_t: np.ndarray
    gps_v: np.ndarray
    gps_h: np.ndarray

    def split(self, c: float) -> tuple["Piece", "Piece"]:
        """The part before ``c`` (unix s) and the part from ``c`` on (IMU and GPS cut at the same time)."""
        i, j = int(np.searchsorted(self.t, c)), int(np.searchsorted(self.gps_t, c))
        g = self.gyro
        return (Piece(self.t[:i], self.acc[:i], None if g is None else g[:i], self.gps_t[:j], self.gps_v[:j], self.gps_h[:j]),
                Piece(self.t[i:], self.acc[i:], None if g is None else g[i:], self.gps_t[j:], self.gps_v[j:], self.gps_h[j:]))

    def empty(self) -> bool:
        return len(self.t) == 0 and len(self.gps_t) == 0

    def span(self) -> tuple[float, float]:
        """First and last time in the piece (IMU or GPS), unix s. Not for an empty piece."""
        times = [x for x in (self.t[:1], self.t[-1:], self.gps_t[:1], self.gps_t[-1:]) if len(x)]
        return min(float(x[0]) for x in times), max(float(x[0]) for x in times)


@dataclasses.dataclass
class Cursor:
    """Where the cleaned stream of one drive is: last IMU time, last GPS time (s), last position (deg)."""

    last_t: float = -math.inf
    last_gps_t: float = -math.inf
    last_fix: Optional[tuple] = None
    dropped: int = 0


def chunk_span(chunk) -> Optional[tuple[float, float]]:
    """First and last time of a sensor chunk (IMU or GPS), unix s; None when it holds nothing."""
    ts = [float(x) for x in chunk.acc_t[:1]] + [float(f.t) for f in chunk.gps[:1]]
    te = [float(x) for x in chunk.acc_t[-1:]] + [float(f.t) for f in chunk.gps[-1:]]
    ts, te = [x for x in ts if math.isfinite(x)], [x for x in te if math.isfinite(x)]
    return (min(ts), max(te)) if ts and te else None


def distance_m(gps_t: np.ndarray, gps_v: np.ndarray, start_s: float, end_s: float) -> float:
    """Distance from GPS speed between ``start_s`` and ``end_s`` (unix s), m: the trapezoid rule of
    :mod:`sdk.driving` (fix pairs at most 10 s apart, both with a known speed)."""
    sel = (gps_t >= start_s) & (gps_t <= end_s)
    t, v = gps_t[sel], gps_v[sel]
    if len(t) < 2:
        return 0.0
    dt, vv = np.diff(t), 0.5 * (v[1:] + v[:-1])
    return float(np.sum(np.where((dt <= 10.0) & np.isfinite(vv), vv * dt, 0.0)))


def _gyro_on_acc_times(chunk, t: np.ndarray, acc: np.ndarray) -> np.ndarray:
    g = np.asarray(chunk.gyro, dtype=np.float64).reshape(-1, 3) if chunk.gyro is not None else np.zeros((0, 3))
    if chunk.gyro_t is None:
        return g if len(g) == len(t) else np.zeros_like(acc)
    gt = np.asarray(chunk.gyro_t, dtype=np.float64).reshape(-1)
    ok = np.isfinite(gt) & np.isfinite(g).all(axis=1) if len(gt) == len(g) else np.zeros(len(gt), bool)
    gt, g = gt[ok], g[ok]
    inc = gt > np.maximum.accumulate(np.concatenate([[-np.inf], gt]))[:-1]
    gt, g = gt[inc], g[inc]
    return np.stack([np.interp(t, gt, g[:, i]) for i in range(3)], axis=1) if len(gt) else np.zeros_like(acc)


def piece_from_chunk(chunk, cursor: Cursor, has_gyro: bool) -> Piece:
    """Clean ``chunk`` (a :class:`~sdk.sources.SensorChunk`) after what ``cursor`` has seen (updated);
    ``has_gyro``: the drive uses the gyroscope (missing gyro samples then read 0 rad/s)."""
    t = np.asarray(chunk.acc_t, dtype=np.float64).reshape(-1)
    acc = np.asarray(chunk.acc, dtype=np.float64).reshape(-1, 3)
    if len(acc) != len(t):
        raise InputError(f"chunk has {len(t)} accelerometer times but {len(acc)} samples")
    gyro = _gyro_on_acc_times(chunk, t, acc) if has_gyro else None
    ok = np.isfinite(t) & np.isfinite(acc).all(axis=1)
    if gyro is not None:
        ok &= np.isfinite(gyro).all(axis=1)
    run = np.maximum.accumulate(np.concatenate([[cursor.last_t], np.where(ok, t, -np.inf)]))[:-1]
    ok &= t > run
    cursor.dropped += int(len(t) - ok.sum())
    t, acc = t[ok], acc[ok]
    gyro = gyro[ok] if gyro is not None else None
    if len(t):
        cursor.last_t = float(t[-1])
    gps_t, gps_v, gps_h = [], [], []
    for f in chunk.gps:
        ft, lat, lon = float(f.t), float(f.lat), float(f.lon)
        if not (math.isfinite(ft) and ft > cursor.last_gps_t):
            continue
        v = float(f.speed_mps)
        v = v if math.isfinite(v) and 0.0 <= v <= _MAX_GPS_SPEED_MPS else math.nan
        h = math.nan
        if math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180:
            if cursor.last_fix is not None and not (v < _MIN_HEADING_SPEED_MPS):
                h = bearing_rad(cursor.last_fix[0], cursor.last_fix[1], lat, lon)
            cursor.last_fix = (lat, lon)
        cursor.last_gps_t = ft
        gps_t.append(ft)
        gps_v.append(v)
        gps_h.append(h)
    return Piece(t, acc, gyro, np.asarray(gps_t, dtype=np.float64), np.asarray(gps_v, dtype=np.float64),
                 np.asarray(gps_h, dtype=np.float64))


def bearing_rad(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Course from the first point to the second (degrees in), rad clockwise from north in [0, 2π);
    NaN when they are closer than 3 m (the direction is then GPS noise).

    >>> round(bearing_rad(0.0, 0.0, 0.0, 0.001), 4)  # due east
    1.5708
    """
    if float(haversine_m(lat1, lon1, lat2, lon2)) < _MIN_HEADING_STEP_M:
        return math.nan
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.atan2(y, x) % (2 * math.pi)
