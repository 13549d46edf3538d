"""Where does a transport model + context head still go wrong: whole rides or boundaries? (issue 3)

Runs a shipped ``.tflite`` model and the head its manifest names (``context_lagged`` by default, the
timeline's) over a file's continuous recordings, and prints JSON: wrong windows, how many true
segments (runs of one label within a continuous stream) hold them, the share held by the 10 worst,
those segments (true mode, minutes, what they were read as), and the error rate by distance from a
change of true mode. Per window, before the HMM.

    momentsense simulate sensors --subjects 12 --minutes 60 --seed 13 --out data/sim_val.h5
    python scripts/transport_context_errors.py edge_models/artifacts/transport_cnn.tflite data/sim_val.h5 [context|context_lagged]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from momentsense.sdk.io.imu_file import read_imu  # noqa: E402
from momentsense.sdk.models.manifest import read_manifest  # noqa: E402
from momentsense.sdk.transport.detector import load_context_head  # noqa: E402
from momentsense.trainer.transport.context import head_predict  # noqa: E402
from momentsense.trainer.transport.data import dataset_windows  # noqa: E402
from momentsense.trainer.transport.evaluate import ordered  # noqa: E402
from momentsense.trainer.transport.workflow import load_window_model  # noqa: E402


def main(model: str, data: str, key: str = "context_lagged") -> dict:
    predict, config, labels = load_window_model(Path(model))
    head = load_context_head(model, read_manifest(Path(model).with_suffix(".json")), key)
    if head is None:
        raise SystemExit(f"{model}: its manifest names no {key!r} head")
    w = dataset_windows(read_imu(data), config)
    pred = head_predict(predict(w.x), head, w).argmax(1)
    order, reset = ordered(w)
    y, p = w.y[order], pred[order]
    new_seg = reset | np.r_[True, np.diff(y) != 0]
    seg = np.cumsum(new_seg) - 1
    pos = np.arange(len(y)) - np.flatnonzero(new_seg)[seg]
    length = np.bincount(seg)
    to_end = length[seg] - 1 - pos
    # distance to a change of true mode (a stream's own start or end is not a change)
    first_of_stream = np.maximum.accumulate(np.where(reset, np.arange(len(y)), 0))
    after_change = np.where(np.flatnonzero(new_seg)[seg] > first_of_stream, pos, 10**9)
    ends = np.r_[reset[1:], True]
    last_of_stream = np.minimum.accumulate(np.where(ends, np.arange(len(y)), len(y))[::-1])[::-1]
    before_change = np.where(np.flatnonzero(new_seg)[seg] + length[seg] - 1 < last_of_stream, to_end, 10**9)
    dist_s = np.minimum(after_change, before_change) * config.hop_s
    wrong = p != y
    per_seg = np.bincount(seg[wrong], minlength=len(length))
    worst = np.argsort(per_seg)[::-1][:10]
    rate = lambda m: {"windows": int(m.sum()), "error_rate": float(wrong[m].mean()) if m.any() else None}  # noqa: E731
    return {
        "model": model, "head": key, "data": data, "windows": int(len(y)), "wrong": int(wrong.sum()),
        "segments": int(len(length)), "segments_with_errors": int((per_seg > 0).sum()),
        "worst_10_hold": int(per_seg[worst].sum()),
        "worst_10": [{"true": labels[int(y[seg == s][0])], "minutes": round(float(length[s] * config.hop_s / 60), 1),
                      "wrong": int(per_seg[s]),
                      "read_as": {labels[k]: int(c) for k, c in enumerate(np.bincount(p[seg == s], minlength=len(labels))) if c}}
                     for s in worst],
        "by_distance_to_a_change": {"<= 30 s": rate(dist_s <= 30), "30 s - 3 min": rate((dist_s > 30) & (dist_s <= 180)),
                                    "> 3 min or no change": rate(dist_s > 180)},
    }  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    print(json.dumps(main(*sys.argv[1:]), indent=1))
