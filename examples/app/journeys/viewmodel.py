"""The app's logic, without a window: what each screen shows and what a tap does (plain Python).

Kivy widgets (:mod:`journeys.ui`) only draw these objects and forward taps; everything worth testing
lives here and is tested without a window. Times are unix seconds; positions along a day are fractions
0..1 of the local day; colours are RGBA tuples 0..1.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from pathlib import Path
from typing import Any, Optional, Sequence

from momentsense.sdk.modes import MODES

from journeys.bridge import DAY_S, Consent, ContextView, DayView, day_start_s, local_day
from journeys.stores import CorrectionStore

#: Transport modes and their colours (the SDK's mode registry, :mod:`sdk.modes`).
MODE_COLORS = {m.name: m.rgba for m in MODES.values()}
#: Place categories (formats.md timeline labels) and their colours.
PLACE_COLORS = {
    "home": (0.13, 0.59, 0.95, 1), "work": (0.61, 0.15, 0.69, 1), "shop": (1.0, 0.76, 0.03, 1),
    "school": (0.47, 0.33, 0.28, 1), "gym": (0.91, 0.12, 0.39, 1), "bar": (1.0, 0.34, 0.13, 1),
    "other": (0.38, 0.49, 0.55, 1),
}  # fmt: skip
UNKNOWN_COLOR = (0.3, 0.3, 0.3, 1)
#: Lanes of the day view, top to bottom.
LANES = ("visit", "trip", "event")
LANE_TITLES = {"visit": "Places", "trip": "Trips", "event": "Modes"}
NOT_AVAILABLE = "not available yet"

CONSENT_TEXT = (
    "Journeys shows what the momentsense SDK learns on this phone.\n\n"
    "What is sensed: accelerometer and gyroscope (25 times a second) and GPS position.\n"
    "Why: to recognise how you travel (walk, bike, car, bus, train...), the places you visit, and your trips.\n"
    "What stays on the phone: raw sensor samples and raw positions. They are never uploaded.\n"
    "What may leave the phone, only once a sync service exists and you agree to it separately: an aggregated "
    "timeline (modes, times, place categories; no raw samples, no coordinates) and your corrections of it, "
    "which help improve the models.\n\n"
    "Nothing starts before you agree. You can revoke consent any time in Settings: sensing stops at once and "
    "the timeline and corrections on this phone are erased."
)


def fmt_clock(t: float, tz_offset_s: float) -> str:
    """``HH:MM`` local time of unix ``t``."""
    return datetime.datetime.fromtimestamp(t + tz_offset_s, datetime.timezone.utc).strftime("%H:%M")


def fmt_duration(seconds: float) -> str:
    """``1 h 05 min`` / ``12 min`` / ``40 s``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    h, m = divmod(s // 60, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


# -- Now ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class NowState:
    """What the Now screen shows.

    Attributes:
        mode_text: e.g. ``Walk · 93 %``.
        mode: Raw mode (None before the first window).
        place_text, trip_text: Current place / trip in progress, or "not available yet".
        status_text: Source and whether sensing runs.
        acc_lines, gyro_lines: Per axis (x, y, z) a flat list ``[x0, y0, x1, y1, ...]`` in 0..1 (x = time
            over the trace window, y = value scaled to ±``ACC_RANGE_MPS2`` / ±``GYRO_RANGE_RAD_S``).
    """

    mode_text: str = "Waiting for sensor data"
    mode: Optional[str] = None
    confidence: float = 0.0
    place_text: str = f"Place: {NOT_AVAILABLE}"
    trip_text: str = f"Trip: {NOT_AVAILABLE}"
    status_text: str = ""
    acc_lines: list = dataclasses.field(default_factory=lambda: [[], [], []])
    gyro_lines: list = dataclasses.field(default_factory=lambda: [[], [], []])


ACC_RANGE_MPS2 = 20.0
GYRO_RANGE_RAD_S = 5.0
TRACE_S = 5.0


def trace_lines(t: Sequence[float], x: Sequence[Sequence[float]], value_range: float, window_s: float = TRACE_S) -> list:
    """Samples → three polylines in unit coordinates (newest sample at x = 1; ±``value_range`` → 0..1)."""
    lines: list = [[], [], []]
    if not len(t):
        return lines
    t_end = t[-1]
    for ti, xi in zip(t, x):
        px = 1.0 - (t_end - ti) / window_s
        if px < 0:
            continue
        for axis in range(3):
            v = xi[axis]
            v = 0.0 if not math.isfinite(v) else v
            lines[axis] += [px, min(1.0, max(0.0, 0.5 + v / (2 * value_range)))]
    return lines


def _describe(obj: Any) -> str:
    """A short human text for a place / trip / record from any SDK version."""
    if obj is None:
        return NOT_AVAILABLE
    if isinstance(obj, str):
        return obj
    for name in ("text", "description", "summary", "label"):
        v = getattr(obj, name, None)
        if isinstance(v, str) and v:
            return v
    if hasattr(obj, "modes"):
        return " → ".join(obj.modes)
    d = obj.to_dict() if hasattr(obj, "to_dict") else (obj if isinstance(obj, dict) else None)
    if isinstance(d, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in list(d.items())[:5])
    return str(obj)


def _short(v):
    return f"{v:.4g}" if isinstance(v, float) else v


def _trip_text(trip) -> str:
    modes = getattr(trip, "modes", None)
    if modes is None:
        return _describe(trip)
    return " → ".join(modes) if modes else "just started"


def now_state(ctx: ContextView, samples: dict, source_name: str, error: Optional[BaseException] = None) -> NowState:
    """The Now screen for a context and the latest raw samples."""
    st = NowState()
    st.mode, st.confidence = ctx.mode, ctx.confidence
    if ctx.mode:
        st.mode_text = f"{ctx.mode.capitalize()} · {ctx.confidence * 100:.0f} %"
    elif ctx.running:
        st.mode_text = "Listening…"
    elif ctx.events:
        st.mode_text = "Sensing finished"
    st.place_text = "Place: " + (_describe(ctx.place) if ctx.place is not None else "unknown" if ctx.has_place else NOT_AVAILABLE)
    st.trip_text = "Trip: " + (_trip_text(ctx.trip_in_progress) if ctx.trip_in_progress else "none in progress" if ctx.has_trip else NOT_AVAILABLE)
    state = "sensing" if ctx.running else "stopped"
    st.status_text = f"Source: {source_name} · {state} · {ctx.events} events"
    if ctx.running and not ctx.mode:
        st.status_text += " · the first mode comes after 10 s of data"
    if error is not None:
        st.status_text += f" · error: {error}"
    st.acc_lines = trace_lines(samples.get("acc_t", []), samples.get("acc", []), ACC_RANGE_MPS2)
    st.gyro_lines = trace_lines(samples.get("gyro_t", []), samples.get("gyro", []), GYRO_RANGE_RAD_S)
    return st


# -- Timeline ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bar:
    """One coloured bar of the day view.

    Attributes:
        kind: ``visit``, ``trip`` or ``event`` (also the lane).
        start, end: Unix seconds of the item.
        x0, x1: Its extent as fractions of the local day, clipped to 0..1.
        label: What the SDK says (mode or place category), or the user's correction.
        original_label: What the SDK said.
        corrected: Whether ``label`` comes from a user correction.
        color: RGBA of ``label``.
        details: ``[(name, value), ...]`` for the details view.
    """

    kind: str
    start: float
    end: float
    x0: float
    x1: float
    label: str
    original_label: str
    corrected: bool
    color: tuple
    details: tuple

    @property
    def key(self) -> tuple:
        """Identifies the item across refreshes (kind and start, ms)."""
        return (self.kind, round(self.start, 3))


def _trip_label(trip) -> str:
    modes = [m for m in getattr(trip, "modes", ()) if m not in ("walk", "still")]
    return modes[0] if modes else (trip.modes[0] if getattr(trip, "modes", ()) else "unknown")


def _visit_label(visit, place_labels: dict) -> str:
    for name in ("label", "category"):
        v = getattr(visit, name, None)
        if isinstance(v, str) and v:
            return v
    return place_labels.get(getattr(visit, "place_id", ""), "other")


def build_bars(day_view: DayView, day: datetime.date, tz_offset_s: float, corrections: Optional[dict] = None,
               place_labels: Optional[dict] = None) -> list[Bar]:  # fmt: skip
    """The day's items as bars (visits, trips, transport events), each clipped to the local day.

    ``corrections``: ``{(kind, start): label}`` from :meth:`CorrectionStore.latest_by_item`.
    ``place_labels``: ``{place_id: label}`` from the SDK's places.
    """
    corrections, place_labels = corrections or {}, place_labels or {}
    a = day_start_s(day, tz_offset_s)
    out = []
    items = [("visit", v, _visit_label(v, place_labels)) for v in day_view.visits]
    items += [("trip", tr, _trip_label(tr)) for tr in day_view.trips]
    items += [("event", e, e.mode) for e in day_view.events]
    for kind, it, label in items:
        x0, x1 = (it.start - a) / DAY_S, (it.end - a) / DAY_S
        if x1 <= 0 or x0 >= 1:
            continue
        fixed = corrections.get((kind, round(it.start, 3)))
        shown = fixed or label
        colors = PLACE_COLORS if kind == "visit" else MODE_COLORS
        details = [("What", kind), ("From", fmt_clock(it.start, tz_offset_s)), ("To", fmt_clock(it.end, tz_offset_s)),
                   ("Duration", fmt_duration(it.end - it.start)), ("SDK says", label)]  # fmt: skip
        if kind == "event":
            details.append(("Confidence", f"{it.confidence * 100:.0f} %"))
        if kind == "trip":
            details += [("Modes", " → ".join(getattr(it, "modes", ()))), ("Distance", f"{getattr(it, 'distance_m', 0) / 1000:.1f} km")]
        if kind == "visit":
            details.append(("Place", getattr(it, "place_id", "")))
        if fixed:
            details.append(("You said", fixed))
        out.append(Bar(kind, float(it.start), float(it.end), max(0.0, x0), min(1.0, x1), shown, label, bool(fixed),
                       colors.get(shown, UNKNOWN_COLOR), tuple(details)))  # fmt: skip
    return out


class TimelineVM:
    """Days with data, the selected day's bars, details and corrections."""

    def __init__(self, backend, corrections: CorrectionStore, tz_offset_s: float = 0.0):
        self.backend, self.corrections, self.tz_offset_s = backend, corrections, tz_offset_s
        self.days: list = []
        self.index = -1  # -1 = follow the newest day
        self.bars: list[Bar] = []
        self.day_view = DayView([], [], [], False, False)

    @property
    def day(self) -> datetime.date:
        if not self.days:
            return local_day(datetime.datetime.now(datetime.timezone.utc).timestamp(), self.tz_offset_s)
        return self.days[self.index if self.index >= 0 else len(self.days) - 1]

    def refresh(self) -> list[Bar]:
        """Re-read the days and the selected day from the SDK and the corrections; returns the bars."""
        self.days = list(self.backend.days())
        if self.index >= len(self.days):
            self.index = len(self.days) - 1
        self.day_view = self.backend.day(self.day)
        places = self.backend.feature("places") or []
        labels = {getattr(p, "place_id", ""): getattr(p, "label", "other") for p in places}
        self.bars = build_bars(self.day_view, self.day, self.tz_offset_s, self.corrections.latest_by_item(), labels)
        return self.bars

    def swipe(self, step: int) -> bool:
        """Go ``step`` days later (+1) or earlier (-1); False (and no change) at either end."""
        if not self.days:
            return False
        cur = self.index if self.index >= 0 else len(self.days) - 1
        new = cur + step
        if not 0 <= new < len(self.days):
            return False
        self.index = -1 if new == len(self.days) - 1 else new
        self.refresh()
        return True

    @property
    def title(self) -> str:
        return self.day.strftime("%A %d %B %Y")

    @property
    def counts_text(self) -> str:
        n = {k: sum(b.kind == k for b in self.bars) for k in LANES}
        parts = [f"{n['event']} mode events"]
        parts.append(f"{n['visit']} visits" if self.day_view.has_visits else f"visits {NOT_AVAILABLE}")
        parts.append(f"{n['trip']} trips" if self.day_view.has_trips else f"trips {NOT_AVAILABLE}")
        return " · ".join(parts)

    @staticmethod
    def options(bar: Bar) -> list[str]:
        """Labels the user can choose from to correct ``bar``."""
        return list(PLACE_COLORS) if bar.kind == "visit" else list(MODE_COLORS)

    def correct(self, bar: Bar, label: str):
        """Store the user's correction of ``bar`` and refresh; returns the stored correction."""
        if label not in self.options(bar):
            raise ValueError(f"label must be one of {self.options(bar)}, got {label!r}")
        c = self.corrections.add(bar.kind, bar.start, bar.end, bar.original_label, label)
        self.refresh()
        return c


# -- Places, Moments, Segments, Driving --------------------------------------------------------------


@dataclasses.dataclass
class ListState:
    """A simple list screen: a title, rows of text, or a placeholder saying what is missing."""

    title: str
    rows: list
    placeholder: str = ""


def places_state(places) -> ListState:
    if places is None:
        return ListState("Places", [], f"Places are {NOT_AVAILABLE}: this SDK does not find places yet.")
    order = {"home": 0, "work": 1}
    rows = []
    for p in sorted(places, key=lambda p: (order.get(getattr(p, "label", "other"), 2), -getattr(p, "n_visits", 0))):
        label = getattr(p, "label", "other")
        rows.append(f"{label.capitalize()} ({getattr(p, 'place_id', '?')}): {getattr(p, 'n_visits', 0)} visits, "
                    f"{fmt_duration(getattr(p, 'total_dwell_s', 0.0))} in all")  # fmt: skip
    return ListState("Places", rows, "" if rows else "No places yet: places appear after a few stays.")


FEATURE_TITLES = {"moments": "Moments", "segments": "Segments", "driving": "Driving"}
FEATURE_HINTS = {
    "moments": "Moments (what you are likely to do next, and when to notify) are " + NOT_AVAILABLE + " in this SDK.",
    "segments": "Segments (e.g. \u201cearly riser: on 9 of the last 10 weekdays you left home before 7:00\u201d) are "
                + NOT_AVAILABLE + " in this SDK.",  # fmt: skip
    "driving": "Driving scores and harsh events are " + NOT_AVAILABLE + " in this SDK.",
}


def feature_state(name: str, result) -> ListState:
    """Rows for Moments/Segments/Driving from whatever the SDK returns, or the placeholder."""
    title = FEATURE_TITLES[name]
    if result is None:
        return ListState(title, [], FEATURE_HINTS[name])
    seq = isinstance(result, Sequence) and not isinstance(result, str)  # lists, and the SDK's Insights
    items = list(result.values()) if isinstance(result, dict) else list(result) if seq else [result]
    rows = [_describe(it) for it in items]
    empty = getattr(result, "reason", "") or f"Nothing yet: {title.lower()} appear after some days of data."
    return ListState(title, rows, "" if rows else empty)


# -- the whole app -----------------------------------------------------------------------------------


class ConsentRequired(RuntimeError):
    """Sensing was asked for before the user agreed."""


class AppModel:
    """Consent gate + backend + corrections + screen states; the Kivy app holds one of these.

    Parameters
    ----------
    backend_factory : callable
        ``() -> backend`` (:class:`~journeys.bridge.LiveBackend` or ``ServiceBackend``); called only after
        consent, so nothing touches the sensors before the user agrees.
    data_dir : path
        The app's folder (consent, corrections).
    tz_offset_s : float
        Local time = UTC + this.
    """

    def __init__(self, backend_factory, data_dir: Path, tz_offset_s: float = 0.0):
        self.data_dir = Path(data_dir)
        self.consent = Consent(self.data_dir)
        self.corrections = CorrectionStore(self.data_dir / "corrections.sqlite")
        self.backend_factory, self.tz_offset_s = backend_factory, tz_offset_s
        self.backend = None
        self.timeline: Optional[TimelineVM] = None
        self.start_error: Optional[str] = None

    @property
    def needs_consent(self) -> bool:
        return not self.consent.granted()

    def accept(self) -> None:
        """The user agreed: remember it and start sensing."""
        self.consent.grant()
        self.start()

    def revoke(self) -> None:
        """The user withdrew consent: stop sensing at once, erase the local timeline and the
        corrections, and remember the decision."""
        self.close(erase=True)
        self.corrections.delete_all()
        self.consent.revoke()

    def close(self, erase: bool = False) -> None:
        """Stop sensing and release the SDK (app exit; ``erase`` on revocation)."""
        if self.backend is not None:
            self.backend.close(erase=erase)
        self.backend, self.timeline = None, None

    def start(self) -> bool:
        """Start sensing if consent is given; False (and ``start_error`` set) if the source cannot run here."""
        if self.needs_consent:
            raise ConsentRequired("sensing needs the user's consent first")
        if self.backend is None:
            try:
                self.backend = self.backend_factory()
            except Exception as exc:  # e.g. SensorUnavailableError on a desktop asked for phone sensors
                self.start_error = str(exc)
                return False
            self.timeline = TimelineVM(self.backend, self.corrections, self.tz_offset_s)
        try:
            self.backend.start()
        except Exception as exc:  # e.g. the Android service could not start
            self.start_error = str(exc)
            return False
        self.start_error = None
        return True

    def stop(self) -> None:
        if self.backend is not None:
            self.backend.stop()

    def now(self) -> NowState:
        if self.backend is None:
            st = NowState()
            if self.start_error:
                st.status_text = f"Cannot sense here: {self.start_error}"
            return st
        return now_state(self.backend.context(), self.backend.samples(), self.backend.source_name, self.backend.error)

    def places(self) -> ListState:
        return places_state(None if self.backend is None else self.backend.feature("places"))

    def feature(self, name: str) -> ListState:
        result = None if self.backend is None else self.backend.feature(name)
        if result is None and name == "driving" and self.timeline is not None and self.timeline.day_view.driving_scores is not None:
            result = self.timeline.day_view.driving_scores  # the day's trip scores from the day record
        return feature_state(name, result)

