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

#: Kinds of timeline item a correction can refer to (``event``: a single transport event; kept for
#: corrections stored by older versions of the app, which corrected mode bars).
ITEM_KINDS = ("event", "visit", "trip")
#: What a correction changes. ``mode`` (trips), ``category`` (visits), ``did_not_happen`` (value
#: ``"true"``), ``start``/``end`` (value: unix seconds as text), ``name`` (a place's own name; never
#: leaves the phone).
FIELDS = ("mode", "category", "did_not_happen", "start", "end", "name")
#: Fields that stay on the phone whatever the sync consent says.
LOCAL_FIELDS = ("name",)


@dataclasses.dataclass(frozen=True)
class Correction:
    """One user correction of a timeline item.

    Attributes:
        correction_id: Random id (uuid4 hex), the idempotency key for the sync client.
        created_at: Unix seconds when the user made it.
        item_kind: ``trip``, ``visit`` (or ``event`` from older app versions).
        item_start, item_end: The item's times as the SDK reported them, unix seconds (with the kind,
            they identify the item and give its sync id).
        original_label: What the SDK said (a mode, a place category, a time).
        corrected_label: What the user says (a mode, a category, ``"true"``, unix seconds, a name).
        synced: Whether the sync client has delivered it (local-only fields count as delivered never).
        field: What is corrected, one of :data:`FIELDS`.
        item_ref: The place id for ``name`` and ``category`` corrections of a visit ("" otherwise).
    """

    correction_id: str
    created_at: float
    item_kind: str
    item_start: float
    item_end: float
    original_label: str
    corrected_label: str
    synced: bool = False
    field: str = "mode"
    item_ref: str = ""

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return dataclasses.asdict(self)

    @property
    def local_only(self) -> bool:
        return self.field in LOCAL_FIELDS


#: Item kind → the day payload's record kind (``sdk.sync.payload.event_id``). Single transport events
#: are not uploaded (trips carry the modes), so ``event`` corrections have no id the server knows.
PAYLOAD_KINDS = {"visit": "visit", "trip": "trip"}
#: Feedback fields the server's ``POST /v1/feedback`` accepts today; the others wait in the queue
#: until it does (the sync function takes the set it may send).
#: Corrections the server learns from (the SDK's feedback vocabulary, :mod:`sdk.sync.schema`);
#: place names stay on the phone.
SERVER_FIELDS = frozenset({"mode", "category", "did_not_happen", "start", "end"})


def default_field(item_kind: str) -> str:
    """The label field of an item kind: ``category`` for visits, ``mode`` otherwise."""
    return "category" if item_kind == "visit" else "mode"


def feedback_items(corrections: Sequence[Correction], salt: bytes, fields=SERVER_FIELDS) -> list[dict]:
    """Corrections as the sync client's ``send_feedback`` items ``{"event_id", "field", "value"}``.

    ``salt``: the per-user secret of ``sdk.sync.payload.load_or_create_salt`` (ids are
    ``sdk.sync.payload.event_id(salt, kind, start, end)``, as in the uploaded day payloads).
    Corrections of a field outside ``fields``, local-only ones (place names) and single transport
    events are left out.
    """
    from momentsense.sdk.sync.payload import event_id

    out = []
    for c in corrections:
        if c.local_only or c.field not in fields or c.item_kind not in PAYLOAD_KINDS:
            continue
        out.append({"event_id": event_id(salt, PAYLOAD_KINDS[c.item_kind], c.item_start, c.item_end), "field": c.field,
                    "value": _server_value(c.field, c.corrected_label)})  # fmt: skip
    return out


def _server_value(field: str, label: str):
    """The value as the server's schema takes it: ``true`` for did_not_happen, whole rounded unix
    seconds for start/end, the word otherwise."""
    from momentsense.sdk.sync.schema import FEEDBACK_TIME_ROUNDING_S

    if field == "did_not_happen":
        return True
    if field in ("start", "end"):
        return int(round(float(label) / FEEDBACK_TIME_ROUNDING_S)) * FEEDBACK_TIME_ROUNDING_S
    return label


@contextlib.contextmanager
def _connect(path: Path):
    con = sqlite3.connect(str(path), timeout=5.0)
    con.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not just unlinked (consent withdrawal)
    try:
        yield con
        con.commit()
    finally:
        con.close()


