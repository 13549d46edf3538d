"""Personas of the demo: weekly schedules over planted places, streamed leg by leg from the simulator.

A persona is a daily schedule (wake and leave times, commute modes, gym, runs, school runs, bars,
shops) over planted places in the simulator's local plane (metres east/north of home). The
:class:`StreamingWalker` chains :func:`sdk.sim.simulate.simulate_leg` calls toward the planted
coordinates (as :mod:`trainer.eval_places` does) but hands every leg's whole recording (25 Hz IMU and
1 Hz GPS) to a sink instead of keeping it, so a week never sits in memory; it keeps only the truth:
the legs ``(start, end, mode)`` and the stops ``(start, end, place)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.sim.simulate import LegState, SimulatorOptions, simulate_leg

HOUR_S = 3600.0
DAY_S = 86400.0
#: Monday 2023-11-13 00:00 UTC: day 0 of every demo.
MONDAY_T0 = 1_699_833_600.0
#: The simulation starts this long before day 0 (Sunday 21:00, at home), so that a week of days
#: gives the SDK more than 7 days of timeline (the segments need >= 7 days), s.
LEAD_IN_S = 3 * 3600.0
#: Planted places, metres (east, north) of home.
PLACES_XY_M: dict[str, tuple[float, float]] = {
    "home": (0.0, 0.0), "work": (3200.0, 2100.0), "cafe": (3550.0, 2350.0), "shop": (-700.0, 650.0),
    "gym": (900.0, -600.0), "school": (-450.0, -950.0), "bar": (1900.0, -1300.0),
}  # fmt: skip
#: Planted place → place category of :data:`sdk.io.timeline_file.PLACE_CATEGORIES` (the moments' truth).
CATEGORY = {"home": "home", "work": "work", "cafe": "restaurant", "shop": "shop", "gym": "gym", "school": "school",
            "bar": "bar", "park": "park"}  # fmt: skip
_SPEED_MPS = {"car": 11.0, "bus": 7.0, "train": 14.0, "subway": 10.0, "bike": 4.5, "walk": 1.3, "run": 2.8}


class SimulationDone(Exception):
    """Raised inside a schedule when the requested number of hours has been simulated."""


class StreamingWalker:
    """Chains simulated legs toward planted places; each leg's recording goes to ``sink`` and is dropped.

    Parameters
    ----------
    person, device : sdk.sim profiles
    seed : int
    options : SimulatorOptions
        ``t0`` is the start (unix s).
    sink : callable
        ``sink(recording)`` for every leg (an :class:`sdk.io.imu_file.ImuRecording` with GPS).
    t_end : float
        Unix s at which the simulation stops (:class:`SimulationDone`).
    """

    def __init__(self, person, device, seed: int, options: SimulatorOptions, sink: Callable, t_end: float):
        self.person, self.device, self.opts, self.sink = person, device, options, sink
        self.seed, self.t_end = seed, float(t_end)
        self.state = LegState(t_s=options.t0, xy_m=np.zeros(2), heading_rad=0.0)
        self.legs: list = []   # (start, end, mode), consecutive same-mode legs merged
        self.stops: list = []  # (start, end, place name)
        self.k = 0

    @property
    def t(self) -> float:
        return self.state.t_s

    def leg(self, mode: str, duration_s: float, dest=None, indoor: bool | None = None) -> None:
        left = self.t_end - self.state.t_s
        if left < 1.0:
            raise SimulationDone
        duration_s = min(float(duration_s), left)
        rng = np.random.default_rng([self.seed, self.k, 7])
        self.k += 1
        t0 = self.state.t_s
        res = simulate_leg(mode, duration_s, self.person, self.device, rng=rng, state=self.state,
                           destination_xy_m=dest, indoor=indoor, options=self.opts,
                           placement="mount" if mode == "car" else None)  # fmt: skip
        self.state = res.state
        if self.legs and self.legs[-1][2] == mode:
            self.legs[-1] = (self.legs[-1][0], self.state.t_s, mode)
        else:
            self.legs.append((t0, self.state.t_s, mode))
        self.sink(res.recording)

    def travel(self, place: str, mode: str, rng: np.random.Generator) -> None:
        """Ride ``mode`` toward the planted ``place``, then walk the rest until within 15 m."""
        dest = np.asarray(PLACES_XY_M[place], float)
        if mode not in ("walk", "run"):
            self.leg("walk", rng.uniform(40, 120), dest)
        for _ in range(6):
            left = float(np.hypot(*(dest - self.state.xy_m)))
            if left < 250.0 or mode == "walk":
                break
            self.leg(mode, max(30.0, 0.8 * left / _SPEED_MPS[mode]), tuple(dest))
        for _ in range(8):
            left = float(np.hypot(*(dest - self.state.xy_m)))
            if left < 15.0:
                break
            self.leg("walk", max(5.0, 0.9 * left / 1.35), tuple(dest))

    def stay(self, place: str, until_t: float, indoor: bool = True) -> None:
        """Stay at ``place`` until ``until_t`` (in pieces of <= 30 min; nothing if already later)."""
        s = self.state.t_s
        try:
            while until_t - self.state.t_s >= 1.0:
                self.leg("still", min(1800.0, until_t - self.state.t_s), None, indoor)
        finally:  # also when the simulation ends during the stay
            if self.state.t_s > s:
                if self.stops and self.stops[-1][2] == place and abs(self.stops[-1][1] - s) < 1.0:
                    self.stops[-1] = (self.stops[-1][0], self.state.t_s, place)
                else:
                    self.stops.append((s, self.state.t_s, place))

    def run_loop(self, minutes: float, rng: np.random.Generator) -> None:
        """A run from home out toward the park and back home (the run itself has no stop)."""
        park = (rng.uniform(-1500, 1500), rng.uniform(1200, 1800))
        self.leg("run", minutes * 30.0, park)
        dest = np.asarray(PLACES_XY_M["home"], float)
        for _ in range(6):
            left = float(np.hypot(*(dest - self.state.xy_m)))
            if left < 150.0:
                break
            self.leg("run", max(30.0, 0.85 * left / _SPEED_MPS["run"]), tuple(dest))
        self.travel("home", "walk", rng)


@dataclasses.dataclass(frozen=True)
class Persona:
    """A schedule and the traits it plants (the segments it should get)."""

    name: str
    description: str
    traits: tuple
    day: Callable  # day(walker, day_index, day_start_unix_s, rng)
    short_school: bool = False

    @property
    def aggressive_driver(self) -> bool:
        """The simulated person drives cars harshly (planted with the ``aggressive_driver`` trait)."""
        return "aggressive_driver" in self.traits


def _u(rng, a, b):
    return float(rng.uniform(a, b))


def _commuter(w: StreamingWalker, d: int, t: float, rng) -> None:
    if d % 7 < 5:
        mode = "car" if d % 7 == 4 else str(rng.choice(["train", "bus"], p=[0.6, 0.4]))
        w.stay("home", t + _u(rng, 7.2, 7.8) * HOUR_S)
        w.travel("work", mode, rng)
        if d % 7 == 2:  # Wednesday: lunch at the café
            w.stay("work", t + _u(rng, 11.9, 12.3) * HOUR_S)
            w.travel("cafe", "walk", rng)
            w.stay("cafe", w.t + _u(rng, 40, 55) * 60)
            w.travel("work", "walk", rng)
        w.stay("work", t + _u(rng, 17.0, 17.6) * HOUR_S)
        if d % 7 in (1, 3):
            w.travel("shop", mode, rng)
            w.stay("shop", w.t + _u(rng, 10, 25) * 60)
            w.travel("home", "walk", rng)
        else:
            w.travel("home", mode, rng)
    else:
        w.stay("home", t + _u(rng, 10.0, 11.0) * HOUR_S)
        w.travel("shop", "car", rng)
        w.stay("shop", w.t + _u(rng, 20, 40) * 60)
        w.travel("home", "car", rng)


def _early_riser(w, d, t, rng) -> None:
    if d % 7 < 5:
        w.stay("home", t + _u(rng, 5.6, 6.2) * HOUR_S)
        w.travel("work", "car", rng)
        w.stay("work", t + _u(rng, 14.5, 15.2) * HOUR_S)
        w.travel("home", "car", rng)
    else:
        w.stay("home", t + _u(rng, 7.0, 7.8) * HOUR_S)
        w.travel("cafe", "bike", rng)
        w.stay("cafe", w.t + _u(rng, 40, 60) * 60)
        w.travel("home", "bike", rng)


def _night_owl(w, d, t, rng) -> None:
    if d % 7 < 5:
        w.stay("home", t + _u(rng, 9.6, 10.2) * HOUR_S)
        w.travel("work", "bike", rng)
        w.stay("work", t + _u(rng, 18.3, 18.8) * HOUR_S)
    else:
        w.stay("home", t + _u(rng, 12.5, 13.5) * HOUR_S)
        w.travel("shop", "walk", rng)
        w.stay("shop", w.t + _u(rng, 15, 30) * 60)
        w.travel("home", "walk", rng)
        w.stay("home", t + _u(rng, 20.5, 21.5) * HOUR_S)
    if d % 7 in (1, 3, 4, 5):  # bar nights, home between 00:30 and 02:30
        w.travel("bar", "bus" if d % 7 < 5 else "walk", rng)
        w.stay("bar", t + DAY_S + _u(rng, 0.2, 2.0) * HOUR_S)
        w.travel("home", "car", rng)  # a taxi
    elif d % 7 < 5:
        w.travel("home", "bike", rng)


def _sporty(w, d, t, rng) -> None:
    if d % 7 < 5:
        w.stay("home", t + _u(rng, 7.4, 7.9) * HOUR_S)
        w.travel("work", "bike", rng)
        w.stay("work", t + _u(rng, 16.8, 17.3) * HOUR_S)
        if d % 7 in (0, 2, 4):
            w.travel("gym", "bike", rng)
            w.stay("gym", w.t + _u(rng, 60, 75) * 60)
            w.travel("home", "bike", rng)
        else:
            w.travel("home", "bike", rng)
            w.stay("home", t + _u(rng, 18.3, 18.8) * HOUR_S)
            w.run_loop(_u(rng, 28, 40), rng)
    else:
        w.stay("home", t + _u(rng, 8.5, 9.5) * HOUR_S)
        if d % 7 == 5:
            w.run_loop(_u(rng, 40, 55), rng)
        else:
            w.travel("gym", "bike", rng)
            w.stay("gym", w.t + _u(rng, 60, 90) * 60)
            w.travel("home", "bike", rng)


def _parent(w, d, t, rng) -> None:
    if d % 7 < 5:
        w.stay("home", t + _u(rng, 7.6, 7.9) * HOUR_S)
        w.travel("school", "car", rng)
        w.stay("school", w.t + _u(rng, 7, 11) * 60, indoor=False)
        w.travel("work", "car", rng)
        w.stay("work", t + _u(rng, 15.0, 15.3) * HOUR_S)
        w.travel("school", "car", rng)
        w.stay("school", w.t + _u(rng, 8, 14) * 60, indoor=False)
        if d % 7 in (0, 3):
            w.travel("shop", "car", rng)
            w.stay("shop", w.t + _u(rng, 20, 35) * 60)
        w.travel("home", "car", rng)
    else:
        w.stay("home", t + _u(rng, 9.5, 10.5) * HOUR_S)
        w.travel("shop", "car", rng)
        w.stay("shop", w.t + _u(rng, 30, 50) * 60)
        w.travel("home", "car", rng)


def _shopaholic(w, d, t, rng) -> None:
    if d % 7 < 5:
        w.stay("home", t + _u(rng, 7.8, 8.2) * HOUR_S)
        w.travel("work", "car", rng)
        w.stay("work", t + _u(rng, 16.8, 17.2) * HOUR_S)
        w.travel("shop", "car", rng)
        w.stay("shop", w.t + _u(rng, 25, 45) * 60)
        w.travel("home", "car", rng)
    else:
        for _ in range(2):
            w.stay("home", w.t + _u(rng, 2.0, 3.0) * HOUR_S if w.t > t + 9 * HOUR_S else t + _u(rng, 9.5, 10.5) * HOUR_S)
            w.travel("shop", "walk", rng)
            w.stay("shop", w.t + _u(rng, 30, 60) * 60)
            w.travel("home", "walk", rng)


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    Persona("commuter", "train or bus to work on weekdays (car on Fridays), café lunch on Wednesdays, shop twice a week",
            ("public_transport",), _commuter),
    Persona("early_riser", "drives to work before 06:15, home by 15:30; weekend breakfast at the café by bike",
            ("early_riser",), _early_riser),
    Persona("night_owl", "bikes to work at ~10:00, four bar nights a week, home after midnight",
            ("night_owl",), _night_owl),
    Persona("sporty", "bikes to work, gym three times a week, runs on the other days", ("sporty",), _sporty),
    Persona("parent", "drives the kids to school, works until 15:00, picks them up; shops twice a week",
            ("parent",), _parent, short_school=True),
    Persona("shopaholic", "drives to work (hard on the pedals), the shop after work every weekday and twice a day "
            "at weekends", ("shopaholic", "aggressive_driver"), _shopaholic),
)}  # fmt: skip


def get_persona(name: str) -> Persona:
    """The persona called ``name``; :class:`InputError` naming the known ones otherwise."""
    try:
        return PERSONAS[name]
    except KeyError:
        raise InputError(f"unknown persona {name!r}; choose one of {', '.join(PERSONAS)}") from None


def simulate_persona(persona: Persona, walker: StreamingWalker, n_days: int, rng: np.random.Generator,
                     day0: float = MONDAY_T0) -> None:  # fmt: skip
    """Run ``persona``'s schedule for ``n_days`` days from ``day0`` (unix s of a Monday 00:00); the
    walker may start earlier (at home: the evening before)."""
    t0 = day0
    try:
        walker.stay("home", day0)
        for d in range(n_days):
            persona.day(walker, d, t0 + d * DAY_S, rng)
            walker.stay("home", t0 + (d + 1) * DAY_S)
    except SimulationDone:
        pass
