"""The day payload: the only thing the SDK uploads, an aggregated and coarsened timeline.

:func:`build_day_payload` turns one day's typed records into a JSON-ready dict,
``momentsense-sync-day-v1``::

    {"format": "momentsense-sync-day-v1", "day": "2023-11-13", "revision": 3,
     "time_rounding_s": 900, "grid_deg": null,
     "visits":  [{"id", "start", "end", "duration_s", "place", "category"[, "cell"]}],
     "trips":   [{"id", "start", "end", "duration_s", "origin", "destination", "modes", "distance_m"}],
     "moments": [{"id", "start", "end", "moment"}],
     "segments": {"commuter": 0.8},
     "driving": [{"id", "trip_start", "trip_end", "score", "events_per_100km", "distance_m", "counts"}]}

What it never contains:

* raw sensor samples or GPS fixes;
* coordinates, unless the app opts in with ``PayloadOptions.coarse_grid_deg``: then each visit has a
  ``cell`` ``[lat, lon]`` snapped to that grid (0.01° ≈ 1.1 km north-south; east-west 1.1 km × cos(lat),
  e.g. 0.73 km at 48.9° N). Grids finer than 0.005° (≈ 550 m) are refused;
* the device's place ids: places are ``"p_" + HMAC-SHA256(salt, place_id)[:16 hex]`` with a per-user
  secret salt (:func:`load_or_create_salt`) that never leaves the phone: stable per user, different
  between users, not reversible (the place id itself holds no coordinates either);
* exact times: ``start``/``end`` are unix seconds rounded to ``time_rounding_s`` (default 900 s),
  durations to ``duration_rounding_s`` (60 s), distances to ``distance_rounding_m`` (100 m), scores to
  integers, rates to 0.1, segment scores to 0.01;
* free text: categories, modes, moments and segment names come from fixed vocabularies (anything
  else becomes ``other`` / ``unknown`` / is dropped).

Event ids (``"e_" + HMAC(salt, kind and exact times)[:20 hex]``) let the user's feedback refer to an
event; the server stores a day as a unit and keeps the highest ``revision``, so re-uploading a day
replaces it instead of duplicating its events.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import hmac
import math
import os
import re
import secrets
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.timeline.records import DrivingScore, Place, Trip, Visit
from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES

FORMAT = "momentsense-sync-day-v1"
#: Smallest grid the coarse-location opt-in accepts, degrees (≈ 550 m).
MIN_GRID_DEG = 0.005
#: Modes a trip may list (the transport model's vocabulary plus ``unknown``).
MODES: tuple[str, ...] = TRANSPORT_MODES + ("unknown",)
#: Driving event kinds that may be counted.
DRIVING_KINDS = ("harsh_braking", "harsh_acceleration", "harsh_cornering", "speeding", "phone_handling", "crash")
SEGMENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SALT_BYTES = 32
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclasses.dataclass(frozen=True)
class PayloadOptions:
    """How coarse the upload is.

    Attributes:
        time_rounding_s: Start/end times are rounded to multiples of this, s (default 15 min).
        duration_rounding_s: Durations are rounded to multiples of this, s.
        distance_rounding_m: Trip and driving distances are rounded to multiples of this, m.
        coarse_grid_deg: None (default): no coordinates at all. A number >= 0.005: visits carry their
            position snapped to this grid, degrees (0.01° ≈ 1.1 km).
    """

    time_rounding_s: float = 900.0
    duration_rounding_s: float = 60.0
    distance_rounding_m: float = 100.0
    coarse_grid_deg: Optional[float] = None

    def __post_init__(self) -> None:
        for name in ("time_rounding_s", "duration_rounding_s", "distance_rounding_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 1):
                raise InputError(f"PayloadOptions.{name} must be a finite number >= 1, got {v!r}")
        g = self.coarse_grid_deg
        if g is not None and not (isinstance(g, (int, float)) and MIN_GRID_DEG <= g <= 1.0):
            raise InputError(f"PayloadOptions.coarse_grid_deg must be None or in [{MIN_GRID_DEG}, 1] degrees, got {g!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PayloadOptions":
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class MomentSpan:
    """A trip's moment (why the person moved): ``start``/``end`` unix s, ``moment`` in ``MOMENTS``."""

    start: float
    end: float
    moment: str


