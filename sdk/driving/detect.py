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
   causally with exponential forgetting (``axis_memory_s``). The lateral term also fixes the sign
   (forward vs backward) without GPS, from the turns alone (``v`` then ``assumed_speed_mps``).
   No harsh event is reported until ``|S|`` reaches ``axis_min_evidence_m2_s3``.
3. ``lon + i·lat = a_h·e^{−iθ}``. In ``input_frame="earth"`` (data already rotated into an
   earth-fixed frame) the car's heading changes in that frame, so ``a_h`` is first de-rotated by the
   integrated yaw ``ψ = ∫ω dt`` (gyro bias makes ψ drift; the forgetting absorbs slow drift).

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
import dataclasses
import math
from typing import Optional

import numpy as np

from sdk.driving.options import DrivingOptions
from sdk.dsp.filters import design_lowpass, filter_chunk, filter_init
from sdk.dsp.resample import ResamplerState, resample, resampler_init
from sdk.dsp.validate import ACC_IMPOSSIBLE_MPS2, GYRO_IMPOSSIBLE_RAD_S
from sdk.errors import InputError
from sdk.timeline.records import DrivingEvent

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


# --------------------------------------------------------------------------------------------- input


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


# ---------------------------------------------------------------------------------------------- runs


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


# ----------------------------------------------------------------------------------------------- gps


def _gps_at(state: DrivingState, tq: np.ndarray, omega_needed: bool):
    """Held GPS speed, dv/dt and (optionally) heading-derived yaw rate at times ``tq``.

    Only fixes at or before each time are used (causal). Unknown speed is NaN; unknown dv/dt 0.
    """
    o = state.options
    gt, gv, gh = state.gps_t, state.gps_v, state.gps_h
    n = len(tq)
    v = np.full(n, np.nan)
    dvdt = np.zeros(n)
    omega = np.zeros(n)
    if len(gt) == 0 or n == 0:
        return v, dvdt, omega
    j = np.searchsorted(gt, tq, side="right") - 1
    ok = (j >= 0) & (tq - gt[np.maximum(j, 0)] <= o.gps_max_age_s)
    jj = np.maximum(j, 0)
    v[ok] = gv[jj[ok]]
    # per-fix derivatives
    dt = np.diff(gt)
    good = dt <= o.gps_max_age_s
    fix_dv = np.zeros(len(gt))
    fix_dv[1:] = np.where(good & np.isfinite(gv[1:]) & np.isfinite(gv[:-1]), np.diff(gv) / np.where(dt > 0, dt, 1), 0.0)
    dvdt[ok] = fix_dv[jj[ok]]
    if omega_needed:
        dh = (np.diff(gh) + np.pi) % (2 * np.pi) - np.pi
        fast = (gv[1:] > _GPS_MIN_SPEED_FOR_HEADING_MPS) & (gv[:-1] > _GPS_MIN_SPEED_FOR_HEADING_MPS)
        fix_om = np.zeros(len(gt))
        # compass heading is clockwise from north; yaw about "up" is counter-clockwise
        fix_om[1:] = np.where(good & fast & np.isfinite(dh), -dh / np.where(dt > 0, dt, 1), 0.0)
        omega[ok] = fix_om[jj[ok]]
    return v, np.nan_to_num(dvdt), np.nan_to_num(omega)


def _ingest_gps(state: DrivingState, gps_t, gps_v, gps_h, events: list) -> None:
    o = state.options
    if len(gps_t) == 0:
        return
    # distance: trapezoid between consecutive fixes with known speed, not across long holes
    T = np.concatenate([state.gps_t[-1:], gps_t])
    V = np.concatenate([state.gps_v[-1:], gps_v])
    dt = np.diff(T)
    vv = 0.5 * (V[1:] + V[:-1])
    use = (dt <= 10.0) & np.isfinite(vv)
    state.distance_m += float(np.sum(np.where(use, vv * dt, 0.0)))
    state.gps_t = np.concatenate([state.gps_t, gps_t])
    state.gps_v = np.concatenate([state.gps_v, gps_v])
    state.gps_h = np.concatenate([state.gps_h, gps_h])
    state.last_gps_t = float(gps_t[-1])
    _touch(state, float(gps_t[0]), float(gps_t[-1]))
    if o.speed_limit_mps is not None:
        over = np.nan_to_num(gps_v - o.speed_limit_mps, nan=-np.inf)
        closed, state.runs["speeding"] = _scan(state.runs["speeding"], gps_t, over, over > o.speeding_margin_mps,
                                               3.0, float(gps_t[-1]))
        events += [_event("speeding", r, 1.0, max(o.speeding_margin_mps, 1.0)) for r in closed
                   if r.n * 1.0 >= o.speeding_min_duration_s]


def _touch(state: DrivingState, t0: float, t1: float) -> None:
    state.trip_start = t0 if state.trip_start is None else min(state.trip_start, t0)
    state.trip_end = t1 if state.trip_end is None else max(state.trip_end, t1)


# ------------------------------------------------------------------------------------------- crashes


