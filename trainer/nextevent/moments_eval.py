"""Evaluate moment assignment and notification timing on simulated held-out users (SDK runtime)."""

from __future__ import annotations

import numpy as np

from sdk.moments import BUSY_MODES, Moments
from sdk.timeline_file import KINDS, LABELS, MOMENTS, Timeline


def evaluate_moments(tl: Timeline, tflite_path, users, history_weeks: int = 3, window_h=(7.0, 10.0)) -> dict:
    """Per-moment precision/recall of :meth:`Moments.current_moment` and notify-timing statistics.

    Events are pushed as they start; moments are scored on transport events after ``history_weeks``.
    Each evaluated day, at ``window_h[0]`` o'clock the app asks ``best_time_to_notify`` for the window
    up to ``window_h[1]``; we record whether the suggestion falls inside a real busy transport event
    and how many minutes before the next real departure it lies.
    """
    m = Moments.create_from_path(tflite_path)
    y_true, y_pred = [], []
    in_busy, lead_min, n_sugg = 0, [], 0
    for u in users:
        m.predictor.reset()
        m.__init__(m.predictor)
        s = tl.user_slice(u)
        start, end, kind, lab, mom = tl.start[s], tl.end[s], tl.kind[s], tl.label[s], tl.moment[s]
        t_eval = start[0] - (start[0] % 604800) + history_weeks * 604800  # not exact week origin; fine for 00:00 UTC starts
        busy = (kind == 1) & np.isin([LABELS[x] for x in lab], list(BUSY_MODES))
        day0 = np.floor(start[0] / 86400) * 86400
        next_window = max(day0, np.floor(t_eval / 86400) * 86400) + window_h[0] * 3600
        for i in range(len(start)):
            while next_window < start[i] and i > 0:  # ask at window start with events known so far
                if next_window >= t_eval:
                    t = m.best_time_to_notify(next_window, next_window + (window_h[1] - window_h[0]) * 3600)
                    if t is not None:
                        n_sugg += 1
                        j = np.searchsorted(start, t, side="right") - 1
                        in_busy += bool(j >= 0 and busy[j] and end[j] > t)
                        dep = start[(kind == 1) & (start > t)]
                        if len(dep):
                            lead_min.append((dep[0] - t) / 60.0)
                next_window += 86400
            m.push(start[i], LABELS[lab[i]])
            if kind[i] == 1 and start[i] >= t_eval and mom[i] >= 0:
                y_true.append(MOMENTS[mom[i]])
                y_pred.append(m.current_moment())
    y_true, y_pred = np.array(y_true), np.array(y_pred)
    per = {}
    for name in MOMENTS:
        tp = int(np.sum((y_pred == name) & (y_true == name)))
        npred, ntrue = int(np.sum(y_pred == name)), int(np.sum(y_true == name))
        per[name] = {"precision": tp / npred if npred else float("nan"), "recall": tp / ntrue if ntrue else float("nan"), "support": ntrue}
    lead = np.array(lead_min)
    return {"moments": per, "moment_accuracy": float(np.mean(y_true == y_pred)) if len(y_true) else float("nan"),
            "n_transport_events": int(len(y_true)), "notify_suggestions": n_sugg,
            "notify_fraction_in_transit": in_busy / n_sugg if n_sugg else float("nan"),
            "notify_minutes_before_next_departure_median": float(np.median(lead)) if len(lead) else float("nan"),
            "notify_within_20_min_before_departure": float(np.mean(lead <= 20)) if len(lead) else float("nan"), "_": KINDS[0]}
