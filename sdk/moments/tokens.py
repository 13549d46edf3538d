"""Event tokens and their features, shared by the trainer and the device (numpy only).

A token is an event's label: a place category (visits) or a transport mode (transport), in
:data:`sdk.io.timeline_file.LABELS` order. The next-event model sees, for each event ``i`` of the
history, at the moment event ``i`` starts:

* its token (one-hot),
* its start time of day (sin/cos of the first two daily harmonics) and day of week (one-hot),
* the duration of the *previous* event (``log1p(minutes) / 6``): event ``i``'s own duration is
  not known yet when it starts, and is what the model's second head predicts.

Targets at position ``i``: the token of event ``i + 1`` and ``log1p`` of the minutes until it
starts. Local time is ``t + utc_offset_s`` (the simulator's clock is UTC).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.io.timeline_file import LABELS

TOKENS: tuple[str, ...] = LABELS
N_TOKENS = len(TOKENS)
DAY_S = 86400.0
WEEK_S = 7 * DAY_S
#: 2026-01-05 (a Monday) 00:00 UTC; day of week = floor((t - MONDAY) / day) mod 7.
_MONDAY = 1767571200.0
FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"token={t}" for t in TOKENS)
    + ("tod_sin1", "tod_cos1", "tod_sin2", "tod_cos2")
    + tuple(f"dow={d}" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    + ("prev_duration",)
)
N_FEATURES = len(FEATURE_NAMES)
_TOKEN_INDEX = {t: i for i, t in enumerate(TOKENS)}


@dataclasses.dataclass(frozen=True)
class EncodingConfig:
    """How a history becomes the model input; stored in the model manifest's ``preprocess``.

    Attributes:
        history_s: Events that started within this many seconds before the current one are used
            (three weeks).
        max_events: At most this many most recent events (the model's fixed sequence length);
            shorter histories are left-padded with zero rows.
        utc_offset_s: Local time = unix time + this, seconds.
    """

    history_s: float = 21 * DAY_S
    max_events: int = 192
    utc_offset_s: float = 0.0

    def __post_init__(self):
        if self.history_s <= 0 or int(self.max_events) < 2:
            raise InputError(f"history_s must be > 0 and max_events >= 2, got {self.history_s!r}, {self.max_events!r}")

    def to_dict(self) -> dict:
        return {"history_s": float(self.history_s), "max_events": int(self.max_events), "utc_offset_s": float(self.utc_offset_s),
                "feature_names": list(FEATURE_NAMES), "tokens": list(TOKENS)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> "EncodingConfig":
        if list(d.get("feature_names", FEATURE_NAMES)) != list(FEATURE_NAMES) or list(d.get("tokens", TOKENS)) != list(TOKENS):
            raise InputError("the model was trained with other features or tokens than this SDK encodes")
        return cls(float(d["history_s"]), int(d["max_events"]), float(d.get("utc_offset_s", 0.0)))


def token_index(label: str) -> int:
    """Index of ``label`` in :data:`TOKENS`; :class:`InputError` for an unknown label."""
    try:
        return _TOKEN_INDEX[label]
    except KeyError:
        raise InputError(f"unknown event label {label!r}; expected one of {list(TOKENS)}") from None


def time_of_day_s(t: np.ndarray, utc_offset_s: float = 0.0) -> np.ndarray:
    """Seconds since local midnight, ``[0, 86400)``."""
    return np.mod(np.asarray(t, np.float64) + utc_offset_s, DAY_S)


def day_of_week(t: np.ndarray, utc_offset_s: float = 0.0) -> np.ndarray:
    """Local day of week, 0 = Monday."""
    return (np.floor((np.asarray(t, np.float64) + utc_offset_s - _MONDAY) / DAY_S).astype(np.int64)) % 7


def encode_events(start: np.ndarray, token: np.ndarray, prev_duration_s: np.ndarray, utc_offset_s: float = 0.0) -> np.ndarray:
    """Feature rows of events, shape ``(n, N_FEATURES)`` float32.

    Parameters
    ----------
    start : ndarray, shape ``(n,)``
        Start of each event, unix seconds.
    token : ndarray of int, shape ``(n,)``
        Index into :data:`TOKENS`.
    prev_duration_s : ndarray, shape ``(n,)``
        Duration of the event before each one, seconds (0 for the first).
    utc_offset_s : float
    """
    start = np.asarray(start, np.float64)
    token = np.asarray(token, np.int64)
    n = len(start)
    if len(token) != n or len(prev_duration_s) != n:
        raise InputError(f"start, token and prev_duration_s must have the same length, got {n}, {len(token)}, {len(prev_duration_s)}")
    if n and (token.min() < 0 or token.max() >= N_TOKENS):
        raise InputError(f"token indices must be in 0..{N_TOKENS - 1}")
    x = np.zeros((n, N_FEATURES), np.float32)
    x[np.arange(n), token] = 1.0
    phase = 2 * np.pi * time_of_day_s(start, utc_offset_s) / DAY_S
    k = N_TOKENS
    x[:, k], x[:, k + 1], x[:, k + 2], x[:, k + 3] = np.sin(phase), np.cos(phase), np.sin(2 * phase), np.cos(2 * phase)
    x[np.arange(n), k + 4 + day_of_week(start, utc_offset_s)] = 1.0
    x[:, -1] = np.log1p(np.maximum(np.asarray(prev_duration_s, np.float64), 0.0) / 60.0) / 6.0
    return x


def previous_durations(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Duration of the previous event for each event (0 for the first), seconds."""
    d = np.asarray(end, np.float64) - np.asarray(start, np.float64)
    return np.concatenate([[0.0], d[:-1]]) if len(d) else d


def window_for(features: np.ndarray, start: np.ndarray, i: int, config: EncodingConfig) -> np.ndarray:
    """Model input for a prediction at the start of event ``i``: shape ``(max_events, N_FEATURES)``.

    Uses events ``j <= i`` with ``start[j] > start[i] - history_s``, at most ``max_events``, left-padded
    with zero rows.
    """
    lo = int(np.searchsorted(start, start[i] - config.history_s, side="right"))
    lo = max(lo, i + 1 - int(config.max_events))
    out = np.zeros((int(config.max_events), features.shape[1]), np.float32)
    rows = features[lo : i + 1]
    out[len(out) - len(rows) :] = rows
    return out
