"""Vehicle frame without GPS: forward axis from straight driving, sign from the drive's first speed-up.

Used by :mod:`sdk.driving.detect` while a drive has brought no GPS speed (the GPS method there needs
``dv/dt``). numpy only, explicit state, stream == batch.

Method
------
1. Axis (a line, sign unknown): in straight driving (``|ω| < straight_yaw_rad_s``) the horizontal
   acceleration ``a_h`` (complex, gravity removed) is longitudinal: speeding up and slowing down.
   Its principal axis is ``arg(P)/2`` with ``P = Σ a_h²`` (the doubled angle folds forward and
   backward onto one direction), accumulated causally with exponential forgetting
   (``principal_memory_s``). Turns are left out: their centripetal acceleration is lateral and, in
   a drive made mostly of turns, would become the principal axis.
2. Sign: a drive starts from rest, so the first sustained straight acceleration along the axis
   (``|projection| > launch_mps2`` with one sign for ``launch_s``) is a speed-up: its direction is
   forward. No longitudinal event is reported before that.
   After the phone was moved (phone handling, an impact) a speed-up can no longer be told from a
   braking, and the whole angle comes from the turns instead: a car's centripetal acceleration
   ``v·ω`` points to the inside of the turn, so the forward angle is ``arg S`` with
   ``S = Σ a_h·conj(i·v·ω)`` (``v`` = ``assumed_speed_mps``; right-handed phone axes), trusted
   once ``|S|`` reaches ``axis_min_evidence_m2_s3``: the GPS method of :mod:`sdk.driving.detect`
   without its ``dv/dt`` term.
3. Afterwards the forward angle follows the axis continuously (the doubled angle is unwrapped), so
   a slowly drifting estimate keeps its sign.

Cornering needs no axis: a car's harsh horizontal acceleration while it yaws faster than
``turn_yaw_rad_s`` is a turn (its centripetal part dominates), and one without yaw is longitudinal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

#: Longest block of the closed-form forgetting sum (keeps λ^-k well inside float64).
_BLOCK = 1024


@dataclasses.dataclass
class AxisState:
    """What the no-GPS axis estimate carries between chunks.

    Attributes:
        p: Forgetting sum of ``a_h²`` over straight driving, (m/s²)²·s (complex).
        run: Signed count of consecutive straight samples projecting beyond the launch threshold.
        offset: 0 or π once the sign is known (forward = unwrapped doubled angle / 2 + offset); None before.
        last2: Last unwrapped doubled angle, rad (None before the first sample).
        seen_s: Seconds of drive seen (harsh events wait ``settle_s``).
        relearn: The phone was moved: the angle comes from turns, not from straight driving.
        s_turn: Turn evidence ``S`` for that, (m/s²)²·s (complex).
    """

    p: complex = 0j
    run: int = 0
    offset: Optional[float] = None
    last2: Optional[float] = None
    seen_s: float = 0.0
    relearn: bool = False
    s_turn: complex = 0j


def forgetting_sum(x: np.ndarray, lam: float, s0: complex) -> np.ndarray:
    """``y[n] = lam·y[n-1] + x[n]`` with ``y[-1] = s0`` (numpy, blockwise closed form)."""
    y = np.empty(len(x), dtype=np.result_type(x, complex))
    s = complex(s0)
    for a in range(0, len(x), _BLOCK):
        blk = x[a:a + _BLOCK]
        k = np.arange(1, len(blk) + 1)
        y[a:a + len(blk)] = lam ** k * (s + np.cumsum(blk * lam ** -k))
        s = complex(y[a + len(blk) - 1])
    return y


def forward_angle(ah: np.ndarray, omega: np.ndarray, state: AxisState, fs_hz: float, options) -> tuple[np.ndarray, AxisState]:
    """Forward direction (rad, in the ``a_h`` plane) per grid sample, NaN until the sign is known.

    Parameters
    ----------
    ah : complex ndarray ``(n,)``
        Horizontal acceleration, m/s² (gravity removed, low-passed).
    omega : ndarray ``(n,)``
        Yaw rate, rad/s.
    state : AxisState
        From the previous call (not modified).
    fs_hz : float
        Grid rate, Hz.
    options : DrivingOptions
        ``straight_yaw_rad_s``, ``principal_memory_s``, ``launch_mps2``, ``launch_s``.
    """
    st = dataclasses.replace(state)
    n = len(ah)
    if n == 0:
        return np.zeros(0), st
    straight = np.abs(omega) < options.straight_yaw_rad_s
    lam = math.exp(-1.0 / (fs_hz * options.principal_memory_s))
    p = forgetting_sum(np.where(straight, ah * ah, 0) / fs_hz, lam, st.p)
    st.p = complex(p[-1])
    dbl = np.angle(p)
    if st.last2 is not None:  # continue the unwrapping across chunks
        dbl = dbl + 2 * np.pi * np.round((st.last2 - dbl[0]) / (2 * np.pi))
    dbl = np.unwrap(dbl)
    st.last2 = float(dbl[-1])
    axis = dbl / 2.0
    out = np.full(n, np.nan)
    start = 0
    if st.relearn:
        lam_t = math.exp(-1.0 / (fs_hz * options.axis_memory_s))
        z = 1j * options.assumed_speed_mps * omega
        s_turn = forgetting_sum(ah * np.conj(z) / fs_hz, lam_t, st.s_turn)
        st.s_turn = complex(s_turn[-1])
        out = np.where(np.abs(s_turn) >= options.axis_min_evidence_m2_s3, np.angle(s_turn), np.nan)
        st.seen_s += n / fs_hz
        return out, st
    if st.offset is None:
        proj = (ah * np.exp(-1j * axis)).real
        sign = np.where(straight & (proj > options.launch_mps2), 1, np.where(straight & (proj < -options.launch_mps2), -1, 0))
        need = max(1, int(round(options.launch_s * fs_hz)))
        run, found = st.run, None
        starts = np.flatnonzero(np.r_[True, np.diff(sign) != 0])
        for a, b in zip(starts, np.r_[starts[1:], n]):
            s = int(sign[a])
            if s == 0:
                run = 0
                continue
            prev = abs(run) if a == 0 and run * s > 0 else 0  # a run carries over only from the last chunk
            if prev + (b - a) >= need:
                found = int(a + need - prev - 1)
                st.offset = 0.0 if s > 0 else math.pi
                break
            run = s * (prev + (b - a))
        st.run = run
        if found is None:
            st.seen_s += n / fs_hz
            return out, st
        start = found
    out[start:] = axis[start:] + st.offset
    st.seen_s += n / fs_hz
    return out, st
