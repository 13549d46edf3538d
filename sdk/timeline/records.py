"""Typed records of the on-device timeline. Times are float unix seconds, positions WGS84 degrees.

Every record is a frozen dataclass with ``to_dict`` / ``from_dict`` (JSON-ready, round-trips), so the
local store, the sync payload and the app all use the same shapes.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Optional, Type, TypeVar

T = TypeVar("T")


class _Record:
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: Type[T], d: dict) -> T:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in d:
                v = d[f.name]
                kw[f.name] = tuple(v) if isinstance(v, list) else v
        return cls(**kw)


@dataclasses.dataclass(frozen=True)
class GpsFix(_Record):
    """One GPS fix. ``accuracy_m`` (horizontal radius, m) and ``speed_mps`` may be NaN when unknown."""

    t: float
    lat: float
    lon: float
    accuracy_m: float = math.nan
    speed_mps: float = math.nan


@dataclasses.dataclass(frozen=True)
class TransportEvent(_Record):
    """A stretch of one transport mode, emitted once stable.

    Attributes:
        start, end: Unix seconds.
        mode: One of the model's label names (``still``, ``walk``, ``car``...).
        confidence: Mean smoothed probability of ``mode`` over the stretch, 0..1.
    """

    start: float
    end: float
    mode: str
    confidence: float


@dataclasses.dataclass(frozen=True)
class StayPoint(_Record):
    """Where a person stayed within ``radius_m`` for at least the time threshold.

    Attributes:
        start, end: Unix seconds (first and last fix of the stay).
        lat, lon: Centre (mean of the fixes), degrees.
        n_fixes: Fixes that formed it.
        radius_m: Largest distance of a fix from the centre, m.
    """

    start: float
    end: float
    lat: float
    lon: float
    n_fixes: int
    radius_m: float


@dataclasses.dataclass(frozen=True)
class Visit(_Record):
    """A stay point assigned to a place (``place_id`` stable across days)."""

    start: float
    end: float
    place_id: str
    lat: float
    lon: float


@dataclasses.dataclass(frozen=True)
class Place(_Record):
    """A place the person returns to, found by clustering stay points across days.

    Attributes:
        place_id: Stable id (per user).
        lat, lon: Centre, degrees.
        radius_m: Extent of its stay points, m.
        n_visits: Number of visits.
        total_dwell_s: Sum of visit durations, s.
        label: ``home``, ``work`` or ``other``.
        label_confidence: 0..1.
    """

    place_id: str
    lat: float
    lon: float
    radius_m: float
    n_visits: int
    total_dwell_s: float
    label: str = "other"
    label_confidence: float = 0.0


@dataclasses.dataclass(frozen=True)
class Trip(_Record):
    """Movement between two visits.

    Attributes:
        start, end: Unix seconds.
        origin_place_id, destination_place_id: Places of the visits around it ("" if unknown).
        modes: Transport modes in order (e.g. ``("walk", "bus", "walk")``).
        distance_m: Travelled distance along the GPS track, m.
    """

    start: float
    end: float
    origin_place_id: str
    destination_place_id: str
    modes: tuple
    distance_m: float


@dataclasses.dataclass(frozen=True)
class DrivingEvent(_Record):
    """A driving-behaviour event during a car segment.

    Attributes:
        t: Unix seconds of the peak.
        kind: ``harsh_braking``, ``harsh_acceleration``, ``harsh_cornering``, ``speeding``,
            ``phone_handling`` or ``crash``.
        magnitude: Peak value in the event's unit (m/s² for harsh events and crashes, m/s over the
            limit for speeding, rad/s for phone handling).
        duration_s: Seconds above the threshold.
        confidence: 0..1.
    """

    t: float
    kind: str
    magnitude: float
    duration_s: float
    confidence: float = 1.0


@dataclasses.dataclass(frozen=True)
class DrivingScore(_Record):
    """Per-trip driving score 0..100 and what it was computed from."""

    trip_start: float
    trip_end: float
    score: float
    events_per_100km: float
    distance_m: float
    counts: Optional[dict] = None


#: A drive as the readers return it: its score, distance and driving events per kind (one per car segment).
Drive = DrivingScore
