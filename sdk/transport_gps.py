"""What GPS says about a transport window: fix rate, speed, whether any fix came.

A 10 s IMU window cannot tell a subway from a train, or a train from a bus, as well as the sky can:
a phone underground gets no satellite fix, and a receiver's speed separates a 15 m/s bus from a
30 m/s train. For each window the detector (and the trainer, through the same function) computes
three numbers over the fixes from ``before_s`` before the window's start to its end (past only, so a
streaming phone has them when the window closes):

``fix_rate``
    Fixes with an accuracy radius ≤ ``good_accuracy_m`` (satellite fixes; network ones are coarser)
    per expected fix: their count × ``interval_s`` / span, at most 1.
``log_speed``
    ``log(1 + median speed)`` of those fixes, speed in m/s; 0 without any.
``any_fix``
    1 if any fix came at all (network ones too), else 0.

Written in the scipy.signal style: :func:`gps_features` is a pure function of the fixes, and the
detector's :class:`GpsBuffer` only keeps the recent fixes it needs (:func:`gps_buffer_push`).

The numbers mean "the phone listened for fixes and this is what came": they must only reach a head
while location is on. With location consent withdrawn, no fix comes, and a head fitted with GPS
would read the silence as a tunnel; the detector then settles windows with the head that reads no
GPS (see :class:`sdk.transport.detector.TransportDetector`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from momentsense.sdk.errors import InputError

#: Names of the numbers :func:`gps_features` returns per window, in order.
GPS_FEATURES = ("fix_rate", "log_speed", "any_fix")


@dataclasses.dataclass(frozen=True)
class GpsFeatureConfig:
    """How a window's GPS numbers are computed.

    Attributes:
        before_s: The span starts this long before the window's start, s (it ends at the window's end).
        interval_s: Time between fixes the phone asked for (``gps.start(minTime=...)``), s.
        good_accuracy_m: Fixes with an accuracy radius up to this count for ``fix_rate`` and
            ``log_speed``, m. Fixes of unknown accuracy (NaN) count.
    """

    before_s: float = 30.0
    interval_s: float = 1.0
    good_accuracy_m: float = 50.0

    def __post_init__(self):
        for name in ("before_s", "interval_s", "good_accuracy_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise InputError(f"GpsFeatureConfig.{name} must be a finite number >= 0, got {v!r}")
        if self.interval_s <= 0:
            raise InputError(f"GpsFeatureConfig.interval_s must be > 0, got {self.interval_s}")

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "features": list(GPS_FEATURES)}

    @classmethod
    def from_dict(cls, d: dict) -> "GpsFeatureConfig":
        if not isinstance(d, dict) or list(d.get("features", GPS_FEATURES)) != list(GPS_FEATURES):
            raise InputError(f"GPS feature config must name the features {list(GPS_FEATURES)}, got {d!r}")
        return cls(**{f.name: float(d[f.name]) for f in dataclasses.fields(cls) if f.name in d})


def gps_features(fix_t, fix_accuracy_m, fix_speed_mps, t_start, t_end, config: GpsFeatureConfig = GpsFeatureConfig()) -> np.ndarray:
    """GPS numbers ``(W, 3)`` (:data:`GPS_FEATURES`) of windows ``[t_start, t_end)``.

    Parameters
    ----------
    fix_t : array ``(M,)``
        Fix times, unix s, non-decreasing.
    fix_accuracy_m : array ``(M,)`` or None
        Accuracy radius of each fix, m (NaN or None = unknown, counted as good).
    fix_speed_mps : array ``(M,)`` or None
        Speed reported with each fix, m/s (NaN or negative = unknown, left out of the median).
    t_start, t_end : array ``(W,)``
        Each window's start and end, unix s.
    config : GpsFeatureConfig

    Raises
    ------
    InputError
        Shapes that do not match, non-finite or decreasing fix times, non-finite window times.
    """
    t = np.asarray(fix_t, np.float64)
    m = len(t)
    acc = np.full(m, np.nan) if fix_accuracy_m is None else np.asarray(fix_accuracy_m, np.float64)
    spd = np.full(m, np.nan) if fix_speed_mps is None else np.asarray(fix_speed_mps, np.float64)
    a, b = np.atleast_1d(np.asarray(t_start, np.float64)), np.atleast_1d(np.asarray(t_end, np.float64))
    if t.ndim != 1 or acc.shape != t.shape or spd.shape != t.shape or a.shape != b.shape or a.ndim != 1:
        raise InputError(f"gps_features needs fixes (M,) x 3 and windows (W,) x 2, got {t.shape}, {acc.shape}, "
                         f"{spd.shape}, {a.shape}, {b.shape}")  # fmt: skip
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        raise InputError("gps_features needs finite, non-decreasing fix times")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("gps_features needs finite window times")
    lo_t = a - config.before_s
    lo, hi = np.searchsorted(t, lo_t), np.searchsorted(t, b)
    out = np.zeros((len(a), len(GPS_FEATURES)))
    for i in np.flatnonzero(hi > lo):
        out[i] = _span_numbers(acc[lo[i]:hi[i]], spd[lo[i]:hi[i]], b[i] - lo_t[i], config)
    return out


def _span_numbers(acc: np.ndarray, spd: np.ndarray, span_s: float, config: GpsFeatureConfig) -> np.ndarray:
    """The numbers ``(3,)`` of the fixes (at least one) in one window's span of ``span_s`` seconds."""
    good = ~(acc > config.good_accuracy_m)  # NaN (unknown) counts as good
    n = int(good.sum())
    s = spd[good]
    s = s[np.isfinite(s) & (s >= 0)]
    return np.array([min(n * config.interval_s / max(span_s, 1e-9), 1.0), np.log1p(np.median(s)) if len(s) else 0.0, 1.0])


