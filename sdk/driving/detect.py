"""Driving behaviour of one car segment: harsh events, speeding, phone handling, crashes.

One streaming stage with explicit state, :func:`detect_driving_events` (``f(x, state) -> (y, state)``),
closed by :func:`flush_driving_events`; :func:`analyse_drive` is the batch path (one call from
:func:`driving_init`, then the flush, then :func:`sdk.driving.score.score_drive`). Stream == batch
(tested) when every chunk carries the IMU samples *and* the GPS fixes of the same time span.

Vehicle frame (method)
----------------------
1. IMU resampled onto the 25 Hz grid (:func:`sdk.dsp.resample`). Gravity ``g`` = low-pass of acc at
   ``gravity_cutoff_hz`` (0.02 Hz, :func:`sdk.dsp.design_lowpass`); vehicle dynamics = low-pass of
   acc and gyro at ``dynamics_cutoff_hz`` (1 Hz). ``up = g/|g|``; horizontal acceleration
   ``a_h = lp(acc) − g`` written as a complex number in a horizontal basis ``(e1, up × e1)``; yaw rate
   ``ω = lp(gyro)·up`` (from GPS heading changes when there is no gyroscope).
2. The forward axis is the angle ``θ`` that best explains ``a_h ≈ e^{iθ}·(dv/dt + i·v·ω)``:
   longitudinal acceleration is GPS ``dv/dt``, lateral (to the left) is centripetal ``v·ω``. The
   least-squares solution is ``θ = arg S`` with ``S = Σ a_h·conj(dv/dt + i·v·ω)``, accumulated
   causally with exponential forgetting (``axis_memory_s``). No harsh event is reported until
   ``|S|`` reaches ``axis_min_evidence_m2_s3``. A drive that has brought no GPS speed uses
   :mod:`sdk.driving.axis` instead: the principal horizontal axis of straight driving, its sign
   from the drive's first speed-up, and cornering told from longitudinal events by the yaw rate.
3. ``lon + i·lat = a_h·e^{−iθ}``. In ``input_frame="earth"`` (data already rotated into an
   earth-fixed frame) the car's heading changes in that frame, so ``a_h`` is first de-rotated by the
   integrated yaw ``ψ = ∫ω dt`` (yaw rates below ``yaw_deadband_rad_s`` are left out: gyro bias).

Limits: the forward axis must stay fixed in the phone (mount, cup holder, a bag that does not
move). A phone in a trouser pocket shifts with the leg: the estimate is re-learnt only after a
detected phone-handling episode (which resets it) or slowly through forgetting, so a pocket phone
gives noisier longitudinal/lateral separation. Before enough acceleration/turning has been seen
(first tens of seconds of a trip) no harsh event is reported. Gravity lags after a re-orientation;
it is re-initialised when a handling episode ends and harsh events are suppressed meanwhile.

An impact (raw |acc| ≥ ``crash_peak_mps2``) is treated like phone handling: harsh events are
suppressed for 1 s + ``handling_settle_s``, then gravity and (device frame) the forward axis restart.
Samples are limited to |acc| ≤ 3 g before the vehicle-dynamics path (an impact would otherwise ring
through the gravity filter for tens of seconds); crash detection reads the unlimited raw samples.

Crash: a raw (not resampled) |acc| peak ≥ ``crash_peak_mps2`` with GPS speed ≥ ``crash_min_speed_mps``
within ``crash_pre_window_s`` before, GPS speed ≤ ``crash_stop_speed_mps`` within
``crash_stop_window_s`` after, and no free fall (|acc| < ``freefall_mps2`` for ≥ ``freefall_min_s``)
ending within ``freefall_window_s`` before the impact (a dropped phone). Without GPS after the
impact no crash is confirmed.
"""

from __future__ import annotations

import copy
import math
from typing import Optional

import numpy as np

