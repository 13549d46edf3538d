"""Simulate a population's timelines (``momentsense-timeline-v1``) with planted ground truth.

Each user gets a :class:`~trainer.population.profile.Profile` (places, routines, personas) and a
seeded :class:`random.Random` derived from ``(seed, user index)`` only, so a user's weeks are the
same whatever the population size or the number of worker processes. Days are planned as outings
(:mod:`trainer.population.days`) and executed here into contiguous visit/transport events: visits
fill the time between trips, public transport trips have walking legs, and every transport event
carries the ground-truth moment of its trip.

Ground truth that no model sees: ``moment`` per transport event; per user ``segments`` (personas),
``public_holidays``, ``vacation_days``, ``sick_days``, ``business_trip_days`` (unix midnights).
Times are unix seconds on a local clock (the simulated time zone is UTC, so ``t % 86400`` is the
time of day); the simulation starts on Monday 2026-01-05 00:00.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Callable, Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.io.timeline_file import KINDS, LABELS, MOMENTS, Timeline
from momentsense.trainer.population.days import DayContext, Stop, plan_day
from momentsense.trainer.population.profile import HOUR, SPEED_KMH, Profile, sample_profile

SIMULATOR_VERSION = "population-sim 1.0"
#: Monday 2026-01-05 00:00 UTC.
DEFAULT_START = 1767571200.0
DAY = 86400.0
PUBLIC = ("bus", "train", "subway")
_LABEL = {lab: i for i, lab in enumerate(LABELS)}
_MOMENT = {m: i for i, m in enumerate(MOMENTS)}


@dataclasses.dataclass(frozen=True)
class PopulationOptions:
    """Options of :func:`simulate_population`.

    Attributes:
        n_users: Number of users (≥ 1).
        weeks: Simulated weeks per user (≥ 1).
        seed: Random seed; same seed, same population.
        start: Unix time of the first day's midnight (a Monday).
        n_jobs: Worker processes (results do not depend on it).
    """

    n_users: int
    weeks: int
    seed: int = 0
    start: float = DEFAULT_START
    n_jobs: int = 1

    def __post_init__(self):
        if int(self.n_users) < 1 or int(self.weeks) < 1:
            raise InputError(f"n_users and weeks must be >= 1, got n_users={self.n_users!r}, weeks={self.weeks!r}")
        if int(self.n_jobs) < 1:
            raise InputError(f"n_jobs must be >= 1, got {self.n_jobs!r}")


def public_holidays(seed: int, weeks: int, start: float = DEFAULT_START) -> list[float]:
    """Population-wide public holidays (unix midnights): one weekday in week 2 and one in week 5.

    Everyone has them (like a national holiday); weeks beyond the simulated range are dropped.
    """
    rng = random.Random(seed * 7919 + 17)
    days = []
    for week in (1, 4):
        if week < weeks:
            days.append(start + (week * 7 + rng.randint(0, 4)) * DAY)
    return days


class _Writer:
    """Accumulates one user's events, making visits fill the time between trips."""

    def __init__(self, p: Profile, rng: random.Random, t_start: float):
        self.p, self.rng = p, rng
        self.place, self.arrived = "home", t_start
        self.rows: list[tuple] = []
        self.outing_mode: Optional[str] = None  # a car or bike taken out comes back with its owner

    def start_outing(self) -> None:
        self.outing_mode = None

    def _visit(self, end: float) -> None:
        if end > self.arrived:
            pl = self.p.places[self.place]
            self.rows.append((self.arrived, end, 0, _LABEL[pl.label], pl.place_id, -1))

    def _distance(self, a: str, b: str) -> float:
        da, db = self.p.places[a].distance_km, self.p.places[b].distance_km
        return max(0.3, abs(da - db) + 0.35 * min(da, db))

    def _legs(self, dest: str, mode: Optional[str]) -> list[tuple[str, float]]:
        p, rng = self.p, self.rng
        dist = self._distance(self.place, dest)
        if mode is None:
            if p.places[dest].label == "travel" or p.places[self.place].label == "travel":
                mode = "car" if p.has_car and dist < 250 else "train"
            elif dist < 1.0:
                mode = "walk"
            elif p.has_car:
                mode = "car"
            elif p.has_bike and dist < 5:
                mode = "bike"
            else:
                mode = "bus" if dist < 8 else rng.choice(["train", "subway"])
        speed = SPEED_KMH[mode] * (p.speed_factor if mode == "car" else 1.0)
        main = (dist / speed) * HOUR * rng.lognormvariate(0.0, 0.12) + rng.uniform(60, 240)
        if mode in PUBLIC:
            return [("walk", rng.uniform(180, 720)), (mode, main + rng.uniform(60, 420)), ("walk", rng.uniform(120, 600))]
        return [(mode, main)]

    def go(self, stop: Stop, not_before: float) -> float:
        """Travel to ``stop``; return the time it is left again (or the arrival for home)."""
        mode = stop.mode if stop.mode is not None else self.outing_mode
        legs = self._legs(stop.place, mode)
        if legs[0][0] in ("car", "bike") and self.outing_mode is None:
            self.outing_mode = legs[0][0]
        travel = sum(d for _, d in legs)
        if stop.depart is not None:
            dep = stop.depart
        elif stop.arrive is not None:
            dep = stop.arrive - travel
        else:
            dep = not_before
        dep = max(dep, not_before, self.arrived + 300.0)
        self._visit(dep)
        t = dep
        moment = _MOMENT[stop.moment]
        for mode, d in legs:
            self.rows.append((t, t + d, 1, _LABEL[mode], "", moment))
            t += d
        self.place, self.arrived = stop.place, t
        if stop.until is not None:
            return max(stop.until, t + 600.0)
        return t + max(stop.stay_s, 120.0)

    def close(self, t_end: float) -> None:
        self.rows = [r for r in self.rows if r[0] < t_end]
        self.rows = [(a, min(b, t_end), *rest) for a, b, *rest in self.rows]
        if self.arrived < t_end:
            self._visit(t_end)


