"""Business-rule segments over weeks of a user's timeline (numpy only, runs on the phone).

Each rule reads the per-day summary of :func:`sdk.segments.features.summarise_days` and returns a
:class:`RuleSegment`: whether it fired, the thresholds it used, the numbers that triggered it
(``evidence``) and a sentence an app can show ("on 9 of the last 10 weekdays you left home before
06:45"). Thresholds live in :class:`RuleOptions` (documented there); they were set on a simulated
population (seed 0) and are evaluated on other seeds (``momentsense eval segments``).

Rules and what they read
------------------------
workaholic
    Hours at the main work site per active week ≥ ``workaholic_site_h_per_week`` (42 h).
early_riser
    Median first departure on active weekdays ≤ ``early_weekday_departure_h`` (06:45) or on weekend
    days ≤ ``early_weekend_departure_h`` (08:45).
night_owl
    Home arrivals between 00:00 and 05:00 ≥ ``night_owl_late_returns_per_week`` (1.5 per week).
sporty
    Gym visits plus runs ≥ ``sporty_per_week`` (1.5 per week).
shopaholic
    Shop visits ≥ ``shopaholic_per_week`` (2.7 per week).
public_transport
    With a main site: ≥ ``public_commute_frac`` (50 %) of commute trips have a bus/train/subway leg
    (at least ``min_commute_trips``); without one: ≥ 50 % of bus/train/subway/car/bike legs are public.
home_worker
    ≥ ``home_worker_weekday_frac`` (30 %) of active weekdays with ≥ 6 h at home between 09:00 and
    17:00 and no visit to a work/school site. (The simulator plants no such persona; it is evaluated
    against users without an occupation.)
aggressive_driver
    Needs per-trip driving scores (``sdk.driving.score_drive``, 0..100): at least
    ``aggressive_min_trips`` scored trips with median score < ``aggressive_median_score``. A timeline
    has no driving scores: without ``driving_scores`` the rule is *unavailable* (``available=False``,
    never fires) and is left out of the precision/recall evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.segments.events import UserEvents
from momentsense.sdk.segments.features import HOUR_S, MIN_HISTORY_DAYS, DailySummary, summarise_days

RULE_SEGMENTS: tuple[str, ...] = (
    "workaholic", "early_riser", "night_owl", "sporty", "shopaholic", "public_transport", "home_worker",
    "aggressive_driver",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RuleOptions:
    """Thresholds of the rules (see the module docstring for what each reads).

    Attributes:
        workaholic_site_h_per_week: Hours per week at the main work site.
        early_weekday_departure_h, early_weekend_departure_h: Median first departure, hour of day.
        night_owl_late_returns_per_week: Home arrivals 00:00–05:00 per week.
        sporty_per_week: Gym visits + runs per week.
        shopaholic_per_week: Shop visits per week.
        public_commute_frac: Fraction of commute trips with a public-transport leg.
        min_commute_trips: Fewer commute trips than this: use the share of all legs instead.
        home_worker_weekday_frac: Fraction of weekdays at home in the daytime and not at a site.
        aggressive_median_score: Median per-trip driving score below which a driver is aggressive.
        aggressive_min_trips: Scored trips needed.
        min_days: Shorter histories raise :class:`InputError`.
        utc_offset_s: Local time = unix time + this.
    """

    workaholic_site_h_per_week: float = 42.0
    early_weekday_departure_h: float = 6.75
    early_weekend_departure_h: float = 8.75
    night_owl_late_returns_per_week: float = 1.5
    sporty_per_week: float = 1.5
    shopaholic_per_week: float = 2.7
    public_commute_frac: float = 0.5
    min_commute_trips: int = 3
    home_worker_weekday_frac: float = 0.3
    aggressive_median_score: float = 60.0
    aggressive_min_trips: int = 5
    min_days: float = MIN_HISTORY_DAYS
    utc_offset_s: float = 0.0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> RuleOptions:
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class RuleSegment:
    """Outcome of one rule.

    Attributes:
        segment: Rule name (one of :data:`RULE_SEGMENTS`).
        active: True when the rule fired.
        available: False when the timeline lacks what the rule needs (then ``active`` is False).
        evidence: The numbers the decision used (rates per week, counts, hours of day).
        thresholds: The thresholds compared against.
        sentence: A human explanation of the evidence.
    """

    segment: str
    active: bool
    available: bool
    evidence: dict
    thresholds: dict
    sentence: str


@dataclasses.dataclass(frozen=True)
class RuleReport:
    """All rules for one user over one history.

    Attributes:
        start, end: Unix seconds of the first local midnight and the end of the last day covered.
        n_days, n_active_days: Days covered, and those not away.
        segments: One :class:`RuleSegment` per rule, in :data:`RULE_SEGMENTS` order.
    """

    start: float
    end: float
    n_days: int
    n_active_days: int
    segments: tuple

    @property
    def active(self) -> tuple:
        """Names of the rules that fired."""
        return tuple(s.segment for s in self.segments if s.active)

    def get(self, name: str) -> RuleSegment:
        for s in self.segments:
            if s.segment == name:
                return s
        raise KeyError(name)


def _hhmm(h: float) -> str:
    m = int(round(h * 60))
    return f"{m // 60:02d}:{m % 60:02d}"


def _rate(x: np.ndarray, d: DailySummary) -> float:
    return float(x[d.active].sum() / d.weeks)


def _workaholic(d: DailySummary, o: RuleOptions) -> RuleSegment:
    work = d.main_site_label == "work"
    h = _rate(d.site_s, d) / HOUR_S if work else 0.0
    we = d.active & (d.weekday >= 5)
    we_work = int((we & (d.site_s > 0)).sum()) if work else 0
    ev = {"site_h_per_week": round(h, 2), "weekend_days_worked": we_work, "weekend_days": int(we.sum()), "weeks": round(d.weeks, 2)}
    active = h >= o.workaholic_site_h_per_week
    s = f"you spent {h:.1f} h per week at work" + (f" and worked on {we_work} of {int(we.sum())} weekend days" if we_work else "")
    return RuleSegment("workaholic", active, True, ev, {"site_h_per_week": o.workaholic_site_h_per_week}, s)


def _early_riser(d: DailySummary, o: RuleOptions) -> RuleSegment:
    wd, we = d.active & (d.weekday < 5), d.active & (d.weekday >= 5)
    dep_wd, dep_we = d.first_departure_s[wd] / HOUR_S, d.first_departure_s[we] / HOUR_S
    dep_wd, dep_we = dep_wd[np.isfinite(dep_wd)], dep_we[np.isfinite(dep_we)]
    med_wd = float(np.median(dep_wd)) if len(dep_wd) else float("nan")
    med_we = float(np.median(dep_we)) if len(dep_we) else float("nan")
    n_early_wd = int((dep_wd <= o.early_weekday_departure_h).sum())
    n_early_we = int((dep_we <= o.early_weekend_departure_h).sum())
    fired_wd = bool(len(dep_wd) and med_wd <= o.early_weekday_departure_h)
    fired_we = bool(len(dep_we) and med_we <= o.early_weekend_departure_h)
    ev = {"weekday_median_departure_h": round(med_wd, 2), "weekend_median_departure_h": round(med_we, 2),
          "weekdays_early": n_early_wd, "weekdays_out": len(dep_wd), "weekend_days_early": n_early_we, "weekend_days_out": len(dep_we)}  # fmt: skip
    s = (f"on {n_early_wd} of the last {len(dep_wd)} weekdays you went out you left home before {_hhmm(o.early_weekday_departure_h)}, "
         f"and on {n_early_we} of {len(dep_we)} weekend days before {_hhmm(o.early_weekend_departure_h)}")  # fmt: skip
    th = {"weekday_median_departure_h": o.early_weekday_departure_h, "weekend_median_departure_h": o.early_weekend_departure_h}
    return RuleSegment("early_riser", fired_wd or fired_we, True, ev, th, s)


def _night_owl(d: DailySummary, o: RuleOptions) -> RuleSegment:
    n = int(d.late_returns[d.active].sum())
    r = _rate(d.late_returns, d)
    ev = {"late_returns": n, "late_returns_per_week": round(r, 2), "weeks": round(d.weeks, 2)}
    s = f"you came home after midnight {n} times in {d.weeks:.1f} weeks ({r:.1f} per week)"
    return RuleSegment("night_owl", r >= o.night_owl_late_returns_per_week, True, ev,
                       {"late_returns_per_week": o.night_owl_late_returns_per_week}, s)  # fmt: skip


def _count_rule(name: str, x: np.ndarray, d: DailySummary, th: float, what: str) -> RuleSegment:
    n, r = int(x[d.active].sum()), _rate(x, d)
    ev = {f"{what}": n, f"{what}_per_week": round(r, 2), "weeks": round(d.weeks, 2)}
    noun = {"sport": "sport sessions (gym or runs)", "shop_visits": "shop visits"}[what]
    return RuleSegment(name, r >= th, True, ev, {f"{what}_per_week": th}, f"{n} {noun} in {d.weeks:.1f} weeks ({r:.1f} per week)")


def _public_transport(d: DailySummary, o: RuleOptions) -> RuleSegment:
    trips, pub = int(d.commute_trips[d.active].sum()), int(d.public_commute_trips[d.active].sum())
    th = {"public_commute_frac": o.public_commute_frac, "min_commute_trips": o.min_commute_trips}
    if trips >= o.min_commute_trips:
        f = pub / trips
        ev = {"commute_trips": trips, "public_commute_trips": pub, "public_commute_frac": round(f, 3)}
        return RuleSegment("public_transport", f >= o.public_commute_frac, True, ev, th,
                           f"{pub} of your {trips} trips to {d.main_site_label} used a bus, train or subway")  # fmt: skip
    legs = d.public_legs[d.active].sum()
    other = d.car[d.active].sum() + d.bike[d.active].sum()
    f = float(legs / (legs + other)) if legs + other else 0.0
    ev = {"commute_trips": trips, "public_legs": int(legs), "car_bike_legs": int(other), "public_share": round(f, 3)}
    return RuleSegment("public_transport", f >= o.public_commute_frac, True, ev, th,
                       f"{int(legs)} of your {int(legs + other)} bus, train, subway, car or bike rides were by public transport")  # fmt: skip


def _home_worker(d: DailySummary, o: RuleOptions) -> RuleSegment:
    wd = d.active & (d.weekday < 5)
    home = wd & (d.home_daytime_s >= 6 * HOUR_S) & (d.site_s <= 0)
    n, m = int(home.sum()), int(wd.sum())
    f = n / m if m else 0.0
    ev = {"weekdays_home": n, "weekdays": m, "weekday_home_frac": round(f, 3)}
    return RuleSegment("home_worker", m > 0 and f >= o.home_worker_weekday_frac, True, ev,
                       {"weekday_home_frac": o.home_worker_weekday_frac},
                       f"on {n} of the last {m} weekdays you spent at least 6 h at home between 09:00 and 17:00")  # fmt: skip


def _aggressive(scores: Sequence[float] | None, o: RuleOptions) -> RuleSegment:
    th = {"median_score": o.aggressive_median_score, "min_trips": o.aggressive_min_trips}
    if scores is None:
        return RuleSegment("aggressive_driver", False, False, {}, th, "no driving scores: the rule needs scored car trips")
    x = np.asarray(list(scores), np.float64)
    if x.ndim != 1 or not np.all(np.isfinite(x)) or np.any((x < 0) | (x > 100)):
        raise InputError("driving_scores must be finite per-trip scores in 0..100")
    if len(x) < o.aggressive_min_trips:
        return RuleSegment("aggressive_driver", False, False, {"scored_trips": len(x)}, th,
                           f"only {len(x)} scored trips; {o.aggressive_min_trips} are needed")  # fmt: skip
    med = float(np.median(x))
    ev = {"scored_trips": len(x), "median_score": round(med, 1), "trips_below": int((x < o.aggressive_median_score).sum())}
    return RuleSegment("aggressive_driver", med < o.aggressive_median_score, True, ev, th,
                       f"{ev['trips_below']} of your {len(x)} drives scored below {o.aggressive_median_score:g} (median {med:.0f})")  # fmt: skip


def evaluate_rules(events: UserEvents, options: RuleOptions | None = None,
                   driving_scores: Sequence[float] | None = None) -> RuleReport:  # fmt: skip
    """Run every rule over a user's history.

    Parameters
    ----------
    events : UserEvents
        One user's timeline, at least ``options.min_days`` days.
    options : RuleOptions, optional
    driving_scores : sequence of float, optional
        Per-trip driving scores 0..100 of the same period; without them ``aggressive_driver`` is
        unavailable.

    Returns
    -------
    RuleReport

    Raises
    ------
    InputError
        Empty history, a history shorter than ``min_days`` days, or malformed driving scores.
    """
    o = options or RuleOptions()
    d = summarise_days(events, o.utc_offset_s, o.min_days)
    segs = (
        _workaholic(d, o), _early_riser(d, o), _night_owl(d, o),
        _count_rule("sporty", d.sport, d, o.sporty_per_week, "sport"),
        _count_rule("shopaholic", d.shop, d, o.shopaholic_per_week, "shop_visits"),
        _public_transport(d, o), _home_worker(d, o), _aggressive(driving_scores, o),
    )  # fmt: skip
    return RuleReport(float(d.day_start[0]), float(d.day_start[-1] + 86400.0), d.n_days, int(d.active.sum()), segs)
