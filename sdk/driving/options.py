"""Options of the driving-behaviour detector (:class:`DrivingOptions`)."""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import STANDARD_GRAVITY_MPS2

#: Frames the accelerometer/gyroscope may come in.
INPUT_FRAMES = ("device", "earth")


@dataclasses.dataclass(frozen=True)
class DrivingOptions:
    """Thresholds and signal parameters of :func:`sdk.driving.analyse_drive`.

    Defaults follow common telematics practice (harsh braking 3 m/s² ≈ 0.31 g, acceleration
    2.25 m/s² ≈ 0.23 g, cornering 3.5 m/s² ≈ 0.36 g; crash ≥ 5 g at ≥ 35 km/h).

    Attributes:
        fs_hz: Grid rate of the vehicle-dynamics signals, Hz.
        max_gap_s: IMU holes longer than this are not bridged; filters restart after them, s.
        input_frame: ``"device"`` (phone axes, the momentsense-imu-v1 contract) or ``"earth"``
            (values already rotated into an earth-fixed frame with z up, as in the Driver Behavior
            Dataset): in ``"earth"`` the car's heading is tracked by integrating the yaw rate.
        gravity_cutoff_hz: Low-pass cut-off of the gravity estimate, Hz. Much lower than the
            0.3 Hz of the transport pipeline, so a 3 s braking barely leaks into "gravity".
        dynamics_cutoff_hz: Low-pass cut-off of acceleration and angular rate, Hz (removes road
            and engine vibration; harsh manoeuvres are slower than 1 Hz).
        filter_order: Butterworth order of both filters.
        axis_memory_s: Time constant of the exponential forgetting of the forward-axis evidence, s.
        axis_min_evidence_m2_s3: Evidence (∫ |GPS dv/dt + i·v·ω|² dt, (m/s²)²·s) needed before the
            forward axis is trusted; no harsh event is reported before that.
        assumed_speed_mps: Speed used in ``v·ω`` when GPS speed is unknown, m/s.
        gps_max_age_s: A GPS fix older than this is not used for the current sample, s.
        straight_yaw_rad_s: Without GPS: samples yawing slower than this are straight driving and
            teach the forward axis (:mod:`sdk.driving.axis`), rad/s.
        turn_yaw_rad_s: Without GPS: a horizontal acceleration while yawing at least this fast is
            cornering (its size is compared with ``cornering_mps2``), slower is longitudinal, rad/s.
            The labelled harsh turns of the real trips yaw at 0.6-0.8 rad/s, their brakings and
            accelerations below 0.02 rad/s.
        principal_memory_s: Without GPS: time constant of the forgetting of the axis evidence, s.
        launch_mps2, launch_s: Without GPS: the drive's first straight acceleration along the axis
            beyond ``launch_mps2`` (m/s²) for ``launch_s`` (s) is its speed-up and says which way
            is forward; no braking or acceleration event is reported before it.
        settle_s: Without GPS: no harsh event in the first this many seconds of a drive, while the
            gravity estimate settles (at 0.02 Hz it starts from the first sample), s.
        yaw_deadband_rad_s: In ``input_frame="earth"``: yaw rates below this are left out of the
            integrated heading (gyro bias would turn the frame over minutes of straight driving), rad/s.
        braking_mps2, acceleration_mps2, cornering_mps2: Harsh thresholds on the low-passed
            longitudinal deceleration, acceleration and |lateral| acceleration, m/s².
        harsh_min_duration_s: Minimum time above a harsh threshold, s.
        harsh_merge_gap_s: Stretches above threshold closer than this form one event, s.
        speed_limit_mps: Speed limit for speeding events, m/s; None disables speeding.
        speeding_margin_mps: Tolerance over the limit (GPS speed error), m/s.
        speeding_min_duration_s: Minimum time over limit + margin, s.
        handling_gyro_rad_s: Threshold on the non-yaw angular rate (rotation about horizontal axes),
            rad/s; a car pitches and rolls far slower than a hand turns a phone.
        handling_min_duration_s: Minimum time above it, s.
        handling_merge_gap_s: Stretches closer than this form one handling event, s.
        handling_settle_s: After handling, harsh events are suppressed this long (the phone may
            still move; gravity is re-estimated), s.
        crash_peak_mps2: Raw |acc| peak of an impact, m/s² (5 g).
        crash_min_speed_mps: Highest GPS speed in ``crash_pre_window_s`` before the impact must
            reach this, m/s (35 km/h).
        crash_pre_window_s: Window before the impact for the speed condition, s.
        crash_stop_speed_mps: The vehicle counts as stopped at or below this GPS speed, m/s.
        crash_stop_window_s: It must stop within this time after the impact, s.
        crash_merge_s: Impact samples closer than this are one impact, s.
        freefall_mps2: Raw |acc| below this is free fall (a dropped phone), m/s².
        freefall_min_s: Minimum free-fall duration, s.
        freefall_window_s: Free fall ending at most this long before the impact marks a drop, s.
        weight_harsh, weight_speeding, weight_handling: Penalty weights of the score.
        score_scale_per_100km: Weighted events per 100 km that bring the score to 100/e ≈ 37.
        score_min_distance_m: Distance floor of the per-100-km normalisation, m (short trips).
    """

    fs_hz: float = 25.0
    max_gap_s: float = 1.0
    input_frame: str = "device"
    gravity_cutoff_hz: float = 0.02
    dynamics_cutoff_hz: float = 1.0
    filter_order: int = 2
    axis_memory_s: float = 120.0
    axis_min_evidence_m2_s3: float = 10.0
    assumed_speed_mps: float = 10.0
    straight_yaw_rad_s: float = 0.05
    turn_yaw_rad_s: float = 0.15
    principal_memory_s: float = 600.0
    launch_mps2: float = 0.8
    launch_s: float = 2.0
    settle_s: float = 30.0
    yaw_deadband_rad_s: float = 0.04
    gps_max_age_s: float = 3.0
    braking_mps2: float = 3.0
    acceleration_mps2: float = 2.25
    cornering_mps2: float = 3.5
    harsh_min_duration_s: float = 0.5
    harsh_merge_gap_s: float = 0.5
    speed_limit_mps: Optional[float] = None
    speeding_margin_mps: float = 1.0
    speeding_min_duration_s: float = 10.0
    handling_gyro_rad_s: float = 1.0
    handling_min_duration_s: float = 0.5
    handling_merge_gap_s: float = 1.0
    handling_settle_s: float = 5.0
    crash_peak_mps2: float = 5.0 * STANDARD_GRAVITY_MPS2
    crash_min_speed_mps: float = 35.0 / 3.6
    crash_pre_window_s: float = 5.0
    crash_stop_speed_mps: float = 2.0
    crash_stop_window_s: float = 10.0
    crash_merge_s: float = 1.0
    freefall_mps2: float = 0.35 * STANDARD_GRAVITY_MPS2
    freefall_min_s: float = 0.12
    freefall_window_s: float = 1.0
    weight_harsh: float = 1.0
    weight_speeding: float = 1.0
    weight_handling: float = 2.0
    score_scale_per_100km: float = 20.0
    score_min_distance_m: float = 10_000.0

    def __post_init__(self) -> None:
        if self.input_frame not in INPUT_FRAMES:
            raise InputError(f"input_frame must be one of {INPUT_FRAMES}, got {self.input_frame!r}")
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name in ("input_frame", "filter_order") or v is None:
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise InputError(f"DrivingOptions.{f.name} must be a finite number, got {v!r}")
            nonneg = f.name.startswith(("weight_", "speeding_margin", "crash_stop_speed", "handling_settle", "settle_s",
                                        "yaw_deadband"))
            if (v < 0) if nonneg else (v <= 0):
                raise InputError(f"DrivingOptions.{f.name} must be {'>= 0' if nonneg else '> 0'}, got {v!r}")
        if not isinstance(self.filter_order, int) or self.filter_order < 1:
            raise InputError(f"filter_order must be an int >= 1, got {self.filter_order!r}")
        nyq = self.fs_hz / 2
        if not self.gravity_cutoff_hz < self.dynamics_cutoff_hz < nyq:
            raise InputError(
                f"need gravity_cutoff_hz < dynamics_cutoff_hz < {nyq:g} Hz (Nyquist), "
                f"got {self.gravity_cutoff_hz!r}, {self.dynamics_cutoff_hz!r}"
            )
        if self.max_gap_s < 2 / self.fs_hz:
            raise InputError(f"max_gap_s must be >= two grid steps ({2 / self.fs_hz:g} s), got {self.max_gap_s!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DrivingOptions":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(f"unknown DrivingOptions fields {unknown}; known: {sorted(names)}")
        return cls(**d)
