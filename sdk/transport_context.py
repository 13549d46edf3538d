"""Minutes of context for transport detection: a small head over the recent windows' outputs.

A 10 s window cannot tell a bus from a car or a subway from a train: what differs is the pattern of
stops over minutes (a subway stops every 1–2 min for 15–45 s, a train every few minutes, a bus
every 25–110 s of driving, a car at random lights). The context head reads, for every window, the
window model's class log-probabilities and the log standard deviation of each input channel (how
much the phone moves: stopped or running), and summarises the last 1, 3 and 6 minutes of these
vectors by their mean and standard deviation. A two-layer perceptron maps that summary to class
probabilities, which then go to the HMM as before.

Written in numpy, in the scipy.signal style: :func:`context_step` takes and returns an explicit
:class:`ContextState`; :func:`context_probs` runs a whole recording through the same step, so
training and the phone compute exactly the same thing. A head with ``lag = 0`` has no look-ahead:
every output depends only on the current and earlier windows of the same stream.

A head with ``lag = L > 0`` (a *lagged* head) also reads the window and the next 1 … ``L`` windows
(mean and std over the next ``s`` windows for each scale ``s < L``, and ``L``): it gives a window's
output ``L`` windows late (3 min at ``L = 36`` and a 5 s hop), which suits the timeline (events are
settled with hindsight) but not "what is the person doing now". :func:`context_step` then returns
the outputs that became due, and :func:`context_flush` the last ``L`` at the end of a stream (their
look-ahead stops at the stream's end, in training as on the phone).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError, ModelError

FORMAT = "momentsense-transport-context-v1"
#: Floor of the class probabilities before the log (an int8 model outputs exact zeros).
PROB_FLOOR = 1e-4
#: Added to a channel's standard deviation before the log, in the channel's unit.
STD_FLOOR = 1e-3


@dataclasses.dataclass(frozen=True)
class ContextHead:
    """The trained head and how its input is built.

    Attributes:
        label_names: Output classes, the window model's order.
        n_channels: Channels of the window model's input (their std is part of the vector).
        scales: Context lengths in windows (× hop: 12 windows = 60 s at a 5 s hop).
        mean, scale: Standardisation of the summary vector, length :attr:`input_dim`.
        weights, biases: Dense layers; ReLU between them, softmax after the last.
        hmm: Optional HMM (:meth:`sdk.transport.hmm.TransitionModel.to_dict`) tuned on this head's outputs.
        metrics: What it scored on held-out data (free-form, for people).
        lag: Look-ahead in windows (0 = none; see the module docstring).
        gps: None, or the :class:`sdk.transport.gps.GpsFeatureConfig` (as a dict) of the GPS numbers
            appended to each window's vector (:func:`window_vector` ``gps=``): a head that reads GPS.
    """

    label_names: tuple[str, ...]
    n_channels: int
    scales: tuple[int, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    hmm: Optional[dict] = None
    metrics: Optional[dict] = None
    lag: int = 0
    gps: Optional[dict] = None

    def __post_init__(self) -> None:
        k = len(self.label_names)
        if self.gps is not None:
            from momentsense.sdk.transport.gps import GpsFeatureConfig

            try:
                GpsFeatureConfig.from_dict(self.gps)
            except (InputError, TypeError, ValueError) as e:
                raise ModelError(f"context head has a malformed GPS feature config: {e}") from e
        if k < 2 or self.n_channels < 1 or not self.scales or min(self.scales) < 1:
            raise ModelError(f"context head needs ≥ 2 labels, ≥ 1 channel and scales ≥ 1, got {k}, {self.n_channels}, {self.scales}")
        if not isinstance(self.lag, int) or self.lag < 0:
            raise ModelError(f"context head lag must be an integer ≥ 0, got {self.lag!r}")
        d_in = self.input_dim
        if self.mean.shape != (d_in,) or self.scale.shape != (d_in,) or not np.all(self.scale > 0):
            raise ModelError(f"context head standardisation must have shape ({d_in},) and scale > 0")
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ModelError("context head needs as many bias vectors as weight matrices, at least one")
        d = d_in
        for w, b in zip(self.weights, self.biases):
            if w.ndim != 2 or w.shape[0] != d or b.shape != (w.shape[1],):
                raise ModelError(f"context head layer shapes do not chain: {w.shape} after width {d}")
            d = w.shape[1]
        if d != k:
            raise ModelError(f"context head outputs {d} classes but has {k} label names")
        for a in (self.mean, self.scale, *self.weights, *self.biases):
            if not np.all(np.isfinite(a)):
                raise ModelError("context head holds non-finite numbers")

    @property
    def vector_dim(self) -> int:
        """Length of one window's vector: class log-probabilities + channel log-stds (+ GPS numbers)."""
        return len(self.label_names) + self.n_channels + (self.n_gps if self.gps is not None else 0)

    @property
    def n_gps(self) -> int:
        """How many GPS numbers a window's vector ends with (0 for a head without GPS)."""
        from momentsense.sdk.transport.gps import GPS_FEATURES

        return len(GPS_FEATURES) if self.gps is not None else 0

    @property
    def gps_config(self):
        """The :class:`sdk.transport.gps.GpsFeatureConfig` of a head with GPS, else None."""
        from momentsense.sdk.transport.gps import GpsFeatureConfig

        return GpsFeatureConfig.from_dict(self.gps) if self.gps is not None else None

    @property
    def future_scales(self) -> tuple[int, ...]:
        """Look-ahead lengths in windows (empty without lag)."""
        return future_scales(self.scales, self.lag)

    @property
    def input_dim(self) -> int:
        return summary_length(self.vector_dim, self.scales, self.lag)

    @property
    def n_params(self) -> int:
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases)) + 2 * self.input_dim)

    def to_dict(self) -> dict:
        """Plain JSON; numbers keep 7 significant digits (float32 precision), which keeps the file small."""
        return {
            "format": FORMAT, "label_names": list(self.label_names), "n_channels": self.n_channels,
            "scales": list(self.scales), "mean": _round(self.mean), "scale": _round(self.scale),
            "weights": [_round(w) for w in self.weights], "biases": [_round(b) for b in self.biases],
            "hmm": self.hmm, "metrics": self.metrics, "lag": self.lag, "gps": self.gps,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> "ContextHead":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise ModelError(f"not a transport context head: format must be {FORMAT!r}")
        try:
            return cls(
                tuple(d["label_names"]), int(d["n_channels"]), tuple(int(s) for s in d["scales"]),
                np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64),
                tuple(np.asarray(w, np.float64) for w in d["weights"]), tuple(np.asarray(b, np.float64) for b in d["biases"]),
                d.get("hmm"), d.get("metrics"), _as_int(d.get("lag", 0)), d.get("gps"),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"malformed transport context head: {e}") from e


