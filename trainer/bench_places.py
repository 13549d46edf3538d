"""``momentsense bench places``: our stay points (:func:`sdk.timeline.stay_points.detect_stay_points`)
and trackintel's sliding-window staypoints on the same 1 Hz tracks, side by side.

Tracks: a synthetic commuter at 1 Hz (a phone logging every second), built in numpy so that 16
weeks (9.7 M fixes) take seconds to make: nights at home, weekdays at work with a lunch walk to a
café, a shop on the way home, weekends home and shop; GPS noise of 8 m (outdoor) to 25 m (indoor)
with rare 150-400 m multipath jumps indoors; travel at walking, cycling or driving speed. The same
seed gives the same arrays.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

#: Planted places, metres east/north of the origin.
PLACES_M = {"home": (0.0, 0.0), "work": (6200.0, 2100.0), "cafe": (6650.0, 2350.0), "shop": (1500.0, -900.0)}
ORIGIN_LATLON = (48.85, 2.35)
M_PER_DEG_LAT = 111_195.0


def _to_latlon(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat0, lon0 = ORIGIN_LATLON
    return lat0 + y / M_PER_DEG_LAT, lon0 + x / (M_PER_DEG_LAT * np.cos(np.radians(lat0)))


def synthetic_track(days: int, seed: int = 0, t0: float = 1_700_006_400.0) -> dict:
    """``days`` of 1 Hz fixes: arrays ``t`` (unix s), ``lat``, ``lon`` (degrees), ``accuracy_m``, and
    ``stops``: the planted ``(start_s, end_s, place)`` stays."""
    rng = np.random.default_rng([seed, 4242])
    plan: list = []  # (place or None, start_s, end_s, from, to)
    t = 0.0
    here = "home"

    def stay(place: str, until: float) -> None:
        nonlocal t
        plan.append((place, t, until, None, None))
        t = until

    def go(dest: str, speed: float) -> None:
        nonlocal t, here
        a, b = np.array(PLACES_M[here]), np.array(PLACES_M[dest])
        dur = float(np.linalg.norm(b - a) / speed * rng.uniform(1.2, 1.5))  # roads are not straight
        plan.append((None, t, t + dur, here, dest))
        t += dur
        here = dest

    for d in range(days):
        day = d * 86400.0
        u = rng.uniform
        if d % 7 < 5:
            v = float(rng.choice([4.5, 9.0, 12.0]))  # bike, bus, car (m/s)
            stay("home", day + u(7.0, 7.8) * 3600)
            go("work", v)
            stay("work", day + u(11.9, 12.3) * 3600)
            go("cafe", 1.4)
            stay("cafe", t + u(40, 60) * 60)
            go("work", 1.4)
            stay("work", day + u(17.2, 17.8) * 3600)
            go("shop", v)
            stay("shop", t + u(10, 25) * 60)
            go("home", 1.4)
        else:
            stay("home", day + u(10.0, 11.0) * 3600)
            go("shop", 1.4)
            stay("shop", t + u(15, 30) * 60)
            go("home", 1.4)
        stay("home", day + 86400.0)
    n = int(days * 86400)
    ts = np.arange(n, dtype=np.float64)
    x = np.empty(n)
    y = np.empty(n)
    indoor = np.zeros(n, bool)
    for i, (place, s, e, a, b) in enumerate(plan):
        lo, hi = int(np.ceil(s)), min(n, int(np.ceil(e)))
        if hi <= lo:
            continue
        if place is not None:
            x[lo:hi], y[lo:hi] = PLACES_M[place]
            indoor[lo:hi] = True
        else:
            f = (ts[lo:hi] - s) / max(e - s, 1.0)
            (ax, ay), (bx, by) = PLACES_M[a], PLACES_M[b]
            x[lo:hi], y[lo:hi] = ax + f * (bx - ax), ay + f * (by - ay)
    sd = np.where(indoor, 25.0, 8.0)
    x += rng.normal(0, 1, n) * sd
    y += rng.normal(0, 1, n) * sd
    jump = indoor & (rng.random(n) < 2e-4)
    ang = rng.uniform(0, 2 * np.pi, int(jump.sum()))
    r = rng.uniform(150, 400, ang.size)
    x[jump] += r * np.cos(ang)
    y[jump] += r * np.sin(ang)
    lat, lon = _to_latlon(x, y)
    stops = [(t0 + s, t0 + e, p) for p, s, e, _, _ in plan if p is not None]
    return {"t": t0 + ts, "lat": lat, "lon": lon, "accuracy_m": sd * 1.5, "stops": stops}


def _trackintel(track: dict, dist_m: float, time_s: float, gap_s: float):
    """trackintel 1.x sliding staypoints: ``(starts, ends, in_stay)``, unix s and a mask per fix."""
    import geopandas as gpd
    import pandas as pd
    import trackintel as ti

    df = pd.DataFrame({"user_id": 0, "tracked_at": pd.to_datetime(track["t"], unit="s", utc=True),
                       "latitude": track["lat"], "longitude": track["lon"]})
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.longitude, df.latitude), crs="EPSG:4326")
    pfs, sp = ti.Positionfixes(gdf).generate_staypoints(method="sliding", dist_threshold=dist_m, time_threshold=time_s / 60.0,
                                                        gap_threshold=gap_s / 60.0, include_last=False,
                                                        exclude_duplicate_pfs=False, print_progress=False)
    t0 = np.array([x.timestamp() for x in sp["started_at"]], float)
    t1 = np.array([x.timestamp() for x in sp["finished_at"]], float)
    return t0, t1, pfs.sort_values("tracked_at")["staypoint_id"].notna().to_numpy()


def _matched(a0, a1, b0, b1) -> int:
    """Stays of list a matched one-to-one in list b by time overlap (IoU > 0.5); both in time order."""
    j, hits = 0, 0
    for s, e in zip(a0, a1):
        while j < len(b0) and b1[j] <= s:
            j += 1
        k = j
        while k < len(b0) and b0[k] < e:
            iou = (min(e, b1[k]) - max(s, b0[k])) / max(1e-9, max(e, b1[k]) - min(s, b0[k]))
            if iou > 0.5:
                hits += 1
                j = k + 1
                break
            k += 1
    return hits


def bench_places(days_list: list[int], seed: int = 0, repeats: int = 3, with_trackintel: bool = True,
                 dist_m: float = 100.0, time_s: float = 300.0, gap_s: float = 900.0) -> dict:
    """Time both implementations per track length (median of ``repeats`` runs, CPU seconds) and compare
    their stays. Ours runs with its defaults (accuracy and teleport filters, 30 s exit) and, for the
    agreement, in trackintel's exact mode too (``min_exit_s=0``, filters off)."""
    import warnings

    from momentsense.sdk.timeline.stay_points import detect_stay_points

    out: dict = {"fix_rate_hz": 1.0, "dist_threshold_m": dist_m, "time_threshold_s": time_s, "gap_threshold_s": gap_s,
                 "repeats": repeats, "sizes": []}
    ti_version: Optional[str] = None
    for days in days_list:
        tr = synthetic_track(days, seed)
        n = len(tr["t"])
        fx = {k: tr[k] for k in ("t", "lat", "lon", "accuracy_m")}
        runs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(repeats):
                c0 = time.process_time()
                stays, f2s = detect_stay_points(fx, dist_m, time_s, gap_s)
                runs.append(time.process_time() - c0)
            exact, f2s_exact = detect_stay_points({k: fx[k] for k in ("t", "lat", "lon")}, dist_m, time_s, gap_s,
                                                  max_accuracy_m=np.inf, max_speed_mps=np.inf, min_exit_s=0.0)
        ours_s = float(np.median(runs))
        row = {"days": days, "fixes": n, "ours_cpu_s": ours_s, "ours_us_per_fix": ours_s / n * 1e6,
               "ours_stays": len(stays), "ours_exact_mode_stays": len(exact), "planted_stays": len(tr["stops"])}
        if with_trackintel:
            try:
                import trackintel

                ti_version = trackintel.__version__
                tis = []
                for _ in range(max(1, min(repeats, 3 if days <= 7 else 1))):
                    c0 = time.process_time()
                    t0, t1, in_stay = _trackintel(tr, dist_m, time_s, gap_s)
                    tis.append(time.process_time() - c0)
                ti_s = float(np.median(tis))
                e0 = np.array([s.start for s in exact])
                e1 = np.array([s.end for s in exact])
                m = _matched(e0, e1, t0, t1)
                row.update({"trackintel_cpu_s": ti_s, "trackintel_us_per_fix": ti_s / n * 1e6, "trackintel_stays": len(t0),
                            "speedup_vs_trackintel": ti_s / ours_s if ours_s > 0 else None,
                            "agreement_stays_exact_mode": m / max(1, len(e0) + len(t0) - m),
                            "agreement_fixes_exact_mode": float(np.mean((f2s_exact >= 0) == in_stay)),
                            "agreement_fixes_default": float(np.mean((f2s >= 0) == in_stay))})
            except ImportError as exc:
                with_trackintel = False
                out["trackintel"] = f"not available ({exc}); pip install -e .[dev]"
        out["sizes"].append(row)
    out["trackintel_version"] = ti_version
    s = out["sizes"]
    if len(s) >= 2:
        by = {r["days"]: r["ours_us_per_fix"] for r in s}
        if 7 in by:
            out["ours_us_per_fix_ratio_largest_vs_7_days"] = by[max(by)] / by[7]
    return out
