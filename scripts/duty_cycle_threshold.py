"""Share of windows under the duty-cycling threshold, real still next to simulated still and rides.

    PYTHONPATH=$PWD python scripts/duty_cycle_threshold.py --real data/wisdm_modes.h5 --sim data/sim_test.h5 \
        [--thresholds 0.03,0.05,0.08]

The statistic is the one :class:`sdk.transport.detector.TransportDetector` tests before skipping a
window: the std of the window's ``acc_norm`` channel (|acc| − g on the 25 Hz grid, m/s²), computed by
the SDK's own pipeline (:mod:`sdk.dsp`). Prints JSON: per file and class, the share of windows below
each threshold (for still: what could be skipped; for vehicles: what would be wrongly skipped if the
detector already reported still, e.g. at a stop).
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def shares(path: str, thresholds: list[float]) -> dict:
    from momentsense.sdk.dsp import PreprocessConfig
    from momentsense.sdk.io.imu_file import read_imu
    from momentsense.trainer.transport.data import dataset_windows

    ds = read_imu(path)
    cfg = PreprocessConfig()
    w = dataset_windows(ds, cfg, min_purity=1.0)
    col = cfg.channels.index("acc_norm")
    s = w.x[:, :, col].std(axis=1)
    out = {}
    for k, name in enumerate(ds.label_names):
        sel = w.y == k
        if sel.any():
            out[name] = {"windows": int(sel.sum()), "median_std": round(float(np.median(s[sel])), 4),
                         **{f"below_{t:g}": round(float(np.mean(s[sel] < t)), 4) for t in thresholds}}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, help="real file in the model's classes (e.g. WISDM via trainer.transport.realdata)")
    ap.add_argument("--sim", required=True, help="simulated file")
    ap.add_argument("--thresholds", default="0.03,0.04,0.05,0.06,0.08")
    a = ap.parse_args(argv)
    th = [float(x) for x in a.thresholds.split(",")]
    print(json.dumps({"real": shares(a.real, th), "sim": shares(a.sim, th)}, indent=1))


if __name__ == "__main__":
    main()
