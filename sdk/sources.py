"""Sensor sources behind one interface: the simulator, a recorded file, and the phone (plyer).

A source hands out :class:`SensorChunk` objects (raw timestamped samples, as a phone delivers them);
the runtime does everything else. ``speed`` = 0 replays as fast as possible, 1 in real time, 60 a
minute per second.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Iterator, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import MomentsenseError
from momentsense.sdk.timeline.records import GpsFix


class SensorUnavailableError(MomentsenseError, RuntimeError):
    """This platform cannot provide the requested sensor; the message names the source to use instead."""


@dataclasses.dataclass
class SensorChunk:
    """Raw samples of a few seconds.

    Attributes:
        acc_t: float64 ``(N,)`` seconds. acc: ``(N, 3)`` m/s² with gravity.
        gyro_t: float64 ``(K,)`` seconds or None (= ``acc_t``). gyro: ``(K, 3)`` rad/s.
        gps: GPS fixes in this chunk.
        label: Ground-truth labels of the acc samples (simulator and labelled files only), or None.
        gps_on: Whether the source was listening for GPS fixes during the chunk (so that no fix
            means no sky, not no receiver); None = unknown, read as off.
    """

    acc_t: np.ndarray
    acc: np.ndarray
    gyro_t: Optional[np.ndarray]
    gyro: np.ndarray
    gps: list
    label: Optional[np.ndarray] = None
    gps_on: Optional[bool] = None


class SensorSource:
    """Base class: iterate to get chunks; ``close()`` stops the sensors."""

    name = "source"

    def chunks(self) -> Iterator[SensorChunk]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Stop the sensors (idempotent)."""


def _pace(t_data0: float, t_wall0: float, t_data: float, speed: float, closed) -> None:
    """Wait until ``t_data`` is due at ``speed``; wakes every 50 ms to honour ``closed()`` (stop within 1 s)."""
    if speed <= 0:
        return
    while not closed():
        delay = (t_data - t_data0) / speed - (time.monotonic() - t_wall0)
        if delay <= 0:
            return
        time.sleep(min(delay, 0.05))


def _paced(chunks: Iterator[SensorChunk], speed: float, closed) -> Iterator[SensorChunk]:
    """Hand out ``chunks`` at ``speed`` × real time (0 = as fast as possible) until ``closed()``."""
    t_wall0, t_data0 = time.monotonic(), None
    for chunk in chunks:
        if closed():
            return
        if len(chunk.acc_t):
            t_data0 = chunk.acc_t[0] if t_data0 is None else t_data0
            _pace(t_data0, t_wall0, chunk.acc_t[-1], speed, closed)
        yield chunk


def _gps_fixes(gps, a: float, b: float) -> list:
    if gps is None or len(gps.t) == 0:
        return []
    sel = np.flatnonzero((gps.t >= a) & (gps.t < b))
    acc = gps.accuracy_m if gps.accuracy_m is not None else np.full(len(gps.t), np.nan)
    spd = gps.speed_mps if gps.speed_mps is not None else np.full(len(gps.t), np.nan)
    return [GpsFix(float(gps.t[i]), float(gps.lat[i]), float(gps.lon[i]), float(acc[i]), float(spd[i])) for i in sel]


def chunk_recording(rec, chunk_s: float, gps_on: Optional[bool] = None) -> Iterator[SensorChunk]:
    if len(rec.t) == 0:
        return
    t = np.asarray(rec.t)
    edges = np.arange(np.nanmin(t), np.nanmax(t) + chunk_s, chunk_s)
    for a, b in zip(edges[:-1], edges[1:]):
        sel = (t >= a) & (t < b)
        if rec.gyro_t is not None:
            gsel = (rec.gyro_t >= a) & (rec.gyro_t < b)
            gt, g = rec.gyro_t[gsel], rec.gyro[gsel]
        else:
            gt, g = None, rec.gyro[sel] if rec.gyro is not None else np.zeros((int(sel.sum()), 3))
        yield SensorChunk(t[sel], rec.acc[sel], gt, g, _gps_fixes(rec.gps, a, b), None if rec.label is None else rec.label[sel],
                          gps_on)  # fmt: skip


