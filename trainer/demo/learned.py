"""What the SDK learned over the simulated days: per-day timelines, places, moments, segments, driving.

Everything here reads the SDK's own outputs (its timeline store, places, transport events and
driving records); the simulator's truth is only used in :mod:`trainer.demo.score`.
"""

from __future__ import annotations

import dataclasses
import datetime
import math

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.insights import in_visits, place_category
from momentsense.sdk.insights import timeline_events as _timeline_events
from momentsense.sdk.runtime import MomentSDK
from momentsense.sdk.sync.payload import MomentSpan

DAY_S = 86400.0


@dataclasses.dataclass
class Learned:
    """The SDK's view of the simulated days (JSON-ready parts in ``days``, ``places``, ``segments``...).

    Attributes:
        days: One dict per day: date, minutes per detected mode (all transport events, and only those
            outside visits), visits (place, label, hh:mm), trips (modes, km, moment), driving scores.
        places: Places with label, confidence, visits and dwell hours.
        moments: :class:`MomentSpan` per detected trip (start/end unix s), assigned after the trip
            (its detected origin and destination are known): what the day payload carries.
        live_moments: The moments as the app sees them during the trip (the destination predicted by
            the next-event model).
        segments: Rule segments (fired, evidence, sentence), embedding segments, or why unavailable.
        timeline_events: The local timeline as :class:`~sdk.io.timeline_file.Event` records.
    """

    days: list
    places: list
    moments: list
    live_moments: list
    segments: dict
    timeline_events: list
    day_timelines: list


def _hhmm(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%a %H:%M")


def timeline_events(sdk: MomentSDK, t0: float, t1: float) -> tuple:
    """The person's timeline between ``t0`` and ``t1`` (see :func:`sdk.insights.timeline_events`) and
    how many transport events were dropped as lying inside a GPS stay."""
    return _timeline_events(sdk.places(), sdk.store.visits(t0, t1), sdk.events())


def assign_moments(events: list, trips: list) -> list:
    """Moments of the detected trips: the local timeline goes token by token into the shipped
    next-event model (:class:`sdk.moments.Moments`); at the first transport event of each trip the
    current moment is read. Returns :class:`MomentSpan` per trip that got one."""
    from momentsense.sdk.moments import Moments

    m = Moments.create_from_path()
    spans, done = [], set()
    for e in events:
        m.push(e.start, e.label)
        if e.kind != "transport":
            continue
        trip = next((i for i, t in enumerate(trips) if t.start - 60.0 <= e.start <= t.end), None)
        if trip is None or trip in done:
            continue
        moment = m.current_moment()
        if moment:
            done.add(trip)
            spans.append(MomentSpan(trips[trip].start, trips[trip].end, moment))
    return spans


def retrospective_moments(trips: list, label: dict) -> list:
    """Moments of finished trips from their detected origin and destination labels and main mode
    (:func:`sdk.moments.assign_moment` with the known destination instead of a prediction)."""
    from momentsense.sdk.moments import assign_moment

    out = []
    for t in trips:
        modes = [m for m in t.modes if m != "walk"] or list(t.modes)
        if not modes:
            continue
        origin = place_category(label.get(t.origin_place_id, "other"))
        dest = place_category(label.get(t.destination_place_id, "other"))
        out.append(MomentSpan(t.start, t.end, assign_moment(modes[0], t.start, origin, [dest])))
    return out


def compute_segments_report(events: list, driving_scores: list) -> dict:
    """Rule segments with evidence (needs >= 7 days) and, if the shipped encoder loads, embedding segments."""
    from momentsense.sdk.segments import SegmentHeads, TimelineEncoder, UserEvents, evaluate_rules

    out: dict = {"rules": [], "embedding": [], "unavailable": None}
    try:
        ev = UserEvents.from_events(events)
        rules = evaluate_rules(ev, driving_scores=[s.score for s in driving_scores] or None)
    except InputError as exc:
        out["unavailable"] = str(exc)
        return out
    out["rules"] = [{"segment": s.segment, "active": bool(s.active), "available": bool(s.available),
                     "evidence": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.evidence.items()},
                     "sentence": s.sentence} for s in rules.segments]  # fmt: skip
    try:
        from momentsense.edge_models import artifact_dir

        enc = TimelineEncoder.create_from_path(artifact_dir() / "timeline_encoder.tflite")
        heads = SegmentHeads.create_from_path(artifact_dir() / "segment_classifiers.json")
        segs = heads.classify_embedding(enc.embed_user(ev), enc.version)
        out["embedding"] = [{"segment": s.segment, "probability": round(float(s.probability), 3), "active": bool(s.active)}
                            for s in segs]  # fmt: skip
    except (ModelError, InputError, OSError, ValueError) as exc:
        out["embedding_unavailable"] = f"{type(exc).__name__}: {exc}"
    return out