_CORRECTION_COLUMNS = ("correction_id", "created_at", "item_kind", "item_start", "item_end", "original_label",
                       "corrected_label", "synced", "field", "item_ref")  # fmt: skip


class CorrectionStore:
    """Corrections in ``<data_dir>/corrections.sqlite``; the newest correction of an item and field wins."""

    def __init__(self, path: os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(self.path) as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS corrections (correction_id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
                "item_kind TEXT NOT NULL, item_start REAL NOT NULL, item_end REAL NOT NULL, original_label TEXT NOT NULL, "
                "corrected_label TEXT NOT NULL, synced INTEGER NOT NULL DEFAULT 0)"
            )
            have = {r[1] for r in con.execute("PRAGMA table_info(corrections)")}
            if "field" not in have:  # files written before corrections had a field: each item kind's label
                con.execute("ALTER TABLE corrections ADD COLUMN field TEXT NOT NULL DEFAULT ''")
                con.execute("UPDATE corrections SET field = CASE item_kind WHEN 'visit' THEN 'category' ELSE 'mode' END")
            if "item_ref" not in have:
                con.execute("ALTER TABLE corrections ADD COLUMN item_ref TEXT NOT NULL DEFAULT ''")

    def add(self, item_kind: str, item_start: float, item_end: float, original_label: str, corrected_label: str,
            field: Optional[str] = None, item_ref: str = "") -> Correction:  # fmt: skip
        """Store a correction and return it (``field`` defaults to the kind's label field).

        ``ValueError`` for an unknown kind or field, an empty label or end < start.
        """
        field = field or default_field(item_kind)
        if item_kind not in ITEM_KINDS:
            raise ValueError(f"item_kind must be one of {ITEM_KINDS}, got {item_kind!r}")
        if field not in FIELDS:
            raise ValueError(f"field must be one of {FIELDS}, got {field!r}")
        if not corrected_label:
            raise ValueError("corrected_label must be a non-empty string")
        if not item_end >= item_start:
            raise ValueError(f"item_end must be >= item_start, got {item_start!r}, {item_end!r}")
        c = Correction(uuid.uuid4().hex, time.time(), item_kind, float(item_start), float(item_end), str(original_label),
                       str(corrected_label), False, field, str(item_ref))  # fmt: skip
        row = dataclasses.astuple(c)
        with _connect(self.path) as con:
            con.execute(f"INSERT INTO corrections ({','.join(_CORRECTION_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (*row[:7], int(c.synced), *row[8:]))  # fmt: skip
        return c

    def all(self) -> list[Correction]:
        """Every correction, oldest first."""
        with _connect(self.path) as con:
            rows = con.execute(f"SELECT {','.join(_CORRECTION_COLUMNS)} FROM corrections ORDER BY created_at, rowid").fetchall()
        return [Correction(*r[:7], bool(r[7]), *r[8:]) for r in rows]

    def latest_by_item(self, field: Optional[str] = None) -> dict:
        """``{(item_kind, round(item_start, 3)): corrected_label}``: the newest correction per item of
        ``field`` (default: each kind's label field, as :func:`default_field`)."""
        return {(c.item_kind, round(c.item_start, 3)): c.corrected_label for c in self.all()
                if c.field == (field or default_field(c.item_kind))}  # fmt: skip

    def by_item(self) -> dict:
        """``{(item_kind, round(item_start, 3)): {field: corrected_label}}``, the newest per field."""
        out: dict = {}
        for c in self.all():
            if c.field != "name":
                out.setdefault((c.item_kind, round(c.item_start, 3)), {})[c.field] = c.corrected_label
        return out

    def place_names(self) -> dict:
        """``{place_id: name}``: the user's own names of places (newest wins)."""
        return {c.item_ref: c.corrected_label for c in self.all() if c.field == "name" and c.item_ref}

    def place_categories(self) -> dict:
        """``{place_id: category}``: the user's categories of places (from visit corrections, newest wins)."""
        return {c.item_ref: c.corrected_label for c in self.all() if c.field == "category" and c.item_ref}

    def pending(self) -> list[Correction]:
        """Corrections the sync client has not delivered yet, oldest first (local-only ones excluded)."""
        return [c for c in self.all() if not c.synced and not c.local_only]

    def mark_synced(self, correction_ids: Iterable[str]) -> int:
        """Mark corrections as delivered; returns how many rows changed (marking twice is harmless)."""
        ids = list(correction_ids)
        with _connect(self.path) as con:
            cur = con.executemany("UPDATE corrections SET synced = 1 WHERE correction_id = ? AND synced = 0", [(i,) for i in ids])
            return cur.rowcount

    def undo_last(self) -> Optional[Correction]:
        """Take back the newest correction: deleted when not yet delivered; once delivered, a new
        correction restoring the SDK's value is stored for the label fields (returned), and the
        others (didn't happen, times) cannot be taken back (None). None also when there is none."""
        items = self.all()
        if not items:
            return None
        last = items[-1]
        if not last.synced:
            with _connect(self.path) as con:
                con.execute("DELETE FROM corrections WHERE correction_id = ?", (last.correction_id,))
            return last
        if last.field in ("mode", "category"):
            return self.add(last.item_kind, last.item_start, last.item_end, last.corrected_label, last.original_label,
                            last.field, last.item_ref)  # fmt: skip
        return None

    def delete_all(self) -> int:
        """Erase every correction (consent revoked); returns how many there were."""
        with _connect(self.path) as con:
            return con.execute("DELETE FROM corrections").rowcount


class EventStore:
    """What the sensing side hands to the app: events, latest context, recent raw samples, and the
    GPS track the map draws (thinned to one fix per ``FIX_SPACING_S``).

    ``<data_dir>/journeys-events.sqlite`` in WAL mode (one writer, the service or the desktop
    backend; readers, the app). The track never leaves the phone.
    """

    #: Fixes closer in time than this (s) to the previous stored one are not kept: the map needs the shape only.
    FIX_SPACING_S = 10.0

    def __init__(self, path: os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(self.path) as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("CREATE TABLE IF NOT EXISTS events (start REAL NOT NULL, end REAL NOT NULL, mode TEXT NOT NULL, "
                        "confidence REAL NOT NULL, PRIMARY KEY (start, mode))")  # fmt: skip
            con.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            con.execute("CREATE TABLE IF NOT EXISTS fixes (t REAL PRIMARY KEY, lat REAL NOT NULL, lon REAL NOT NULL)")

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

    def add_fixes(self, fixes: Sequence) -> int:
        """Keep GPS fixes (objects with ``t``, ``lat``, ``lon``) at least ``FIX_SPACING_S`` apart; returns how many were kept."""
        with _connect(self.path) as con:
            row = con.execute("SELECT MAX(t) FROM fixes").fetchone()
            last = row[0] if row and row[0] is not None else float("-inf")
            keep = []
            for f in sorted(fixes, key=lambda f: f.t):
                if f.t - last >= self.FIX_SPACING_S and f.lat == f.lat and f.lon == f.lon:
                    keep.append((float(f.t), float(f.lat), float(f.lon)))
                    last = f.t
            con.executemany("INSERT OR IGNORE INTO fixes VALUES (?,?,?)", keep)
        return len(keep)

    def fixes(self, start: float = float("-inf"), end: float = float("inf")) -> list[tuple]:
        """``[(t, lat, lon), ...]`` with ``start <= t < end``, in time order."""
        with _connect(self.path) as con:
            return con.execute("SELECT t, lat, lon FROM fixes WHERE t >= ? AND t < ? ORDER BY t", (start, end)).fetchall()

    def counts(self) -> dict:
        """Rows per table: ``{"events", "kv", "fixes"}``."""
        with _connect(self.path) as con:
            return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("events", "kv", "fixes")}

    def delete_all(self) -> dict:
        """Erase events, context, samples and the track (consent revoked); returns the rows deleted per table."""
        with _connect(self.path) as con:
            return {t: con.execute(f"DELETE FROM {t}").rowcount for t in ("events", "kv", "fixes")}

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

    def write(self, granted: bool, sync: bool = False) -> None:
        """Record the decision; ``sync``: sharing corrections too (never without ``granted``)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        d = {"granted": bool(granted), "sync": bool(granted and sync), "changed_at": time.time(), "version": self.VERSION}
        tmp.write_text(json.dumps(d), encoding="utf-8")
        os.replace(tmp, self.path)
