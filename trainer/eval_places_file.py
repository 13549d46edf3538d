"""``momentsense eval places --data FILE.h5``: the SDK's GPS stages scored on any GPS + truth file.

Reads ``/gps/<id>`` + ``/truth/<id>`` (:mod:`trainer.gps_truth_file`; e.g. the converted Aalto
dataset, or :func:`simulated_truth` from the simulator), runs the SDK's GPS stages on each track
exactly as the phone's timeline does (:func:`~sdk.timeline.stay_points.detect_stay_points` with
:class:`~sdk.timeline.live.TimelineOptions` defaults, :func:`~sdk.timeline.places.cluster_places`,
:func:`~sdk.timeline.trips.build_trips`) and scores:

``stays``
    ``precision`` (detected stays overlapping a true stay), ``recall`` (true stays of at least the
    stay time threshold overlapped by a detected stay), ``matched_share`` (share of true stay time
    covered by detected stays); None when the file logs no stays. ``during_legs``: detected stays
    lying entirely inside a logged leg (each one splits a ride in two).
``legs``
    A leg is *inside detected trips* when at least :data:`LEG_COVER_MIN` of its time is covered by
    trips and no detected stay lies entirely inside it. A trip runs from the end of one visit to
    the start of the next, and from the first fix to the first visit / the last visit to the last
    fix (the live timeline reports a trip in progress whenever the person is not at a place).
    ``matched_share``: share of legs inside trips; ``matched_share_tolerant``: the same with each
    leg shortened by :data:`LOG_TOLERANCE_S` at both ends (hand-logged times to the minute; legs
    shorter than 3 × that are left whole); ``time_covered``: share of leg time covered;
    ``boundary_error_s``: median and p90 of the distance from each leg's start (end) to the
    nearest trip start (end), which includes any unlogged walking or waiting between the stay and
    the vehicle; all of these ``per_mode`` too.
``motorised``
    The motorised / non-motorised split the GPS stages imply: inside trips, a second is motorised
    when the straight-line speed between the fixes around it is at least :data:`MOTORISED_MPS`
    (pairs more than :data:`MAX_PAIR_GAP_S` apart give no answer). ``per_mode``: share of each
    mode's answered leg seconds called motorised; ``agreement``: share of answered leg seconds where
    the split agrees with the mode (walk/run/bike = non-motorised, every other mode motorised).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from momentsense.trainer.gps_truth_file import GpsTruth

#: A leg counts as inside detected trips when trips cover at least this share of its time.
LEG_COVER_MIN = 0.9
#: Resolution of hand-logged leg times, s (the Aalto log gives most times to the minute).
LOG_TOLERANCE_S = 60.0
#: Straight-line speed between fixes, m/s, from which a second counts as motorised: above walking
#: (1.0-1.8 m/s) and jogging, below the average of urban buses and trams between stops (~4-8 m/s).
MOTORISED_MPS = 3.0
#: Fix pairs further apart than this, s, give no speed (the receiver slept or lost the sky).
MAX_PAIR_GAP_S = 600.0
#: Modes that are not motorised.
NON_MOTORISED = ("walk", "run", "bike", "still")


def _union_cover(a: float, b: float, intervals: Sequence[tuple[float, float]]) -> float:
    """Seconds of ``[a, b]`` covered by ``intervals`` (which must not overlap each other)."""
    return float(sum(max(0.0, min(b, e) - max(a, s)) for s, e in intervals))


def gps_stages(track: GpsTruth) -> dict:
    """Run the SDK's GPS stages on one track: ``stays``, ``visits``, ``trips`` (visit to visit) and
    ``trip_spans`` (trips plus the open ends before the first and after the last visit)."""
    from momentsense.sdk.timeline.live import TimelineOptions
    from momentsense.sdk.timeline.places import cluster_places
    from momentsense.sdk.timeline.stay_points import detect_stay_points
    from momentsense.sdk.timeline.trips import build_trips

    opts = TimelineOptions()
    g = track.gps
    fixes = {"t": g.t, "lat": g.lat, "lon": g.lon,
             "accuracy_m": g.accuracy_m if g.accuracy_m is not None else np.full(len(g.t), np.nan)}  # fmt: skip
    p = opts.stay
    stays, _ = detect_stay_points(fixes, p.dist_threshold_m, p.time_threshold_s, p.gap_threshold_s, p.max_accuracy_m,
                                  include_open=True, max_speed_mps=p.max_speed_mps, min_exit_s=p.min_exit_s)  # fmt: skip
    _, visits = cluster_places(stays, opts.place_radius_m)
    trips = build_trips(visits, fixes, same_place_min_gap_s=opts.merge_gap_s)
    spans = [(tr.start, tr.end) for tr in trips]
    if len(g.t):
        if visits:
            spans = [(float(g.t[0]), visits[0].start)] + spans + [(visits[-1].end, float(g.t[-1]))]
        else:
            spans = [(float(g.t[0]), float(g.t[-1]))]
    spans = [(a, b) for a, b in spans if b > a]
    return {"stays": stays, "visits": visits, "trips": trips, "trip_spans": spans}


def _speeds(track: GpsTruth) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t0, t1, speed m/s)`` of consecutive fix pairs no more than :data:`MAX_PAIR_GAP_S` apart."""
    from momentsense.sdk.timeline.geo import haversine_m

    g = track.gps
    ok = ~(np.asarray(g.accuracy_m, np.float64) > 200.0) if g.accuracy_m is not None else np.ones(len(g.t), bool)
    t, lat, lon = g.t[ok], g.lat[ok], g.lon[ok]
    if len(t) < 2:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    dt = np.diff(t)
    v = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]) / np.maximum(dt, 1.0)
    keep = dt <= MAX_PAIR_GAP_S
    return t[:-1][keep], t[1:][keep], v[keep]


