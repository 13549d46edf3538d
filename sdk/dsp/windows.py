"""Windowing of the channel stream and per-channel normalisation.

Windows never cross a gap: inside each continuous run of grid indices, window ``i`` covers grid
points ``[k0 + i * hop, k0 + i * hop + length)`` where ``k0`` is the run's first point. The windower
keeps the samples it still needs in its state, so chunks of any size give the same windows as the
whole stream.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError


@dataclasses.dataclass
class Windows:
    """Fixed-length windows.

    Attributes:
        k_start: int64 ``(W,)`` grid index of each window's first sample (time = k / fs_hz s).
        x: float32 ``(W, L, C)`` channel values.
        label: int16 ``(W,)`` majority sample label, -1 when all samples are unknown; None without labels.
        purity: float32 ``(W,)`` fraction of the window's samples carrying the majority label; None without labels.
    """

    k_start: np.ndarray
    x: np.ndarray
    label: Optional[np.ndarray] = None
    purity: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(len(self.k_start))

    @staticmethod
    def concat(parts: list["Windows"], length: int, n_channels: int) -> "Windows":
        """Join windows from several chunks or recordings (empty list → empty, typed result)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return Windows(np.zeros(0, np.int64), np.zeros((0, length, n_channels), np.float32))
        has_labels = all(p.label is not None for p in parts)
        return Windows(
            np.concatenate([p.k_start for p in parts]),
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.label for p in parts]) if has_labels else None,
            np.concatenate([p.purity for p in parts]) if has_labels else None,
        )


@dataclasses.dataclass
class WindowerState:
    """Explicit windower state. Create with :func:`windower_init`.

    Attributes:
        length, hop: Window length and hop in samples.
        buf_k, buf_x, buf_label: Samples of the current run from the next window start on.
    """

    length: int
    hop: int
    buf_k: np.ndarray
    buf_x: np.ndarray
    buf_label: Optional[np.ndarray] = None


def windower_init(length: int, hop: int, n_channels: int) -> WindowerState:
    """Initial windower state for windows of ``length`` samples every ``hop`` samples."""
    if length < 1 or hop < 1:
        raise InputError(f"window length and hop must be ≥ 1 sample, got {length}, {hop}")
    return WindowerState(length, hop, np.zeros(0, np.int64), np.zeros((0, n_channels), np.float32))


def _label_stats(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # labels: (W, L) int; majority among known labels (>= 0), purity over all L samples.
    n_w, length = labels.shape
    out = np.full(n_w, -1, np.int16)
    purity = np.zeros(n_w, np.float32)
    if n_w == 0:
        return out, purity
    top = int(labels.max())
    if top < 0:
        return out, purity
    counts = np.zeros((n_w, top + 1), np.int64)
    rows = np.repeat(np.arange(n_w), length)
    flat = labels.reshape(-1)
    known = flat >= 0
    np.add.at(counts, (rows[known], flat[known]), 1)
    best = counts.argmax(axis=1)
    has = counts.max(axis=1) > 0
    out[has] = best[has]
    purity[has] = counts[has, best[has]] / length
    return out, purity


def make_windows(
    k: np.ndarray,
    x: np.ndarray,
    state: WindowerState,
    label: Optional[np.ndarray] = None,
) -> tuple[Windows, WindowerState]:
    """Cut the windows completed by one chunk of the channel stream.

    Parameters
    ----------
    k : ndarray int64 ``(M,)``
        Grid indices of the chunk (increasing; a jump marks a gap).
    x : ndarray ``(M, C)``
        Channel values.
    state : WindowerState
        From :func:`windower_init` or the previous call. Not modified.
    label : ndarray int ``(M,)``, optional
        Per-sample labels.

    Returns
    -------
    windows : Windows
    state : WindowerState
    """
    k = np.asarray(k, np.int64)
    x = np.asarray(x, np.float32)
    if x.ndim != 2 or len(x) != len(k):
        raise InputError(f"x must have shape ({len(k)}, channels), got {x.shape}")
    if x.shape[1] != state.buf_x.shape[1]:
        raise InputError(f"chunk has {x.shape[1]} channels, the windower was made for {state.buf_x.shape[1]}")
    with_labels = label is not None
    if with_labels and state.buf_label is None and len(state.buf_k):
        raise InputError("labels appeared in the middle of a stream")
    L, H = state.length, state.hop
    bk = np.concatenate([state.buf_k, k])
    bx = np.concatenate([state.buf_x, x])
    bl = None
    if with_labels:
        prev = state.buf_label if state.buf_label is not None else np.zeros(0, np.int16)
        bl = np.concatenate([prev, np.asarray(label, np.int16)])
    # Split into continuous runs; each run's windows start at its first sample.
    starts = np.concatenate([[0], np.flatnonzero(np.diff(bk) != 1) + 1]) if len(bk) else np.zeros(0, np.int64)
    bounds = np.concatenate([starts, [len(bk)]]).astype(np.int64)
    idx_parts, keep_from = [], len(bk)
    for j in range(len(bounds) - 1):
        s, e = int(bounds[j]), int(bounds[j + 1])
        n = (e - s - L) // H + 1 if e - s >= L else 0
        if n > 0:
            idx_parts.append(s + np.arange(n) * H)
        if j == len(bounds) - 2:  # the open run: keep from the next window start on
            keep_from = s + n * H
    first = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
    if len(first):
        gather = first[:, None] + np.arange(L)[None, :]
        wx = bx[gather]
        wl, purity = _label_stats(bl[gather]) if with_labels else (None, None)
        out = Windows(bk[first], wx, wl, purity)
    else:
        out = Windows(np.zeros(0, np.int64), np.zeros((0, L, bx.shape[1]), np.float32),
                      np.zeros(0, np.int16) if with_labels else None, np.zeros(0, np.float32) if with_labels else None)
    new_state = WindowerState(L, H, bk[keep_from:].copy(), bx[keep_from:].copy(), bl[keep_from:].copy() if with_labels else None)
    return out, new_state


@dataclasses.dataclass(frozen=True)
class Normalizer:
    """Per-channel standardisation ``(x - mean) / std``; its parameters ship in the model manifest.

    Attributes:
        mean: Per-channel mean, in the channel's unit.
        std: Per-channel standard deviation (floored at 1e-6).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def fit(cls, x: np.ndarray) -> "Normalizer":
        """Fit on training windows ``(W, L, C)`` (never on test windows)."""
        x = np.asarray(x, np.float64)
        if x.ndim != 3 or len(x) == 0:
            raise InputError(f"fit needs windows of shape (W, L, C) with W ≥ 1, got {x.shape}")
        flat = x.reshape(-1, x.shape[2])
        return cls(tuple(flat.mean(0).tolist()), tuple(np.maximum(flat.std(0), 1e-6).tolist()))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Standardise windows ``(..., C)``; returns float32."""
        x = np.asarray(x, np.float32)
        if x.shape[-1] != len(self.mean):
            raise InputError(f"normaliser has {len(self.mean)} channels, input has {x.shape[-1]}")
        return ((x - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        mean, std = tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["std"])
        if len(mean) != len(std):
            raise InputError(f"normaliser mean has {len(mean)} channels but std has {len(std)}")
        return cls(mean, std)
