"""The day's map: trips as coloured tracks, stays as markers, and the projection (plain Python).

Coordinates stay on the phone: they come from the SDK's store (places, visits) and the app's track
store, and are only drawn. The projection is equirectangular around the view's centre (x scaled by
cos(latitude)), exact enough for the few kilometres of a day; the widget draws it on a Kivy canvas.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Optional, Sequence

from journeys.day import Card

#: Smallest half-extent of a view, degrees of latitude (~300 m): a single place still shows its street.
MIN_SPAN_DEG = 0.003


@dataclasses.dataclass(frozen=True)
class Track:
    """One trip's line: ``points`` ``[(lat, lon), ...]`` in time order, its colour, and its card."""

    card: Card
    points: tuple
    color: tuple


@dataclasses.dataclass(frozen=True)
class Marker:
    """A stay's place: position, colour, the card's title."""

    card: Card
    lat: float
    lon: float
    color: tuple


@dataclasses.dataclass(frozen=True)
class View:
    """What part of the world is shown: centre and half the height, degrees of latitude."""

    lat: float
    lon: float
    half_span_deg: float

    def project(self, lat: float, lon: float, width: float, height: float) -> tuple[float, float]:
        """Position of ``(lat, lon)`` in a ``width`` × ``height`` box (origin bottom-left, like Kivy)."""
        scale = (height / 2) / self.half_span_deg
        x = width / 2 + (lon - self.lon) * math.cos(math.radians(self.lat)) * scale
        y = height / 2 + (lat - self.lat) * scale
        return x, y


@dataclasses.dataclass
class MapState:
    """Tracks and markers of a day, and the view (fitted to all of them, or to the focused card)."""

    tracks: list
    markers: list
    view: Optional[View]
    focused: Optional[Card] = None

    @property
    def empty(self) -> bool:
        return not self.tracks and not self.markers

    def refit(self, aspect: float) -> None:
        """Fit the view again for a widget of another shape (the focused card, or the whole day)."""
        if self.focused is not None:
            focus(self, self.focused, aspect)
        else:
            self.view = fit([p for t in self.tracks for p in t.points] + [(m.lat, m.lon) for m in self.markers], aspect)


def fit(points: Sequence[tuple], aspect: float = 1.0, margin: float = 1.2) -> Optional[View]:
    """The view that shows every ``(lat, lon)`` with a margin; ``aspect`` = width / height of the widget."""
    pts = [(a, b) for a, b in points if math.isfinite(a) and math.isfinite(b)]
    if not pts:
        return None
    lats, lons = [p[0] for p in pts], [p[1] for p in pts]
    lat0, lon0 = (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2
    half_h = (max(lats) - min(lats)) / 2
    half_w = (max(lons) - min(lons)) / 2 * math.cos(math.radians(lat0)) / max(aspect, 1e-6)
    return View(lat0, lon0, max(half_h, half_w, MIN_SPAN_DEG) * margin)


def build_map(cards: Sequence[Card], track_of: Callable[[float, float], list], places: dict, aspect: float = 1.0) -> MapState:
    """Tracks for the trip cards (the stored GPS fixes between start and end; without fixes, a straight
    line between the places at either end) and a marker per stay (one per place)."""
    tracks, markers, seen = [], [], set()
    for c in cards:
        if c.kind == "stay":
            if c.place_id not in seen and math.isfinite(c.lat) and math.isfinite(c.lon):
                seen.add(c.place_id)
                markers.append(Marker(c, c.lat, c.lon, c.color))
            continue
        pts = [(lat, lon) for _, lat, lon in track_of(c.start, c.end)]
        if len(pts) < 2:
            ends = [places.get(c.origin_id), places.get(c.destination_id)]
            pts = [(p.lat, p.lon) for p in ends if p is not None]
        if len(pts) >= 2:
            tracks.append(Track(c, tuple(pts), c.color))
    every = [p for t in tracks for p in t.points] + [(m.lat, m.lon) for m in markers]
    return MapState(tracks, markers, fit(every, aspect))


def focus(state: MapState, card: Card, aspect: float = 1.0) -> bool:
    """Centre the view on ``card`` (its track, or its place); False when the map has nothing of it."""
    pts = [p for t in state.tracks if t.card.key == card.key for p in t.points]
    if not pts and card.kind == "stay" and math.isfinite(card.lat):
        pts = [(card.lat, card.lon)]
    if not pts:
        return False
    state.view = fit(pts, aspect, 1.4)
    state.focused = card
    return True
