"""GPS speed/heading bookkeeping and raw-sample impact (crash) resolution for :mod:`sdk.driving.detect`."""

from __future__ import annotations

from typing import Optional

import numpy as np

from momentsense.sdk.driving.state import (
    _GPS_KEEP_S,
    _GPS_MIN_SPEED_FOR_HEADING_MPS,
    _IMPACT_S,
    _RAW_TAIL_S,
    DrivingState,
    _event,
    _scan,
)
from momentsense.sdk.timeline.records import DrivingEvent


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
