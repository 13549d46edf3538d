"""A read-only view of the local timeline, for the app's UI (another thread or another process).

The sensing side (:class:`~sdk.runtime.MomentSDK`, e.g. in an Android foreground service) owns the
:class:`~sdk.timeline.store.TimelineStore` and writes it; the UI only reads. :func:`open_reader`
opens the same file read-only (SQLite ``mode=ro``: no migration, no write, no erase is possible
through it; WAL lets it read while the service writes); :meth:`MomentSDK.reader` hands one over the
SDK's own store in the same process.

    reader = open_reader(app_dir / "timeline.db")
    day = reader.timeline(datetime.date(2023, 11, 14), tz_offset_s=3600)   # DayTimeline
    homes = reader.places("home")
"""

from __future__ import annotations

import datetime
import sqlite3
import threading
from pathlib import Path
from typing import Optional, Union

from momentsense.sdk.timeline.records import Place, TransportEvent, Trip, Visit
from momentsense.sdk.timeline.store import DayTimeline, StoreError, TimelineStore


class _ReadOnlyStore(TimelineStore):
    """A :class:`TimelineStore` over a read-only connection (its writers fail in SQLite)."""

    def __init__(self, path: Union[str, Path], busy_timeout_s: float = 5.0):  # noqa: D107 - no migration here
        self.path = str(path)
        self.retention_days = None
        self.journal_mode = "wal"
        self._lock = threading.RLock()
        if not Path(path).exists():
            raise StoreError(f"{path}: no timeline store there yet (the sensing side creates it)")
        try:
            conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s,
                                   isolation_level=None, check_same_thread=False)  # fmt: skip
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the timeline store read-only ({exc})") from exc
        self._conn = conn


class TimelineReader:
    """Read methods of the timeline store and nothing else (see the module docstring).

    Parameters
    ----------
    store : TimelineStore
        The store read through (the SDK's own, or a read-only one from :func:`open_reader`).
    owns : bool
        Whether :meth:`close` closes ``store`` (True for :func:`open_reader`).
    """

    def __init__(self, store: TimelineStore, owns: bool = False):
        self._store, self._owns = store, owns

    def timeline(self, day: datetime.date, tz_offset_s: float = 0.0) -> DayTimeline:
        """The local day ``day`` (local = UTC + ``tz_offset_s``, s): events, visits, trips, driving scores."""
        return self._store.timeline(day, tz_offset_s)

    def places(self, label: Optional[str] = None) -> list[Place]:
        """The places (latest versions), optionally only those labelled ``label`` (``home``, ``work``...)."""
        return self._store.places(label)

    def events(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[TransportEvent]:
        """Transport events overlapping ``[start_s, end_s)`` (unix s; None = unbounded)."""
        return self._store.events(start_s, end_s)

    def visits(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[Visit]:
        """Visits overlapping ``[start_s, end_s)`` (unix s; None = unbounded)."""
        return self._store.visits(start_s, end_s)

    def trips(self, start_s: Optional[float] = None, end_s: Optional[float] = None) -> list[Trip]:
        """Trips overlapping ``[start_s, end_s)`` (unix s; None = unbounded)."""
        return self._store.trips(start_s, end_s)

    def query(self, kind: str, start_s: Optional[float] = None, end_s: Optional[float] = None,
              *, ref: Optional[str] = None) -> list:  # fmt: skip
        """Latest versions of ``kind`` (``driving_event``, ``driving_score``...); see :meth:`TimelineStore.query`."""
        return self._store.query(kind, start_s, end_s, ref=ref)

    def last(self, kind: str):
        """The item of ``kind`` that starts last, or None."""
        return self._store.last(kind)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind: ``items`` and ``rows`` (all versions)."""
        return self._store.counts()

    def close(self) -> None:
        """Close the file if this reader opened it (safe twice)."""
        if self._owns:
            self._store.close()

    def __enter__(self) -> "TimelineReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_reader(path: Union[str, Path]) -> TimelineReader:
    """A :class:`TimelineReader` over the store file at ``path``, opened read-only.

    Raises :class:`~sdk.timeline.store.StoreError` when there is no store there or it cannot be read.
    """
    return TimelineReader(_ReadOnlyStore(path), owns=True)
