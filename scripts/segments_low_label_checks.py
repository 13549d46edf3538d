"""Checks of the few-label curve with the shipped encoder (same split as ``train segments``):
standardising with the whole unlabelled pool instead of the labelled users, the logistic C, the
embedding's first 10 / 20 principal components (fitted on the unlabelled pool), and two
distance-based classifiers instead of logistic regression (nearest class mean, balanced 3-NN; the
embedding was learned for distances).

    python scripts/segments_low_label_checks.py runs/population_3000x6.h5

Prints mean F1 over the personas at 10 / 30 / 100 labels for the embedding and the hand features.
"""

from __future__ import annotations

import sys
import zlib

import numpy as np

import momentsense.trainer.segments.fewlabel as fewlabel
from momentsense.edge_models import artifact_dir
from momentsense.sdk.segments.embedding import TimelineEncoder
from momentsense.sdk.segments.events import users_of
from momentsense.sdk.segments.features import timeline_features
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.segments.workflow import PERSONAS, SegmentsTrainOptions, _split, segment_truth, usable_users


def main(data: str) -> None:
    tl = read_timeline(data)
    codes = usable_users(tl)
    _, pool_i, test_i = _split(len(codes), SegmentsTrainOptions(split_seed=0))
    users = users_of(tl, codes)
    enc = TimelineEncoder.create_from_path(artifact_dir() / "timeline_encoder.tflite")
    emb = lambda idx: np.stack([enc.embed_user(users[i]) for i in idx])  # noqa: E731
    feat = lambda idx: np.stack([timeline_features(users[i], enc.config.utc_offset_s) for i in idx])  # noqa: E731
    ep, et, fp, ft = emb(pool_i), emb(test_i), feat(pool_i), feat(test_i)
    yp = segment_truth(tl, [codes[i] for i in pool_i])
    yt = segment_truth(tl, [codes[i] for i in test_i])
    yp, yt = {s: yp[s] for s in PERSONAS}, {s: yt[s] for s in PERSONAS}

    def pool_std(a, b):
        m, s = a.mean(0), np.maximum(a.std(0), 1e-6)
        return (a - m) / s, (b - m) / s

    reps = {"embedding": (ep, et, True), "features": (fp, ft, True),
            "embedding, pool-standardised": (*pool_std(ep, et), False), "features, pool-standardised": (*pool_std(fp, ft), False)}
    show = lambda tag, c: [print(f"{tag}{k}: {[round(v, 3) for v in c[k]['mean'].values()]}") for k in c]  # noqa: E731
    show("", fewlabel.few_label_curve(reps, yp, yt, (10, 30, 100), 5, 0))
    fit = fewlabel.fit_head
    for c in (0.1, 10.0):
        fewlabel.fit_head = lambda x, y, standardise, c=c: fit(x, y, standardise, c)
        show(f"C={c} ", fewlabel.few_label_curve({k: reps[k] for k in ("embedding", "features")}, yp, yt, (10, 30, 100), 5, 0))
    fewlabel.fit_head = fit
    # Fewer dimensions for few labels: the embedding's principal components on the unlabelled pool.
    m = ep.mean(0)
    vt = np.linalg.svd(ep - m, full_matrices=False)[2]
    show("", fewlabel.few_label_curve({f"embedding, {k} principal components": ((ep - m) @ vt[:k].T, (et - m) @ vt[:k].T, True)
                                       for k in (10, 20)}, yp, yt, (10, 30, 100), 5, 0))  # fmt: skip
    # Distance-based classifiers on the same draws (features standardised by the unlabelled pool).
    fs_p, fs_t = pool_std(fp, ft)
    for name, clf in (("nearest class mean", _centroid), ("balanced 3-NN", _knn3)):
        for rep, (xp, xt) in (("embedding", (ep, et)), ("features", (fs_p, fs_t))):
            curve = []
            for n in (10, 30, 100):
                scores = []
                for s in PERSONAS:
                    for r in range(5):
                        idx = fewlabel.draw_labelled(yp[s], n, np.random.default_rng([0, n, r, zlib.crc32(s.encode())]))
                        scores.append(fewlabel.f1(clf(xp[idx], yp[s][idx], xt), yt[s]))
                curve.append(round(float(np.mean(scores)), 3))
            print(f"{name} {rep}: {curve}")


def _centroid(xp: np.ndarray, y: np.ndarray, xt: np.ndarray) -> np.ndarray:
    mp, mn = xp[y].mean(0), xp[~y].mean(0)
    return ((xt - (mp + mn) / 2) @ (mp - mn)) > 0


def _knn3(xp: np.ndarray, y: np.ndarray, xt: np.ndarray) -> np.ndarray:
    nn = np.argsort(((xt[:, None, :] - xp[None]) ** 2).sum(-1), axis=1)[:, :3]
    w = np.where(y, 1 / max(int(y.sum()), 1), 1 / max(int((~y).sum()), 1))  # each class weighs the same
    return (w[nn] * np.where(y[nn], 1, -1)).sum(1) > 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
