"""How much do the GPS numbers say on their own? The leak check behind the timeline's GPS head (issue 3).

The GPS head (``context_lagged_gps``) reads, per window, the fix rate of good fixes, their median
speed and whether any fix came (:mod:`sdk.transport.gps`). A simulator in which one of them alone
named a mode (a subway as the only place without fixes) would make the head look better than it can
be on a phone. This prints, on a file the head never saw (the validation file by default):

- per true mode: the share of windows with less than one good fix per 10 s, with any fix at all,
  and the median speed;
- macro-F1 per window of a random forest on the three GPS numbers alone, and on them with their
  1, 3 and 6 minute means (past only), fitted on the training file: what GPS knows without the IMU.

    momentsense simulate sensors --subjects 100 --minutes 60 --seed 11 --out data/sim_train.h5
    momentsense simulate sensors --subjects 12 --minutes 60 --seed 13 --out data/sim_val.h5
    python scripts/transport_gps_checks.py data/sim_train.h5 data/sim_val.h5
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from momentsense.sdk.dsp import PreprocessConfig  # noqa: E402
from momentsense.sdk.io.imu_file import read_imu  # noqa: E402
from momentsense.sdk.transport.heads import context_summaries  # noqa: E402
from momentsense.trainer.transport.data import dataset_windows  # noqa: E402
from momentsense.trainer.transport.evaluate import ordered  # noqa: E402


def gps_only(path: str, config: PreprocessConfig):
    """Labels, GPS numbers and their past 1/3/6 min means, in stream order, of a file's clean windows."""
    ds = read_imu(path)
    w = dataset_windows(ds, config)
    order, reset = ordered(w)
    g = w.gps[order]
    if not np.all(np.isfinite(g)):
        raise SystemExit(f"{path}: some recordings carry no GPS track")
    z = context_summaries(g, reset, (12, 36, 72))
    keep = w.purity[order] >= 0.8
    return ds.label_names, w.y[order][keep], g[keep], z[keep][:, : 3 * 4]  # itself + 3 means (std columns dropped)


def main(train: str, test: str) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import f1_score

    config = PreprocessConfig()
    labels, y_tr, g_tr, z_tr = gps_only(train, config)
    _, y_te, g_te, z_te = gps_only(test, config)
    print(f"{test}: per true mode, share of windows with < 0.1 good fixes per expected fix, with any fix, median speed m/s")
    for k, name in enumerate(labels):
        m = y_te == k
        if m.any():
            print(f"  {name:7s} n={int(m.sum()):5d}  low fix rate {np.mean(g_te[m, 0] < 0.1):.2f}  any fix {np.mean(g_te[m, 2]):.2f}  "
                  f"median speed {np.expm1(np.median(g_te[m, 1])):.1f}")  # fmt: skip
    low = g_te[:, 0] < 0.1
    shares = {labels[k]: round(float(np.mean(y_te[low] == k)), 2) for k in np.unique(y_te[low])}
    print(f"  windows with a low fix rate, by true mode: {shares}")
    for name, a, b in (("GPS numbers", g_tr, g_te), ("GPS numbers + 1/3/6 min means", z_tr, z_te)):
        rf = RandomForestClassifier(200, min_samples_leaf=5, n_jobs=-1, random_state=0).fit(a, y_tr)
        p = rf.predict(b)
        per = f1_score(y_te, p, average=None, labels=range(len(labels)), zero_division=0)
        print(f"forest on {name} alone: macro-F1 {f1_score(y_te, p, average='macro'):.3f}; per class "
              + ", ".join(f"{n} {v:.2f}" for n, v in zip(labels, per)))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
