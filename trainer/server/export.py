"""Turn ingested day payloads and feedback into trainer datasets.

:func:`export_training` writes

* ``out`` (``momentsense-timeline-v1``, JSON Lines or HDF5 by suffix): every install's events as a
  timeline for the next-event LSTM and the segment encoder. Users are pseudonyms
  (``sha256(app:install)[:16]``); visits carry their category and salted place token; each trip
  becomes transport events, one per listed mode, splitting the trip's time evenly (the payload holds
  no per-mode times); a trip's moment (from the payload's moments) is copied onto them. User
  corrections from feedback are applied (mode → the trip becomes one event of that mode; category →
  the visit's label; moment → the moment).
* ``<out stem>.feedback.jsonl``: the corrected labels as evaluation data, one row per correction
  ``{"user", "event_id", "kind", "start", "end", "field", "predicted", "corrected"}`` (latest wins).

Times are the payload's rounded times; where rounding made events of a user overlap, the later one
starts when the earlier ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES, TRANSPORT_LABELS, Event, Timeline, write_timeline
from momentsense.trainer.server.db import App, Day, Feedback, make_engine


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """Counts of what was written: users, events, days and feedback rows; the two paths."""

    timeline_path: Path
    feedback_path: Path
    users: int
    events: int
    days: int
    feedback: int


def pseudonym(app_name: str, install_id: str) -> str:
    return hashlib.sha256(f"{app_name}:{install_id}".encode()).hexdigest()[:16]


def _user_events(days: list, fb: dict, user: str) -> tuple[list[Event], list[dict]]:
    rows, corrections = [], []
    for day in sorted(days, key=lambda d: d.day):
        p = day.payload
        moments = {(m["start"], m["end"]): m["moment"] for m in p.get("moments", [])}
        for v in p.get("visits", []):
            label = v["category"]
            c = fb.get((v["id"], "category"))
            if c and c in PLACE_CATEGORIES:
                corrections.append({"event_id": v["id"], "kind": "visit", "start": v["start"], "end": v["end"],
                                    "field": "category", "predicted": label, "corrected": c})  # fmt: skip
                label = c
            rows.append(Event(float(v["start"]), float(v["end"]), "visit", label, v["place"] or "unknown", user))
        for t in p.get("trips", []):
            modes = [m for m in t["modes"] if m in TRANSPORT_LABELS] or ["walk"]
            moment = moments.get((t["start"], t["end"]), "")
            c = fb.get((t["id"], "mode"))
            if c and c in TRANSPORT_LABELS:
                corrections.append({"event_id": t["id"], "kind": "trip", "start": t["start"], "end": t["end"],
                                    "field": "mode", "predicted": "+".join(t["modes"]), "corrected": c})  # fmt: skip
                modes = [c]
            cm = fb.get((t["id"], "moment"))
            if cm and cm in MOMENTS:
                corrections.append({"event_id": t["id"], "kind": "trip", "start": t["start"], "end": t["end"],
                                    "field": "moment", "predicted": moment, "corrected": cm})  # fmt: skip
                moment = cm
            step = (t["end"] - t["start"]) / len(modes)
            for k, m in enumerate(modes):
                rows.append(Event(t["start"] + k * step, t["start"] + (k + 1) * step, "transport", m, "", user, moment))
    rows.sort(key=lambda e: (e.start, e.end))
    fixed, last_end = [], -float("inf")
    for e in rows:
        s = max(e.start, last_end)
        fixed.append(dataclasses.replace(e, start=s, end=max(e.end, s)))
        last_end = max(e.end, s)
    for c in corrections:
        c["user"] = user
    return fixed, corrections


def export_training(db_url: str, out: str | Path, source: str = "momentsense server export") -> ExportResult:
    """Write the timeline and the feedback file (see the module docstring); returns counts."""
    out = Path(out)
    engine = make_engine(db_url)
    events, corrections, n_days = [], [], 0
    with Session(engine) as s:
        apps = {a.id: a.name for a in s.scalars(select(App))}
        installs = sorted(set(s.execute(select(Day.app_id, Day.install_id)).all()))
        for app_id, install_id in installs:
            days = list(s.scalars(select(Day).where(Day.app_id == app_id, Day.install_id == install_id)))
            fb = {}
            for f in s.scalars(select(Feedback).where(Feedback.app_id == app_id, Feedback.install_id == install_id)
                               .order_by(Feedback.created_t, Feedback.id)):  # fmt: skip
                fb[(f.event_id, f.field)] = f.value
            user = pseudonym(apps.get(app_id, str(app_id)), install_id)
            ev, corr = _user_events(days, fb, user)
            events += ev
            corrections += corr
            n_days += len(days)
    engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    users = sorted({e.user for e in events})
    if events:
        write_timeline(out, Timeline.from_events(events, source=source))
    else:
        out.write_text(json.dumps({"format": "momentsense-timeline-v1", "source": source}) + "\n")
    fb_path = out.with_name(out.stem + ".feedback.jsonl")
    with open(fb_path, "w") as f:
        for c in corrections:
            f.write(json.dumps(c, sort_keys=True) + "\n")
    return ExportResult(out, fb_path, len(users), len(events), n_days, len(corrections))
