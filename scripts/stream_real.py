"""Stream a real labelled IMU file through the SDK's TransportDetector and score it per second.

    PYTHONPATH=$PWD python scripts/stream_real.py --model edge_models/artifacts/transport_cnn.tflite \
        --data data/wisdm_modes.h5 [--subjects 1600,1604] [--no-context] [--still-std 0.03]

Each recording is fed in 10 s chunks (acc and gyro on their own clocks, no GPS) to a fresh detector,
as a phone would; every second of the recording is scored against its majority label:
``stream`` by the events that settle the timeline, ``stream_live`` by what ``current()`` said after
the chunk holding that second. Prints JSON with, per file label, the seconds, the recall, the share
read as any vehicle (bike, car, bus, train, subway) and the confusion over all model classes, plus
the duty-cycling skip share of still recordings. A stop-gap until ``momentsense eval transport
--stream`` is available; the file's labels must be the model's class names (see
``trainer/transport/realdata.py`` for WISDM).
"""

from __future__ import annotations

import argparse
import json

import numpy as np

VEHICLES = ("bike", "car", "bus", "train", "subway")
CHUNK_S = 10.0


def stream_recording(det, rec, labels: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(truth, settled prediction, live prediction) per whole second of ``rec`` (class index, -1 = none)."""
    t, acc = np.asarray(rec.t, float), np.asarray(rec.acc)
    gt = np.asarray(rec.gyro_t if rec.gyro_t is not None else rec.t, float)
    gyro = rec.gyro
    t0, t1 = float(t[0]), float(t[-1])
    secs = np.arange(np.floor(t0), np.floor(t1)) + 0.5
    truth = np.full(len(secs), -1)
    idx = np.clip(np.searchsorted(t, secs), 0, len(t) - 1)
    truth[:] = np.asarray(rec.label)[idx]
    live = np.full(len(secs), -1)
    events = []
    c = t0
    while c <= t1:
        a, b = np.searchsorted(t, [c, c + CHUNK_S])
        ga, gb = np.searchsorted(gt, [c, c + CHUNK_S])
        if b > a:
            events += det.process(t[a:b], acc[a:b], gt[ga:gb], gyro[ga:gb] if gyro is not None else None)
        mode, _ = det.current()
        if mode is not None:
            live[(secs >= c) & (secs < c + CHUNK_S)] = labels.index(mode)
        c += CHUNK_S
    events += det.flush()
    settled = np.full(len(secs), -1)
    for e in events:
        settled[(secs >= e.start) & (secs < e.end)] = labels.index(e.mode)
    return truth, settled, live


def score(truth: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict:
    """Recall, as_vehicle and confusion (rows: labels present, columns: all classes) per second."""
    out = {}
    veh = [labels.index(v) for v in VEHICLES if v in labels]
    for k in sorted(set(truth.tolist()) - {-1}):
        sel = truth == k
        p = pred[sel]
        out[labels[k]] = {
            "seconds": int(sel.sum()),
            "recall": round(float(np.mean(p == k)), 4),
            "as_vehicle": round(float(np.mean(np.isin(p, veh))), 4),
            "unscored": round(float(np.mean(p < 0)), 4),
            "confusion": {labels[j]: int(np.sum(p == j)) for j in range(len(labels))},
        }
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help=".tflite with its manifest (default: the shipped model)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--subjects", default="", help="comma-separated subjects to score (default: all)")
    ap.add_argument("--no-context", action="store_true")
    ap.add_argument("--at-place", action="store_true", help="tell the detector GPS says the person stays at a place")
    ap.add_argument("--at-place-weight", type=float, default=None, help="at_place_vehicle_weight (default: the detector's)")
    ap.add_argument("--still-std", type=float, default=None, help="duty-cycling threshold, m/s² (default: the detector's)")
    a = ap.parse_args(argv)
    from momentsense.sdk.io.imu_file import read_imu
    from momentsense.sdk.transport.detector import TransportDetector

    ds = read_imu(a.data)
    keep = {s for s in a.subjects.split(",") if s}
    kw = {"use_context": not a.no_context, "use_gps": False}
    if a.at_place_weight is not None:
        kw["at_place_vehicle_weight"] = a.at_place_weight
    if a.still_std is not None:
        kw["still_acc_std_mps2"] = a.still_std
    tr, st, lv = [], [], []
    skipped = windows = 0
    labels = None
    for rec in ds.recordings:
        if keep and str(rec.subject) not in keep:
            continue
        det = TransportDetector.create(a.model, **kw)
        labels = list(det.labels)
        det.set_at_place(a.at_place)
        if list(ds.label_names) != labels:
            raise SystemExit(f"{a.data}: label_names {ds.label_names} are not the model's classes {labels}")
        x, y, z = stream_recording(det, rec, labels)
        tr.append(x), st.append(y), lv.append(z)
        if ds.label_names[int(np.bincount(np.asarray(rec.label)[np.asarray(rec.label) >= 0]).argmax())] == "still":
            skipped += det.stats.windows_skipped
            windows += det.stats.windows
    truth, settled, live = np.concatenate(tr), np.concatenate(st), np.concatenate(lv)
    print(json.dumps({"model": a.model or "shipped", "data": a.data, "options": kw, "at_place": a.at_place,
                      "stream": score(truth, settled, labels), "stream_live": score(truth, live, labels),
                      "still_windows": windows, "still_windows_skipped": skipped,
                      "still_skip_share": round(skipped / windows, 4) if windows else None}, indent=1))


if __name__ == "__main__":
    main()
