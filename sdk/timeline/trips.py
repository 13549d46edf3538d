"""Trips: the movement between two consecutive visits, with its modes and distance (numpy only)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from momentsense.sdk.timeline.geo import path_length_m
from momentsense.sdk.timeline.records import TransportEvent, Trip, Visit
from momentsense.sdk.timeline.stay_points import validate_fixes


#: A mode counts for a trip when an event of it overlaps the trip this long (or half of a shorter trip), s.
MIN_MODE_S = 30.0


def mode_overlap_needed(duration_s: float, min_mode_s: float = MIN_MODE_S) -> float:
    """Overlap, s, an event needs with a trip (or a gap) of ``duration_s`` s for its mode to count."""
    return min(min_mode_s, 0.5 * max(duration_s, 0.0))


def build_trips(
    visits: Sequence[Visit],
    fixes: Any,
    transport_events: Sequence[TransportEvent] = (),
    *,
    max_accuracy_m: float = 200.0,
    min_mode_s: float = MIN_MODE_S,
    ignore_modes: tuple = ("still",),
    same_place_min_gap_s: float = 300.0,
) -> list[Trip]:
    """One trip per pair of consecutive visits: from the end of one to the start of the next.

    Parameters
    ----------
    visits : sequence of Visit
        One user's visits (from :func:`~sdk.timeline.places.cluster_places`); sorted here by start.
        They must not overlap.
    fixes : fixes as accepted by :func:`~sdk.timeline.stay_points.validate_fixes`
        The same user's GPS fixes (may be empty).
    transport_events : sequence of TransportEvent
        Detected modes (e.g. from :class:`~sdk.transport.detector.TransportDetector`), any order.
    max_accuracy_m : keyword-only float
        Fixes with a larger accuracy radius, m, are not used for the distance (as in stay points).
    min_mode_s : keyword-only float
        An event counts for a trip if it overlaps it by at least this long, s (or covers at least
        half of a shorter trip): stay boundaries are only known to tens of seconds. Default 30 s.
    ignore_modes : keyword-only tuple of str
        Modes left out of ``Trip.modes`` (waiting ``still`` at a stop is part of the trip, not a mode).
    same_place_min_gap_s : keyword-only float
        Two consecutive visits at the same place less than this apart are one stay split by GPS
        noise, not a trip; no trip is made between them. Default 300 s (the stay time threshold).

    Returns
    -------
    list of Trip
        In time order. ``modes``: the overlapping events' modes in time order, consecutive repeats
        merged. ``distance_m``: haversine length of the path origin-visit centre → the usable fixes
        strictly inside the trip → destination-visit centre, so a trip without fixes (tunnel,
        dropout) still gets the straight-line distance as a lower bound.
    """
    for i, v in enumerate(visits):
        if not isinstance(v, Visit):
            raise TypeError(f"visits[{i}] must be a Visit, got {type(v).__name__}")
    for i, e in enumerate(transport_events):
        if not isinstance(e, TransportEvent):
            raise TypeError(f"transport_events[{i}] must be a TransportEvent, got {type(e).__name__}")
    fx = validate_fixes(fixes)
    vs = sorted(visits, key=lambda v: (v.start, v.end))
    for i in range(1, len(vs)):
        if vs[i].start < vs[i - 1].end:
            raise ValueError(f"visits must not overlap; visit starting at {vs[i].start!r} begins before the one "
                             f"before it ends ({vs[i - 1].end!r})")
    usable = ~(fx.accuracy_m > max_accuracy_m)
    t, lat, lon = fx.t[usable], fx.lat[usable], fx.lon[usable]
    ev = sorted(transport_events, key=lambda e: (e.start, e.end))
    ev_start = np.array([e.start for e in ev])
    ev_end = np.array([e.end for e in ev])
    trips = []
    for a, b in zip(vs[:-1], vs[1:]):
        start, end = a.end, b.start
        if a.place_id == b.place_id and end - start < same_place_min_gap_s:
            continue
        i0, i1 = np.searchsorted(t, start, "right"), np.searchsorted(t, end, "left")
        path_lat = np.concatenate(([a.lat], lat[i0:i1], [b.lat]))
        path_lon = np.concatenate(([a.lon], lon[i0:i1], [b.lon]))
        modes: list = []
        if ev:
            ov = np.minimum(ev_end, end) - np.maximum(ev_start, start)
            need = mode_overlap_needed(end - start, min_mode_s)
            for k in np.flatnonzero((ov > 0) & (ov >= need)):
                m = ev[k].mode
                if m not in ignore_modes and (not modes or modes[-1] != m):
                    modes.append(m)
        trips.append(Trip(float(start), float(end), a.place_id, b.place_id, tuple(modes),
                          float(path_length_m(path_lat, path_lon))))
    return trips
