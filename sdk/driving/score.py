"""Per-trip driving score (:func:`score_drive`)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.errors import InputError
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore

_KIND_WEIGHT = {
    "harsh_braking": "weight_harsh",
    "harsh_acceleration": "weight_harsh",
    "harsh_cornering": "weight_harsh",
    "speeding": "weight_speeding",
    "phone_handling": "weight_handling",
}


def score_drive(
    events: Sequence[DrivingEvent],
    distance_m: float,
    trip_start: float,
    trip_end: float,
    options: Optional[DrivingOptions] = None,
) -> DrivingScore:
    """Score one trip 0..100 from its events, normalised per 100 km.

    Parameters
    ----------
    events : sequence of DrivingEvent
        The trip's events (crashes are counted but not scored).
    distance_m : float
        Distance driven, m (e.g. ``DrivingState.distance_m``, integrated GPS speed).
    trip_start, trip_end : float
        Unix seconds.
    options : DrivingOptions, optional

    Returns
    -------
    score : DrivingScore
        ``counts`` holds the number of events per kind (every kind present, zeros included).

    Notes
    -----
    ``rate = Σ_kind weight_kind · n_kind / max(distance_m, score_min_distance_m) · 100 000`` (weighted
    events per 100 km; ``events_per_100km`` is this rate) and ``score = 100 · exp(−rate /
    score_scale_per_100km)``. Defaults: harsh events weigh 1, speeding 1, phone handling 2; 20
    weighted events per 100 km give 37, 5 give 78, none 100. The distance floor (10 km) keeps one
    event on a 500 m trip from sinking the score; a trip without GPS distance is scored as 10 km.
    """
    o = options or DrivingOptions()
    if not (isinstance(distance_m, (int, float)) and math.isfinite(distance_m) and distance_m >= 0):
        raise InputError(f"distance_m must be a finite number >= 0, got {distance_m!r}")
    counts = {k: 0 for k in ("harsh_braking", "harsh_acceleration", "harsh_cornering", "speeding",
                             "phone_handling", "crash")}
    for e in events:
        if not isinstance(e, DrivingEvent):
            raise InputError(f"events must be DrivingEvent records, got {type(e).__name__}")
        if e.kind not in counts:
            raise InputError(f"unknown event kind {e.kind!r}; known: {sorted(counts)}")
        counts[e.kind] += 1
    weighted = sum(getattr(o, w) * counts[k] for k, w in _KIND_WEIGHT.items())
    rate = weighted / max(float(distance_m), o.score_min_distance_m) * 100_000.0
    score = 100.0 * math.exp(-rate / o.score_scale_per_100km)
    return DrivingScore(trip_start=float(trip_start), trip_end=float(trip_end), score=round(score, 2),
                        events_per_100km=round(rate, 3), distance_m=round(float(distance_m), 1), counts=counts)