def _stats(values: list) -> dict:
    if not values:
        return {"median": None, "p90": None, "n": 0}
    a = np.asarray(values, np.float64)
    return {"median": float(np.median(a)), "p90": float(np.percentile(a, 90)), "n": int(len(a))}


def score_tracks(tracks: Sequence[GpsTruth]) -> dict:
    """Score the GPS stages on every track (see the module docstring for the keys)."""
    st = {"detected": 0, "true": 0, "hit": 0, "good": 0, "covered_s": 0.0, "true_s": 0.0, "during_legs": 0}
    legs: dict = {}
    mot: dict = {}
    for tr in tracks:
        out = gps_stages(tr)
        stays, spans = out["stays"], out["trip_spans"]
        st["detected"] += len(stays)
        true_stays = [(a, b) for a, b in zip(tr.stay_start, tr.stay_end)]
        st["true"] += sum(1 for a, b in true_stays if b - a >= 300.0)
        st["hit"] += sum(1 for a, b in true_stays if b - a >= 300.0 and any(min(b, s.end) > max(a, s.start) for s in stays))
        st["good"] += sum(1 for s in stays if any(min(b, s.end) > max(a, s.start) for a, b in true_stays))
        st["covered_s"] += sum(_union_cover(a, b, [(s.start, s.end) for s in stays]) for a, b in true_stays)
        st["true_s"] += sum(b - a for a, b in true_stays)
        st["during_legs"] += sum(1 for s in stays if any(a <= s.start and s.end <= b for a, b in zip(tr.leg_start, tr.leg_end)))
        starts = np.array([a for a, _ in spans])
        ends = np.array([b for _, b in spans])
        p0, p1, v = _speeds(tr)
        for a, b, mode in zip(tr.leg_start, tr.leg_end, tr.leg_mode):
            d = legs.setdefault(mode, {"n": 0, "inside": 0, "inside_tol": 0, "covered_s": 0.0, "total_s": 0.0, "err": []})
            cover = _union_cover(a, b, spans) / (b - a) if b > a else 0.0
            split = any(a <= s.start and s.end <= b for s in stays)
            d["n"] += 1
            d["inside"] += int(cover >= LEG_COVER_MIN and not split)
            tol = LOG_TOLERANCE_S if b - a >= 3 * LOG_TOLERANCE_S else 0.0
            ta, tb = a + tol, b - tol
            cover_tol = _union_cover(ta, tb, spans) / (tb - ta) if tb > ta else 0.0
            d["inside_tol"] += int(cover_tol >= LEG_COVER_MIN and not any(ta <= s.start and s.end <= tb for s in stays))
            d["covered_s"] += cover * (b - a)
            d["total_s"] += b - a
            if len(starts):
                d["err"] += [float(np.min(np.abs(starts - a))), float(np.min(np.abs(ends - b)))]
            m = mot.setdefault(mode, {"answered_s": 0.0, "motorised_s": 0.0})
            for s in np.arange(np.floor(a), b) + 0.5:  # each second of the leg inside a trip
                if not any(x <= s < y for x, y in spans):
                    continue
                j = np.flatnonzero((p0 <= s) & (s < p1))
                if len(j):
                    m["answered_s"] += 1
                    m["motorised_s"] += float(v[j[0]] >= MOTORISED_MPS)
    n_legs = sum(d["n"] for d in legs.values())
    all_err = [e for d in legs.values() for e in d["err"]]
    agree = answered = 0.0
    for mode, m in mot.items():
        answered += m["answered_s"]
        agree += m["answered_s"] - m["motorised_s"] if mode in NON_MOTORISED else m["motorised_s"]
    return {
        "tracks": len(tracks),
        "stays": {
            "detected": st["detected"], "true": st["true"],
            "precision": st["good"] / st["detected"] if st["true_s"] and st["detected"] else None,
            "recall": st["hit"] / st["true"] if st["true"] else None,
            "matched_share": st["covered_s"] / st["true_s"] if st["true_s"] else None,
            "during_legs": st["during_legs"],
        },
        "legs": {
            "n": n_legs,
            "matched_share": sum(d["inside"] for d in legs.values()) / n_legs if n_legs else None,
            "matched_share_tolerant": sum(d["inside_tol"] for d in legs.values()) / n_legs if n_legs else None,
            "time_covered": sum(d["covered_s"] for d in legs.values()) / max(1e-9, sum(d["total_s"] for d in legs.values())) if n_legs else None,
            "boundary_error_s": _stats(all_err),
            "per_mode": {mode: {"n": d["n"], "matched_share": d["inside"] / d["n"],
                                "matched_share_tolerant": d["inside_tol"] / d["n"], "time_covered": d["covered_s"] / max(1e-9, d["total_s"]),
                                "boundary_error_s": _stats(d["err"])} for mode, d in sorted(legs.items())},
        },
        "motorised": {
            "threshold_mps": MOTORISED_MPS,
            "agreement": agree / answered if answered else None,
            "per_mode": {mode: (m["motorised_s"] / m["answered_s"] if m["answered_s"] else None) for mode, m in sorted(mot.items())},
            "answered_share": answered / max(1e-9, sum(d["total_s"] for d in legs.values())) if n_legs else None,
        },
        "criteria": {"leg_cover_min": LEG_COVER_MIN, "stay_min_s": 300.0, "log_tolerance_s": LOG_TOLERANCE_S},
    }  # fmt: skip


