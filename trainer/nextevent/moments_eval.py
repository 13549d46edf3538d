"""Evaluate moment assignment and notification timing on simulated held-out users (SDK runtime)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from momentsense.sdk.moments import BUSY_MODES, Moments
from momentsense.sdk.io.timeline_file import LABELS, MOMENTS, Timeline

#: Seconds after a notification is deferred at arrival before it is shown (``deliver`` protocol).
ARRIVAL_GRACE_S = 60.0


def deliver(t: float, start: np.ndarray, end: np.ndarray, busy: np.ndarray, latency_s: float) -> tuple[float, bool]:
    """When a notification planned for ``t`` is shown under the SDK's two-stage protocol.

    The app plans with ``best_time_to_notify`` and, at the planned time, asks ``is_good_moment()``.
    The SDK only knows a trip ``latency_s`` seconds after it started (the transport detector needs a
    window or two), so within that time a trip still looks like the visit before it and the
    notification goes out. Later in the trip it is deferred to the next arrival (end of the chain
    of busy events) plus :data:`ARRIVAL_GRACE_S`.

    Returns ``(delivery_time, deferred)``.
    """
    j = int(np.searchsorted(start, t, side="right")) - 1
    if j < 0 or not (busy[j] and end[j] > t) or t - start[j] < latency_s:
        return float(t), False
    while j + 1 < len(start) and busy[j + 1]:
        j += 1
    return float(end[j]) + ARRIVAL_GRACE_S, True


def _in_busy(t: float, start: np.ndarray, end: np.ndarray, busy: np.ndarray) -> bool:
    j = int(np.searchsorted(start, t, side="right")) - 1
    return bool(j >= 0 and busy[j] and end[j] > t)


def evaluate_moments(tl: Timeline, tflite_path, users: Sequence[int], history_weeks: int = 3,
                     window_h=(7.0, 10.0), latencies_s: Sequence[float] = (0.0, 30.0, 60.0)) -> dict:
    """Per-moment precision/recall of :meth:`Moments.current_moment` and notify-timing statistics.

    Events are pushed as they start; moments are scored on transport events after ``history_weeks``.
    Each evaluated day, at ``window_h[0]`` o'clock (UTC) the app asks ``best_time_to_notify`` for the
    window up to ``window_h[1]``, with the events that started before then. We record whether the
    planned time falls inside a real busy transport event (the forecast alone), and whether the
    delivered time does after the ``is_good_moment`` gate (see :func:`deliver`) for each detection
    latency in ``latencies_s`` (seconds), and how many minutes before the next real departure the
    plan lies.
    """
    m = Moments.create_from_path(tflite_path)
    y_true, y_pred = [], []
    plan_busy, n_sugg, lead_min = 0, 0, []
    deliv = {float(lat): {"busy": 0, "deferred": 0} for lat in latencies_s}
    window_s = (window_h[1] - window_h[0]) * 3600.0
    for u in users:
        m = Moments(m.predictor)
        m.predictor.reset()
        s = tl.user_slice(u)
        start, end, kind, lab, mom = tl.start[s], tl.end[s], tl.kind[s], tl.label[s], tl.moment[s]
        t_eval = np.floor(start[0] / 86400.0) * 86400.0 + history_weeks * 7 * 86400.0
        busy = (kind == 1) & np.isin([LABELS[x] for x in lab], list(BUSY_MODES))
        next_window = t_eval + window_h[0] * 3600.0
        for i in range(len(start)):
            while next_window < start[i] and i > 0:  # ask at window start with the events known so far
                t = m.best_time_to_notify(next_window, next_window + window_s)
                if t is not None:
                    n_sugg += 1
                    plan_busy += _in_busy(t, start, end, busy)
                    for lat, acc in deliv.items():
                        td, deferred = deliver(t, start, end, busy, lat)
                        acc["deferred"] += deferred
                        acc["busy"] += _in_busy(td, start, end, busy)
                    dep = start[(kind == 1) & (start > t)]
                    if len(dep):
                        lead_min.append((dep[0] - t) / 60.0)
                next_window += 86400.0
            m.push(start[i], LABELS[lab[i]])
            if kind[i] == 1 and start[i] >= t_eval and mom[i] >= 0:
                y_true.append(MOMENTS[mom[i]])
                y_pred.append(m.current_moment())
    y_true, y_pred = np.array(y_true), np.array(y_pred)
    per = {}
    for name in MOMENTS:
        tp = int(np.sum((y_pred == name) & (y_true == name)))
        npred, ntrue = int(np.sum(y_pred == name)), int(np.sum(y_true == name))
        per[name] = {"precision": tp / npred if npred else float("nan"), "recall": tp / ntrue if ntrue else float("nan"),
                     "support": ntrue}
    lead = np.array(lead_min)
    frac = (lambda k: k / n_sugg if n_sugg else float("nan"))
    return {
        "n_users": len(users), "moments": per,
        "moment_accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
        "n_transport_events": int(len(y_true)), "notify_suggestions": n_sugg,
        "notify_planned_in_transit": frac(plan_busy),
        "notify_delivered_in_transit": {f"latency_{lat:g}s": frac(a["busy"]) for lat, a in deliv.items()},
        "notify_deferred_to_arrival": {f"latency_{lat:g}s": frac(a["deferred"]) for lat, a in deliv.items()},
        "notify_minutes_before_next_departure_median": float(np.median(lead)) if len(lead) else float("nan"),
        "notify_within_20_min_before_departure": float(np.mean(lead <= 20)) if len(lead) else float("nan"),
    }