@dataclasses.dataclass(frozen=True)
class SyncDay:
    """One local day of one user's typed timeline records (input of :func:`build_day_payload`).

    Attributes:
        day: Local date ``YYYY-MM-DD``.
        visits, trips: Records whose start falls on this day.
        places: The user's places (their ``label`` is the visit category unless overridden).
        place_categories: ``place_id`` → category (``shop``, ``gym``...) overriding ``Place.label``.
        moments: Moments of the day's trips.
        segments: Segment name → membership score 0..1 (e.g. ``{"commuter": 0.83}``).
        driving_scores: Scores of the day's car trips.
    """

    day: str
    visits: Sequence[Visit] = ()
    trips: Sequence[Trip] = ()
    places: Sequence[Place] = ()
    place_categories: Mapping[str, str] = dataclasses.field(default_factory=dict)
    moments: Sequence[MomentSpan] = ()
    segments: Mapping[str, float] = dataclasses.field(default_factory=dict)
    driving_scores: Sequence[DrivingScore] = ()


def load_or_create_salt(path: str | Path) -> bytes:
    """The per-user secret salt (32 random bytes) kept in ``path`` (created 0600 on first use).

    It never leaves the device; deleting it (erasure) makes every earlier place id unlinkable.
    """
    path = Path(path)
    if path.exists():
        data = path.read_bytes()
        if len(data) != SALT_BYTES:
            raise InputError(f"{path}: salt file must hold {SALT_BYTES} bytes, found {len(data)}")
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    data = secrets.token_bytes(SALT_BYTES)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return data


def _mac(salt: bytes, msg: str, n_hex: int) -> str:
    return hmac.new(salt, msg.encode("utf-8"), hashlib.sha256).hexdigest()[:n_hex]


def place_token(salt: bytes, place_id: str) -> str:
    """``"p_"`` + 16 hex digits of HMAC-SHA256(salt, place id); ``""`` for an unknown place."""
    _check_salt(salt)
    return "p_" + _mac(salt, "place:" + place_id, 16) if place_id else ""


def event_id(salt: bytes, kind: str, start: float, end: float) -> str:
    """``"e_"`` + 20 hex digits of HMAC-SHA256(salt, kind and exact times): stable, opaque."""
    _check_salt(salt)
    return "e_" + _mac(salt, f"{kind}:{float(start):.3f}:{float(end):.3f}", 20)


def _check_salt(salt: bytes) -> None:
    if not isinstance(salt, (bytes, bytearray)) or len(salt) < 16:
        raise InputError(f"salt must be at least 16 bytes (use load_or_create_salt), got {type(salt).__name__}"
                         f" of length {len(salt) if hasattr(salt, '__len__') else '?'}")


def _round_to(x: float, step: float) -> int:
    return int(round(float(x) / step) * step)


def _snap(v: float, g: float) -> float:
    decimals = max(0, -int(math.floor(math.log10(g))) + 2)
    return round(round(v / g) * g, decimals)


def day_of(t: float, utc_offset_s: float = 0.0) -> str:
    """Local date ``YYYY-MM-DD`` of unix time ``t``."""
    return _dt.datetime.fromtimestamp(float(t) + utc_offset_s, _dt.timezone.utc).strftime("%Y-%m-%d")


