"""``MomentSDK``: the one object an app creates.

    sdk = MomentSDK(SDKConfig(source="simulate"))
    sdk.on_event(lambda e: print(e))
    sdk.start()
    ...
    sdk.current_context()   # mode, confidence, current place, trip in progress
    sdk.timeline(datetime.date.today())   # DayTimeline: events, visits, trips
    sdk.places()            # labelled places (home, work, other)
    sdk.driving_scores(day) # per-drive scores (car segments); driving_events(day) the events
    sdk.segments()          # Insights: fired segments, or empty with the reason
    sdk.weekly_segments()   # segments recomputed once a week from the local timeline
    sdk.reader()            # read-only view of the local timeline (for the UI)
    sdk.sync()              # upload the aggregated days and corrections (needs ``sync`` consent)
    sdk.close()             # stop and close the timeline store

The app guide is ``docs/sdk.md``.

Data flow in the pipeline thread, per chunk of sensor data: IMU → :class:`TransportDetector` →
transport events; GPS fixes → :class:`~sdk.timeline.live.LiveTimeline` (stay points → visits at
places, home/work labels, trips between visits with the detected modes); while the reported mode is
``car``, the same IMU samples and GPS fixes → :class:`~sdk.driving.live.LiveDriving` (harsh events,
speeding, phone handling, crashes, a score per drive); everything is written to the local
:class:`~sdk.timeline.store.TimelineStore` (SQLite, WAL), which ``timeline(day)`` and ``places()`` read.
Once per day of data the pipeline also wakes the weekly segment job
(:class:`~sdk.runtime_segments.SegmentJobRunner`) on its own thread; if a week has passed it
recomputes the segments from the last six weeks of the local timeline (rules, and the shipped
encoder's heads) while sensing goes on, so ``feed()`` never waits for it.

Callbacks receive :class:`~sdk.timeline.records.TransportEvent` objects and, for drives,
:class:`~sdk.timeline.records.DrivingEvent` (a crash as soon as it is confirmed, 10 s after the
impact; other events about 30 s after they happen or when the drive ends) and one
:class:`~sdk.timeline.records.DrivingScore` per drive when it ends: dispatch on the type.

Push mode: an app with its own sensor listener calls :meth:`MomentSDK.feed` with
:class:`~sdk.sources.SensorChunk` objects instead of ``start()``, and :meth:`MomentSDK.finish` at the end.

Threads: a *pipeline thread* reads the source and runs the detector; app callbacks run on a separate
*dispatcher thread*, so a slow or failing callback never stalls sensing (an exception in app code is
logged and counted, never raised into the pipeline). All public methods are thread-safe.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from typing import TYPE_CHECKING, Callable, Optional

from momentsense.sdk.driving.live import LiveDriving
from momentsense.sdk.dsp.door import check_chunk
from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime_config import AT_PLACE_MAX_FIX_AGE_S, Context, RunningMode, SDKConfig
from momentsense.sdk.runtime_readers import ReaderAPI
from momentsense.sdk.runtime_segments import SegmentJobRunner
from momentsense.sdk.runtime_sync import SyncAPI
from momentsense.sdk.sources import ReplaySource, SensorChunk, SensorSource, SimulatorSource, plyer_source
from momentsense.sdk.timeline.live import LiveTimeline
from momentsense.sdk.timeline.records import GpsFix, TransportEvent
from momentsense.sdk.timeline.store import Record, TimelineStore
from momentsense.sdk.transport.detector import TransportDetector, TransportDetectorOptions

if TYPE_CHECKING:
    from momentsense.sdk.consent import ConsentManager
    from momentsense.sdk.segments.weekly import WeeklySegments

log = logging.getLogger(__name__)

__all__ = ["AT_PLACE_MAX_FIX_AGE_S", "Context", "MomentSDK", "RunningMode", "SDKConfig"]


def _as_fix(fix, i: int) -> GpsFix:
    """A :class:`GpsFix`, or a ``(t, lat, lon[, accuracy_m[, speed_mps]])`` tuple converted to one."""
    if isinstance(fix, GpsFix):
        return fix
    if isinstance(fix, (tuple, list)) and 3 <= len(fix) <= 5:
        try:
            return GpsFix(*(float(x) for x in fix))
        except (TypeError, ValueError):
            pass
    raise InputError(f"chunk.gps[{i}] must be a GpsFix or a (t, lat, lon[, accuracy_m[, speed_mps]]) tuple of "
                     f"numbers (unix s, degrees, m, m/s), got {fix!r}")


class MomentSDK(ReaderAPI, SyncAPI):
    """The on-device runtime: sensors → pipeline → transport events, places, trips → callbacks and timeline.

    Read-only attributes: ``config``, ``consent``, ``error`` (why a started pipeline stopped, or
    None). The store, the detector and the live stages are internal: read the timeline through the
    methods below or :meth:`reader`.
    """

    def __init__(self, config: Optional[SDKConfig] = None, consent: Optional["ConsentManager"] = None):
        """``consent``: the app's :class:`~sdk.consent.ConsentManager`. Required for the phone's
        sensors (``source="phone"``); with it, sensing needs ``motion``/``sensing`` consent, GPS is
        used only with ``location``/``sensing``, and revoking either stops that kind of sensing
        within a second and erases its local data (hooks registered here)."""
        self._config = config or SDKConfig()
        self._consent = consent
        def detector(model) -> TransportDetector:
            return TransportDetector.create_from_options(
                TransportDetectorOptions(model=model, duty_cycle=self.config.duty_cycle,
                                         use_context=self.config.transport_context,
                                         use_lagged_context=self.config.transport_lagged_context,
                                         use_gps=self.config.transport_gps))

        self._ota = None
        if self.config.ota is not None:  # the updater's active model, shadowed by its candidate
            from momentsense.sdk.runtime_ota import OtaRunner

            self._ota = OtaRunner(self.config.ota)
            self._detector = self._ota.create_detector(detector, self.config.model)
        else:
            self._detector = detector(self.config.model)
        self._store = TimelineStore(self.config.store_path or ":memory:", retention_days=self.config.retention_days)
        self._live = LiveTimeline(self._store, self.config.timeline, self.config.tz_offset_s)
        # Driving behaviour during car segments (None when ``driving_enabled`` is False).
        self._live_driving: Optional[LiveDriving] = (
            LiveDriving(self._store, self.config.driving, self.config.drive_segments) if self.config.driving_enabled else None)
        self._lock = threading.RLock()
        self._callbacks: list[Callable[[Record], None]] = []
        self._events: list[TransportEvent] = []
        self._last_fix: Optional[GpsFix] = None
        self._queue: "queue.Queue" = queue.Queue()
        self._stop = threading.Event()
        self._pipeline: Optional[threading.Thread] = None
        self._dispatcher: Optional[threading.Thread] = None
        self._source: Optional[SensorSource] = None
        self._finished = True
        self._callback_errors = 0
        self._error: Optional[BaseException] = None
        self._segments = SegmentJobRunner(self._segment_inputs)
        self._init_sync()
        #: Chunks refused at the door (:mod:`sdk.dsp.door`) and the reason for the last one.
        self._chunks_refused = 0
        self._last_refusal = ""
        if consent is not None:
            consent.add_revoke_hook(self._on_revoke)

    @property
    def config(self) -> SDKConfig:
        """The options this SDK was created with."""
        return self._config

    @property
    def consent(self) -> Optional["ConsentManager"]:
        """The app's consent manager, or None."""
        return self._consent

    @property
    def error(self) -> Optional[BaseException]:
        """Why the started pipeline stopped (an exception from the source or a stage), or None."""
        return self._error

    # -- lifecycle -----------------------------------------------------------------------------

    def _make_source(self) -> SensorSource:
        src = self.config.source
        if isinstance(src, SensorSource):
            return src
        if src == "replay":
            return ReplaySource(self.config.replay_path, self.config.speed, self.config.chunk_s)
        if src == "phone":
            return plyer_source(chunk_s=self.config.chunk_s)
        legs = self.config.simulate_legs
        if legs is None:
            import numpy as np

            from momentsense.sdk.sim.day import commuter_day

            legs = commuter_day(np.random.default_rng(self.config.seed))
        return SimulatorSource(legs, self.config.seed, self.config.speed, self.config.chunk_s)

    def _running(self) -> bool:
        return self._pipeline is not None and self._pipeline.is_alive()

    def _check_consent(self) -> None:
        from momentsense.sdk.consent import ConsentError

        phone = self.config.source == "phone" or getattr(self.config.source, "name", "") == "phone"
        if self.consent is None:
            if phone:
                raise ConsentError("the phone's sensors need consent: pass MomentSDK(config, consent=ConsentManager(...)) "
                                   "with grant('motion', 'sensing') recorded")
            return
        self.consent.require("motion", "sensing")

    def _location_allowed(self) -> bool:
        return self.consent is None or self.consent.allowed("location", "sensing")

    def _on_revoke(self, kind: str, purpose: str) -> None:
        """Consent revoke hook: stop that kind of sensing, then erase its local data."""
        if purpose not in ("sensing", "*"):
            return  # e.g. revoking "sync" stops uploads; the person's own timeline stays
        if kind == "motion":  # everything starts from the IMU: stop sensing altogether
            self.stop(timeout_s=1.0)
            with self._lock:
                self._events.clear()
                self._store.delete_all("motion")
        elif kind == "location":
            with self._lock:
                self._live.reset()
                self._last_fix = None
                self._store.delete_all("location")
        log.info("consent for %s revoked: sensing stopped and local %s data erased", kind, kind)

    def start(self) -> None:
        """Start sensing (idempotent).

        Raises :class:`~sdk.sources.SensorUnavailableError` when the source cannot run here, and
        :class:`~sdk.consent.ConsentError` without the consent it needs (see :class:`MomentSDK`).
        """
        if self.config.running_mode is RunningMode.PUSH:
            raise InputError("start() is the STREAM mode's; this SDK runs in RunningMode.PUSH: call feed(chunk)")
        with self._lock:
            if self._running():
                return
            self._check_consent()
            self._source = self._make_source()
            self._stop.clear()
            self._dispatcher = threading.Thread(target=self._dispatch, name="momentsense-dispatch", daemon=True)
            self._pipeline = threading.Thread(target=self._run, name="momentsense-pipeline", daemon=True)
            self._dispatcher.start()
            self._pipeline.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop sensing, close the open event and stay (written to the store), wait for the threads
        (safe to call twice). The store stays open for reading; :meth:`close` closes it."""
        self._stop.set()
        if self._source is not None:
            self._source.close()
        if self._pipeline is not None:
            self._pipeline.join(timeout_s)
        self._queue.put(None)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout_s)

    def close(self) -> None:
        """Stop sensing (if on), the sync schedule and the segment job; close the timeline store (safe twice)."""
        self.stop()
        self._close_sync()
        with self._lock:
            self.finish()
        self._segments.close()
        with self._lock:
            self._store.close()

    def wait(self, timeout_s: Optional[float] = None) -> bool:
        """Block until the source is exhausted (replay/simulation); True if it finished."""
        if self._pipeline is None:
            return True
        self._pipeline.join(timeout_s)
        return not self._pipeline.is_alive()

    def __enter__(self) -> "MomentSDK":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- push mode -------------------------------------------------------------------------------

    def feed(self, chunk: SensorChunk) -> list[TransportEvent]:
        """Push one chunk of sensor data (instead of :meth:`start`); returns the transport events it closed.

        Runs the whole pipeline on the caller's thread (events also go to the ``on_event`` callbacks
        on the dispatcher thread, if one runs). Chunks must come in time order. GPS fixes are
        :class:`GpsFix` records or ``(t, lat, lon[, accuracy_m[, speed_mps]])`` tuples (converted).
        Raises :class:`~sdk.errors.InputError` for anything else and while a started source is
        running. Driving events and scores go to the store (:meth:`driving_scores`, :meth:`driving_events`).
        """
        if self.config.running_mode is RunningMode.STREAM:
            raise InputError("feed() is the PUSH mode's; this SDK runs in RunningMode.STREAM: call start()")
        if not isinstance(chunk, SensorChunk):
            raise InputError(f"chunk must be a SensorChunk, got {type(chunk).__name__}")
        if chunk.gps is None:
            chunk = dataclasses.replace(chunk, gps=[])
        elif not isinstance(chunk.gps, (list, tuple)):
            raise InputError(f"chunk.gps must be a list of GpsFix, got {type(chunk.gps).__name__}")
        elif not all(isinstance(f, GpsFix) for f in chunk.gps):
            chunk = dataclasses.replace(chunk, gps=[_as_fix(f, i) for i, f in enumerate(chunk.gps)])
        if self._running():
            raise InputError("feed() cannot be used while start()ed sensing runs; stop() first")
        self._check_consent()
        return self._process(chunk)[0]

    def finish(self) -> list[TransportEvent]:
        """End of a pushed stream: close the open transport event, the open stay and the open drive
        (scored and stored); returns the transport events."""
        return self._finish()[0]

    def _finish(self) -> tuple[list[TransportEvent], list]:
        with self._lock:
            if self._finished:
                return [], []
            self._finished = True
            evs = self._detector.flush()
            self._events += evs
            self._live.add_events(evs)
            self._live.set_open_event(None)
            self._live.finish()
            drv = self._live_driving.finish() if self._live_driving is not None else []
        return evs, drv

    def _process(self, chunk: SensorChunk) -> tuple[list[TransportEvent], list]:
        """Transport events closed by ``chunk`` and driving records (events, scores) reported during it."""
        try:
            chunk = check_chunk(chunk)  # the one validation; the stages trust typed arrays after it
        except InputError as exc:
            with self._lock:
                self._chunks_refused += 1
                self._last_refusal = str(exc)
            raise
        with self._lock:
            if self._finished:
                self._finished = False
                self._live.reset()
                if self._live_driving is not None:
                    self._live_driving.reset()
            location = self._location_allowed()
            if chunk.gps and not location:
                chunk = dataclasses.replace(chunk, gps=[])  # no location consent: fixes are never used
            self._detector.set_at_place(self._at_place(chunk))
            # The GPS head reads a missing fix as no sky: only with consent and a listening receiver.
            self._detector.set_location(location and chunk.gps_on is True)
            evs = self._detector.process(chunk.acc_t, chunk.acc, gyro_t=chunk.gyro_t, gyro=chunk.gyro, gps=chunk.gps)
            self._events += evs
            self._live.add_events(evs)
            self._live.set_open_event(self._detector.open_event())
            if chunk.gps:
                self._last_fix = chunk.gps[-1]
                self._live.add_fixes(chunk.gps)
            # The live path's mode and changes (the timeline's events may trail by minutes).
            drv = (self._live_driving.step(chunk, self._detector.current()[0], self._detector.live_events)
                   if self._live_driving is not None else [])
            if self.config.weekly_segments and len(chunk.acc_t):
                self._segments.tick(float(chunk.acc_t[-1]))  # wakes the job's thread once a day of data
        return evs, drv

    def _at_place(self, chunk: SensorChunk) -> bool:
        """GPS says the person stays at a place: a stay is recognised and the last fix is at most
        ``AT_PLACE_MAX_FIX_AGE_S`` older than this chunk (no limit: without a fix since, the person
        is taken to be still there, as in a deep room; the stay closes when fixes show they left)."""
        if self._last_fix is None or not self._live.in_stay:
            return False
        t = chunk.acc_t[0] if len(chunk.acc_t) else self._last_fix.t
        return float(t) - self._last_fix.t <= AT_PLACE_MAX_FIX_AGE_S

    # -- app API -------------------------------------------------------------------------------

    def on_event(self, callback: Callable[[Record], None]) -> None:
        """Call ``callback(record)`` on the dispatcher thread for every transport event, driving event
        and driving score (see the module docstring for when each arrives)."""
        if not callable(callback):
            raise InputError(f"callback must be callable, got {type(callback).__name__}")
        with self._lock:
            self._callbacks.append(callback)

    def current_context(self) -> Context:
        """Current mode and confidence, last GPS fix, events so far, sensing on, place, trip in progress."""
        with self._lock:
            mode, conf = self._detector.current()
            running = self._running()
            place = self._live.current_place()
            trip = self._live.trip_in_progress(mode)
            drive = self._live_driving.current() if self._live_driving is not None else None
            return Context(mode, conf, self._last_fix, len(self._events), running, place, trip, drive)

    def set_place_category_provider(self, provider) -> None:
        """Let the app's own map data name place categories: ``provider.category(lat, lon)`` (a
        :class:`~sdk.timeline.place_categories.PlaceCategoryProvider`) gets a place's centre rounded to
        2 decimals (about 1 km), only while location consent holds, and returns a category or None
        (the on-device classifier decides). ``None`` removes it. Nothing it sees leaves the phone."""
        with self._lock:
            self._live.category_provider = provider
            self._live.location_consent = self._location_allowed

    def update_models(self) -> tuple:
        """Over-the-air model update step (needs ``SDKConfig.ota``): check the registry, download and
        verify a newer transport model, which then runs in the shadow of the current one on every
        window; promote or roll back a candidate whose shadow phase is over. Returns the two
        :class:`~sdk.models.ota.UpdateReport` s (check/download, decision). A promoted model is used from
        the next start of the SDK; see :mod:`sdk.runtime_ota`."""
        if self._ota is None:
            raise InputError("model updates are not configured: pass SDKConfig(ota=OtaOptions(...))")
        return self._ota.update()

    def events(self) -> list[TransportEvent]:
        """Every transport event of this session (the store keeps them across sessions)."""
        with self._lock:
            return list(self._events)

    def stats(self) -> dict:
        """Counters: windows (run, skipped, settled by the GPS head, answered live by the live GPS
        head), events, GPS fixes used and dropped by reason, whether the transport path reads GPS,
        the interpreter backend and delegate running the model,
        timeline records, callback errors, stored items per kind (None once the store is closed),
        driving counters (None when disabled)."""
        with self._lock:
            d = self._detector.stats
            return {"windows": d.windows, "windows_skipped": d.windows_skipped, "windows_gps": d.windows_gps,
                    "windows_gps_live": d.windows_gps_live, "events": d.events,
                    "chunks_refused": self._chunks_refused, "last_refusal": self._last_refusal,
                    "sensor_gaps": d.gaps, "sensor_repairs": dict(d.repairs), "uses_gps": bool(self._detector.uses_gps),
                    "backend": self._detector.backend, "delegate": self._detector.delegate,
                    "gps": dataclasses.asdict(self._live.stats), "callback_errors": self._callback_errors,
                    "driving": None if self._live_driving is None else dataclasses.asdict(self._live_driving.stats),
                    "store": None if self._store.closed else {k: v["items"] for k, v in self._store.counts().items()}}

    # -- threads -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            for chunk in self._source.chunks():
                if self._stop.is_set():
                    break
                try:
                    evs, drv = self._process(chunk)
                except InputError:  # a broken chunk from the source: refused and counted, sensing goes on
                    log.warning("sensor chunk refused: %s", self._last_refusal)
                    continue
                for e in evs + drv:
                    self._queue.put(e)
        except BaseException as exc:  # keep the failure for the app instead of dying silently
            log.exception("momentsense pipeline stopped")
            self._error = exc
        try:
            evs, drv = self._finish()
            for e in evs + drv:
                self._queue.put(e)
        except BaseException as exc:
            log.exception("momentsense pipeline could not close the stream")
            self._error = self._error or exc
        finally:
            from momentsense.sdk.android import detach_thread

            detach_thread()  # Android aborts the process if a thread that used pyjnius exits attached

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
                    self._callback_errors += 1
                    log.exception("an on_event callback raised; sensing continues")
