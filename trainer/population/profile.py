"""Who a simulated user is: places, routines, personas (ground-truth segments).

Everything here is drawn once per user from a seeded :class:`random.Random`; the day planner in
:mod:`trainer.population.days` turns a profile into days. Times of day are seconds after local
midnight; distances are kilometres.
"""

from __future__ import annotations

import dataclasses
import random

from momentsense.sdk.modes import MODES, public_modes

#: Ground-truth persona segments (several per user possible).
PERSONAS: tuple[str, ...] = (
    "parent", "workaholic", "early_riser", "night_owl", "shopaholic", "sporty", "public_transport",
    "aggressive_driver", "student", "shift_worker",
)  # fmt: skip

#: Door-to-door speed of each mode, km/h (the mode registry's ``trip_speed_kmh``).
SPEED_KMH = {m.name: m.trip_speed_kmh for m in MODES.values() if m.name != "still"}
HOUR = 3600.0


@dataclasses.dataclass
class Place:
    """One of the user's places: stable id, category label, distance from home (km)."""

    place_id: str
    label: str
    distance_km: float


@dataclasses.dataclass
class Profile:
    """A simulated user's stable traits and routines (drawn once; drift is applied week by week)."""

    user: str
    occupation: str  # worker, student, shift_worker, none
    segments: list
    places: dict  # place_id -> Place
    wake_s: float  # weekday wake-up, s after midnight
    prep_s: float  # time between waking and leaving, s
    work_start_s: float
    work_hours_s: float
    has_car: bool
    has_bike: bool
    commute_modes: list  # one or two modes, the first the usual one
    alt_commute_p: float
    school_start_s: float  # kids' school (parents)
    school_run_days: list  # weekdays (0=Mon) with a morning run
    pickup_days: list  # weekdays with an afternoon pickup
    gym_days: list
    gym_days_later: list  # gym days after the mid-period change (drift)
    gym_change_week: int
    chore_day: int  # weekly shopping day
    chore_time_s: float
    shop_change_week: int  # the week the usual supermarket changes (drift), or 99
    night_out_p: dict  # weekday -> probability of a night out
    friend_p: float
    errand_p: float
    shop_p: float
    weekend_work: bool
    speed_factor: float  # car speed multiplier (aggressive drivers are faster)
    wake_drift_s_per_week: float


def _place(pid: str, label: str, lo: float, hi: float, rng: random.Random) -> Place:
    return Place(pid, label, round(rng.uniform(lo, hi), 2))


