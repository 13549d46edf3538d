"""The phone's own sensors: IMU at 25 Hz and GPS, as :class:`~sdk.sources.SensorChunk` objects.

Two ways to get the IMU (see ``platform-notes.md``):

- ``imu="listener"`` (the Android default): the SDK's own pyjnius ``SensorEventListener`` registered
  with a 40 ms sampling period (a hint; Android may deliver faster). Every event keeps its own
  ``event.timestamp`` (ns, the ``elapsedRealtimeNanos`` clock), converted to unix seconds.
- ``imu="plyer"``: poll ``plyer.accelerometer.acceleration`` and ``plyer.gyroscope.rotation`` on a
  thread that sleeps to absolute deadlines of a steady clock (``time.monotonic``), recording the time
  of each read. plyer keeps only the latest value of a listener registered at ``SENSOR_DELAY_NORMAL``
  (~5 Hz on Android), so polled samples repeat; the resampler copes, but the listener is better.

GPS always goes through plyer: ``gps.configure(on_location=..., on_status=...)`` then
``gps.start(minTime=ms, minDistance=m)``. Android calls ``on_location`` on its main looper with
``lat, lon, speed, bearing, altitude, accuracy`` keywords; the callback only appends to a locked
buffer (it never blocks the looper and never raises into it). plyer gives no fix time, so a fix is
stamped when it arrives. plyer requests no permissions: the app must hold ``ACCESS_FINE_LOCATION``.

Times are unix seconds: each steady clock is tied to the wall clock once, at start, so a wall-clock
change (NTP, time zone) never makes samples jump.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
import time
from typing import Callable, Iterator, Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.sources import SensorChunk, SensorSource
from momentsense.sdk.timeline.records import GpsFix

log = logging.getLogger(__name__)

#: Android ``Sensor.TYPE_ACCELEROMETER`` / ``TYPE_GYROSCOPE``.
TYPE_ACCELEROMETER, TYPE_GYROSCOPE = 1, 4


class _Stream:
    """Thread-safe ``(t, x, y, z)`` samples."""

    def __init__(self):
        self._lock = threading.Lock()
        self._t: list = []
        self._v: list = []

    def add(self, t: float, v) -> None:
        with self._lock:
            self._t.append(t)
            self._v.append(v)

    def drain(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            t, v, self._t, self._v = self._t, self._v, [], []
        return np.asarray(t, np.float64), np.asarray(v, np.float64).reshape(-1, 3)

    def __len__(self) -> int:
        with self._lock:
            return len(self._t)


def _vector(v) -> Optional[tuple]:
    """plyer's ``(x, y, z)``, or None while it has no value yet (``(None, None, None)``) or for NaN."""
    if v is None or len(v) < 3 or any(c is None for c in v[:3]):
        return None
    out = tuple(float(c) for c in v[:3])
    return None if any(math.isnan(c) for c in out) else out


