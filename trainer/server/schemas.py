"""Request and response bodies. The day payload is validated as strictly as the SDK builds it
(:mod:`sdk.sync.payload`): unknown fields, fine numbers, raw ids and free text are refused (422)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.sync.payload import DRIVING_KINDS, MIN_GRID_DEG
from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES

EventId = Field(pattern=r"^e_[0-9a-f]{20}$")
PlaceTok = Field(pattern=r"^(p_[0-9a-f]{16})?$")
TimeS = Field(ge=0, le=2**33)
Category = Literal[PLACE_CATEGORIES]  # type: ignore[valid-type]
Mode = Literal[TRANSPORT_MODES + ("unknown",)]  # type: ignore[valid-type]
MomentName = Literal[MOMENTS]  # type: ignore[valid-type]
DrivingKind = Literal[DRIVING_KINDS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VisitIn(_Strict):
    id: str = EventId
    start: int = TimeS
    end: int = TimeS
    duration_s: int = Field(ge=0, le=10**7, multiple_of=60)
    place: str = PlaceTok
    category: Category
    cell: Optional[list[float]] = Field(default=None, min_length=2, max_length=2)


class TripIn(_Strict):
    id: str = EventId
    start: int = TimeS
    end: int = TimeS
    duration_s: int = Field(ge=0, le=10**7, multiple_of=60)
    origin: str = PlaceTok
    destination: str = PlaceTok
    modes: list[Mode] = Field(max_length=16)
    distance_m: int = Field(ge=0, le=10**8, multiple_of=100)


class MomentIn(_Strict):
    id: str = EventId
    start: int = TimeS
    end: int = TimeS
    moment: MomentName


class DrivingIn(_Strict):
    id: str = EventId
    trip_start: int = TimeS
    trip_end: int = TimeS
    score: int = Field(ge=0, le=100)
    events_per_100km: float = Field(ge=0, le=1e6)
    distance_m: int = Field(ge=0, le=10**8, multiple_of=100)
    counts: dict[DrivingKind, int] = Field(default_factory=dict)

    @field_validator("events_per_100km")
    @classmethod
    def _tenths(cls, v: float) -> float:
        if round(v, 1) != v:
            raise ValueError("events_per_100km must be rounded to 0.1")
        return v


class DayIn(_Strict):
    format: Literal["momentsense-sync-day-v1"]
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    revision: int = Field(ge=0, le=2**62)
    time_rounding_s: int = Field(ge=60, le=86400)
    grid_deg: Optional[float] = Field(default=None, ge=MIN_GRID_DEG, le=1.0)
    visits: list[VisitIn] = Field(default_factory=list, max_length=500)
    trips: list[TripIn] = Field(default_factory=list, max_length=500)
    moments: list[MomentIn] = Field(default_factory=list, max_length=500)
    segments: dict[str, float] = Field(default_factory=dict, max_length=64)
    driving: list[DrivingIn] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _coarse(self) -> "DayIn":
        r = self.time_rounding_s
        for rec in [*self.visits, *self.trips, *self.moments]:
            if rec.start % r or rec.end % r or rec.end < rec.start:
                raise ValueError(f"event {rec.id}: start/end must be multiples of time_rounding_s={r} with end >= start")
        for d in self.driving:
            if d.trip_start % r or d.trip_end % r:
                raise ValueError(f"driving {d.id}: times must be multiples of time_rounding_s={r}")
        for v in self.visits:
            if v.cell is not None:
                g = self.grid_deg
                if g is None or any(abs(c / g - round(c / g)) > 1e-6 or abs(c) > 180 for c in v.cell):
                    raise ValueError("visit cells need grid_deg and must lie on that grid")
        for name, score in self.segments.items():
            if not (0.0 <= score <= 1.0) or round(score, 2) != score or len(name) > 32 or not name.isidentifier():
                raise ValueError(f"segment {name!r}: name an identifier, score in [0, 1] rounded to 0.01")
        ids = [e.id for e in [*self.visits, *self.trips, *self.moments, *self.driving]]
        if len(ids) != len(set(ids)):
            raise ValueError("event ids must be unique within a day")
        return self


class IngestIn(_Strict):
    days: list[DayIn] = Field(min_length=1, max_length=31)


class IngestOut(BaseModel):
    batch: str
    days_stored: int
    days_stale: int
    events: int


class FeedbackItem(_Strict):
    event_id: str = EventId
    field: Literal["mode", "category", "moment"]
    value: str = Field(min_length=1, max_length=32)

    @model_validator(mode="after")
    def _vocab(self) -> "FeedbackItem":
        vocab = {"mode": TRANSPORT_MODES, "category": PLACE_CATEGORIES, "moment": MOMENTS}[self.field]
        if self.value not in vocab:
            raise ValueError(f"{self.field} must be one of {list(vocab)}")
        return self


class FeedbackIn(_Strict):
    items: list[FeedbackItem] = Field(min_length=1, max_length=500)


class FeedbackOut(BaseModel):
    accepted: int
    unknown_event_ids: list[str]


class ErasureOut(BaseModel):
    erased: bool
    receipt: str
    deleted: dict[str, int]


class EventOut(BaseModel):
    event_id: str
    kind: str
    day: str
    start: int
    end: int
    data: dict


class ModelInfo(BaseModel):
    name: str
    version: str
    task: str
    sha256: str
    size_bytes: int
    signed: bool


class ModelOut(BaseModel):
    manifest: dict
    signature: Optional[str]
    download: str
