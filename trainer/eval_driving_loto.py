"""Harsh-event thresholds chosen by leave-one-trip-out on the real Driver Behavior trips, and scored.

For each trip held out, the braking, acceleration and cornering thresholds are picked on the other
two trips from :data:`GRID` (most labelled events found with the right type while false alarms stay
within :data:`MAX_FALSE_ALARMS_PER_HOUR`; ties go to fewer false alarms, then to lower thresholds),
then the held-out trip is scored with them. Pooled over the three held-out trips:

* ``right_type``: per labelled type, events with a detection of the matching kind within ±1 s
  (aggressive_braking → harsh_braking, aggressive_acceleration → harsh_acceleration,
  aggressive_left/right_turn → harsh_cornering);
* ``any_harsh``: the same labelled events with any harsh detection within ±1 s;
* ``false_alarms_per_hour``: harsh detections within ±1 s of no labelled event of any type
  (non-aggressive events and lane changes are labelled too, so detections there are not false alarms).

The data are earth-frame (``input_frame="earth"``) without GPS, so the SDK's no-GPS vehicle frame
(:mod:`sdk.driving.axis`) is what is measured. Each threshold only changes its own kind's events,
so every trip is analysed once per grid row (all three thresholds set to that row) and the
combinations are scored from those detections.

    python -m momentsense.trainer.eval_driving_loto [--data shared/data/driver_behavior_trips.h5]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np

from momentsense.sdk.driving import DrivingOptions, analyse_drive

#: Candidate thresholds, m/s² (row i sets all three kinds to their i-th value).
GRID = {
    "harsh_braking": (2.0, 2.5, 3.0, 3.5, 4.0),
    "harsh_acceleration": (1.25, 1.5, 2.0, 2.25, 2.75),
    "harsh_cornering": (2.5, 3.0, 3.5, 4.0, 4.5),
}
OPTION = {"harsh_braking": "braking_mps2", "harsh_acceleration": "acceleration_mps2", "harsh_cornering": "cornering_mps2"}
LABEL_KIND = {"aggressive_braking": "harsh_braking", "aggressive_acceleration": "harsh_acceleration",
              "aggressive_left_turn": "harsh_cornering", "aggressive_right_turn": "harsh_cornering"}  # fmt: skip
MAX_FALSE_ALARMS_PER_HOUR = 6.0
TOL_S = 1.0


@dataclasses.dataclass
class Trip:
    """One trip's labelled events and, per kind and grid row, its detection times."""

    id: str
    hours: float
    labels: list  # (name, start, end)
    detections: dict  # kind -> list (per grid row) of arrays of detection times


def analyse_trips(path: str | Path, base: DrivingOptions = DrivingOptions(input_frame="earth")) -> list[Trip]:
    """Run the SDK's detector on every trip once per grid row."""
    from momentsense.trainer.loaders.driver import load_driver

    ds = load_driver(path)
    trips = []
    for r in ds.recordings:
        gyro = r.gyro if r.gyro_t is None else np.stack([np.interp(r.t, r.gyro_t, r.gyro[:, c]) for c in range(3)], axis=1)
        empty = np.zeros(0)
        det = {k: [] for k in GRID}
        for i in range(len(GRID["harsh_braking"])):
            opts = dataclasses.replace(base, **{OPTION[k]: GRID[k][i] for k in GRID})
            events, _ = analyse_drive(r.t, r.acc, gyro, empty, empty, empty, opts)
            for k in GRID:
                det[k].append(np.array([e.t for e in events if e.kind == k]))
        labels = [(ds.label_names[lab], s, e) for s, e, lab in zip(r.events["start_s"], r.events["end_s"], r.events["label"])]
        trips.append(Trip(r.id, float(r.t[-1] - r.t[0]) / 3600.0, labels, det))
    return trips


def score(trips: list[Trip], rows: dict) -> dict:
    """Counts on ``trips`` with grid row ``rows[kind]`` per kind."""
    found = {name: 0 for name in LABEL_KIND}
    any_found = {name: 0 for name in LABEL_KIND}
    total = {name: 0 for name in LABEL_KIND}
    false_alarms, hours, n_det = 0, 0.0, 0
    for tr in trips:
        dets = {k: tr.detections[k][rows[k]] for k in GRID}
        every = np.concatenate(list(dets.values()))
        n_det += len(every)
        hours += tr.hours
        for name, s, e in tr.labels:
            if name in LABEL_KIND:
                total[name] += 1
                own = dets[LABEL_KIND[name]]
                found[name] += bool(np.any((own >= s - TOL_S) & (own <= e + TOL_S)))
                any_found[name] += bool(np.any((every >= s - TOL_S) & (every <= e + TOL_S)))
        for t in every:
            false_alarms += not any(s - TOL_S <= t <= e + TOL_S for _, s, e in tr.labels)
    return {"found": found, "any": any_found, "total": total, "false_alarms": false_alarms, "hours": hours, "detections": n_det}


def choose(trips: list[Trip]) -> dict:
    """The grid rows (per kind) that find the most labelled events with the right type on ``trips``
    within the false-alarm budget; ties: fewer false alarms, then lower thresholds."""
    n = len(GRID["harsh_braking"])
    best, best_key = None, None
    for combo in itertools.product(range(n), repeat=3):
        rows = dict(zip(GRID, combo))
        s = score(trips, rows)
        ok = s["false_alarms"] / max(s["hours"], 1e-9) <= MAX_FALSE_ALARMS_PER_HOUR
        key = (ok, sum(s["found"].values()), -s["false_alarms"], tuple(-c for c in combo))
        if best_key is None or key > best_key:
            best, best_key = rows, key
    return best


def evaluate_loto(path: str | Path) -> dict:
    """Leave-one-trip-out thresholds and the pooled held-out scores (see the module docstring)."""
    trips = analyse_trips(path)
    pooled = None
    chosen = {}
    for i, held in enumerate(trips):
        rows = choose([t for j, t in enumerate(trips) if j != i])
        chosen[held.id] = {OPTION[k]: GRID[k][rows[k]] for k in GRID}
        s = score([held], rows)
        if pooled is None:
            pooled = s
        else:
            for key in ("found", "any", "total"):
                for name in LABEL_KIND:
                    pooled[key][name] += s[key][name]
            for key in ("false_alarms", "hours", "detections"):
                pooled[key] += s[key]
    turns = ("aggressive_left_turn", "aggressive_right_turn")
    return {
        "right_type": {name: f"{pooled['found'][name]}/{pooled['total'][name]}" for name in LABEL_KIND}
        | {"turns": f"{sum(pooled['found'][n] for n in turns)}/{sum(pooled['total'][n] for n in turns)}"},
        "any_harsh": {name: f"{pooled['any'][name]}/{pooled['total'][name]}" for name in LABEL_KIND},
        "false_alarms": pooled["false_alarms"],
        "false_alarms_per_hour": round(pooled["false_alarms"] / pooled["hours"], 2),
        "harsh_detections": pooled["detections"],
        "hours": round(pooled["hours"], 3),
        "thresholds_by_held_out_trip": chosen,
        "grid": {OPTION[k]: list(v) for k, v in GRID.items()},
        "max_false_alarms_per_hour": MAX_FALSE_ALARMS_PER_HOUR,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "driver_behavior_trips.h5"))
    args = ap.parse_args(argv)
    result = evaluate_loto(args.data)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
