"""Legs and trips: what a person does, in which order, for how long.

A trip chains its access legs around the main mode (walk to the stop, wait, ride, walk on), so
simulated recordings contain the transitions a real day has. The legs around a ride are drawn from
one table for every vehicle (a car after a wait, a bus straight after a walk, a run to the stop,
park-and-ride), so the order of legs carries no hint of the vehicle. :func:`plan_legs` balances the time
per mode over a whole dataset.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.sim.placement import PLACEMENTS


@dataclasses.dataclass(frozen=True)
class Leg:
    """One stretch of a single mode.

    Attributes:
        mode: One of :data:`sdk.records.TRANSPORT_MODES`.
        duration_s: Length of the leg, s (> 0).
        placement: Where the phone is (pocket, hand, bag, mount, table); None = chosen at random
            among the placements that fit the mode.
        heading_rad: Initial direction of travel, rad counter-clockwise from east; None = keep the
            previous leg's heading.
        destination_xy_m: East/north point (m, local plane) the leg heads for; it fixes the direction
            of travel, the distance covered follows from the duration and the mode's speeds.
        indoor: For still legs: indoors (poor or no GPS). None = decided at random.
    """

    mode: str
    duration_s: float
    placement: Optional[str] = None
    heading_rad: Optional[float] = None
    destination_xy_m: Optional[tuple[float, float]] = None
    indoor: Optional[bool] = None

    def __post_init__(self):
        if self.mode not in TRANSPORT_MODES:
            raise InputError(f"Leg.mode must be one of {TRANSPORT_MODES}, got {self.mode!r}")
        if not np.isfinite(self.duration_s) or self.duration_s <= 0:
            raise InputError(f"Leg.duration_s must be a positive number of seconds, got {self.duration_s!r}")
        if self.placement is not None and self.placement not in PLACEMENTS:
            raise InputError(f"Leg.placement must be None or one of {PLACEMENTS}, got {self.placement!r}")

    def to_dict(self) -> dict:
        """JSON-serialisable dict; :meth:`from_dict` rebuilds the leg."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Leg":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        if d.get("destination_xy_m") is not None:
            d["destination_xy_m"] = tuple(d["destination_xy_m"])
        return cls(**d)


#: Trip templates: (mode, min s, max s) legs; the main mode is the one the template is named for.
#: Rides (car, bus, train, subway) list only the ride itself: their access and egress legs come from
#: :data:`ACCESS_PATTERNS` and :data:`EGRESS_PATTERNS`, the same for every vehicle.
TRIP_TEMPLATES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "still": (("still", 180, 1200),),
    "walk": (("walk", 300, 1200),),
    "run": (("walk", 60, 180), ("run", 600, 1800), ("walk", 60, 240)),
    "bike": (("walk", 30, 120), ("bike", 600, 1800), ("walk", 30, 120)),
    "car": (("car", 600, 2400),),
    "bus": (("bus", 600, 1800),),
    "train": (("train", 900, 3000),),
    "subway": (("subway", 600, 1800),),
}

#: Vehicles whose legs before and after are drawn from the shared tables below.
RIDE_MODES = ("car", "bus", "train", "subway")

#: Legs before a ride, ``(probability, legs)``, one table for every vehicle: a lift is waited for as
#: a bus is, people walk straight onto a bus or run to catch it. The leg before a ride then says
#: nothing about which vehicle it is (``tests/test_sim_leaks.py`` probes it).
ACCESS_PATTERNS: tuple[tuple[float, tuple[tuple[str, float, float], ...]], ...] = (
    (0.30, (("walk", 60, 400),)),
    (0.30, (("walk", 60, 400), ("still", 60, 480))),
    (0.15, (("still", 60, 480),)),
    (0.10, (("walk", 60, 300), ("run", 10, 60))),
    (0.15, (("walk", 60, 300), ("run", 10, 60), ("still", 30, 300))),
)