def execute_outings(w: _Writer, outings: list) -> None:
    """Travel through a day's planned outings in order, appending their events to ``w``."""
    for outing in outings:
        t_free = w.arrived
        w.start_outing()
        for stop in outing.stops:
            t_free = w.go(stop, t_free)


def _irregular_days(p: Profile, rng: random.Random, n_days: int, weekday_holidays: set[int]) -> dict[int, tuple[str, Optional[int]]]:
    """Day index -> (day type, index of the return day for trips away)."""
    days: dict[int, tuple[str, Optional[int]]] = {d: ("public_holiday", None) for d in weekday_holidays}
    weeks = n_days // 7
    if rng.random() < 0.25 and weeks >= 2:  # one week of vacation
        w = rng.randint(1, weeks - 1)
        if rng.random() < 0.5:
            first, last = w * 7 - 2, min(w * 7 + 6, n_days - 1)  # Saturday before to Sunday after
            days[first] = ("vacation_away_start", last)
            for d in range(first + 1, last + 1):
                days[d] = ("away", None)
        else:
            for d in range(w * 7, min(w * 7 + 7, n_days)):
                days[d] = ("vacation_home", None)
    if p.occupation in ("worker", "shift_worker") and rng.random() < 0.12 and weeks >= 2:
        d0 = rng.randint(1, weeks - 1) * 7 + rng.randint(0, 2)
        n = rng.randint(1, 3)
        if all(d not in days for d in range(d0, d0 + n + 1)) and d0 + n < n_days:
            days[d0] = ("business_start", d0 + n)
            for d in range(d0 + 1, d0 + n + 1):
                days[d] = ("away", None)
    for d in range(n_days):
        if d % 7 < 5 and d not in days and rng.random() < 0.025:
            days[d] = ("sick", None)
    return days


