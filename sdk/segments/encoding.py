"""Input of the timeline encoder: a window of events as a fixed-size matrix (numpy only).

Each event of the window is one row of :func:`sdk.moments.tokens.encode_events` features (token
one-hot, start time of day as sin/cos, day of week one-hot), except that the last column is the
event's *own* duration (``log1p(minutes) / 6``): the whole window is in the past, so it is known.
A window holds the events that start in ``[t_end - window_s, t_end)``, at most ``max_events`` (the
most recent), left-padded with zero rows; the encoder pools over real rows only (a row is real
when its token one-hot sums to 1).

A *user embedding* averages the embeddings of the windows ending at the end of the history and then
every ``stride_s`` earlier, as long as a window lies inside the history (at most ``max_windows``),
and L2-normalises the mean.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.moments.tokens import FEATURE_NAMES as _EVENT_FEATURES
from momentsense.sdk.moments.tokens import TOKENS, encode_events
from momentsense.sdk.segments.events import DAY_S, UserEvents, require_history

FEATURE_NAMES: tuple[str, ...] = _EVENT_FEATURES[:-1] + ("duration",)
N_FEATURES = len(FEATURE_NAMES)


@dataclasses.dataclass(frozen=True)
class WindowConfig:
    """How a history becomes encoder input; stored in the encoder manifest's ``preprocess``.

    Attributes:
        window_s: Window length, seconds (two weeks).
        max_events: Rows per window (more events: the most recent are kept).
        stride_s: Step between the windows averaged into a user embedding, seconds.
        max_windows: At most this many windows per user embedding.
        min_history_s: Shorter histories raise :class:`InputError`.
        utc_offset_s: Local time = unix time + this.
    """

    window_s: float = 14 * DAY_S
    max_events: int = 256
    stride_s: float = 7 * DAY_S
    max_windows: int = 5
    min_history_s: float = 7 * DAY_S
    utc_offset_s: float = 0.0

    def __post_init__(self):
        if self.window_s <= 0 or int(self.max_events) < 2 or self.stride_s <= 0 or int(self.max_windows) < 1:
            raise InputError(f"invalid WindowConfig: {self}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(feature_names=list(FEATURE_NAMES), tokens=list(TOKENS))
        return d

    @classmethod
    def from_dict(cls, d: dict) -> WindowConfig:
        if list(d.get("feature_names", FEATURE_NAMES)) != list(FEATURE_NAMES) or list(d.get("tokens", TOKENS)) != list(TOKENS):
            raise InputError("the encoder was trained with other features or tokens than this SDK encodes")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def encode_window(ev: UserEvents, t_end: float, config: WindowConfig) -> np.ndarray:
    """Encoder input for the window ending at ``t_end``: shape ``(max_events, N_FEATURES)`` float32."""
    w = ev.between(t_end - config.window_s, t_end)
    n = min(len(w), int(config.max_events))
    out = np.zeros((int(config.max_events), N_FEATURES), np.float32)
    if n:
        s = slice(len(w) - n, len(w))
        out[len(out) - n :] = encode_events(w.start[s], w.label[s], w.end[s] - w.start[s], config.utc_offset_s)
    return out


def window_ends(ev: UserEvents, config: WindowConfig) -> np.ndarray:
    """End times (unix s) of the windows averaged into the user embedding, latest first.

    Raises
    ------
    InputError
        Empty history or shorter than ``config.min_history_s``.
    """
    require_history(ev, config.min_history_s / DAY_S, "timeline encoder")
    t_last, t_first = float(ev.end[-1]), float(ev.start[0])
    ends = [t_last]
    while len(ends) < int(config.max_windows) and ends[-1] - config.stride_s - config.window_s >= t_first - 1.0:
        ends.append(ends[-1] - config.stride_s)
    return np.asarray(ends, np.float64)


def encode_user_windows(ev: UserEvents, config: WindowConfig) -> np.ndarray:
    """All windows of a user embedding, shape ``(n_windows, max_events, N_FEATURES)``."""
    return np.stack([encode_window(ev, t, config) for t in window_ends(ev, config)])


def l2_normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x / ||x||`` along ``axis`` (zero vectors stay zero)."""
    x = np.asarray(x, np.float32)
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(n, 1e-12)