def simulated_truth(n_days: int = 2, seed: int = 0, every_s: float = 1.0) -> list[GpsTruth]:
    """Simulated commuter days (:func:`trainer.eval_places.simulate_days`) as GPS + truth; with
    ``every_s`` > 1 the fixes are thinned to one per ``every_s`` seconds (sparse real receivers)."""
    from momentsense.sdk.records import GpsTrack
    from momentsense.trainer.eval_places import simulate_days

    sim = simulate_days(n_days, seed=seed)
    f = sim.fixes
    keep = np.r_[True, np.diff(np.floor((f["t"] - f["t"][0]) / every_s)) > 0] if every_s > 1 else np.ones(len(f["t"]), bool)
    gps = GpsTrack(f["t"][keep], f["lat"][keep], f["lon"][keep], f["accuracy_m"][keep].astype(np.float32), f["speed_mps"][keep].astype(np.float32))
    legs = [(a, b, m) for a, b, m in sim.legs if m != "still"]
    return [GpsTruth(f"sim{seed}", gps, np.array([s[0] for s in sim.stops]), np.array([s[1] for s in sim.stops]),
                     np.array([a for a, _, _ in legs]), np.array([b for _, b, _ in legs]), [m for *_, m in legs],
                     subject=f"sim{seed}")]  # fmt: skip


def format_report(r: dict) -> str:
    """The text summary printed by ``momentsense eval places --data FILE``."""

    def f(v, fmt=".3f"):
        return "—" if v is None else format(v, fmt)

    st, lg, mo = r["stays"], r["legs"], r["motorised"]
    lines = [f"{r.get('data', '')}: {r['tracks']} GPS tracks",
             f"stays: {st['detected']} detected, {st['true']} true; precision {f(st['precision'])}, recall {f(st['recall'])}, "
             f"true stay time covered {f(st['matched_share'])}; {st['during_legs']} inside a logged leg",
             f"legs inside detected trips: {f(lg['matched_share'])} of {lg['n']} (±{r['criteria']['log_tolerance_s']:g} s "
             f"log tolerance: {f(lg['matched_share_tolerant'])}); leg time covered {f(lg['time_covered'])}; boundary error "
             f"median {f(lg['boundary_error_s']['median'], '.0f')} s, p90 {f(lg['boundary_error_s']['p90'], '.0f')} s",
             f"  {'mode':<8}{'legs':>5}{'inside':>8}{'±tol':>7}{'covered':>9}{'err med':>9}{'err p90':>9}{'motorised':>11}"]  # fmt: skip
    for mode, d in lg["per_mode"].items():
        lines.append(f"  {mode:<8}{d['n']:>5}{f(d['matched_share']):>8}{f(d['matched_share_tolerant']):>7}"
                     f"{f(d['time_covered']):>9}{f(d['boundary_error_s']['median'], '.0f'):>9}"
                     f"{f(d['boundary_error_s']['p90'], '.0f'):>9}{f(mo['per_mode'].get(mode)):>11}")  # fmt: skip
    lines.append(f"motorised split (fix-to-fix speed >= {mo['threshold_mps']:g} m/s inside trips): agreement with the "
                 f"legs' modes {f(mo['agreement'])} over {f(mo['answered_share'])} of leg time")  # fmt: skip
    return "\n".join(lines)