def simulate_user(index: int, weeks: int, seed: int, start: float = DEFAULT_START,
                  on_day: Optional[Callable[[int, DayContext, "_Writer", random.Random], None]] = None) -> tuple[Profile, list[tuple], dict]:  # fmt: skip
    """Simulate one user.

    Parameters
    ----------
    index : int
        User index (the id is ``u{index:06d}``); with ``seed`` it fixes the random stream.
    weeks : int
    seed : int
    start : float
        Unix time of the first Monday midnight.
    on_day : callable, optional
        Called as ``on_day(day_index, ctx, writer, rng)`` just before each day is planned (the
        writer holds the rows so far, the rng the state that day starts from); it must not draw
        from ``rng`` or change ``writer``. Used by :mod:`trainer.nextevent.ceiling` to replay days.

    Returns
    -------
    profile : Profile
    rows : list of tuple
        ``(start, end, kind code, label code, place_id, moment code)``, contiguous and ordered.
    truth : dict
        Per-user ground truth (segments and irregular days as unix midnights).
    """
    user = f"u{index:06d}"
    rng = random.Random(f"{seed}:{index}")
    p = sample_profile(user, rng)
    n_days = weeks * 7
    hol = {int((t - start) // DAY) for t in public_holidays(seed, weeks, start)}
    special = _irregular_days(p, rng, n_days, hol)
    w = _Writer(p, rng, start)
    late = False
    for d in range(n_days):
        kind, back = special.get(d, ("normal", None))
        t_day = start + d * DAY
        away_until = start + back * DAY + rng.uniform(14.0, 18.0) * HOUR if back is not None else None
        ctx = DayContext(t_day, d % 7, d // 7, kind, late, away_until)
        if on_day is not None:
            on_day(d, ctx, w, rng)
        outings, late = plan_day(p, ctx, rng)
        execute_outings(w, outings)
    w.close(start + n_days * DAY)
    truth = {"segments": list(p.segments), "occupation": p.occupation,
             "public_holidays": sorted(start + d * DAY for d, (k, _) in special.items() if k == "public_holiday"),
             "vacation_days": sorted(start + d * DAY for d, (k, _) in special.items() if k in ("vacation_home", "vacation_away_start", "away") and not _is_business(special, d)),
             "sick_days": sorted(start + d * DAY for d, (k, _) in special.items() if k == "sick"),
             "business_trip_days": sorted(start + d * DAY for d in _business_days(special))}  # fmt: skip
    return p, w.rows, truth


def _business_days(special: dict) -> list[int]:
    out = []
    for d, (k, back) in special.items():
        if k == "business_start":
            out.extend(range(d, back + 1))
    return out


def _is_business(special: dict, d: int) -> bool:
    return d in set(_business_days(special))


def _simulate_chunk(args: tuple) -> list[tuple]:
    indices, weeks, seed, start = args
    out = []
    for i in indices:
        _, rows, truth = simulate_user(i, weeks, seed, start)
        out.append((f"u{i:06d}", rows, truth))
    return out


def simulate_population(options: PopulationOptions, progress: Optional[Callable[[int], None]] = None) -> Timeline:
    """Simulate ``options.n_users`` users for ``options.weeks`` weeks.

    Parameters
    ----------
    options : PopulationOptions
    progress : callable, optional
        Called with the number of users just finished (for a progress bar).

    Returns
    -------
    Timeline
        Sorted by user then start; ``truth`` holds each user's segments and irregular days.
    """
    n, chunk = int(options.n_users), 100
    jobs = [(list(range(a, min(a + chunk, n))), int(options.weeks), int(options.seed), float(options.start)) for a in range(0, n, chunk)]
    results: list[list[tuple]] = []
    if options.n_jobs > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(int(options.n_jobs)) as pool:
            for res in pool.imap(_simulate_chunk, jobs):
                results.append(res)
                if progress:
                    progress(len(res))
    else:
        for job in jobs:
            res = _simulate_chunk(job)
            results.append(res)
            if progress:
                progress(len(res))
    users, truth, cols = [], {}, []
    for res in results:
        for uid, rows, tr in res:
            users.append(uid)
            truth[uid] = tr
            cols.append(rows)
    place_names = sorted({r[4] for rows in cols for r in rows if r[4]})
    pidx = {p: i for i, p in enumerate(place_names)}
    lens = [len(rows) for rows in cols]
    flat = [r for rows in cols for r in rows]
    arr = np.array([(r[0], r[1], r[2], r[3], pidx.get(r[4], -1), r[5]) for r in flat], np.float64).reshape(-1, 6)
    user = np.repeat(np.arange(len(users), dtype=np.int32), lens)
    source = f"{SIMULATOR_VERSION}; seed={options.seed}; users={n}; weeks={options.weeks}"
    return Timeline(users, user, arr[:, 0], arr[:, 1], arr[:, 2].astype(np.int8), arr[:, 3].astype(np.int16),
                    arr[:, 4].astype(np.int32), place_names, arr[:, 5].astype(np.int16), truth, source)  # fmt: skip


__all__ = ["PopulationOptions", "simulate_population", "simulate_user", "public_holidays", "KINDS", "SIMULATOR_VERSION"]