class PhoneSource(SensorSource):
    """IMU + GPS of the phone. Prefer :func:`sdk.sources.plyer_source`, which checks the platform.

    Parameters
    ----------
    imu : {"auto", "listener", "plyer"}
        ``auto`` = the pyjnius listener when ``jnius`` imports, else plyer polling.
    rate_hz : float
        IMU rate asked for, Hz (polling rate for plyer; the listener's sampling-period hint).
    chunk_s : float
        Seconds of samples per chunk handed to the runtime.
    gps : bool
        Start plyer GPS.
    gps_min_time_ms, gps_min_distance_m : float
        Passed to ``gps.start(minTime=, minDistance=)``: ms between fixes, metres between fixes.
    clock : callable
        Steady clock in seconds (``time.monotonic``; replaceable in tests).
    """

    name = "phone"

    def __init__(self, imu: str = "auto", rate_hz: float = 25.0, chunk_s: float = 10.0, gps: bool = True,
                 gps_min_time_ms: float = 1000.0, gps_min_distance_m: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        if imu not in ("auto", "listener", "plyer"):
            raise InputError(f"imu must be 'auto', 'listener' or 'plyer', got {imu!r}")
        if not rate_hz > 0 or not chunk_s > 0 or gps_min_time_ms < 0 or gps_min_distance_m < 0:
            raise InputError(f"need rate_hz > 0, chunk_s > 0 and GPS minimums >= 0, got {rate_hz}, {chunk_s}, "
                             f"{gps_min_time_ms}, {gps_min_distance_m}")  # fmt: skip
        if imu == "auto":
            try:
                import jnius  # noqa: F401

                imu = "listener"
            except ImportError:
                imu = "plyer"
        self.imu, self.rate_hz, self.chunk_s = imu, float(rate_hz), float(chunk_s)
        self._clock = clock
        self._offset_s = time.time() - clock()  # steady clock → unix seconds, fixed for the session
        self.acc, self.gyro = _Stream(), _Stream()
        self._gps_lock = threading.Lock()
        self._fixes: list[GpsFix] = []
        self.gps_status: list[tuple[str, str]] = []
        self._closed = threading.Event()
        self._poller: Optional[threading.Thread] = None
        self._listener = None
        self._sensor_manager = None
        self._sensors: list = []
        self._anchored = False
        self._gps = None
        self._plyer_imu: list = []
        try:
            self._start_imu()
            if gps:
                self._start_gps(gps_min_time_ms, gps_min_distance_m)
        except BaseException:
            self.close()  # stop whatever did start
            raise

    # -- IMU: plyer polling ----------------------------------------------------------------------

    def _start_imu(self) -> None:
        if self.imu == "listener":
            self._start_listener()
            return
        with contextlib.redirect_stderr(io.StringIO()):  # plyer prints an import traceback before failing
            from plyer import accelerometer, gyroscope

            accelerometer.enable()
            self._plyer_imu.append(accelerometer)
            try:
                gyroscope.enable()
                self._plyer_imu.append(gyroscope)
            except Exception as exc:  # a phone without a gyroscope still has an accelerometer
                log.warning("plyer gyroscope unavailable (%s); gyro channels will be empty", exc)
        self._poller = threading.Thread(target=self._poll, name="momentsense-imu-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        """Read plyer every 1/rate s at absolute deadlines (no drift); skip missed ticks, never burst."""
        period = 1.0 / self.rate_hz
        t0 = self._clock()
        k = 0
        while not self._closed.is_set():
            k += 1
            delay = t0 + k * period - self._clock()
            if delay > 0:
                if self._closed.wait(delay):
                    break
            elif delay < -period:  # fell behind (device asleep, GC): resume on the grid
                k = int((self._clock() - t0) / period)
            try:
                t = self._clock()
                a = _vector(self._plyer_imu[0].acceleration)
                g = _vector(self._plyer_imu[1].rotation) if len(self._plyer_imu) > 1 else None
            except Exception as exc:  # keep polling; one bad read is not fatal
                log.debug("plyer read failed: %s", exc)
                continue
            if a is not None:
                self.acc.add(t + self._offset_s, a)
            if g is not None:
                self.gyro.add(t + self._offset_s, g)
        try:
            from momentsense.sdk.android import detach_thread

            detach_thread()
        except Exception:  # pragma: no cover
            pass

    # -- IMU: pyjnius SensorEventListener --------------------------------------------------------

    def _start_listener(self) -> None:
        from jnius import PythonJavaClass, autoclass, java_method

        from momentsense.sdk.android import android_context

        source = self

        class SensorListener(PythonJavaClass):
            __javainterfaces__ = ["android/hardware/SensorEventListener"]
            __javacontext__ = "app"

            @java_method("(Landroid/hardware/SensorEvent;)V")
            def onSensorChanged(self, event):
                source._on_sensor(int(event.sensor.getType()), int(event.timestamp), event.values)

            @java_method("(Landroid/hardware/Sensor;I)V")
            def onAccuracyChanged(self, sensor, accuracy):
                pass

        system_clock, context_cls, sensor_cls = (autoclass(n) for n in ("android.os.SystemClock", "android.content.Context", "android.hardware.Sensor"))
        # event.timestamp is on the elapsedRealtimeNanos clock: tie it to the wall clock once.
        self._event_offset_s = time.time() - system_clock.elapsedRealtimeNanos() * 1e-9
        sm = android_context().getSystemService(context_cls.SENSOR_SERVICE)
        acc = sm.getDefaultSensor(sensor_cls.TYPE_ACCELEROMETER)
        if acc is None:
            raise RuntimeError("this phone has no accelerometer")
        self._listener = SensorListener()  # keep a reference: Java holds only a weak one to the proxy
        self._sensor_manager = sm
        period_us = int(round(1e6 / self.rate_hz))
        gyr = sm.getDefaultSensor(sensor_cls.TYPE_GYROSCOPE)
        if gyr is None:
            log.warning("this phone has no gyroscope; gyro channels will be empty")
        self._sensors = [s for s in (acc, gyr) if s is not None]
        for sensor in self._sensors:
            sm.registerListener(self._listener, sensor, period_us)

    def _on_sensor(self, kind: int, timestamp_ns: int, values) -> None:
        """Listener callback (Android's thread): stamp with the event's own time, append, return."""
        try:
            v = _vector(values)
            if v is None or self._closed.is_set():
                return
            if not self._anchored:
                # Some phones stamp events on CLOCK_MONOTONIC (no deep sleep), not elapsedRealtimeNanos:
                # if the first event is off by more than 2 s, tie the event clock to the wall clock here.
                self._anchored = True
                if abs(timestamp_ns * 1e-9 + self._event_offset_s - time.time()) > 2.0:
                    log.info("sensor timestamps are not on elapsedRealtimeNanos; re-anchored to the first event")
                    self._event_offset_s = time.time() - timestamp_ns * 1e-9
            t = timestamp_ns * 1e-9 + self._event_offset_s
            if kind == TYPE_ACCELEROMETER:
                self.acc.add(t, v)
            elif kind == TYPE_GYROSCOPE:
                self.gyro.add(t, v)
        except Exception:  # never raise into the Java looper
            log.exception("sensor event dropped")

    # -- GPS ------------------------------------------------------------------------------------

    def _start_gps(self, min_time_ms: float, min_distance_m: float) -> None:
        with contextlib.redirect_stderr(io.StringIO()):
            from plyer import gps

            gps.configure(on_location=self._on_location, on_status=self._on_status)
            gps.start(minTime=int(min_time_ms), minDistance=float(min_distance_m))
        self._gps = gps

    def _on_location(self, **kw) -> None:
        """plyer's ``on_location`` (Android main looper): a fix stamped on arrival, appended, nothing else."""
        try:
            t = self._clock() + self._offset_s
            fix = GpsFix(t, float(kw["lat"]), float(kw["lon"]), float(kw.get("accuracy", math.nan) or math.nan),
                         float(kw["speed"]) if kw.get("speed") is not None else math.nan)  # fmt: skip
            with self._gps_lock:
                if not self._closed.is_set():
                    self._fixes.append(fix)
        except Exception as exc:  # never raise into the looper
            log.warning("GPS fix dropped (%s: %s): %r", type(exc).__name__, exc, kw)

    @property
    def gps_on(self) -> bool:
        """GPS was started and the satellite provider was not reported disabled since (plyer's
        ``on_status("provider-disabled" | "provider-enabled", provider)``; the network provider alone
        gives only coarse fixes, which the transport GPS head would read as no sky)."""
        if self._gps is None:
            return False
        with self._gps_lock:
            last = next((t for t, p in reversed(self.gps_status) if t.startswith("provider-") and p == "gps"), "provider-enabled")
        return last != "provider-disabled"

    def _on_status(self, stype, status) -> None:
        with self._gps_lock:
            self.gps_status.append((str(stype), str(status)))
        log.info("GPS status %s: %s", stype, status)

    # -- the SensorSource interface ------------------------------------------------------------

    def drain(self) -> Optional[SensorChunk]:
        """Everything received since the last drain as one chunk, or None while no IMU sample came."""
        if len(self.acc) == 0:
            return None
        acc_t, acc = self.acc.drain()
        gyro_t, gyro = self.gyro.drain()
        with self._gps_lock:
            fixes, self._fixes = self._fixes, []
        return SensorChunk(acc_t, acc, gyro_t, gyro, fixes, gps_on=self.gps_on)

    def chunks(self) -> Iterator[SensorChunk]:
        """A chunk every ``chunk_s`` seconds until :meth:`close` (then the rest, and stop within 50 ms)."""
        due = self._clock() + self.chunk_s
        while not self._closed.wait(min(0.05, max(0.0, due - self._clock()))):
            if self._clock() >= due:
                due += self.chunk_s
                chunk = self.drain()
                if chunk is not None:
                    yield chunk
        if self._poller is not None:
            self._poller.join(1.0)  # its last read lands in the last chunk
        chunk = self.drain()
        if chunk is not None:
            yield chunk

    def close(self) -> None:
        """Stop polling, unregister the listener, stop GPS and plyer's sensors (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._poller is not None:
            self._poller.join(1.0)
        if self._listener is not None:
            # (listener, sensor): the one-argument overload is ambiguous for pyjnius (the deprecated
            # SensorListener one takes one argument too).
            for sensor in self._sensors:
                try:
                    self._sensor_manager.unregisterListener(self._listener, sensor)
                except Exception as exc:  # pragma: no cover - best effort
                    log.warning("unregisterListener failed: %s", exc)
        for sensor in self._plyer_imu:
            with contextlib.suppress(Exception):
                sensor.disable()
        if self._gps is not None:
            with contextlib.suppress(Exception):
                self._gps.stop()