def sample_profile(user: str, rng: random.Random, wide: bool = False) -> Profile:
    """Draw one user's profile.

    Parameters
    ----------
    user : str
        User id.
    rng : random.Random
        Seeded per user, so a user's life does not depend on how many others are simulated.
    wide : bool
        Draw persona intensities from wide ranges (:func:`widen_personas`) after the usual draws,
        so that the default population is unchanged.
    """
    segments = []
    r = rng.random()
    occupation = "worker" if r < 0.62 else "student" if r < 0.77 else "shift_worker" if r < 0.87 else "none"
    if occupation == "student":
        segments.append("student")
    if occupation == "shift_worker":
        segments.append("shift_worker")
    parent = occupation != "student" and rng.random() < 0.35
    workaholic = occupation == "worker" and rng.random() < 0.18
    chrono = rng.random()
    early = chrono < 0.2
    owl = (not early) and chrono < 0.38
    shopaholic = rng.random() < 0.15
    sporty = rng.random() < 0.25
    p_car = {"worker": 0.65, "student": 0.2, "shift_worker": 0.7, "none": 0.6}[occupation]
    has_car = rng.random() < p_car
    has_bike = rng.random() < 0.4
    for flag, name in ((parent, "parent"), (workaholic, "workaholic"), (early, "early_riser"), (owl, "night_owl"),
                       (shopaholic, "shopaholic"), (sporty, "sporty")):  # fmt: skip
        if flag:
            segments.append(name)

    places = {"home": Place("home", "home", 0.0)}
    if occupation in ("worker", "shift_worker"):
        places["work"] = _place("work", "work", 1.0, 28.0, rng)
    if occupation == "student":
        places["school"] = _place("school", "school", 0.8, 15.0, rng)
    if parent:
        places["kids_school"] = _place("kids_school", "school", 0.3, 3.0, rng)
        places["park_1"] = _place("park_1", "park", 0.2, 2.0, rng)
    for k in range(1, 5):
        places[f"shop_{k}"] = _place(f"shop_{k}", "shop", 0.3, 6.0, rng)
    places["gym"] = _place("gym", "gym", 0.4, 6.0, rng)
    places["bar_1"] = _place("bar_1", "bar", 0.5, 8.0, rng)
    places["bar_2"] = _place("bar_2", "bar", 0.5, 8.0, rng)
    places["restaurant_1"] = _place("restaurant_1", "restaurant", 0.5, 8.0, rng)
    for k in range(1, 4):
        places[f"friend_{k}"] = _place(f"friend_{k}", "friend", 0.5, 15.0, rng)
    places["park_2"] = _place("park_2", "park", 1.0, 12.0, rng)
    for k in range(1, 3):
        places[f"other_{k}"] = _place(f"other_{k}", "other", 0.4, 8.0, rng)
    places["travel_1"] = _place("travel_1", "travel", 80.0, 400.0, rng)
    places["travel_2"] = _place("travel_2", "travel", 60.0, 500.0, rng)

    if early:
        wake = rng.gauss(5.4, 0.25) * HOUR
    elif owl:
        wake = rng.gauss(8.9, 0.4) * HOUR
    else:
        wake = rng.gauss(6.8, 0.4) * HOUR
    prep = rng.uniform(0.5, 1.2) * HOUR
    work_dist = places.get("work", places.get("school", Place("", "", 5.0))).distance_km
    if has_car and rng.random() < 0.8:
        commute = ["car"]
    elif work_dist < 1.8:
        commute = ["walk"]
    elif has_bike and work_dist < 8 and rng.random() < 0.5:
        commute = ["bike"]
    else:
        commute = [rng.choice(list(public_modes())) if work_dist > 4 else "bus"]
    alt_p = 0.0
    if rng.random() < 0.2:  # a second commute mode on some days
        alt = "bike" if commute[0] != "bike" and work_dist < 10 else ("bus" if commute[0] != "bus" else "car")
        commute.append(alt)
        alt_p = rng.uniform(0.15, 0.4)
    if any(m in public_modes() for m in commute[:1]):
        segments.append("public_transport")
    aggressive = has_car and rng.random() < 0.2
    if aggressive:
        segments.append("aggressive_driver")
    work_start = wake + prep + (0.2 + work_dist / SPEED_KMH.get(commute[0], 20.0)) * HOUR + rng.uniform(-0.2, 0.3) * HOUR
    if occupation == "student":
        work_start = rng.choice([8.0, 8.25, 8.5, 9.0]) * HOUR
    days = [0, 1, 2, 3, 4]
    if parent:
        run = days if rng.random() < 0.6 else sorted(rng.sample(days, 3))
        pick = [] if workaholic else sorted(rng.sample(days, rng.choice([2, 3, 5])))
    else:
        run, pick = [], []
    gym_days = sorted(rng.sample(range(7), 3 if sporty else 1)) if (sporty or rng.random() < 0.3) else []
    gym_later = sorted(rng.sample(range(7), len(gym_days))) if gym_days and rng.random() < 0.3 else list(gym_days)
    night = {d: 0.03 for d in range(7)}
    night[4], night[5] = 0.2, 0.25
    if owl:
        night = {d: 0.12 for d in range(7)}
        night[4], night[5] = 0.6, 0.7
    prof = Profile(
        user=user, occupation=occupation, segments=segments, places=places, wake_s=wake, prep_s=prep,
        work_start_s=work_start, work_hours_s=(rng.uniform(10.0, 11.5) if workaholic else rng.uniform(7.8, 9.0)) * HOUR,
        has_car=has_car, has_bike=has_bike, commute_modes=commute, alt_commute_p=alt_p,
        school_start_s=rng.choice([7.75, 8.0, 8.25, 8.5]) * HOUR, school_run_days=run, pickup_days=pick,
        gym_days=gym_days, gym_days_later=gym_later, gym_change_week=rng.randint(2, 4),
        chore_day=rng.choice([3, 4, 5, 5, 5]), chore_time_s=rng.uniform(10.0, 12.0) * HOUR,
        shop_change_week=rng.randint(2, 5) if rng.random() < 0.25 else 99, night_out_p=night,
        friend_p=rng.uniform(0.15, 0.45), errand_p=rng.uniform(0.05, 0.15), shop_p=(rng.uniform(0.35, 0.6) if shopaholic else rng.uniform(0.03, 0.1)),
        weekend_work=workaholic and rng.random() < 0.8, speed_factor=1.25 if aggressive else rng.uniform(0.9, 1.05),
        wake_drift_s_per_week=rng.gauss(0.0, 240.0),
    )  # fmt: skip
    return widen_personas(prof, rng) if wide else prof


def widen_personas(p: Profile, rng: random.Random) -> Profile:
    """The same person with persona intensities drawn from wide ranges (borderline cases included).

    The planted persona flags stay as drawn; what changes is how strongly each shows: an early
    riser wakes anywhere in 04:45-06:30 (the default population: 05:24 ± 15 min), a night owl's nights
    out are 25-70 % likely at weekends, a parent may have no school run and no pickup, a shopaholic
    shops on 15-60 % of days (others up to 15 %), a sporty person trains 1-4 days, a workaholic works
    9.3-11.5 h. Used to evaluate segment rules whose thresholds were fixed on the default population.
    """
    segs = set(p.segments)
    if "early_riser" in segs:
        p.wake_s = rng.uniform(4.75, 6.5) * HOUR
    elif "night_owl" not in segs:
        p.wake_s = rng.uniform(5.9, 8.0) * HOUR
    if "night_owl" in segs:
        p.wake_s = rng.uniform(7.6, 10.0) * HOUR
        week, wkend = rng.uniform(0.03, 0.2), rng.uniform(0.25, 0.7)
        p.night_out_p = {d: week for d in range(7)} | {4: wkend, 5: wkend}
    else:
        wkend = rng.uniform(0.05, 0.35)
        p.night_out_p = {d: rng.uniform(0.0, 0.06) for d in range(7)} | {4: wkend, 5: wkend}
    if "parent" in segs and rng.random() < 0.3:
        p.school_run_days, p.pickup_days = [], []  # a parent without a school run
    if "parent" in segs and p.school_run_days and rng.random() < 0.5:
        p.school_run_days = sorted(rng.sample(range(5), rng.randint(1, 5)))
    p.shop_p = rng.uniform(0.15, 0.6) if "shopaholic" in segs else rng.uniform(0.0, 0.15)
    if "sporty" in segs:
        n = rng.randint(1, 4)
        p.gym_days = sorted(rng.sample(range(7), n))
        p.gym_days_later = list(p.gym_days)
    elif p.gym_days:
        p.gym_days = sorted(rng.sample(range(7), rng.randint(1, 2)))
        p.gym_days_later = list(p.gym_days)
    if "workaholic" in segs:
        p.work_hours_s = rng.uniform(9.3, 11.5) * HOUR
    elif p.occupation == "worker":
        p.work_hours_s = rng.uniform(7.0, 9.5) * HOUR
    return p
