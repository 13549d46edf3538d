"""Hand-crafted timeline features: per-day summaries and one feature vector per user (numpy only).

:func:`summarise_days` turns a user's events into one row per local calendar day (time at the main
work/school site, first departure, late returns home, sport, shopping, public transport...);
:func:`timeline_features` aggregates the days into :data:`FEATURE_NAMES`. The business rules
(:mod:`sdk.segments.rules`) read the same summaries, and the trainer uses the vector as the
hand-crafted baseline of the learned embedding.

Notes
-----
* Local time is ``t + utc_offset_s``; a day runs from local midnight to midnight.
* Durations are attributed to the day an event *starts* (a night shift counts for the evening it
  began).
* The *main site* is the work or school place (``place`` code) with the most visit seconds; a
  *commute trip* is the run of transport legs whose next visit is the main site (kids' schools are
  other places, and too short to be a site, so school runs are not commutes).
* A day is *active* unless more than 12 h of it are spent at a ``travel`` place (trips away).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.records import PUBLIC_MODES
from momentsense.sdk.segments.events import DAY_S, UserEvents, require_history
from momentsense.sdk.io.timeline_file import LABELS

HOUR_S = 3600.0
_L = {lab: i for i, lab in enumerate(LABELS)}
_PUBLIC = np.array([_L[m] for m in PUBLIC_MODES])
#: Transport events starting before this time of day do not count as the day's first departure.
FIRST_DEPARTURE_FROM_S = 3 * HOUR_S
#: Home arrivals with a local time of day before this count as late returns (after midnight).
LATE_RETURN_UNTIL_S = 5 * HOUR_S
#: Daytime window for home-working, seconds after midnight.
DAYTIME_S = (9 * HOUR_S, 17 * HOUR_S)
#: Only work/school visits at least this long make a place the main site (not a school drop-off).
MIN_SITE_VISIT_S = 2 * HOUR_S
MIN_HISTORY_DAYS = 7.0


@dataclasses.dataclass(frozen=True)
class DailySummary:
    """One row per local day of a user's history.

    Attributes:
        day_start: float64 ``(D,)`` unix s of each local midnight.
        weekday: int64 ``(D,)`` 0 = Monday.
        active: bool ``(D,)`` not away (≤ 12 h at a travel place).
        site_s: Seconds at the main work/school site (visits starting that day).
        site_first_s, site_last_s: Time of day (s) the first site visit starts / last one ends; NaN if none.
        first_departure_s: Time of day (s) of the first transport event at or after 03:00; NaN if none.
        late_returns: Home arrivals between 00:00 and 05:00 (the night before).
        home_daytime_s: Seconds at home between 09:00 and 17:00.
        sport: Gym visits plus runs. shop: Shop visits. public_legs: Bus/train/subway events.
        commute_trips, public_commute_trips: Trips to the main site, and those with a bus/train/subway leg.
        car: Car events. bike: Bike events. park, bar, friend: Visits of those categories.
        other_school: Visits to school places other than the main site (e.g. a kids' school).
        events: Events starting that day.
        main_site_label: ``work``, ``school`` or ``""`` when the user has no site.
    """

    day_start: np.ndarray
    weekday: np.ndarray
    active: np.ndarray
    site_s: np.ndarray
    site_first_s: np.ndarray
    site_last_s: np.ndarray
    first_departure_s: np.ndarray
    late_returns: np.ndarray
    home_daytime_s: np.ndarray
    sport: np.ndarray
    shop: np.ndarray
    public_legs: np.ndarray
    commute_trips: np.ndarray
    public_commute_trips: np.ndarray
    car: np.ndarray
    bike: np.ndarray
    park: np.ndarray
    bar: np.ndarray
    friend: np.ndarray
    other_school: np.ndarray
    events: np.ndarray
    main_site_label: str

    @property
    def n_days(self) -> int:
        return len(self.day_start)

    @property
    def weeks(self) -> float:
        """Active days / 7 (the denominator of per-week rates)."""
        return max(float(self.active.sum()), 1.0) / 7.0


def _overlap_per_day(day0: np.ndarray, a_s: float, b_s: float, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Seconds of intervals ``[s, e)`` inside ``[day0 + a_s, day0 + b_s)`` for each day."""
    if len(s) == 0:
        return np.zeros(len(day0))
    lo = np.maximum(s[None, :], (day0 + a_s)[:, None])
    hi = np.minimum(e[None, :], (day0 + b_s)[:, None])
    return np.clip(hi - lo, 0.0, None).sum(axis=1)


def summarise_days(ev: UserEvents, utc_offset_s: float = 0.0, min_days: float = MIN_HISTORY_DAYS) -> DailySummary:
    """Per-day summary of one user's events.

    Parameters
    ----------
    ev : UserEvents
        At least ``min_days`` days of history.
    utc_offset_s : float
        Local time = unix time + this, seconds.
    min_days : float
        Shorter histories raise.

    Raises
    ------
    InputError
        Empty or too short history.
    """
    require_history(ev, min_days, "segments")
    st, en, lab, pl = ev.start + utc_offset_s, ev.end + utc_offset_s, ev.label, ev.place
    first_mid = np.floor(st[0] / DAY_S) * DAY_S
    n_days = int(np.floor((en[-1] - 1e-6 - first_mid) / DAY_S)) + 1
    day0 = first_mid + DAY_S * np.arange(n_days)
    day = np.clip(np.floor((st - first_mid) / DAY_S).astype(np.int64), 0, n_days - 1)
    tod = st - (first_mid + day * DAY_S)
    visit = ev.is_visit
    dur = en - st

    def count(mask):
        return np.bincount(day[mask], minlength=n_days).astype(np.float64)

    # Main site: the work/school place with the most visit seconds.
    site_mask = visit & np.isin(lab, [_L["work"], _L["school"]]) & (pl >= 0) & (dur >= MIN_SITE_VISIT_S)
    main_label, at_site = "", np.zeros(len(ev), bool)
    if site_mask.any():
        places, inv = np.unique(pl[site_mask], return_inverse=True)
        secs = np.bincount(inv, weights=dur[site_mask])
        main = places[int(np.argmax(secs))]
        at_site = visit & (pl == main)
        main_label = LABELS[int(lab[at_site][0])]
    site_s = np.bincount(day[at_site], weights=dur[at_site], minlength=n_days)
    site_first = np.full(n_days, np.nan)
    site_last = np.full(n_days, np.nan)
    idx = np.flatnonzero(at_site)
    for i in idx[::-1]:
        site_first[day[i]] = tod[i]
    for i in idx:
        site_last[day[i]] = tod[i] + dur[i]

    # Next visit of each event (for transport: where the leg leads).
    vis_idx = np.flatnonzero(visit)
    nxt = np.searchsorted(vis_idx, np.arange(len(ev)), side="right")
    next_visit = np.where(nxt < len(vis_idx), vis_idx[np.minimum(nxt, len(vis_idx) - 1)], -1)
    transport = ~visit
    commute = transport & (next_visit >= 0) & at_site[np.maximum(next_visit, 0)]
    public = transport & np.isin(lab, _PUBLIC)
    # Commute trips (the legs that lead to one site visit), counted on the day the visit starts.
    trip_of = next_visit[commute]
    public_trip = np.unique(next_visit[commute & public])
    commute_trips = np.bincount(day[np.unique(trip_of)], minlength=n_days).astype(np.float64)
    public_commute_trips = np.bincount(day[public_trip], minlength=n_days).astype(np.float64)

    first_dep = np.full(n_days, np.nan)
    for i in np.flatnonzero(transport & (tod >= FIRST_DEPARTURE_FROM_S))[::-1]:
        first_dep[day[i]] = tod[i]
    home_arrival = transport & (next_visit >= 0) & (lab[np.maximum(next_visit, 0)] == _L["home"])
    end_day = np.clip(np.floor((en - first_mid) / DAY_S).astype(np.int64), 0, n_days - 1)
    end_tod = en - (first_mid + end_day * DAY_S)
    late = home_arrival & (end_tod < LATE_RETURN_UNTIL_S)
    late_returns = np.bincount(end_day[late], minlength=n_days).astype(np.float64)

    home = visit & (lab == _L["home"])
    home_day = _overlap_per_day(day0, DAYTIME_S[0], DAYTIME_S[1], st[home], en[home])
    travel = visit & (lab == _L["travel"])
    away_s = _overlap_per_day(day0, 0.0, DAY_S, st[travel], en[travel])
    other_school = visit & (lab == _L["school"]) & ~at_site
    return DailySummary(
        day_start=day0 - utc_offset_s, weekday=((np.floor((day0 - 1767571200.0) / DAY_S)).astype(np.int64)) % 7,
        active=away_s <= 12 * HOUR_S, site_s=site_s, site_first_s=site_first, site_last_s=site_last,
        first_departure_s=first_dep, late_returns=late_returns, home_daytime_s=home_day,
        sport=count(visit & (lab == _L["gym"])) + count(lab == _L["run"]), shop=count(visit & (lab == _L["shop"])),
        public_legs=count(public), commute_trips=commute_trips, public_commute_trips=public_commute_trips,
        car=count(lab == _L["car"]), bike=count(lab == _L["bike"]), park=count(visit & (lab == _L["park"])),
        bar=count(visit & np.isin(lab, [_L["bar"], _L["restaurant"]])), friend=count(visit & (lab == _L["friend"])),
        other_school=count(other_school), events=count(np.ones(len(ev), bool)), main_site_label=main_label,
    )  # fmt: skip


FEATURE_NAMES: tuple[str, ...] = (
    "site_h_per_week", "weekend_site_frac", "weekday_site_frac", "site_is_school", "site_arrival_median_h",
    "site_arrival_std_h", "site_leave_median_h", "night_site_frac", "weekday_first_departure_median_h",
    "weekend_first_departure_median_h", "weekday_first_departure_std_h", "late_returns_per_week",
    "sport_per_week", "shop_per_week", "public_commute_frac", "public_legs_per_week", "car_per_week",
    "bike_per_week", "home_daytime_weekday_frac", "other_school_per_week", "weekday_other_school_frac",
    "park_per_week", "bar_per_week", "friend_per_week", "events_per_day", "away_day_frac", "public_share",
)  # fmt: skip
N_FEATURES = len(FEATURE_NAMES)


def _med(x: np.ndarray, default: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else default


def _std(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.std(x)) if len(x) > 1 else 0.0


def features_from_summary(d: DailySummary) -> np.ndarray:
    """The :data:`FEATURE_NAMES` vector (float64) of a :class:`DailySummary`; hours are hours of day."""
    act = d.active
    wd = act & (d.weekday < 5)
    we = act & (d.weekday >= 5)
    wk = d.weeks
    h = 1.0 / HOUR_S
    n_wd, n_we = max(int(wd.sum()), 1), max(int(we.sum()), 1)
    site_days = d.site_s > 0
    arr = d.site_first_s[act & site_days]
    night = np.isfinite(arr) & ((arr >= 20 * HOUR_S) | (arr < 5 * HOUR_S))
    commute = d.commute_trips[act].sum()
    v = [
        d.site_s[act].sum() * h / wk, (we & site_days).sum() / n_we, (wd & site_days).sum() / n_wd,
        float(d.main_site_label == "school"), _med(arr, 0.0) * h, _std(arr) * h,
        _med(d.site_last_s[act & site_days], 0.0) * h, night.sum() / max(len(arr), 1),
        _med(d.first_departure_s[wd], 12 * HOUR_S) * h, _med(d.first_departure_s[we], 12 * HOUR_S) * h,
        _std(d.first_departure_s[wd]) * h, d.late_returns[act].sum() / wk, d.sport[act].sum() / wk,
        d.shop[act].sum() / wk, d.public_commute_trips[act].sum() / commute if commute else 0.0,
        d.public_legs[act].sum() / wk, d.car[act].sum() / wk, d.bike[act].sum() / wk,
        (wd & (d.home_daytime_s >= 6 * HOUR_S) & ~site_days).sum() / n_wd, d.other_school[act].sum() / wk,
        (wd & (d.other_school > 0)).sum() / n_wd, d.park[act].sum() / wk, d.bar[act].sum() / wk,
        d.friend[act].sum() / wk, d.events[act].sum() / max(int(act.sum()), 1), 1.0 - act.mean(),
        d.public_legs[act].sum() / max(d.public_legs[act].sum() + d.car[act].sum() + d.bike[act].sum(), 1.0),
    ]  # fmt: skip
    return np.asarray(v, np.float64)


def timeline_features(ev: UserEvents, utc_offset_s: float = 0.0, min_days: float = MIN_HISTORY_DAYS) -> np.ndarray:
    """Hand-crafted feature vector, shape ``(N_FEATURES,)``, in :data:`FEATURE_NAMES` order.

    Raises
    ------
    InputError
        Empty history or shorter than ``min_days`` days.
    """
    return features_from_summary(summarise_days(ev, utc_offset_s, min_days))
