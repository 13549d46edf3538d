"""Options and state records of :class:`sdk.runtime.MomentSDK` (re-exported there): :class:`SDKConfig`
in, :class:`Context` out of ``current_context()``."""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence, Union

from momentsense.sdk.driving.live import DriveInProgress, DriveSegmentOptions
from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.errors import InputError
from momentsense.sdk.sources import SensorSource
from momentsense.sdk.timeline.live import TimelineOptions, TripInProgress
from momentsense.sdk.timeline.records import GpsFix, Place
from momentsense.sdk.transport.detector import ModelOptions

#: The GPS-stay prior of the transport detector applies only while the last fix is this recent, s.
#: No limit: with no fix since the stay's last one (a deep room without satellite or Wi-Fi fixes)
#: the person is taken to be still there until fixes show otherwise. Measured in the demo week
#: (session 8, six personas, simulator 1.1): a 120 s limit left 7,048 s of still time read as a
#: vehicle with the GPS head (4,883 s without it); no limit 413 s (1,083 s), accuracy while moving
#: unchanged (±0.001 per persona).
AT_PLACE_MAX_FIX_AGE_S = float("inf")


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
        transport_context: Run the transport model's context head (minutes of window outputs →
            mode; see :mod:`sdk.transport.heads`) when its manifest names one.
        transport_lagged_context: Settle the transport events (the timeline) with the model's lagged
            head when its manifest names one: events arrive 3 min later and are more accurate, while
            the current mode (:meth:`MomentSDK.current_context`) stays live. False: events from the live path.
        transport_gps: Settle them with the model's GPS head (the lagged head that also reads GPS fix
            rate and speed) while location consent is given and the source listens for fixes (see
            :mod:`sdk.transport.detector`); False: never read GPS for the transport mode.
        duty_cycle: Skip inference while still (see :mod:`sdk.transport.detector`). Only model
            inference pauses, and only while the reported mode is ``still``: every sensor chunk still
            reaches the timeline and, in car segments, the driving stage.
        chunk_s: Seconds of sensor data handed to the pipeline at a time.
        store_path: SQLite file of the local timeline (created if missing; its folder must exist).
            None (default) keeps the timeline in memory, lost when the SDK is closed: right for
            desktop tests and demos. Apps pass a file in their private storage (e.g. Kivy's
            ``App.user_data_dir + "/timeline.db"``) so the timeline survives restarts.
        retention_days: Timeline items that ended more than this many days before the latest sensor
            data are deleted (checked once per day of data). None keeps everything. Default 90 days:
            enough history for home/work (4-week window) and weekly routines, with a bounded file.
        tz_offset_s: Local time minus UTC, s (e.g. 3600 for CET in winter): home/work hours and the
            default day bounds of :meth:`MomentSDK.timeline` are local.
        timeline: Stay-point, place and trip options (metres and seconds; see
            :class:`~sdk.timeline.live.TimelineOptions`).
        driving_enabled: Detect driving behaviour during car segments (False: nothing is buffered,
            analysed or stored for drives).
        driving: Thresholds of the driving detector (m/s², m/s, s; see
            :class:`~sdk.driving.DrivingOptions`: harsh braking 3 m/s², acceleration 2.25 m/s²,
            cornering 3.5 m/s², crash ≥ 5 g at ≥ 35 km/h; no speed limit by default).
        drive_segments: When a drive starts and ends in the stream (grace periods, pre-roll, s; see
            :class:`~sdk.driving.live.DriveSegmentOptions`).
        weekly_segments: Recompute the segments once a week from the local timeline while data flows
            (:meth:`MomentSDK.weekly_segments`; the shipped encoder and heads load at the first run).
        upload_embedding: The app allows the user's timeline embedding (50 numbers) in
            :meth:`MomentSDK.segment_upload`; False (default): segment labels only.
    """

    source: Union[str, SensorSource] = "simulate"
    replay_path: Optional[str] = None
    speed: float = 0.0
    simulate_legs: Optional[Sequence] = None
    seed: int = 0
    model: ModelOptions = ModelOptions()
    transport_context: bool = True
    transport_lagged_context: bool = True
    transport_gps: bool = True
    duty_cycle: bool = True
    chunk_s: float = 10.0
    store_path: Optional[str] = None
    retention_days: Optional[float] = 90.0
    tz_offset_s: float = 0.0
    timeline: TimelineOptions = TimelineOptions()
    driving_enabled: bool = True
    driving: DrivingOptions = DrivingOptions()
    drive_segments: DriveSegmentOptions = DriveSegmentOptions()
    weekly_segments: bool = True
    upload_embedding: bool = False

    def __post_init__(self):
        if isinstance(self.source, str) and self.source not in ("simulate", "replay", "phone"):
            raise InputError(f"source must be 'simulate', 'replay', 'phone' or a SensorSource, got {self.source!r}")
        if self.source == "replay" and not self.replay_path:
            raise InputError("source='replay' needs replay_path")
        if self.speed < 0 or self.chunk_s <= 0:
            raise InputError(f"need speed >= 0 and chunk_s > 0, got {self.speed}, {self.chunk_s}")
        if self.retention_days is not None and not (isinstance(self.retention_days, (int, float)) and self.retention_days > 0):
            raise InputError(f"retention_days must be None or > 0 days, got {self.retention_days!r}")
        if not (isinstance(self.tz_offset_s, (int, float)) and abs(self.tz_offset_s) <= 14 * 3600):
            raise InputError(f"tz_offset_s must be within ±14 h (±50400 s), got {self.tz_offset_s!r}")
        if not isinstance(self.timeline, TimelineOptions):
            raise InputError(f"timeline must be a TimelineOptions, got {type(self.timeline).__name__}")
        if not isinstance(self.driving_enabled, bool):
            raise InputError(f"driving_enabled must be True or False, got {self.driving_enabled!r}")
        if not isinstance(self.driving, DrivingOptions):
            raise InputError(f"driving must be a DrivingOptions, got {type(self.driving).__name__}")
        if not isinstance(self.drive_segments, DriveSegmentOptions):
            raise InputError(f"drive_segments must be a DriveSegmentOptions, got {type(self.drive_segments).__name__}")
        for name in ("weekly_segments", "upload_embedding"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"{name} must be True or False, got {getattr(self, name)!r}")


@dataclasses.dataclass(frozen=True)
class Context:
    """What the SDK knows right now.

    Attributes:
        mode: Current transport mode (None before the first window).
        confidence: Smoothed probability of ``mode``, 0..1.
        last_fix: Latest GPS fix, or None.
        events: Transport events closed so far in this session.
        running: Whether sensing is on.
        place: The place the person is at (a stay is recognised after
            ``timeline.stay.time_threshold_s``, 5 min by default), or None while moving.
        trip_in_progress: Start, origin place and modes so far of the current trip while not at a
            place, or None.
        drive: The drive going on now (start, distance so far, driving events per kind so far), or
            None (no car segment, or driving disabled).
    """

    mode: Optional[str]
    confidence: float
    last_fix: Optional[GpsFix]
    events: int
    running: bool
    place: Optional[Place] = None
    trip_in_progress: Optional[TripInProgress] = None
    drive: Optional[DriveInProgress] = None
