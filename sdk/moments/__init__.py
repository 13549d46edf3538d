"""Moments on the device: next-event prediction, moment assignment and notification timing.

``Moments`` is the app-facing facade: feed it events as they start, ask what comes next, why the
person is moving, and when a notification would be welcome. numpy and a TFLite interpreter only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from momentsense.sdk.moments.moments import assign_moment
from momentsense.sdk.moments.notify import BUSY_MODES, best_time_to_notify, is_good_moment
from momentsense.sdk.moments.predictor import NextEventPrediction, NextEventPredictor
from momentsense.sdk.moments.tokens import TOKENS, EncodingConfig
from momentsense.sdk.io.timeline_file import PLACE_CATEGORIES


class Moments:
    """Facade over :class:`NextEventPredictor` for apps.

    Example
    -------
    >>> m = Moments.create_from_path()  # the shipped model  # doctest: +SKIP
    >>> m.push(t, "home"); m.is_good_moment(); m.best_time_to_notify(t, t + 7200)  # doctest: +SKIP
    """

    def __init__(self, predictor: NextEventPredictor):
        self.predictor = predictor
        self._last_visit = ""
        self._school_durations: list[float] = []
        self._prev: Optional[tuple[float, str]] = None

    @classmethod
    def create_from_path(cls, tflite_path: Optional[str | Path] = None) -> "Moments":
        """Load the shipped ``next_event.tflite`` (or another one) with its manifest."""
        if tflite_path is None:
            from momentsense.edge_models import artifact_dir

            tflite_path = artifact_dir() / "next_event.tflite"
        return cls(NextEventPredictor.create_from_path(tflite_path))

    def push(self, start: float, label: str) -> None:
        """An event with ``label`` started at ``start`` (unix s)."""
        self.predictor.push(start, label)
        if self._prev is not None and self._prev[1] in PLACE_CATEGORIES:
            self._last_visit = self._prev[1]
            if self._prev[1] == "school":
                self._school_durations = (self._school_durations + [start - self._prev[0]])[-10:]
        self._prev = (float(start), label)

    def predict(self) -> NextEventPrediction:
        return self.predictor.predict()

    def current_moment(self) -> Optional[str]:
        """The moment of the current trip, or None when the person is not moving."""
        cur = self.predictor.current()
        if cur is None or cur[1] in PLACE_CATEGORIES:
            return None
        short = bool(self._school_durations) and sorted(self._school_durations)[len(self._school_durations) // 2] < 2700
        return assign_moment(cur[1], cur[0], self._last_visit, self.predict().labels, short, self.predictor.config.utc_offset_s)

    def is_good_moment(self) -> bool:
        return is_good_moment(self.predictor)

    def best_time_to_notify(self, window_start: float, window_end: float) -> Optional[float]:
        return best_time_to_notify(self.predictor, window_start, window_end)


__all__ = ["Moments", "NextEventPredictor", "NextEventPrediction", "EncodingConfig", "TOKENS", "assign_moment",
           "best_time_to_notify", "is_good_moment", "BUSY_MODES"]
