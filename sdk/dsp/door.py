"""The one check of a sensor chunk at the SDK's door (:meth:`sdk.runtime.MomentSDK.feed`).

Everything an app or a sensor source hands the runtime passes here once; the stages after it
(pipeline, driving, GPS timeline) get typed arrays: float64, C-contiguous, ``(N,)`` times and
``(N, 3)`` samples. What this refuses with :class:`~sdk.errors.InputError` (the chunk is not used
and the runtime's state is untouched, so the next good chunk carries on):

===============================  ================================================================
problem                          what happens
===============================  ================================================================
not numbers (strings, objects)   InputError naming the array
wrong shapes, length mismatch    InputError naming expected and received shapes
timestamp outside unix range     InputError naming the index and value: a time before 1970 or from
                                 2100 on (``1e300``, a chunk stamped in the year 3000) is a broken
                                 clock; accepting it would make every later real sample "late"
GPS entry that is not a GpsFix   InputError naming the index
===============================  ================================================================

Per-sample repairs (NaN values, unsorted or duplicate times, impossible magnitudes, late samples)
stay in :mod:`sdk.dsp.validate` and are counted in ``MomentSDK.stats()["sensor_repairs"]``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from momentsense.sdk.errors import InputError

#: Timestamps must lie in ``[0, MAX_UNIX_S)``: 1970-01-01 up to 2100-01-01 (UTC), seconds.
MAX_UNIX_S = 4_102_444_800.0


def _numeric(a: Any, name: str, ndim: int) -> np.ndarray:
    if (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == ndim and a.flags.c_contiguous
            and (ndim == 1 or a.shape[1] == 3)):
        return a
    try:
        out = np.ascontiguousarray(a, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{name} must hold numbers, got {type(a).__name__} that does not convert ({exc})") from None
    if ndim == 2 and out.size == 0:
        out = out.reshape(0, 3)
    if out.ndim != ndim or (ndim == 2 and out.shape[1] != 3):
        want = "(N,)" if ndim == 1 else "(N, 3) (x, y, z)"
        raise InputError(f"{name} must have shape {want}, got {out.shape}")
    return out


def _times(t: Any, name: str) -> np.ndarray:
    t = _numeric(t, name, 1)
    if len(t) and (t.min() < 0.0 or t.max() >= MAX_UNIX_S):  # NaN compares False: a per-sample repair
        wrong = np.isfinite(t) & ((t < 0.0) | (t >= MAX_UNIX_S))  # ±inf too is a per-sample repair
        if wrong.any():
            bad = int(np.flatnonzero(wrong)[0])
            raise InputError(f"{name}[{bad}] = {float(t[bad])!r} s is not a unix time in [0, {MAX_UNIX_S:.0f}) "
                             "(1970 to 2100): the chunk is refused, the stream carries on with the next one")
    return t


def check_chunk(chunk: Any, gps_type: Optional[type] = None) -> Any:
    """Check and convert one sensor chunk (a :class:`sdk.sources.SensorChunk`); returns it with typed arrays.

    Parameters
    ----------
    chunk : SensorChunk
        ``acc_t`` (N,) unix s, ``acc`` (N, 3) m/s², ``gyro_t`` (K,) unix s or None, ``gyro`` (K, 3) rad/s,
        ``gps`` list of fixes, ``label`` (N,) int or None.
    gps_type : type, optional
        The class every GPS entry must be (:class:`sdk.timeline.records.GpsFix`).

    Raises
    ------
    InputError
        See the module table.
    """
    acc_t = _times(chunk.acc_t, "acc_t")
    acc = _numeric(chunk.acc, "acc", 2)
    if len(acc) != len(acc_t):
        raise InputError(f"acc_t has {len(acc_t)} timestamps but acc has {len(acc)} samples; each sample needs one")
    gyro_t = None if chunk.gyro_t is None else _times(chunk.gyro_t, "gyro_t")
    gyro = chunk.gyro
    if gyro is not None:
        gyro = _numeric(gyro, "gyro", 2)
        n_t = len(acc_t) if gyro_t is None else len(gyro_t)
        if len(gyro) != n_t and not (gyro_t is None and len(gyro) == 0):
            raise InputError(f"gyro has {len(gyro)} samples but {n_t} timestamps ({'acc_t' if gyro_t is None else 'gyro_t'})")
    label = chunk.label
    if label is not None:
        try:
            label = np.asarray(label, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError(f"label must hold integers ({exc})") from None
        if label.shape != acc_t.shape:
            raise InputError(f"label must have shape ({len(acc_t)},) like acc_t, got {label.shape}")
    gps = chunk.gps if chunk.gps is not None else []
    if gps_type is not None:
        for i, f in enumerate(gps):
            if not isinstance(f, gps_type):
                raise InputError(f"gps[{i}] must be a {gps_type.__name__}, got {type(f).__name__}")
    if (acc_t is chunk.acc_t and acc is chunk.acc and gyro_t is chunk.gyro_t and gyro is chunk.gyro
            and label is chunk.label and gps is chunk.gps):
        return chunk
    return dataclasses.replace(chunk, acc_t=acc_t, acc=acc, gyro_t=gyro_t, gyro=gyro, label=label, gps=gps)
