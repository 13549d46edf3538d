"""Request and response bodies. The day payload is validated as strictly as the SDK builds it, with the
same rules (:mod:`sdk.sync.schema`): unknown fields, fine numbers, raw ids, free text, strings for
numbers, non-finite numbers and days that are not real dates are refused (422 with a ``reason``)."""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from momentsense.sdk.sync import schema as V
from momentsense.sdk.sync.payload import DRIVING_KINDS, MIN_GRID_DEG

EventId = Field(pattern=V.EVENT_ID_RE.pattern)
PlaceTok = Field(pattern=r"^(p_[0-9a-f]{16})?$")
TimeS = Field(ge=0, le=V.MAX_TIME_S)
Category = Literal[V.PLACE_CATEGORIES]  # type: ignore[valid-type]
Mode = Literal[V.TRANSPORT_MODES + ("unknown",)]  # type: ignore[valid-type]
MomentName = Literal[V.MOMENTS]  # type: ignore[valid-type]
DrivingKind = Literal[DRIVING_KINDS]  # type: ignore[valid-type]


def _shared(check, *args):
    """Run a check of :mod:`sdk.sync.schema`; its SchemaError becomes a pydantic error typed by its reason."""
    try:
        return check(*args)
    except V.SchemaError as exc:
        raise PydanticCustomError(exc.reason, str(exc)) from None


class _Strict(BaseModel):
    # strict: "1" is not 1 and true is not 1; no NaN or infinities
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


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
    counts: dict[DrivingKind, Annotated[int, Field(ge=0, le=V.MAX_COUNT)]] = Field(default_factory=dict, max_length=len(DRIVING_KINDS))

    @field_validator("events_per_100km")
    @classmethod
    def _tenths(cls, v: float) -> float:
        if round(v, 1) != v:
            raise ValueError("events_per_100km must be rounded to 0.1")
        return v


class DayIn(_Strict):
    format: Literal["momentsense-sync-day-v1"]
    day: str = Field(pattern=V.DAY_RE.pattern, min_length=10, max_length=10, json_schema_extra={"format": "date"})
    revision: int = Field(ge=0, le=2**62)
    time_rounding_s: int = Field(ge=60, le=86400)
    grid_deg: Optional[float] = Field(default=None, ge=MIN_GRID_DEG, le=1.0)
    visits: list[VisitIn] = Field(default_factory=list, max_length=500)
    trips: list[TripIn] = Field(default_factory=list, max_length=500)
    moments: list[MomentIn] = Field(default_factory=list, max_length=500)
    segments: dict[Annotated[str, Field(max_length=32)], float] = Field(default_factory=dict, max_length=64)
    driving: list[DrivingIn] = Field(default_factory=list, max_length=200)

    @field_validator("day")
    @classmethod
    def _calendar(cls, v: str) -> str:
        _shared(V.day_start_s, v)
        return v

    @model_validator(mode="after")
    def _coarse(self) -> "DayIn":
        r = self.time_rounding_s
        t0 = _shared(V.day_start_s, self.day)
        for rec in [*self.visits, *self.trips, *self.moments]:
            if rec.start % r or rec.end % r:
                raise PydanticCustomError("time_rounding", f"event {rec.id}: start/end must be multiples of time_rounding_s={r}")
            _shared(V.check_event_on_day, t0, rec.start, rec.end, r, f"event {rec.id}")
        for d in self.driving:
            if d.trip_start % r or d.trip_end % r:
                raise PydanticCustomError("time_rounding", f"driving {d.id}: times must be multiples of time_rounding_s={r}")
            _shared(V.check_event_on_day, t0, d.trip_start, d.trip_end, r, f"driving {d.id}")
        for v in self.visits:
            if v.cell is not None:
                _shared(V.check_cell, v.cell, self.grid_deg)
        for name, score in self.segments.items():
            _shared(V.check_segment_name, name)
            _shared(V.check_segment_score, name, score)
        _shared(V.check_unique_event_ids, self.event_ids())
        return self

    def event_ids(self) -> list[str]:
        return [e.id for e in [*self.visits, *self.trips, *self.moments, *self.driving]]


class IngestIn(_Strict):
    days: list[DayIn] = Field(min_length=1, max_length=31)

    @model_validator(mode="after")
    def _unique(self) -> "IngestIn":
        _shared(V.check_unique_event_ids, [i for d in self.days for i in d.event_ids()])
        return self


class IngestOut(BaseModel):
    batch: str
    days_stored: int
    days_stale: int
    events: int


class _FeedbackBase(_Strict):
    event_id: str = EventId


class ModeFeedback(_FeedbackBase):
    field: Literal["mode"]
    value: Literal[V.TRANSPORT_MODES]  # type: ignore[valid-type]


class CategoryFeedback(_FeedbackBase):
    field: Literal["category", "place_category"]
    value: Category


class MomentFeedback(_FeedbackBase):
    field: Literal["moment"]
    value: MomentName


class DidNotHappenFeedback(_FeedbackBase):
    field: Literal["did_not_happen"]
    value: Literal[True]


class TimeFeedback(_FeedbackBase):
    field: Literal["start", "end"]
    value: int = Field(ge=0, le=V.MAX_TIME_S, multiple_of=V.FEEDBACK_TIME_ROUNDING_S)


#: One correction (``sdk.sync.schema.FEEDBACK_KINDS``); the ``field`` decides what ``value`` is.
FeedbackItem = Annotated[Union[ModeFeedback, CategoryFeedback, MomentFeedback, DidNotHappenFeedback, TimeFeedback],
                         Field(discriminator="field")]  # fmt: skip


class FeedbackIn(_Strict):
    items: list[FeedbackItem] = Field(min_length=1, max_length=500)


class FeedbackOut(BaseModel):
    accepted: int
    unknown_event_ids: list[str]


class ErrorItem(BaseModel):
    loc: list[Union[str, int]] = []
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every refusal: ``reason`` is a short machine-readable code, ``detail`` a message or a list of field errors."""

    reason: str
    detail: Union[str, list[ErrorItem]]


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
