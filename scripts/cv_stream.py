"""Stream each cross-validation fold's held-out real subjects through the SDK path of that fold's model.

    PYTHONPATH=$PWD python scripts/cv_stream.py --cv runs/cv_joint --real data/wisdm_modes.h5 \
        --sim data/sim_train.h5 [--folds 0,1,2,3,4]

For each fold of ``momentsense train transport --folds K --train-also SIM`` (``DIR/cv.json``): the
fold's Keras model is exported to a float32 ``.tflite`` with its manifest (``momentsense quantize
--float32``), its live and lagged context heads and HMM are fitted on the fold's training data only
(the simulated file plus the real subjects not held out; ``momentsense train transport-context
--ship``), and the held-out real subjects are streamed through :class:`TransportDetector` in 10 s
chunks without GPS and scored per second (``scripts/stream_real.py``). Prints the pooled JSON; the
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
    from sdk.imu_file import read_imu, write_imu
    from sdk.records import ImuDataset

    ds = read_imu(src)
    recs = [r for r in ds.recordings if (str(r.subject) in subjects) == keep]
    write_imu(out, ImuDataset(list(ds.label_names), ds.source, recs, None, dict(ds.attrs or {})))


def cli(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-m", "trainer.cli", *args], check=True, env=env, stdout=subprocess.DEVNULL)


def pool(parts: list[dict]) -> dict:
    out = {}
    for key in ("stream", "stream_live"):
        out[key] = {}
        for label in sorted({k for p in parts for k in p[key]}):
            rows = [p[key][label] for p in parts if label in p[key]]
            sec = sum(r["seconds"] for r in rows)
            conf = {c: sum(r["confusion"][c] for r in rows) for c in rows[0]["confusion"]}
            out[key][label] = {"seconds": sec,
                               **{m: round(sum(r[m] * r["seconds"] for r in rows) / sec, 4)
                                  for m in ("recall", "as_vehicle", "unscored")},
                               "confusion": conf}
    w = sum(p["still_windows"] for p in parts)
    out["still_skip_share"] = round(sum(p["still_windows_skipped"] for p in parts) / w, 4) if w else None
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cv", required=True)
    ap.add_argument("--real", required=True)
    ap.add_argument("--sim", required=True)
    ap.add_argument("--folds", default="")
    a = ap.parse_args(argv)
    cv = json.loads((Path(a.cv) / "cv.json").read_text())
    wanted = {int(x) for x in a.folds.split(",") if x} or {r["fold"] for r in cv["folds"]}
    parts = []
    for row in cv["folds"]:
        i = row["fold"]
        if i not in wanted:
            continue
        d = Path(a.cv) / f"fold{i}"
        test = set(map(str, row["test_subjects"]))
        subset(a.real, test, False, d / "real_train.h5")
        subset(a.real, test, True, d / "real_test.h5")
        q = d / "tflite"
        cli("quantize", str(d / "transport_cnn.keras"), "--out", str(q), "--float32", "--train-data",
            f"{a.sim},{d / 'real_train.h5'}", "--test-data", str(d / "real_test.h5"), "--seed", "0")
        cli("train", "transport-context", "--model", str(q / "transport_cnn.tflite"), "--data",
            f"{a.sim},{d / 'real_train.h5'}", "--out", str(d / "context"), "--ship", "--seed", "0")
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        res = subprocess.run([sys.executable, "scripts/stream_real.py", "--model", str(q / "transport_cnn.tflite"),
                              "--data", str(d / "real_test.h5")], check=True, env=env, capture_output=True, text=True)
        part = json.loads(res.stdout)
        (d / "stream.json").write_text(json.dumps(part, indent=1))
        parts.append(part)
        print(f"fold {i}: still {part['stream']['still']['recall']:.3f} (vehicle {part['stream']['still']['as_vehicle']:.3f})",
              file=sys.stderr)
    print(json.dumps({"cv": a.cv, "folds": sorted(wanted), "path": "float32 tflite + live/lagged heads + HMM, no GPS",
                      **pool(parts)}, indent=1))


if __name__ == "__main__":
    main()
