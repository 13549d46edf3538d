"""``MomentSDK``: the one object an app creates.

    sdk = MomentSDK(SDKConfig(source="simulate"))
    sdk.on_event(lambda e: print(e))
    sdk.start()
    ...
    sdk.current_context()   # mode, confidence, events so far
    sdk.stop()

Threads: a *pipeline thread* reads the source and runs the detector; app callbacks run on a separate
*dispatcher thread*, so a slow or failing callback never stalls sensing (an exception in app code is
logged and counted, never raised into the pipeline). All public methods are thread-safe.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import queue
import threading
from typing import Callable, Optional, Sequence, Union

from sdk.errors import InputError
from sdk.sources import ReplaySource, SensorSource, SimulatorSource, plyer_source
from sdk.timeline.records import GpsFix, TransportEvent
from sdk.transport_detector import ModelOptions, TransportDetector, TransportDetectorOptions

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class SDKConfig:
    """Options of :class:`MomentSDK`. Every field has a sensible default.

    Attributes:
        source: ``"simulate"`` (desktop default), ``"replay"`` (needs ``replay_path``), ``"phone"``
            (plyer; Android), or a :class:`~sdk.sources.SensorSource` instance.
        replay_path: ``momentsense-imu-v1`` file for ``source="replay"``.
        speed: Replay/simulation speed: 0 = as fast as possible, 1 = real time.
        simulate_legs: Itinerary for ``source="simulate"``: :class:`sdk.sim.Leg` or ``(mode, seconds)``;
            None = a simulated commuter's day.
        seed: Simulation seed.
        model: Transport model file and interpreter threads.
        duty_cycle: Skip inference while still (see :mod:`sdk.transport_detector`).
        chunk_s: Seconds of sensor data handed to the pipeline at a time.
    """

    source: Union[str, SensorSource] = "simulate"
    replay_path: Optional[str] = None
    speed: float = 0.0
    simulate_legs: Optional[Sequence] = None
    seed: int = 0
    model: ModelOptions = ModelOptions()
    duty_cycle: bool = True
    chunk_s: float = 10.0

    def __post_init__(self):
        if isinstance(self.source, str) and self.source not in ("simulate", "replay", "phone"):
            raise InputError(f"source must be 'simulate', 'replay', 'phone' or a SensorSource, got {self.source!r}")
        if self.source == "replay" and not self.replay_path:
            raise InputError("source='replay' needs replay_path")
        if self.speed < 0 or self.chunk_s <= 0:
            raise InputError(f"need speed >= 0 and chunk_s > 0, got {self.speed}, {self.chunk_s}")


@dataclasses.dataclass(frozen=True)
class Context:
    """What the SDK knows right now.

    Attributes:
        mode: Current transport mode (None before the first window).
        confidence: Smoothed probability of ``mode``, 0..1.
        last_fix: Latest GPS fix, or None.
        events: Transport events closed so far in this session.
        running: Whether sensing is on.
    """

    mode: Optional[str]
    confidence: float
    last_fix: Optional[GpsFix]
    events: int
    running: bool


class MomentSDK:
    """The on-device runtime: sensors → pipeline → transport events → callbacks and timeline."""

    def __init__(self, config: Optional[SDKConfig] = None):
        self.config = config or SDKConfig()
        self.detector = TransportDetector.create_from_options(
            TransportDetectorOptions(model=self.config.model, duty_cycle=self.config.duty_cycle)
        )
        self._lock = threading.RLock()
        self._callbacks: list[Callable[[TransportEvent], None]] = []
        self._events: list[TransportEvent] = []
        self._last_fix: Optional[GpsFix] = None
        self._queue: "queue.Queue" = queue.Queue()
        self._stop = threading.Event()
        self._pipeline: Optional[threading.Thread] = None
        self._dispatcher: Optional[threading.Thread] = None
        self._source: Optional[SensorSource] = None
        self.callback_errors = 0
        self.error: Optional[BaseException] = None

    # -- lifecycle -----------------------------------------------------------------------------

    def _make_source(self) -> SensorSource:
        src = self.config.source
        if isinstance(src, SensorSource):
            return src
        if src == "replay":
            return ReplaySource(self.config.replay_path, self.config.speed, self.config.chunk_s)
        if src == "phone":
            return plyer_source()
        legs = self.config.simulate_legs
        if legs is None:
            import numpy as np

            from sdk.sim.day import commuter_day

            legs = commuter_day(np.random.default_rng(self.config.seed))
        return SimulatorSource(legs, self.config.seed, self.config.speed, self.config.chunk_s)

    def start(self) -> None:
        """Start sensing (idempotent). Raises :class:`~sdk.sources.SensorUnavailableError` when the source cannot run here."""
        with self._lock:
            if self._pipeline is not None and self._pipeline.is_alive():
                return
            self._source = self._make_source()
            self._stop.clear()
            self._dispatcher = threading.Thread(target=self._dispatch, name="momentsense-dispatch", daemon=True)
            self._pipeline = threading.Thread(target=self._run, name="momentsense-pipeline", daemon=True)
            self._dispatcher.start()
            self._pipeline.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop sensing, close the open event, and wait for the threads (safe to call twice)."""
        self._stop.set()
        if self._source is not None:
            self._source.close()
        if self._pipeline is not None:
            self._pipeline.join(timeout_s)
        self._queue.put(None)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout_s)

    def wait(self, timeout_s: Optional[float] = None) -> bool:
        """Block until the source is exhausted (replay/simulation); True if it finished."""
        if self._pipeline is None:
            return True
        self._pipeline.join(timeout_s)
        return not self._pipeline.is_alive()

    def __enter__(self) -> "MomentSDK":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- app API -------------------------------------------------------------------------------

    def on_event(self, callback: Callable[[TransportEvent], None]) -> None:
        """Call ``callback(event)`` on the dispatcher thread for every transport event."""
        if not callable(callback):
            raise InputError(f"callback must be callable, got {type(callback).__name__}")
        with self._lock:
            self._callbacks.append(callback)

    def current_context(self) -> Context:
        """Current mode and confidence, last GPS fix, number of events, whether sensing is on."""
        with self._lock:
            mode, conf = self.detector.current()
            running = self._pipeline is not None and self._pipeline.is_alive()
            return Context(mode, conf, self._last_fix, len(self._events), running)

    def timeline(self, day: datetime.date, tz_offset_s: float = 0.0) -> list[TransportEvent]:
        """Transport events that start on ``day`` (local time = UTC + ``tz_offset_s``), in order."""
        start = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp() - tz_offset_s
        with self._lock:
            return [e for e in self._events if start <= e.start < start + 86400.0]

    def events(self) -> list[TransportEvent]:
        """Every transport event of this session."""
        with self._lock:
            return list(self._events)

    # -- threads -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            for chunk in self._source.chunks():
                if self._stop.is_set():
                    break
                with self._lock:
                    evs = self.detector.process(chunk.acc_t, chunk.acc, gyro_t=chunk.gyro_t, gyro=chunk.gyro)
                    if chunk.gps:
                        self._last_fix = chunk.gps[-1]
                    self._events += evs
                for e in evs:
                    self._queue.put(e)
            with self._lock:
                evs = self.detector.flush()
                self._events += evs
            for e in evs:
                self._queue.put(e)
        except BaseException as exc:  # keep the failure for the app instead of dying silently
            log.exception("momentsense pipeline stopped")
            self.error = exc

    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            with self._lock:
                callbacks = list(self._callbacks)
            for cb in callbacks:
                try:
                    cb(item)
                except Exception:
                    self.callback_errors += 1
                    log.exception("an on_event callback raised; sensing continues")
