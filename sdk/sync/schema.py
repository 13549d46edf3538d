"""The rules a day payload and a feedback item must follow, shared by the phone and the server.

Pure Python (standard library only): the SDK's payload builder (:mod:`sdk.sync.payload`) runs these
checks on what it builds, and the server (``trainer/server/schemas.py``) runs the same checks on what
it receives, so a payload the phone accepts is one the server stores and vice versa.

Every check raises :class:`SchemaError`, an :class:`~sdk.errors.InputError` with a machine-readable
``reason`` (``"segment_name"``, ``"day_format"``, ``"day_window"``...), which the server returns in
its 422 answers.

Rules:

* segment names match ``^[a-z][a-z0-9_]{0,31}$`` (no free text leaves the phone);
* a day is ``YYYY-MM-DD`` in ASCII digits and a real calendar date, not before :data:`MIN_DAY`, and
  (on the server) within ``[receipt - max_age_days, receipt + MAX_DAY_AHEAD_S]``;
* every event of a day starts on that local day for some UTC offset in ±14 h (plus the time rounding);
* counts are integers in ``[0, MAX_COUNT]``; numbers are finite; strings are never numbers;
* event ids are unique within a batch (all days of one upload).

The feedback vocabulary (:data:`FEEDBACK_KINDS`): what a user may correct about an event.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Iterable, Mapping, Optional

from momentsense.sdk.errors import InputError

#: Segment names: lower-case identifiers of at most 32 characters.
SEGMENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$", re.ASCII)
#: Calendar day, ASCII digits only (``\d`` would also match e.g. Arabic-Indic digits).
DAY_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
#: Earliest day accepted anywhere.
MIN_DAY = "2010-01-01"
#: Largest UTC offset of a local day, s (UTC+14 / UTC-12, rounded up).
MAX_UTC_OFFSET_S = 14 * 3600
#: How far after the receipt time a day may lie, s (a day that has started somewhere on Earth).
MAX_DAY_AHEAD_S = 86400 + MAX_UTC_OFFSET_S
#: Largest count of one driving event kind on one trip.
MAX_COUNT = 10_000
#: Largest unix time accepted, s (year 2242; the server's integer column).
MAX_TIME_S = 2**33

#: Vocabularies (the same tuples as ``sdk.records.TRANSPORT_MODES`` and ``sdk.io.timeline_file``; kept
#: here so the checks import nothing beyond the standard library; a test keeps them equal).
TRANSPORT_MODES: tuple[str, ...] = ("still", "walk", "run", "bike", "car", "bus", "train", "subway")
PLACE_CATEGORIES: tuple[str, ...] = (
    "home", "work", "school", "shop", "gym", "bar", "restaurant", "friend", "park", "travel", "other",
)  # fmt: skip
MOMENTS: tuple[str, ...] = (
    "commute", "school_run", "shopping", "business_trip", "leisure_trip", "sport", "night_out", "errand",
)  # fmt: skip

#: Feedback kinds (the ``field`` of a feedback item) and what their ``value`` is:
#:
#: * ``mode``: the trip's mode, one of :data:`TRANSPORT_MODES`;
#: * ``category``: this visit's place category, one of :data:`PLACE_CATEGORIES`;
#: * ``place_category``: the category of the visit's place, for every visit of that place
#:   (recategorising a place; a category from the fixed list, never a free-text name);
#: * ``moment``: the trip's moment, one of :data:`MOMENTS`;
#: * ``did_not_happen``: ``true`` (the event is dropped from the training data);
#: * ``start`` / ``end``: the corrected time, integer unix seconds, a multiple of :data:`FEEDBACK_TIME_ROUNDING_S`.
FEEDBACK_MODE = "mode"
FEEDBACK_CATEGORY = "category"
FEEDBACK_PLACE_CATEGORY = "place_category"
FEEDBACK_MOMENT = "moment"
FEEDBACK_DID_NOT_HAPPEN = "did_not_happen"
FEEDBACK_START = "start"
FEEDBACK_END = "end"
FEEDBACK_KINDS: tuple[str, ...] = (FEEDBACK_MODE, FEEDBACK_CATEGORY, FEEDBACK_PLACE_CATEGORY, FEEDBACK_MOMENT,
                                   FEEDBACK_DID_NOT_HAPPEN, FEEDBACK_START, FEEDBACK_END)  # fmt: skip
#: Kinds whose value is a word from a fixed vocabulary.
FEEDBACK_VOCABULARIES: dict[str, tuple[str, ...]] = {
    FEEDBACK_MODE: TRANSPORT_MODES, FEEDBACK_CATEGORY: PLACE_CATEGORIES,
    FEEDBACK_PLACE_CATEGORY: PLACE_CATEGORIES, FEEDBACK_MOMENT: MOMENTS,
}  # fmt: skip
#: Corrected times are rounded to this, s (no finer than the app needs).
FEEDBACK_TIME_ROUNDING_S = 60
EVENT_ID_RE = re.compile(r"^e_[0-9a-f]{20}$", re.ASCII)


class SchemaError(InputError):
    """A payload or feedback item that breaks a rule; ``reason`` is a short machine-readable code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_int(value: Any, name: str, lo: int, hi: int, reason: str = "number_range") -> int:
    """``value`` if it is an ``int`` (not a bool, not a string) in ``[lo, hi]``; else :class:`SchemaError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError("number_type", f"{name} must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise SchemaError(reason, f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_number(value: Any, name: str, lo: float, hi: float) -> float:
    """``value`` if it is a finite int or float (not a bool or string) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError("number_type", f"{name} must be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise SchemaError("number_finite", f"{name} must be finite, got {value!r}")
    if not lo <= value <= hi:
        raise SchemaError("number_range", f"{name} must be in [{lo}, {hi}], got {value!r}")
    return value


def check_segment_name(name: Any) -> str:
    """A segment name matching :data:`SEGMENT_NAME_RE`."""
    if not isinstance(name, str) or not SEGMENT_NAME_RE.match(name):
        raise SchemaError("segment_name", f"segment name must match {SEGMENT_NAME_RE.pattern}, got {str(name)[:40]!r}")
    return name


def check_segment_score(name: str, score: Any) -> float:
    """A segment score: finite, in [0, 1], rounded to 0.01."""
    check_number(score, f"segment {name!r} score", 0.0, 1.0)
    if round(score, 2) != score:
        raise SchemaError("segment_score", f"segment {name!r} score must be rounded to 0.01, got {score!r}")
    return float(score)


def day_start_s(day: Any) -> int:
    """Unix time of ``day``'s midnight UTC, s, after checking it is an ASCII ``YYYY-MM-DD`` real date."""
    if not isinstance(day, str) or not DAY_RE.match(day):
        raise SchemaError("day_format", f"day must be YYYY-MM-DD in ASCII digits, got {str(day)[:20]!r}")
    try:
        d = _dt.date(int(day[:4]), int(day[5:7]), int(day[8:]))
    except ValueError:
        raise SchemaError("day_format", f"day {day!r} is not a calendar date") from None
    if day < MIN_DAY:
        raise SchemaError("day_window", f"day {day} is before {MIN_DAY}")
    return int(_dt.datetime(d.year, d.month, d.day, tzinfo=_dt.timezone.utc).timestamp())


def check_day(day: Any, now_s: Optional[float] = None, max_age_days: Optional[float] = None) -> int:
    """Check a day string; with ``now_s`` (receipt time, unix s) also that it is not in the future
    (beyond :data:`MAX_DAY_AHEAD_S`) and, with ``max_age_days``, not older than that. Returns its midnight UTC."""
    t = day_start_s(day)
    if now_s is not None:
        if t > now_s + MAX_DAY_AHEAD_S:
            raise SchemaError("day_window", f"day {day} lies in the future")
        if max_age_days is not None and max_age_days > 0 and t + 86400 < now_s - max_age_days * 86400:
            raise SchemaError("day_window", f"day {day} is more than {max_age_days:g} days old")
    return t


def check_event_on_day(day_start: int, start: int, end: int, rounding_s: int, event: str) -> None:
    """An event of a day: ``end >= start`` and ``start`` on that local day for a UTC offset within
    ±:data:`MAX_UTC_OFFSET_S` (plus one rounding step either side)."""
    if end < start:
        raise SchemaError("event_times", f"{event}: end {end} before start {start}")
    slack = MAX_UTC_OFFSET_S + rounding_s
    if not day_start - slack <= start < day_start + 86400 + slack:
        raise SchemaError("event_day", f"{event}: start {start} is not on its day (midnight UTC {day_start})")


def check_counts(counts: Mapping, kinds: Iterable[str]) -> None:
    """Driving counts: keys from ``kinds``, integer values in ``[0, MAX_COUNT]``."""
    allowed = set(kinds)
    for k, v in counts.items():
        if k not in allowed:
            raise SchemaError("count_kind", f"count kind must be one of {sorted(allowed)}, got {str(k)[:40]!r}")
        check_int(v, f"count {k}", 0, MAX_COUNT, "count_range")


def check_cell(cell: Any, grid_deg: Optional[float]) -> None:
    """A visit's coarse cell ``[lat, lon]``: finite, within ±90 / ±180 degrees, on the ``grid_deg`` grid."""
    if grid_deg is None:
        raise SchemaError("cell_grid", "visit cells need grid_deg")
    lat = check_number(cell[0], "cell latitude", -90.0, 90.0)
    lon = check_number(cell[1], "cell longitude", -180.0, 180.0)
    for c in (lat, lon):
        if abs(c / grid_deg - round(c / grid_deg)) > 1e-6:
            raise SchemaError("cell_grid", f"cell {c!r} is not on the {grid_deg:g}° grid")


def check_unique_event_ids(ids: Iterable[str]) -> None:
    """Event ids must not repeat within one upload (a day or a batch of days)."""
    seen: set = set()
    for i in ids:
        if i in seen:
            raise SchemaError("duplicate_event_id", f"event id {i} appears twice in one upload")
        seen.add(i)


def check_feedback(field: Any, value: Any) -> None:
    """A feedback item's ``field`` (one of :data:`FEEDBACK_KINDS`) and its ``value`` (see there)."""
    if field not in FEEDBACK_KINDS:
        raise SchemaError("feedback_kind", f"feedback field must be one of {list(FEEDBACK_KINDS)}, got {str(field)[:40]!r}")
    if field in FEEDBACK_VOCABULARIES:
        vocab = FEEDBACK_VOCABULARIES[field]
        if not isinstance(value, str) or value not in vocab:
            raise SchemaError("feedback_value", f"{field} must be one of {list(vocab)}, got {str(value)[:40]!r}")
    elif field == FEEDBACK_DID_NOT_HAPPEN:
        if value is not True:
            raise SchemaError("feedback_value", f"{field} takes the value true, got {str(value)[:40]!r}")
    else:
        check_int(value, field, 0, MAX_TIME_S, "feedback_value")
        if value % FEEDBACK_TIME_ROUNDING_S:
            raise SchemaError("feedback_value", f"{field} must be a multiple of {FEEDBACK_TIME_ROUNDING_S} s")


def check_day_payload(p: Mapping, now_s: Optional[float] = None, max_age_days: Optional[float] = None,
                      driving_kinds: Iterable[str] = ()) -> None:  # fmt: skip
    """The semantic rules above on a built ``momentsense-sync-day-v1`` dict (the builder's output).

    ``now_s``/``max_age_days``: the receipt-time window (server side; the phone leaves them None).
    Structure (field names and types) is the server's pydantic models' job; this checks the values.
    """
    t0 = check_day(p.get("day"), now_s, max_age_days)
    r = check_int(p.get("time_rounding_s"), "time_rounding_s", 1, 86400)
    for name, score in (p.get("segments") or {}).items():
        check_segment_score(check_segment_name(name), score)
    ids = []
    for kind in ("visits", "trips", "moments"):
        for e in p.get(kind) or ():
            start = check_int(e.get("start"), "start", 0, MAX_TIME_S)
            end = check_int(e.get("end"), "end", 0, MAX_TIME_S)
            check_event_on_day(t0, start, end, r, f"{kind[:-1]} {e.get('id')}")
            if e.get("cell") is not None:
                check_cell(e["cell"], p.get("grid_deg"))
            ids.append(e.get("id"))
    for d in p.get("driving") or ():
        start = check_int(d.get("trip_start"), "trip_start", 0, MAX_TIME_S)
        end = check_int(d.get("trip_end"), "trip_end", 0, MAX_TIME_S)
        check_event_on_day(t0, start, end, r, f"driving {d.get('id')}")
        check_number(d.get("events_per_100km"), "events_per_100km", 0.0, 1e6)
        if driving_kinds:
            check_counts(d.get("counts") or {}, driving_kinds)
        ids.append(d.get("id"))
    check_unique_event_ids(ids)
