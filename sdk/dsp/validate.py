"""Input validation and documented repairs for raw sensor streams.

What arrives from a phone is messy. Each problem gets either a clear error or a documented,
counted repair; nothing is dropped silently (every repair is counted in :class:`RepairReport`).

==========================  ==============================================================
problem                     what happens
==========================  ==============================================================
wrong shapes / dtypes       :class:`~sdk.errors.InputError` naming expected and received shape
non-finite timestamp        sample dropped, counted in ``dropped_bad_time``
NaN/inf in a value          sample dropped, counted in ``dropped_nonfinite`` (the resampler then
                            interpolates across it, or splits the stream if the hole > max gap)
impossible magnitude        sample dropped, counted in ``dropped_impossible``: beyond what any phone
                            sensor can report (|acc| component > 16 g · 1.25, |gyro| > 2000 °/s · 1.25)
saturated (clipped) sample  kept (it is a real, clipped reading) and counted in ``saturated``
unsorted timestamps         sorted (stable), counted in ``reordered``
duplicate timestamps        the first sample received is kept, later ones dropped, ``duplicates``
late sample (streaming)     a sample older than one already consumed is dropped, ``late``
==========================  ==============================================================
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import STANDARD_GRAVITY_MPS2

#: Largest |component| a phone accelerometer can report (16 g full scale) with 25 % headroom, m/s².
ACC_IMPOSSIBLE_MPS2 = 16 * STANDARD_GRAVITY_MPS2 * 1.25
#: Largest |component| a phone gyroscope can report (2000 °/s full scale) with 25 % headroom, rad/s.
GYRO_IMPOSSIBLE_RAD_S = np.deg2rad(2000.0) * 1.25
#: Common full-scale ranges of phone accelerometers, m/s² (2, 4, 8, 16 g).
ACC_FULL_SCALES_MPS2 = tuple(g * STANDARD_GRAVITY_MPS2 for g in (2, 4, 8, 16))


@dataclasses.dataclass
class RepairReport:
    """Counts of what validation repaired. All counts are numbers of samples."""

    received: int = 0
    dropped_bad_time: int = 0
    dropped_nonfinite: int = 0
    dropped_impossible: int = 0
    saturated: int = 0
    reordered: int = 0
    duplicates: int = 0
    late: int = 0

    @property
    def dropped(self) -> int:
        """Samples removed for any reason."""
        return self.dropped_bad_time + self.dropped_nonfinite + self.dropped_impossible + self.duplicates + self.late

    def merge(self, other: "RepairReport") -> "RepairReport":
        """Sum of two reports (e.g. over the chunks of a stream)."""
        return RepairReport(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_stream_arrays(t: np.ndarray, x: np.ndarray, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    """Check shapes and dtypes of a ``(t, x)`` stream and return float64 copies-as-needed.

    Parameters
    ----------
    t : array_like, shape ``(N,)``
        Timestamps in seconds.
    x : array_like, shape ``(N, C)``
        Samples; ``(N,)`` is accepted as one channel.

    Raises
    ------
    InputError
        When ``t`` is not 1-D, ``x`` is not 1-D/2-D, their lengths differ, or a value is not numeric.
    """
    try:
        t = np.asarray(t, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: timestamps and samples must be numeric arrays ({exc})") from None
    if t.ndim != 1:
        raise InputError(f"{name}: timestamps must have shape (N,), got {t.shape}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise InputError(f"{name}: samples must have shape (N, channels), got {x.shape}")
    if len(x) != len(t):
        raise InputError(f"{name}: {len(t)} timestamps but {len(x)} samples; each sample needs one timestamp")
    return t, x


def detect_saturation(x: np.ndarray, full_scale: Optional[float], min_run: int = 2) -> np.ndarray:
    """Boolean mask ``(N,)`` of samples with a component stuck at the sensor's full scale.

    Parameters
    ----------
    x : ndarray, shape ``(N, C)``
    full_scale : float or None
        The sensor range in the stream's units. None: inferred as the largest |value| when that
        value repeats in at least ``min_run`` consecutive samples (a clipped plateau); otherwise
        nothing is flagged.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    ax = np.abs(x)
    if full_scale is None:
        peak = float(ax.max())
        if peak == 0.0:
            return np.zeros(len(x), dtype=bool)
        at_peak = np.isclose(ax, peak, rtol=0, atol=1e-6 * peak)
        runs = at_peak[1:] & at_peak[:-1]
        if runs.sum() < min_run - 1 or at_peak.any(axis=1).sum() < min_run:
            return np.zeros(len(x), dtype=bool)
        full_scale = peak
    return (ax >= full_scale * (1 - 1e-6)).any(axis=1)


def clean_stream(
    t: np.ndarray,
    x: np.ndarray,
    *,
    impossible_abs: Optional[float] = None,
    full_scale: Optional[float] = None,
    after_t: Optional[float] = None,
    name: str = "x",
) -> tuple[np.ndarray, np.ndarray, RepairReport, np.ndarray]:
    """Apply the documented repairs (module docstring) to one chunk of a stream.

    Parameters
    ----------
    t : array_like, shape ``(N,)``
        Timestamps in seconds, any order.
    x : array_like, shape ``(N, C)``
        Samples (m/s² or rad/s).
    impossible_abs : float, optional
        Samples with a |component| above this are dropped as corrupt.
    full_scale : float, optional
        The sensor's range, for saturation counting (None: inferred from clipped plateaus).
    after_t : float, optional
        Streaming: the last timestamp already consumed; samples at or before it are late and dropped.
    name : str
        Used in error messages.

    Returns
    -------
    t : ndarray float64 ``(M,)``, strictly increasing
    x : ndarray float64 ``(M, C)``
    report : RepairReport
    keep : ndarray int64 ``(M,)``
        Index into the input of each kept sample (the link back to the input).
    """
    t, x = check_stream_arrays(t, x, name)
    rep = RepairReport(received=len(t))
    idx = np.arange(len(t))
    ok_t = np.isfinite(t)
    rep.dropped_bad_time = int((~ok_t).sum())
    ok_x = np.isfinite(x).all(axis=1) & ok_t
    rep.dropped_nonfinite = int((ok_t & ~ok_x).sum())
    keep = ok_x
    if impossible_abs is not None:
        bad = keep & (np.abs(np.where(np.isfinite(x), x, 0.0)) > impossible_abs).any(axis=1)
        rep.dropped_impossible = int(bad.sum())
        keep = keep & ~bad
    t, x, idx = t[keep], x[keep], idx[keep]
    if len(t) > 1 and np.any(np.diff(t) < 0):
        order = np.argsort(t, kind="stable")
        rep.reordered = int((order != np.arange(len(order))).sum())
        t, x, idx = t[order], x[order], idx[order]
    if len(t) > 1:
        dup = np.concatenate([[False], np.diff(t) == 0])
        rep.duplicates = int(dup.sum())
        if rep.duplicates:
            t, x, idx = t[~dup], x[~dup], idx[~dup]
    if after_t is not None and len(t):
        late = t <= after_t
        rep.late = int(late.sum())
        if rep.late:
            t, x, idx = t[~late], x[~late], idx[~late]
    rep.saturated = int(detect_saturation(x, full_scale).sum())
    return t, x, rep, idx
