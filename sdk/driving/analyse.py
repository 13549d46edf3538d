"""Batch entry point :func:`analyse_drive` (one chunk through the streaming stage, then the flush)."""

from __future__ import annotations

from typing import Optional

import numpy as np

from momentsense.sdk.driving.detect import detect_driving_events, driving_init, flush_driving_events
from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.driving.score import score_drive
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore


def analyse_drive(
    t: np.ndarray,
    acc: np.ndarray,
    gyro: Optional[np.ndarray],
    gps_t: np.ndarray,
    gps_speed_mps: np.ndarray,
    gps_heading_rad: np.ndarray,
    options: Optional[DrivingOptions] = None,
) -> tuple[list[DrivingEvent], DrivingScore]:
    """Driving events and score of one car segment.

    Parameters
    ----------
    t : ndarray, shape ``(N,)``
        IMU sample times, unix seconds, strictly increasing.
    acc : ndarray, shape ``(N, 3)``
        Accelerometer with gravity, m/s² (phone axes; earth axes with ``input_frame="earth"``).
    gyro : ndarray, shape ``(N, 3)``, or None
        Angular rate, rad/s, same times; None: yaw rate from GPS heading, no phone handling.
    gps_t : ndarray, shape ``(M,)``
        GPS fix times, unix seconds, strictly increasing (may be empty).
    gps_speed_mps : ndarray, shape ``(M,)``
        Ground speed, m/s (NaN unknown).
    gps_heading_rad : ndarray, shape ``(M,)``
        Course over ground, rad clockwise from north (NaN unknown).
    options : DrivingOptions, optional

    Returns
    -------
    events : list of DrivingEvent
        Sorted by time; empty when nothing happened.
    score : DrivingScore
        See :func:`sdk.driving.score.score_drive`. Start/end are the first/last time seen (0 if none).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 60, 0.04)
    >>> acc = np.tile([0.0, 0.0, 9.81], (len(t), 1))
    >>> events, score = analyse_drive(t, acc, np.zeros_like(acc), np.arange(60.0), np.zeros(60), np.full(60, np.nan))
    >>> events, score.score
    ([], 100.0)
    """
    state = driving_init(options)
    events, state = detect_driving_events(t, acc, gyro, gps_t, gps_speed_mps, gps_heading_rad, state)
    more, state = flush_driving_events(state)
    events = sorted(events + more, key=lambda e: (e.t, e.kind))
    start = state.trip_start if state.trip_start is not None else 0.0
    end = state.trip_end if state.trip_end is not None else 0.0
    return events, score_drive(events, state.distance_m, start, end, state.options)