def build_day_payload(day: SyncDay, salt: bytes, options: PayloadOptions = PayloadOptions(),
                      revision: int = 0) -> dict:  # fmt: skip
    """The upload of one day (see the module docstring for the format and what is coarsened).

    Parameters
    ----------
    day : SyncDay
        The day's records (times unix s, distances m, positions degrees).
    salt : bytes
        The user's secret salt (:func:`load_or_create_salt`).
    options : PayloadOptions
    revision : int
        Increases each time the device rebuilds this day; the server keeps the highest.

    Returns
    -------
    dict
        JSON-ready; contains only ints, short floats from fixed roundings and vocabulary strings.
    """
    if not isinstance(day, SyncDay):
        raise InputError(f"build_day_payload needs a SyncDay, got {type(day).__name__}")
    if not _DAY_RE.match(day.day):
        raise InputError(f"SyncDay.day must be YYYY-MM-DD, got {day.day!r}")
    if not isinstance(revision, int) or revision < 0:
        raise InputError(f"revision must be an int >= 0, got {revision!r}")
    _check_salt(salt)
    o = options
    cats = {p.place_id: p.label for p in day.places}
    cats.update(day.place_categories)
    pos = {p.place_id: (p.lat, p.lon) for p in day.places}

    def times(start: float, end: float) -> dict:
        if not (math.isfinite(start) and math.isfinite(end) and end >= start):
            raise InputError(f"event times must be finite with end >= start, got {start!r}, {end!r}")
        return {"start": _round_to(start, o.time_rounding_s), "end": _round_to(end, o.time_rounding_s),
                "duration_s": _round_to(end - start, o.duration_rounding_s)}  # fmt: skip

    visits = []
    for v in sorted(day.visits, key=lambda v: v.start):
        cat = cats.get(v.place_id, "other")
        rec = {"id": event_id(salt, "visit", v.start, v.end), **times(v.start, v.end),
               "place": place_token(salt, v.place_id), "category": cat if cat in PLACE_CATEGORIES else "other"}  # fmt: skip
        if o.coarse_grid_deg is not None:
            lat, lon = pos.get(v.place_id, (v.lat, v.lon))
            rec["cell"] = [_snap(lat, o.coarse_grid_deg), _snap(lon, o.coarse_grid_deg)]
        visits.append(rec)
    trips = []
    for tr in sorted(day.trips, key=lambda t: t.start):
        modes = [m if m in MODES else "unknown" for m in tr.modes]
        trips.append({"id": event_id(salt, "trip", tr.start, tr.end), **times(tr.start, tr.end),
                      "origin": place_token(salt, tr.origin_place_id),
                      "destination": place_token(salt, tr.destination_place_id), "modes": modes,
                      "distance_m": _round_to(max(tr.distance_m, 0.0), o.distance_rounding_m)})  # fmt: skip
    moments = []
    for m in sorted(day.moments, key=lambda m: m.start):
        if m.moment in MOMENTS:
            t = times(m.start, m.end)
            moments.append({"id": event_id(salt, "moment", m.start, m.end), "start": t["start"], "end": t["end"],
                            "moment": m.moment})  # fmt: skip
    segments = {}
    for name, score in sorted(day.segments.items()):
        if SEGMENT_NAME_RE.match(str(name)) and math.isfinite(float(score)):
            segments[str(name)] = round(min(max(float(score), 0.0), 1.0), 2)
    driving = []
    for s in sorted(day.driving_scores, key=lambda s: s.trip_start):
        t = times(s.trip_start, s.trip_end)
        counts = {k: int(v) for k, v in sorted((s.counts or {}).items()) if k in DRIVING_KINDS}
        driving.append({"id": event_id(salt, "driving", s.trip_start, s.trip_end), "trip_start": t["start"],
                        "trip_end": t["end"], "score": int(round(min(max(s.score, 0.0), 100.0))),
                        "events_per_100km": round(float(s.events_per_100km), 1) if math.isfinite(s.events_per_100km) else 0.0,
                        "distance_m": _round_to(max(s.distance_m, 0.0), o.distance_rounding_m), "counts": counts})  # fmt: skip
    return {
        "format": FORMAT, "day": day.day, "revision": revision,
        "time_rounding_s": int(o.time_rounding_s), "grid_deg": o.coarse_grid_deg,
        "visits": visits, "trips": trips, "moments": moments, "segments": segments, "driving": driving,
    }  # fmt: skip


def sync_day_from_store(store_day: Any, places: Sequence[Place] = (), **day_fields) -> SyncDay:
    """The :class:`SyncDay` of a day read from the local store (``TimelineStore.timeline(day)``).

    The store returns every record *overlapping* the day (a night at home is on two days); here a
    record belongs to the day its start falls in (``start_s <= start < end_s``), so each event is
    uploaded with exactly one day. ``day_fields``: ``moments``, ``segments``, ``place_categories``.
    """
    a, b = float(store_day.start_s), float(store_day.end_s)
    return SyncDay(
        day=store_day.day.isoformat(), places=tuple(places),
        visits=tuple(v for v in store_day.visits if a <= v.start < b),
        trips=tuple(t for t in store_day.trips if a <= t.start < b),
        driving_scores=tuple(s for s in getattr(store_day, "driving_scores", ()) if a <= s.trip_start < b),
        **day_fields,
    )  # fmt: skip


def split_days(visits: Sequence[Visit] = (), trips: Sequence[Trip] = (), moments: Sequence[MomentSpan] = (),
               driving_scores: Sequence[DrivingScore] = (), places: Sequence[Place] = (),
               utc_offset_s: float = 0.0, **day_fields) -> list[SyncDay]:  # fmt: skip
    """Group records by the local day of their start; one :class:`SyncDay` per day, in date order.

    ``places`` and ``day_fields`` (``place_categories``, ``segments``) are shared by every day.
    """
    buckets: dict[str, dict] = {}

    def put(name, rec, t):
        buckets.setdefault(day_of(t, utc_offset_s), {"visits": [], "trips": [], "moments": [], "driving_scores": []})[name].append(rec)  # fmt: skip

    for v in visits:
        put("visits", v, v.start)
    for t in trips:
        put("trips", t, t.start)
    for m in moments:
        put("moments", m, m.start)
    for s in driving_scores:
        put("driving_scores", s, s.trip_start)
    return [SyncDay(day=d, places=tuple(places), **{k: tuple(v) for k, v in b.items()}, **day_fields)
            for d, b in sorted(buckets.items())]  # fmt: skip
