"""Evaluate the GPS timeline (stay points, places, home/work, trips) on simulated days with planted truth.

Prints one JSON object::

    python -m momentsense.trainer.eval_places [--days 5] [--people 3] [--seed 0] [--no-trackintel]

Each simulated person lives at home, works on weekdays, has lunch at a café near work and stops at
a shop on the way home; every leg heads for the planted coordinates (:func:`simulate_days`), with the
simulator's GPS noise, indoor error, urban canyons and dropouts. Measured per person and pooled:

* stay points vs planted stops (still legs >= 5 min): recall (planted stops overlapped in time by a
  stay point), precision (stay points overlapping a planted stop), the fraction of planted stop time
  covered, start/end errors, and the distance of the stay centre from the planted place;
* places: planted places recovered one-to-one, home and work labels;
* trips: count and distance vs the planted legs;
* trackintel (if importable; NOT a dependency of the project): ``generate_staypoints(method="sliding")``
  with the same 100 m / 5 min / 15 min thresholds on the same fixes, its recall/precision against the
  same truth, and its agreement with ours (fraction of fixes with the same in-stay/moving status,
  and stay points matched one-to-one by time overlap).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from typing import Optional

import numpy as np

from momentsense.sdk.sim.devices import draw_device
from momentsense.sdk.sim.gps import local_to_wgs84
from momentsense.sdk.sim.person import draw_person
from momentsense.sdk.sim.simulate import LegState, SimulatorOptions, simulate_leg
from momentsense.sdk.timeline.records import GpsFix, TransportEvent

#: Monday 2023-11-13 00:00 UTC.
MONDAY_T0 = 1_699_833_600.0
HOUR_S = 3600.0
PLACES_XY_M = {"home": (0.0, 0.0), "work": (3200.0, 2100.0), "cafe": (3550.0, 2350.0), "shop": (-700.0, 650.0)}


@dataclasses.dataclass
class SimulatedDays:
    """A person's simulated days and what was planted.

    Attributes:
        fixes: ``dict`` of float64 arrays ``t, lat, lon, accuracy_m, speed_mps`` (1 Hz with gaps).
        stops: Planted stops ``(start, end, place_name, lat, lon)`` (still legs at a place).
        legs: Every leg ``(start, end, mode)``: the truth for transport events.
        place_latlon: Planted place name → ``(lat, lon)``.
    """

    fixes: dict
    stops: list
    legs: list
    place_latlon: dict

    def gps_fixes(self) -> list:
        """The fixes as :class:`GpsFix` records."""
        f = self.fixes
        return [GpsFix(float(a), float(b), float(c), float(d), float(e))
                for a, b, c, d, e in zip(f["t"], f["lat"], f["lon"], f["accuracy_m"], f["speed_mps"])]

    def transport_events(self) -> list:
        """The planted legs as perfect :class:`TransportEvent` records."""
        return [TransportEvent(s, e, m, 1.0) for s, e, m in self.legs]


class _Walker:
    """Chains :func:`simulate_leg` calls, collecting GPS and the true legs."""

    def __init__(self, person, device, seed: int, t0: float, options: SimulatorOptions):
        self.person, self.device, self.opts = person, device, options
        self.seed = seed
        self.state = LegState(t_s=t0, xy_m=np.zeros(2), heading_rad=0.0)
        self.parts: list = []
        self.legs: list = []
        self.k = 0

    def leg(self, mode: str, duration_s: float, dest=None, indoor: Optional[bool] = None):
        rng = np.random.default_rng([self.seed, self.k, 7])
        self.k += 1
        t0 = self.state.t_s
        res = simulate_leg(mode, float(duration_s), self.person, self.device, rng=rng, state=self.state,
                           destination_xy_m=dest, indoor=indoor, options=self.opts,
                           placement="mount" if mode == "car" else None)
        self.state = res.state
        if res.recording.gps is not None:
            self.parts.append(res.recording.gps)
        if self.legs and self.legs[-1][2] == mode:
            self.legs[-1] = (self.legs[-1][0], self.state.t_s, mode)
        else:
            self.legs.append((t0, self.state.t_s, mode))

    def travel(self, dest, mode: str, rng: np.random.Generator):
        """Ride ``mode`` towards ``dest`` (m), then walk the rest until within 15 m."""
        dest = np.asarray(dest, float)
        speed = {"car": 11.0, "bus": 7.0, "bike": 4.5, "walk": 1.3}[mode]
        if mode != "walk":
            self.leg("walk", rng.uniform(40, 120), dest)
        for _ in range(6):
            left = float(np.hypot(*(dest - self.state.xy_m)))
            if left < 250.0 or mode == "walk":
                break
            self.leg(mode, max(30.0, 0.8 * left / speed), tuple(dest))
        for _ in range(8):
            left = float(np.hypot(*(dest - self.state.xy_m)))
            if left < 15.0:
                break
            self.leg("walk", max(5.0, 0.9 * left / 1.35), tuple(dest))

    def stay(self, until_t: float, indoor: bool = True, piece_s: float = 1800.0):
        # Pieces of <= 30 min keep the simulator's FFTs short (same physics, much faster).
        while until_t - self.state.t_s >= 1.0:
            self.leg("still", min(piece_s, until_t - self.state.t_s), None, indoor)


def simulate_days(n_days: int = 3, seed: int = 0, urban: float = 0.5, t0: float = MONDAY_T0) -> SimulatedDays:
    """Simulate ``n_days`` days (from Monday 00:00 UTC) of one commuter with planted places.

    Weekdays: home until ~07:30, commute by car, bus or bike to work, lunch at the café (40-60 min),
    work until ~17:30, the shop (10-25 min) on the way home, home for the night. Weekends: home, the
    shop late morning, home. Every trip heads for the planted coordinates and ends within 15 m of
    them. Same arguments, same arrays.
    """
    rng = np.random.default_rng([seed, 991])
    person = draw_person(f"places-{seed}", seed)
    device = draw_device(f"places-dev-{seed}", seed)
    opts = SimulatorOptions(t0=t0, urban=urban, sensor_errors=False)
    w = _Walker(person, device, seed, t0, opts)
    stops = []

    def stop(name, until):
        s = w.state.t_s
        w.stay(until, indoor=True)
        stops.append((s, w.state.t_s, name))

    for d in range(n_days):
        day = t0 + d * 86400.0
        u = rng.uniform
        if d % 7 < 5:
            commute = str(rng.choice(["car", "bus", "bike"]))
            stop("home", day + u(7.0, 7.8) * HOUR_S)
            w.travel(PLACES_XY_M["work"], commute, rng)
            stop("work", day + u(11.9, 12.3) * HOUR_S)
            w.travel(PLACES_XY_M["cafe"], "walk", rng)
            stop("cafe", w.state.t_s + u(40, 60) * 60.0)
            w.travel(PLACES_XY_M["work"], "walk", rng)
            stop("work", day + u(17.2, 17.8) * HOUR_S)
            w.travel(PLACES_XY_M["shop"], commute, rng)
            stop("shop", w.state.t_s + u(10, 25) * 60.0)
            w.travel(PLACES_XY_M["home"], "walk", rng)
        else:
            stop("home", day + u(10.0, 11.0) * HOUR_S)
            w.travel(PLACES_XY_M["shop"], "walk", rng)
            stop("shop", w.state.t_s + u(15, 30) * 60.0)
            w.travel(PLACES_XY_M["home"], "walk", rng)
        stop("home", day + 86400.0)
    # Merge consecutive home stops across midnight.
    merged = []
    for s in stops:
        if merged and merged[-1][2] == s[2] and abs(merged[-1][1] - s[0]) < 1.0:
            merged[-1] = (merged[-1][0], s[1], s[2])
        else:
            merged.append(s)
    place_latlon = {k: tuple(float(v) for v in local_to_wgs84(x, y, opts.origin_latlon))
                    for k, (x, y) in PLACES_XY_M.items()}
    stops = [(s, e, name, *place_latlon[name]) for s, e, name in merged]
    g = w.parts
    fixes = {k: np.concatenate([np.asarray(getattr(p, k), np.float64) for p in g])
             for k in ("t", "lat", "lon", "accuracy_m", "speed_mps")}
    return SimulatedDays(fixes, stops, w.legs, place_latlon)


# ---------------------------------------------------------------------------------------------
# Scoring


def _overlap(a0, a1, b0, b1) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def score_stays(stays: list, truth: list, min_stop_s: float = 300.0) -> dict:
    """Recall/precision of stays (objects or ``(start, end, lat, lon)``) against planted stops."""
    from momentsense.sdk.timeline.geo import haversine_m

    st = [(s.start, s.end, s.lat, s.lon) if hasattr(s, "start") else tuple(s) for s in stays]
    tr = [t for t in truth if t[1] - t[0] >= min_stop_s]
    hit = [any(_overlap(a, b, s0, s1) > 0 for s0, s1, *_ in st) for a, b, *_ in tr]
    good = [any(_overlap(s0, s1, a, b) > 0 for a, b, *_ in tr) for s0, s1, *_ in st]
    covered = sum(sum(_overlap(a, b, s0, s1) for s0, s1, *_ in st) for a, b, *_ in tr)
    total = sum(b - a for a, b, *_ in tr)
    d_start, d_end, d_pos = [], [], []
    for a, b, _, lat, lon in tr:
        ov = [(s0, s1, sla, slo) for s0, s1, sla, slo in st if _overlap(a, b, s0, s1) > 0]
        if ov:
            d_start.append(abs(ov[0][0] - a))
            d_end.append(abs(ov[-1][1] - b))
            d_pos.extend(float(haversine_m(lat, lon, sla, slo)) for *_, sla, slo in ov)
    return {
        "n_planted": len(tr), "n_found": len(st),
        "recall": float(np.mean(hit)) if hit else float("nan"),
        "precision": float(np.mean(good)) if good else float("nan"),
        "stays_per_planted_stop": len([g for g in good if g]) / max(1, sum(hit)),
        "time_covered": covered / total if total else float("nan"),
        "median_start_error_s": float(np.median(d_start)) if d_start else float("nan"),
        "median_end_error_s": float(np.median(d_end)) if d_end else float("nan"),
        "median_centre_error_m": float(np.median(d_pos)) if d_pos else float("nan"),
    }


def score_places(sim: SimulatedDays, visits: list, places: list) -> dict:
    """Planted places recovered one-to-one (by the visits overlapping each planted stop), and labels."""
    by_name: dict = {}
    for a, b, name, *_ in sim.stops:
        if b - a < 300:
            continue
        ids = {v.place_id for v in visits if _overlap(a, b, v.start, v.end) > 0}
        by_name.setdefault(name, set()).update(ids)
    one_each = all(len(v) == 1 for v in by_name.values())
    distinct = len({next(iter(v)) for v in by_name.values() if v}) == len(by_name)
    labels = {p.place_id: (p.label, round(p.label_confidence, 3)) for p in places}
    home = [p.place_id for p in places if p.label == "home"]
    work = [p.place_id for p in places if p.label == "work"]
    return {
        "planted_places": len(by_name), "places_found": len(places),
        "one_place_per_planted_place": bool(one_each and distinct),
        "place_ids_by_planted": {k: sorted(v) for k, v in by_name.items()},
        "home_correct": home == sorted(by_name.get("home", ())),
        "work_correct": work == sorted(by_name.get("work", ())),
        "labels": labels,
    }


def _trackintel_stays(fixes: dict, dist_m: float, time_s: float, gap_s: float):
    """trackintel's sliding staypoints on the same fixes; ``(stays, in_stay_mask)`` or raises ImportError."""
    import geopandas as gpd
    import pandas as pd
    import trackintel as ti

    df = pd.DataFrame({"user_id": 0, "tracked_at": pd.to_datetime(fixes["t"], unit="s", utc=True),
                       "latitude": fixes["lat"], "longitude": fixes["lon"]})
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs="EPSG:4326")
    pfs = ti.Positionfixes(gdf)
    pfs, sp = pfs.generate_staypoints(method="sliding", dist_threshold=dist_m, time_threshold=time_s / 60.0,
                                      gap_threshold=gap_s / 60.0, include_last=False, exclude_duplicate_pfs=False)
    t0 = sp["started_at"].map(lambda x: x.timestamp()).to_numpy(float)
    t1 = sp["finished_at"].map(lambda x: x.timestamp()).to_numpy(float)
    stays = [(a, b, g.y, g.x) for a, b, g in zip(t0, t1, sp.geometry)]
    in_stay = pfs.sort_values("tracked_at")["staypoint_id"].notna().to_numpy()
    return stays, in_stay, ti.__version__


