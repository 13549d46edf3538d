"""Assign a moment (why the person is moving) to a transport event.

From the current event (a transport mode), where the trip started (the last visit) and where it
is predicted to end (the most probable *visit* label of the next-event prediction), with the
time of day and day of week. Rules, in order (``dest`` = destination, ``origin`` = last visit;
a trip home takes the moment of the place it comes from):

* mode ``run`` → sport; ``travel`` → business trip on weekdays before 10:00, else leisure trip;
* work (either end) → commute; school → school run when the user's school visits are short
  (< 45 min: dropping children off), else commute (a student);
* shop → shopping; gym → sport; bar or restaurant → night out; friend after 19:00 → night out;
  friend or park → leisure trip; other → errand.
"""

from __future__ import annotations

from typing import Optional, Sequence

from momentsense.sdk.moments.tokens import day_of_week, time_of_day_s
from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES


def _place_moment(place: str, tod_h: float, weekday: bool, short_school: bool) -> Optional[str]:
    if place == "work":
        return "commute"
    if place == "school":
        return "school_run" if short_school else "commute"
    if place == "shop":
        return "shopping"
    if place == "gym":
        return "sport"
    if place in ("bar", "restaurant"):
        return "night_out"
    if place == "friend":
        return "night_out" if tod_h >= 19 or tod_h < 4 else "leisure_trip"
    if place == "park":
        return "leisure_trip"
    if place == "travel":
        return "business_trip" if weekday and tod_h < 10 else "leisure_trip"
    if place == "other":
        return "errand"
    return None


def assign_moment(mode: str, t: float, origin: str, next_labels: Sequence[str], short_school: bool = False,
                  utc_offset_s: float = 0.0) -> str:  # fmt: skip
    """The moment of a transport event.

    Parameters
    ----------
    mode : str
        Transport mode of the current event.
    t : float
        Its start, unix s.
    origin : str
        Label of the last visit before it (``""`` if unknown).
    next_labels : sequence of str
        Predicted next-event labels, most probable first (the first visit label is the destination).
    short_school : bool
        The user's school visits are short (drop-offs): school trips are school runs.

    Returns
    -------
    str
        One of :data:`sdk.io.timeline_file.MOMENTS`.
    """
    tod_h = float(time_of_day_s(t, utc_offset_s)) / 3600.0
    weekday = int(day_of_week(t, utc_offset_s)) < 5
    dest = next((lab for lab in next_labels if lab in PLACE_CATEGORIES), "home")
    if mode == "run":
        return "sport"
    if dest == "home" or dest == origin:
        m = _place_moment(origin, tod_h, weekday, short_school)
    else:
        m = _place_moment(dest, tod_h, weekday, short_school)
        if dest in ("shop", "gym", "other") and origin == "work" and tod_h < 10:
            m = "commute"
    if m is None:
        m = "leisure_trip" if not weekday else "errand"
    assert m in MOMENTS
    return m