def _ingest_raw(state: DrivingState, t: np.ndarray, acc: np.ndarray) -> None:
    """Find impacts and the free fall before them on the raw samples (no resampling: keep the peak)."""
    o = state.options
    norm = np.linalg.norm(acc, axis=1)
    T = np.concatenate([state.tail_t, t])
    N = np.concatenate([state.tail_n, norm])
    first_new = len(state.tail_t)
    low = N < o.freefall_mps2
    ff_ends, ff_durs = [], []
    if low.any():
        edges = np.diff(np.concatenate([[0], low.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for s, e in zip(starts, stops):
            if e == len(N) - 1:
                continue  # still falling
            ff_ends.append(T[e])
            ff_durs.append(T[e] - T[s - 1] if s > 0 else T[e] - T[s])
    ff_ends, ff_durs = np.asarray(ff_ends), np.asarray(ff_durs)
    for i in np.flatnonzero(N[first_new:] >= o.crash_peak_mps2) + first_new:
        ti, pk = float(T[i]), float(N[i])
        p = state.pending_impacts[-1] if state.pending_impacts else None
        if p is not None and ti - p[2] <= o.crash_merge_s:
            if pk > p[1]:
                p[1], p[4] = pk, ti
            p[2] = ti
            continue
        state.impacts_to_reset.append(ti)
        state.recent_impacts.append(ti)
        ff = bool(np.any((ff_durs >= o.freefall_min_s - 1e-9) & (ff_ends <= ti) & (ff_ends >= ti - o.freefall_window_s)))
        state.pending_impacts.append([ti, pk, ti, ff, ti])  # first t, peak, last t, free fall, peak t
    keep = T >= T[-1] - _RAW_TAIL_S if len(T) else np.zeros(0, bool)
    state.tail_t, state.tail_n = T[keep], N[keep]


def _resolve_impacts(state: DrivingState, data_t: Optional[float], final: bool) -> list[DrivingEvent]:
    o = state.options
    out, still = [], []
    for p in state.pending_impacts:
        t0, peak, t_last, ff, t_peak = p
        if not final and (data_t is None or data_t < t0 + o.crash_stop_window_s):
            still.append(p)
            continue
        gt, gv = state.gps_t, state.gps_v
        pre = gv[(gt >= t0 - o.crash_pre_window_s) & (gt <= t0) & np.isfinite(gv)]
        post = gv[(gt > t0) & (gt <= t0 + o.crash_stop_window_s) & np.isfinite(gv)]
        if ff or len(pre) == 0 or len(post) == 0:
            continue
        v_pre, v_post = float(pre.max()), float(post.min())
        if v_pre >= o.crash_min_speed_mps and v_post <= o.crash_stop_speed_mps:
            conf = 0.5 + 0.25 * min(1.0, peak / o.crash_peak_mps2 - 1.0) + 0.25 * min(
                1.0, (v_pre - o.crash_min_speed_mps) / o.crash_min_speed_mps)
            out.append(DrivingEvent(t=t_peak, kind="crash", magnitude=peak, duration_s=t_last - t0,
                                    confidence=round(conf, 4)))
    state.pending_impacts = still
    return out


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
            psi = state.psi_rad + np.cumsum(omega) / fs
            state.psi_rad = float(psi[-1])
            ah = ah * np.exp(-1j * psi)
        v_known = gps_v[pos:pos + len(t_seg)]
        v_use = np.where(np.isfinite(v_known), v_known, o.assumed_speed_mps)
        z = gps_dv[pos:pos + len(t_seg)] + 1j * v_use * omega
        S, _ = lfilter([1.0], [1.0, -lam], ah * np.conj(z) / fs, zi=[lam * state.axis_sum])
        W, _ = lfilter([1.0], [1.0, -lam], np.abs(z) ** 2 / fs, zi=[lam * state.axis_w])
        A, _ = lfilter([1.0], [1.0, -lam], np.abs(ah) ** 2 / fs, zi=[lam * state.axis_a])
        state.axis_sum, state.axis_w, state.axis_a = complex(S[-1]), float(W[-1]), float(A[-1])
        axis_ok = np.abs(S) >= o.axis_min_evidence_m2_s3
        coh = np.abs(S) / np.maximum(np.sqrt(W * A), 1e-12)
        veh = ah * np.exp(-1j * np.angle(S))
        lon, lat = veh.real, veh.imag
        # suppression after handling (causal: time since the last above-threshold handling sample)
        last_h = np.where(hand_above, t_seg, -np.inf)
        last_h = np.maximum.accumulate(np.concatenate([[state.last_handling_t], last_h]))[1:]
        state.last_handling_t = float(last_h[-1])
        valid = axis_ok & (t_seg - last_h > o.handling_settle_s)
        for imp in state.recent_impacts:  # an impact moves the phone (a drop) or ends the drive (a crash)
            valid &= ~((t_seg >= imp) & (t_seg <= imp + _IMPACT_S + o.handling_settle_s))
        for kind, val, thr in (("harsh_braking", -lon, o.braking_mps2), ("harsh_acceleration", lon, o.acceleration_mps2),
                               ("harsh_cornering", np.abs(lat), o.cornering_mps2)):
            closed, state.runs[kind] = _scan(state.runs[kind], t_seg, val, valid & (val > thr), o.harsh_merge_gap_s,
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


def _trim_gps(state: DrivingState) -> None:
    if state.last_t is not None:
        horizon = state.last_t - _IMPACT_S - state.options.handling_settle_s - 1.0
        state.recent_impacts = [x for x in state.recent_impacts if x >= horizon]
    if len(state.gps_t) <= 2:
        return
    keep_from = state.gps_t[-1] - _GPS_KEEP_S
    if state.pending_impacts:
        keep_from = min(keep_from, min(p[0] for p in state.pending_impacts) - state.options.crash_pre_window_s - 1.0)
    keep = state.gps_t >= keep_from
    keep[-2:] = True
    state.gps_t, state.gps_v, state.gps_h = state.gps_t[keep], state.gps_v[keep], state.gps_h[keep]


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
