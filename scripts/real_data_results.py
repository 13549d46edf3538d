"""Measure the shipped models on the real datasets and write the result files behind docs/results.md.

    python scripts/real_data_results.py [--data ../shared/data] [--out docs/results]   (~3 min)
    momentsense report                                                               (then the page)

Each file is a ``momentsense-result-v1`` table (see :mod:`trainer.report`): WISDM and US-TM2017
streamed through the SDK without GPS, the real car trips streamed as car, the Aalto GPS legs
through the GPS stages, and harsh driving events with leave-one-trip-out thresholds.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

from momentsense.trainer.report import RESULT_FORMAT

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/real_data_results.py && momentsense report"


def _write(out: Path, name: str, **table) -> None:
    body = {"format": RESULT_FORMAT, "data": "real", "command": COMMAND,
            "measured": datetime.date.today().isoformat(), **table}  # fmt: skip
    (out / f"{name}.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    print("wrote", out / f"{name}.json")


def _class_rows(result: dict) -> list[list]:
    """One row per model class the file's labels map to (all its seconds pooled)."""
    s, live = result["stream"], result["stream_live"]
    return [[cls, s["recall_by_class"][cls], live["recall_by_class"][cls], s["as_vehicle_by_class"][cls],
             live["as_vehicle_by_class"][cls]] for cls in s["recall_by_class"]]  # fmt: skip


def _stream_rows(result: dict) -> list[list]:
    rows = []
    for label in result["stream"]["file_label_names"]:
        s, live = result["stream"], result["stream_live"]
        if label not in s["recall"]:
            continue
        rows.append([label, s["recall"][label], live["recall"][label], s["as_vehicle"][label], live["as_vehicle"][label]])
    return rows


STREAM_COLUMNS = ["file label", "recall, timeline", "recall, live", "read as a vehicle, timeline", "read as a vehicle, live"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="folder of the real datasets")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "results", help="folder of the result files")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    from momentsense.sdk.models.manifest import read_manifest
    from momentsense.sdk.transport.options import default_model_path
    from momentsense.trainer.eval_driving_loto import evaluate_loto
    from momentsense.trainer.eval_places_file import score_tracks
    from momentsense.trainer.loaders.aalto import load_aalto
    from momentsense.trainer.loaders.driver import load_driver
    from momentsense.trainer.loaders.us_tm2017 import load_us_tm2017
    from momentsense.trainer.loaders.wisdm import load_wisdm
    from momentsense.trainer.transport.stream_eval import evaluate_stream

    version = read_manifest(default_model_path().with_suffix(".json")).version
    note = ("Per second, the recording fed to MomentSDK in 10 s chunks without GPS (what the phone runs: heads, HMM, "
            "duty cycling). Timeline = the settled events; live = current_context(). A vehicle = bike, car, bus, "
            "train or subway.")  # fmt: skip

    wisdm = evaluate_stream(load_wisdm(args.data / "wisdm2019_phone_subset.h5"), gps=False)
    _write(args.out, "real_wisdm_stream", title="WISDM (21 subjects, phone in the pocket), streamed through the SDK",
           version=version, order=1, columns=STREAM_COLUMNS,
           rows=_stream_rows(wisdm) + [[f"all {r[0]} (model class)"] + r[1:] for r in _class_rows(wisdm)],
           note=note + " Model classes: sitting and standing count as still, stairs as walk, jogging as run.")

    cars = evaluate_stream(load_driver(args.data / "driver_behavior_trips.h5"), gps=False, label_map={"*": "car"})
    _write(args.out, "real_car_trips_stream", title="Real car trips (3 trips, 30 min, phone mounted), streamed through the SDK",
           version=version, order=2, columns=["model class"] + STREAM_COLUMNS[1:], rows=_class_rows(cars),
           note=note + " Every second is labelled car (stops at lights included).")

    ustm = evaluate_stream(load_us_tm2017(args.data / "us_tm2017_raw.h5"), gps=False)
    _write(args.out, "real_us_tm2017_stream", title="US-TM2017 (9 users, on-change logging at ~1-5 Hz), streamed through the SDK",
           version=version, order=3, columns=STREAM_COLUMNS, rows=_stream_rows(ustm),
           note=note + f" Recordings without a gyroscope are left out ({len(ustm['skipped_recordings'])}); "
                       "the low logging rate makes this a robustness check, not a 25 Hz benchmark.")

    tracks, _ = load_aalto(args.data / "aalto_public_transport.h5")
    places = score_tracks(tracks)
    legs = places["legs"]
    rows = [["all", legs["n"], legs["matched_share"], legs["matched_share_tolerant"], legs["time_covered"],
             legs["boundary_error_s"]["median"], legs["boundary_error_s"]["p90"]]]
    for mode, m in sorted(legs["per_mode"].items()):
        rows.append([mode, m["n"], m["matched_share"], m["matched_share_tolerant"], m["time_covered"],
                     m["boundary_error_s"]["median"], m["boundary_error_s"]["p90"]])
    _write(args.out, "real_aalto_places", title="Aalto GPS (8 people, 103 logged vehicle legs, a fix every ~30 s): trips from the GPS stages",
           order=4, rows=rows, columns=["legs", "n", "inside detected trips", "same, ±60 s log tolerance", "leg time covered by trips",
                                        "boundary error median s", "boundary error p90 s"],
           note="A leg counts as inside a trip when ≥ 90 % of its time is covered by detected trips and no stay is detected during it.")

    drive = evaluate_loto(args.data / "driver_behavior_trips.h5")
    rows = [[name, drive["right_type"][name], drive["any_harsh"].get(name, "–")] for name in sorted(drive["right_type"])]
    rows.append(["false alarms per hour", drive["false_alarms_per_hour"], "–"])
    _write(args.out, "real_driving_loto", title="Harsh driving events on the real car trips, thresholds chosen leave-one-trip-out (no GPS)",
           order=5, columns=["labelled event", "found with the right type", "found as any harsh event"], rows=rows,
           note=f"{drive['hours']} h of driving; each trip scored with thresholds chosen on the other two.")


if __name__ == "__main__":
    main()
