"""Context-aware timing for app notifications (the medication-reminder case).

:func:`is_good_moment` says no while the person is driving or in transit; :func:`best_time_to_notify`
prefers the minutes before a predicted departure ("leaving home for work in about 10 minutes"),
else the start of the window when the person is staying somewhere, else the predicted arrival.
"""

from __future__ import annotations

from typing import Optional

from sdk.errors import InputError
from sdk.moments.predictor import NextEventPredictor
from sdk.timeline_file import PLACE_CATEGORIES

#: Modes during which the person must not be disturbed.
BUSY_MODES = frozenset({"car", "bus", "train", "subway", "bike", "run"})
#: How long before a predicted departure a notification is suggested, seconds.
LEAD_S = 600.0


def is_good_moment(predictor: NextEventPredictor) -> bool:
    """False while the latest event is driving, riding, running or in transit; True otherwise."""
    cur = predictor.current()
    return cur is not None and cur[1] not in BUSY_MODES


def best_time_to_notify(predictor: NextEventPredictor, window_start: float, window_end: float, lead_s: float = LEAD_S) -> Optional[float]:
    """Suggested unix time in ``[window_start, window_end]``, or None when none is good.

    Parameters
    ----------
    predictor : NextEventPredictor
        Holds the user's history up to now (``window_start``).
    window_start, window_end : float
        Unix seconds, ``window_end >= window_start``.
    lead_s : float
        Seconds before a predicted departure.

    Notes
    -----
    At a visit: ``lead_s`` before the predicted departure if that lies in the window, else the
    window start. In transit: the predicted arrival (end of the current trip) if within the window.
    """
    if not window_end >= window_start:
        raise InputError(f"window_end must be >= window_start, got {window_start!r} .. {window_end!r}")
    cur = predictor.current()
    if cur is None:
        return float(window_start)
    pred = predictor.predict()
    if cur[1] in PLACE_CATEGORIES:
        t = pred.next_start - lead_s
        if window_start <= t <= window_end:
            return float(t)
        if pred.next_start <= window_start or pred.next_start > window_end:
            return float(window_start)
        return float(window_start)
    if cur[1] not in BUSY_MODES:
        return float(window_start)
    arrive = max(pred.next_start, window_start)
    return float(arrive) + 60.0 if arrive + 60.0 <= window_end else None
