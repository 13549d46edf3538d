"""The Day screen's logic: days to swipe through, the cards, strip, legend, map, and corrections (plain Python)."""

from __future__ import annotations

import datetime
from typing import Optional

from journeys.bridge import DayView, day_start_s, local_day
from journeys.day import DAY_S, PLACE_COLORS, PLACE_NAMES, TRIP_MODES, Card, build_cards, legend, mode_name, ongoing_headline, place_title, strip_items
from journeys.daymap import MapState, build_map, focus
from journeys.stores import CorrectionStore

#: Steps offered to move a start or end, minutes.
TIME_STEPS_MIN = (-15, -5, +5, +15)


class DayVM:
    """Days with data, the selected day's cards, and what a tap on a card does."""

    def __init__(self, backend, corrections: CorrectionStore, tz_offset_s: float = 0.0):
        self.backend, self.corrections, self.tz_offset_s = backend, corrections, tz_offset_s
        self.days: list = []
        self.index = -1  # -1 = follow the newest day
        self.cards: list[Card] = []
        self.day_view = DayView([], [], [], False, False)
        self.places: dict = {}
        self.map: Optional[MapState] = None

    @property
    def day(self) -> datetime.date:
        if not self.days:
            return local_day(datetime.datetime.now(datetime.timezone.utc).timestamp(), self.tz_offset_s)
        return self.days[self.index if self.index >= 0 else len(self.days) - 1]

    @property
    def is_latest(self) -> bool:
        return self.index < 0 or self.index == len(self.days) - 1

    def refresh(self) -> list[Card]:
        """Re-read the days, the selected day, the places and the corrections; returns the cards."""
        self.days = list(self.backend.days())
        if self.index >= len(self.days):
            self.index = len(self.days) - 1
        self.day_view = self.backend.day(self.day)
        self.places = {getattr(p, "place_id", ""): p for p in (self.backend.feature("places") or []) if hasattr(p, "place_id")}
        ongoing = self.backend.ongoing() if self.is_latest and hasattr(self.backend, "ongoing") else None
        c = self.corrections
        self.cards = build_cards(self.day_view, self.day, self.tz_offset_s, list(self.places.values()), c.by_item(),
                                 c.place_names(), c.place_categories(), ongoing)  # fmt: skip
        self.map = None
        return self.cards

    def map_state(self, aspect: float = 1.0) -> MapState:
        """The day's map (built once per refresh)."""
        if self.map is None:
            track = getattr(self.backend, "track", None)
            self.map = build_map(self.cards, track if track is not None else (lambda a, b: []), self.places, aspect)
        return self.map

    def focus(self, card: Card, aspect: float = 1.0) -> bool:
        """Centre the map on ``card``."""
        return focus(self.map_state(aspect), card, aspect)

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
        today = local_day(datetime.datetime.now(datetime.timezone.utc).timestamp(), self.tz_offset_s)
        if self.day == today:
            return "Today"
        if self.day == today - datetime.timedelta(days=1):
            return "Yesterday"
        return self.day.strftime("%A %d %B")

    @property
    def headline(self) -> str:
        """``Home since 08:00`` or a summary of the day."""
        h = ongoing_headline(self.cards, self.tz_offset_s)
        if h:
            return h
        n_stays = sum(c.kind == "stay" for c in self.cards)
        n_trips = sum(c.kind == "trip" for c in self.cards)
        if not self.cards:
            return "Nothing recorded on this day yet."
        return f"{n_stays} {'stay' if n_stays == 1 else 'stays'} and {n_trips} {'trip' if n_trips == 1 else 'trips'}"

    @property
    def strip(self) -> list:
        return strip_items(self.cards, self.day, self.tz_offset_s)

    @property
    def legend(self) -> list:
        return legend(self.cards)

    # -- corrections ---------------------------------------------------------------------------

    @staticmethod
    def label_options(card: Card) -> list[tuple[str, str]]:
        """``[(value, words), ...]`` the user can choose from: modes for trips (never "still"), categories for stays."""
        if card.kind == "trip":
            return [(m, mode_name(m)) for m in TRIP_MODES]
        return [(c, PLACE_NAMES[c]) for c in PLACE_COLORS]

    def change_label(self, card: Card, value: str):
        """A trip's mode or a stay's category (the category then applies to every visit of that place)."""
        allowed = [v for v, _ in self.label_options(card)]
        if value not in allowed:
            raise ValueError(f"choose one of {allowed}, got {value!r}")
        field = "mode" if card.kind == "trip" else "category"
        c = self.corrections.add(card.item_kind, card.sdk_start, card.sdk_end, card.sdk_label, value, field, card.place_id)
        self.refresh()
        return c

    def did_not_happen(self, card: Card):
        """The user says this stay or trip did not happen: it disappears (undo brings it back)."""
        if card.ongoing:
            raise ValueError("the ongoing stay or trip cannot be removed before it ends")
        c = self.corrections.add(card.item_kind, card.sdk_start, card.sdk_end, "false", "true", "did_not_happen", card.place_id)
        self.refresh()
        return c

    def adjust(self, card: Card, which: str, minutes: float):
        """Move the start or end (``which``) by ``minutes``; it stays inside the day and start < end."""
        if which not in ("start", "end"):
            raise ValueError(f"which must be 'start' or 'end', got {which!r}")
        if card.ongoing:
            raise ValueError("the ongoing stay or trip has no end yet")
        a = day_start_s(self.day, self.tz_offset_s)
        t = (card.start if which == "start" else card.end) + 60.0 * minutes
        lo, hi = (a - DAY_S, card.end - 60.0) if which == "start" else (card.start + 60.0, a + 2 * DAY_S)
        t = min(max(t, lo), hi)
        sdk_t = card.sdk_start if which == "start" else card.sdk_end
        c = self.corrections.add(card.item_kind, card.sdk_start, card.sdk_end, f"{sdk_t:.0f}", f"{t:.0f}", which, card.place_id)
        self.refresh()
        return c

    def rename_place(self, card: Card, name: str):
        """The user's own name for the stay's place (kept on the phone only)."""
        name = " ".join(name.split())[:40]
        if card.kind != "stay" or not card.place_id:
            raise ValueError("only a stay at a place can be named")
        if not name:
            raise ValueError("a place name must not be empty")
        c = self.corrections.add("visit", card.sdk_start, card.sdk_end, "", name, "name", card.place_id)
        self.refresh()
        return c

    def undo(self):
        """Take back the newest correction (see :meth:`CorrectionStore.undo_last`)."""
        c = self.corrections.undo_last()
        self.refresh()
        return c

    def card_details(self, card: Card) -> list[tuple[str, str]]:
        """Rows for the card's sheet, in words."""
        rows = [("When", card.subtitle.split(" · ")[0]), ("How long", card.subtitle.split(" · ")[1] if " · " in card.subtitle else "")]
        if card.kind == "trip":
            if card.distance_m > 0:
                rows.append(("Distance", f"{card.distance_m / 1000:.1f} km"))
            rows.append(("How", " + ".join(mode_name(m) for m in card.modes)))
            ends = [self.places.get(card.origin_id), self.places.get(card.destination_id)]
            names, cats, order = self.corrections.place_names(), self.corrections.place_categories(), list(self.places)
            words = [place_title(p.place_id, cats.get(p.place_id) or getattr(p, "label", "other"), names, order) if p else "somewhere"
                     for p in ends]  # fmt: skip
            rows.append(("From", f"{words[0]} to {words[1]}"))
        else:
            p = self.places.get(card.place_id)
            if p is not None and getattr(p, "n_visits", 0):
                rows.append(("Visits", f"{p.n_visits} {'visit' if p.n_visits == 1 else 'visits'} in all"))
        if card.corrected:
            rows.append(("Changed by you", f"the phone said {mode_name(card.sdk_label) if card.kind == 'trip' else PLACE_NAMES.get(card.sdk_label, card.sdk_label)}"))
        return rows

