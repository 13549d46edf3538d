"""The whole preprocessing pipeline: raw streams → 25 Hz grid → filters → channels → windows.

One function, :func:`preprocess`, with explicit state. The phone calls it with each chunk the sensors
deliver; the trainer calls it once per recording (batch = one call from the initial state) and then
:func:`recording_windows`. Both get the same numbers (tested: stream == batch).

Stages, in order:

1. :func:`sdk.dsp.resample.resample` each stream (acc, and gyro on its own clock) onto the grid,
   with the repairs documented in :mod:`sdk.dsp.validate`.
2. Align: keep grid points both streams have (a hole in either is a hole in the output).
3. Gravity = low-pass(acc), lin = band-pass(acc); filter state restarts after every hole.
4. :func:`sdk.dsp.channels.compute_channels`.
5. :func:`sdk.dsp.windows.make_windows`.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.dsp import filters
from momentsense.sdk.dsp.channels import compute_channels
from momentsense.sdk.dsp.config import PreprocessConfig
from momentsense.sdk.dsp.resample import Resampled, ResamplerState, resample, resampler_init, segment_starts
from momentsense.sdk.dsp.validate import ACC_IMPOSSIBLE_MPS2, GYRO_IMPOSSIBLE_RAD_S, RepairReport, detect_saturation, needs_no_repair
from momentsense.sdk.dsp.windows import Windows, WindowerState, make_windows, windower_init
from momentsense.sdk.errors import InputError


@dataclasses.dataclass
class ChannelChunk:
    """Channels on the grid emitted by one :func:`preprocess` call.

    Attributes:
        k: int64 ``(M,)`` grid indices (time = k / fs_hz seconds).
        x: float32 ``(M, C)`` channels, in ``config.channels`` order.
        label: int16 ``(M,)`` or None.
        gaps: Holes not bridged, from either stream (:class:`sdk.dsp.resample.Gap`).
        acc_report, gyro_report: Repairs made to each stream in this chunk.
    """

    k: np.ndarray
    x: np.ndarray
    label: Optional[np.ndarray]
    gaps: list
    acc_report: RepairReport
    gyro_report: Optional[RepairReport]

    def __len__(self) -> int:
        return int(len(self.k))


@dataclasses.dataclass
class PipelineState:
    """Everything :func:`preprocess` carries between chunks. Create with :func:`pipeline_init`."""

    config: PreprocessConfig
    acc: ResamplerState
    gyro: Optional[ResamplerState]
    # Grid rows resampled from one stream and still waiting for the other.
    pend_acc_k: np.ndarray
    pend_acc_x: np.ndarray
    pend_acc_label: Optional[np.ndarray]
    pend_gyro_k: np.ndarray
    pend_gyro_x: np.ndarray
    last_k: Optional[int] = None
    lp: Optional[np.ndarray] = None
    bp: Optional[np.ndarray] = None
    sos_lp: Optional[np.ndarray] = None
    sos_bp: Optional[np.ndarray] = None


def pipeline_init(config: Optional[PreprocessConfig] = None) -> PipelineState:
    """Initial pipeline state for ``config`` (default :class:`PreprocessConfig`)."""
    config = config or PreprocessConfig()
    return PipelineState(
        config=config,
        acc=resampler_init(config.fs_hz, config.max_gap_s),
        gyro=resampler_init(config.fs_hz, config.max_gap_s) if config.needs_gyro else None,
        pend_acc_k=np.zeros(0, np.int64),
        pend_acc_x=np.zeros((0, 3)),
        pend_acc_label=None,
        pend_gyro_k=np.zeros(0, np.int64),
        pend_gyro_x=np.zeros((0, 3)),
        sos_lp=np.array(config.sos_lowpass),
        sos_bp=np.array(config.sos_bandpass),
    )


def _check_xyz(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3:
        raise InputError(f"{name} must have shape (N, 3) (x, y, z), got {x.shape}")
    return x


def preprocess(
    acc_t: np.ndarray,
    acc: np.ndarray,
    state: PipelineState,
    *,
    gyro_t: Optional[np.ndarray] = None,
    gyro: Optional[np.ndarray] = None,
    labels: Optional[np.ndarray] = None,
) -> tuple[ChannelChunk, PipelineState]:
    """Run one chunk of raw sensor data through the pipeline.

    Parameters
    ----------
    acc_t : array_like ``(N,)``
        Accelerometer sample times, seconds.
    acc : array_like ``(N, 3)``
        Acceleration including gravity, m/s², device frame.
    state : PipelineState
        From :func:`pipeline_init` or the previous call. Not modified.
    gyro_t : array_like ``(K,)``, optional
        Gyroscope sample times in seconds; None means the gyroscope shares ``acc_t``.
    gyro : array_like ``(K, 3)``, optional
        Angular rate, rad/s, device frame. Required when the config has gyro channels (it may be
        empty in a chunk: its rows then wait for the next chunk).
    labels : array_like int ``(N,)``, optional
        Per-sample class index of the accelerometer samples (-1 unknown).

    Returns
    -------
    chunk : ChannelChunk
    state : PipelineState
    """
    cfg = state.config
    acc = _check_xyz(acc, "acc")
    new = copy.copy(state)  # the caller's state is never modified (its arrays are replaced, not written)
    fused = _resample_together(acc_t, acc, gyro_t, gyro, state) if labels is None and cfg.needs_gyro else None
    if fused is not None:
        ra, rg, new.acc, new.gyro = fused
        gaps = list(ra.gaps) + rg.gaps
        k, a, lab, g = _align(new, ra.k, ra.x, None, rg.k, rg.x)
        return _filtered(new, k, a, lab, g, gaps, ra.report, rg.report)
    ra, acc_state = resample(acc_t, acc, state.acc, labels=labels, impossible_abs=ACC_IMPOSSIBLE_MPS2, name="acc")
    new.acc = acc_state
    gaps = list(ra.gaps)
    gyro_report = None
    if cfg.needs_gyro:
        if gyro is None:
            raise InputError(f"the channels {list(cfg.channels)} need gyroscope samples; pass gyro= (may be empty in a chunk)")
        gyro = _check_xyz(gyro, "gyro")
        gt = acc_t if gyro_t is None else gyro_t
        rg, gyro_state = resample(gt, gyro, state.gyro, impossible_abs=GYRO_IMPOSSIBLE_RAD_S, name="gyro")
        new.gyro = gyro_state
        gaps += rg.gaps
        gyro_report = rg.report
        k, a, lab, g = _align(new, ra.k, ra.x, ra.label, rg.k, rg.x)
    else:
        k, a, lab, g = ra.k, ra.x, ra.label, None
    return _filtered(new, k, a, lab, g, gaps, ra.report, gyro_report)


def _filtered(new: PipelineState, k, a, lab, g, gaps: list, acc_report, gyro_report) -> tuple[ChannelChunk, PipelineState]:
    """Stages 3 and 4 on the aligned grid rows (filter state restarts after every hole)."""
    cfg = new.config
    n = len(k)
    gravity = np.empty((n, 3))
    lin = np.empty((n, 3))
    bounds = np.concatenate([segment_starts(k, new.last_k), [n]]).astype(np.int64)
    if len(bounds) and bounds[0] != 0:
        bounds = np.concatenate([[0], bounds])
    for s, e in zip(bounds[:-1], bounds[1:]):
        if e <= s:
            continue
        if s > 0 or new.lp is None or new.last_k is None or k[0] != new.last_k + 1:
            new.lp = filters.filter_init(new.sos_lp, a[s])
            new.bp = filters.filter_init(new.sos_bp, a[s])
        gravity[s:e], new.lp = filters.filter_chunk(new.sos_lp, a[s:e], new.lp)
        lin[s:e], new.bp = filters.filter_chunk(new.sos_bp, a[s:e], new.bp)
    if n:
        new.last_k = int(k[-1])
    x = compute_channels(cfg.channels, a, gravity, lin, g)
    return ChannelChunk(k, x, lab, gaps, acc_report, gyro_report), new


def _resample_together(acc_t, acc: np.ndarray, gyro_t, gyro, state: PipelineState):
    """Both streams in one resampling pass when they share their timestamps, are in step and need no
    repair (the usual phone chunk); None otherwise (each stream then goes on its own). The same
    numbers as two passes: interpolation is per channel, and each stream keeps its own report."""
    sa, sg = state.acc, state.gyro
    if gyro is None or sg is None or sa.last_t != sg.last_t or sa.next_k != sg.next_k:
        return None
    if len(state.pend_acc_k) or len(state.pend_gyro_k):
        return None
    t = np.asarray(acc_t, np.float64)
    if gyro_t is not None and gyro_t is not acc_t:
        gt = np.asarray(gyro_t, np.float64)
        if gt.shape != t.shape or not np.array_equal(gt, t):
            return None
    g = np.asarray(gyro, np.float64)
    if g.shape != acc.shape or not (needs_no_repair(t, acc, ACC_IMPOSSIBLE_MPS2, sa.last_t)
                                    and needs_no_repair(t, g, GYRO_IMPOSSIBLE_RAD_S, sg.last_t)):
        return None
    both = copy.copy(sa)
    if sa.last_x is not None:
        both.last_x = np.concatenate([sa.last_x, sg.last_x])
    r, st = resample(t, np.concatenate([acc, g], axis=1), both, name="acc+gyro")
    reports = [RepairReport(received=len(t), saturated=int(detect_saturation(x, None).sum())) for x in (acc, g)]
    outs, states = [], []
    for cols, rep, base in ((slice(0, 3), reports[0], sa), (slice(3, 6), reports[1], sg)):
        outs.append(Resampled(r.k, r.x[:, cols], None, list(r.gaps), rep, r.fs_hz))
        s = copy.copy(base)
        s.last_t, s.last_x, s.last_label, s.next_k = st.last_t, st.last_x[cols].copy(), -1, st.next_k
        states.append(s)
    return outs[0], outs[1], states[0], states[1]


def _align(state: PipelineState, ak, ax, al, gk, gx):
    """Join acc and gyro grid rows on k; rows one stream lacks are dropped once the other has moved on."""
    if ak is gk and al is None and not len(state.pend_acc_k) and not len(state.pend_gyro_k):
        return ak, ax, None, gx  # resampled together: the same rows, nothing pending
    ak = np.concatenate([state.pend_acc_k, ak])
    ax = np.concatenate([state.pend_acc_x, ax])
    if al is not None:
        prev = state.pend_acc_label if state.pend_acc_label is not None else np.zeros(0, np.int16)
        al = np.concatenate([prev, al])
    gk = np.concatenate([state.pend_gyro_k, gk])
    gx = np.concatenate([state.pend_gyro_x, gx])
    if len(ak) == 0 or len(gk) == 0:
        bound = None
    else:
        bound = min(int(ak[-1]), int(gk[-1]))
    if bound is None:
        done_a = np.zeros(len(ak), bool)
        done_g = np.zeros(len(gk), bool)
    else:
        done_a, done_g = ak <= bound, gk <= bound
    common, ia, ig = np.intersect1d(ak[done_a], gk[done_g], assume_unique=True, return_indices=True)
    state.pend_acc_k, state.pend_acc_x = ak[~done_a], ax[~done_a]
    state.pend_acc_label = al[~done_a] if al is not None else None
    state.pend_gyro_k, state.pend_gyro_x = gk[~done_g], gx[~done_g]
    lab = al[done_a][ia] if al is not None else None
    return common, ax[done_a][ia], lab, gx[done_g][ig]


def recording_windows(
    acc_t: np.ndarray,
    acc: np.ndarray,
    config: Optional[PreprocessConfig] = None,
    *,
    gyro_t: Optional[np.ndarray] = None,
    gyro: Optional[np.ndarray] = None,
    labels: Optional[np.ndarray] = None,
) -> tuple[Windows, ChannelChunk]:
    """Batch path: preprocess a whole recording and cut its windows (one call from the initial state).

    Returns
    -------
    windows : Windows
        ``x`` of shape ``(W, config.window_len, len(config.channels))``.
    chunk : ChannelChunk
        The channel stream and the repair reports (for diagnostics).
    """
    config = config or PreprocessConfig()
    chunk, _ = preprocess(acc_t, acc, pipeline_init(config), gyro_t=gyro_t, gyro=gyro, labels=labels)
    wstate = windower_init(config.window_len, config.hop_len, len(config.channels))
    windows, _ = make_windows(chunk.k, chunk.x, wstate, chunk.label)
    return windows, chunk


__all__ = [
    "ChannelChunk",
    "PipelineState",
    "pipeline_init",
    "preprocess",
    "recording_windows",
    "Windows",
    "WindowerState",
    "windower_init",
    "make_windows",
]
