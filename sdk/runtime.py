"""``MomentSDK``: the one object an app creates.

    sdk = MomentSDK(SDKConfig(source="simulate"))
    sdk.on_event(lambda e: print(e))
    sdk.start()
    ...
    sdk.current_context()   # mode, confidence, current place, trip in progress
    sdk.timeline(datetime.date.today())   # DayTimeline: events, visits, trips
    sdk.places()            # labelled places (home, work, other)
    sdk.driving_scores(day) # per-drive scores (car segments); events in sdk.store
    sdk.weekly_segments()   # segments recomputed once a week from the local timeline
    sdk.segment_upload()    # what of them the aggregated upload carries (labels; embedding if allowed)
    sdk.close()             # stop and close the timeline store

Data flow in the pipeline thread, per chunk of sensor data: IMU → :class:`TransportDetector` →
transport events; GPS fixes → :class:`~sdk.timeline.live.LiveTimeline` (stay points → visits at
places, home/work labels, trips between visits with the detected modes); while the reported mode is
``car``, the same IMU samples and GPS fixes → :class:`~sdk.driving.live.LiveDriving` (harsh events,
speeding, phone handling, crashes, a score per drive); everything is written to the local
:class:`~sdk.timeline.store.TimelineStore` (SQLite, WAL), which ``timeline(day)`` and ``places()`` read.
Once per day of data the pipeline also asks the weekly segment job
(:class:`~sdk.segments.weekly.WeeklySegments`) whether a week has passed; if so it recomputes the
segments from the last six weeks of the local timeline (rules, and the shipped encoder's heads).

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
import datetime
import logging
import queue
import threading
from typing import TYPE_CHECKING, Callable, Optional

from momentsense.sdk.driving.live import LiveDriving
from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.runtime_config import AT_PLACE_MAX_FIX_AGE_S, Context, SDKConfig
from momentsense.sdk.sources import ReplaySource, SensorChunk, SensorSource, SimulatorSource, plyer_source
from momentsense.sdk.timeline.live import LiveTimeline
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore, GpsFix, Place, TransportEvent
from momentsense.sdk.timeline.store import DAY_S, DayTimeline, Record, TimelineStore, day_bounds
from momentsense.sdk.transport.detector import TransportDetector, TransportDetectorOptions

if TYPE_CHECKING:
    from momentsense.sdk.consent import ConsentManager
    from momentsense.sdk.segments.weekly import WeeklySegments

log = logging.getLogger(__name__)

__all__ = ["AT_PLACE_MAX_FIX_AGE_S", "Context", "MomentSDK", "SDKConfig"]


class MomentSDK:
    """The on-device runtime: sensors → pipeline → transport events, places, trips → callbacks and timeline."""

    def __init__(self, config: Optional[SDKConfig] = None, consent: Optional["ConsentManager"] = None):
        """``consent``: the app's :class:`~sdk.consent.ConsentManager`. Required for the phone's
        sensors (``source="phone"``); with it, sensing needs ``motion``/``sensing`` consent, GPS is
        used only with ``location``/``sensing``, and revoking either stops that kind of sensing
        within a second and erases its local data (hooks registered here)."""
        self.config = config or SDKConfig()
        self.consent = consent
        self.detector = TransportDetector.create_from_options(
            TransportDetectorOptions(model=self.config.model, duty_cycle=self.config.duty_cycle,
                                     use_context=self.config.transport_context,
                                     use_lagged_context=self.config.transport_lagged_context,
                                     use_gps=self.config.transport_gps)
        )
        #: The local timeline store (:meth:`TimelineStore.delete_all` erases by consent category).
        self.store = TimelineStore(self.config.store_path or ":memory:", retention_days=self.config.retention_days)
        self.live = LiveTimeline(self.store, self.config.timeline, self.config.tz_offset_s)
        #: Driving behaviour during car segments (None when ``driving_enabled`` is False); :meth:`driving` reads its results.
        self.live_driving: Optional[LiveDriving] = (
            LiveDriving(self.store, self.config.driving, self.config.drive_segments) if self.config.driving_enabled else None)
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
        self.callback_errors = 0
        self.error: Optional[BaseException] = None
        #: The weekly segment job (created at its first run; :meth:`weekly_segments` reads its result).
        self.segment_job: Optional["WeeklySegments"] = None
        #: Why the job computes rule segments only ("" when the shipped encoder loaded).
        self.segment_job_note = ""
        self._next_segment_check: Optional[float] = None
        if consent is not None:
            consent.add_revoke_hook(self._on_revoke)

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
                self.store.delete_all("motion")
        elif kind == "location":
            with self._lock:
                self.live.reset()
                self._last_fix = None
                self.store.delete_all("location")
        log.info("consent for %s revoked: sensing stopped and local %s data erased", kind, kind)

    def start(self) -> None:
        """Start sensing (idempotent).

        Raises :class:`~sdk.sources.SensorUnavailableError` when the source cannot run here, and
        :class:`~sdk.consent.ConsentError` without the consent it needs (see :class:`MomentSDK`).
        """
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
        """Stop sensing (if on) and close the timeline store (safe to call twice)."""
        self.stop()
        with self._lock:
            self.finish()
            self.store.close()

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
        on the dispatcher thread, if one runs). Chunks must come in time order. Raises
        :class:`~sdk.errors.InputError` while a started source is running. Driving events and
        scores go to the store (:meth:`driving_scores`, :meth:`driving_events`).
        """
        if not isinstance(chunk, SensorChunk):
            raise InputError(f"chunk must be a SensorChunk, got {type(chunk).__name__}")
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
            evs = self.detector.flush()
            self._events += evs
            self.live.add_events(evs)
            self.live.set_open_event(None)
            self.live.finish()
            drv = self.live_driving.finish() if self.live_driving is not None else []
        return evs, drv

    def _process(self, chunk: SensorChunk) -> tuple[list[TransportEvent], list]:
        """Transport events closed by ``chunk`` and driving records (events, scores) reported during it."""
        with self._lock:
            if self._finished:
                self._finished = False
                self.live.reset()
                if self.live_driving is not None:
                    self.live_driving.reset()
            location = self._location_allowed()
            if chunk.gps and not location:
                chunk = dataclasses.replace(chunk, gps=[])  # no location consent: fixes are never used
            self.detector.set_at_place(self._at_place(chunk))
            # The GPS head reads a missing fix as no sky: only with consent and a listening receiver.
            self.detector.set_location(location and chunk.gps_on is True)
            evs = self.detector.process(chunk.acc_t, chunk.acc, gyro_t=chunk.gyro_t, gyro=chunk.gyro, gps=chunk.gps)
            self._events += evs
            self.live.add_events(evs)
            self.live.set_open_event(self.detector.open_event())
            if chunk.gps:
                self._last_fix = chunk.gps[-1]
                self.live.add_fixes(chunk.gps)
            # The live path's mode and changes (the timeline's events may trail by minutes).
            drv = (self.live_driving.step(chunk, self.detector.current()[0], self.detector.live_events)
                   if self.live_driving is not None else [])
            if self.config.weekly_segments and len(chunk.acc_t):
                self._segments_tick(float(chunk.acc_t[-1]))
        return evs, drv

    def _segments_tick(self, now: float) -> None:
        """Once per day of data: run the weekly segment job if it is due. A failure is logged, never
        raised into the pipeline (sensing matters more than a weekly label)."""
        if self._next_segment_check is not None and now < self._next_segment_check:
            return
        self._next_segment_check = now + DAY_S
        try:
            self.update_weekly_segments(now)
        except Exception:
            log.exception("the weekly segment job failed; sensing continues")

    def _at_place(self, chunk: SensorChunk) -> bool:
        """GPS says the person stays at a place: a stay is recognised and the last fix is at most
        ``AT_PLACE_MAX_FIX_AGE_S`` older than this chunk (no limit: without a fix since, the person
        is taken to be still there, as in a deep room; the stay closes when fixes show they left)."""
        if self._last_fix is None or not self.live.in_stay:
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
            mode, conf = self.detector.current()
            running = self._running()
            place = self.live.current_place()
            trip = self.live.trip_in_progress(mode)
            drive = self.live_driving.current() if self.live_driving is not None else None
            return Context(mode, conf, self._last_fix, len(self._events), running, place, trip, drive)

    def timeline(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> DayTimeline:
        """The local day ``day`` from the store: transport events, visits, trips (latest versions).

        Local time = UTC + ``tz_offset_s`` (default ``config.tz_offset_s``). Items overlapping the
        day are included whole (see :meth:`TimelineStore.timeline`).
        """
        return self.store.timeline(day, self.config.tz_offset_s if tz_offset_s is None else tz_offset_s)

    def places(self, label: Optional[str] = None) -> list[Place]:
        """The person's places (latest versions) with their ``home``/``work``/``other`` labels."""
        return self.store.places(label)

    def driving_scores(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> list[DrivingScore]:
        """Scores of the drives overlapping the local day ``day`` (as :meth:`timeline`'s ``driving_scores``)."""
        return list(self.timeline(day, tz_offset_s).driving_scores)

    def driving_events(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> list[DrivingEvent]:
        """Driving events (harsh, speeding, phone handling, crash) during the local day ``day``, in time order."""
        a, b = day_bounds(day, self.config.tz_offset_s if tz_offset_s is None else tz_offset_s)
        return self.store.query("driving_event", a, b)

    def _now(self, now: Optional[float]) -> float:
        if now is not None:
            return float(now)
        last = self.store.last("event")
        return float(last.end) if last is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()

    def timeline_events(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list:
        """The local timeline as :class:`~sdk.io.timeline_file.Event` records (visits by place label,
        transport events outside them): what the moment and segment models read."""
        from momentsense.sdk.insights import timeline_events

        with self._lock:
            return timeline_events(self.places(), self.store.visits(start_s, end_s), self.store.events(start_s, end_s))[0]

    def moments(self, now: Optional[float] = None) -> list:
        """:class:`~sdk.insights.Insight` s: the current moment (when moving), the predicted next
        event and the best time to notify in the next 3 h. ``now``: unix s (default: the end of the
        latest event, so replays answer for their own time)."""
        from momentsense.sdk.insights import moment_insights

        now = self._now(now)
        return moment_insights(self.timeline_events(now - 21 * 86400.0, now), now, self.config.tz_offset_s)

    def _segment_inputs(self, now: float) -> tuple[list, list]:
        """The last six weeks' timeline events and driving scores, as the segments read them. Drives
        that lie mostly inside a GPS stay (a still phone misread as a car) are left out of the scores,
        as their car events are left out of the timeline."""
        from momentsense.sdk.insights import SEGMENT_HISTORY_S, in_visits

        with self._lock:
            visits = self.store.visits(now - SEGMENT_HISTORY_S, now)
            drives = self.store.query("driving_score", now - SEGMENT_HISTORY_S, now)
            events = self.timeline_events(now - SEGMENT_HISTORY_S, now)
        return events, [s.score for s in drives if in_visits(s.trip_start, s.trip_end, visits) <= 0.5]

    def segments(self, now: Optional[float] = None) -> list:
        """:class:`~sdk.insights.Insight` s of the segments that fire on the last six weeks (rules with
        their evidence, then the shipped embedding heads). InputError with less than a week of data."""
        from momentsense.sdk.insights import segment_insights

        job = self.segment_job  # its encoder and heads, once loaded, are not loaded again
        enc, heads = (job.encoder, job.heads) if job is not None else (None, None)
        return segment_insights(*self._segment_inputs(self._now(now)), encoder=enc, heads=heads)

    def update_weekly_segments(self, now: Optional[float] = None):
        """Run the weekly segment job if a week has passed since its last run (the pipeline calls this
        once per day of data; an app may call it too). ``now``: unix s (default: the end of the latest
        event). Returns the new :class:`~sdk.segments.embedding.SegmentsResult`, or None: not due, or
        less than a week of history (``segment_job.last_skip_reason`` says which).

        The job loads the shipped timeline encoder and segment heads at its first run; without them
        (a build that leaves them out, a damaged file) it computes the rule segments only and says so
        in ``segment_job_note``.
        """
        from momentsense.sdk.segments import UserEvents
        from momentsense.sdk.segments.weekly import WeeklySegments

        now = self._now(now)
        with self._lock:
            if self.segment_job is None:
                try:
                    self.segment_job = WeeklySegments.create_shipped()
                    self.segment_job_note = ""
                except (ModelError, InputError, OSError, ValueError) as exc:
                    self.segment_job = WeeklySegments()
                    self.segment_job_note = f"rule segments only: the shipped encoder did not load ({exc})"
            job = self.segment_job
            if not job.due(now):
                return None
            events, scores = self._segment_inputs(now)
            if not events:
                job.last_skip_reason = "no timeline yet: segments need at least 7 days of history"
                return None
            return job.maybe_update(UserEvents.from_events(events), now, scores or None)

    def weekly_segments(self):
        """The latest weekly :class:`~sdk.segments.embedding.SegmentsResult` (rules with evidence,
        embedding segments, the embedding), or None before a week of history."""
        with self._lock:
            return None if self.segment_job is None else self.segment_job.last_result

    def segment_upload(self) -> Optional[dict]:
        """What the aggregated upload carries of the latest weekly segments: the fired segment names
        and the encoder version, plus the embedding only with ``SDKConfig.upload_embedding`` (never
        events, places or times); None before the first weekly result. For the day payloads,
        :func:`sdk.segments.segment_scores` gives ``name -> score``."""
        from momentsense.sdk.segments.weekly import upload_payload

        res = self.weekly_segments()
        return None if res is None else upload_payload(res, include_embedding=self.config.upload_embedding)

    def driving(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list:
        """:class:`~sdk.insights.Insight` per scored drive in ``[start_s, end_s)`` (default: all kept)."""
        from momentsense.sdk.insights import drive_insights

        return drive_insights(self.store.query("driving_score", start_s, end_s), self.config.tz_offset_s)

    def events(self) -> list[TransportEvent]:
        """Every transport event of this session (the store keeps them across sessions)."""
        with self._lock:
            return list(self._events)

    def stats(self) -> dict:
        """Counters: windows (run, skipped, settled by the GPS head, answered live by the live GPS head), events, GPS fixes used and dropped by reason, timeline
        records, callback errors, stored items per kind (None once the store is closed), driving
        counters (None when disabled)."""
        with self._lock:
            d = self.detector.stats
            return {"windows": d.windows, "windows_skipped": d.windows_skipped, "windows_gps": d.windows_gps,
                    "windows_gps_live": d.windows_gps_live, "events": d.events,
                    "sensor_gaps": d.gaps, "sensor_repairs": dict(d.repairs),
                    "gps": dataclasses.asdict(self.live.stats), "callback_errors": self.callback_errors,
                    "driving": None if self.live_driving is None else dataclasses.asdict(self.live_driving.stats),
                    "store": None if self.store.closed else {k: v["items"] for k, v in self.store.counts().items()}}

    # -- threads -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            for chunk in self._source.chunks():
                if self._stop.is_set():
                    break
                evs, drv = self._process(chunk)
                for e in evs + drv:
                    self._queue.put(e)
        except BaseException as exc:  # keep the failure for the app instead of dying silently
            log.exception("momentsense pipeline stopped")
            self.error = exc
        try:
            evs, drv = self._finish()
            for e in evs + drv:
                self._queue.put(e)
        except BaseException as exc:
            log.exception("momentsense pipeline could not close the stream")
            self.error = self.error or exc
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
                    self.callback_errors += 1
                    log.exception("an on_event callback raised; sensing continues")
