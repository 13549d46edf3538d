"""Resampling of irregular sensor streams onto a regular grid (default 25 Hz).

The grid is absolute: grid point ``k`` is at ``t = k / fs_hz`` seconds, so two streams with their
own clocks (accelerometer and gyroscope) land on the same points, and a stream fed in chunks lands on
exactly the points of the whole stream resampled at once. Values are linearly interpolated between the
two samples around each grid point; labels take the nearer sample's label.

Gaps longer than ``max_gap_s`` are not bridged: the stream is split there, the gap is reported, and
the grid indices jump (downstream stages restart their filters where ``k`` is not consecutive).
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.dsp.validate import RepairReport, clean_stream
from momentsense.sdk.errors import InputError

# Tolerance, in grid steps, for a timestamp that sits on a grid point up to float rounding.
_EPS_STEPS = 1e-6


@dataclasses.dataclass(frozen=True)
class Gap:
    """A hole in a stream longer than the resampler's ``max_gap_s``; not bridged.

    Attributes:
        start_s: Time of the last sample before the hole, seconds.
        end_s: Time of the first sample after it, seconds.
    """

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclasses.dataclass
class ResamplerState:
    """Explicit state of a resampled stream between chunks. Create with :func:`resampler_init`.

    Attributes:
        fs_hz: Grid rate in Hz.
        max_gap_s: Longest hole, in seconds, that is bridged by interpolation.
        last_t: Time of the last sample consumed (None before the first), seconds.
        last_x: That sample's values.
        last_label: That sample's label (-1 when the stream has none).
        next_k: First grid index not yet emitted in the current segment.
    """

    fs_hz: float
    max_gap_s: float
    last_t: Optional[float] = None
    last_x: Optional[np.ndarray] = None
    last_label: int = -1
    next_k: Optional[int] = None


@dataclasses.dataclass
class Resampled:
    """A stream on the regular grid.

    Attributes:
        k: int64 ``(M,)`` grid indices; the time of row ``i`` is ``k[i] / fs_hz`` seconds.
        x: float64 ``(M, C)`` interpolated values, same units as the input.
        label: int16 ``(M,)`` labels (-1 = unknown), or None when the input had none.
        gaps: Holes longer than ``max_gap_s`` found in this chunk (not bridged).
        report: What validation repaired in this chunk.
        fs_hz: Grid rate in Hz.
    """

    k: np.ndarray
    x: np.ndarray
    label: Optional[np.ndarray]
    gaps: list
    report: RepairReport
    fs_hz: float

    @property
    def t(self) -> np.ndarray:
        """Grid times in seconds, ``k / fs_hz``."""
        return self.k / self.fs_hz

    def __len__(self) -> int:
        return int(len(self.k))


def resampler_init(fs_hz: float = 25.0, max_gap_s: float = 1.0) -> ResamplerState:
    """Initial state for :func:`resample`.

    Parameters
    ----------
    fs_hz : float
        Output rate in Hz (> 0).
    max_gap_s : float
        Holes longer than this (seconds) split the stream; must be at least two grid steps.
    """
    if not np.isfinite(fs_hz) or fs_hz <= 0:
        raise InputError(f"fs_hz must be a positive number of Hz, got {fs_hz!r}")
    if not np.isfinite(max_gap_s) or max_gap_s < 2.0 / fs_hz:
        raise InputError(f"max_gap_s must be at least two grid steps ({2.0 / fs_hz:g} s at {fs_hz:g} Hz), got {max_gap_s!r}")
    return ResamplerState(fs_hz=float(fs_hz), max_gap_s=float(max_gap_s))


def resample(
    t: np.ndarray,
    x: np.ndarray,
    state: Optional[ResamplerState] = None,
    *,
    labels: Optional[np.ndarray] = None,
    impossible_abs: Optional[float] = None,
    full_scale: Optional[float] = None,
    name: str = "stream",
) -> tuple[Resampled, ResamplerState]:
    """Resample one chunk of a stream onto the grid; batch is one call from the initial state.

    Parameters
    ----------
    t : array_like, shape ``(N,)``
        Sample times in seconds. Unsorted and duplicated timestamps are repaired (see
        :mod:`sdk.dsp.validate`); in streaming, samples older than the previous chunk's last are dropped
        as late.
    x : array_like, shape ``(N, C)``
        Samples (m/s² for acceleration, rad/s for angular rate).
    state : ResamplerState, optional
        From :func:`resampler_init` (default 25 Hz, 1 s) or the previous call. Not modified.
    labels : array_like of int, shape ``(N,)``, optional
        Per-sample class index (-1 = unknown); resampled by nearest sample.
    impossible_abs, full_scale : float, optional
        Passed to :func:`sdk.dsp.validate.clean_stream`.
    name : str
        Used in error messages.

    Returns
    -------
    out : Resampled
        Grid points emitted by this chunk: every grid point up to the newest sample (points after
        it come with the next chunk).
    state : ResamplerState
        Pass it to the next call.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.0, 0.013, 0.05, 0.081, 0.12])
    >>> out, _ = resample(t, np.sin(t)[:, None])
    >>> out.k.tolist()
    [0, 1, 2, 3]
    """
    state = dataclasses.replace(state) if state is not None else resampler_init()
    fs = state.fs_hz
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (np.shape(t)[0] if np.ndim(t) else -1,):
            raise InputError(f"{name}: labels must have shape ({np.shape(t)[0]},), got {labels.shape}")
    ct, cx, report, keep = clean_stream(
        t, x, impossible_abs=impossible_abs, full_scale=full_scale, after_t=state.last_t, name=name
    )
    n_ch = cx.shape[1]
    if state.last_x is not None and len(state.last_x) != n_ch:
        raise InputError(f"{name}: chunk has {n_ch} channels but the stream had {len(state.last_x)}")
    cl = labels[keep].astype(np.int16) if labels is not None else None

    if state.last_t is not None:
        T = np.concatenate([[state.last_t], ct])
        X = np.concatenate([state.last_x[None, :], cx])
        L = np.concatenate([[state.last_label], cl]).astype(np.int16) if cl is not None else None
    else:
        T, X, L = ct, cx, cl
    empty = Resampled(np.zeros(0, np.int64), np.zeros((0, n_ch)), None if labels is None else np.zeros(0, np.int16), [], report, fs)
    if len(T) == 0:
        return empty, state

    breaks = np.flatnonzero(np.diff(T) > state.max_gap_s) + 1
    bounds = np.concatenate([[0], breaks, [len(T)]])
    gaps = [Gap(float(T[b - 1]), float(T[b])) for b in breaks]
    ks, xs, ls = [], [], []
    next_k = state.next_k
    for j in range(len(bounds) - 1):
        s, e = int(bounds[j]), int(bounds[j + 1])
        continuing = j == 0 and state.last_t is not None
        k0 = next_k if continuing else int(np.ceil(T[s] * fs - _EPS_STEPS))
        k1 = int(np.floor(T[e - 1] * fs + _EPS_STEPS))
        next_k = max(k0, k1 + 1)
        if k1 < k0:
            continue
        grid = np.arange(k0, k1 + 1, dtype=np.int64)
        tg = grid / fs
        Ts = T[s:e]
        xs.append(np.stack([np.interp(tg, Ts, X[s:e, c]) for c in range(n_ch)], axis=1))
        ks.append(grid)
        if L is not None:
            # Nearer of the two bracketing samples; the earlier one on a tie.
            hi = np.clip(np.searchsorted(Ts, tg, side="left"), 0, len(Ts) - 1)
            lo = np.clip(hi - 1, 0, len(Ts) - 1)
            pick = np.where(np.abs(Ts[hi] - tg) < np.abs(tg - Ts[lo]), hi, lo)
            ls.append(L[s:e][pick])

    new_state = dataclasses.replace(
        state,
        last_t=float(T[-1]),
        last_x=X[-1].copy(),
        last_label=int(L[-1]) if L is not None else -1,
        next_k=next_k,
    )
    if not ks:
        empty.gaps = gaps
        return empty, new_state
    out = Resampled(
        k=np.concatenate(ks),
        x=np.concatenate(xs),
        label=np.concatenate(ls).astype(np.int16) if L is not None else None,
        gaps=gaps,
        report=report,
        fs_hz=fs,
    )
    return out, new_state


def segment_starts(k: np.ndarray, prev_k: Optional[int] = None) -> np.ndarray:
    """Row indices where a continuous run of grid indices begins.

    Parameters
    ----------
    k : ndarray int64 ``(M,)``
        Grid indices of one chunk.
    prev_k : int, optional
        Last grid index of the previous chunk; None at the start of a stream.

    Returns
    -------
    ndarray int64
        Indices ``i`` with ``k[i] != k[i-1] + 1`` (row 0 included unless it continues ``prev_k``).
    """
    k = np.asarray(k, dtype=np.int64)
    if len(k) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.diff(k) != 1) + 1
    if prev_k is None or k[0] != prev_k + 1:
        starts = np.concatenate([[0], starts])
    return starts.astype(np.int64)
