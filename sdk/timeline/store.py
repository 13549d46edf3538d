"""Local timeline store: the person's events, visits, places, trips and driving on the device (SQLite).

One file (or ``":memory:"``) holds one table per kind of record. Every row is a *version* of an item:
writing a record whose item already exists (same identity, see :func:`item_id`) with different
content adds version ``n + 1`` and keeps the old ones; writing identical content changes nothing.
Reads return the latest version of each item.

    store = TimelineStore("timeline.db", retention_days=90)
    store.write([TransportEvent(t0, t1, "walk", 0.9), visit, place, trip])   # one transaction
    day = store.timeline(datetime.date(2023, 11, 13), tz_offset_s=3600)      # DayTimeline
    store.delete_all("location")                                               # consent withdrawn

Durability: WAL journal with ``synchronous=FULL`` by default. In WAL mode a committed transaction
survives a killed process with either setting (the WAL frames are written before ``COMMIT`` returns);
``FULL`` adds one fsync per commit so it also survives a power cut, where ``NORMAL`` may lose the
last commits (never corrupt the file). The runtime commits only when something closes (an event,
a visit, a trip: tens to a few hundred commits a day), so the fsync costs nothing that matters; pass
``synchronous="NORMAL"`` for write-heavy uses.

Threads: one connection guarded by a lock, so one store object may be used from any thread
(the SDK's pipeline writes, the app reads). Other processes may open the same file: WAL lets them
read while one writes, and ``busy_timeout_s`` makes a writer wait for another's transaction.

Erasure: ``secure_delete`` is on (deleted rows are overwritten with zeros), and :meth:`delete_all`
also truncates the WAL, so erased data does not linger in the file.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from momentsense.sdk.errors import MomentsenseError
from momentsense.sdk.timeline.records import DrivingScore, Place, TransportEvent, Trip, Visit
from momentsense.sdk.timeline.store_schema import (  # noqa: F401  (re-exported: the store's public names)
    _KIND_OF,
    APPLICATION_ID,
    CATEGORIES,
    KINDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    Record,
    _ref,
    _span,
    item_id,
)

DAY_S = 86400.0


class StoreError(MomentsenseError, RuntimeError):
    """The timeline store cannot be opened or used; the message names the file."""


@dataclasses.dataclass(frozen=True)
class DayTimeline:
    """One local day of the timeline, latest versions only, each list in start order.

    Attributes:
        day: The local calendar day.
        tz_offset_s: Local time minus UTC, s, used for the day's bounds.
        start_s, end_s: The day's bounds, unix seconds (``end_s - start_s`` = 86400).
        events: Transport events overlapping the day (whole records, not clipped).
        visits: Visits overlapping the day (a night at home appears on both days).
        trips: Trips overlapping the day.
        driving_scores: Driving scores of trips overlapping the day.
    """

    day: datetime.date
    tz_offset_s: float
    start_s: float
    end_s: float
    events: tuple = ()
    visits: tuple = ()
    trips: tuple = ()
    driving_scores: tuple = ()

    def to_dict(self) -> dict:
        """JSON-ready dict; :meth:`from_dict` rebuilds an equal record."""
        return {"day": self.day.isoformat(), "tz_offset_s": self.tz_offset_s, "start_s": self.start_s,
                "end_s": self.end_s, "events": [e.to_dict() for e in self.events],
                "visits": [v.to_dict() for v in self.visits], "trips": [t.to_dict() for t in self.trips],
                "driving_scores": [s.to_dict() for s in self.driving_scores]}

    @classmethod
    def from_dict(cls, d: dict) -> "DayTimeline":
        """Inverse of :meth:`to_dict`."""
        return cls(datetime.date.fromisoformat(d["day"]), float(d["tz_offset_s"]), float(d["start_s"]),
                   float(d["end_s"]), tuple(TransportEvent.from_dict(e) for e in d["events"]),
                   tuple(Visit.from_dict(v) for v in d["visits"]), tuple(Trip.from_dict(t) for t in d["trips"]),
                   tuple(DrivingScore.from_dict(s) for s in d["driving_scores"]))


@dataclasses.dataclass(frozen=True)
class Version:
    """One stored version of an item: ``version`` (1, 2, ...), ``written_s`` (wall clock, unix s), ``record``."""

    version: int
    written_s: float
    record: Record


def day_bounds(day: datetime.date, tz_offset_s: float = 0.0) -> tuple[float, float]:
    """Unix seconds of local midnight starting ``day`` and the next one (local = UTC + ``tz_offset_s``).

    A fixed offset for the whole day: on a daylight-saving change pass the offset of the day's start.
    """
    if not isinstance(day, datetime.date):
        raise TypeError(f"day must be a datetime.date, got {type(day).__name__}")
    if not (isinstance(tz_offset_s, (int, float)) and math.isfinite(tz_offset_s) and abs(tz_offset_s) <= 14 * 3600):
        raise ValueError(f"tz_offset_s must be a number of seconds within ±14 h (±50400), got {tz_offset_s!r}")
    start = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp() - tz_offset_s
    return start, start + DAY_S


class TimelineStore:
    """The on-device timeline (see the module docstring for durability, threads and erasure).

    Parameters
    ----------
    path : str or Path
        SQLite file (created if missing; its folder must exist), or ``":memory:"`` (lost on close).
    retention_days : float, optional
        Items that ended more than this many days before ``now_s`` are removed by :meth:`purge`
        (None = keep everything). The SDK purges once per day of data.
    synchronous : {"FULL", "NORMAL"}
        SQLite's fsync policy (see the module docstring). Default ``"FULL"``.
    busy_timeout_s : float
        How long a write waits for another process's transaction, s.

    Raises
    ------
    StoreError
        The file is not an SQLite database, fails its integrity check, belongs to another application,
        or was written by a newer schema. The file is never modified or overwritten in that case.
    """

    def __init__(self, path: Union[str, Path] = ":memory:", *, retention_days: Optional[float] = None,
                 synchronous: str = "FULL", busy_timeout_s: float = 5.0):
        if retention_days is not None and not (isinstance(retention_days, (int, float)) and retention_days > 0):
            raise ValueError(f"retention_days must be None or a number of days > 0, got {retention_days!r}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.path = str(path)
        self.retention_days = retention_days
        self._lock = threading.RLock()
        self._conn: Optional[sqlite3.Connection] = None
        try:
            conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the timeline store ({exc})") from exc
        try:
            self._open(conn, synchronous)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _fail(self, what: str, exc: Exception) -> StoreError:
        return StoreError(f"{self.path}: {what} ({exc}); refusing to use it and leaving the file untouched. "
                          "Move it aside or delete it to start a new, empty timeline store.")

    def _open(self, conn: sqlite3.Connection, synchronous: str) -> None:
        try:
            # Reading the header first: a file that is not SQLite fails here, before anything is written.
            n_tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            check = conn.execute("PRAGMA quick_check").fetchone()[0] if n_tables else "ok"
        except sqlite3.DatabaseError as exc:
            raise self._fail("not a readable SQLite database (or a damaged one)", exc) from exc
        if check != "ok":
            raise self._fail("the database fails its integrity check", RuntimeError(check))
        if n_tables and app_id != APPLICATION_ID:
            raise self._fail("an SQLite database of another application, not a momentsense timeline store",
                             RuntimeError(f"application_id={app_id:#x}, expected {APPLICATION_ID:#x}"))
        try:
            self.journal_mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute(f"PRAGMA synchronous = {synchronous}")
            conn.execute("PRAGMA secure_delete = ON")
            if not n_tables:
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise self._fail("cannot prepare the timeline store", exc) from exc

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_s REAL NOT NULL)")
        current = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        target = max(MIGRATIONS)
        if current > target:
            raise StoreError(f"{self.path}: written by a newer momentsense (schema {current}, this build knows "
                             f"up to {target}); refusing to open it. Update the app.")
        for v in range(current + 1, target + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[v](conn)
                conn.execute("INSERT INTO schema_version VALUES (?, ?)", (v, time.time()))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- plumbing ------------------------------------------------------------------------------

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the timeline store is closed")
        return self._conn

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._conn is None

    def close(self) -> None:
        """Close the file (safe to call twice)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "TimelineStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def schema_version(self) -> int:
        """Schema version of the open file."""
        with self._lock:
            return int(self._c().execute("SELECT max(version) FROM schema_version").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's full ``integrity_check``: ``"ok"`` or the problems found."""
        with self._lock:
            rows = self._c().execute("PRAGMA integrity_check").fetchall()
            return "\n".join(r[0] for r in rows)

    # -- writing -------------------------------------------------------------------------------

    def write(self, records: Iterable[Record], *, now_s: Optional[float] = None) -> list[tuple[str, str, int]]:
        """Store records in one transaction (all or none).

        Parameters
        ----------
        records : iterable of TransportEvent, Visit, Place, Trip, DrivingEvent or DrivingScore
        now_s : float, optional
            Data time of the write, unix s (default: the wall clock). Used as the "last seen" time of
            places for retention.

        Returns
        -------
        list of (kind, item_id, version)
            Per record: the version now latest (unchanged when the content was identical).
        """
        records = list(records)
        for i, r in enumerate(records):
            if type(r) not in _KIND_OF:
                raise TypeError(f"records[{i}] must be one of {[c.__name__ for _, c in KINDS.values()]}, "
                                f"got {type(r).__name__}")
        now = time.time() if now_s is None else float(now_s)
        out = []
        with self._lock:
            conn = self._c()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for r in records:
                    kind = _KIND_OF[type(r)]
                    out.append((kind, *self._put(conn, kind, r, now)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return out

    def put(self, record: Record, *, now_s: Optional[float] = None) -> int:
        """Store one record (see :meth:`write`); returns its item's latest version number."""
        return self.write([record], now_s=now_s)[0][2]

    def _put(self, conn: sqlite3.Connection, kind: str, r: Record, now: float) -> tuple[str, int]:
        table = KINDS[kind][0]
        iid = item_id(r)
        data = json.dumps(r.to_dict(), sort_keys=True)
        row = conn.execute(f"SELECT version, data FROM {table} WHERE item_id = ? AND latest = 1", (iid,)).fetchone()
        start, end = _span(r, now)
        if row is not None and row[1] == data:
            if kind == "place":  # same place seen again: refresh its last-seen time, no new version
                conn.execute(f"UPDATE {table} SET end_s = max(end_s, ?) WHERE item_id = ? AND latest = 1", (end, iid))
            return iid, int(row[0])
        version = 1 if row is None else int(row[0]) + 1
        if row is not None:
            conn.execute(f"UPDATE {table} SET latest = 0 WHERE item_id = ? AND latest = 1", (iid,))
        conn.execute(f"INSERT INTO {table} (item_id, version, latest, start_s, end_s, ref, written_s, data) "
                     "VALUES (?, ?, 1, ?, ?, ?, ?, ?)", (iid, version, start, end, _ref(r), time.time(), data))
        return iid, version

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def _kind(kind: str) -> tuple[str, type]:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
        return KINDS[kind]

    def query(self, kind: str, start_s: Optional[float] = None, end_s: Optional[float] = None,
              *, ref: Optional[str] = None) -> list:
        """Latest versions of the items of ``kind`` overlapping ``[start_s, end_s)``, in start order.

        An item overlaps when it starts before ``end_s`` and ends after ``start_s`` (or starts at or
        after ``start_s``, for zero-length items). None = unbounded. ``ref`` filters on the place id
        (visits, places), the mode (events) or the kind (driving events).
        """
        table, cls = self._kind(kind)
        sql = f"SELECT data FROM {table} WHERE latest = 1"
        args: list = []
        if end_s is not None:
            sql += " AND start_s < ?"
            args.append(float(end_s))
        if start_s is not None:
            sql += " AND (end_s > ? OR start_s >= ?)"
            args += [float(start_s), float(start_s)]
        if ref is not None:
            sql += " AND ref = ?"
            args.append(ref)
        sql += " ORDER BY start_s, row_id"
        with self._lock:
            rows = self._c().execute(sql, args).fetchall()
        return [cls.from_dict(json.loads(d)) for (d,) in rows]

    def events(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[TransportEvent]:
        """Transport events overlapping ``[start_s, end_s)`` (see :meth:`query`)."""
        return self.query("event", start_s, end_s)

    def visits(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[Visit]:
        """Visits overlapping ``[start_s, end_s)`` (see :meth:`query`)."""
        return self.query("visit", start_s, end_s)

    def trips(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[Trip]:
        """Trips overlapping ``[start_s, end_s)`` (see :meth:`query`)."""
        return self.query("trip", start_s, end_s)

    def places(self, label: Optional[str] = None) -> list[Place]:
        """Latest version of every place (optionally only those labelled ``label``), sorted by id number."""
        out = self.query("place")
        if label is not None:
            out = [p for p in out if p.label == label]
        return sorted(out, key=lambda p: (len(p.place_id), p.place_id))

    def last(self, kind: str):
        """The item of ``kind`` (latest version) that starts last, or None."""
        table, cls = self._kind(kind)
        with self._lock:
            row = self._c().execute(f"SELECT data FROM {table} WHERE latest = 1 ORDER BY start_s DESC, row_id DESC "
                                    "LIMIT 1").fetchone()
        return None if row is None else cls.from_dict(json.loads(row[0]))

    def history(self, kind: str, item: str) -> list[Version]:
        """Every stored version of one item (by :func:`item_id`), oldest first."""
        table, cls = self._kind(kind)
        with self._lock:
            rows = self._c().execute(f"SELECT version, written_s, data FROM {table} WHERE item_id = ? ORDER BY version",
                                     (item,)).fetchall()
        return [Version(int(v), float(w), cls.from_dict(json.loads(d))) for v, w, d in rows]

    def timeline(self, day: datetime.date, tz_offset_s: float = 0.0) -> DayTimeline:
        """The local day ``day`` (local = UTC + ``tz_offset_s``): what overlaps ``[local 00:00, 24:00)``."""
        a, b = day_bounds(day, tz_offset_s)
        with self._lock:
            return DayTimeline(day, float(tz_offset_s), a, b, tuple(self.query("event", a, b)),
                               tuple(self.query("visit", a, b)), tuple(self.query("trip", a, b)),
                               tuple(self.query("driving_score", a, b)))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: ``items`` (latest versions) and ``rows`` (all versions)."""
        out = {}
        with self._lock:
            for kind, (table, _) in KINDS.items():
                rows, items = self._c().execute(f"SELECT count(*), coalesce(sum(latest), 0) FROM {table}").fetchone()
                out[kind] = {"items": int(items), "rows": int(rows)}
        return out

    # -- forgetting ----------------------------------------------------------------------------

    def purge(self, now_s: Optional[float] = None) -> dict[str, int]:
        """Remove (every version of) items that ended more than ``retention_days`` before ``now_s``.

        Places go when they were last seen before the cutoff and no remaining visit refers to them.
        ``now_s`` defaults to the wall clock; the SDK passes the time of its latest sensor data, so a
        replay of old data is not erased on arrival. Returns rows removed per kind (all zero when
        ``retention_days`` is None).
        """
        out = {kind: 0 for kind in KINDS}
        if self.retention_days is None:
            return out
        cutoff = (time.time() if now_s is None else float(now_s)) - self.retention_days * DAY_S
        with self._lock:
            conn = self._c()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for kind, (table, _) in KINDS.items():
                    cond = "latest = 1 AND end_s < ?"
                    if kind == "place":
                        cond += " AND item_id NOT IN (SELECT ref FROM visits WHERE latest = 1)"
                    cur = conn.execute(f"DELETE FROM {table} WHERE item_id IN (SELECT item_id FROM {table} WHERE {cond})",
                                       (cutoff,))
                    out[kind] = cur.rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return out

    def delete_all(self, kind: Optional[str] = None) -> dict[str, int]:
        """Erase stored data (consent withdrawal). Stable API, used by :mod:`sdk.consent`.

        Parameters
        ----------
        kind : {None, "motion", "location"} or a kind of :data:`KINDS`
            None: everything. ``"motion"``: transport events, driving events and scores.
            ``"location"``: visits, places and trips. A single kind (``"trip"``...) erases just that.

        Returns
        -------
        dict
            Rows (all versions) removed per kind.

        Notes
        -----
        One transaction; then the WAL is checkpointed and truncated. With ``secure_delete`` on, the
        erased rows' bytes are overwritten, not merely unlinked. The schema stays, so the store can
        be written again.
        """
        if kind is None:
            kinds: Sequence[str] = tuple(KINDS)
        elif kind in CATEGORIES:
            kinds = CATEGORIES[kind]
        elif kind in KINDS:
            kinds = (kind,)
        else:
            raise ValueError(f"kind must be None, one of {sorted(CATEGORIES)} or one of {sorted(KINDS)}, got {kind!r}")
        out = {}
        with self._lock:
            conn = self._c()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for k in kinds:
                    out[k] = conn.execute(f"DELETE FROM {KINDS[k][0]}").rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if self.journal_mode == "wal":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return out
