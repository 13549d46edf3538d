"""Would GPS help the timeline's lagged context head? A probe on the validation file (issue 3).

The phone has GPS fixes beside the IMU (with location consent), and the simulator's files carry them.
Here each window's vector (the window model's log-probabilities and channel stds, as
:mod:`sdk.transport_context` builds it) gets three GPS numbers: fixes per second, log(1 + median
speed in m/s) and whether any fix came, over a span around the window. A lagged head (3 min look-ahead,
one 128-unit perceptron, α 1e-2, as shipped but not averaged) is fitted on the training file and
scored per window on the validation file, without and with them, for two spans: fixes from 15 s
before the window's start to 25 s after it, and the past-only span a streaming phone would have when
the window ends (30 s before its start to its end). Also with speed only (no fix-availability
numbers), since in this simulator a subway runs underground and loses its fixes. Prints lines, the
confusion matrices without and with GPS (centred span, seed 1) and, per true mode, the share of
windows with a fix and the median speed (the one-feature check).

    momentsense simulate sensors --subjects 100 --minutes 60 --seed 11 --out data/sim_train.h5
    momentsense simulate sensors --subjects 12 --minutes 60 --seed 13 --out data/sim_val.h5
    python scripts/transport_context_gps_probe.py edge_models/artifacts/transport_cnn.tflite data/sim_train.h5 data/sim_val.h5
    # and the same heads after the HMM on the test file (prior tuned on the validation file):
    python scripts/transport_context_gps_probe.py edge_models/artifacts/transport_cnn.tflite data/sim_train.h5 data/sim_val.h5 data/sim_test.h5

A probe, not the product: the SDK's heads read no GPS (yet).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from sdk.imu_file import read_imu  # noqa: E402
from sdk.transport_context import context_summaries  # noqa: E402
from trainer.transport.context import DEFAULT_LAG, DEFAULT_SCALES, stream_vectors  # noqa: E402
from trainer.transport.data import dataset_windows  # noqa: E402
from trainer.transport.workflow import load_window_model  # noqa: E402


def load_windows(path: str, config):
    """A file's dataset and its windows (read and windowed once; the spans below reuse them)."""
    ds = read_imu(path)
    return ds, dataset_windows(ds, config)


def gps_features(ds, w, config, before_s: float, after_s: float) -> np.ndarray:
    """GPS numbers ``(W, 3)`` of windows ``w`` of ``ds`` over ``[start - before_s, start + after_s)``."""
    recs = [r for r in ds.recordings if r.label is not None]  # dataset_windows numbers these in order
    out = np.zeros((len(w), 3))
    for i, r in enumerate(recs):
        m = w.recording == i
        if r.gps is None or not len(r.gps.t) or not m.any():
            continue
        t0 = w.k_start[m] / config.fs_hz
        gt = np.asarray(r.gps.t)
        sp = np.asarray(r.gps.speed_mps) if r.gps.speed_mps is not None else np.zeros(len(gt))
        lo, hi = np.searchsorted(gt, t0 - before_s), np.searchsorted(gt, t0 + after_s)
        med = np.array([np.median(sp[a:b]) if b > a else 0.0 for a, b in zip(lo, hi)])
        out[m] = np.c_[(hi - lo) / (before_s + after_s), np.log1p(med), (hi > lo).astype(float)]
    return out


