"""Which map keeps old segment heads working after a *cold* encoder retrain? (issue 7)

Trains the timeline encoder twice from scratch (seeds 0 and 1, same users, 1,500 steps each; the whole
script takes ~6 min on 2 cores), fits the old heads on the label-pool users, and scores the old heads on the test users
with the new embeddings mapped back by each variant: ridge or orthogonal, fitted on window or on
user embeddings of the anchor (label-pool) users, with or without an intercept; and two non-linear
maps fitted on the anchor windows for comparison (a perceptron, and RBF kernel ridge on 6,000 of the
windows); and two more cold retrains (seed 1) trained with the compatibility loss against the first
encoder (weights 0.3 and 1), each scored unmapped, mapped by ridge and orthogonally, and by
heads of its own fitted on the label pool. Prints JSON.

    momentsense simulate population --users 3000 --weeks 6 --seed 0 --out runs/population_3000x6.h5
    python scripts/segments_mapping_variants.py runs/population_3000x6.h5
"""
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from momentsense.sdk.segments.encoding import WindowConfig, encode_user_windows
from momentsense.sdk.segments.events import users_of
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.population.profile import PERSONAS
from momentsense.trainer.segments.encoder import EncoderTrainOptions, embed_users, embed_windows, train_encoder, users_from_windows
from momentsense.trainer.segments.fewlabel import f1, fit_head, map_embeddings, procrustes, ridge_map
from momentsense.trainer.segments.workflow import SegmentsTrainOptions, _split, segment_truth, usable_users

config = WindowConfig()
o = SegmentsTrainOptions(encoder=EncoderTrainOptions(steps=1500, seed=0))
tl = read_timeline(sys.argv[1] if len(sys.argv) > 1 else "runs/population_3000x6.h5")
codes = usable_users(tl, config.min_history_s / 86400.0)
enc_i, pool_i, test_i = _split(len(codes), o)
users = users_of(tl, codes)
ev = lambda idx: [users[i] for i in idx]
y_pool, y_test = segment_truth(tl, [codes[i] for i in pool_i]), segment_truth(tl, [codes[i] for i in test_i])
t = time.time()
m1, _ = train_encoder(ev(enc_i), config, o.encoder, verbose=False)
m2, _ = train_encoder(ev(enc_i), config, dataclasses.replace(o.encoder, seed=1), verbose=False)
print("trained", time.time() - t, flush=True)
heads = {s: fit_head(embed_users(m1, ev(pool_i), config), y_pool[s], True) for s in PERSONAS}
wins = [encode_user_windows(u, config) for u in ev(pool_i)]
counts = [len(w) for w in wins]
X = np.concatenate(wins)
a_old, a_new = embed_windows(m1, X), embed_windows(m2, X)

u_old, u_new = users_from_windows(a_old, counts), users_from_windows(a_new, counts)
e_test_old = embed_users(m1, ev(test_i), config)
e_test_new = embed_users(m2, ev(test_i), config)


def score(x):
    return float(np.mean([f1(heads[s].proba(x) >= 0.5, y_test[s]) for s in PERSONAS]))


def aff(x):
    return np.hstack([x, np.ones((len(x), 1))])


def ridge_aff(x, y, alpha=1e-4):
    return ridge_map(aff(x), y, alpha)


res = {"c_old": score(e_test_old), "a_unmapped": score(e_test_new)}
res["win_ridge"] = score(map_embeddings(e_test_new, ridge_map(a_new, a_old)))
res["win_orth"] = score(map_embeddings(e_test_new, procrustes(a_new, a_old)))
res["win_ridge_affine"] = score(map_embeddings(aff(e_test_new), ridge_aff(a_new, a_old)))
for alpha in (1e-4, 1e-3, 1e-2):
    res[f"user_ridge_{alpha}"] = score(map_embeddings(e_test_new, ridge_map(u_new, u_old, alpha)))
    res[f"user_ridge_affine_{alpha}"] = score(map_embeddings(aff(e_test_new), ridge_aff(u_new, u_old, alpha)))
res["user_orth"] = score(map_embeddings(e_test_new, procrustes(u_new, u_old)))
# windows and users together (users weighted as many windows)
both_x = np.vstack([a_new, np.repeat(u_new, 20, axis=0)])
both_y = np.vstack([a_old, np.repeat(u_old, 20, axis=0)])
res["both_ridge"] = score(map_embeddings(e_test_new, ridge_map(both_x, both_y)))
# Non-linear maps (not what ships: the issue asks for a linear one).
from sklearn.kernel_ridge import KernelRidge  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

from momentsense.sdk.segments.encoding import l2_normalise  # noqa: E402

for alpha in (1e-4, 1e-2):
    mlp = MLPRegressor(hidden_layer_sizes=(256,), alpha=alpha, max_iter=300, early_stopping=True, random_state=0).fit(a_new, a_old)
    res[f"win_mlp256_{alpha}"] = score(l2_normalise(mlp.predict(e_test_new)))
sub = np.random.default_rng(0).choice(len(a_new), size=min(6000, len(a_new)), replace=False)
for gamma in (0.5, 1.0, 2.0):
    kr = KernelRidge(alpha=1e-2, kernel="rbf", gamma=gamma).fit(a_new[sub], a_old[sub])
    res[f"win_kernel_ridge_rbf_{gamma}"] = score(l2_normalise(kr.predict(e_test_new)))
# Cold retrains trained to be linearly mappable to the first encoder (the compatibility loss).
for lam in (0.3, 1.0):
    m3, _ = train_encoder(ev(enc_i), config, dataclasses.replace(o.encoder, seed=1, compat_weight=lam), verbose=False, reference=m1)
    a3, e3 = embed_windows(m3, X), embed_users(m3, ev(test_i), config)
    res[f"compat_{lam}_unmapped"] = score(e3)
    res[f"compat_{lam}_win_ridge"] = score(map_embeddings(e3, ridge_map(a3, a_old)))
    res[f"compat_{lam}_win_orth"] = score(map_embeddings(e3, procrustes(a3, a_old)))
    e3_pool = embed_users(m3, ev(pool_i), config)
    res[f"compat_{lam}_own_heads"] = float(np.mean([f1(fit_head(e3_pool, y_pool[s], True).proba(e3) >= 0.5, y_test[s]) for s in PERSONAS]))
e2_pool = embed_users(m2, ev(pool_i), config)
res["plain_retrain_own_heads"] = float(np.mean([f1(fit_head(e2_pool, y_pool[s], True).proba(e_test_new) >= 0.5, y_test[s]) for s in PERSONAS]))
print(json.dumps(res, indent=1))