from momentsense.sdk.driving.axis import AxisState, forward_angle
from momentsense.sdk.driving.inputs import (
    _gps_at,
    _ingest_gps,
    _ingest_raw,
    _resolve_impacts,
    _touch,
    _trim_gps,
)
from momentsense.sdk.driving.state import (
    _DYNAMICS_LIMIT_MPS2,
    _HARSH,
    _IMPACT_S,
    KINDS,
    DrivingState,
    RunState,
    _as_array,
    _check_times,
    _event,
    _scan,
    driving_init,
)
from momentsense.sdk.dsp.filters import filter_chunk, filter_init
from momentsense.sdk.dsp.resample import resample
from momentsense.sdk.dsp.validate import ACC_IMPOSSIBLE_MPS2, GYRO_IMPOSSIBLE_RAD_S
from momentsense.sdk.errors import InputError
from momentsense.sdk.timeline.records import DrivingEvent

__all__ = ["KINDS", "DrivingState", "RunState", "detect_driving_events", "driving_init", "flush_driving_events"]


# --------------------------------------------------------------------------------------- vehicle frame


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


def _process_grid(state: DrivingState, k: np.ndarray, a: np.ndarray, g: Optional[np.ndarray], events: list) -> None:
    """Vehicle-frame projection and harsh/handling detection on the 25 Hz grid (explicit state)."""
    from scipy.signal import lfilter  # lazy: heavy import (platform-notes.md)

    o = state.options
    fs = o.fs_hz
    n = len(k)
    tg = k / fs
    ag = np.concatenate([a, g if g is not None else np.zeros_like(a)], axis=1)
    gps_v, gps_dv, gps_om = _gps_at(state, tg, g is None)
    lam = math.exp(-1.0 / (fs * o.axis_memory_s))
    pos = 0
    while pos < n:
        # end of the continuous grid stretch
        brk = np.flatnonzero(np.diff(k[pos:]) != 1)
        end = pos + (int(brk[0]) + 1 if len(brk) else n - pos)
        if state.zg is None or state.last_k is None or k[pos] != state.last_k + 1:
            state.zg = filter_init(state.sos_g, a[pos])
            state.zd = filter_init(state.sos_d, ag[pos])
        seg = slice(pos, end)
        grav, zg1 = filter_chunk(state.sos_g, a[seg], state.zg)
        dyn, zd1 = filter_chunk(state.sos_d, ag[seg], state.zd)
        up = _unit(grav)
        if state.ref is None or abs(float(state.ref @ up[0])) > 0.9:
            state.ref = np.eye(3)[int(np.argmin(np.abs(up[0])))]
            state.axis_sum, state.axis_w, state.axis_a = 0j, 0.0, 0.0
        m = end - pos
        cut, action = m, None
        deg = np.flatnonzero(np.abs(up @ state.ref) > 0.9)
        if len(deg):
            cut, action = int(deg[0]), "ref"
        gyl = dyn[:, 3:]
        omega = np.einsum("ij,ij->i", gyl, up) if g is not None else gps_om[seg]
        tilt = np.linalg.norm(gyl - omega[:, None] * up, axis=1)
        t_seg = tg[seg]
        hand_above = (tilt > o.handling_gyro_rad_s) if g is not None else np.zeros(m, bool)
        if g is not None:
            closed, _ = _scan(state.runs["phone_handling"], t_seg, tilt, hand_above, o.handling_merge_gap_s, float(t_seg[-1]))
            for r in closed:
                if r.n / fs >= o.handling_min_duration_s:
                    c = int(np.searchsorted(t_seg, r.last_t + o.handling_merge_gap_s, side="right"))
                    if c < cut or (c == cut and action is None):
                        cut, action = c, "handling"
                    break
        for imp in list(state.impacts_to_reset):
            c = int(np.searchsorted(t_seg, imp + _IMPACT_S, side="right"))
            if c == 0:
                state.impacts_to_reset.remove(imp)
                continue  # reached before this segment (only across a gap): the filters restarted anyway
            if c < cut:
                cut, action = c, ("impact", imp)
        if cut == 0:  # a handling stretch from an earlier chunk closes at this chunk's first sample
            closed, state.runs["phone_handling"] = _scan(state.runs["phone_handling"], t_seg[:0], tilt[:0],
                                                         hand_above[:0], o.handling_merge_gap_s, float(t_seg[0]))
            events += [_event("phone_handling", r, 1 / fs, o.handling_gyro_rad_s) for r in closed]
            _after_handling(state)
            continue
        t_close = float(t_seg[-1])
        if cut < m:
            t_close = float(t_seg[cut]) if action == "handling" else float(t_seg[cut - 1])
            sub = slice(pos, pos + cut)
            grav, state.zg = filter_chunk(state.sos_g, a[sub], state.zg)
            dyn, state.zd = filter_chunk(state.sos_d, ag[sub], state.zd)
            up, gyl, omega, tilt = up[:cut], gyl[:cut], omega[:cut], tilt[:cut]
            t_seg, hand_above = t_seg[:cut], hand_above[:cut]
        else:
            state.zg, state.zd = zg1, zd1
            action = None
        t_end = float(t_seg[-1])
        state.last_dyn_acc = dyn[-1, :3].copy()
        # phone handling
        if g is not None:
            closed, state.runs["phone_handling"] = _scan(state.runs["phone_handling"], t_seg, tilt, hand_above,
                                                         o.handling_merge_gap_s, t_close)
            events += [_event("phone_handling", r, 1 / fs, o.handling_gyro_rad_s) for r in closed
                       if r.n / fs >= o.handling_min_duration_s]
        # horizontal acceleration as a complex number
        accd = dyn[:, :3] - grav
        e1 = _unit(state.ref[None, :] - (up @ state.ref)[:, None] * up)
        e2 = np.cross(up, e1)
        ah = np.einsum("ij,ij->i", accd, e1) + 1j * np.einsum("ij,ij->i", accd, e2)
        if o.input_frame == "earth":
            # Small yaw rates are gyro bias, not turns: integrating them would turn the frame by
            # tens of degrees over minutes of straight driving.
            psi = state.psi_rad + np.cumsum(np.where(np.abs(omega) > o.yaw_deadband_rad_s, omega, 0.0)) / fs
            state.psi_rad = float(psi[-1])
            ah = ah * np.exp(-1j * psi)
        v_known = gps_v[pos:pos + len(t_seg)]
        state.gps_seen = state.gps_seen or bool(np.any(np.isfinite(v_known)))
        if state.gps_seen:
            v_use = np.where(np.isfinite(v_known), v_known, o.assumed_speed_mps)
            z = gps_dv[pos:pos + len(t_seg)] + 1j * v_use * omega
            S, _ = lfilter([1.0], [1.0, -lam], ah * np.conj(z) / fs, zi=[lam * state.axis_sum])
            W, _ = lfilter([1.0], [1.0, -lam], np.abs(z) ** 2 / fs, zi=[lam * state.axis_w])
            A, _ = lfilter([1.0], [1.0, -lam], np.abs(ah) ** 2 / fs, zi=[lam * state.axis_a])
            state.axis_sum, state.axis_w, state.axis_a = complex(S[-1]), float(W[-1]), float(A[-1])
            axis_ok = np.abs(S) >= o.axis_min_evidence_m2_s3
            coh = np.abs(S) / np.maximum(np.sqrt(W * A), 1e-12)
            veh = ah * np.exp(-1j * np.angle(S))
            kinds = (("harsh_braking", -veh.real, o.braking_mps2, axis_ok),
                     ("harsh_acceleration", veh.real, o.acceleration_mps2, axis_ok),
                     ("harsh_cornering", np.abs(veh.imag), o.cornering_mps2, axis_ok))
        else:  # no GPS speed in this drive: principal axis of straight driving (sdk.driving.axis)
            seen0 = state.axis_nogps.seen_s
            fwd, state.axis_nogps = forward_angle(ah, omega, state.axis_nogps, fs, o)
            settled = seen0 + np.arange(len(t_seg)) / fs >= o.settle_s
            turning = np.abs(omega) >= o.turn_yaw_rad_s
            lon = (ah * np.exp(-1j * np.nan_to_num(fwd))).real
            lon_ok = np.isfinite(fwd) & ~turning & settled
            coh = np.ones(len(t_seg))
            kinds = (("harsh_braking", -lon, o.braking_mps2, lon_ok),
                     ("harsh_acceleration", lon, o.acceleration_mps2, lon_ok),
                     ("harsh_cornering", np.abs(ah), o.cornering_mps2, turning & settled))
        # suppression after handling (causal: time since the last above-threshold handling sample)
        last_h = np.where(hand_above, t_seg, -np.inf)
        last_h = np.maximum.accumulate(np.concatenate([[state.last_handling_t], last_h]))[1:]
        state.last_handling_t = float(last_h[-1])
        valid = t_seg - last_h > o.handling_settle_s
        for imp in state.recent_impacts:  # an impact moves the phone (a drop) or ends the drive (a crash)
            valid &= ~((t_seg >= imp) & (t_seg <= imp + _IMPACT_S + o.handling_settle_s))
        for kind, val, thr, ok in kinds:
            closed, state.runs[kind] = _scan(state.runs[kind], t_seg, val, valid & ok & (val > thr), o.harsh_merge_gap_s,
                                             t_end, aux=coh)
            events += [_event(kind, r, 1 / fs, thr) for r in closed if r.n / fs >= o.harsh_min_duration_s - 1e-9]
        state.last_k = int(k[pos + len(t_seg) - 1])
        pos += len(t_seg)
        if action == "handling":
            _after_handling(state)
        elif action == "ref":
            state.ref = e1[-1]
        elif action is not None:  # impact: the phone may now lie in another orientation
            state.impacts_to_reset.remove(action[1])
            _after_handling(state)