def main(model: str, train: str, val: str) -> None:
    from sklearn.metrics import confusion_matrix, f1_score
    from sklearn.neural_network import MLPClassifier

    predict, config, labels = load_window_model(Path(model))
    spans = {"centred (-15 s, +25 s)": (15.0, 25.0), "past only (-30 s, window end)": (30.0, config.window_s)}
    (ds_tr, tr), (ds_va, va) = load_windows(train, config), load_windows(val, config)
    probs = {"tr": predict(tr.x), "va": predict(va.x)}
    for span, (b, a) in spans.items():
        g_tr, g_va = gps_features(ds_tr, tr, config, b, a), gps_features(ds_va, va, config, b, a)
        for name, cols in (("no GPS", []), ("GPS", [0, 1, 2]), ("GPS speed only", [1])):
            if name == "no GPS" and span != next(iter(spans)):
                continue

            def summaries(p, w, g):
                o, r, v = stream_vectors(p, w)
                return o, context_summaries(np.hstack([v, g[o][:, cols]]), r, DEFAULT_SCALES, DEFAULT_LAG)

            o_tr, z_tr = summaries(probs["tr"], tr, g_tr)
            o_va, z_va = summaries(probs["va"], va, g_va)
            keep = tr.purity[o_tr] >= 0.8
            mean, scale = z_tr.mean(0), np.maximum(z_tr.std(0), 1e-6)
            for seed in (0, 1):
                clf = MLPClassifier((128,), alpha=1e-2, max_iter=200, early_stopping=True, random_state=seed)
                clf.fit((z_tr[keep] - mean) / scale, tr.y[o_tr][keep])
                pred = clf.predict((z_va - mean) / scale)
                y = va.y[o_va]
                print(f"{name:15s} {span if cols else '':30s} seed {seed}: window accuracy {np.mean(pred == y):.3f}, "
                      f"macro-F1 {f1_score(y, pred, average='macro'):.3f}", flush=True)
            if name != "GPS speed only" and span == next(iter(spans)):  # rows true, columns read as (last seed)
                print(f"  confusion {labels}:\n{confusion_matrix(y, pred, labels=range(len(labels)))}")
        if span == next(iter(spans)):
            for k, mode in enumerate(labels):
                mk = va.y == k
                print(f"  {mode:7s} windows with a fix {np.mean(g_va[mk, 2]):.2f}, median speed {np.expm1(np.median(g_va[mk, 1])):.1f} m/s")


def smoothed(model: str, train: str, val: str, test: str) -> None:
    """Lagged heads without and with GPS (past-only span) fitted on ``train``, their HMM prior tuned on
    ``val`` (as the shipped heads'), scored once on ``test``: per window and after the HMM."""
    from sklearn.neural_network import MLPClassifier

    from trainer.transport.evaluate import evaluate_classifier, tune_hmm
    from trainer.transport.train import sequences_by_recording

    predict, config, labels = load_window_model(Path(model))
    before, after = 30.0, config.window_s
    sets = {}
    for name, path in (("tr", train), ("va", val), ("te", test)):
        ds, w = load_windows(path, config)
        sets[name] = (w, gps_features(ds, w, config, before, after))
    probs = {name: predict(w.x) for name, (w, _) in sets.items()}
    seqs = sequences_by_recording(sets["tr"][0])
    for cols, name in (([], "no GPS"), ([0, 1, 2], "GPS, past-only span")):
        z, order = {}, {}
        for k, (w, g) in sets.items():
            o, r, v = stream_vectors(probs[k], w)
            order[k], z[k] = o, context_summaries(np.hstack([v, g[o][:, cols]]), r, DEFAULT_SCALES, DEFAULT_LAG)
        tr = sets["tr"][0]
        keep = tr.purity[order["tr"]] >= 0.8
        mean, scale = z["tr"].mean(0), np.maximum(z["tr"].std(0), 1e-6)
        clf = MLPClassifier((128,), alpha=1e-2, max_iter=200, early_stopping=True, random_state=0)
        clf.fit((z["tr"][keep] - mean) / scale, tr.y[order["tr"]][keep])
        q = {}
        for k in ("va", "te"):
            p = np.zeros((len(z[k]), len(labels)))
            p[:, clf.classes_] = clf.predict_proba((z[k] - mean) / scale)
            q[k] = np.empty_like(p)
            q[k][order[k]] = p
        hmm, _ = tune_hmm(q["va"], sets["va"][0], seqs, len(labels), config.hop_s, labels)
        m = evaluate_classifier(lambda _x, qq=q["te"]: qq, sets["te"][0], labels, hmm, config.hop_s)
        sm = m["smoothing"]
        print(f"test file, {name}: window accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}; segment accuracy "
              + ", ".join(f"{k} {sm[k]['segment_accuracy']:.3f}" for k in ("raw", "forward", "viterbi"))
              + "; macro-F1 " + ", ".join(f"{k} {sm[k]['macro_f1']:.3f}" for k in ("raw", "forward", "viterbi"))
              + f"; switches/h forward {sm['forward']['switches_per_hour']:.1f} (true {sm['true_switches_per_hour']:.1f})", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5:
        smoothed(*sys.argv[1:])
    elif len(sys.argv) == 4:
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
