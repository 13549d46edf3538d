"""Temporal smoothing of window-level class probabilities with a hidden Markov model.

The window classifier sees 10 s at a time and now and then gets a window wrong; the mode a person
travels in changes rarely. An HMM whose hidden state is the true mode, whose transitions are
learned from labelled sequences and whose emissions are the classifier's scaled likelihoods
turns the noisy per-window posteriors into a steadier sequence.

Two ways to decode, numpy only (this runs on the phone):

* streaming, :func:`forward_init` then :func:`forward_step` once per window: the filtered
  posterior ``p(z_t | x_1..x_t)``, no look-ahead; :func:`forward_filter` is the same on a whole
  array (tested equal);
* offline, :func:`viterbi`: the most likely whole path.

Notes
-----
Hybrid HMM/classifier decoding follows Bourlard & Morgan (1994), *Connectionist Speech
Recognition*: a discriminative posterior ``p(c | x)`` divided by the class prior ``p(c)`` is a
likelihood ``p(x | c)`` up to a factor that is the same for every class, which is all an HMM needs.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError

#: Smallest prior used as a divisor when turning posteriors into scaled likelihoods. A class with
#: prior 0 (never seen in training) would otherwise get an infinite likelihood ratio.
MIN_PRIOR = 1e-3

#: Smallest emission likelihood after flooring and tempering (relative to the largest in the
#: window): keeps every step's total mass > 0 even with ``emission_floor=0`` and one-hot input.
_MIN_EMISSION = 1e-12

_ROW_SUM_TOL = 1e-6


def _frozen_array(a: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.array(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric, got {type(a).__name__}") from exc
    if arr.ndim != ndim:
        raise InputError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite; found NaN or inf")
    if np.any(arr < 0):
        raise InputError(f"{name} must be ≥ 0; smallest value {arr.min():g}")
    arr.setflags(write=False)
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class TransitionModel:
    """HMM over ``C`` transport classes, in the classifier's label order.

    Build it with :func:`fit_transitions`; change the emission settings with
    ``dataclasses.replace(model, emission_floor=..., temperature=...)``.

    Attributes:
        transitions: float64 ``(C, C)``, row-stochastic; ``transitions[i, j]`` is the probability
            that the window after one of class ``i`` is of class ``j`` (one window hop later).
        class_prior: float64 ``(C,)``, sums to 1: the state distribution at the start of a
            recording, and the divisor that turns classifier posteriors into scaled likelihoods
            (it should be the class frequency the classifier was trained with).
        emission_floor: In ``[0, 1)``. Each posterior is mixed with the uniform distribution,
            ``(1 - emission_floor) * p + emission_floor / C``, before anything else, so one window
            can move the log-odds between two classes by at most
            ``log((1 - f + f / C) / (f / C))``: an overconfident wrong window cannot force a switch.
        temperature: ``> 0``. Scaled likelihoods are raised to ``1 / temperature``; above 1 the
            classifier's evidence counts less against the transition model, below 1 more.
    """

    transitions: np.ndarray
    class_prior: np.ndarray
    emission_floor: float = 0.05
    temperature: float = 1.0

    def __post_init__(self) -> None:
        trans = _frozen_array(self.transitions, "transitions", 2)
        prior = _frozen_array(self.class_prior, "class_prior", 1)
        n = len(prior)
        if n < 1:
            raise InputError("class_prior must have at least one class, got shape (0,)")
        if trans.shape != (n, n):
            raise InputError(f"transitions must have shape ({n}, {n}) to match class_prior, got {trans.shape}")
        row_sums = trans.sum(axis=1)
        bad = np.flatnonzero(np.abs(row_sums - 1.0) > _ROW_SUM_TOL)
        if len(bad):
            raise InputError(f"transitions rows must sum to 1; row {bad[0]} sums to {row_sums[bad[0]]:.9g}")
        if abs(prior.sum() - 1.0) > _ROW_SUM_TOL:
            raise InputError(f"class_prior must sum to 1, got {prior.sum():.9g}")
        if not (isinstance(self.emission_floor, numbers.Real) and 0.0 <= self.emission_floor < 1.0):
            raise InputError(f"emission_floor must be in [0, 1), got {self.emission_floor!r}")
        if not (isinstance(self.temperature, numbers.Real) and math.isfinite(self.temperature) and self.temperature > 0):
            raise InputError(f"temperature must be a finite number > 0, got {self.temperature!r}")
        object.__setattr__(self, "transitions", trans)
        object.__setattr__(self, "class_prior", prior)
        object.__setattr__(self, "emission_floor", float(self.emission_floor))
        object.__setattr__(self, "temperature", float(self.temperature))

    @property
    def n_classes(self) -> int:
        """Number of classes ``C``."""
        return int(len(self.class_prior))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TransitionModel):
            return NotImplemented
        return (
            np.array_equal(self.transitions, other.transitions)
            and np.array_equal(self.class_prior, other.class_prior)
            and self.emission_floor == other.emission_floor
            and self.temperature == other.temperature
        )

    __hash__ = object.__hash__

    def to_dict(self) -> dict:
        """Plain JSON-able dict; :meth:`from_dict` rebuilds an equal model."""
        return {
            "transitions": self.transitions.tolist(),
            "class_prior": self.class_prior.tolist(),
            "emission_floor": self.emission_floor,
            "temperature": self.temperature,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TransitionModel":
        """Inverse of :meth:`to_dict`."""
        missing = [k for k in ("transitions", "class_prior") if k not in d]
        if missing:
            raise InputError(f"TransitionModel dict lacks {missing}; keys present: {sorted(d)}")
        return cls(
            transitions=np.asarray(d["transitions"], np.float64),
            class_prior=np.asarray(d["class_prior"], np.float64),
            emission_floor=d.get("emission_floor", 0.05),
            temperature=d.get("temperature", 1.0),
        )


def fit_transitions(
    label_sequences: Sequence[np.ndarray],
    n_classes: int,
    self_prior: float = 0.0,
    smoothing: float = 1.0,
    *,
    emission_floor: float = 0.05,
    temperature: float = 1.0,
) -> TransitionModel:
    """Learn transitions and class priors from per-window label sequences.

    Parameters
    ----------
    label_sequences : list of ndarray int ``(T_i,)``
        One sequence per continuous recording, consecutive windows one hop apart, labels in
        ``[0, n_classes)``; ``-1`` (unknown) breaks the chain: pairs touching it are not counted.
    n_classes : int
        Number of classes ``C``.
    self_prior : float, optional
        Extra pseudo-counts of staying, added to every diagonal count (``≥ 0``, ``math.inf``
        allowed). It is the knob for how sticky the smoother is: 0 uses the data alone; a value
        comparable to a class's number of observed transitions roughly halves its switch
        probability; ``math.inf`` gives the identity matrix (the decoded mode never switches).
    smoothing : float, optional
        Dirichlet pseudo-count added to every cell (``≥ 0``), and to every class count of the prior,
        so transitions never seen in training keep a small probability.
    emission_floor, temperature : float, optional
        Emission settings, see :class:`TransitionModel`.

    Returns
    -------
    model : TransitionModel

    Notes
    -----
    ``transitions[i, j] = (n_ij + smoothing + self_prior * [i == j]) / (n_i + C * smoothing + self_prior)``:
    the posterior mean under a Dirichlet prior. A row with no count and no pseudo-count is uniform.
    The prior is ``(count_c + smoothing) / (N + C * smoothing)`` over labelled windows, uniform when
    there are none.

    Examples
    --------
    >>> m = fit_transitions([np.array([0, 0, 0, 1, 1])], n_classes=2, smoothing=0.0)
    >>> m.transitions.tolist()
    [[0.6666666666666666, 0.3333333333333333], [0.0, 1.0]]
    """
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 1:
        raise InputError(f"n_classes must be an integer ≥ 1, got {n_classes!r}")
    n = int(n_classes)
    for name, v in (("self_prior", self_prior), ("smoothing", smoothing)):
        if not isinstance(v, numbers.Real) or math.isnan(v) or v < 0:
            raise InputError(f"{name} must be ≥ 0, got {v!r}")
    if math.isinf(smoothing):
        raise InputError("smoothing must be finite, got inf")
    if isinstance(label_sequences, np.ndarray) and label_sequences.ndim == 1:
        raise InputError("label_sequences must be a list of 1-D arrays (one per recording), got one 1-D array")
    counts = np.zeros((n, n), np.float64)
    class_counts = np.zeros(n, np.float64)
    for i, seq in enumerate(label_sequences):
        s = np.asarray(seq)
        if s.ndim != 1:
            raise InputError(f"label_sequences[{i}] must be 1-D, got shape {s.shape}")
        if len(s) == 0:
            continue
        if not np.issubdtype(s.dtype, np.integer):
            raise InputError(f"label_sequences[{i}] must hold integers, got dtype {s.dtype}")
        s = s.astype(np.int64)
        if s.max() >= n or s.min() < -1:
            raise InputError(f"label_sequences[{i}] labels must be in [-1, {n - 1}], got range [{s.min()}, {s.max()}]")
        known = s >= 0
        class_counts += np.bincount(s[known], minlength=n)
        a, b = s[:-1], s[1:]
        ok = (a >= 0) & (b >= 0)
        np.add.at(counts, (a[ok], b[ok]), 1.0)

    if math.isinf(self_prior):
        trans = np.eye(n)
    else:
        trans = counts + smoothing + float(self_prior) * np.eye(n)
        totals = trans.sum(axis=1, keepdims=True)
        empty = totals[:, 0] == 0
        trans[empty] = 1.0
        totals[empty] = n
        trans = trans / totals
    prior = class_counts + smoothing
    prior = prior / prior.sum() if prior.sum() > 0 else np.full(n, 1.0 / n)
    return TransitionModel(trans, prior, emission_floor=emission_floor, temperature=temperature)


def _check_probs(probs: Any, n_classes: int, ndim: int) -> np.ndarray:
    """Validate classifier posteriors; rows are renormalised to sum to 1."""
    try:
        p = np.asarray(probs, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"probs must be numeric, got {type(probs).__name__}") from exc
    expected = f"({n_classes},)" if ndim == 1 else f"(T, {n_classes})"
    if p.ndim != ndim or p.shape[-1] != n_classes:
        raise InputError(f"probs must have shape {expected} for a {n_classes}-class model, got {p.shape}")
    if not np.all(np.isfinite(p)):
        where = np.argwhere(~np.isfinite(p))[0].tolist()
        raise InputError(f"probs must be finite; NaN or inf at index {where}")
    if np.any(p < 0):
        where = np.argwhere(p < 0)[0].tolist()
        raise InputError(f"probs must be ≥ 0; {p[tuple(where)]:g} at index {where}")
    sums = p.sum(axis=-1, keepdims=True)
    if np.any(sums <= 0):
        where = int(np.flatnonzero(sums.reshape(-1) <= 0)[0])
        raise InputError(f"probs rows must have a positive sum; row {where} is all zeros")
    return p / sums


def scaled_likelihoods(probs: np.ndarray, model: TransitionModel) -> np.ndarray:
    """Emission likelihoods from classifier posteriors, up to a per-window factor.

    Parameters
    ----------
    probs : ndarray ``(T, C)`` or ``(C,)``
        Classifier posteriors ``p(c | x)``, ≥ 0, finite; rows are renormalised.
    model : TransitionModel

    Returns
    -------
    likelihoods : ndarray float64, same shape as `probs`
        ``((floored p) / max(prior, MIN_PRIOR)) ** (1 / temperature)``, each row divided by its
        maximum and clipped below at 1e-12 (so every class stays possible).
    """
    ndim = 1 if np.ndim(probs) == 1 else 2
    p = _check_probs(probs, model.n_classes, ndim)
    return _emissions(p, model)


def _emissions(p: np.ndarray, model: TransitionModel) -> np.ndarray:
    n = model.n_classes
    f = model.emission_floor
    p = (1.0 - f) * p + f / n
    e = p / np.maximum(model.class_prior, MIN_PRIOR)
    if model.temperature != 1.0:
        e = e ** (1.0 / model.temperature)
    e = e / e.max(axis=-1, keepdims=True)
    return np.maximum(e, _MIN_EMISSION)


@dataclasses.dataclass(frozen=True, eq=False)
class ForwardState:
    """State of the streaming forward filter. Create with :func:`forward_init`.

    Attributes:
        posterior: float64 ``(C,)`` filtered posterior after the last window (the class prior
            before the first).
        n_windows: Windows seen since the start or the last reset; 0 means the next window is
            predicted from the class prior.
    """

    posterior: np.ndarray
    n_windows: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ForwardState):
            return NotImplemented
        return self.n_windows == other.n_windows and np.array_equal(self.posterior, other.posterior)

    __hash__ = object.__hash__

    def to_dict(self) -> dict:
        """Plain JSON-able dict; :meth:`from_dict` rebuilds an equal state."""
        return {"posterior": self.posterior.tolist(), "n_windows": int(self.n_windows)}

    @classmethod
    def from_dict(cls, d: dict) -> "ForwardState":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(d["posterior"], np.float64), int(d["n_windows"]))


def forward_init(model: TransitionModel) -> ForwardState:
    """Initial filter state: the start of a recording (also the way to reset after a gap)."""
    return ForwardState(model.class_prior.copy(), 0)


def _predict(posterior: np.ndarray, n_windows: int, model: TransitionModel, n_hops: int, reset: bool) -> np.ndarray:
    if reset or n_windows == 0:
        return model.class_prior
    if n_hops == 1:
        return posterior @ model.transitions
    return posterior @ np.linalg.matrix_power(model.transitions, n_hops)


def _update(pred: np.ndarray, e: np.ndarray) -> np.ndarray:
    post = pred * e
    total = post.sum()
    # pred sums to 1 and every emission is ≥ 1e-12, so total > 0; guard for a prior with
    # zeros meeting an unreachable class anyway.
    if not total > 0:
        post, total = e.copy(), e.sum()
    return post / total


def forward_step(
    probs: np.ndarray,
    state: ForwardState,
    model: TransitionModel,
    *,
    n_hops: int = 1,
    reset: bool = False,
) -> tuple[np.ndarray, ForwardState]:
    """Filter one window: ``p(z_t | x_1..x_t)`` from the classifier's posterior for window ``t``.

    Parameters
    ----------
    probs : ndarray ``(C,)``
        Classifier posterior for this window (≥ 0, finite; renormalised).
    state : ForwardState
        From :func:`forward_init` or the previous call. Not modified.
    model : TransitionModel
    n_hops : int, optional
        Window hops since the previous window (``> 1`` when windows were dropped): the
        transition matrix is applied that many times.
    reset : bool, optional
        This window starts a new recording or follows a long gap: predict from the class prior,
        as after :func:`forward_init`.

    Returns
    -------
    posterior : ndarray float64 ``(C,)``
        Sums to 1.
    state : ForwardState
        Pass it to the next call.
    """
    if not isinstance(state, ForwardState):
        raise InputError(f"state must be a ForwardState from forward_init, got {type(state).__name__}")
    if state.posterior.shape != (model.n_classes,):
        raise InputError(f"state is for {state.posterior.shape[0]} classes, the model has {model.n_classes}")
    if not isinstance(n_hops, (int, np.integer)) or n_hops < 1:
        raise InputError(f"n_hops must be an integer ≥ 1, got {n_hops!r}")
    e = _emissions(_check_probs(probs, model.n_classes, 1), model)
    post = _update(_predict(state.posterior, state.n_windows, model, int(n_hops), reset), e)
    n_windows = 1 if reset else state.n_windows + 1
    return post, ForwardState(post, n_windows)


def _check_reset(reset: Optional[np.ndarray], n_windows: int) -> np.ndarray:
    if reset is None:
        out = np.zeros(n_windows, bool)
    else:
        out = np.asarray(reset)
        if out.shape != (n_windows,) or out.dtype != bool:
            raise InputError(f"reset must be a bool array of shape ({n_windows},), got {out.dtype} {out.shape}")
    return out


def forward_filter(probs: np.ndarray, model: TransitionModel, reset: Optional[np.ndarray] = None) -> np.ndarray:
    """Filtered posteriors for a whole sequence: :func:`forward_step` from :func:`forward_init`, window by window.

    Parameters
    ----------
    probs : ndarray ``(T, C)``
        Classifier posteriors, one row per window, windows one hop apart.
    model : TransitionModel
    reset : ndarray bool ``(T,)``, optional
        True where a window starts a new recording (e.g. ``np.r_[True, rec[1:] != rec[:-1]]``
        for several recordings concatenated). The first window always starts from the prior.

    Returns
    -------
    posteriors : ndarray float64 ``(T, C)``
        Row ``t`` uses windows up to ``t`` only (no look-ahead); rows sum to 1.
    """
    p = _check_probs(probs, model.n_classes, 2)
    rst = _check_reset(reset, len(p))
    e = _emissions(p, model)
    out = np.empty_like(e)
    post, n_seen = model.class_prior, 0
    for t in range(len(e)):
        post = _update(_predict(post, n_seen, model, 1, bool(rst[t])), e[t])
        n_seen = 1 if rst[t] else n_seen + 1
        out[t] = post
    return out


def viterbi(probs: np.ndarray, model: TransitionModel, reset: Optional[np.ndarray] = None) -> np.ndarray:
    """Most likely class path given the whole sequence (offline decoding).

    Parameters
    ----------
    probs : ndarray ``(T, C)``
        Classifier posteriors, one row per window, windows one hop apart.
    model : TransitionModel
    reset : ndarray bool ``(T,)``, optional
        True where a window starts a new recording; each recording is decoded on its own.

    Returns
    -------
    path : ndarray int64 ``(T,)``
        Class index per window. Ties go to the lower class index.

    Notes
    -----
    Log-space Viterbi (Rabiner 1989), so long recordings do not underflow. Forbidden transitions
    (probability 0) have log-probability ``-inf`` and are never taken.
    """
    p = _check_probs(probs, model.n_classes, 2)
    rst = _check_reset(reset, len(p))
    path = np.zeros(len(p), np.int64)
    if len(p) == 0:
        return path
    log_e = np.log(_emissions(p, model))
    with np.errstate(divide="ignore"):
        log_t = np.log(model.transitions)
        log_prior = np.log(model.class_prior)
    starts = np.flatnonzero(rst)
    bounds = np.unique(np.concatenate([[0], starts, [len(p)]]))
    n = model.n_classes
    for s, e_ in zip(bounds[:-1], bounds[1:]):
        length = e_ - s
        back = np.zeros((length, n), np.int64)
        delta = log_prior + log_e[s]
        for t in range(1, length):
            scores = delta[:, None] + log_t  # (from, to)
            back[t] = np.argmax(scores, axis=0)
            delta = scores[back[t], np.arange(n)] + log_e[s + t]
        k = int(np.argmax(delta))
        for t in range(length - 1, -1, -1):
            path[s + t] = k
            k = int(back[t, k])
    return path
