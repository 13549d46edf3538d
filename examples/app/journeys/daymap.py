"""The day's map: trips as coloured tracks, stays as markers, and the projection (plain Python).

Coordinates stay on the phone: they come from the SDK's store (places, visits) and the app's track
store, and are only drawn. The projection is Web Mercator, the one OpenStreetMap's tiles use, so the
optional background tiles (:mod:`journeys.tiles`) line up with the tracks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Optional, Sequence

from journeys.day import Card

#: Smallest half-height of a view, in world units (the whole Web Mercator world is 1 × 1): ~300 m at
#: mid latitudes, so a single place still shows its street.
MIN_HALF_WORLD = 0.003 / 360.0


def world_xy(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator position in world units 0..1 (x east, y south), as map tiles are cut."""
    lat = max(-85.0511, min(85.0511, lat))
    y = (1.0 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2.0
    return (lon + 180.0) / 360.0, y


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
    """What part of the world is shown: centre and half the height, in Web Mercator world units."""

    x: float
    y: float
    half_h: float

    @property
    def lat(self) -> float:
        """Latitude of the centre, degrees."""
        return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * self.y))))

    @property
    def lon(self) -> float:
        """Longitude of the centre, degrees."""
        return self.x * 360.0 - 180.0

    def scale(self, height: float) -> float:
        """Pixels per world unit in a widget ``height`` pixels high."""
        return (height / 2) / self.half_h

    def project(self, lat: float, lon: float, width: float, height: float) -> tuple[float, float]:
        """Position of ``(lat, lon)`` in a ``width`` × ``height`` box (origin bottom-left, like Kivy)."""
        wx, wy = world_xy(lat, lon)
        k = self.scale(height)
        return width / 2 + (wx - self.x) * k, height / 2 - (wy - self.y) * k


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
    pts = [world_xy(a, b) for a, b in points if math.isfinite(a) and math.isfinite(b)]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    half_h = max((max(ys) - min(ys)) / 2, (max(xs) - min(xs)) / 2 / max(aspect, 1e-6), MIN_HALF_WORLD)
    return View((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, half_h * margin)


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
