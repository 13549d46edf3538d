"""Train and evaluate the device's place-category classifier on phone views of simulated users.

Examples are the places of each user's phone view (home excluded; the place the home/work rule
calls work included, since a student's school looks like one) with the category of the place's
true simulator label (:data:`sdk.timeline.place_categories.TRUE_CATEGORY`); true work places are
evaluated as the class ``work`` (never predicted by the classifier, so they count only against
precision). Training users and evaluation users come from different simulator seeds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from momentsense.sdk.timeline.place_categories import (
    CATEGORIES, FEATURE_NAMES, MODEL_CLASSES, FORMAT, TRUE_CATEGORY, PlaceCategoryModel, load_place_category_model, place_features,
    trees_payload, trees_sha256,
)  # fmt: skip
from momentsense.sdk.io.timeline_file import Timeline
from momentsense.trainer.population.phone_view import (
    ModeConfusion, PhoneViewOptions, home_work_labels, user_phone_events, label_user_places,
)  # fmt: skip

MODEL_VERSION = "1.0.0"
EVAL_CLASSES = MODEL_CLASSES


def place_examples(tl: Timeline, confusion: ModeConfusion, options: PhoneViewOptions = PhoneViewOptions()):
    """Feature rows, true categories and user index of every non-home place of every user's phone view."""
    X, y, who, phones = [], [], [], []
    for u, uid in enumerate(tl.users):
        ev = tl.events(u)
        true = {e.place_id: e.label for e in ev if e.kind == "visit"}
        phone = user_phone_events(ev, confusion, options, random.Random(f"{options.seed}:{uid}"))
        phones.append(phone)
        hw = home_work_labels(phone)
        home = next((p for p, lab in hw.items() if lab == "home"), "")
        for pid, f in place_features(phone, 0.0, home, "").items():
            if pid == home:
                continue
            X.append(f)
            y.append(TRUE_CATEGORY[true[pid]])
            who.append(u)
    return np.array(X, np.float32), np.array(y), np.array(who), phones


def train_forest(X: np.ndarray, y: np.ndarray, n_trees: int = 40, max_leaf_nodes: int = 48, seed: int = 0):
    """Random forest over :data:`MODEL_CLASSES`; trees as ``(feature, threshold, left, right, value)``."""
    from sklearn.ensemble import RandomForestClassifier

    keep = np.isin(y, MODEL_CLASSES)
    rf = RandomForestClassifier(n_estimators=n_trees, max_leaf_nodes=max_leaf_nodes, min_samples_leaf=3,
                                class_weight="balanced", random_state=seed, n_jobs=1)  # fmt: skip
    rf.fit(X[keep], np.array([MODEL_CLASSES.index(c) for c in y[keep]]))
    trees = []
    for est in rf.estimators_:
        t = est.tree_
        value = np.zeros((t.node_count, len(MODEL_CLASSES)))
        value[:, rf.classes_] = t.value[:, 0, :] / np.maximum(t.value[:, 0, :].sum(axis=1, keepdims=True), 1e-12)
        feat = np.where(t.children_left < 0, -1, t.feature)
        trees.append((feat, t.threshold, t.children_left, t.children_right, value))
    return trees


def per_class_report(y_true: list, y_pred: list) -> dict:
    """Precision, recall, F1 per class, macro-F1 over :data:`CATEGORIES`, confusion (rows true)."""
    cm = np.zeros((len(EVAL_CLASSES), len(EVAL_CLASSES)), np.int64)
    for a, b in zip(y_true, y_pred):
        cm[EVAL_CLASSES.index(a), EVAL_CLASSES.index(b)] += 1
    per = {}
    for k, c in enumerate(EVAL_CLASSES):
        tp = cm[k, k]
        p = tp / cm[:, k].sum() if cm[:, k].sum() else 0.0
        r = tp / cm[k].sum() if cm[k].sum() else 0.0
        per[c] = {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0,
                  "support": int(cm[k].sum())}  # fmt: skip
    return {"macro_f1": float(np.mean([per[c]["f1"] for c in CATEGORIES])), "per_class": per,
            "confusion": {"labels": list(EVAL_CLASSES), "rows_true": cm.tolist()}}  # fmt: skip


def evaluate_places(tl: Timeline, model: PlaceCategoryModel, confusion: ModeConfusion,
                    options: PhoneViewOptions = PhoneViewOptions()) -> dict:  # fmt: skip
    """Held-out report: every non-home place of each user's phone view, labelled as the device labels it."""
    inv = {"restaurant": "eating_out", "park": "leisure"}
    y_true, y_pred, n_home_wrong = [], [], 0
    for u, uid in enumerate(tl.users):
        ev = tl.events(u)
        true = {e.place_id: TRUE_CATEGORY[e.label] for e in ev if e.kind == "visit"}
        phone = user_phone_events(ev, confusion, options, random.Random(f"{options.seed}:{uid}"))
        for pid, lab in label_user_places(phone, model).items():
            if lab == "home":
                n_home_wrong += true[pid] != "home"
                continue
            if true[pid] == "home":
                continue
            y_true.append(true[pid])
            y_pred.append(inv.get(lab, lab))
    rep = per_class_report(y_true, y_pred)
    rep.update({"n_users": len(tl.users), "n_places": len(y_true), "home_wrong": int(n_home_wrong)})
    return rep


def write_model(trees: list, path: str | Path, metrics: dict, source: str) -> Path:
    """Write the model file (trees, their sha256, version, metrics) and check it loads."""
    payload = trees_payload(trees)
    doc = {"format": FORMAT, "name": "place_categories", "version": MODEL_VERSION, "classes": list(MODEL_CLASSES),
           "feature_names": list(FEATURE_NAMES), "sha256": trees_sha256(payload), "source": source,
           "metrics": metrics, "trees": payload}  # fmt: skip
    p = Path(path)
    p.write_text(json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n")
    load_place_category_model(p)
    return p
