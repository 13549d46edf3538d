"""One user's event history as columns, the input of every segment stage (numpy only).

:class:`UserEvents` is what the phone keeps (its local timeline) and what the trainer slices out of
a population :class:`~sdk.io.timeline_file.Timeline`: ``start``/``end`` (unix s), ``label`` (index
into :data:`sdk.io.timeline_file.LABELS`; visits first, then transport modes) and ``place`` (a per-user
place code, -1 for transport events). It is validated once at the door.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.io.timeline_file import LABELS, PLACE_CATEGORIES, Event, Timeline

DAY_S = 86400.0
#: Labels below this index are visits (place categories); the others are transport modes.
N_PLACE_LABELS = len(PLACE_CATEGORIES)
_LABEL_INDEX = {lab: i for i, lab in enumerate(LABELS)}


@dataclasses.dataclass(frozen=True)
class UserEvents:
    """One user's events, sorted by start.

    Attributes:
        start, end: float64 ``(n,)`` unix seconds, ``end >= start``.
        label: int64 ``(n,)`` index into :data:`sdk.io.timeline_file.LABELS`.
        place: int64 ``(n,)`` per-user place code for visits (-1 = none/transport).
    """

    start: np.ndarray
    end: np.ndarray
    label: np.ndarray
    place: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @property
    def is_visit(self) -> np.ndarray:
        return self.label < N_PLACE_LABELS

    @property
    def span_s(self) -> float:
        """Seconds from the first start to the last end (0 when empty)."""
        return float(self.end[-1] - self.start[0]) if len(self) else 0.0

    def between(self, t0: float, t1: float) -> UserEvents:
        """Events that start in ``[t0, t1)``."""
        lo, hi = np.searchsorted(self.start, [t0, t1], side="left")
        return UserEvents(self.start[lo:hi], self.end[lo:hi], self.label[lo:hi], self.place[lo:hi])

    @classmethod
    def create(cls, start, end, label, place=None) -> UserEvents:
        """Validate and build; ``label`` may be codes or label strings.

        Raises
        ------
        InputError
            Unequal lengths, non-finite times, ``end < start``, starts going backwards, unknown labels.
        """
        start = np.asarray(start, np.float64).reshape(-1)
        end = np.asarray(end, np.float64).reshape(-1)
        lab = np.asarray(label)
        if lab.dtype.kind in "US" or lab.dtype == object:
            bad = [str(x) for x in lab.reshape(-1) if str(x) not in _LABEL_INDEX]
            if bad:
                raise InputError(f"unknown event label {bad[0]!r} ({len(bad)} events); expected one of {list(LABELS)}")
            lab = np.array([_LABEL_INDEX[str(x)] for x in lab.reshape(-1)], np.int64)
        lab = np.asarray(lab, np.int64).reshape(-1)
        n = len(start)
        place = np.full(n, -1, np.int64) if place is None else np.asarray(place, np.int64).reshape(-1)
        if not (len(end) == len(lab) == len(place) == n):
            raise InputError(f"start, end, label and place must have the same length, got {n}, {len(end)}, {len(lab)}, {len(place)}")
        if n:
            if not (np.all(np.isfinite(start)) and np.all(np.isfinite(end))):
                raise InputError("event start/end must be finite unix seconds")
            bad = np.flatnonzero((lab < 0) | (lab >= len(LABELS)))
            if len(bad):
                raise InputError(f"label code {lab[bad[0]]} at index {bad[0]} is not in 0..{len(LABELS) - 1}")
            bad = np.flatnonzero(end < start)
            if len(bad):
                raise InputError(f"event {bad[0]}: end {end[bad[0]]!r} < start {start[bad[0]]!r}")
            bad = np.flatnonzero(np.diff(start) < 0)
            if len(bad):
                raise InputError(f"events must be sorted by start; event {bad[0] + 1} starts before event {bad[0]}")
        return cls(start, end, lab, place)

    @classmethod
    def from_events(cls, events: Iterable[Event | dict]) -> UserEvents:
        """From :class:`~sdk.io.timeline_file.Event` records or dicts (one user, in time order)."""
        rows = [e if isinstance(e, Event) else Event.from_dict(dict(e)) for e in events]
        places: dict[str, int] = {}
        pl = [places.setdefault(e.place_id, len(places)) if e.place_id else -1 for e in rows]
        return cls.create([e.start for e in rows], [e.end for e in rows], [e.label for e in rows] if rows else np.zeros(0, np.int64), pl)

    @classmethod
    def from_timeline(cls, tl: Timeline, u: int) -> UserEvents:
        """User code ``u`` of a (validated) population timeline; no copy of the columns' dtype checks."""
        s = tl.user_slice(u)
        return cls(tl.start[s], tl.end[s], tl.label[s].astype(np.int64), tl.place_id[s].astype(np.int64))


def require_history(ev: UserEvents, min_days: float, what: str) -> None:
    """:class:`InputError` when the history is empty or spans fewer than ``min_days`` days."""
    if len(ev) == 0:
        raise InputError(f"{what}: the timeline is empty (no events); at least {min_days:g} days are needed")
    days = ev.span_s / DAY_S
    if days < min_days:
        raise InputError(f"{what}: the history spans {days:.1f} days; at least {min_days:g} days are needed")


def users_of(tl: Timeline, codes: Sequence[int] | None = None) -> list[UserEvents]:
    """:class:`UserEvents` of the given user codes (default: all) of a timeline."""
    codes = range(len(tl.users)) if codes is None else codes
    return [UserEvents.from_timeline(tl, int(u)) for u in codes]