#: Legs after a ride, ``(probability, legs)``, one table for every vehicle.
EGRESS_PATTERNS: tuple[tuple[float, tuple[tuple[str, float, float], ...]], ...] = (
    (0.70, (("walk", 60, 300),)),
    (0.20, (("still", 30, 180), ("walk", 60, 300))),
    (0.10, (("walk", 20, 90), ("still", 30, 240))),
)

#: Probability that a ride is one half of a park-and-ride (a car, a short walk, maybe a wait, then a
#: bus, train or subway; or the same in reverse).
PARK_AND_RIDE_PROB = 0.15


def _draw(rng: np.random.Generator, table) -> tuple[tuple[str, float, float], ...]:
    p = np.array([w for w, _ in table])
    return table[rng.choice(len(table), p=p / p.sum())][1]


def trip_legs(main: str, rng: np.random.Generator) -> list[tuple[str, float, float]]:
    """The ``(mode, min s, max s)`` legs of one trip whose main mode is ``main``.

    Rides get shared access/egress legs (:data:`ACCESS_PATTERNS`, :data:`EGRESS_PATTERNS`) and, with
    :data:`PARK_AND_RIDE_PROB`, a second ride: car then public transport, or the reverse.
    """
    if main not in RIDE_MODES:
        return list(TRIP_TEMPLATES[main])
    rides = [TRIP_TEMPLATES[main][0]]
    if rng.random() < PARK_AND_RIDE_PROB:
        other = str(rng.choice(["bus", "train", "subway"])) if main == "car" else "car"
        second = (other,) + TRIP_TEMPLATES[other][0][1:]
        change = list(_draw(rng, ACCESS_PATTERNS))
        rides = [rides[0], *change, second] if rng.random() < 0.5 else [second, *change, rides[0]]
    return list(_draw(rng, ACCESS_PATTERNS)) + rides + list(_draw(rng, EGRESS_PATTERNS))


def plan_legs(
    rng: np.random.Generator,
    total_s: float,
    modes: tuple[str, ...] = TRANSPORT_MODES,
    covered_s: Optional[dict[str, float]] = None,
) -> list[Leg]:
    """A random sequence of trips filling exactly ``total_s`` seconds.

    Parameters
    ----------
    rng : numpy.random.Generator
    total_s : float
        Total duration, s.
    modes : tuple of str
        Modes to use (access legs of a mode not listed are left out).
    covered_s : dict, optional
        Seconds already simulated per mode (updated in place), so several calls balance the modes
        across a dataset: the next main mode is drawn favouring the least covered ones.

    Returns
    -------
    list of Leg
        Leg durations shrink for short ``total_s`` (down to 10 % of the template, at least 20 s).
    """
    bad = [m for m in modes if m not in TRANSPORT_MODES]
    if bad or not modes:
        raise InputError(f"modes must be a non-empty subset of {TRANSPORT_MODES}, got {modes!r}")
    if total_s <= 0:
        return []
    covered = covered_s if covered_s is not None else {}
    scale = float(np.clip(total_s / 3600.0, 0.1, 1.0))
    legs: list[Leg] = []
    left = float(total_s)
    while left > 1.0:
        cov = np.array([covered.get(m, 0.0) for m in modes])
        w = np.exp(-(cov - cov.min()) / max(600.0 * scale, 1.0))
        main = modes[rng.choice(len(modes), p=w / w.sum())]
        trip = [(m, lo, hi) for m, lo, hi in trip_legs(main, rng) if m in modes]
        if legs and "still" in modes and main != "still":
            trip = [("still", 60, 600)] + trip  # time spent at the place between trips
        for m, lo, hi in trip:
            d = min(max(20.0, rng.uniform(lo, hi) * scale), left)
            if d < 1.0:
                break
            legs.append(Leg(m, d))
            covered[m] = covered.get(m, 0.0) + d
            left -= d
    return legs
