"""What the SDK can tell the person from their local timeline: moments, segments, driving.

The runtime detects events, places, trips and drives; this module reads them back from the local
store and turns them into the app-facing answers (:meth:`sdk.runtime.MomentSDK.moments`,
``segments()``, ``driving()``), each an :class:`Insight` with a human ``text`` and the numbers
behind it. numpy and a TFLite interpreter only, like the rest of ``sdk``.

The timeline the moment and segment models read is :func:`timeline_events`: visits, labelled by
their place (the device knows ``home``, ``work`` and ``other``, not shops or gyms), and the
transport events outside them.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Optional, Sequence

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.records import PUBLIC_MODES
from momentsense.sdk.io.timeline_file import PLACE_CATEGORIES, Event

#: How much history segments read, seconds (six weeks, as :class:`sdk.segments.weekly.WeeklySegments`).
SEGMENT_HISTORY_S = 42 * 86400.0


@dataclasses.dataclass(frozen=True)
class Insight:
    """One thing the SDK can say.

    Attributes:
        kind: ``"moment"``, ``"next"``, ``"notify"``, ``"segment"`` or ``"drive"``.
        text: A sentence for the person ("commute: heading to work by car").
        data: The numbers behind it (JSON-ready).
    """

    kind: str
    text: str
    data: dict

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def place_category(label: str) -> str:
    """A place label as a timeline category (anything the timeline vocabulary lacks is ``other``)."""
    return label if label in PLACE_CATEGORIES else "other"


#: A bus, train or subway event (:data:`sdk.records.PUBLIC_MODES`) shorter than this is a misread, s.
MIN_PUBLIC_LEG_S = 90.0
#: A run shorter than this is a dash (or a few misread windows of a bike ride), not a sport session, s.
MIN_RUN_S = 120.0


def in_visits(start: float, end: float, visits: Sequence) -> float:
    """Fraction of ``[start, end]`` (unix s) spent inside the visits (GPS stays)."""
    s = sum(max(0.0, min(end, v.end) - max(start, v.start)) for v in visits if v.start < end and v.end > start)
    return s / (end - start) if end > start else 1.0


def timeline_events(places: Sequence, visits: Sequence, events: Sequence) -> tuple[list[Event], int]:
    """The person's timeline as :class:`~sdk.io.timeline_file.Event` records, and how many transport
    events were dropped.

    Visits get the category of their place; non-still transport events are kept unless more than
    half of them lies inside a visit: GPS says the person stayed, so it is the IMU model misreading
    a still phone (a trip always leaves the place). Bus, train and subway events shorter than
    :data:`MIN_PUBLIC_LEG_S` are dropped too: no ride on them is that short (boarding alone takes
    longer), but a few windows of a bike or car ride misread as one would make a cyclist a
    public-transport commuter. Runs shorter than :data:`MIN_RUN_S` are dropped for the same reason:
    the segment rules count every run as a sport session (in the night owl's demo week, 60 s of a
    bike ride read as run made it "sporty").
    """
    labels = {p.place_id: place_category(p.label) for p in places}
    out = [Event(v.start, v.end, "visit", labels.get(v.place_id, "other"), v.place_id) for v in visits]
    moving = [e for e in events if e.mode != "still" and e.end > e.start]
    kept = [e for e in moving if in_visits(e.start, e.end, visits) <= 0.5
            and not (e.mode in PUBLIC_MODES and e.end - e.start < MIN_PUBLIC_LEG_S)
            and not (e.mode == "run" and e.end - e.start < MIN_RUN_S)]
    out += [Event(e.start, e.end, "transport", e.mode) for e in kept]
    return sorted(out, key=lambda e: (e.start, e.end)), len(moving) - len(kept)


def _clock(t: float, tz_offset_s: float) -> str:
    return datetime.datetime.fromtimestamp(t + tz_offset_s, datetime.timezone.utc).strftime("%a %H:%M")


def moment_insights(events: Sequence[Event], now: float, tz_offset_s: float = 0.0,
                    window_s: float = 3 * 3600.0, model_path: Optional[str] = None) -> list[Insight]:
    """The current moment (when moving), the predicted next event, and the best time to notify.

    ``events``: from :func:`timeline_events`, in order; ``now``: unix s. Empty without events.
    """
    if not events:
        return []
    from momentsense.sdk.moments import Moments

    m = Moments.create_from_path(model_path)
    for e in events:
        m.push(e.start, e.label)
    out = []
    cur = m.predictor.current()
    moment = m.current_moment()
    if moment:
        out.append(Insight("moment", f"{moment.replace('_', ' ')}: {cur[1]} since {_clock(cur[0], tz_offset_s)}",
                           {"moment": moment, "mode": cur[1], "since": cur[0]}))
    p = m.predict()
    out.append(Insight("next", f"next: {p.top} (p={p.probs[0]:.2f}), around {_clock(max(p.next_start, now), tz_offset_s)}",
                       {"labels": list(p.labels[:3]), "probs": [round(x, 3) for x in p.probs[:3]], "next_start": p.next_start}))
    t = m.best_time_to_notify(now, now + window_s)
    if t is None:
        out.append(Insight("notify", "no good moment to notify in the next hours (in transit)", {"at": None}))
    else:
        out.append(Insight("notify", f"best time to notify: {_clock(t, tz_offset_s)}"
                                     f"{'' if m.is_good_moment() else ' (after arrival)'}", {"at": t}))
    return out


def segment_insights(events: Sequence[Event], driving_scores: Sequence[float] = (),
                     encoder_path: Optional[str] = None, heads_path: Optional[str] = None,
                     encoder=None, heads=None) -> list[Insight]:
    """Fired rule segments with their evidence sentence, then embedding segments (shipped encoder).

    ``encoder``, ``heads``: a loaded :class:`~sdk.segments.TimelineEncoder` and
    :class:`~sdk.segments.SegmentHeads` to use (the weekly job's); None = load them from
    ``encoder_path`` / ``heads_path`` (default: the shipped files).

    Raises :class:`~sdk.errors.InputError` with fewer than 7 days of history (the rules need a week).
    """
    from momentsense.sdk.segments import UserEvents, evaluate_rules

    if not events:
        raise InputError("no timeline yet: segments need at least 7 days of history")
    ev = UserEvents.from_events(events)
    rules = evaluate_rules(ev, driving_scores=list(driving_scores) or None)
    out = [Insight("segment", f"you look like a {s.segment.replace('_', ' ')}: {s.sentence}",
                   {"segment": s.segment, "source": "rule", "evidence": s.evidence})
           for s in rules.segments if s.active]
    try:
        from momentsense.edge_models import artifact_dir
        from momentsense.sdk.segments import SegmentHeads, TimelineEncoder

        enc = encoder if encoder is not None else TimelineEncoder.create_from_path(encoder_path or artifact_dir() / "timeline_encoder.tflite")
        heads = heads if heads is not None else SegmentHeads.create_from_path(heads_path or artifact_dir() / "segment_classifiers.json")
        fired = {i.data["segment"] for i in out}
        for s in heads.classify_embedding(enc.embed_user(ev), enc.version):
            if s.active and s.segment not in fired:
                out.append(Insight("segment", f"you may be a {s.segment.replace('_', ' ')} "
                                              f"(timeline embedding, p={s.probability:.2f})",
                                   {"segment": s.segment, "source": "embedding", "probability": float(s.probability)}))
    except (ModelError, InputError, OSError, ValueError):
        pass  # no shipped encoder here: the rules still answer
    return out


def drive_insights(scores: Sequence, tz_offset_s: float = 0.0) -> list[Insight]:
    """One insight per scored drive: score, distance and harsh events."""
    out = []
    for s in scores:
        counts = {k: v for k, v in (s.counts or {}).items() if v}
        events = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) or "no harsh events"
        out.append(Insight("drive", f"{_clock(s.trip_start, tz_offset_s)}: score {s.score:.0f}, "
                                    f"{s.distance_m / 1000:.1f} km, {events}",
                           {"start": s.trip_start, "end": s.trip_end, "score": s.score, "distance_m": s.distance_m,
                            "counts": counts}))
    return out
