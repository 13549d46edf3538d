"""Durable offline queue of upload batches (SQLite, its own file and table).

A batch is stored already gzipped, with the idempotency key it will be sent with, so a retry after a
crash or a restart sends the same bytes under the same key and the server deduplicates it. Rows stay
until the server acknowledged them (:meth:`UploadQueue.ack`); a batch the server refused for good
(4xx other than 401/403/408/429) is kept as ``rejected`` for inspection and no longer sent.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

from momentsense.sdk.errors import InputError


@dataclasses.dataclass(frozen=True)
class QueuedBatch:
    """One batch waiting to be sent.

    Attributes:
        key: Idempotency key (UUID4 hex), fixed when the batch was queued.
        body: gzip-compressed JSON ``{"days": [...]}``.
        n_days: Day payloads in it.
        created_t: Unix seconds when queued.
        attempts: Sends tried so far.
        next_attempt_t: Unix seconds before which it is not retried.
        last_error: The last failure, text.
    """

    key: str
    body: bytes
    n_days: int
    created_t: float
    attempts: int
    next_attempt_t: float
    last_error: str


class UploadQueue:
    """The queue; safe to share between threads.

    Parameters
    ----------
    path : str or Path
        SQLite file (created with its folder).
    clock : callable
        Unix seconds, default :func:`time.time`.
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS upload_queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE NOT NULL, "
            "body BLOB NOT NULL, n_days INTEGER NOT NULL, created_t REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
            "next_attempt_t REAL NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', "
            "status TEXT NOT NULL DEFAULT 'pending')"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS upload_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def put(self, body: bytes, n_days: int, key: Optional[str] = None) -> str:
        """Queue a gzipped batch; returns its idempotency key."""
        if not isinstance(body, (bytes, bytearray)) or not body:
            raise InputError("queued body must be non-empty bytes")
        key = key or uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO upload_queue (key, body, n_days, created_t) VALUES (?,?,?,?)",
                (key, bytes(body), int(n_days), float(self._clock())),
            )
        return key

    def next_revision(self) -> int:
        """A durable counter (1, 2, ...) for day payload revisions."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT value FROM upload_meta WHERE name='revision'").fetchone()
                value = (row[0] if row else 0) + 1
                self._db.execute("INSERT OR REPLACE INTO upload_meta (name, value) VALUES ('revision', ?)", (value,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return value

    def set_flag(self, name: str, on: bool) -> None:
        """Durable boolean flag (e.g. ``erase_pending``)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO upload_meta (name, value) VALUES (?, ?)", ("flag:" + name, int(on)))

    def flag(self, name: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT value FROM upload_meta WHERE name=?", ("flag:" + name,)).fetchone()
        return bool(row and row[0])

    def _rows(self, where: str, args=()) -> list[QueuedBatch]:
        rows = self._db.execute(
            "SELECT key, body, n_days, created_t, attempts, next_attempt_t, last_error FROM upload_queue "
            f"WHERE {where} ORDER BY seq",
            args,
        ).fetchall()
        return [QueuedBatch(*r) for r in rows]

    def pending(self, now: Optional[float] = None) -> list[QueuedBatch]:
        """Batches due now (``next_attempt_t <= now``), oldest first."""
        with self._lock:
            return self._rows("status='pending' AND next_attempt_t <= ?", (float(self._clock() if now is None else now),))

    def all_pending(self) -> list[QueuedBatch]:
        with self._lock:
            return self._rows("status='pending'")

    def rejected(self) -> list[QueuedBatch]:
        with self._lock:
            return self._rows("status='rejected'")

    def ack(self, key: str) -> None:
        """The server accepted the batch: remove it."""
        with self._lock:
            self._db.execute("DELETE FROM upload_queue WHERE key=?", (key,))

    def failed(self, key: str, error: str, next_attempt_t: float = 0.0) -> None:
        """A send failed and will be retried no earlier than ``next_attempt_t``."""
        with self._lock:
            self._db.execute(
                "UPDATE upload_queue SET attempts=attempts+1, last_error=?, next_attempt_t=? WHERE key=?",
                (str(error)[:500], float(next_attempt_t), key),
            )

    def reject(self, key: str, error: str) -> None:
        """The server refused the batch for good: keep it, never send it again."""
        with self._lock:
            self._db.execute(
                "UPDATE upload_queue SET attempts=attempts+1, last_error=?, status='rejected' WHERE key=?",
                (str(error)[:500], key),
            )

    def clear(self) -> int:
        """Delete every batch (erasure); returns how many."""
        with self._lock:
            return self._db.execute("DELETE FROM upload_queue").rowcount

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM upload_queue WHERE status='pending'").fetchone()[0]

    def close(self) -> None:
        """Close the file; safe twice."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> "UploadQueue":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
