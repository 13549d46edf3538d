"""Context-aware timing for app notifications (the medication-reminder case).

The protocol has two stages, because a planned time is a forecast:

1. **Plan**: :func:`best_time_to_notify` picks a time in the app's window. At a place it prefers
   ``lead_s`` before the person's expected departure ("leaving home for work in about 10
   minutes"); in transit it waits for the arrival.
2. **Deliver**: at the planned time the app asks :func:`is_good_moment`. If the person has left
   early and is now driving or in transit, the app holds the notification until the SDK reports the
   next arrival (a visit event) and shows it then.

Measured with ``momentsense eval moments`` (README): no delivered notification falls inside a trip
once the transport detector has seen it; the forecast alone puts some plans inside trips.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.predictor import NextEventPredictor
from momentsense.sdk.io.timeline_file import PLACE_CATEGORIES

#: Modes during which the person must not be disturbed.
BUSY_MODES = frozenset({"car", "bus", "train", "subway", "bike", "run"})
#: How long before an expected departure a notification is suggested, seconds.
LEAD_S = 600.0
#: Past stays needed before the person's own habits are trusted over the LSTM's forecast.
MIN_HABIT_SAMPLES = 3
#: Percentile of the remaining stay used as the expected departure: an early one, so the plan lands
#: before the person leaves on most days (measured: the 25th percentile puts 33% of plans within 20
#: min before the real departure, the median 8% more plans inside trips; README).
DEPARTURE_PERCENTILE = 25.0
_DAY_S = 86400.0


def is_good_moment(predictor: NextEventPredictor) -> bool:
    """False while the latest event is driving, riding, running or in transit (or nothing is known yet)."""
    cur = predictor.current()
    return cur is not None and cur[1] not in BUSY_MODES


def expected_departure(predictor: NextEventPredictor, now: float) -> Optional[float]:
    """When the person will probably leave the current place, given they are still there at ``now``.

    Parameters
    ----------
    predictor : NextEventPredictor
        The user's history; its latest event must be a visit (a place category).
    now : float
        Unix seconds, at or after the start of the current visit.

    Returns
    -------
    float or None
        Unix seconds ``>= now``, or None when the person is not at a place.

    Notes
    -----
    The LSTM's time head predicts the wait from the *start* of the visit, not conditioned on
    having stayed until ``now``, so once ``now`` has passed it the forecast is stale. Here past
    stays at the same kind of place on the same kind of day (weekday or weekend, local time) that
    were under way at the same local time of day give the remaining time: the
    :data:`DEPARTURE_PERCENTILE` of their remaining durations. With fewer than
    :data:`MIN_HABIT_SAMPLES` such stays the LSTM's forecast is used if it still lies ahead, else None.
    """
    cur = predictor.current()
    if cur is None or cur[1] not in PLACE_CATEGORIES:
        return None
    start_cur, label = cur
    off = predictor.config.utc_offset_s
    local = now + off
    tod = local % _DAY_S
    weekend = int(local // _DAY_S + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    remaining = []
    for s, lab, e in predictor.history()[:-1]:
        if not np.isfinite(e) or lab != label:
            continue
        # The same local time of day on each day the past stay covered.
        d0, d1 = np.floor((s + off) / _DAY_S), np.floor((e + off) / _DAY_S)
        for d in np.arange(d0, d1 + 1):
            t_same = d * _DAY_S + tod - off
            if s <= t_same < e and (int(d + 3) % 7 >= 5) == weekend:
                remaining.append(e - t_same)
    if len(remaining) >= MIN_HABIT_SAMPLES:
        return float(now + np.percentile(remaining, DEPARTURE_PERCENTILE))
    nxt = predictor.predict().next_start
    return float(nxt) if nxt >= now else None


def best_time_to_notify(predictor: NextEventPredictor, window_start: float, window_end: float,
                        lead_s: float = LEAD_S) -> Optional[float]:
    """Planned unix time in ``[window_start, window_end]``, or None when none is good.

    Parameters
    ----------
    predictor : NextEventPredictor
        Holds the user's history up to now (``window_start``).
    window_start, window_end : float
        Unix seconds, ``window_end >= window_start``.
    lead_s : float
        Seconds before the expected departure.

    Notes
    -----
    At a place: ``lead_s`` before :func:`expected_departure` if that lies in the window; the window
    start if the departure is sooner than ``lead_s``; otherwise (no departure expected in the
    window) the window start. In transit: the predicted arrival plus a minute, if within the
    window. Before the first event: the window start. Deliver with the check in the module
    docstring.
    """
    if not window_end >= window_start:
        raise InputError(f"window_end must be >= window_start, got {window_start!r} .. {window_end!r}")
    cur = predictor.current()
    if cur is None:
        return float(window_start)
    if cur[1] in PLACE_CATEGORIES:
        dep = expected_departure(predictor, window_start)
        if dep is not None:
            t = dep - lead_s
            if window_start <= t <= window_end:
                return float(t)
        return float(window_start)
    if cur[1] not in BUSY_MODES:
        return float(window_start)
    arrive = max(predictor.predict().next_start, window_start)
    return float(arrive) + 60.0 if arrive + 60.0 <= window_end else None
