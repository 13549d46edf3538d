"""Plan a simulated user's day as *outings* (leave home, one or more stops, come back).

A day plan is a list of :class:`Outing`; the executor in :mod:`trainer.population.simulate`
turns them into visit and transport events, clamping departures so that nobody leaves before
arriving. Every stop carries the ground-truth moment of the trip that reaches it.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from typing import Optional

from momentsense.trainer.population.profile import HOUR, Profile


@dataclasses.dataclass
class Stop:
    """Go to ``place`` (for ``moment``); leave at ``until`` (unix s) or after ``stay_s`` seconds.

    ``depart``/``arrive`` (unix s) pin when the trip to it leaves or should arrive; ``mode`` forces
    the transport mode (commutes, runs).
    """

    place: str
    moment: str
    stay_s: float = 0.0
    until: Optional[float] = None
    depart: Optional[float] = None
    arrive: Optional[float] = None
    mode: Optional[str] = None


@dataclasses.dataclass
class Outing:
    depart: float  # desired departure, unix s (used to order a day's outings)
    stops: list


@dataclasses.dataclass
class DayContext:
    """What the planner knows about one day: its midnight (unix s), weekday, week and type."""

    t_day: float
    dow: int
    week: int
    day_type: str  # normal, public_holiday, vacation_home, vacation_away_start, away, sick, business_start
    late_prev: bool
    away_until: Optional[float] = None  # for *_start days: the unix time the person comes back


def _home(moment: str, mode: Optional[str] = None) -> Stop:
    return Stop("home", moment, mode=mode)


def _u(rng: random.Random, lo_h: float, hi_h: float) -> float:
    return rng.uniform(lo_h, hi_h) * HOUR


def plan_day(p: Profile, ctx: DayContext, rng: random.Random) -> tuple[list[Outing], bool]:
    """Outings of one day and whether it ends late (a night out past midnight).

    Parameters
    ----------
    p : Profile
    ctx : DayContext
    rng : random.Random

    Returns
    -------
    outings : list of Outing
        Ordered by desired departure.
    late : bool
        True when the person comes home after midnight (the next morning starts later).
    """
    t0, dow = ctx.t_day, ctx.dow
    drift = p.wake_drift_s_per_week * ctx.week
    late_shift = 1.2 * HOUR if ctx.late_prev else 0.0
    outings: list[Outing] = []
    late = False
    if ctx.day_type == "away":
        return [], False
    if ctx.day_type in ("vacation_away_start", "business_start"):
        moment = "leisure_trip" if ctx.day_type == "vacation_away_start" else "business_trip"
        place = "travel_1" if moment == "leisure_trip" else "travel_2"
        dep = t0 + (_u(rng, 9, 11.5) if moment == "leisure_trip" else _u(rng, 6.5, 8.5))
        return [Outing(dep, [Stop(place, moment, depart=dep, until=ctx.away_until), _home(moment)])], False
    if ctx.day_type == "sick":
        if rng.random() < 0.35:
            dep = t0 + _u(rng, 9.5, 11.5)
            outings.append(Outing(dep, [Stop("other_1", "errand", depart=dep, stay_s=_u(rng, 0.4, 1.0)), _home("errand")]))
        return outings, False

    weekend = dow >= 5 or ctx.day_type in ("public_holiday", "vacation_home")
    wake = t0 + p.wake_s + drift + rng.gauss(0.0, 900.0) + late_shift
    if weekend and "early_riser" not in p.segments:
        wake += _u(rng, 0.6, 1.8)
    supermarket = "shop_4" if ctx.week >= p.shop_change_week else "shop_1"
    gym_days = p.gym_days_later if ctx.week >= p.gym_change_week else p.gym_days
    commute_mode = p.commute_modes[1] if len(p.commute_modes) > 1 and rng.random() < p.alt_commute_p else p.commute_modes[0]
    local_mode = "car" if p.has_car else "walk"
    free_from = wake + p.prep_s  # earliest departure for errands on free days
    busy_until = free_from

    if not weekend and p.occupation in ("worker", "student"):
        site = "work" if p.occupation == "worker" else "school"
        arrive = t0 + p.work_start_s + drift + rng.gauss(0.0, 600.0) + (0.5 * late_shift)
        if p.occupation == "student":
            until = t0 + _u(rng, 14.5, 16.2)
        else:
            until = arrive + p.work_hours_s + rng.gauss(0.0, 1200.0)
        stops = []
        if dow in p.school_run_days:
            drop = t0 + p.school_start_s - rng.uniform(0, 600)
            stops.append(Stop("kids_school", "school_run", arrive=drop, stay_s=rng.uniform(300, 600), mode=local_mode))
            arrive = max(arrive, drop + 1800)
        pickup = dow in p.pickup_days
        if pickup:
            until = min(until, t0 + _u(rng, 15.3, 15.8))
        stops.append(Stop(site, "commute", arrive=arrive, until=until, mode=commute_mode))
        after = "commute"
        if pickup:
            stops.append(Stop("kids_school", "school_run", stay_s=rng.uniform(600, 1200), mode=local_mode))
            after = "school_run"
        elif dow in gym_days and rng.random() < 0.85:
            stops.append(Stop("gym", "sport", stay_s=_u(rng, 1.0, 1.6)))
            after = "sport"
        elif dow == p.chore_day:
            stops.append(Stop(supermarket, "shopping", stay_s=_u(rng, 0.4, 0.8)))
            after = "shopping"
        stops.append(_home(after, mode=commute_mode if after == "commute" else None))
        outings.append(Outing(arrive - HOUR, stops))
        busy_until = until + HOUR
        if pickup and dow in gym_days:
            dep = t0 + _u(rng, 19.0, 20.0)
            outings.append(Outing(dep, [Stop("gym", "sport", depart=dep, stay_s=_u(rng, 1.0, 1.5)), _home("sport")]))
    elif not weekend and p.occupation == "shift_worker":
        shift = (ctx.week + zlib.crc32(p.user.encode()) % 3) % 3
        start_h = (6.0, 14.0, 22.0)[shift]
        arrive = t0 + start_h * HOUR + rng.gauss(0.0, 300.0)
        until = arrive + 8 * HOUR + rng.gauss(0.0, 600.0)
        outings.append(Outing(arrive - HOUR, [Stop("work", "commute", arrive=arrive, until=until, mode=commute_mode),
                                              _home("commute", mode=commute_mode)]))  # fmt: skip
        free_from = until + 8 * HOUR if shift != 1 else t0 + _u(rng, 10.0, 11.0)
        busy_until = until + 1.0 * HOUR
        if shift == 2:
            free_from, busy_until = t0 + _u(rng, 14.5, 16.0), t0 + 20.5 * HOUR
        if dow in p.school_run_days and shift != 0:
            drop = t0 + p.school_start_s - rng.uniform(0, 600)
            outings.append(Outing(drop - 900, [Stop("kids_school", "school_run", arrive=drop, stay_s=rng.uniform(300, 600), mode=local_mode),
                                               _home("school_run", mode=local_mode)]))  # fmt: skip
    else:  # weekends, holidays, and people without a fixed work day
        if p.weekend_work and dow == 5 and ctx.day_type == "normal":
            arrive = t0 + _u(rng, 9.5, 10.5)
            until = arrive + _u(rng, 4.0, 6.0)
            outings.append(Outing(arrive - HOUR, [Stop("work", "commute", arrive=arrive, until=until, mode=commute_mode),
                                                  _home("commute", mode=commute_mode)]))  # fmt: skip
            busy_until = until + HOUR
        if not weekend and p.occupation == "none" and dow in p.school_run_days:
            drop = t0 + p.school_start_s - rng.uniform(0, 600)
            outings.append(Outing(drop - 900, [Stop("kids_school", "school_run", arrive=drop, stay_s=rng.uniform(300, 600), mode=local_mode),
                                               _home("school_run", mode=local_mode)]))  # fmt: skip
        if not weekend and p.occupation == "none" and dow in p.pickup_days:
            pick = t0 + _u(rng, 15.5, 16.0)
            outings.append(Outing(pick - 900, [Stop("kids_school", "school_run", arrive=pick, stay_s=rng.uniform(600, 1200), mode=local_mode),
                                               _home("school_run", mode=local_mode)]))  # fmt: skip
        if "parent" in p.segments and weekend and rng.random() < 0.75:
            dep = t0 + _u(rng, 14.5, 16.0)
            outings.append(Outing(dep, [Stop("park_1", "leisure_trip", depart=dep, stay_s=_u(rng, 1.0, 2.0)), _home("leisure_trip")]))
        if weekend and dow == 6 and rng.random() < 0.25:
            dep = t0 + _u(rng, 10.5, 12.5)
            outings.append(Outing(dep, [Stop("park_2", "leisure_trip", depart=dep, stay_s=_u(rng, 2.0, 3.5)), _home("leisure_trip")]))
        if weekend and "sporty" in p.segments and dow == 6 and dow not in gym_days:
            dep = wake + _u(rng, 0.5, 1.0)
            outings.append(Outing(dep, [Stop("park_2", "sport", depart=dep, stay_s=rng.uniform(120, 600), mode="run"),
                                        _home("sport", mode="run")]))  # fmt: skip
        if weekend and rng.random() < p.friend_p:
            dep = t0 + _u(rng, 13.0, 17.0)
            friend = rng.choice(["friend_1", "friend_1", "friend_2", "friend_3"])
            outings.append(Outing(dep, [Stop(friend, "leisure_trip", depart=dep, stay_s=_u(rng, 1.5, 3.0)), _home("leisure_trip")]))
        if p.occupation == "none" and not weekend and rng.random() < 0.4:
            dep = t0 + _u(rng, 10.0, 11.5)
            outings.append(Outing(dep, [Stop("park_2", "leisure_trip", depart=dep, stay_s=_u(rng, 0.8, 2.0)), _home("leisure_trip")]))

    # Everyone: weekly chores, sport, shopping sprees, errands, nights out.
    if dow == p.chore_day and (weekend or p.occupation in ("none", "shift_worker")):
        dep = max(free_from, busy_until) + _u(rng, 0.3, 1.2) if not weekend else wake + _u(rng, 1.5, 3.0)
        outings.append(Outing(dep, [Stop(supermarket, "shopping", depart=dep, stay_s=_u(rng, 0.5, 1.0)), _home("shopping")]))
    if dow in gym_days and (weekend or p.occupation in ("none", "shift_worker")) and rng.random() < 0.85:
        dep = max(free_from, busy_until) + _u(rng, 0.5, 2.0)
        outings.append(Outing(dep, [Stop("gym", "sport", depart=dep, stay_s=_u(rng, 1.0, 1.6)), _home("sport")]))
    if rng.random() < p.shop_p:
        dep = max(busy_until, t0 + _u(rng, 11.0, 19.5))
        shop = rng.choice(["shop_2", "shop_3", "shop_2"])
        outings.append(Outing(dep, [Stop(shop, "shopping", depart=dep, stay_s=_u(rng, 0.3, 1.0)), _home("shopping")]))
    if rng.random() < p.errand_p:
        dep = max(busy_until, t0 + _u(rng, 10.0, 18.5))
        errand = rng.choice(["other_1", "other_2"])
        outings.append(Outing(dep, [Stop(errand, "errand", depart=dep, stay_s=_u(rng, 0.2, 0.7)), _home("errand")]))
    if rng.random() < p.night_out_p[dow] * (0.3 if ctx.day_type == "sick" else 1.0):
        owl = "night_owl" in p.segments
        dep = t0 + (_u(rng, 21.0, 22.5) if owl else _u(rng, 19.0, 20.5))
        end = t0 + (_u(rng, 24.5, 27.0) if owl else _u(rng, 22.5, 25.0))
        place = rng.choice(["bar_1", "bar_1", "bar_2", "restaurant_1", "friend_2"])
        outings.append(Outing(dep, [Stop(place, "night_out", depart=max(dep, busy_until), until=end), _home("night_out")]))
        late = end > t0 + 24.5 * HOUR
    outings.sort(key=lambda o: o.depart)
    return outings, late
