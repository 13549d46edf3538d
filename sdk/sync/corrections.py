"""The user's corrections of timeline items, kept on the phone until the uploader sends them.

A correction says "this item was not what the SDK said": a transport event's or a trip's mode, a
visit's place category. Each row has a random ``correction_id`` and a ``sent`` flag; the uploader
(:mod:`sdk.sync.uploader`) sends the pending ones as feedback and marks them sent. Times are float
unix seconds. The log lives in its own SQLite file (one connection per call, so the app's UI process
and a sensing service may both use it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Iterable, Iterator, Optional, Union

from momentsense.sdk.errors import InputError

#: Kinds of timeline item a correction can refer to, and the consent data kind each derives from.
ITEM_KINDS = {"event": "motion", "trip": "motion", "visit": "location"}


@dataclasses.dataclass(frozen=True)
class Correction:
    """One user correction of a timeline item.

    Attributes:
        correction_id: Random id (uuid4 hex).
        created_at: Unix seconds when the user made it.
        item_kind: ``event`` (transport event), ``trip`` or ``visit``.
        item_start, item_end: The item's times, unix s (with the kind, they identify the item).
        original_label: What the SDK said (a mode or a place category).
        corrected_label: What the user says it was.
        sent: Whether the uploader has delivered it.
    """

    correction_id: str
    created_at: float
    item_kind: str
    item_start: float
    item_end: float
    original_label: str
    corrected_label: str
    sent: bool = False

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class CorrectionLog:
    """Corrections in one SQLite file; the newest correction of an item wins.

    Parameters
    ----------
    path : str or Path
        SQLite file (created with its folder).
    clock : callable
        Unix seconds, default :func:`time.time`.
    """

    def __init__(self, path: Union[str, Path], clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        with self._connect() as con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS corrections (correction_id TEXT PRIMARY KEY, created_at REAL NOT NULL, "
                "item_kind TEXT NOT NULL, item_start REAL NOT NULL, item_end REAL NOT NULL, "
                "original_label TEXT NOT NULL, corrected_label TEXT NOT NULL, sent INTEGER NOT NULL DEFAULT 0)"
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(str(self.path), timeout=5.0)
        try:
            yield con
            con.commit()
        finally:
            con.close()

    def add(self, item_kind: str, item_start: float, item_end: float, original_label: str,
            corrected_label: str) -> Correction:  # fmt: skip
        """Record a correction and return it.

        Raises :class:`~sdk.errors.InputError` for an unknown kind, an empty label, non-finite times
        or ``item_end < item_start``.
        """
        if item_kind not in ITEM_KINDS:
            raise InputError(f"item_kind must be one of {sorted(ITEM_KINDS)}, got {item_kind!r}")
        if not isinstance(corrected_label, str) or not corrected_label:
            raise InputError(f"corrected_label must be a non-empty string, got {corrected_label!r}")
        s, e = float(item_start), float(item_end)
        if not (math.isfinite(s) and math.isfinite(e) and e >= s):
            raise InputError(f"need finite item times with item_end >= item_start, got {item_start!r}, {item_end!r}")
        c = Correction(uuid.uuid4().hex, float(self._clock()), item_kind, s, e, str(original_label), corrected_label)
        with self._connect() as con:
            con.execute("INSERT INTO corrections VALUES (?,?,?,?,?,?,?,?)", (*dataclasses.astuple(c)[:-1], 0))
        return c

    def all(self) -> list[Correction]:
        """Every correction, oldest first."""
        with self._connect() as con:
            rows = con.execute("SELECT * FROM corrections ORDER BY created_at, rowid").fetchall()
        return [Correction(*r[:-1], bool(r[-1])) for r in rows]

    def pending(self, kinds: Optional[Iterable[str]] = None) -> list[Correction]:
        """Corrections not sent yet, oldest first (only of ``kinds`` when given)."""
        keep = None if kinds is None else set(kinds)
        return [c for c in self.all() if not c.sent and (keep is None or c.item_kind in keep)]

    def mark_sent(self, correction_ids: Iterable[str]) -> int:
        """Mark corrections as delivered; returns how many rows changed (marking twice is harmless)."""
        with self._connect() as con:
            return con.executemany("UPDATE corrections SET sent = 1 WHERE correction_id = ? AND sent = 0",
                                   [(i,) for i in correction_ids]).rowcount  # fmt: skip

    def delete_all(self) -> int:
        """Erase every correction; returns how many there were."""
        with self._connect() as con:
            return con.execute("DELETE FROM corrections").rowcount
