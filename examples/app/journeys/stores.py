"""The app's own small local files (plain Python, no Kivy).

* :class:`CorrectionStore` (SQLite): the user's corrections of timeline items, the feedback that later
  retrains the models. Each row has a random ``correction_id`` (the idempotency key a sync client sends)
  and a ``synced`` flag, so a sync client can do ``pending()`` → upload → ``mark_synced(ids)``.
* :class:`EventStore` (SQLite, WAL): the hand-off from the Android foreground service (which senses)
  to the app (which shows): transport events, the latest context and a few seconds of raw samples.
* :class:`ConsentFile` (JSON): the consent decision when the SDK has no consent module.

Times are float unix seconds. Every store opens a fresh connection per call, so it is safe to use from
several threads and from two processes (app and service).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Iterable, Optional, Sequence

#: Kinds of timeline item a correction can refer to.
ITEM_KINDS = ("event", "visit", "trip")


@dataclasses.dataclass(frozen=True)
class Correction:
    """One user correction of a timeline item.

    Attributes:
        correction_id: Random id (uuid4 hex), the idempotency key for the sync client.
        created_at: Unix seconds when the user made it.
        item_kind: ``event`` (transport event), ``visit`` or ``trip``.
        item_start, item_end: The item's times, unix seconds (with the kind, they identify the item).
        original_label: What the SDK said (a mode or a place category).
        corrected_label: What the user says it was.
        synced: Whether the sync client has delivered it.
    """

    correction_id: str
    created_at: float
    item_kind: str
    item_start: float
    item_end: float
    original_label: str
    corrected_label: str
    synced: bool = False

    def to_dict(self) -> dict:
        """JSON-ready dict (the shape a sync batch carries)."""
        return dataclasses.asdict(self)


#: Correction kind → (the sync payload's event kind for ``sdk.sync.payload.event_id``, feedback field).
#: The payload has no single transport events (trips carry the modes), so the ids of ``event``
#: corrections are computed the same way with kind ``transport`` but are not yet known to the server.
FEEDBACK_KINDS = {"event": ("transport", "mode"), "visit": ("visit", "category"), "trip": ("trip", "mode")}


def feedback_items(corrections: Sequence[Correction], salt: bytes) -> list[dict]:
    """Corrections as the sync client's ``send_feedback`` items ``{"event_id", "field", "value"}``.

    ``salt``: the per-user secret of ``sdk.sync.payload.load_or_create_salt`` (ids are
    ``sdk.sync.payload.event_id(salt, kind, start, end)``, as in the uploaded day payloads).
    """
    from momentsense.sdk.sync.payload import event_id

    out = []
    for c in corrections:
        kind, field = FEEDBACK_KINDS[c.item_kind]
        out.append({"event_id": event_id(salt, kind, c.item_start, c.item_end), "field": field, "value": c.corrected_label})
    return out


@contextlib.contextmanager
def _connect(path: Path):
    con = sqlite3.connect(str(path), timeout=5.0)
    try:
        yield con
        con.commit()
    finally:
        con.close()


class CorrectionStore:
    """Corrections in ``<data_dir>/corrections.sqlite``; the newest correction of an item wins."""

    def __init__(self, path: os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(self.path) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS corrections (correction_id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
                "item_kind TEXT NOT NULL, item_start REAL NOT NULL, item_end REAL NOT NULL, original_label TEXT NOT NULL, "
                "corrected_label TEXT NOT NULL, synced INTEGER NOT NULL DEFAULT 0)"
            )

    def add(self, item_kind: str, item_start: float, item_end: float, original_label: str, corrected_label: str) -> Correction:
        """Store a correction and return it. ``ValueError`` for an unknown kind, empty label or end < start."""
        if item_kind not in ITEM_KINDS:
            raise ValueError(f"item_kind must be one of {ITEM_KINDS}, got {item_kind!r}")
        if not corrected_label:
            raise ValueError("corrected_label must be a non-empty string")
        if not item_end >= item_start:
            raise ValueError(f"item_end must be >= item_start, got {item_start!r}, {item_end!r}")
        c = Correction(uuid.uuid4().hex, time.time(), item_kind, float(item_start), float(item_end), str(original_label), str(corrected_label))
        with _connect(self.path) as con:
            con.execute("INSERT INTO corrections VALUES (?,?,?,?,?,?,?,?)", (*dataclasses.astuple(c)[:-1], 0))
        return c

    def all(self) -> list[Correction]:
        """Every correction, oldest first."""
        with _connect(self.path) as con:
            rows = con.execute("SELECT * FROM corrections ORDER BY created_at, rowid").fetchall()
        return [Correction(*r[:-1], bool(r[-1])) for r in rows]

    def latest_by_item(self) -> dict:
        """``{(item_kind, round(item_start, 3)): corrected_label}``, the newest correction per item."""
        return {(c.item_kind, round(c.item_start, 3)): c.corrected_label for c in self.all()}

    def pending(self) -> list[Correction]:
        """Corrections the sync client has not delivered yet, oldest first."""
        return [c for c in self.all() if not c.synced]

    def mark_synced(self, correction_ids: Iterable[str]) -> int:
        """Mark corrections as delivered; returns how many rows changed (marking twice is harmless)."""
        ids = list(correction_ids)
        with _connect(self.path) as con:
            cur = con.executemany("UPDATE corrections SET synced = 1 WHERE correction_id = ? AND synced = 0", [(i,) for i in ids])
            return cur.rowcount


    def delete_all(self) -> int:
        """Erase every correction (consent revoked); returns how many there were."""
        with _connect(self.path) as con:
            return con.execute("DELETE FROM corrections").rowcount


class EventStore:
    """What the sensing service hands to the app: events, latest context, recent raw samples.

    ``<data_dir>/journeys-events.sqlite`` in WAL mode (one writer, the service; readers, the app).
    """

    def __init__(self, path: os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(self.path) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS events (start REAL NOT NULL, end REAL NOT NULL, mode TEXT NOT NULL, "
                        "confidence REAL NOT NULL, PRIMARY KEY (start, mode))")  # fmt: skip
            con.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def add_events(self, events: Sequence) -> None:
        """Insert transport events (objects with start, end, mode, confidence); re-inserting one is a no-op."""
        with _connect(self.path) as con:
            con.executemany("INSERT OR IGNORE INTO events VALUES (?,?,?,?)",
                            [(float(e.start), float(e.end), str(e.mode), float(e.confidence)) for e in events])  # fmt: skip

    def events(self, start: float = float("-inf"), end: float = float("inf")) -> list[dict]:
        """Events that start in ``[start, end)``, in time order, as dicts (``start, end, mode, confidence``)."""
        with _connect(self.path) as con:
            rows = con.execute("SELECT start, end, mode, confidence FROM events WHERE start >= ? AND start < ? ORDER BY start",
                               (start, end)).fetchall()  # fmt: skip
        return [dict(zip(("start", "end", "mode", "confidence"), r)) for r in rows]

    def put(self, key: str, value) -> None:
        """Store a JSON-serialisable value under ``key`` (latest context, recent samples)."""
        with _connect(self.path) as con:
            con.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(value)))

    def get(self, key: str, default=None):
        with _connect(self.path) as con:
            row = con.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])


class ConsentFile:
    """The consent decision as JSON: ``{"granted": bool, "changed_at": unix s, "version": int}``."""

    VERSION = 1

    def __init__(self, path: os.PathLike):
        self.path = Path(path)

    def read(self) -> Optional[dict]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def granted(self) -> bool:
        d = self.read()
        return bool(d and d.get("granted") and d.get("version") == self.VERSION)

    def write(self, granted: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"granted": bool(granted), "changed_at": time.time(), "version": self.VERSION}), encoding="utf-8")
        os.replace(tmp, self.path)
