"""Stream each cross-validation fold's held-out real subjects through the SDK path of that fold's model.

    PYTHONPATH=$PWD python scripts/cv_stream.py --cv runs/cv_joint --real data/wisdm_modes.h5 \
        --sim data/sim_train.h5 [--folds 0,1,2,3,4]

For each fold of ``momentsense train transport --folds K --train-also SIM`` (``DIR/cv.json``): the
fold's Keras model is exported to a float32 ``.tflite`` with its manifest (``momentsense quantize
--float32``), its live and lagged context heads and HMM are fitted on the fold's training data only
(the simulated file plus the real subjects not held out; ``momentsense train transport-context
--ship``), and the held-out real subjects are streamed through :class:`TransportDetector` in 10 s
chunks without GPS and scored per second (:func:`trainer.transport.stream_eval.evaluate_stream`, as
``momentsense eval transport --stream --no-gps``). Prints the pooled JSON; the
per-fold JSON goes to ``DIR/fold<i>/stream.json``. The shipped model is int8 (QAT): this scores the
recipe, not the shipped bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def subset(src: str, subjects: set[str], keep: bool, out: Path) -> None:
    from momentsense.sdk.io.imu_file import read_imu, write_imu
    from momentsense.sdk.records import ImuDataset

    ds = read_imu(src)
    recs = [r for r in ds.recordings if (str(r.subject) in subjects) == keep]
    write_imu(out, ImuDataset(list(ds.label_names), ds.source, recs, None, dict(ds.attrs or {})))


def cli(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-m", "momentsense.trainer.cli", *args], check=True, env=env, stdout=subprocess.DEVNULL)


def pool(parts: list[dict], key: str) -> dict:
    """Per-second scores of several folds pooled (their confusion_seconds summed)."""
    names, files = parts[0][key]["label_names"], parts[0][key]["file_label_names"]
    cm = np.zeros((len(files), len(names)), np.int64)
    for p in parts:
        idx = [files.index(f) for f in p[key]["file_label_names"]]
        cm[idx] += np.asarray(p[key]["confusion_seconds"], np.int64)
    veh = [names.index(v) for v in ("bike", "car", "bus", "train", "subway") if v in names]
    mapping = parts[0][key].get("label_map", {})
    out = {"file_label_names": files, "label_names": names, "confusion_seconds": cm.tolist(), "recall": {},
           "as_vehicle": {}, "recall_by_class": {}, "as_vehicle_by_class": {}}
    for i, f in enumerate(files):
        n = cm[i].sum()
        cls = mapping.get(f, f)
        out["recall"][f] = round(float(cm[i, names.index(cls)] / n), 4) if n and cls in names else None
        out["as_vehicle"][f] = round(float(cm[i, veh].sum() / n), 4) if n else None
    for cls in sorted({mapping.get(f, f) for f in files}):
        rows = [i for i, f in enumerate(files) if mapping.get(f, f) == cls]
        n = cm[rows].sum()
        out["recall_by_class"][cls] = round(float(cm[rows][:, names.index(cls)].sum() / n), 4) if n and cls in names else None
        out["as_vehicle_by_class"][cls] = round(float(cm[rows][:, veh].sum() / n), 4) if n else None
    return out


def stream_fold(model: Path, wisdm_src: str, test: set[str]) -> dict:
    """``evaluate_stream`` (the SDK fed in 10 s chunks, no GPS) on the held-out subjects, and on their
    still recordings alone (for the duty-cycling skip share)."""
    from momentsense.sdk.records import ImuDataset
    from momentsense.trainer.loaders.wisdm import load_wisdm
    from momentsense.trainer.transport.stream_eval import evaluate_stream

    ds = load_wisdm(wisdm_src)
    recs = [r for r in ds.recordings if str(r.subject) in test]
    res = evaluate_stream(ImuDataset(ds.label_names, ds.source, recs), str(model), gps=False)
    still_ids = [ds.label_names.index(n) for n in ("sitting", "standing")]
    still = [r for r in recs if int(r.label[0]) in still_ids]
    st = evaluate_stream(ImuDataset(ds.label_names, ds.source, still), str(model), gps=False)
    res["still_windows"], res["still_windows_skipped"] = st["windows"], st["windows_skipped"]
    return res


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", required=True)
    ap.add_argument("--real", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--wisdm-src", default="../shared/data/wisdm2019_phone_subset.h5",
                    help="the WISDM source, streamed with its own labels (sitting, standing, ...)")
    ap.add_argument("--folds", default="")
    a = ap.parse_args(argv)
    folds = sorted(Path(a.cv).glob("fold*/metrics.json"), key=lambda p: int(p.parent.name[4:]))
    wanted = {int(x) for x in a.folds.split(",") if x} or {int(p.parent.name[4:]) for p in folds}
    parts = []
    for mpath in folds:
        i = int(mpath.parent.name[4:])
        if i not in wanted:
            continue
        d = mpath.parent
        test = set(map(str, json.loads(mpath.read_text())["test_subjects"]))
        if (d / "stream.json").is_file():  # streamed already (the folds can be streamed as they finish)
            parts.append(json.loads((d / "stream.json").read_text()))
            continue
        subset(a.real, test, False, d / "real_train.h5")
        subset(a.real, test, True, d / "real_test.h5")
        q = d / "tflite"
        cli("quantize", str(d / "transport_cnn.keras"), "--out", str(q), "--float32", "--train-data",
            f"{a.sim},{d / 'real_train.h5'}", "--test-data", str(d / "real_test.h5"), "--seed", "0")
        cli("train", "transport-context", "--model", str(q / "transport_cnn.tflite"), "--data",
            f"{a.sim},{d / 'real_train.h5'}", "--out", str(d / "context"), "--ship", "--seed", "0")
        part = stream_fold(q / "transport_cnn.tflite", a.wisdm_src, test)
        (d / "stream.json").write_text(json.dumps(part, indent=1))
        parts.append(part)
        print(f"fold {i}: still {part['stream']['recall_by_class']['still']:.3f} "
              f"(vehicle {part['stream']['as_vehicle_by_class']['still']:.3f})", file=sys.stderr)
    w = sum(p["still_windows"] for p in parts)
    print(json.dumps({"cv": a.cv, "folds": sorted(wanted), "path": "float32 tflite + live/lagged heads + HMM, no GPS",
                      "stream": pool(parts, "stream"), "stream_live": pool(parts, "stream_live"),
                      "still_skip_share": round(sum(p["still_windows_skipped"] for p in parts) / w, 4) if w else None},
                     indent=1))


if __name__ == "__main__":
    main()
