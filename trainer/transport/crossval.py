"""Subject-wise k-fold cross-validation of the transport CNN (and the baselines) on one dataset.

A single subject-wise split of a small dataset is a noisy estimate: on WISDM (21 subjects, 5 held
out) the CNN scored 0.77 to 0.85 with the training seed, which also draws the split. Cross-validation
holds out every subject exactly once, trains one model per fold with the same recipe
(:func:`trainer.transport.workflow.run_train`) and reports the mean, the standard deviation and
every fold, for the CNN and the baselines on identical folds.

``momentsense train transport --data FILE.h5 --out DIR --folds 5 [--baselines]`` writes
``DIR/fold<i>/`` (each fold's model and metrics) and ``DIR/cv.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset


def dataset_subjects(ds: ImuDataset) -> list[str]:
    """Every subject of a dataset (recordings and pre-cut windows), sorted."""
    subjects = {str(r.subject) for r in ds.recordings}
    if ds.windows is not None:
        subjects |= {str(s) for s in np.asarray(ds.windows.subject).tolist()}
    return sorted(subjects)


def subject_folds(subjects: Sequence[str], k: int, seed: int = 0) -> list[list[str]]:
    """Partition subjects into ``k`` folds of near-equal size, shuffled with ``seed``.

    Raises
    ------
    InputError
        ``k`` < 2, or fewer than ``k + 1`` subjects (each fold must leave subjects to train on).
    """
    uniq = sorted(set(str(s) for s in subjects))
    if k < 2:
        raise InputError(f"cross-validation needs at least 2 folds, got {k}")
    if len(uniq) < k + 1:
        raise InputError(f"{k} folds need at least {k + 1} subjects, the data has {len(uniq)}")
    order = np.random.default_rng(seed).permutation(len(uniq))
    return [sorted(uniq[i] for i in part) for part in np.array_split(order, k)]


def run_cross_validation(
    data: Sequence[str], out_dir: str, folds: int = 5, options=None, baselines: bool = False, progress: bool = True,
    candidates: Optional[dict] = None, inner_folds: int = 3, train_also: Sequence[str] = (),
) -> dict:
    """Train and evaluate one model per subject fold; write ``out_dir/cv.json`` and return it.

    Parameters
    ----------
    data : sequence of str
        ``momentsense-imu-v1`` files (one dataset; no separate test file: every subject is tested once).
    out_dir : str
        Output folder; fold ``i`` goes to ``out_dir/fold<i>``.
    folds : int
        Number of folds (≥ 2).
    options : TrainOptions, optional
        The training recipe, identical for every fold (its ``seed`` also shuffles the folds).
    baselines : bool
        Also train the feature + forest / boosting baselines on each fold.
    candidates : dict of name -> TrainOptions, optional
        Nested selection: in each outer fold, every candidate recipe is scored by ``inner_folds``-fold
        cross-validation on that fold's *training* subjects only (the outer test subjects are left out
        altogether), and the best mean macro-F1 is trained and tested on the outer fold. The
        reported figures then estimate the recipe *including* the choice, without looking at test
        subjects.
    inner_folds : int
        Folds of the inner selection (≥ 2).
    train_also : sequence of str
        Further files (same ``label_names``, e.g. simulated subjects) added to the training set of
        every fold; their subjects are never tested, so the folds (and every figure) are those of
        ``data`` alone.

    Returns
    -------
    dict
        ``folds`` (per fold: test subjects and each model's macro-F1 and accuracy), and per model
        ``mean_macro_f1``, ``std_macro_f1``, ``mean_accuracy``, plus ``pooled`` macro-F1 over all
        held-out windows of every fold.
    """
    from momentsense.trainer.transport.train import TrainOptions
    from momentsense.trainer.transport.workflow import load_datasets, run_train

    opts = options or TrainOptions()
    ds = load_datasets(list(data))
    subjects = dataset_subjects(ds)
    if train_also:
        extra = load_datasets(list(train_also))
        if list(extra.label_names) != list(ds.label_names):
            raise InputError(f"--train-also label_names {extra.label_names} differ from the data's {ds.label_names}")
        clash = sorted(set(dataset_subjects(extra)) & set(subjects))
        if clash:
            raise InputError(f"--train-also shares subjects {clash[:5]} with the cross-validated data")
        ds = ImuDataset(list(ds.label_names), f"{ds.source} + {extra.source}", ds.recordings + extra.recordings, ds.windows)
    parts = subject_folds(subjects, folds, opts.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows, pooled_cm = [], 0
    for i, test_subjects in enumerate(_progress(parts, progress)):
        chosen, inner = None, {}
        if candidates:
            rest = [s for s in subjects if s not in test_subjects]
            inner_parts = subject_folds(rest, inner_folds, opts.seed + 1 + i)
            for name, cand in candidates.items():
                f1s = []
                for j, inner_test in enumerate(inner_parts):
                    o = dataclasses.replace(cand, test_subjects=tuple(inner_test), exclude_subjects=tuple(test_subjects), context=False)
                    run_dir = str(out / f"fold{i}" / "inner" / f"{_slug(name)}_{j}")
                    f1s.append(run_train(list(data), run_dir, None, o, progress=False, dataset=ds)["macro_f1"])
                inner[name] = float(np.mean(f1s))
            chosen = max(inner, key=inner.get)
        base_opts = candidates[chosen] if chosen else opts
        fold_opts = dataclasses.replace(base_opts, test_subjects=tuple(test_subjects))
        m = run_train(list(data), str(out / f"fold{i}"), None, fold_opts, baselines=baselines, progress=False, dataset=ds)
        row = {"fold": i, "test_subjects": test_subjects, "models": {}}
        if chosen:
            row["chosen"], row["inner_macro_f1"] = chosen, inner
        for r in m["compare"]:
            row["models"][r["model"]] = {"macro_f1": r["macro_f1"], "accuracy": r["window_accuracy"]}
        rows.append(row)
        pooled_cm = pooled_cm + np.asarray(m["confusion_matrix"], np.int64)
    label_names = m["label_names"]
    summary: dict = {"folds": rows, "n_folds": folds, "label_names": label_names, "data": list(data), "train_also": list(train_also),
                     "options": m["options"], "wall_seconds": time.perf_counter() - t0, "models": {}}  # fmt: skip
    if candidates:
        summary["nested_selection"] = {"candidates": sorted(candidates), "inner_folds": inner_folds,
                                       "chosen_per_fold": [r["chosen"] for r in rows]}  # fmt: skip
    for name in rows[0]["models"]:
        f1s = np.array([r["models"][name]["macro_f1"] for r in rows])
        accs = np.array([r["models"][name]["accuracy"] for r in rows])
        summary["models"][name] = {"mean_macro_f1": float(f1s.mean()), "std_macro_f1": float(f1s.std(ddof=1)),
                                   "min_macro_f1": float(f1s.min()), "max_macro_f1": float(f1s.max()),
                                   "mean_accuracy": float(accs.mean())}  # fmt: skip
    p = pooled_metrics(pooled_cm, label_names)
    summary["models"]["cnn"]["pooled"] = {k: p[k] for k in ("accuracy", "macro_f1", "per_class", "confusion_matrix")}
    (out / "cv.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def pooled_metrics(cm: np.ndarray, label_names: Sequence[str]) -> dict:
    """:func:`~trainer.transport.metrics.classification_metrics` of a summed confusion matrix
    (rows = truth, columns = prediction): every fold's held-out windows scored as one set."""
    from momentsense.trainer.transport.metrics import classification_metrics

    cm = np.asarray(cm, np.int64)
    n = len(label_names)
    y_true = np.repeat(np.repeat(np.arange(n), n), cm.ravel())
    y_pred = np.repeat(np.tile(np.arange(n), n), cm.ravel())
    return classification_metrics(y_true, y_pred, label_names)


def format_cv(summary: dict) -> str:
    """A table: model, mean ± sd macro-F1, range, mean accuracy over the folds."""
    head = f"{'model':<20}{'macro-F1 mean ± sd':>20}{'min':>8}{'max':>8}{'accuracy':>10}"
    lines = [f"{summary['n_folds']}-fold cross-validation by subject", head, "-" * len(head)]
    if "nested_selection" in summary:
        lines[0] += f" (recipe chosen per fold by inner CV: {', '.join(summary['nested_selection']['chosen_per_fold'])})"
    for name, s in summary["models"].items():
        lines.append(f"{name:<20}{s['mean_macro_f1']:>12.3f} ± {s['std_macro_f1']:.3f}{s['min_macro_f1']:>8.3f}"
                     f"{s['max_macro_f1']:>8.3f}{s['mean_accuracy']:>10.3f}")  # fmt: skip
    return "\n".join(lines)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _progress(items: list, on: bool) -> list | object:
    if not on:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is in the train extra
        return items
    return tqdm(items, desc="folds", unit="fold")
