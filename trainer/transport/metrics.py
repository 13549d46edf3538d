"""Evaluation of transport-mode predictions: per-window scores and what a user would see over time.

* :func:`classification_metrics`: accuracy, macro-F1, per-class scores and the confusion matrix
  of per-window predictions, as a JSON-able dict.
* :func:`switches_per_hour` and :func:`segment_accuracy`: on continuous recordings, how often the
  reported mode changes and what fraction of the time it is right.
* :func:`plot_confusion`: the confusion matrix as a PNG (matplotlib, imported only here).
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence, Union

import numpy as np

from momentsense.sdk.errors import InputError

Sequences = Union[np.ndarray, Sequence[np.ndarray]]


def _labels(a, name: str, n_classes: int, allow_unknown: bool = False) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise InputError(f"{name} must be 1-D, got shape {arr.shape}")
    if len(arr) and not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    low = -1 if allow_unknown else 0
    if len(arr) and (arr.min() < low or arr.max() >= n_classes):
        raise InputError(f"{name} must be in [{low}, {n_classes - 1}], got range [{arr.min()}, {arr.max()}]")
    return arr


def _ratio(num: float, den: float) -> Optional[float]:
    return float(num / den) if den > 0 else None


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]) -> dict:
    """Per-window classification scores.

    Parameters
    ----------
    y_true, y_pred : ndarray int ``(N,)``
        True and predicted class indices in ``[0, len(label_names))``. Drop unknown-labelled
        windows (``-1``) before calling.
    label_names : sequence of str
        Class names, index order.

    Returns
    -------
    metrics : dict (JSON-able)
        ``accuracy`` (float), ``macro_f1`` (float), ``macro_f1_all`` (float), ``n_windows`` (int),
        ``per_class`` ({name: {"precision", "recall", "f1", "support"}}),
        ``confusion_matrix`` (list of lists of int, ``[true][pred]``), ``label_names`` (list),
        ``absent_classes`` (names with support 0 in `y_true`).

    Notes
    -----
    A class absent from `y_true` has recall ``None`` and is left out of ``macro_f1`` (the mean of
    F1 over the classes present), since there is nothing to recall; windows wrongly predicted as it
    still count: they lower the recall of their true classes, and its precision is 0 (``None`` when
    it is never predicted either). ``macro_f1_all`` averages F1 over every class that is present
    *or predicted*: a class absent from the data but predicted scores 0 there, so a still window
    read as a car costs car's F1 too (only classes neither present nor predicted are left out). Precision of a class never predicted is ``None``; F1 is 0 when
    the class has support or predictions but no true positive. With ``N = 0``, accuracy and
    macro-F1 are ``None``.

    Examples
    --------
    >>> m = classification_metrics(np.array([0, 0, 1]), np.array([0, 1, 1]), ["walk", "bus"])
    >>> m["accuracy"], m["confusion_matrix"]
    (0.6666666666666666, [[1, 1], [0, 1]])
    """
    names = [str(n) for n in label_names]
    n = len(names)
    if n < 1:
        raise InputError("label_names must name at least one class")
    yt = _labels(y_true, "y_true", n)
    yp = _labels(y_pred, "y_pred", n)
    if len(yt) != len(yp):
        raise InputError(f"y_true and y_pred must have the same length, got {len(yt)} and {len(yp)}")
    cm = np.bincount(yt * n + yp, minlength=n * n).reshape(n, n)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    per_class, f1_present, f1_all = {}, [], []
    for c, name in enumerate(names):
        precision = _ratio(tp[c], predicted[c])
        recall = _ratio(tp[c], support[c])
        if support[c] == 0 and predicted[c] == 0:
            f1 = None
        elif tp[c] == 0:
            f1 = 0.0
        else:
            f1 = 2 * precision * recall / (precision + recall)
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(support[c])}
        if support[c] > 0:
            f1_present.append(f1)
        if f1 is not None:
            f1_all.append(f1)
    return {
        "accuracy": _ratio(tp.sum(), len(yt)),
        "macro_f1": float(np.mean(f1_present)) if f1_present else None,
        "macro_f1_all": float(np.mean(f1_all)) if f1_all else None,
        "n_windows": int(len(yt)),
        "per_class": per_class,
        "confusion_matrix": cm.astype(int).tolist(),
        "label_names": names,
        "absent_classes": [name for c, name in enumerate(names) if support[c] == 0],
    }


def _as_sequences(seqs: Sequences, name: str) -> list[np.ndarray]:
    if isinstance(seqs, np.ndarray) and seqs.ndim == 1:
        return [seqs]
    out = []
    for i, s in enumerate(seqs):
        s = np.asarray(s)
        if s.ndim != 1:
            raise InputError(f"{name}[{i}] must be 1-D (one recording), got shape {s.shape}")
        if len(s) and not np.issubdtype(s.dtype, np.integer):
            raise InputError(f"{name}[{i}] must hold integer class indices, got dtype {s.dtype}")
        out.append(s.astype(np.int64))
    return out


def _hops(hop_s: Union[float, Sequence[float]], n_seq: int) -> np.ndarray:
    hops = np.asarray(hop_s, np.float64)
    if hops.ndim == 0:
        hops = np.full(n_seq, float(hops))
    if hops.shape != (n_seq,):
        raise InputError(f"hop_s must be one number or one per recording ({n_seq}), got shape {hops.shape}")
    if not np.all(np.isfinite(hops) & (hops > 0)):
        raise InputError(f"hop_s must be > 0 seconds, got {hop_s!r}")
    return hops


def switches_per_hour(pred_sequences: Sequences, hop_s: Union[float, Sequence[float]]) -> float:
    """How often the reported mode changes, per hour of recording.

    Parameters
    ----------
    pred_sequences : ndarray int ``(T,)`` or list of them
        Reported class per window, one sequence per continuous recording, windows `hop_s` apart.
    hop_s : float or sequence of float
        Window hop in seconds, one for all or one per recording.

    Returns
    -------
    rate : float
        Changes between consecutive windows of the same recording (never across recordings), per
        hour, where each window accounts for `hop_s` seconds. ``nan`` with no windows.

    Examples
    --------
    >>> switches_per_hour(np.array([0, 0, 1, 1, 0, 0]), hop_s=600.0)  # 2 changes in 1 hour
    2.0
    """
    seqs = _as_sequences(pred_sequences, "pred_sequences")
    hops = _hops(hop_s, len(seqs))
    n_switch = sum(int(np.count_nonzero(np.diff(s))) for s in seqs)
    hours = float(sum(len(s) * h for s, h in zip(seqs, hops))) / 3600.0
    return n_switch / hours if hours > 0 else math.nan


def segment_accuracy(
    true_sequences: Sequences,
    pred_sequences: Sequences,
    hop_s: Union[float, Sequence[float]],
) -> float:
    """Fraction of the labelled time during which the reported mode is right.

    Parameters
    ----------
    true_sequences, pred_sequences : ndarray int ``(T,)`` or lists of them
        True and reported class per window, one pair of equal-length sequences per continuous
        recording (e.g. after HMM smoothing); true ``-1`` marks unknown time, which is left out.
    hop_s : float or sequence of float
        Window hop in seconds: each window stands for `hop_s` seconds of its recording.

    Returns
    -------
    accuracy : float
        Correct seconds / labelled seconds over all recordings (a long recording weighs more);
        ``nan`` with no labelled time.
    """
    ts = _as_sequences(true_sequences, "true_sequences")
    ps = _as_sequences(pred_sequences, "pred_sequences")
    if len(ts) != len(ps):
        raise InputError(f"got {len(ts)} true sequences and {len(ps)} predicted ones")
    hops = _hops(hop_s, len(ts))
    right = total = 0.0
    for i, (t, p, h) in enumerate(zip(ts, ps, hops)):
        if len(t) != len(p):
            raise InputError(f"recording {i}: true has {len(t)} windows, predicted {len(p)}")
        known = t >= 0
        right += h * np.count_nonzero(known & (t == p))
        total += h * np.count_nonzero(known)
    return right / total if total > 0 else math.nan


def plot_confusion(metrics: dict, path: Union[str, os.PathLike], normalize: bool = True, title: str = "") -> str:
    """Draw ``metrics["confusion_matrix"]`` to a PNG file.

    Parameters
    ----------
    metrics : dict
        From :func:`classification_metrics` (needs ``confusion_matrix`` and ``label_names``).
    path : str or path-like
        Output file (PNG).
    normalize : bool, optional
        Colour by row fraction (recall per true class); cells are annotated with the counts.
    title : str, optional

    Returns
    -------
    path : str
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: not needed by the rest
    from matplotlib.figure import Figure

    try:
        cm = np.asarray(metrics["confusion_matrix"], np.float64)
        names = list(metrics["label_names"])
    except KeyError as exc:
        raise InputError(f"metrics lacks {exc}; pass the dict from classification_metrics") from exc
    if cm.shape != (len(names), len(names)):
        raise InputError(f"confusion_matrix must be {len(names)}×{len(names)}, got {cm.shape}")
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0) if normalize else cm
    size = 1.5 + 0.6 * len(names)
    fig = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(cm.max(), 1))
    fig.colorbar(im, ax=ax, label="fraction of true class" if normalize else "windows")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title:
        ax.set_title(title)
    for i in range(len(names)):
        for j in range(len(names)):
            colour = "white" if shown[i, j] > 0.5 * shown.max() else "black"
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8, color=colour)
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png", dpi=120)
    return os.fspath(path)
