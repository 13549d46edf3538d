"""Evaluation of transport classifiers on held-out windows, raw and after HMM smoothing.

Window metrics are measured on *clean* windows (no mode change inside, purity ≥ 0.8); smoothing and
segment metrics on the continuous stream of every labelled window of each held-out recording, in
time order, with the HMM's self-transition prior tuned on validation subjects, never on test.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np

from momentsense.sdk.transport.hmm import TransitionModel, fit_transitions, forward_filter, viterbi
from momentsense.trainer.transport.data import WindowData
from momentsense.trainer.transport.metrics import classification_metrics, segment_accuracy, switches_per_hour

#: Self-transition priors tried on validation data.
SELF_PRIOR_GRID = (0.0, 10.0, 100.0, 1000.0, 10000.0)


def ordered(data: WindowData) -> tuple[np.ndarray, np.ndarray]:
    """Time order of the windows within each recording, and where a new continuous run starts.

    Returns
    -------
    order : ndarray int64 ``(W,)``
        Permutation putting windows in (recording, time) order.
    reset : ndarray bool ``(W,)``
        True at the first window of each recording and after any dropped window (a jump larger than
        one hop is treated as a new run).
    """
    order = np.lexsort((data.k_start, data.recording))
    rec, k = data.recording[order], data.k_start[order]
    dk = np.diff(k)
    hop = np.median(dk[(dk > 0) & (np.diff(rec) == 0)]) if len(k) > 1 and np.any((dk > 0) & (np.diff(rec) == 0)) else 1
    reset = np.r_[True, (np.diff(rec) != 0) | (dk > hop)] if len(k) else np.zeros(0, bool)
    return order, reset


def _split_runs(x: np.ndarray, reset: np.ndarray) -> list[np.ndarray]:
    starts = np.flatnonzero(reset)
    return [x[a:b] for a, b in zip(starts, list(starts[1:]) + [len(x)])]


def smoothing_report(
    probs: np.ndarray, data: WindowData, model: TransitionModel, hop_s: float, label_names: Sequence[str]
) -> dict:
    """Window, forward-filtered (streaming) and Viterbi (offline) results on continuous recordings."""
    order, reset = ordered(data)
    p, y = probs[order], data.y[order]
    raw = p.argmax(1)
    fwd = forward_filter(p, model, reset).argmax(1)
    vit = viterbi(p, model, reset)
    truth = _split_runs(y, reset)
    out = {"hours": float(len(y) * hop_s / 3600.0), "true_switches_per_hour": switches_per_hour(truth, hop_s)}
    for name, pred in (("raw", raw), ("forward", fwd), ("viterbi", vit)):
        runs = _split_runs(pred, reset)
        m = classification_metrics(y, pred, label_names)
        out[name] = {
            "segment_accuracy": segment_accuracy(truth, runs, hop_s),
            "macro_f1": m["macro_f1"],
            "switches_per_hour": switches_per_hour(runs, hop_s),
        }
    return out


def tune_hmm(
    probs_val: np.ndarray,
    val: WindowData,
    train_sequences: list,
    n_classes: int,
    hop_s: float,
    label_names: Sequence[str],
    grid: Sequence[float] = SELF_PRIOR_GRID,
) -> tuple[TransitionModel, dict]:
    """Fit transitions on training label sequences; pick the self prior that smooths validation best.

    The criterion is segment accuracy of the forward filter (what the phone runs) on validation
    recordings; ties go to the smaller prior.
    """
    scores = {}
    best, best_score = None, -math.inf
    for prior in grid:
        model = fit_transitions(train_sequences, n_classes, self_prior=prior)
        rep = smoothing_report(probs_val, val, model, hop_s, label_names)
        score = rep["forward"]["segment_accuracy"]
        scores[str(prior)] = score
        if score > best_score + 1e-9:
            best, best_score = model, score
    return best, {"self_prior_scores": scores, "self_prior": float(max(scores, key=lambda k: (scores[k], -float(k))))}


def evaluate_classifier(
    predict: Callable[[np.ndarray], np.ndarray],
    test: WindowData,
    label_names: Sequence[str],
    hmm: Optional[TransitionModel],
    hop_s: float,
    min_purity: float = 0.8,
) -> dict:
    """Window metrics on clean test windows plus smoothing results on the continuous test stream.

    Parameters
    ----------
    predict : callable
        Maps raw (un-normalised) windows ``(W, L, C)`` to class probabilities ``(W, n_classes)``.
    """
    probs = predict(test.x)
    clean = test.purity >= min_purity
    metrics = classification_metrics(test.y[clean], probs[clean].argmax(1), label_names)
    metrics["test_windows_clean"] = int(clean.sum())
    metrics["test_windows_all"] = int(len(test))
    if hmm is not None:
        metrics["smoothing"] = smoothing_report(probs, test, hmm, hop_s, label_names)
    return metrics
