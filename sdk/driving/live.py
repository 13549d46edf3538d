"""Driving behaviour in the live runtime: car segments of the transport stream → :mod:`sdk.driving` → store.

:class:`LiveDriving` is the stateful stage the SDK's pipeline thread calls once per sensor chunk,
after the transport detector, with the mode the detector reports now and the transport events the
chunk closed. It opens a *drive* when the reported mode becomes ``car`` and feeds that drive's
streaming detector (:func:`~sdk.driving.detect_driving_events`) with every IMU sample and GPS fix
until the car segment ends; then it flushes the detector, scores the drive
(:func:`~sdk.driving.score_drive`) and writes the events and the
:class:`~sdk.timeline.records.DrivingScore` to the :class:`~sdk.timeline.store.TimelineStore`.

Segment boundaries (all in data time, seconds; :class:`DriveSegmentOptions`):

* **Start.** Detection lags (a mode change is reported two 5 s hops after the first window of the
  new mode, i.e. 10-20 s late), so the last ``pre_roll_s`` of raw chunks are kept while no drive is
  open; when ``car`` is reported the drive starts where the detector placed the change (the end of
  the transport event it just closed) and the kept data from ``lead_s`` before that is fed first.
* **Other vehicles.** Once a drive is open, ``bus``, ``train`` and ``subway`` (``continue_modes``)
  count as the same car: nobody changes from a car to a bus without walking in between, and the
  transport detector confuses motorised modes (on a simulated 600 s car leg it reported 265 s of
  ``subway`` in the middle). They never *start* a drive.
* **Interruptions.** A drive does not end when the mode leaves those: it ends once the mode has
  been something else for longer than a grace period (``grace_s``, 60 s; ``still_grace_s``, 180 s,
  while ``still``: a traffic light or a jam). If the car comes back in time, the held data is fed
  and the drive goes on unsplit.
* **End.** The car end is the end of the last car (or continuing) transport event. Data up to
  ``post_roll_s`` after it is fed right away (a crash is confirmed by the vehicle stopping within
  10 s of the impact); data after that is held and dropped when the drive ends. Events peaking after
  the car end + ``end_margin_s`` (e.g. the phone handled while getting out), and harsh events while
  GPS says the vehicle was not moving (no fix within ``moving_window_s`` of the peak reaching
  ``moving_speed_mps``; walking in the pre- or post-roll) are dropped. Drives shorter than
  ``min_drive_s`` (a brief misclassification while walking) are dropped, not scored.

When things are reported: **crashes at once** (stored and returned as soon as
:func:`~sdk.driving.detect_driving_events` confirms them, ``crash_stop_window_s`` = 10 s after the
impact, also inside drives later dropped as too short); other events once the car mode has held
``hold_s`` past them (so an event after the car stopped can still be withdrawn); the rest and the
score when the drive ends. The IMU is never duty-cycled: the transport detector only skips
*inference* while it reports ``still``, and every sensor chunk still reaches this stage.

Bad data never stops sensing: samples with a non-finite time or value or a time that does not
increase are dropped; GPS speed that is NaN, negative or over 100 m/s is treated as unknown; any
other failure of the stage is logged and counted (``stats.errors``) and the open drive abandoned.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import time
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.driving.detect import DrivingState, detect_driving_events, driving_init, flush_driving_events
from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.driving.score import score_drive
from momentsense.sdk.driving.state import KINDS
from momentsense.sdk.driving.live_input import Cursor, Piece, chunk_span, distance_m, piece_from_chunk
from momentsense.sdk.errors import InputError
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore, TransportEvent

log = logging.getLogger(__name__)



@dataclasses.dataclass(frozen=True)
class DriveSegmentOptions:
    """When a drive starts and ends in the live stream (all times in seconds of data).

    Attributes:
        modes: Transport modes that start and continue a drive (the driver's phone: ``car``).
        continue_modes: Modes that continue an open drive but never start one (motorised modes the
            transport detector confuses with car). ``()`` ends drives on them like on walking.
        grace_s: A drive ends once the mode has been something else for longer than this, s.
        still_grace_s: The same while the mode is ``still`` (traffic lights, jams), s.
        pre_roll_s: Raw sensor data kept while no drive is open, fed when one starts, s (≥ the
            detector's reporting lag of 10-20 s).
        lead_s: Data from this long before the detected car start is fed, s (the change is placed
            at the centre of a 10 s window).
        post_roll_s: Data up to this long after the car end is fed, s (≥ the crash confirmation
            window, 10 s by default).
        end_margin_s: Events peaking later than this after the car end are dropped, s.
        moving_speed_mps: Harsh events need a GPS speed of at least this within ``moving_window_s``
            of their peak (when any fix there has a speed), m/s.
        moving_window_s: See ``moving_speed_mps``, s.
        hold_s: Non-crash events are reported once the car mode has held this long past them, s.
        min_drive_s: Drives with less car time than this are dropped (not scored), s.
        min_distance_m: Drives whose GPS speeds say they covered less than this are dropped, m: a
            phone lying still that the transport model misread as a car (measured in the demo
            week: 39 of 48 drives happened while GPS said the phone stayed at home or work).
            Drives without GPS speeds are kept.
    """

    modes: tuple = ("car",)
    continue_modes: tuple = ("bus", "train", "subway")
    grace_s: float = 60.0
    still_grace_s: float = 180.0
    pre_roll_s: float = 30.0
    lead_s: float = 5.0
    post_roll_s: float = 15.0
    end_margin_s: float = 1.0
    moving_speed_mps: float = 2.0
    moving_window_s: float = 3.0
    hold_s: float = 30.0
    min_drive_s: float = 60.0
    min_distance_m: float = 300.0

    def __post_init__(self):
        for name in ("modes", "continue_modes"):
            v = getattr(self, name)
            if not isinstance(v, (tuple, list)) or not all(isinstance(m, str) for m in v):
                raise InputError(f"DriveSegmentOptions.{name} must be a tuple of mode names, got {v!r}")
        if not self.modes:
            raise InputError("DriveSegmentOptions.modes must name at least one mode (e.g. ('car',))")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("modes", "continue_modes"):
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise InputError(f"DriveSegmentOptions.{f.name} must be a finite number of seconds >= 0, got {v!r}")


@dataclasses.dataclass(frozen=True)
class DriveInProgress:
    """The drive going on now (``Context.drive``).

    Attributes:
        start: Car start, unix s.
        distance_m: Distance so far (integrated GPS speed), m.
        counts: Driving events found so far per kind (every kind, zeros included; some may not be
            reported yet, see :mod:`sdk.driving.live`).
    """

    start: float
    distance_m: float
    counts: dict


@dataclasses.dataclass(frozen=True)
class DriveSummary:
    """A finished drive (:attr:`LiveDriving.last_drive`).

    Attributes:
        start, end: Car start and end, unix s.
        fed_start, fed_end: First and last sample time given to the detector, unix s (IMU or GPS).
        events: The drive's reported events (crashes included), in time order.
        score: Its score, or None when the drive was dropped as too short.
    """

    start: float
    end: float
    fed_start: float
    fed_end: float
    events: tuple
    score: Optional[DrivingScore]


@dataclasses.dataclass
class DrivingStats:
    """Counters of the live driving stage.

    Attributes:
        drives: Drives scored and stored. drives_dropped: Drives shorter than ``min_drive_s`` or
            shorter than ``min_distance_m`` by GPS.
        events: Driving events stored (crashes included). crashes: Crashes among them.
        events_dropped: Events found after the car end or in dropped drives.
        samples_dropped: IMU samples dropped (non-finite, time not increasing).
        errors: Failures of the stage (logged; the open drive was abandoned).
        cpu_s: Processor time spent in the stage, s.
    """

    drives: int = 0
    drives_dropped: int = 0
    events: int = 0
    crashes: int = 0
    events_dropped: int = 0
    samples_dropped: int = 0
    errors: int = 0
    cpu_s: float = 0.0


@dataclasses.dataclass
class _Drive:
    state: DrivingState
    start: float
    has_gyro: bool
    car_until: float
    car_end: Optional[float] = None
    held: list = dataclasses.field(default_factory=list)
    pending: list = dataclasses.field(default_factory=list)
    reported: list = dataclasses.field(default_factory=list)
    gps_t: list = dataclasses.field(default_factory=list)
    gps_v: list = dataclasses.field(default_factory=list)
    cursor: Cursor = dataclasses.field(default_factory=Cursor)
    fed_start: Optional[float] = None
    fed_end: Optional[float] = None


class LiveDriving:
    """Drives in the live stream (see the module docstring). Call :meth:`step` once per chunk."""

    def __init__(self, store, options: Optional[DrivingOptions] = None, segments: Optional[DriveSegmentOptions] = None):
        self.store = store
        self.options = options or DrivingOptions()
        self.segments = segments or DriveSegmentOptions()
        if not isinstance(self.options, DrivingOptions):
            raise InputError(f"options must be DrivingOptions, got {type(self.options).__name__}")
        if not isinstance(self.segments, DriveSegmentOptions):
            raise InputError(f"segments must be DriveSegmentOptions, got {type(self.segments).__name__}")
        self.stats = DrivingStats()
        #: The last finished drive (scored or dropped), or None.
        self.last_drive: Optional[DriveSummary] = None
        self.reset()

    def reset(self) -> None:
        """Forget the stream (a new recording): the open drive is abandoned, the pre-roll emptied."""
        self._drive: Optional[_Drive] = None
        self._pre: collections.deque = collections.deque()

    # -- public --------------------------------------------------------------------------------

    def step(self, chunk, mode: Optional[str], closed: Sequence[TransportEvent] = ()) -> list:
        """Process one sensor chunk (a :class:`~sdk.sources.SensorChunk`, after the transport detector).

        Parameters
        ----------
        chunk : SensorChunk
        mode : str or None
            Transport mode the detector reports after this chunk.
        closed : sequence of TransportEvent
            Transport events the chunk closed (their ends place the car start and end).

        Returns
        -------
        list of DrivingEvent and DrivingScore
            What was reported (and stored) during this chunk, in order.
        """
        c0 = time.process_time()
        out: list = []
        try:
            self._step(chunk, mode, closed, out)
        except Exception:
            self.stats.errors += 1
            log.exception("driving stage failed; the open drive is abandoned, sensing continues")
            self._drive = None
        self.stats.cpu_s += time.process_time() - c0
        return out

    def finish(self) -> list:
        """End of the stream: end the open drive (flush, score, store); returns what was reported."""
        out: list = []
        try:
            if self._drive is not None:
                self._end(out)
        except Exception:
            self.stats.errors += 1
            log.exception("driving stage failed at the end of the stream")
            self._drive = None
        self._pre.clear()
        return out

    def current(self) -> Optional[DriveInProgress]:
        """The drive going on now, or None."""
        d = self._drive
        if d is None:
            return None
        counts = {k: 0 for k in KINDS}
        for e in d.reported + d.pending:
            counts[e.kind] += 1
        dist = distance_m(*self._gps(d), d.start, math.inf)
        return DriveInProgress(d.start, round(dist, 1), counts)

    # -- stream --------------------------------------------------------------------------------

    def _step(self, chunk, mode: Optional[str], closed: Sequence[TransportEvent], out: list) -> None:
        span = chunk_span(chunk)
        if span is None:
            return
        seg = self.segments
        self._pre.append((span, chunk))
        while self._pre and self._pre[0][0][1] < span[1] - seg.pre_roll_s:
            self._pre.popleft()
        d = self._drive
        is_car = mode in seg.modes or (d is not None and mode in seg.continue_modes)
        if d is None:
            if is_car:
                start = max((e.end for e in closed), default=None)
                start = self._pre[0][0][0] if start is None else float(start)
                self._begin(start, chunk, span[1], out)
            return
        d.held.append(self._piece(d, chunk))
        if is_car:
            self._car(d, span[1], out)
            return
        if d.car_end is None:
            ends = [e.end for e in closed if e.mode in seg.modes or e.mode in seg.continue_modes]
            d.car_end = float(max(ends)) if ends else min(d.car_until, span[0])
        self._feed_held(d, d.car_end + seg.post_roll_s, out)
        if span[1] - d.car_end > (seg.still_grace_s if mode == "still" else seg.grace_s):
            self._end(out)

    def _begin(self, start: float, chunk, t_end: float, out: list) -> None:
        has_gyro = chunk.gyro is not None and len(chunk.gyro) > 0
        d = _Drive(driving_init(self.options), start, has_gyro, t_end)
        self._drive = d
        for _, ch in self._pre:
            d.held.append(self._piece(d, ch))
        cut = start - self.segments.lead_s
        d.held = [p.split(cut)[1] for p in d.held]
        self._car(d, t_end, out)

    def _car(self, d: _Drive, t_end: float, out: list) -> None:
        d.car_end, d.car_until = None, t_end
        self._feed_held(d, math.inf, out)
        if t_end - self.segments.hold_s - d.start >= self.segments.min_drive_s:
            due = [e for e in d.pending if e.t <= t_end - self.segments.hold_s]
            if due:
                d.pending = [e for e in d.pending if e.t > t_end - self.segments.hold_s]
                self._report(d, self._moving(d, due), out, t_end)

    def _feed_held(self, d: _Drive, until: float, out: list) -> None:
        keep = []
        for p in d.held:
            now, later = p.split(until)
            if not now.empty():
                self._feed(d, now, out)
            if not later.empty():
                keep.append(later)
        d.held = keep

    def _piece(self, d: _Drive, chunk) -> Piece:
        n = d.cursor.dropped
        p = piece_from_chunk(chunk, d.cursor, d.has_gyro)
        self.stats.samples_dropped += d.cursor.dropped - n
        return p

    def _feed(self, d: _Drive, p: Piece, out: list) -> None:
        events, d.state = detect_driving_events(p.t, p.acc, p.gyro if d.has_gyro else None, p.gps_t, p.gps_v, p.gps_h,
                                                d.state)
        d.gps_t.append(p.gps_t)
        d.gps_v.append(p.gps_v)
        lo, hi = p.span()
        d.fed_start = lo if d.fed_start is None else min(d.fed_start, lo)
        d.fed_end = hi if d.fed_end is None else max(d.fed_end, hi)
        self._take(d, events, out)

    def _take(self, d: _Drive, events: list, out: list) -> None:
        crashes = [e for e in events if e.kind == "crash"]
        d.pending += [e for e in events if e.kind != "crash"]
        if crashes:
            self.stats.crashes += len(crashes)
            self._report(d, crashes, out, max(e.t for e in crashes))

    def _report(self, d: _Drive, records: list, out: list, now_s: float) -> None:
        self.store.write(records, now_s=now_s)
        d.reported += [r for r in records if isinstance(r, DrivingEvent)]
        self.stats.events += sum(isinstance(r, DrivingEvent) for r in records)
        out += records

    def _end(self, out: list) -> None:
        d, seg = self._drive, self.segments
        self._drive = None
        events, d.state = flush_driving_events(d.state)
        self._take(d, events, out)
        car_end = d.car_until if d.car_end is None else d.car_end
        keep = sorted((e for e in d.pending if e.t <= car_end + seg.end_margin_s), key=lambda e: (e.t, e.kind))
        self.stats.events_dropped += len(d.pending) - len(keep)
        keep = self._moving(d, keep)
        score = None
        gt, gv = self._gps(d)
        dist = distance_m(gt, gv, d.start, car_end)
        moved = not np.isfinite(gv).any() or dist >= seg.min_distance_m
        if (car_end - d.start >= seg.min_drive_s and moved) or any(e.kind != "crash" for e in d.reported):
            evs = sorted(d.reported + keep, key=lambda e: (e.t, e.kind))
            score = score_drive(evs, dist, d.start, car_end, self.options)
            self._report(d, keep + [score], out, car_end)
            self.stats.drives += 1
        else:
            self.stats.drives_dropped += 1
            self.stats.events_dropped += len(keep)
        fed = (d.fed_start, d.fed_end) if d.fed_start is not None else (d.start, d.start)
        self.last_drive = DriveSummary(d.start, car_end, fed[0], fed[1],
                                       tuple(sorted(d.reported, key=lambda e: (e.t, e.kind))), score)

    def _moving(self, d: _Drive, events: list) -> list:
        """``events`` without the harsh ones during which GPS says the vehicle was not moving."""
        gt, gv = self._gps(d)
        w, keep = self.segments.moving_window_s, []
        for e in events:
            v = gv[(gt >= e.t - w) & (gt <= e.t + w)] if e.kind.startswith("harsh_") else np.zeros(0)
            v = v[np.isfinite(v)]
            if len(v) and v.max() < self.segments.moving_speed_mps:
                self.stats.events_dropped += 1
            else:
                keep.append(e)
        return keep

    @staticmethod
    def _gps(d: _Drive) -> tuple[np.ndarray, np.ndarray]:
        if not d.gps_t:
            return np.zeros(0), np.zeros(0)
        if len(d.gps_t) > 1:  # compact: a long drive appends one small array per chunk
            d.gps_t, d.gps_v = [np.concatenate(d.gps_t)], [np.concatenate(d.gps_v)]
        return d.gps_t[0], d.gps_v[0]
