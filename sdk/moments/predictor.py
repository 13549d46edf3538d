"""On-device next-event prediction: keeps the user's last three weeks and runs the LSTM at each event.

Numpy and the TFLite interpreter only (never TensorFlow). The model's manifest gives the encoding
(history length, sequence length, tokens); the fused LSTM's state is reset before every prediction
(platform notes: it persists between ``invoke()`` calls).
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import N_TOKENS, TOKENS, EncodingConfig, encode_events, token_index, window_for
from momentsense.sdk.io.timeline_file import PLACE_CATEGORIES


@dataclasses.dataclass(frozen=True)
class NextEventPrediction:
    """The model's view of what comes after the current event.

    Attributes:
        t: Start of the current event (when the prediction was made), unix s.
        current: Label of the current event.
        labels: Next-event labels, most probable first.
        probs: Their probabilities (same order).
        wait_s: Predicted seconds from ``t`` until the next event starts.
        next_start: ``t + wait_s``, unix s.
    """

    t: float
    current: str
    labels: tuple
    probs: tuple
    wait_s: float
    next_start: float

    @property
    def top(self) -> str:
        return self.labels[0]


class NextEventPredictor:
    """Streaming next-event predictor.

    Feed each event as it starts (:meth:`push`); :meth:`predict` returns the prediction for what
    follows the latest event. History older than ``history_s`` before the latest event is dropped.

    Example
    -------
    >>> pred = NextEventPredictor.create_from_path("edge_models/artifacts/next_event.tflite")  # doctest: +SKIP
    >>> pred.push(1767600000.0, "home"); pred.predict().top  # doctest: +SKIP
    'car'
    """

    def __init__(self, model, config: EncodingConfig):
        self._model = model
        self.config = config
        self.backend = getattr(model, "backend", "?")
        self._events: collections.deque = collections.deque()  # (start, token, end or nan)
        self._cache: Optional[NextEventPrediction] = None
        out = tuple(model.output_spec.shape)
        if out[-1] != N_TOKENS + 1:
            raise InputError(f"the model outputs {out[-1]} values; this SDK expects {N_TOKENS + 1} (tokens + wait)")

    @classmethod
    def create_from_path(cls, tflite_path: str | Path, num_threads: int = 1) -> "NextEventPredictor":
        """Load a verified ``.tflite`` + manifest (``sdk.models.manifest.load_verified_model``)."""
        from momentsense.sdk.models.interpreter import load_model
        from momentsense.sdk.models.manifest import load_verified_model

        data, manifest = load_verified_model(tflite_path)
        if manifest.task != "next_event":
            raise InputError(f"{tflite_path}: manifest task is {manifest.task!r}, expected 'next_event'")
        if tuple(manifest.label_names) != TOKENS:
            raise InputError(f"{tflite_path}: manifest label_names differ from this SDK's tokens")
        return cls(load_model(data, num_threads=num_threads), EncodingConfig.from_dict(manifest.preprocess))

    def reset(self) -> None:
        """Forget the history (a new user)."""
        self._events.clear()
        self._cache = None

    def __len__(self) -> int:
        return len(self._events)

    def push(self, start: float, label: str, end_of_previous: Optional[float] = None) -> None:
        """Record that an event with ``label`` started at ``start`` (unix s).

        ``end_of_previous`` (unix s) closes the previous event (default: ``start``).

        Raises
        ------
        InputError
            Unknown label, non-finite time, or ``start`` before the previous event's start.
        """
        tok = token_index(label)
        start = float(start)
        if not np.isfinite(start):
            raise InputError(f"start must be a finite unix time in seconds, got {start!r}")
        if self._events:
            prev_start = self._events[-1][0]
            if start < prev_start:
                raise InputError(f"events must arrive in order: start {start} is before the previous event's start {prev_start}")
            end = start if end_of_previous is None else float(end_of_previous)
            if end < prev_start:
                raise InputError(f"end_of_previous {end} is before the previous event's start {prev_start}")
            s, t, _ = self._events[-1]
            self._events[-1] = (s, t, end)
        self._events.append((start, tok, np.nan))
        while self._events and self._events[0][0] <= start - self.config.history_s:
            self._events.popleft()
        while len(self._events) > self.config.max_events:
            self._events.popleft()
        self._cache = None

    def history(self) -> list[tuple[float, str, float]]:
        """The kept events as ``(start, label, end)``, oldest first; ``end`` is NaN for the current one."""
        return [(s, TOKENS[t], e) for s, t, e in self._events]

    def current(self) -> Optional[tuple[float, str]]:
        """``(start, label)`` of the latest event, or None before the first push."""
        if not self._events:
            return None
        return self._events[-1][0], TOKENS[self._events[-1][1]]

    def predict(self) -> NextEventPrediction:
        """Prediction for the event after the latest one (cached until the next push)."""
        if not self._events:
            raise InputError("no events yet: push at least one event before predicting")
        if self._cache is not None:
            return self._cache
        ev = np.array(self._events, dtype=np.float64)
        start, tok, end = ev[:, 0], ev[:, 1].astype(np.int64), ev[:, 2]
        prev = np.zeros(len(start))
        prev[1:] = end[:-1] - start[:-1]
        feats = encode_events(start, tok, prev, self.config.utc_offset_s)
        x = window_for(feats, start, len(start) - 1, self.config)[None]
        self._model.reset()
        y = self._model.run(x)[0]
        p = np.clip(y[:N_TOKENS], 0.0, None)
        p = p / max(p.sum(), 1e-9)
        order = np.argsort(-p)
        wait_s = float(np.expm1(max(float(y[N_TOKENS]), 0.0)) * 60.0)
        t = float(start[-1])
        self._cache = NextEventPrediction(t, TOKENS[tok[-1]], tuple(TOKENS[i] for i in order), tuple(float(p[i]) for i in order),
                                          wait_s, t + wait_s)  # fmt: skip
        return self._cache


def is_visit_label(label: str) -> bool:
    return label in PLACE_CATEGORIES