def _after_handling(state: DrivingState) -> None:
    """The phone was moved: restart gravity from the current low-passed acc; relearn the forward axis."""
    state.zg = filter_init(state.sos_g, state.last_dyn_acc)
    if state.options.input_frame == "device":
        state.axis_sum, state.axis_w, state.axis_a = 0j, 0.0, 0.0
        state.axis_nogps = AxisState(seen_s=state.axis_nogps.seen_s, relearn=True)


# ------------------------------------------------------------------------------------------------ API


def detect_driving_events(
    t: np.ndarray,
    acc: np.ndarray,
    gyro: Optional[np.ndarray],
    gps_t: np.ndarray,
    gps_speed_mps: np.ndarray,
    gps_heading_rad: np.ndarray,
    state: DrivingState,
) -> tuple[list[DrivingEvent], DrivingState]:
    """Push one chunk of a car segment; return the events completed in it.

    Parameters
    ----------
    t : ndarray, shape ``(N,)``
        IMU sample times, seconds, strictly increasing and after the previous chunk's.
    acc : ndarray, shape ``(N, 3)``
        Accelerometer with gravity, m/s², phone axes (or earth axes with ``input_frame="earth"``).
        Any rate ≥ 25 Hz; crash peaks are read on these raw samples.
    gyro : ndarray, shape ``(N, 3)``, or None
        Angular rate, rad/s, same times. None: yaw rate from GPS heading, no phone-handling events.
        Must be given in every chunk or in none.
    gps_t : ndarray, shape ``(M,)``
        GPS fix times, seconds, strictly increasing (may be empty).
    gps_speed_mps : ndarray, shape ``(M,)``
        Ground speed, m/s; NaN when unknown.
    gps_heading_rad : ndarray, shape ``(M,)``
        Course over ground, rad clockwise from north; NaN when unknown.
    state : DrivingState
        From :func:`driving_init` or the previous call. Not modified.

    Returns
    -------
    events : list of DrivingEvent
        Events that ended in this chunk, sorted by time. Harsh events close ``harsh_merge_gap_s``
        after they end, crashes ``crash_stop_window_s`` after the impact.
    state : DrivingState
        Pass it to the next call; finish with :func:`flush_driving_events`.

    Notes
    -----
    Stream == batch when each chunk holds the IMU samples and GPS fixes of the same time span
    (a GPS fix is only used for IMU samples at or after it).
    """
    if not isinstance(state, DrivingState):
        raise InputError(f"state must be a DrivingState from driving_init(), got {type(state).__name__}")
    t = _as_array(t, "t", 1)
    acc = _as_array(acc, "acc", 2)
    if len(acc) != len(t):
        raise InputError(f"acc has {len(acc)} samples but t has {len(t)}; each sample needs one timestamp")
    if gyro is not None:
        gyro = _as_array(gyro, "gyro", 2)
        if len(gyro) != len(t):
            raise InputError(f"gyro has {len(gyro)} samples but t has {len(t)}; gyro shares the IMU timestamps")
    gps_t = _as_array(gps_t, "gps_t", 1)
    gps_v = _as_array(gps_speed_mps, "gps_speed_mps", 1)
    gps_h = _as_array(gps_heading_rad, "gps_heading_rad", 1)
    if not len(gps_t) == len(gps_v) == len(gps_h):
        raise InputError(f"gps_t, gps_speed_mps, gps_heading_rad must have the same length, got "
                         f"{len(gps_t)}, {len(gps_v)}, {len(gps_h)}")
    _check_times(t, state.last_t, "t")
    _check_times(gps_t, state.last_gps_t, "gps_t")
    if np.any(gps_v < 0):
        i = int(np.flatnonzero(gps_v < 0)[0])
        raise InputError(f"gps_speed_mps must be >= 0 (NaN when unknown), got {gps_v[i]!r} at index {i}")
    if not np.all(np.isfinite(acc)):
        i = int(np.flatnonzero(~np.isfinite(acc).all(axis=1))[0])
        raise InputError(f"acc must be finite, got {acc[i].tolist()} at index {i}")
    if len(t) and state.has_gyro is not None and state.has_gyro != (gyro is not None):
        raise InputError("gyro must be given in every chunk or in none (this chunk differs from the previous)")

    state = copy.deepcopy(state)
    events: list[DrivingEvent] = []
    _ingest_gps(state, gps_t, gps_v, gps_h, events)
    if len(t):
        state.has_gyro = gyro is not None
        _touch(state, float(t[0]), float(t[-1]))
        _ingest_raw(state, t, acc)
        # vehicle dynamics never reach 3 g: limit impacts so they do not ring through the filters
        norm = np.linalg.norm(acc, axis=1, keepdims=True)
        acc = acc * np.minimum(1.0, _DYNAMICS_LIMIT_MPS2 / np.maximum(norm, 1e-9))
        ra, state.acc_rs = resample(t, acc, state.acc_rs, impossible_abs=ACC_IMPOSSIBLE_MPS2, name="acc")
        if gyro is not None:
            rg, state.gyro_rs = resample(t, gyro, state.gyro_rs, impossible_abs=GYRO_IMPOSSIBLE_RAD_S, name="gyro")
            common, ia, ig = np.intersect1d(ra.k, rg.k, assume_unique=True, return_indices=True)
            k, a, g = common, ra.x[ia], rg.x[ig]
        else:
            k, a, g = ra.k, ra.x, None
        if len(k):
            _process_grid(state, k, a, g, events)
        state.last_t = float(t[-1])
    data_t = max(x for x in (state.last_t, state.last_gps_t, -math.inf) if x is not None)
    events += _resolve_impacts(state, data_t, final=False)
    _trim_gps(state)
    events.sort(key=lambda e: (e.t, e.kind))
    return events, state


