"""A simulated person's day as legs for the sensor simulator."""

from __future__ import annotations

import numpy as np

from momentsense.sdk.sim.itinerary import Leg

HOUR_S = 3600.0


def commuter_day(rng: np.random.Generator, hours: float = 24.0) -> list[Leg]:
    """Legs of one weekday of a commuter, cut to ``hours`` hours (midnight to midnight by default).

    Sleep at home, a public-transport or car commute with its walks and waits, a working day with
    short walks, a lunch walk, an evening errand by bike or on foot, and home again. Durations vary
    with ``rng``; the commute mode is drawn per day.
    """
    u = rng.uniform
    commute = rng.choice(["bus", "subway", "train", "car"])
    to_work: list[Leg] = []
    if commute == "car":
        to_work = [Leg("walk", u(60, 150)), Leg("car", u(900, 2400), placement="mount"), Leg("walk", u(60, 200))]
    else:
        to_work = [Leg("walk", u(240, 600)), Leg("still", u(60, 420)), Leg(str(commute), u(900, 2400)), Leg("walk", u(120, 420))]
    legs = [Leg("still", u(6.3, 7.6) * HOUR_S, placement="table", indoor=True)]
    legs += to_work
    legs += [Leg("still", u(2.5, 3.5) * HOUR_S, indoor=True), Leg("walk", u(300, 900)), Leg("still", u(1200, 2400)),
             Leg("walk", u(300, 900)), Leg("still", u(2.5, 3.5) * HOUR_S, indoor=True)]  # fmt: skip
    legs += list(reversed(to_work))
    errand = rng.choice(["bike", "walk", "run"])
    legs += [Leg("still", u(1200, 3600), indoor=True), Leg(str(errand), u(900, 2400)), Leg("still", u(600, 1800))]
    used = sum(leg.duration_s for leg in legs)
    rest = hours * HOUR_S - used
    if rest > 60:
        legs.append(Leg("still", rest, placement="table", indoor=True))
    # Cut to the requested length.
    out, total = [], 0.0
    for leg in legs:
        if total >= hours * HOUR_S:
            break
        d = min(leg.duration_s, hours * HOUR_S - total)
        if d >= 1.0:
            out.append(Leg(leg.mode, d, leg.placement, leg.heading_rad, leg.destination_xy_m, leg.indoor))
        total += d
    return out


def split_legs(legs: list[Leg], max_s: float = 600.0) -> list[Leg]:
    """The same chain of legs, long ones cut into pieces of at most ``max_s`` seconds.

    The simulator holds one leg in memory at a time; pieces keep a day's simulation to a few MB.
    """
    out = []
    for leg in legs:
        n = max(1, int(-(-leg.duration_s // max_s)))
        for i in range(n):
            d = min(max_s, leg.duration_s - i * max_s)
            if d >= 1.0:
                out.append(Leg(leg.mode, d, leg.placement, leg.heading_rad if i == 0 else None, leg.destination_xy_m, leg.indoor))
    return out