class SimulatorSource(SensorSource):
    """A simulated person's day from :mod:`sdk.sim` (the desktop default).

    Parameters
    ----------
    legs : sequence of sdk.sim.Leg or (mode, duration_s)
        The itinerary; long legs are simulated in pieces of at most 10 min.
    seed : int
    speed : float
        0 = as fast as possible; 1 = real time.
    chunk_s : float
        Seconds of data per chunk (what a phone would buffer).
    """

    name = "simulate"

    def __init__(self, legs: Sequence, seed: int = 0, speed: float = 0.0, chunk_s: float = 10.0):
        self.legs, self.seed, self.speed, self.chunk_s = list(legs), seed, speed, chunk_s
        self._closed = False

    def chunks(self) -> Iterator[SensorChunk]:
        from momentsense.sdk.sim import Leg, draw_device, draw_person, iter_itinerary

        pieces = []
        for leg in self.legs:
            leg = leg if isinstance(leg, Leg) else Leg(*leg)
            n = max(1, int(np.ceil(leg.duration_s / 600.0)))
            pieces += [dataclasses.replace(leg, duration_s=leg.duration_s / n, heading_rad=leg.heading_rad if i == 0 else None) for i in range(n)]
        recs = iter_itinerary(pieces, draw_person("sdk-sim", self.seed), draw_device("sdk-sim", self.seed), seed=self.seed)
        # The simulated receiver always listens (a leg underground has no fix, but GPS is on).
        chunks = (chunk for rec in recs for chunk in chunk_recording(rec, self.chunk_s, gps_on=True))
        yield from _paced(chunks, self.speed, lambda: self._closed)

    def close(self) -> None:
        self._closed = True


class ReplaySource(SensorSource):
    """Replay a ``momentsense-imu-v1`` file (desktop; needs h5py), recording after recording."""

    name = "replay"

    def __init__(self, path: str, speed: float = 0.0, chunk_s: float = 10.0):
        from momentsense.sdk.io.imu_file import read_imu

        self.dataset = read_imu(path)
        self.speed, self.chunk_s = speed, chunk_s
        self._closed = False

    def chunks(self) -> Iterator[SensorChunk]:
        # A file that carries GPS tracks was recorded with GPS on (a recording without a track then
        # got no fix); a file without any was recorded without GPS.
        gps_on = any(r.gps is not None for r in self.dataset.recordings)
        chunks = (chunk for rec in self.dataset.recordings for chunk in chunk_recording(rec, self.chunk_s, gps_on))
        yield from _paced(chunks, self.speed, lambda: self._closed)

    def close(self) -> None:
        self._closed = True


def plyer_source(**kwargs) -> SensorSource:
    """The phone's sensors: GPS through plyer, the IMU through the SDK's pyjnius listener (or plyer
    polling with ``imu="plyer"``); see :class:`sdk.sources.phone.PhoneSource` for ``kwargs``.

    Off Android, raises :class:`SensorUnavailableError` saying which source to use instead (plyer's
    desktop backends either raise or, as measured here on Linux, return nothing useful at 25 Hz).
    On Android, a sensor that cannot start (no permission, no accelerometer) raises it too.
    """
    from momentsense.sdk.android import is_android

    if not is_android():
        raise SensorUnavailableError(
            "no phone sensors on this platform (not Android); use source='simulate' (SimulatorSource) "
            "or source='replay' (ReplaySource) on a desktop"
        )
    from momentsense.sdk.sources.phone import PhoneSource

    try:
        return PhoneSource(**kwargs)
    except MomentsenseError:
        raise
    except Exception as exc:  # plyer raises plain Exception / NotImplementedError; jnius JavaException
        raise SensorUnavailableError(
            f"the phone's sensors could not start ({type(exc).__name__}: {exc}); check the app's "
            "permissions (ACCESS_FINE_LOCATION) and that sensing runs in a foreground service, or use "
            "source='simulate' / source='replay' to run without a phone"
        ) from exc
