"""Places from stay points across days, and which of them is home and work (numpy only).

Stage ``cluster_places`` (stay points → places + one visit per stay point) and ``label_home_work``
(places + visits → the same places, labelled).
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from typing import Sequence

import numpy as np

from momentsense.sdk.timeline.geo import haversine_m, mean_position_deg
from momentsense.sdk.timeline.records import Place, StayPoint, Visit

DAY_S = 86400.0
#: Local hours counted as night for home: [22:00, 06:00).
NIGHT_HOURS = (22.0, 6.0)
#: Local hours counted as working time on Monday-Friday for work: [09:00, 17:00).
WORK_HOURS = (9.0, 17.0)


def _check_stay_points(stay_points) -> None:
    for i, s in enumerate(stay_points):
        if not isinstance(s, StayPoint):
            raise TypeError(f"stay_points[{i}] must be a StayPoint, got {type(s).__name__}")
        if not (math.isfinite(s.lat) and math.isfinite(s.lon) and abs(s.lat) <= 90 and abs(s.lon) <= 180):
            raise ValueError(f"stay_points[{i}] needs finite lat in [-90, 90] and lon in [-180, 180]; "
                             f"got ({s.lat!r}, {s.lon!r})")
        if not (math.isfinite(s.start) and math.isfinite(s.end) and s.end >= s.start):
            raise ValueError(f"stay_points[{i}] needs finite start <= end; got {s.start!r}, {s.end!r}")


def _next_ids(taken: set, n: int) -> list:
    """``n`` fresh ids ``p<k>`` continuing after the largest ``p<k>`` taken."""
    nums = [int(m.group(1)) for m in (re.fullmatch(r"p(\d+)", s) for s in taken) if m]
    k = max(nums) + 1 if nums else 0
    out = []
    while len(out) < n:
        if f"p{k}" not in taken:
            out.append(f"p{k}")
        k += 1
    return out


def cluster_places(
    stay_points: Sequence[StayPoint],
    radius_m: float = 100.0,
    known_places: Sequence[Place] = (),
) -> tuple[list[Place], list[Visit]]:
    """Group stay points (all days of one user) into the places the person returns to.

    Parameters
    ----------
    stay_points : sequence of StayPoint
        One user's stay points, any number of days.
    radius_m : float
        A stay point joins a place whose centre is within this distance, m (haversine between
        centres). Default 100 m, the stay radius of :func:`~sdk.timeline.stay_points.detect_stay_points`
        (trackintel's ``generate_locations`` uses DBSCAN with ``epsilon=100`` m).
    known_places : sequence of Place
        Places from earlier runs (e.g. yesterday's, from the timeline store). A stay point within
        ``radius_m`` of one is assigned to it and keeps its ``place_id``; new places get fresh ids.

    Returns
    -------
    places : list of Place
        The places with at least one visit, sorted by id number (``p0``, ``p1``... in order of first
        visit for new places). ``lat``/``lon``: dwell-weighted mean of the member stay centres (for a
        known place, its old centre is kept so the id stays anchored); ``radius_m``: largest
        distance of a member stay centre from it; ``label`` is ``other`` (see :func:`label_home_work`).
    visits : list of Visit
        ``visits[i]`` is ``stay_points[i]`` with its ``place_id``: the link back to the input.

    Notes
    -----
    Deterministic leader clustering, not order-of-arrival: stay points are taken longest first; each
    joins the nearest place within ``radius_m`` of its centre (known places first) or founds a new
    one; then every stay point is reassigned once to the nearest final centre within ``radius_m``
    (one k-means step) so a place's members do not depend on who came first. Unlike DBSCAN with
    ``min_samples=1`` it does not chain neighbouring places into one. New ids are numbered in the
    order of the place's first visit, so the same stay points always give the same ids.
    """
    if not (isinstance(radius_m, (int, float)) and radius_m > 0):
        raise ValueError(f"radius_m must be a number > 0, got {radius_m!r}")
    _check_stay_points(stay_points)
    for i, p in enumerate(known_places):
        if not isinstance(p, Place):
            raise TypeError(f"known_places[{i}] must be a Place, got {type(p).__name__}")
    n = len(stay_points)
    if n == 0:
        return [], []
    lat = np.array([s.lat for s in stay_points])
    lon = np.array([s.lon for s in stay_points])
    start = np.array([s.start for s in stay_points])
    dwell = np.array([max(s.end - s.start, 0.0) for s in stay_points])
    k_known = len(known_places)
    c_lat = [p.lat for p in known_places]
    c_lon = [p.lon for p in known_places]
    members: list[list[int]] = [[] for _ in range(k_known)]
    # 1. Leader pass, longest stays first (ties by time), running dwell-weighted centres.
    for i in np.lexsort((start, -dwell)):
        if c_lat:
            d = haversine_m(lat[i], lon[i], np.array(c_lat), np.array(c_lon))
            j = int(np.argmin(d))
            if d[j] <= radius_m:
                members[j].append(int(i))
                if j >= k_known:
                    idx = members[j]
                    c_lat[j], c_lon[j] = mean_position_deg(lat[idx], lon[idx], dwell[idx] + 1.0)
                continue
        c_lat.append(float(lat[i]))
        c_lon.append(float(lon[i]))
        members.append([int(i)])
    # 2. One reassignment to the nearest final centre within radius_m.
    c_lat_a, c_lon_a = np.array(c_lat), np.array(c_lon)
    d = haversine_m(lat[:, None], lon[:, None], c_lat_a[None, :], c_lon_a[None, :])
    own = np.empty(n, np.int64)
    for j, idx in enumerate(members):
        own[idx] = j
    best = np.argmin(d, axis=1)
    assign = np.where(d[np.arange(n), best] <= radius_m, best, own)
    # 3. Ids: known places keep theirs; new ones numbered by first visit.
    used = np.unique(assign)
    new = [j for j in used if j >= k_known]
    new.sort(key=lambda j: float(start[assign == j].min()))
    ids = {j: known_places[j].place_id for j in used if j < k_known}
    ids.update(zip(new, _next_ids({p.place_id for p in known_places}, len(new))))
    places = []
    for j in used:
        idx = np.flatnonzero(assign == j)
        if j < k_known:
            plat, plon = known_places[j].lat, known_places[j].lon
        else:
            plat, plon = mean_position_deg(lat[idx], lon[idx], dwell[idx] + 1.0)
        r = float(haversine_m(plat, plon, lat[idx], lon[idx]).max())
        places.append(Place(ids[j], float(plat), float(plon), r, int(idx.size), float(dwell[idx].sum())))
    places.sort(key=lambda p: (len(p.place_id), p.place_id))
    visits = [Visit(s.start, s.end, ids[int(assign[i])], s.lat, s.lon) for i, s in enumerate(stay_points)]
    return places, visits


def _overlap_daily(start: float, end: float, tz_offset_s: float, h0: float, h1: float, weekdays_only: bool):
    """Seconds of [start, end) inside the daily local window [h0, h1) hours (wrapping midnight if
    h0 > h1), and the set of local day numbers it touched. Night windows are attributed to the day
    they start on."""
    if end <= start:
        return 0.0, set()
    ls, le = start + tz_offset_s, end + tz_offset_s
    total, days = 0.0, set()
    d0 = int(math.floor(ls / DAY_S)) - 1
    d1 = int(math.floor(le / DAY_S))
    for day in range(d0, d1 + 1):
        if weekdays_only and (day + 3) % 7 >= 5:  # 1970-01-01 (day 0) was a Thursday
            continue
        w0 = day * DAY_S + h0 * 3600.0
        w1 = day * DAY_S + h1 * 3600.0 + (DAY_S if h1 <= h0 else 0.0)
        ov = min(le, w1) - max(ls, w0)
        if ov > 0:
            total += ov
            days.add(day)
    return total, days


def label_home_work(
    places: Sequence[Place],
    visits: Sequence[Visit],
    tz_offset_s: float = 0.0,
    *,
    min_home_night_s: float = 4 * 3600.0,
    min_work_s: float = 3 * 3600.0,
    full_confidence_days: int = 3,
) -> list[Place]:
    """Label the places ``home``, ``work`` or ``other`` from when and how long the person stays.

    Parameters
    ----------
    places : sequence of Place
        From :func:`cluster_places`.
    visits : sequence of Visit
        Their visits (``place_id`` must be one of ``places``).
    tz_offset_s : float
        Local time minus UTC, s (e.g. 3600 for CET in winter); the hours below are local.
    min_home_night_s : float, keyword-only
        Least total night dwell (22:00-06:00) for home, s. Default 4 h: one night's sleep.
    min_work_s : float, keyword-only
        Least total Monday-Friday 09:00-17:00 dwell for work, s. Default 3 h: a half day.
    full_confidence_days : int, keyword-only
        Distinct nights (for home) or weekdays (for work) at which the confidence stops growing.

    Returns
    -------
    list of Place
        New records, same order; at most one ``home`` and one ``work`` (never the same place).

    Notes
    -----
    Home: the place with the most night dwell, if at least ``min_home_night_s``. Work: among the
    others, the place with the most weekday working-hours dwell, if at least ``min_work_s``.
    Confidence = share of that window's observed dwell spent there × min(1, distinct days /
    ``full_confidence_days``), in [0, 1]. Other places keep confidence 0. The common rule of
    mobility studies (e.g. trackintel's ``osna`` method: home = most time at night, work = most time
    in working hours, Efstathiades et al. 2015), with thresholds so that one short visit labels
    nothing.
    """
    for i, p in enumerate(places):
        if not isinstance(p, Place):
            raise TypeError(f"places[{i}] must be a Place, got {type(p).__name__}")
    ids = {p.place_id for p in places}
    for i, v in enumerate(visits):
        if not isinstance(v, Visit):
            raise TypeError(f"visits[{i}] must be a Visit, got {type(v).__name__}")
        if v.place_id not in ids:
            raise ValueError(f"visits[{i}].place_id {v.place_id!r} is not among the places' ids")
    if not math.isfinite(tz_offset_s) or abs(tz_offset_s) > 14 * 3600:
        raise ValueError(f"tz_offset_s must be within ±14 h (±50400 s), got {tz_offset_s!r}")
    night = {pid: 0.0 for pid in ids}
    work = {pid: 0.0 for pid in ids}
    night_days: dict = {pid: set() for pid in ids}
    work_days: dict = {pid: set() for pid in ids}
    for v in visits:
        s, d = _overlap_daily(v.start, v.end, tz_offset_s, NIGHT_HOURS[0], NIGHT_HOURS[1], False)
        night[v.place_id] += s
        night_days[v.place_id] |= d
        s, d = _overlap_daily(v.start, v.end, tz_offset_s, WORK_HOURS[0], WORK_HOURS[1], True)
        work[v.place_id] += s
        work_days[v.place_id] |= d
    labels: dict = {}

    def pick(score, days, minimum, exclude):
        cand = [pid for pid in sorted(ids) if pid not in exclude and score[pid] >= minimum]
        if not cand:
            return None
        best = max(cand, key=lambda pid: (score[pid], pid))
        total = sum(score[pid] for pid in ids if pid not in exclude)
        conf = score[best] / total * min(1.0, len(days[best]) / max(1, full_confidence_days))
        return best, float(np.clip(conf, 0.0, 1.0))

    home = pick(night, night_days, min_home_night_s, set())
    if home:
        labels[home[0]] = ("home", home[1])
    wk = pick(work, work_days, min_work_s, {home[0]} if home else set())
    if wk:
        labels[wk[0]] = ("work", wk[1])
    if places and not labels:
        warnings.warn("label_home_work: no place has enough night or working-hours dwell for a label", stacklevel=2)
    return [dataclasses.replace(p, label=labels.get(p.place_id, ("other", 0.0))[0],
                                label_confidence=labels.get(p.place_id, ("other", 0.0))[1]) for p in places]
