"""Window posteriors into transport events: a change of mode is reported once it has held.

Used by :class:`sdk.transport.detector.TransportDetector` for both of its paths (the live one and the
timeline's).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from momentsense.sdk.timeline.records import TransportEvent


class Segmenter:
    """Posteriors, one window at a time, into events: a new mode is reported once it has been the
    most likely one for ``min_stable`` consecutive windows; the change is placed at the centre of its
    first window."""

    def __init__(self, labels: list, min_stable: int, window_s: float):
        self.labels, self.min_stable, self.window_s = labels, min_stable, window_s
        self.mode: Optional[int] = None  # reported mode
        self.start: Optional[float] = None
        self.conf: list = []
        self.cand: Optional[int] = None
        self.cand_n = 0
        self.cand_start: Optional[float] = None
        self.cand_conf: list = []

    def advance(self, posterior: np.ndarray, t_start: float) -> list[TransportEvent]:
        mode = int(posterior.argmax())
        conf = float(posterior[mode])
        t_mid = t_start + self.window_s / 2
        if self.mode is None:
            self.mode, self.start, self.conf = mode, t_start, [conf]
            return []
        if mode == self.mode:
            self.cand, self.cand_n, self.cand_conf = None, 0, []
            self.conf.append(conf)
            return []
        if mode != self.cand:
            self.cand, self.cand_n, self.cand_start, self.cand_conf = mode, 0, t_mid, []
        self.cand_n += 1
        self.cand_conf.append(conf)
        if self.cand_n < self.min_stable:
            return []
        ev = TransportEvent(self.start, self.cand_start, self.labels[self.mode], float(np.mean(self.conf)))
        self.mode, self.start, self.conf = self.cand, self.cand_start, list(self.cand_conf)
        self.cand, self.cand_n, self.cand_conf = None, 0, []
        return [ev] if ev.end > ev.start else []

    def close(self, t_end: float) -> list[TransportEvent]:
        if self.mode is None:
            return []
        ev = TransportEvent(self.start, t_end, self.labels[self.mode], float(np.mean(self.conf)) if self.conf else 0.0)
        self.mode, self.start, self.conf, self.cand, self.cand_n = None, None, [], None, 0
        return [ev] if ev.end > ev.start else []