def future_scales(scales: Sequence[int], lag: int) -> tuple[int, ...]:
    """The look-ahead lengths of a head with ``scales`` and ``lag``: each scale below the lag, and the lag."""
    return tuple(sorted({int(s) for s in scales if s < lag} | {int(lag)})) if lag > 0 else ()


def summary_length(vector_dim: int, scales: Sequence[int], lag: int = 0) -> int:
    """Length of one summary (:func:`summary`): the window's vector, then a mean and a std per scale and per look-ahead."""
    return vector_dim * (1 + 2 * len(scales) + 2 * len(future_scales(scales, lag)))


def _as_int(v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise ValueError(f"lag must be an integer, got {v!r}")
    return int(v)


def _round(a: np.ndarray) -> list:
    return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[float])(a).tolist()


def save_head(head: ContextHead, path: str | Path) -> Path:
    """Write ``head`` as JSON."""
    path = Path(path)
    path.write_text(json.dumps(head.to_dict()))
    return path


def load_head(path: str | Path) -> ContextHead:
    """Read a head written by :func:`save_head`; a clear :class:`ModelError` if it is not one."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot read the transport context head: {e}") from e
    return ContextHead.from_dict(d)


def window_vectors(probs: np.ndarray, x: np.ndarray, gps: Optional[np.ndarray] = None) -> np.ndarray:
    """Window vectors ``(W, K + C [+ G])``: ``log(max(p, 1e-4))`` per class, then ``log(std + 1e-3)``
    per channel, then the GPS numbers when given (for a head with GPS).

    Parameters
    ----------
    probs : ndarray ``(W, K)``
        The window model's class probabilities.
    x : ndarray ``(W, L, C)``
        The windows' channels before normalisation (m/s², rad/s; see :mod:`sdk.dsp.channels`).
    gps : ndarray ``(W, G)``, optional
        :func:`sdk.transport.gps.gps_features` of the same windows.
    """
    probs, x = np.asarray(probs, np.float64), np.asarray(x, np.float64)
    if probs.ndim != 2 or x.ndim != 3 or len(probs) != len(x):
        raise InputError(f"window_vectors needs probs (W, K) and windows (W, L, C), got {probs.shape} and {x.shape}")
    if not (np.all(np.isfinite(probs)) and np.all(np.isfinite(x))):
        raise InputError("window_vectors needs finite probabilities and samples")
    parts = [np.log(np.maximum(probs, PROB_FLOOR)), np.log(x.std(axis=1) + STD_FLOOR)]
    if gps is not None:
        gps = np.asarray(gps, np.float64)
        if gps.ndim != 2 or len(gps) != len(probs) or not np.all(np.isfinite(gps)):
            raise InputError(f"window_vectors needs finite GPS numbers (W, G) for W = {len(probs)}, got shape {gps.shape}")
        parts.append(gps)
    return np.concatenate(parts, axis=1)


def window_vector(probs: np.ndarray, x: np.ndarray, gps: Optional[np.ndarray] = None) -> np.ndarray:
    """One window's vector (:func:`window_vectors` of a batch of one): probs ``(K,)``, window ``(L, C)``,
    GPS numbers ``(G,)`` for a head with GPS."""
    probs, x = np.asarray(probs), np.asarray(x)
    if probs.ndim != 1 or x.ndim != 2:
        raise InputError(f"window_vector needs probs (K,) and a window (L, C), got {probs.shape} and {x.shape}")
    return window_vectors(probs[None], x[None], None if gps is None else np.asarray(gps)[None])[0]


@dataclasses.dataclass
class ContextState:
    """The last ``max(scales) + lag`` window vectors of the stream (oldest first), how many are real,
    and one flag per newest window still waiting for its output (oldest first; True = a quiet window,
    which needs none; empty between windows for a head without lag)."""

    buffer: np.ndarray
    n: int = 0
    quiet: tuple = ()

    @property
    def pending(self) -> int:
        """How many of the newest windows still wait for their look-ahead."""
        return len(self.quiet)


def context_init(head: ContextHead) -> ContextState:
    """An empty stream."""
    return _empty(max(head.scales) + head.lag, head.vector_dim)


def _empty(size: int, dim: int) -> ContextState:
    return ContextState(np.zeros((size, dim)), 0, ())


def summary(state: ContextState, scales: Sequence[int], ahead_scales: Sequence[int] = (), back: int = 0) -> np.ndarray:
    """Summary of the window ``back`` windows before the newest: its vector, mean and std of it and
    the ``s - 1`` before it for each of ``scales`` (fewer at a stream's start), then mean and std of it
    and the ``s`` after it for each of ``ahead_scales`` (fewer at the newest end)."""
    buf = state.buffer
    m = buf.shape[0]
    j = m - 1 - back
    first = m - state.n
    out = [buf[j]]
    for s in scales:
        recent = buf[max(j - s + 1, first):j + 1]
        out += [recent.mean(axis=0), recent.std(axis=0)]
    for s in ahead_scales:
        nxt = buf[j:j + s + 1]
        out += [nxt.mean(axis=0), nxt.std(axis=0)]
    return np.concatenate(out)


def head_probs(head: ContextHead, z: np.ndarray) -> np.ndarray:
    """The perceptron on summary vectors ``z`` ``(..., input_dim)`` → class probabilities."""
    h = (np.asarray(z, np.float64) - head.mean) / head.scale
    for i, (w, b) in enumerate(zip(head.weights, head.biases)):
        h = h @ w + b
        if i < len(head.weights) - 1:
            h = np.maximum(h, 0.0)
    h = h - h.max(axis=-1, keepdims=True)
    e = np.exp(h)
    return e / e.sum(axis=-1, keepdims=True)


def context_step(vector: np.ndarray, state: ContextState, head: ContextHead,
                 reset: bool = False, quiet: bool = False) -> tuple[np.ndarray, ContextState]:
    """Push one window's vector (:func:`window_vector`); return the class probabilities that became
    due ``(m, K)`` and the new state.

    Without lag ``m = 1``: the output of this window. With lag ``L``, the output of the window ``L``
    windows back (``m = 0`` during the stream's first ``L`` windows).

    ``reset=True`` starts a new stream first (after a gap in the data or a new recording): context
    never spans a gap. A lagged head's pending windows must be taken with :func:`context_flush`
    before a reset (else :class:`InputError`: they would be lost).

    ``quiet=True``: this window needs no output (the detector's duty-cycled still windows): it joins
    the context of the others, its row comes back as NaN when due, and the perceptron is not run for it.
    """
    return _due(_checked_push(vector, state, head, reset, quiet), head, head.lag)


def context_flush(state: ContextState, head: ContextHead) -> tuple[np.ndarray, ContextState]:
    """End of a stream: the outputs of the windows still waiting for their look-ahead ``(m, K)``
    (oldest first; none for a head without lag), and the state with none pending."""
    return _due(state, head, 0)


def _due_rows(state: ContextState, scales, ahead, keep: int) -> tuple[list, ContextState]:
    """Summaries of the pending windows beyond the newest ``keep`` (oldest first; None for a quiet
    one), and the state without them."""
    backs = range(state.pending - 1, keep - 1, -1)
    rows = [None if q else summary(state, scales, ahead, back) for back, q in zip(backs, state.quiet)]
    return rows, dataclasses.replace(state, quiet=state.quiet[len(rows):])


def _due(state: ContextState, head: ContextHead, keep: int) -> tuple[np.ndarray, ContextState]:
    rows, state = _due_rows(state, head.scales, head.future_scales, keep)
    out = np.full((len(rows), len(head.label_names)), np.nan)
    live = [i for i, r in enumerate(rows) if r is not None]
    if live:
        out[live] = head_probs(head, np.array([rows[i] for i in live]))
    return out, state


def context_push(vector: np.ndarray, state: ContextState, head: ContextHead, reset: bool = False) -> ContextState:
    """Remember one window's vector without computing an output (what :func:`context_step` does
    first): the detector's duty-cycled still windows keep the context complete at a fraction of the
    cost. Heads without lag only (a lagged head owes every window an output later)."""
    if head.lag:
        raise InputError("context_push is for heads without lag; use context_step")
    return dataclasses.replace(_checked_push(vector, state, head, reset), quiet=())


def _checked_push(vector: np.ndarray, state: ContextState, head: ContextHead, reset: bool, quiet: bool = False) -> ContextState:
    vector = np.asarray(vector, np.float64)
    if vector.shape != (head.vector_dim,) or not np.all(np.isfinite(vector)):
        raise InputError(f"context_step needs a finite vector of length {head.vector_dim}, got shape {vector.shape}")
    if reset:
        if state.pending and head.lag:
            raise InputError(f"{state.pending} windows still wait for their look-ahead: call context_flush before a reset")
        state = context_init(head)
    return _push(state, vector, quiet)


def _push(state: ContextState, vector: np.ndarray, quiet: bool = False) -> ContextState:
    buf = np.roll(state.buffer, -1, axis=0)
    buf[-1] = vector
    return ContextState(buf, min(state.n + 1, buf.shape[0]), state.quiet + (bool(quiet),))


def context_summaries(vectors: np.ndarray, reset: np.ndarray, scales: Sequence[int], lag: int = 0) -> np.ndarray:
    """Summary vectors of a batch of consecutive windows, by the same steps the phone runs.

    Parameters
    ----------
    vectors : ndarray ``(W, D)``
        Window vectors in time order.
    reset : ndarray bool ``(W,)``
        True where a new stream starts (first window of a recording, or after a gap).
    scales : context lengths in windows.
    lag : look-ahead in windows (see :class:`ContextHead`).

    Returns
    -------
    ndarray ``(W, summary_length(D, scales, lag))``, row ``i`` for window ``i``.
    """
    vectors = np.asarray(vectors, np.float64)
    reset = np.asarray(reset, bool)
    if vectors.ndim != 2 or reset.shape != (len(vectors),):
        raise InputError(f"need vectors (W, D) and reset (W,), got {vectors.shape} and {reset.shape}")
    ahead = future_scales(scales, lag)
    size = max(scales) + lag
    state = _empty(size, vectors.shape[1])
    rows: list = []
    for i, v in enumerate(vectors):
        if reset[i] or i == 0:
            due, state = _due_rows(state, scales, ahead, 0)
            rows += due
            state = _empty(size, vectors.shape[1])
        due, state = _due_rows(_push(state, v), scales, ahead, lag)
        rows += due
    due, state = _due_rows(state, scales, ahead, 0)
    rows += due
    return np.array(rows).reshape(len(vectors), summary_length(vectors.shape[1], scales, lag))


def context_probs(head: ContextHead, vectors: np.ndarray, reset: np.ndarray) -> np.ndarray:
    """Class probabilities ``(W, K)`` of a batch of consecutive windows, row ``i`` for window ``i``
    (same result as stepping and flushing at each reset and at the end)."""
    return head_probs(head, context_summaries(vectors, reset, head.scales, head.lag))
