"""The readers of :class:`~sdk.runtime.MomentSDK`: the day, places, moments, segments, driving.

Every reader returns typed records (frozen dataclasses): :class:`~sdk.timeline.store.DayTimeline`,
:class:`~sdk.timeline.records.Place`, :class:`~sdk.insights.Insights` (with the reason when empty).
A mixin: it reads the SDK's store, config, lock and weekly segment job.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Optional

from momentsense.sdk.errors import InputError
from momentsense.sdk.insights import Insights
from momentsense.sdk.runtime_segments import SegmentJobStatus
from momentsense.sdk.timeline.reader import TimelineReader
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore, Place
from momentsense.sdk.timeline.store import DayTimeline, day_bounds

if TYPE_CHECKING:
    from momentsense.sdk.io.timeline_file import Event


class ReaderAPI:
    """The reading methods of :class:`~sdk.runtime.MomentSDK`."""

    def reader(self) -> TimelineReader:
        """A read-only view of the local timeline (same store; safe from the UI thread). A UI in
        another process opens the store file with :func:`sdk.timeline.reader.open_reader`."""
        return TimelineReader(self._store)

    def timeline(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> DayTimeline:
        """The local day ``day`` from the store: transport events, visits, trips (latest versions).

        Local time = UTC + ``tz_offset_s`` (default ``config.tz_offset_s``). Items overlapping the
        day are included whole (see :meth:`TimelineStore.timeline`).
        """
        return self._store.timeline(day, self.config.tz_offset_s if tz_offset_s is None else tz_offset_s)

    def days(self) -> list[datetime.date]:
        """Local days (``config.tz_offset_s``) from the first to the last item of the timeline, oldest
        first; ``[]`` before any."""
        firsts = [rs[0].start for rs in (self._store.query(k) for k in ("event", "visit", "trip")) if rs]
        lasts = [r.end for r in (self._store.last(k) for k in ("event", "visit", "trip")) if r is not None]
        if not firsts:
            return []
        tz = datetime.timezone(datetime.timedelta(seconds=self.config.tz_offset_s))
        a, b = (datetime.datetime.fromtimestamp(t, tz).date() for t in (min(firsts), max(lasts)))
        return [a + datetime.timedelta(days=i) for i in range((b - a).days + 1)]

    def places(self, label: Optional[str] = None) -> list[Place]:
        """The person's places (latest versions) with their ``home``/``work``/``other`` labels."""
        return self._store.places(label)

    def driving_scores(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> list[DrivingScore]:
        """Scores of the drives overlapping the local day ``day`` (as :meth:`timeline`'s ``driving_scores``)."""
        return list(self.timeline(day, tz_offset_s).driving_scores)

    def driving_events(self, day: datetime.date, tz_offset_s: Optional[float] = None) -> list[DrivingEvent]:
        """Driving events (harsh, speeding, phone handling, crash) during the local day ``day``, in time order."""
        a, b = day_bounds(day, self.config.tz_offset_s if tz_offset_s is None else tz_offset_s)
        return self._store.query("driving_event", a, b)

    def import_records(self, records: list) -> int:
        """Write timeline records (:class:`TransportEvent`, :class:`Visit`, :class:`Place`,
        :class:`Trip`, driving records), e.g. restored from a backup, into the local store in one
        transaction; returns how many were new or changed."""
        return len(self._store.write(records))

    def _now(self, now: Optional[float]) -> float:
        if now is not None:
            return float(now)
        last = self._store.last("event")
        return float(last.end) if last is not None else datetime.datetime.now(datetime.timezone.utc).timestamp()

    def timeline_events(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list["Event"]:
        """The local timeline as :class:`~sdk.io.timeline_file.Event` records (visits by place label,
        transport events outside them): what the moment and segment models read."""
        from momentsense.sdk.insights import timeline_events

        with self._lock:
            return timeline_events(self.places(), self._store.visits(start_s, end_s), self._store.events(start_s, end_s))[0]

    def moments(self, now: Optional[float] = None) -> Insights:
        """:class:`~sdk.insights.Insight` s: the current moment (when moving), the predicted next
        event and the best time to notify in the next 3 h; empty with a reason before any timeline.
        ``now``: unix s (default: the end of the latest event, so replays answer for their own time)."""
        from momentsense.sdk.insights import moment_insights

        now = self._now(now)
        items = moment_insights(self.timeline_events(now - 21 * 86400.0, now), now, self.config.tz_offset_s)
        return Insights(tuple(items), "" if items else "no timeline yet")

    def _segment_inputs(self, now: float) -> tuple[list, list]:
        """The last six weeks' timeline events and driving scores, as the segments read them. Drives
        that lie mostly inside a GPS stay (a still phone misread as a car) are left out of the scores,
        as their car events are left out of the timeline."""
        from momentsense.sdk.insights import SEGMENT_HISTORY_S, in_visits

        with self._lock:
            visits = self._store.visits(now - SEGMENT_HISTORY_S, now)
            drives = self._store.query("driving_score", now - SEGMENT_HISTORY_S, now)
            events = self.timeline_events(now - SEGMENT_HISTORY_S, now)
        return events, [s.score for s in drives if in_visits(s.trip_start, s.trip_end, visits) <= 0.5]

    def segments(self, now: Optional[float] = None) -> Insights:
        """:class:`~sdk.insights.Insight` s of the segments that fire on the last six weeks (rules with
        their evidence, then the shipped embedding heads). With less than a week of history: empty,
        and ``reason`` says why."""
        from momentsense.sdk.insights import segment_insights

        enc, heads = self._segments.models()  # the weekly job's, once loaded, are not loaded again
        try:
            items = segment_insights(*self._segment_inputs(self._now(now)), encoder=enc, heads=heads)
        except InputError as exc:  # too little history: a normal state, not an error
            return Insights((), str(exc))
        return Insights(tuple(items), "" if items else "no segment fires on this history")

    def update_weekly_segments(self, now: Optional[float] = None):
        """Run the weekly segment job now if a week has passed since its last run (the pipeline does
        this on the job's own thread once per day of data; an app may call it too). ``now``: unix s
        (default: the end of the latest event). Returns the new
        :class:`~sdk.segments.embedding.SegmentsResult`, or None: not due, or less than a week of
        history (:meth:`segments_status` says which).

        The job loads the shipped timeline encoder and segment heads at its first run; without them
        (a build that leaves them out, a damaged file) it computes the rule segments only and says so
        in ``segments_status().note``.
        """
        return self._segments.update(self._now(now))

    def weekly_segments(self):
        """The latest weekly :class:`~sdk.segments.embedding.SegmentsResult` (rules with evidence,
        embedding segments, the embedding), or None before a week of history."""
        return self._segments.result()

    def segments_status(self, wait_s: float = 0.0) -> SegmentJobStatus:
        """Where the weekly segment job stands (last run, why it skipped, encoder loaded). ``wait_s``:
        first wait up to this long for a run the pipeline started to finish."""
        if wait_s > 0:
            self._segments.wait_idle(wait_s)
        return self._segments.status()

    def segment_upload(self) -> Optional[dict]:
        """What the aggregated upload carries of the latest weekly segments: the fired segment names
        and the encoder version, plus the embedding only with ``SDKConfig.upload_embedding`` (never
        events, places or times); None before the first weekly result. For the day payloads,
        :func:`sdk.segments.segment_scores` gives ``name -> score``."""
        from momentsense.sdk.segments.weekly import upload_payload

        res = self.weekly_segments()
        return None if res is None else upload_payload(res, include_embedding=self.config.upload_embedding)

    def driving(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> Insights:
        """:class:`~sdk.insights.Insight` per scored drive in ``[start_s, end_s)`` (default: all kept)."""
        from momentsense.sdk.insights import drive_insights

        items = drive_insights(self._store.query("driving_score", start_s, end_s), self.config.tz_offset_s)
        return Insights(tuple(items), "" if items else "no scored drive")
