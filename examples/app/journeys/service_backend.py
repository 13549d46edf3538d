"""The Android app's backend: the foreground service senses; the app reads what it wrote (plain Python).

Same methods as :class:`journeys.bridge.LiveBackend`, so every screen works the same on a phone:
days, places, moments, segments and driving come from the SDK's timeline store the service writes
(``timeline.db``), computed the way ``MomentSDK`` computes them; context, raw samples, the GPS track
and the service's status come from the hand-off store (``journeys-events.sqlite``).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Callable, Optional

from journeys.bridge import DAY_S, NOT_ENOUGH, ContextView, DayView, day_range, day_start_s, normalise_day
from journeys.stores import EventStore


def ongoing_from_dict(d: Optional[dict]):
    """Inverse of :func:`ongoing_to_dict`."""
    import types

    from journeys.day import Ongoing

    if not d:
        return None
    place = types.SimpleNamespace(**d["place"]) if d.get("place") else None
    return Ongoing(d["kind"], float(d["since"]), float(d["now"]), place, tuple(d.get("modes", ())), d.get("origin_id", ""))


def store_feature(ts, name: str, tz_offset_s: float):
    """Places, moments, segments or driving computed from a timeline store the way ``MomentSDK`` does
    (the Android app reads the service's store; it has no SDK of its own running)."""
    from momentsense.sdk.errors import MomentsenseError
    from momentsense.sdk.insights import SEGMENT_HISTORY_S, drive_insights, in_visits, moment_insights, segment_insights, timeline_events

    if name == "places":
        return ts.places()
    if name == "driving":
        return drive_insights(ts.query("driving_score", None, None), tz_offset_s)
    last = ts.last("event")
    if last is None:
        return [NOT_ENOUGH[name]] if name in NOT_ENOUGH else None
    now = float(last.end)
    try:
        if name == "moments":
            ev = timeline_events(ts.places(), ts.visits(now - 21 * DAY_S, now), ts.events(now - 21 * DAY_S, now))[0]
            return moment_insights(ev, now, tz_offset_s)
        if name == "segments":
            a = now - SEGMENT_HISTORY_S
            visits = ts.visits(a, now)
            ev = timeline_events(ts.places(), visits, ts.events(a, now))[0]
            scores = [s.score for s in ts.query("driving_score", a, now) if in_visits(s.trip_start, s.trip_end, visits) <= 0.5]
            return segment_insights(ev, scores)
    except MomentsenseError:
        return [NOT_ENOUGH[name]]
    return None


class ServiceBackend:
    """Android app side: the foreground service senses; this reads what it wrote.

    Days, places, moments, segments, driving: the SDK's timeline store (``timeline.db``) when it
    exists, else the app's event store. Context, raw samples, the track and the service's status:
    the event store (the service writes them once a second). ``error`` is the service's failure (its
    status says ``failed``, or its heartbeat is older than ``STALE_S`` while it should run).
    """

    source_name = "service"
    #: A heartbeat older than this (s) while the service should run means it died.
    STALE_S = 30.0

    def __init__(self, store: EventStore, tz_offset_s: float = 0.0, timeline_path: Optional[os.PathLike] = None,
                 starter: Optional[Callable[[], None]] = None, clock: Callable[[], float] = None,
                 stopper: Optional[Callable[[], None]] = None):  # fmt: skip
        """``starter``/``stopper``: start and stop the service (default: :mod:`journeys.android`; on a
        phone ``main.android_backend`` starts it from the permission callback once the grants are in)."""
        import time

        self.store, self.tz_offset_s = store, tz_offset_s
        self.timeline_path = Path(timeline_path) if timeline_path else None
        self._timeline = None
        self._starter, self._stopper = starter, stopper
        self._clock = clock or time.time
        self._started_at: Optional[float] = None

    def _sdk_store(self):
        if self._timeline is None and self.timeline_path is not None and self.timeline_path.exists():
            try:
                from momentsense.sdk.timeline.store import TimelineStore
            except ImportError:
                return None
            self._timeline = TimelineStore(self.timeline_path)
        return self._timeline

    def start(self) -> None:
        self._started_at = self._clock()
        self.store.put("status", {"state": "starting", "t": self._started_at})
        if self._starter is not None:
            self._starter()
        else:
            from journeys import android

            android.start_service()

    def stop(self) -> None:
        import time

        self.store.put("status", {"state": "stopped", "t": time.time()})  # not "silent": asked to stop
        if self._stopper is not None:
            self._stopper()
            return
        from journeys import android

        android.stop_service()

    def close(self, erase: bool = False) -> None:
        if erase:
            self.stop()
        ts = self._sdk_store()
        if erase and ts is not None:
            ts.delete_all()
        if erase:
            self.store.delete_all()
        if ts is not None:
            ts.close()
            self._timeline = None

    @property
    def error(self) -> Optional[str]:
        """Why the service is not sensing ("" / None when it is fine): its own report, or a stale heartbeat."""
        st = self.store.get("status", {}) or {}
        if st.get("state") == "failed":
            return st.get("error") or "the sensing service stopped"
        if st.get("state") in ("starting", "running"):
            beat = max(float(st.get("t", 0.0)), float((self.store.get("context", {}) or {}).get("t", 0.0)))
            if self._clock() - beat > self.STALE_S:
                return "the sensing service is not responding"
        return None

    @property
    def error_kind(self) -> str:
        """``permission`` when the service lacks a permission (the fix is in the system settings), else ``crash``."""
        st = self.store.get("status", {}) or {}
        return "permission" if st.get("kind") == "permission" else "crash"

    def on_event(self, callback: Callable) -> None:  # events arrive through the store
        pass

    def context(self) -> ContextView:
        c = self.store.get("context", {}) or {}
        return ContextView(c.get("mode"), float(c.get("confidence", 0.0)), bool(c.get("running", False)), int(c.get("events", 0)),
                           c.get("place"), c.get("trip_in_progress"), None, "place" in c, "trip_in_progress" in c)  # fmt: skip

    def ongoing(self):
        return ongoing_from_dict((self.store.get("context", {}) or {}).get("ongoing"))

    def samples(self) -> dict:
        return self.store.get("samples", {}) or {}

    def track(self, start: float, end: float) -> list:
        return self.store.fixes(start, end)

    def day(self, day: datetime.date) -> DayView:
        ts = self._sdk_store()
        if ts is not None:
            return normalise_day(ts.timeline(day, self.tz_offset_s))
        a = day_start_s(day, self.tz_offset_s)
        return normalise_day(self.store.events(a, a + DAY_S))

    def days(self) -> list:
        ts = self._sdk_store()
        times = [t for e in self.store.events() for t in (e["start"], e["end"])]
        if ts is not None:
            times += [t for v in ts.visits() for t in (v.start, v.end)] + [t for tr in ts.trips() for t in (tr.start, tr.end)]
        return day_range(times, self.tz_offset_s)

    def feature(self, name: str):
        ts = self._sdk_store()
        if ts is None:
            return [NOT_ENOUGH[name]] if name in NOT_ENOUGH else None
        return store_feature(ts, name, self.tz_offset_s)