def flush_driving_events(state: DrivingState) -> tuple[list[DrivingEvent], DrivingState]:
    """End of the segment: close open stretches and resolve pending impacts.

    Returns
    -------
    events : list of DrivingEvent
        Sorted by time.
    state : DrivingState
        Runs closed; pass it to :func:`sdk.driving.score.score_drive` (distance, start, end).
    """
    if not isinstance(state, DrivingState):
        raise InputError(f"state must be a DrivingState from driving_init(), got {type(state).__name__}")
    state = copy.deepcopy(state)
    o = state.options
    fs = o.fs_hz
    events: list[DrivingEvent] = []
    for kind in (*_HARSH, "phone_handling", "speeding"):
        r = state.runs[kind]
        if not r.active:
            continue
        state.runs[kind] = RunState()
        if kind == "speeding":
            if r.n >= o.speeding_min_duration_s:
                events.append(_event(kind, r, 1.0, max(o.speeding_margin_mps, 1.0)))
        elif kind == "phone_handling":
            if r.n / fs >= o.handling_min_duration_s:
                events.append(_event(kind, r, 1 / fs, o.handling_gyro_rad_s))
        else:
            thr = {"harsh_braking": o.braking_mps2, "harsh_acceleration": o.acceleration_mps2,
                   "harsh_cornering": o.cornering_mps2}[kind]
            if r.n / fs >= o.harsh_min_duration_s - 1e-9:
                events.append(_event(kind, r, 1 / fs, thr))
    events += _resolve_impacts(state, None, final=True)
    events.sort(key=lambda e: (e.t, e.kind))
    return events, state