def learn(sdk: MomentSDK, t0: float, t_end: float, day0: float) -> Learned:
    """Read everything the SDK learned between ``t0`` and ``t_end`` (unix s, local = UTC), with one
    timeline per day from ``day0`` (unix s of a midnight) to ``t_end``."""
    places = sdk.places()
    label = {p.place_id: p.label for p in places}
    events, dropped = timeline_events(sdk, t0, t_end)
    visits = sdk.store.visits(t0, t_end)
    all_trips = sdk.store.trips(t0, t_end)
    live = assign_moments(events, all_trips)
    moments = retrospective_moments(all_trips, label)
    moment_at = {round(m.start, 3): m.moment for m in moments}
    live_at = {round(m.start, 3): m.moment for m in live}
    days, tls = [], []
    n_days = max(1, math.ceil((t_end - day0) / DAY_S - 1e-6))
    scores_all = []
    for d in range(n_days):
        a = day0 + d * DAY_S
        day = datetime.datetime.fromtimestamp(a, datetime.UTC).date()
        tl = sdk.timeline(day)
        tls.append(tl)
        minutes: dict = {}
        on_trips: dict = {}
        for e in tl.events:
            s = max(0.0, min(e.end, a + DAY_S) - max(e.start, a))
            minutes[e.mode] = minutes.get(e.mode, 0.0) + s / 60.0
            if e.mode != "still" and s > 0:  # the part of the event outside visits
                out = 1.0 - in_visits(max(e.start, a), min(e.end, a + DAY_S), visits)
                on_trips[e.mode] = on_trips.get(e.mode, 0.0) + out * s / 60.0
        scores = [s for s in tl.driving_scores if a <= s.trip_start < a + DAY_S]
        scores_all += scores
        days.append({
            "date": day.isoformat(), "weekday": day.strftime("%A"),
            "minutes_per_mode": {k: round(v, 1) for k, v in sorted(minutes.items(), key=lambda kv: -kv[1])},
            "minutes_per_mode_on_trips": {k: round(v, 1) for k, v in sorted(on_trips.items(), key=lambda kv: -kv[1]) if v >= 0.05},
            "visits": [{"place": v.place_id, "label": label.get(v.place_id, "other"), "start": _hhmm(v.start),
                        "end": _hhmm(v.end), "minutes": round((v.end - v.start) / 60.0)} for v in tl.visits],
            "trips": [{"from": label.get(t.origin_place_id, "?"), "to": label.get(t.destination_place_id, "?"),
                       "start": _hhmm(t.start), "minutes": round((t.end - t.start) / 60.0), "modes": list(t.modes),
                       "km": round(t.distance_m / 1000.0, 2), "moment": moment_at.get(round(t.start, 3)),
                       "moment_live": live_at.get(round(t.start, 3))}
                      for t in tl.trips if a <= t.start < a + DAY_S],
            "driving_scores": [{"start": _hhmm(s.trip_start), "minutes": round((s.trip_end - s.trip_start) / 60.0, 1),
                                "km": round(s.distance_m / 1000.0, 2), "score": round(s.score, 1),
                                "events": {k: v for k, v in (s.counts or {}).items() if v},
                                "during_visit": in_visits(s.trip_start, s.trip_end, visits) > 0.5} for s in scores],
        })  # fmt: skip
    # Drives that happened while GPS says the person stayed at a place are not drives either.
    real = [x for x in scores_all if in_visits(x.trip_start, x.trip_end, visits) <= 0.5]
    segments = compute_segments_report(events, real)
    segments["transport_events_inside_visits_dropped"] = dropped
    segments["drives_inside_visits_dropped"] = len(scores_all) - len(real)
    return Learned(
        days=days,
        places=[{"place": p.place_id, "label": p.label, "confidence": round(p.label_confidence, 2), "lat": round(p.lat, 5),
                 "lon": round(p.lon, 5), "visits": p.n_visits, "dwell_h": round(p.total_dwell_s / 3600.0, 1)} for p in places],
        moments=moments, live_moments=live, segments=segments, timeline_events=events, day_timelines=tls,
    )  # fmt: skip