@dataclasses.dataclass
class GpsBuffer:
    """The recent fixes a streaming detector keeps: times (unix s), accuracy (m), speed (m/s), oldest
    first, and how many fixes were refused (non-finite time or position order)."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    accuracy_m: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    speed_mps: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    refused: int = 0


def _col(fixes: Any, name: str, n: int) -> np.ndarray:
    if isinstance(fixes, (list, tuple)):
        return np.array([np.nan if getattr(f, name, None) is None else float(getattr(f, name)) for f in fixes], np.float64)
    v = fixes.get(name) if isinstance(fixes, dict) else getattr(fixes, name, None)
    return np.full(n, np.nan) if v is None else np.asarray(v, np.float64).reshape(-1)


def buffer_features(buf: GpsBuffer, t_start: float, t_end: float, config: GpsFeatureConfig = GpsFeatureConfig()) -> np.ndarray:
    """:func:`gps_features` ``(3,)`` of one window ``[t_start, t_end)`` from a buffer's fixes, without
    re-checking them (:func:`gps_buffer_push` did): the detector calls it for every window."""
    lo_t = t_start - config.before_s
    a, b = np.searchsorted(buf.t, (lo_t, t_end))
    if b <= a:
        return np.zeros(len(GPS_FEATURES))
    return _span_numbers(buf.accuracy_m[a:b], buf.speed_mps[a:b], t_end - lo_t, config)


def gps_buffer_push(buf: GpsBuffer, fixes: Any, keep_after_s: float) -> GpsBuffer:
    """Add ``fixes`` (a list of :class:`~sdk.timeline.records.GpsFix`, or an object / dict with
    arrays ``t``, ``accuracy_m``, ``speed_mps``) and drop those before ``keep_after_s`` (unix s).

    Fixes with a non-finite time, or not after the newest one kept (duplicates, out of order), are
    refused and counted in :attr:`GpsBuffer.refused`: the window numbers need ordered times, and a
    late fix would change windows already scored.
    """
    if fixes is None:
        t = np.zeros(0)
    else:
        t = np.array([f.t for f in fixes], np.float64) if isinstance(fixes, (list, tuple)) else _col(fixes, "t", 0)
    n = len(t)
    acc, spd = _col(fixes, "accuracy_m", n), _col(fixes, "speed_mps", n)
    if acc.shape != t.shape or spd.shape != t.shape:
        raise InputError(f"GPS fixes need t, accuracy_m and speed_mps of one length, got {t.shape}, {acc.shape}, {spd.shape}")
    last = buf.t[-1] if len(buf.t) else -np.inf
    ok = np.isfinite(t)
    ok[ok] &= t[ok] > np.maximum.accumulate(np.concatenate(([last], t[ok])))[:-1]
    t_all = np.concatenate([buf.t, t[ok]])
    keep = t_all >= keep_after_s
    return GpsBuffer(t_all[keep], np.concatenate([buf.accuracy_m, acc[ok]])[keep],
                     np.concatenate([buf.speed_mps, spd[ok]])[keep], buf.refused + int(n - ok.sum()))
