"""Schema of the timeline store (:mod:`sdk.timeline.store`): tables, record kinds, item identity,
and the migration hook. Split out to keep the store module small; import from ``sdk.timeline.store``.
"""

from __future__ import annotations

import sqlite3
from typing import Callable, Union

from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore, Place, TransportEvent, Trip, Visit

#: Schema version this build writes; :data:`MIGRATIONS` upgrades older files to it.
SCHEMA_VERSION = 1
#: ``PRAGMA application_id`` of a momentsense timeline store ("MSTL"): tells our files from others.
APPLICATION_ID = 0x4D53544C

#: Kind name → (table, record class). Kinds are what :meth:`TimelineStore.query` and ``history`` take.
KINDS: dict[str, tuple[str, type]] = {
    "event": ("events", TransportEvent),
    "visit": ("visits", Visit),
    "place": ("places", Place),
    "trip": ("trips", Trip),
    "driving_event": ("driving_events", DrivingEvent),
    "driving_score": ("driving_scores", DrivingScore),
}
#: Consent categories of :meth:`TimelineStore.delete_all`: what each one erases.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "motion": ("event", "driving_event", "driving_score"),
    "location": ("visit", "place", "trip"),
}
_KIND_OF = {cls: kind for kind, (_, cls) in KINDS.items()}

Record = Union[TransportEvent, Visit, Place, Trip, DrivingEvent, DrivingScore]


def _create_v1(conn: sqlite3.Connection) -> None:
    for table, _ in KINDS.values():
        conn.execute(
            f"""CREATE TABLE {table} (
                row_id INTEGER PRIMARY KEY,
                item_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                latest INTEGER NOT NULL,
                start_s REAL NOT NULL,
                end_s REAL NOT NULL,
                ref TEXT NOT NULL DEFAULT '',
                written_s REAL NOT NULL,
                data TEXT NOT NULL,
                UNIQUE (item_id, version))""")
        conn.execute(f"CREATE INDEX {table}_latest_start ON {table} (latest, start_s)")
        conn.execute(f"CREATE INDEX {table}_latest_ref ON {table} (latest, ref)")


#: Migration hook: ``MIGRATIONS[v](conn)`` upgrades a store at schema ``v - 1`` to ``v``. Each runs in
#: its own transaction together with its ``schema_version`` row, so a crash leaves the old version.
#: To change the schema: bump :data:`SCHEMA_VERSION` and add ``MIGRATIONS[SCHEMA_VERSION]``.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _create_v1}


def item_id(record: Record) -> str:
    """Identity of the item a record is a version of.

    Events, visits and trips: their start time (ms resolution); places: ``place_id``; driving events:
    time and kind; driving scores: the trip's start. A re-detection of the same item (same identity,
    other content) becomes a new version of it.
    """
    if isinstance(record, Place):
        return record.place_id
    if isinstance(record, DrivingEvent):
        return f"{record.t:.3f}:{record.kind}"
    if isinstance(record, DrivingScore):
        return f"{record.trip_start:.3f}"
    return f"{record.start:.3f}"


def _span(record: Record, now_s: float) -> tuple[float, float]:
    if isinstance(record, Place):
        return now_s, now_s
    if isinstance(record, DrivingEvent):
        return record.t, record.t + record.duration_s
    if isinstance(record, DrivingScore):
        return record.trip_start, record.trip_end
    return record.start, record.end


def _ref(record: Record) -> str:
    if isinstance(record, (Visit, Place)):
        return record.place_id
    if isinstance(record, TransportEvent):
        return record.mode
    if isinstance(record, DrivingEvent):
        return record.kind
    return ""
