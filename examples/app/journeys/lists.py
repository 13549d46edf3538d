"""Words for what the SDK returns: list screens (places, insights) and single records (plain Python).

Every string here is for the person holding the phone: no ids, no dicts, no probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import dataclasses
import re
from typing import Any, Optional

from journeys.day import PLACE_NAMES, fmt_duration, mode_name, place_title

NOT_AVAILABLE = "not available yet"


_PROB = re.compile(r"\s*\([^()]*p=\d[^()]*\)|,?\s*p=\d+(\.\d+)?")


def human(text: str) -> str:
    """A sentence from the SDK without the numbers behind it (probabilities in brackets)."""
    return _PROB.sub("", text).strip()


def describe_record(obj: Any) -> str:
    """A short human text for a record from any SDK version (never a dict or an id)."""
    if obj is None:
        return NOT_AVAILABLE
    if isinstance(obj, str):
        return human(obj)
    for name in ("text", "description", "summary"):
        v = getattr(obj, name, None)
        if isinstance(v, str) and v:
            return human(v)
    if hasattr(obj, "score") and hasattr(obj, "trip_start"):  # a driving score
        return f"Drive: score {obj.score:.0f} of 100, {obj.distance_m / 1000:.1f} km"
    if hasattr(obj, "modes"):
        return " + ".join(mode_name(m) for m in obj.modes)
    label = getattr(obj, "label", None)
    if isinstance(label, str):
        return PLACE_NAMES.get(label, label.capitalize())
    return "An item this version of Journeys cannot show yet"


# -- Places, Moments, Segments, Driving --------------------------------------------------------------


@dataclasses.dataclass
class ListState:
    """A simple list screen: a title, rows of text, or a placeholder saying what is missing."""

    title: str
    rows: list
    placeholder: str = ""


def places_state(places, names: Optional[dict] = None, categories: Optional[dict] = None) -> ListState:
    """Places as rows: the user's name or the category, visits and time spent (home and work first)."""
    if places is None:
        return ListState("Places", [], f"Places are {NOT_AVAILABLE}: this SDK does not find places yet.")
    names, categories = names or {}, categories or {}
    places = [p for p in places if hasattr(p, "place_id")]
    order = {"home": 0, "work": 1}

    def cat(p):
        return categories.get(p.place_id) or getattr(p, "label", "other")

    rows = []
    for p in sorted(places, key=lambda p: (order.get(cat(p), 2), -getattr(p, "n_visits", 0))):
        n = getattr(p, "n_visits", 0)
        title = place_title(p.place_id, cat(p), names, [q.place_id for q in places])
        rows.append(f"{title}: {n} {'visit' if n == 1 else 'visits'}, {fmt_duration(getattr(p, 'total_dwell_s', 0.0))} in all")
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
    rows = [describe_record(it) for it in items]
    empty = getattr(result, "reason", "") or f"Nothing yet: {title.lower()} appear after some days of data."
    return ListState(title, rows, "" if rows else empty)
