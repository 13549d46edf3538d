"""The live GPS timeline: fixes as they arrive → stay points → visits at places (home/work) → trips → store.

:class:`LiveTimeline` is the stateful stage the SDK's pipeline thread feeds, chunk by chunk. It runs
the streaming stay-point detector (:mod:`sdk.timeline.stay_points`), assigns each stay to a place
(:func:`~sdk.timeline.places.cluster_places` against the places already in the store), labels home
and work (:func:`~sdk.timeline.places.label_home_work` over the last ``label_window_days``), builds
the trip from the previous visit (:func:`~sdk.timeline.trips.build_trips` with the stored transport
events) and writes everything to a :class:`~sdk.timeline.store.TimelineStore`.

When things are written:

* a stay is *recognised* once the person has been within ``dist_threshold_m`` of where it began for
  ``time_threshold_s``: its place is created if new and the trip that led there is written (so the
  app sees the morning commute a few minutes after arrival, not when the person leaves work);
* when the stay *closes* (the person left, or the data ended) its visit is written, the trip is
  written again (a new version if anything changed) and the place's statistics and labels updated.

Bad GPS never stops the pipeline: fixes with a NaN or out-of-range time or coordinate, a negative
accuracy, a time that does not increase, or an accuracy radius over ``max_accuracy_m`` are dropped
and counted (:class:`GpsStats`); isolated jumps at impossible speed (teleports) are dropped by the
stay-point detector and left out of trip distances, also counted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from typing import Iterable, Optional

import numpy as np

from momentsense.sdk.timeline.geo import haversine_m, mean_position_deg, to_local_m
from momentsense.sdk.timeline.places import cluster_places, label_home_work
from momentsense.sdk.timeline.records import GpsFix, Place, StayPoint, TransportEvent, Trip, Visit
from momentsense.sdk.timeline.stay_points import StayPointParams, stay_point_finish, stay_point_init, stay_point_step
from momentsense.sdk.timeline.store import DAY_S, TimelineStore
from momentsense.sdk.timeline.trips import build_trips, mode_overlap_needed

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TimelineOptions:
    """Options of the live GPS timeline.

    Attributes:
        stay: Stay-point thresholds (metres, seconds; defaults justified in
            :func:`~sdk.timeline.stay_points.detect_stay_points`: 100 m, 5 min, 15 min gap, 200 m
            accuracy, 70 m/s teleports, 30 s exit).
        place_radius_m: A stay joins a known place within this distance of its centre, m (default
            100 m, see :func:`~sdk.timeline.places.cluster_places`).
        label_window_days: Home and work are decided from the visits of the last this many days
            (default 28: four weeks of routine; a move is picked up within weeks).
        max_trip_s: Two visits further apart than this, s, get no trip between them (the time in
            between is unknown, e.g. the phone was off). Default 12 h.
        gps_batch_s: Fixes are handed to the stay-point detector in batches spanning at least this
            long, s (default 60 s: a stay's start and end do not depend on it; it bounds the
            detector's per-call cost during long stays).
        trip_min_step_m: Trip distances use a path through fixes at least this far apart, m
            (:func:`thin_path`): receiver error adds length to a path sampled every second (on the
            planted test day, 8 m of correlated error turned a 3.6 km commute into 5.1 km; thinned
            to 25 m steps the excess is a few per cent). 0 uses every fix.
        merge_gap_s: A stay at the same place as the previous visit, starting less than this after
            it ended, s, extends that visit (a new version of it) instead of making a new one: indoor
            GPS error bursts otherwise split a night at home into several visits. Default 300 s (the
            stay time threshold; :func:`~sdk.timeline.trips.build_trips` makes no trip for such gaps
            either). 0 never merges.
        still_merge_s: A longer gap, up to this, s, between two visits at the same place is merged
            too when the transport detector covered at least ``still_merge_coverage`` of it and
            saw only ``still``: GPS wandered, the phone did not move (an indoor error burst of
            minutes otherwise makes a home → home "trip" without modes). Without transport events
            for the gap (IMU off) nothing is merged. Default 3600 s; 0 disables.
        still_merge_coverage: Share of the gap the stored transport events must cover (0..1).
    """

    stay: StayPointParams = StayPointParams()
    place_radius_m: float = 100.0
    label_window_days: float = 28.0
    max_trip_s: float = 12 * 3600.0
    gps_batch_s: float = 60.0
    trip_min_step_m: float = 25.0
    merge_gap_s: float = 300.0
    still_merge_s: float = 3600.0
    still_merge_coverage: float = 0.8

    def __post_init__(self):
        if not isinstance(self.stay, StayPointParams):
            raise TypeError(f"stay must be a StayPointParams, got {type(self.stay).__name__}")
        if not (isinstance(self.trip_min_step_m, (int, float)) and 0 <= self.trip_min_step_m < 1000):
            raise ValueError(f"trip_min_step_m must be in [0, 1000) m, got {self.trip_min_step_m!r}")
        if not (isinstance(self.merge_gap_s, (int, float)) and 0 <= self.merge_gap_s <= 86400):
            raise ValueError(f"merge_gap_s must be in [0, 86400] s, got {self.merge_gap_s!r}")
        if not (isinstance(self.still_merge_s, (int, float)) and 0 <= self.still_merge_s <= 86400):
            raise ValueError(f"still_merge_s must be in [0, 86400] s, got {self.still_merge_s!r}")
        if not (isinstance(self.still_merge_coverage, (int, float)) and 0 < self.still_merge_coverage <= 1):
            raise ValueError(f"still_merge_coverage must be in (0, 1], got {self.still_merge_coverage!r}")
        for name in ("place_radius_m", "label_window_days", "max_trip_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if not (isinstance(self.gps_batch_s, (int, float)) and 0 <= self.gps_batch_s <= 600):
            raise ValueError(f"gps_batch_s must be in [0, 600] s, got {self.gps_batch_s!r}")

    def to_dict(self) -> dict:
        """JSON-ready dict; :meth:`from_dict` rebuilds equal options."""
        d = dataclasses.asdict(self)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TimelineOptions":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        if isinstance(d.get("stay"), dict):
            d["stay"] = StayPointParams(**d["stay"])
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class TripInProgress:
    """The trip the person is on now.

    Attributes:
        start: When it began, unix s (end of the last visit; the first fix if there was none).
        origin_place_id: Place of the last visit ("" if unknown).
        modes: Transport modes so far, in order, consecutive repeats merged, ``still`` left out
            (includes the mode reported right now).
    """

    start: float
    origin_place_id: str
    modes: tuple


@dataclasses.dataclass
class GpsStats:
    """Counters of the GPS side of the pipeline (fixes unless stated).

    Attributes:
        received: Fixes handed in.
        used: Fixes accepted (given to the stay-point detector).
        dropped_invalid: Not a GpsFix, NaN/inf time or coordinate, coordinate out of range, negative accuracy.
        dropped_backwards: Time not after the previous fix's (out of order or duplicate).
        dropped_inaccurate: Accuracy radius over ``stay.max_accuracy_m``.
        dropped_teleport: Isolated jumps at impossible speed (dropped by the stay-point detector).
        errors: Chunks whose GPS processing raised (logged; sensing went on).
        stays_recognised, visits, trips: Records produced.
        visits_merged: Stays that extended the previous visit at the same place (``merge_gap_s``).
    """

    received: int = 0
    used: int = 0
    dropped_invalid: int = 0
    dropped_backwards: int = 0
    dropped_inaccurate: int = 0
    dropped_teleport: int = 0
    errors: int = 0
    stays_recognised: int = 0
    visits: int = 0
    trips: int = 0
    visits_merged: int = 0


def drop_isolated_jumps(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, max_speed_mps: float) -> np.ndarray:
    """Mask of fixes to keep: a fix reached and left faster than ``max_speed_mps`` (m/s) while its
    neighbours are mutually plausible is an isolated jump (the stay-point detector's rule)."""
    n = t.shape[0]
    keep = np.ones(n, bool)
    if n < 3:
        return keep

    def speed(i, k):
        return haversine_m(lat[i], lon[i], lat[k], lon[k]) / np.maximum(t[k] - t[i], 1.0)

    a, m, b = np.arange(n - 2), np.arange(1, n - 1), np.arange(2, n)
    keep[1:-1] = ~((speed(a, m) > max_speed_mps) & (speed(m, b) > max_speed_mps) & (speed(a, b) <= max_speed_mps))
    return keep


def thin_path(lat: np.ndarray, lon: np.ndarray, min_step_m: float) -> np.ndarray:
    """Mask of path points to keep: the first, then each point at least ``min_step_m`` (m) from the
    last kept one (the receiver's "minimum distance" filter). The last point is always kept."""
    n = lat.shape[0]
    keep = np.zeros(n, bool)
    if n == 0:
        return keep
    if min_step_m <= 0 or n < 3:
        keep[:] = True
        return keep
    x, y = to_local_m(lat, lon, float(lat[0]), float(lon[0]))
    k = 0
    keep[0] = True
    lim = min_step_m * min_step_m
    for i in range(1, n):
        if (x[i] - x[k]) ** 2 + (y[i] - y[k]) ** 2 >= lim:
            keep[i] = True
            k = i
    keep[-1] = True
    return keep


class LiveTimeline:
    """Stateful GPS → places/visits/trips stage writing to ``store``. Not thread-safe: one feeder thread
    (the SDK guards it with its lock)."""

    def __init__(self, store: TimelineStore, options: Optional[TimelineOptions] = None, tz_offset_s: float = 0.0):
        self.store = store
        self.options = options or TimelineOptions()
        if not (isinstance(tz_offset_s, (int, float)) and abs(tz_offset_s) <= 14 * 3600):
            raise ValueError(f"tz_offset_s must be within ±14 h (±50400 s), got {tz_offset_s!r}")
        self.tz_offset_s = float(tz_offset_s)
        self.stats = GpsStats()
        self._next_purge: Optional[float] = None
        self.reset()

    def reset(self) -> None:
        """Start a new stream (a new session): forget the open stay and buffers, keep the store."""
        self._sp = stay_point_init(**dataclasses.asdict(self.options.stay))
        self._tele_base = self.stats.dropped_teleport
        self._batch: list = []
        self._trip_fix: list = []  # arrays (t, lat, lon) of accepted fixes, for trip distances
        self._last_t = -math.inf
        self._first_t: Optional[float] = None
        self._open: Optional[tuple[float, str]] = None  # (start, place_id) of the recognised open stay
        self._open_event: Optional[tuple] = None  # (mode, start) of the detector's unclosed event

    # -- input -----------------------------------------------------------------------------------

    def _sanitize(self, fixes: Iterable) -> list:
        ok = []
        mx = self.options.stay.max_accuracy_m
        for f in fixes:
            self.stats.received += 1
            if not isinstance(f, GpsFix):
                self.stats.dropped_invalid += 1
                continue
            t, lat, lon, acc = f.t, f.lat, f.lon, f.accuracy_m
            try:
                good = (math.isfinite(t) and math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90.0
                        and abs(lon) <= 180.0 and not (acc < 0.0))
            except TypeError:
                good = False
            if not good:
                self.stats.dropped_invalid += 1
                continue
            if t <= self._last_t:
                self.stats.dropped_backwards += 1
                continue
            self._last_t = float(t)
            if acc > mx:
                self.stats.dropped_inaccurate += 1
                continue
            ok.append((float(t), float(lat), float(lon), float(acc)))
        return ok

    def add_events(self, events: list[TransportEvent]) -> None:
        """Store transport events (one transaction)."""
        if events:
            self.store.write(events, now_s=max(e.end for e in events))
            self._maybe_purge(max(e.end for e in events))

    def set_open_event(self, event: Optional[tuple]) -> None:
        """``(mode, start)`` of the transport event the detector has not closed yet (or None): a
        stay that closes during a long still event still sees that the phone did not move."""
        self._open_event = event

    def add_fixes(self, fixes: Iterable[GpsFix]) -> None:
        """Feed the fixes of one chunk (any quality, in arrival order). Never raises on bad fixes."""
        try:
            ok = self._sanitize(fixes)
            if not ok:
                return
            self.stats.used += len(ok)
            if self._first_t is None:
                self._first_t = ok[0][0]
            arr = np.asarray(ok, np.float64)
            self._trip_fix.append(arr[:, :3])
            self._batch.append(arr)
            if arr[-1, 0] - self._batch[0][0, 0] >= self.options.gps_batch_s:
                self._step()
            self._maybe_purge(float(arr[-1, 0]))
        except Exception:
            self.stats.errors += 1
            log.exception("GPS timeline: a chunk of fixes could not be processed; sensing continues")

    def finish(self) -> None:
        """End of the stream: close the open stay (the person is still there) and write it."""
        try:
            self._step()
            for s in stay_point_finish(self._sp, include_open=True):
                self._close(s)
        except Exception:
            self.stats.errors += 1
            log.exception("GPS timeline: closing the stream failed")
        self.reset()

    def _maybe_purge(self, now_s: float) -> None:
        if self.store.retention_days is None:
            return
        if self._next_purge is None or now_s >= self._next_purge:
            self.store.purge(now_s)
            self._next_purge = now_s + DAY_S

    # -- stays -----------------------------------------------------------------------------------

    def _step(self) -> None:
        if not self._batch:
            return
        arr = np.concatenate(self._batch)
        self._batch = []
        closed, self._sp = stay_point_step({"t": arr[:, 0], "lat": arr[:, 1], "lon": arr[:, 2],
                                            "accuracy_m": arr[:, 3]}, self._sp)
        self.stats.dropped_teleport = self._tele_base + self._sp.n_dropped_teleport
        for s in closed:
            self._close(s)
        self._recognise()
        self._trim_trip_fixes()

    def _recognise(self) -> None:
        """Is the undecided window already a stay (long enough inside its radius)?"""
        sp, p = self._sp, self.options.stay
        if sp.buf_t.size == 0 or (self._open is not None and self._open[0] == sp.buf_t[0]):
            return
        self._open = None
        inside = haversine_m(sp.buf_lat[0], sp.buf_lon[0], sp.buf_lat, sp.buf_lon) < p.dist_threshold_m
        t_in = sp.buf_t[inside]
        if t_in[-1] - t_in[0] < p.time_threshold_s:
            return
        lat, lon = mean_position_deg(sp.buf_lat[inside], sp.buf_lon[inside])
        stay = StayPoint(float(t_in[0]), float(t_in[-1]), lat, lon, int(inside.sum()), 0.0)
        place = self._assign(stay)
        visit = Visit(stay.start, stay.end, place.place_id, lat, lon)
        self._open = (stay.start, place.place_id)
        self.stats.stays_recognised += 1
        records: list = [self._place_record(place, [visit])]
        prev = self.store.last("visit")
        if not (prev is not None and prev.place_id == place.place_id and self._same_stay(prev.end, stay.start, True)):
            trip = self._trip_to(visit)  # else decided when the stay closes (merged, or a trip then)
            if trip is not None:
                records.append(trip)
        self.store.write(records, now_s=stay.end)

    def _assign(self, stay: StayPoint) -> Place:
        known = self.store.places()
        places, _ = cluster_places([stay], self.options.place_radius_m, known_places=known)
        by_id = {p.place_id: p for p in known}
        p = places[0]
        return by_id.get(p.place_id, dataclasses.replace(p, n_visits=0, total_dwell_s=0.0))

    def _close(self, stay: StayPoint) -> None:
        place = self._assign(stay)
        prev = self.store.last("visit")
        if prev is not None and prev.place_id == place.place_id and self._same_stay(prev.end, stay.start):
            w = [max(prev.end - prev.start, 1.0), max(stay.end - stay.start, 1.0)]
            lat, lon = mean_position_deg([prev.lat, stay.lat], [prev.lon, stay.lon], w)
            visit = Visit(prev.start, stay.end, place.place_id, lat, lon)  # same item: a new version
            trip = None
            self.stats.visits_merged += 1
        else:
            visit = Visit(stay.start, stay.end, place.place_id, stay.lat, stay.lon)
            trip = self._trip_to(visit)
            self.stats.visits += 1
        records: list = [visit]
        if trip is not None:
            records.append(trip)
            self.stats.trips += 1
        touched = {place.place_id: place}
        if self._open is not None and self._open[0] == stay.start and self._open[1] != place.place_id:
            old = next((q for q in self.store.places() if q.place_id == self._open[1]), None)
            if old is not None:
                touched[old.place_id] = old
        self._open = None
        records += [self._place_record(q, [visit]) for q in touched.values()]
        self.store.write(records, now_s=stay.end)  # visit, trip and place statistics: all or nothing
        self._relabel(stay.end)

    def _same_stay(self, gap_start: float, gap_end: float, provisional: bool = False) -> bool:
        """Whether a gap between two visits at one place is no departure: short, or seen as still.

        A moving event proves a departure when it overlaps the gap as long as a trip's mode must
        (:func:`~sdk.timeline.trips.build_trips`: 30 s, or half the gap): a few seconds of walking
        to the kitchen are not a trip. ``provisional`` (a stay recognised but not closed): the
        detector's event for the gap may not be stored yet, so coverage is not required."""
        gap = gap_end - gap_start
        if gap < 0.0:
            return False
        if gap < self.options.merge_gap_s:
            return True
        if gap >= self.options.still_merge_s:
            return False
        covered, need = 0.0, mode_overlap_needed(gap)
        events = list(self.store.events(gap_start, gap_end))
        if self._open_event is not None and self._open_event[1] < gap_end:
            events.append(TransportEvent(float(self._open_event[1]), gap_end, self._open_event[0], 0.0))
        for e in events:
            ov = max(0.0, min(e.end, gap_end) - max(e.start, gap_start))
            if e.mode != "still" and ov >= need:
                return False
            covered += ov
        return provisional or covered >= self.options.still_merge_coverage * gap

    def _place_record(self, place: Place, extra: list) -> Place:
        """``place`` with statistics from its stored visits (plus ``extra``, not yet stored)."""
        by_start = {v.start: v for v in self.store.query("visit", ref=place.place_id)}
        by_start.update((v.start, v) for v in extra if v.place_id == place.place_id)  # newer versions win
        vs = list(by_start.values())
        if not vs:
            return dataclasses.replace(place, n_visits=0, total_dwell_s=0.0)
        d = haversine_m(place.lat, place.lon, np.array([v.lat for v in vs]), np.array([v.lon for v in vs]))
        return dataclasses.replace(place, radius_m=float(d.max()), n_visits=len(vs),
                                   total_dwell_s=float(sum(max(v.end - v.start, 0.0) for v in vs)))

    def _relabel(self, now_s: float) -> None:
        places = self.store.places()
        if not places:
            return
        visits = self.store.visits(now_s - self.options.label_window_days * DAY_S, None)
        ids = {p.place_id for p in places}
        visits = [v for v in visits if v.place_id in ids]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            labelled = label_home_work(places, visits, self.tz_offset_s)
        changed = [q for p, q in zip(places, labelled) if q != p]
        if changed:
            self.store.write(changed, now_s=now_s)

    # -- trips -----------------------------------------------------------------------------------

    def _trip_fixes(self) -> np.ndarray:
        return np.concatenate(self._trip_fix) if self._trip_fix else np.zeros((0, 3))

    def _trim_trip_fixes(self) -> None:
        """Keep the fixes a future trip can need: from the last visit's end (and at most max_trip_s)."""
        if not self._trip_fix:
            return
        arr = self._trip_fixes()
        last = self.store.last("visit")
        t_min = arr[-1, 0] - self.options.max_trip_s
        if last is not None:
            t_min = max(t_min, last.end)
        self._trip_fix = [arr[arr[:, 0] > t_min]]

    def _trip_to(self, dest: Visit) -> Optional[Trip]:
        prev = self.store.last("visit")
        if prev is None or prev.end > dest.start or dest.start - prev.end > self.options.max_trip_s:
            return None
        fx = self._trip_fixes()
        fx = fx[(fx[:, 0] > prev.end) & (fx[:, 0] < dest.start)]
        fx = fx[drop_isolated_jumps(fx[:, 0], fx[:, 1], fx[:, 2], self.options.stay.max_speed_mps)]
        fx = fx[thin_path(fx[:, 1], fx[:, 2], self.options.trip_min_step_m)]
        events = self.store.events(prev.end, dest.start)
        trips = build_trips([prev, dest], {"t": fx[:, 0], "lat": fx[:, 1], "lon": fx[:, 2]}, events,
                            max_accuracy_m=self.options.stay.max_accuracy_m,
                            same_place_min_gap_s=self.options.stay.time_threshold_s)
        return trips[0] if trips else None

    # -- context ---------------------------------------------------------------------------------

    @property
    def in_stay(self) -> bool:
        """A stay is recognised now (no store query: cheap enough for every chunk)."""
        return self._open is not None

    def current_place(self) -> Optional[Place]:
        """The place of the stay the person is in now (recognised after ``time_threshold_s``), or None."""
        if self._open is None:
            return None
        return next((p for p in self.store.places() if p.place_id == self._open[1]), None)

    def trip_in_progress(self, current_mode: Optional[str]) -> Optional[TripInProgress]:
        """The trip since the last visit while not at a place (None at a place or before any fix)."""
        if self._open is not None or self._first_t is None:
            return None
        prev = self.store.last("visit")
        if prev is not None and self._last_t - prev.end <= self.options.max_trip_s:
            start, origin = prev.end, prev.place_id
        else:
            start, origin = self._first_t, ""
        modes: list = []
        for m in [e.mode for e in self.store.events(start, None)] + [current_mode]:
            if m is not None and m != "still" and (not modes or modes[-1] != m):
                modes.append(m)
        return TripInProgress(float(start), origin, tuple(modes))