def _match_one_to_one(a: list, b: list) -> float:
    """Fraction of stays (union of both lists) matched one-to-one by the largest time overlap (IoU > 0.5)."""
    used, matched = set(), 0
    for a0, a1, *_ in a:
        best, bj = 0.0, None
        for j, (b0, b1, *_) in enumerate(b):
            if j in used:
                continue
            iou = _overlap(a0, a1, b0, b1) / max(1e-9, max(a1, b1) - min(a0, b0))
            if iou > best:
                best, bj = iou, j
        if bj is not None and best > 0.5:
            used.add(bj)
            matched += 1
    n = len(a) + len(b) - matched
    return matched / n if n else 1.0


def evaluate(n_days: int = 5, n_people: int = 3, seed: int = 0, use_trackintel: bool = True) -> dict:
    """Simulate, run the timeline stages, score; returns the JSON-ready result."""
    from momentsense.sdk.timeline.places import cluster_places, label_home_work
    from momentsense.sdk.timeline.stay_points import detect_stay_points
    from momentsense.sdk.timeline.trips import build_trips

    out: dict = {"days": n_days, "people": n_people, "seed": seed, "per_person": []}
    pooled: dict = {"ours": [], "ours_li": [], "trackintel": []}
    ti_version = None
    for k in range(n_people):
        t = time.perf_counter()
        sim = simulate_days(n_days, seed=seed * 1000 + k)
        sim_s = time.perf_counter() - t
        t = time.perf_counter()
        stays, fix_to_stay = detect_stay_points(sim.fixes)
        places, visits = cluster_places(stays)
        places = label_home_work(places, visits)
        trips = build_trips(visits, sim.fixes, sim.transport_events())
        ours_s = time.perf_counter() - t
        li, li_map = detect_stay_points(sim.fixes, min_exit_s=0.0, max_accuracy_m=float("inf"),
                                        max_speed_mps=1e9)
        res = {
            "n_fixes": int(len(sim.fixes["t"])), "simulate_s": round(sim_s, 2), "timeline_s": round(ours_s, 3),
            "ours": score_stays(stays, sim.stops), "ours_li_exact": score_stays(li, sim.stops),
            "places": score_places(sim, visits, places),
            "trips": {"n": len(trips), "n_planted_moves": sum(1 for i in range(len(sim.stops) - 1)),
                      "distance_m_total": round(sum(tr.distance_m for tr in trips), 1)},
        }
        pooled["ours"].append(res["ours"])
        pooled["ours_li"].append(res["ours_li_exact"])
        if use_trackintel:
            try:
                ti_stays, ti_in, ti_version = _trackintel_stays(sim.fixes, 100.0, 300.0, 900.0)
            except ImportError as e:  # not installed: compare with the planted truth only
                use_trackintel = False
                out["trackintel"] = f"not available ({e})"
            else:
                res["trackintel"] = score_stays(ti_stays, sim.stops)
                res["agreement_with_trackintel"] = {
                    "fix_status_same": float(np.mean((fix_to_stay >= 0) == ti_in)),
                    "fix_status_same_li_exact": float(np.mean((li_map >= 0) == ti_in)),
                    "stays_matched_1to1": _match_one_to_one([(s.start, s.end) for s in stays], ti_stays),
                    "stays_matched_1to1_li_exact": _match_one_to_one([(s.start, s.end) for s in li], ti_stays),
                }
                pooled["trackintel"].append(res["trackintel"])
        out["per_person"].append(res)
    for name, rows in pooled.items():
        if rows:
            out[f"pooled_{name}"] = {key: float(np.nanmean([r[key] for r in rows]))
                                     for key in ("recall", "precision", "time_covered", "stays_per_planted_stop",
                                                 "median_start_error_s", "median_end_error_s",
                                                 "median_centre_error_m")}
    if ti_version:
        out["trackintel_version"] = ti_version
        ours, ti = out["pooled_ours"], out["pooled_trackintel"]
        out["closer_to_truth"] = "ours" if (ours["recall"] + ours["precision"] + ours["time_covered"]
                                            > ti["recall"] + ti["precision"] + ti["time_covered"]) else "trackintel"
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--people", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-trackintel", action="store_true")
    a = ap.parse_args(argv)
    print(json.dumps(evaluate(a.days, a.people, a.seed, not a.no_trackintel), indent=1, default=str))


if __name__ == "__main__":
    main()
