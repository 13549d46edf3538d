"""State of the streaming driving detector, its creation, input checks and run tracking.

Split from :mod:`sdk.driving.detect` (the method is documented there); nothing here is public
beyond :func:`driving_init`, :class:`DrivingState` and :data:`KINDS`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from momentsense.sdk.driving.axis import AxisState
from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.dsp.filters import design_lowpass
from momentsense.sdk.dsp.resample import ResamplerState, resampler_init
from momentsense.sdk.errors import InputError
from momentsense.sdk.timeline.records import DrivingEvent

#: Event kinds, as in :class:`sdk.timeline.records.DrivingEvent`.
KINDS = ("harsh_braking", "harsh_acceleration", "harsh_cornering", "speeding", "phone_handling", "crash")
_HARSH = ("harsh_braking", "harsh_acceleration", "harsh_cornering")
_RAW_TAIL_S = 3.0
_DYNAMICS_LIMIT_MPS2 = 3.0 * 9.80665
_IMPACT_S = 1.0  # an impact disturbs the phone this long
_GPS_KEEP_S = 30.0
_GPS_MIN_SPEED_FOR_HEADING_MPS = 2.0


@dataclasses.dataclass
class RunState:
    """A stretch above a threshold being tracked (times in seconds)."""

    active: bool = False
    start_t: float = 0.0
    last_t: float = 0.0
    peak: float = 0.0
    peak_t: float = 0.0
    n: int = 0
    aux: float = 1.0


@dataclasses.dataclass
class DrivingState:
    """Everything :func:`detect_driving_events` carries between chunks. Create with :func:`driving_init`.

    Attributes (main ones):
        options: The :class:`DrivingOptions`.
        axis_sum: Complex forward-axis evidence ``S`` (see the module docstring), (m/s²)²·s.
        gps_seen: A GPS speed has come in this drive (the forward axis then comes from GPS).
        axis_nogps: The no-GPS axis estimate (:mod:`sdk.driving.axis`).
        distance_m: Distance so far, integrated from GPS speed, m.
        trip_start, trip_end: First and last time seen (IMU or GPS), s; None before any data.
        pending_impacts: Impacts waiting for the GPS after them (``[t, peak, last_t, freefall]``).
    """

    options: DrivingOptions
    acc_rs: ResamplerState
    gyro_rs: ResamplerState
    sos_g: np.ndarray
    sos_d: np.ndarray
    zg: Optional[np.ndarray] = None
    zd: Optional[np.ndarray] = None
    last_k: Optional[int] = None
    last_dyn_acc: Optional[np.ndarray] = None
    last_t: Optional[float] = None
    has_gyro: Optional[bool] = None
    ref: Optional[np.ndarray] = None
    axis_sum: complex = 0j
    axis_w: float = 0.0
    axis_a: float = 0.0
    psi_rad: float = 0.0
    gps_seen: bool = False
    axis_nogps: AxisState = dataclasses.field(default_factory=AxisState)
    runs: dict = dataclasses.field(default_factory=dict)
    last_handling_t: float = -math.inf
    gps_t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    gps_v: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    gps_h: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    last_gps_t: Optional[float] = None
    tail_t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    tail_n: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    pending_impacts: list = dataclasses.field(default_factory=list)
    impacts_to_reset: list = dataclasses.field(default_factory=list)
    recent_impacts: list = dataclasses.field(default_factory=list)
    distance_m: float = 0.0
    trip_start: Optional[float] = None
    trip_end: Optional[float] = None


def driving_init(options: Optional[DrivingOptions] = None) -> DrivingState:
    """Initial state of :func:`detect_driving_events` for ``options`` (default :class:`DrivingOptions`)."""
    o = options or DrivingOptions()
    if not isinstance(o, DrivingOptions):
        raise InputError(f"options must be DrivingOptions, got {type(o).__name__}")
    return DrivingState(
        options=o,
        acc_rs=resampler_init(o.fs_hz, o.max_gap_s),
        gyro_rs=resampler_init(o.fs_hz, o.max_gap_s),
        sos_g=design_lowpass(o.gravity_cutoff_hz, o.fs_hz, o.filter_order),
        sos_d=design_lowpass(o.dynamics_cutoff_hz, o.fs_hz, o.filter_order),
        runs={k: RunState() for k in (*_HARSH, "speeding", "phone_handling")},
    )


def _as_array(x, name: str, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array ({exc})") from None
    if a.ndim != ndim or (ndim == 2 and a.shape[1] != 3):
        want = "(N,)" if ndim == 1 else "(N, 3)"
        raise InputError(f"{name} must have shape {want}, got {a.shape}")
    return a


def _check_times(t: np.ndarray, after: Optional[float], name: str) -> None:
    if not np.all(np.isfinite(t)):
        i = int(np.flatnonzero(~np.isfinite(t))[0])
        raise InputError(f"{name} must be finite seconds; got {t[i]!r} at index {i}")
    d = np.diff(t)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0])
        raise InputError(f"{name} must be strictly increasing; {t[i]!r} then {t[i + 1]!r} at index {i + 1}")
    if after is not None and len(t) and t[0] <= after:
        raise InputError(f"{name} must continue after the previous chunk (last {after!r} s), got {t[0]!r} at index 0")


def _scan(run: RunState, t: np.ndarray, value: np.ndarray, above: np.ndarray, merge_gap_s: float,
          t_end: Optional[float], aux: Optional[np.ndarray] = None) -> tuple[list[RunState], RunState]:
    """Group above-threshold samples into runs; a run closes once ``merge_gap_s`` passes without one.

    ``aux`` (optional, same shape as ``value``) is recorded at the peak (the axis coherence).
    """
    run = dataclasses.replace(run)
    closed = []
    for i in np.flatnonzero(above):
        ti = float(t[i])
        if run.active and ti - run.last_t > merge_gap_s:
            closed.append(run)
            run = RunState()
        if not run.active:
            run = RunState(True, ti, ti, float(value[i]), ti, 0)
        run.last_t = ti
        run.n += 1
        if value[i] > run.peak or run.n == 1:
            run.peak, run.peak_t = float(value[i]), ti
            run.aux = float(aux[i]) if aux is not None else 1.0
    if run.active and t_end is not None and t_end - run.last_t > merge_gap_s:
        closed.append(run)
        run = RunState()
    return closed, run


def _event(kind: str, run: RunState, dt_s: float, threshold: float, offset: float = 0.0) -> DrivingEvent:
    """Confidence = min(1, 0.5 + relative excess over the threshold) × (0.5 + 0.5 × axis coherence)."""
    excess = (run.peak + offset) / threshold - 1.0 if threshold > 0 else 1.0
    conf = min(1.0, 0.5 + max(0.0, excess)) * (0.5 + 0.5 * min(1.0, max(0.0, run.aux)))
    return DrivingEvent(t=run.peak_t, kind=kind, magnitude=run.peak, duration_s=run.n * dt_s, confidence=round(conf, 4))
