"""The day as people read it: stay and trip cards, the 24-hour strip, the legend (plain Python).

A *card* is one stay (a visit at a place) or one trip, with the user's corrections applied: the
place's own name and category, the mode, adjusted start/end, or hidden when the user said it did not
happen. The ongoing stay or trip (from the SDK's current context) is a card too, drawn on top.
Times are unix seconds; strip positions are fractions 0..1 of the local day.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Optional, Sequence

from momentsense.sdk.modes import MODES

from journeys.bridge import DAY_S, DayView, day_start_s

#: Transport modes and their colours (the SDK's mode registry) and display names; a one-letter badge
#: comes from the name (Kivy's default font has no emoji).
MODE_COLORS = {m.name: m.rgba for m in MODES.values()}
MODE_NAMES = {m.name: m.name.capitalize() for m in MODES.values()}
#: Modes a trip can have (a trip is movement: "still" is not one).
TRIP_MODES = tuple(name for name in MODES if name != "still")
#: Place categories (formats.md timeline labels, the server's fixed list) and their colours.
PLACE_COLORS = {
    "home": (0.13, 0.59, 0.95, 1), "work": (0.61, 0.15, 0.69, 1), "shop": (1.0, 0.76, 0.03, 1),
    "school": (0.47, 0.33, 0.28, 1), "gym": (0.91, 0.12, 0.39, 1), "bar": (1.0, 0.34, 0.13, 1),
    "other": (0.38, 0.49, 0.55, 1),
}  # fmt: skip
PLACE_NAMES = {"home": "Home", "work": "Work", "shop": "Shop", "school": "School", "gym": "Gym", "bar": "Bar or restaurant",
               "other": "Other place"}  # fmt: skip
UNKNOWN_COLOR = (0.45, 0.45, 0.45, 1)


def place_title(place_id: str, category: str, names: dict, order: Sequence[str] = ()) -> str:
    """How a place is called: the user's name (with its category), the category (``Home``), or, for
    places of no particular kind, ``Place 3`` (its rank in ``order``, the SDK's list of places), so two
    unnamed places never read the same."""
    own = names.get(place_id)
    if own:
        return f"{own} ({PLACE_NAMES.get(category, category).lower()})"
    if category == "other" and place_id in order:
        return f"Place {list(order).index(place_id) + 1}"
    return PLACE_NAMES.get(category, "Other place")


def fmt_clock(t: float, tz_offset_s: float) -> str:
    """``HH:MM`` local time of unix ``t``."""
    return datetime.datetime.fromtimestamp(t + tz_offset_s, datetime.timezone.utc).strftime("%H:%M")


def fmt_duration(seconds: float) -> str:
    """``1 h 05 min`` / ``12 min`` / ``under a minute``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return "under a minute"
    h, m = divmod(s // 60, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


def fmt_distance(m: float) -> str:
    """``850 m`` / ``5.2 km``."""
    return f"{m:.0f} m" if m < 1000 else f"{m / 1000:.1f} km"


def mode_name(mode: Optional[str]) -> str:
    return MODE_NAMES.get(mode or "", "Unknown way")


def main_mode(modes: Sequence[str]) -> str:
    """The mode a trip is shown as: its first mode other than walking (walk if it is all walking)."""
    moving = [m for m in modes if m != "still"]
    vehicle = [m for m in moving if m != "walk"]
    return vehicle[0] if vehicle else (moving[0] if moving else "walk")


@dataclasses.dataclass(frozen=True)
class Card:
    """One stay or trip as the list, the strip and the map show it.

    Attributes:
        kind: ``stay`` or ``trip``.
        item_kind: The SDK record it comes from (``visit``, ``trip``), the correction's item kind.
        sdk_start, sdk_end: The record's times (identify it for corrections and sync).
        start, end: Times shown (the user's adjustment when there is one).
        ongoing: The stay or trip going on now (its end is "now").
        title: ``Home`` / ``Bus`` / the place's own name.
        subtitle: Times, duration, distance, in words.
        label: The mode (trips) or category (stays) shown, after corrections.
        sdk_label: What the SDK said.
        color: RGBA of ``label``.
        badge: One or two letters drawn in the colour dot.
        corrected: Whether the user changed anything about it.
        place_id, lat, lon: The stay's place (stays only).
        modes: The trip's modes in order (trips only).
        distance_m: Trip distance, m (0 for stays).
        origin_id, destination_id: The trip's places ("" if unknown).
    """

    kind: str
    item_kind: str
    sdk_start: float
    sdk_end: float
    start: float
    end: float
    ongoing: bool
    title: str
    subtitle: str
    label: str
    sdk_label: str
    color: tuple
    badge: str
    corrected: bool = False
    place_id: str = ""
    lat: float = float("nan")
    lon: float = float("nan")
    modes: tuple = ()
    distance_m: float = 0.0
    origin_id: str = ""
    destination_id: str = ""

    @property
    def key(self) -> tuple:
        """``(item_kind, start ms)``: what corrections are keyed by."""
        return (self.item_kind, round(self.sdk_start, 3))

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)


def _times(start: float, end: float, ongoing: bool, tz: float) -> str:
    if ongoing:
        return f"since {fmt_clock(start, tz)} · {fmt_duration(end - start)} so far"
    return f"{fmt_clock(start, tz)} – {fmt_clock(end, tz)} · {fmt_duration(end - start)}"


def stay_card(visit, places: dict, fixes: dict, names: dict, categories: dict, tz: float, ongoing: bool = False,
              now: Optional[float] = None) -> Optional[Card]:  # fmt: skip
    """A visit as a card (None when the user said it did not happen)."""
    if fixes.get("did_not_happen") == "true":
        return None
    pid = getattr(visit, "place_id", "")
    place = places.get(pid)
    sdk_cat = getattr(place, "label", None) or "other"
    cat = fixes.get("category") or categories.get(pid) or sdk_cat
    start = float(fixes.get("start", visit.start))
    end = float(now if ongoing and now is not None else fixes.get("end", visit.end))
    title = place_title(pid, cat, names, list(places))
    sub = _times(start, end, ongoing, tz)
    lat = getattr(place, "lat", getattr(visit, "lat", float("nan")))
    lon = getattr(place, "lon", getattr(visit, "lon", float("nan")))
    return Card("stay", "visit", float(visit.start), float(visit.end), start, end, ongoing, title, sub, cat, sdk_cat,
                PLACE_COLORS.get(cat, UNKNOWN_COLOR), cat[:1].upper(), bool(fixes) or pid in names or pid in categories, pid, float(lat), float(lon))  # fmt: skip


def trip_card(trip, fixes: dict, tz: float, ongoing: bool = False, now: Optional[float] = None) -> Optional[Card]:
    """A trip as a card (None when the user said it did not happen)."""
    if fixes.get("did_not_happen") == "true":
        return None
    modes = tuple(m for m in getattr(trip, "modes", ()) if m != "still")
    sdk_mode = main_mode(modes)
    mode = fixes.get("mode") or sdk_mode
    start = float(fixes.get("start", trip.start))
    end = float(now if ongoing and now is not None else fixes.get("end", trip.end))
    dist = float(getattr(trip, "distance_m", 0.0) or 0.0)
    parts = [_times(start, end, ongoing, tz)]
    if dist > 0:
        parts.append(fmt_distance(dist))
    if len(modes) > 1 and not fixes.get("mode"):
        parts.append(" + ".join(mode_name(m) for m in modes))
    title = ("On a trip: " if ongoing else "") + mode_name(mode)
    return Card("trip", "trip", float(trip.start), float(getattr(trip, "end", trip.start)), start, end, ongoing, title,
                " · ".join(parts), mode, sdk_mode, MODE_COLORS.get(mode, UNKNOWN_COLOR), MODE_NAMES.get(mode, "?")[:1],
                bool(fixes), modes=modes or (mode,), distance_m=dist, origin_id=getattr(trip, "origin_place_id", ""),
                destination_id=getattr(trip, "destination_place_id", ""))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Ongoing:
    """What is going on now, from the SDK's context: a stay at ``place`` or a trip with ``modes``, since ``since``."""

    kind: str
    since: float
    now: float
    place: object = None
    modes: tuple = ()
    origin_id: str = ""


def build_cards(day_view: DayView, day: datetime.date, tz: float, places: Sequence = (), fixes_by_item: Optional[dict] = None,
                names: Optional[dict] = None, categories: Optional[dict] = None, ongoing: Optional[Ongoing] = None) -> list[Card]:  # fmt: skip
    """The day's stays and trips as cards, newest first, the ongoing one on top.

    ``fixes_by_item``: ``{(item_kind, start ms): {field: value}}`` (:meth:`CorrectionStore.by_item`);
    ``names``/``categories``: the user's place names and categories by place id.
    """
    fixes_by_item, names, categories = fixes_by_item or {}, names or {}, categories or {}
    by_id = {getattr(p, "place_id", ""): p for p in places}
    a = day_start_s(day, tz)
    cards = []
    for v in day_view.visits:
        c = stay_card(v, by_id, fixes_by_item.get(("visit", round(v.start, 3)), {}), names, categories, tz)
        if c is not None and c.end > a and c.start < a + DAY_S:
            cards.append(c)
    for t in day_view.trips:
        c = trip_card(t, fixes_by_item.get(("trip", round(t.start, 3)), {}), tz)
        if c is not None and c.end > a and c.start < a + DAY_S:
            cards.append(c)
    if ongoing is not None and a <= ongoing.now and ongoing.since < a + DAY_S:
        latest = max((c.end for c in cards), default=float("-inf"))
        since = max(ongoing.since, latest) if latest < ongoing.now else ongoing.since
        if ongoing.kind == "stay" and ongoing.place is not None:
            import types

            visit = types.SimpleNamespace(start=since, end=ongoing.now, place_id=getattr(ongoing.place, "place_id", ""),
                                          lat=getattr(ongoing.place, "lat", float("nan")), lon=getattr(ongoing.place, "lon", float("nan")))  # fmt: skip
            c = stay_card(visit, {**by_id, visit.place_id: ongoing.place}, {}, names, categories, tz, True, ongoing.now)
        else:
            import types

            trip = types.SimpleNamespace(start=since, end=ongoing.now, modes=ongoing.modes, distance_m=0.0,
                                         origin_place_id=ongoing.origin_id, destination_place_id="")  # fmt: skip
            c = trip_card(trip, {}, tz, True, ongoing.now)
        if c is not None:
            cards.append(c)
    cards.sort(key=lambda c: (not c.ongoing, -c.start))
    return cards


def ongoing_headline(cards: Sequence[Card], tz: float) -> str:
    """``Home since 08:00`` / ``On a trip: Bus since 17:05`` / "" when nothing is going on."""
    c = next((c for c in cards if c.ongoing), None)
    if c is None:
        return ""
    return f"{c.title} since {fmt_clock(c.start, tz)}"


@dataclasses.dataclass(frozen=True)
class StripItem:
    """A card on the 24-hour strip: lane (``stay`` / ``trip``), extent as fractions of the day."""

    card: Card
    x0: float
    x1: float


def strip_items(cards: Sequence[Card], day: datetime.date, tz: float) -> list[StripItem]:
    """Cards placed on the local day, clipped to 0..1, oldest first."""
    a = day_start_s(day, tz)
    out = [StripItem(c, max(0.0, (c.start - a) / DAY_S), min(1.0, (c.end - a) / DAY_S)) for c in cards]
    return sorted((s for s in out if s.x1 > 0 and s.x0 < 1), key=lambda s: s.x0)


def hit_test(items: Sequence[StripItem], x: float, lane: str, min_width: float) -> Optional[StripItem]:
    """The strip item a tap at ``x`` (fraction of the day) in ``lane`` means: every item answers over at
    least ``min_width`` (fraction; 48 dp of the strip) around its centre, the nearest centre wins."""
    best, best_d = None, float("inf")
    for s in items:
        if s.card.kind != lane:
            continue
        half = max(s.x1 - s.x0, min_width) / 2
        centre = (s.x0 + s.x1) / 2
        d = abs(x - centre)
        if d <= half and d < best_d:
            best, best_d = s, d
    return best


def legend(cards: Sequence[Card]) -> list[tuple[str, tuple]]:
    """``[(name, colour), ...]`` of the modes and categories the cards use (modes first)."""
    out, seen = [], set()
    for kind in ("trip", "stay"):
        for c in sorted((c for c in cards if c.kind == kind), key=lambda c: c.label):
            if c.label not in seen:
                seen.add(c.label)
                out.append((mode_name(c.label) if kind == "trip" else PLACE_NAMES.get(c.label, c.label), c.color))
    return out
