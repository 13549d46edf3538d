"""Raw samples for the Now screen's live traces (plain Python).

``MomentSDK`` has no public hook for raw samples, so the app wraps the
:class:`~sdk.sources.SensorSource` it passes in ``SDKConfig(source=...)``: the wrapper copies each chunk
into a :class:`SampleTap` (and can shift simulated time, or hold the stream) before the SDK sees it.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Iterator

import numpy as np

class SampleTap:
    """The last ``keep_s`` seconds of raw accelerometer (m/s²) and gyroscope (rad/s) samples; thread-safe."""

    def __init__(self, keep_s: float = 5.0, max_samples: int = 2000):
        self.keep_s, self.max_samples = float(keep_s), int(max_samples)
        self._lock = threading.Lock()
        self._acc_t = np.zeros(0)
        self._acc = np.zeros((0, 3))
        self._gyro_t = np.zeros(0)
        self._gyro = np.zeros((0, 3))

    def _append(self, t_old, x_old, t, x):
        t = np.concatenate([t_old, np.asarray(t, float)])
        x = np.concatenate([x_old, np.asarray(x, float).reshape(-1, 3)])
        if len(t):
            keep = t >= t[-1] - self.keep_s
            t, x = t[keep][-self.max_samples :], x[keep][-self.max_samples :]
        return t, x

    def push(self, acc_t, acc, gyro_t, gyro) -> None:
        """Add one chunk (``gyro_t`` None = the accelerometer's timestamps)."""
        gyro_t = acc_t if gyro_t is None else gyro_t
        with self._lock:
            self._acc_t, self._acc = self._append(self._acc_t, self._acc, acc_t, acc)
            if gyro is not None and len(gyro) == len(gyro_t):
                self._gyro_t, self._gyro = self._append(self._gyro_t, self._gyro, gyro_t, gyro)

    def snapshot(self) -> dict:
        """``{"acc_t", "acc", "gyro_t", "gyro"}`` as lists (JSON-ready), the last ``keep_s`` seconds."""
        with self._lock:
            return {"acc_t": self._acc_t.tolist(), "acc": self._acc.tolist(), "gyro_t": self._gyro_t.tolist(), "gyro": self._gyro.tolist()}


def _source_base():
    from momentsense.sdk.sources import SensorSource

    return SensorSource


def make_tapped_source(inner, tap: SampleTap, time_shift_s: float = 0.0):
    """Wrap ``inner`` (a :class:`~sdk.sources.SensorSource`) so every chunk is copied into ``tap`` and its
    timestamps (IMU and GPS) are shifted by ``time_shift_s`` seconds before the SDK sees it.

    The wrapper can also hold the stream: set ``src.paused`` and the SDK's pipeline waits for the next
    chunk (``src.idle`` is set once it waits), so what the SDK reports stays still (demos, UI tests).
    """
    SensorSource = _source_base()
    paused, idle, closed = threading.Event(), threading.Event(), threading.Event()

    class TappedSource(SensorSource):
        name = getattr(inner, "name", "source")

        def chunks(self) -> Iterator:
            for chunk in inner.chunks():
                while paused.is_set() and not closed.is_set():
                    idle.set()
                    closed.wait(0.01)
                idle.clear()
                if time_shift_s:
                    chunk = _shift(chunk, time_shift_s)
                tap.push(chunk.acc_t, chunk.acc, chunk.gyro_t, chunk.gyro)
                yield chunk

        def close(self) -> None:
            closed.set()
            inner.close()

    src = TappedSource()
    src.inner, src.paused, src.idle = inner, paused, idle
    return src


def _shift(chunk, dt: float):
    gps = [dataclasses.replace(f, t=f.t + dt) for f in chunk.gps]
    return dataclasses.replace(chunk, acc_t=chunk.acc_t + dt, gyro_t=None if chunk.gyro_t is None else chunk.gyro_t + dt, gps=gps)
