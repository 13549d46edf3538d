"""Few-label segment classifiers (scikit-learn logistic regression) and their evaluation.

A classifier per segment is fitted on ``n`` labelled users drawn from a label pool (at least one
positive and one negative per draw) and scored by F1 on users never seen by the encoder or the
classifier. The same draw is used for the embedding and the hand-crafted-feature baseline.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from momentsense.sdk.segments.encoding import l2_normalise


@dataclasses.dataclass(frozen=True)
class LinearHead:
    """A logistic-regression head ``p = sigmoid(((x - mean) / std) · coef + intercept)``; fires at ``p >= 0.5``."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    std: np.ndarray

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, np.float64) - self.mean) / self.std) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"coef": self.coef.tolist(), "intercept": float(self.intercept), "mean": self.mean.tolist(), "std": self.std.tolist()}


def fit_head(x: np.ndarray, y: np.ndarray, standardise: bool, c: float = 1.0) -> LinearHead:
    """Fit one balanced logistic regression (standardised inputs when ``standardise``).

    With one class only (a tiny label pool), the head is the constant answer of that class.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, np.float64)
    y = np.asarray(y, bool)
    mean = x.mean(axis=0) if standardise else np.zeros(x.shape[1])
    std = np.maximum(x.std(axis=0), 1e-6) if standardise else np.ones(x.shape[1])
    if y.all() or not y.any():
        return LinearHead(np.zeros(x.shape[1]), 10.0 if y.all() else -10.0, mean, std)
    clf = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    clf.fit((x - mean) / std, y.astype(int))
    return LinearHead(clf.coef_[0].astype(np.float64), float(clf.intercept_[0]), mean, std)


def f1(pred: np.ndarray, y: np.ndarray) -> float:
    """F1 of boolean predictions (0 when there is neither a positive nor a prediction)."""
    tp = float(np.sum(pred & y))
    denom = float(pred.sum() + y.sum())
    return 2 * tp / denom if denom else 0.0


def precision_recall(pred: np.ndarray, y: np.ndarray) -> dict:
    tp = float(np.sum(pred & y))
    return {"precision": float(tp / pred.sum()) if pred.sum() else 0.0, "recall": float(tp / y.sum()) if y.sum() else 0.0,
            "f1": f1(pred, y), "n_pos": int(y.sum()), "n_pred": int(pred.sum())}  # fmt: skip


def draw_labelled(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` pool users with at least one positive and one negative for this segment."""
    idx = rng.choice(len(y), size=min(n, len(y)), replace=False)
    for want in (True, False):
        if not np.any(y[idx] == want) and np.any(y == want):
            idx[rng.integers(len(idx)) if want else 0] = rng.choice(np.flatnonzero(y == want))
    return idx


def few_label_curve(reps: dict, y_pool: dict, y_test: dict, label_counts=(10, 30, 100), repeats: int = 5,
                    seed: int = 0) -> dict:  # fmt: skip
    """F1 on test users per representation, segment and label count (mean over ``repeats`` draws).

    Parameters
    ----------
    reps : dict
        ``name -> (x_pool, x_test, standardise)``.
    y_pool, y_test : dict
        ``segment -> bool array``.

    Returns
    -------
    dict
        ``{rep: {segment: {str(n): mean F1}}}`` plus ``{rep: {"mean": {str(n): ...}}}``.
    """
    out: dict = {name: {} for name in reps}
    for s in y_pool:
        for n in label_counts:
            scores = {name: [] for name in reps}
            for r in range(repeats):
                idx = draw_labelled(y_pool[s], n, np.random.default_rng([seed, n, r, zlib.crc32(s.encode())]))
                for name, (xp, xt, std) in reps.items():
                    head = fit_head(xp[idx], y_pool[s][idx], std)
                    scores[name].append(f1(head.proba(xt) >= 0.5, y_test[s]))
            for name in reps:
                out[name].setdefault(s, {})[str(n)] = float(np.mean(scores[name]))
    for name in reps:
        out[name]["mean"] = {str(n): float(np.mean([out[name][s][str(n)] for s in y_pool])) for n in label_counts}
    return out


def procrustes(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Orthogonal ``W`` minimising ``||new @ W - old||`` (Schönemann 1966): ``W = U Vᵀ`` of ``SVD(newᵀ old)``."""
    u, _, vt = np.linalg.svd(np.asarray(new, np.float64).T @ np.asarray(old, np.float64))
    return u @ vt


def ridge_map(new: np.ndarray, old: np.ndarray, alpha: float = 1e-4) -> np.ndarray:
    """Linear ``W`` minimising ``||new @ W - old||² + alpha · n · ||W||²`` (least squares with ridge)."""
    x, y = np.asarray(new, np.float64), np.asarray(old, np.float64)
    return np.linalg.solve(x.T @ x + alpha * len(x) * np.eye(x.shape[1]), x.T @ y)


def map_embeddings(x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Apply a mapping matrix and re-normalise (identity when ``w`` is None)."""
    return l2_normalise(x if w is None else np.asarray(x, np.float64) @ w)
