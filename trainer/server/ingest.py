"""Storing an ingest batch and feedback: one transaction per request, safe under concurrent retries.

:func:`store_batch` claims the idempotency key first (the ``batches`` row, flushed before any day is
touched). A concurrent request with the same key then waits on that row (PostgreSQL) or on the file
lock (SQLite) and, once the first commits, fails its insert and answers the first one's receipt; so
a batch is stored once and every caller gets the same answer.
"""

from __future__ import annotations

import time
from typing import Optional

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momentsense.trainer.server import schemas as S
from momentsense.trainer.server.db import Batch, Day, Event, Feedback
from momentsense.trainer.server.errors import Refusal

#: Tries of a batch whose transaction collided with a concurrent one (another key writing the same day).
CONFLICT_TRIES = 3


def replay(prev: Batch, digest: str) -> dict:
    """The stored receipt of a key, if the body is the same; a 409 if the key came with another body."""
    if prev.body_sha256 != digest:
        raise Refusal(409, "idempotency_key_reused", "Idempotency-Key reused with a different body")
    return prev.response


def _find_batch(s: Session, app_id: int, install_id: str, key: str) -> Optional[Batch]:
    return s.scalar(select(Batch).where(Batch.app_id == app_id, Batch.install_id == install_id, Batch.key == key))


def _write(s: Session, body: S.IngestIn, app_id: int, install_id: str, key: str, digest: str) -> dict:
    # Core statements, not ORM objects: the unit of work costs more than the writes themselves
    days, events, who = Day.__table__, Event.__table__, (app_id, install_id)
    existing = dict(s.execute(select(days.c.day, days.c.revision).where(
        days.c.app_id == app_id, days.c.install_id == install_id, days.c.day.in_([d.day for d in body.days]))).all())  # fmt: skip
    fresh = [d for d in body.days if d.day not in existing or existing[d.day] <= d.revision]
    n_events = sum(len(d.event_ids()) for d in fresh)
    answer = {"batch": key, "days_stored": len(fresh), "days_stale": len(body.days) - len(fresh), "events": n_events}
    # claim the key before touching any day (a concurrent twin waits here, then fails)
    s.execute(Batch.__table__.insert().values(app_id=app_id, install_id=install_id, key=key, body_sha256=digest,
                                              response=answer, created_t=time.time()))  # fmt: skip
    rows: list[dict] = []
    for d in fresh:
        payload = d.model_dump(mode="json")
        if d.day in existing:
            s.execute(days.update().where(days.c.app_id == app_id, days.c.install_id == install_id, days.c.day == d.day)
                      .values(revision=d.revision, payload=payload, updated_t=time.time()))  # fmt: skip
        else:
            s.execute(days.insert().values(app_id=app_id, install_id=install_id, day=d.day, revision=d.revision,
                                           payload=payload, updated_t=time.time()))  # fmt: skip
        # the day's old events, and events that moved here from another day (time zone change)
        s.execute(events.delete().where(events.c.app_id == who[0], events.c.install_id == who[1],
                                        (events.c.day == d.day) | events.c.event_id.in_(d.event_ids())))  # fmt: skip
        for kind, recs in (("visit", "visits"), ("trip", "trips"), ("moment", "moments")):
            rows += [{"app_id": app_id, "install_id": install_id, "day": d.day, "event_id": r["id"], "kind": kind,
                      "start": r["start"], "end": r["end"], "data": r} for r in payload[recs]]  # fmt: skip
        rows += [{"app_id": app_id, "install_id": install_id, "day": d.day, "event_id": r["id"], "kind": "driving",
                  "start": r["trip_start"], "end": r["trip_end"], "data": r} for r in payload["driving"]]  # fmt: skip
    if rows:
        s.execute(events.insert(), rows)
    s.commit()
    return answer


def store_batch(s: Session, body: S.IngestIn, app_id: int, install_id: str, key: str, digest: str) -> dict:
    """Store the batch once (see the module docstring); returns the receipt, or raises a :class:`Refusal`
    (409 for a key reused with another body, or a collision that persisted through :data:`CONFLICT_TRIES`)."""
    for _ in range(CONFLICT_TRIES):
        try:
            return _write(s, body, app_id, install_id, key, digest)
        except IntegrityError:  # the same key (a retry) or day written concurrently: look again
            s.rollback()
        prev = _find_batch(s, app_id, install_id, key)
        if prev is not None:
            return replay(prev, digest)
    prev = _find_batch(s, app_id, install_id, key)
    if prev is not None:
        return replay(prev, digest)
    raise Refusal(409, "conflict", "a concurrent upload wrote the same days; retry", {"Retry-After": "1"})


def feedback_value(value) -> str:
    """A feedback value as stored (``true``, an integer or a vocabulary word)."""
    if value is True:
        return "true"
    return str(value)


def store_feedback(s: Session, body: S.FeedbackIn, app_id: int, install_id: str) -> dict:
    """Store the corrections of this install's known events; unknown event ids are listed, not stored."""
    ids = sorted({it.event_id for it in body.items})
    known = set(s.scalars(select(Event.event_id).where(Event.app_id == app_id, Event.install_id == install_id,
                                                       Event.event_id.in_(ids))))  # fmt: skip
    rows = [{"app_id": app_id, "install_id": install_id, "event_id": it.event_id, "field": it.field,
             "value": feedback_value(it.value), "created_t": time.time()}
            for it in body.items if it.event_id in known]  # fmt: skip
    if rows:
        s.execute(insert(Feedback), rows)
    s.commit()
    return {"accepted": len(rows), "unknown_event_ids": sorted(set(ids) - known)}
