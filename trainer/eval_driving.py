"""Evaluate :mod:`sdk.driving` on simulated trips (planted events) and on the real Driver Behavior trips.

Prints one JSON object::

    python -m momentsense.trainer.eval_driving [--trips 40] [--seed 0] [--data ../shared/data/driver_behavior_trips.h5]

Simulated trips are scored with GPS and without it (the no-GPS vehicle frame). On the real trips
(earth frame, no GPS) also the thresholds chosen by leave-one-trip-out
(:mod:`trainer.eval_driving_loto`).

Simulated: per kind, recall (planted events with a detection of that kind within [start − 1 s,
end + 1 s] of the peak time) and precision (detections matching a planted event of their kind); crash
recall, false crashes (on trips with drops and no crash) and the drops seen. Real: per labelled type,
recall of the matching kind (aggressive_braking → harsh_braking, aggressive_acceleration →
harsh_acceleration, aggressive_left/right_turn → harsh_cornering) and false alarms per hour (harsh
detections matching no labelled event of any type ± 1 s), at the default thresholds and scaled ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from momentsense.sdk.driving import DrivingOptions, analyse_drive
from momentsense.trainer.driving_sim import simulate_drive

TOL_S = 1.0
SIM_KINDS = ("harsh_braking", "harsh_acceleration", "harsh_cornering", "speeding", "phone_handling", "crash")
REAL_MAP = {"aggressive_braking": "harsh_braking", "aggressive_acceleration": "harsh_acceleration",
            "aggressive_left_turn": "harsh_cornering", "aggressive_right_turn": "harsh_cornering"}


def _hit(e, start, end) -> bool:
    return start - TOL_S <= e.t <= end + TOL_S


def evaluate_simulated(n_trips: int = 40, seed: int = 0, use_gps: bool = True) -> dict:
    """Run :func:`analyse_drive` on ``n_trips`` simulated trips (every other one ends in a crash).

    ``use_gps=False`` withholds the GPS track (the no-GPS vehicle frame of :mod:`sdk.driving.axis`;
    speeding and crashes need GPS and are then not found)."""
    tp = {k: 0 for k in SIM_KINDS}
    n_truth = {k: 0 for k in SIM_KINDS}
    n_det = {k: 0 for k in SIM_KINDS}
    det_ok = {k: 0 for k in SIM_KINDS}
    mild_detected = {"mild_braking": 0, "mild_acceleration": 0, "mild_cornering": 0}
    mild_total = dict.fromkeys(mild_detected, 0)
    crash_trips = crash_found = false_crash = drops = 0
    hours = km = 0.0
    for i in range(n_trips):
        crash = i % 2 == 0
        trip = simulate_drive(seed * 10_000 + i, crash=crash, n_drops=2, n_handling=1)
        opts = DrivingOptions(speed_limit_mps=trip.speed_limit_mps)
        gps = (trip.gps_t, trip.gps_speed_mps, trip.gps_heading_rad) if use_gps else (np.zeros(0),) * 3
        events, score = analyse_drive(trip.t, trip.acc, trip.gyro, *gps, opts)
        hours += (trip.t[-1] - trip.t[0]) / 3600
        km += score.distance_m / 1000
        for d in trip.truth:
            if d["kind"] in mild_total:
                mild_total[d["kind"]] += 1
                kind = d["kind"].replace("mild", "harsh")
                mild_detected[d["kind"]] += any(e.kind == kind and _hit(e, d["start"], d["end"]) for e in events)
            if d["kind"] in tp and not d.get("optional"):
                n_truth[d["kind"]] += 1
                tp[d["kind"]] += any(e.kind == d["kind"] and _hit(e, d["start"], d["end"]) for e in events)
            drops += d["kind"] == "drop"
        for e in events:
            n_det[e.kind] += 1
            det_ok[e.kind] += any(d["kind"] == e.kind and _hit(e, d["start"], d["end"]) for d in trip.truth)
        crashes = [e for e in events if e.kind == "crash"]
        crash_trips += crash
        crash_found += crash and len(crashes) > 0
        false_crash += sum(not any(d["kind"] == "crash" and _hit(e, d["start"], d["end"]) for d in trip.truth)
                           for e in crashes)
    per_kind = {k: {"planted": n_truth[k], "recall": round(tp[k] / n_truth[k], 3) if n_truth[k] else None,
                    "detections": n_det[k], "precision": round(det_ok[k] / n_det[k], 3) if n_det[k] else None}
                for k in SIM_KINDS}
    return {
        "trips": n_trips, "gps": use_gps, "hours": round(hours, 2), "km": round(km, 1), "per_kind": per_kind,
        "mild_events_detected_as_harsh": {k: f"{mild_detected[k]}/{mild_total[k]}" for k in mild_total},
        "crash": {"recall": f"{crash_found}/{crash_trips}", "false_crashes": false_crash, "phone_drops": drops},
    }


def evaluate_real(path: str | Path, scales=(1.0, 0.8, 0.6)) -> dict:
    """Recall per labelled type and false alarms per hour on the real trips (earth-frame input, no GPS)."""
    from momentsense.trainer.loaders.driver import load_driver

    ds = load_driver(path)
    out = {}
    for scale in scales:
        base = DrivingOptions(input_frame="earth")
        opts = dataclasses.replace(base, braking_mps2=base.braking_mps2 * scale,
                                   acceleration_mps2=base.acceleration_mps2 * scale,
                                   cornering_mps2=base.cornering_mps2 * scale)
        found = {k: 0 for k in REAL_MAP}
        total = {k: 0 for k in REAL_MAP}
        false_alarms, n_det, hours = 0, 0, 0.0
        other = {}
        for r in ds.recordings:
            gyro = r.gyro if r.gyro_t is None else np.stack(
                [np.interp(r.t, r.gyro_t, r.gyro[:, c]) for c in range(3)], axis=1)
            empty = np.zeros(0)
            events, _ = analyse_drive(r.t, r.acc, gyro, empty, empty, empty, opts)
            harsh = [e for e in events if e.kind.startswith("harsh_")]
            n_det += len(harsh)
            hours += (r.t[-1] - r.t[0]) / 3600
            labels = [(ds.label_names[l], s, e) for s, e, l in zip(r.events["start_s"], r.events["end_s"], r.events["label"])]
            for name, s, e in labels:
                if name in REAL_MAP:
                    total[name] += 1
                    found[name] += any(ev.kind == REAL_MAP[name] and _hit(ev, s, e) for ev in harsh)
            for ev in harsh:
                matched = [name for name, s, e in labels if _hit(ev, s, e)]
                if not matched:
                    false_alarms += 1
                elif not any(REAL_MAP.get(m) == ev.kind for m in matched):
                    key = f"{ev.kind}@{matched[0]}"
                    other[key] = other.get(key, 0) + 1
        out[f"thresholds_x{scale:g}"] = {
            "recall": {k: f"{found[k]}/{total[k]}" for k in REAL_MAP},
            "harsh_detections": n_det, "false_alarms": false_alarms,
            "false_alarms_per_hour": round(false_alarms / hours, 2),
            "detections_on_other_labels": other,
        }
    out["hours"] = round(sum((r.t[-1] - r.t[0]) for r in ds.recordings) / 3600, 3)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trips", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "driver_behavior_trips.h5"))
    args = ap.parse_args(argv)
    result = {"simulated": evaluate_simulated(args.trips, args.seed),
              "simulated_no_gps": evaluate_simulated(args.trips, args.seed, use_gps=False)}
    if Path(args.data).is_file():
        from momentsense.trainer.eval_driving_loto import evaluate_loto

        result["real"] = evaluate_real(args.data)
        result["real_leave_one_trip_out"] = evaluate_loto(args.data)
    else:
        result["real"] = f"not found: {args.data}"
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
