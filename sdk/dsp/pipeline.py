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

import dataclasses
from typing import Optional

import numpy as np

from momentsense.sdk.dsp import filters
from momentsense.sdk.dsp.channels import compute_channels
from momentsense.sdk.dsp.config import PreprocessConfig
from momentsense.sdk.dsp.resample import ResamplerState, resample, resampler_init, segment_starts
from momentsense.sdk.dsp.validate import ACC_IMPOSSIBLE_MPS2, GYRO_IMPOSSIBLE_RAD_S, RepairReport
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
        sos_lp=filters.design_lowpass(config.gravity_cutoff_hz, config.fs_hz, config.filter_order),
        sos_bp=filters.design_bandpass(config.band_low_hz, config.band_high_hz, config.fs_hz, config.filter_order),
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
    ra, acc_state = resample(acc_t, acc, state.acc, labels=labels, impossible_abs=ACC_IMPOSSIBLE_MPS2, name="acc")
    new = dataclasses.replace(state, acc=acc_state)
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
    return ChannelChunk(k, x, lab, gaps, ra.report, gyro_report), new


def _align(state: PipelineState, ak, ax, al, gk, gx):
    """Join acc and gyro grid rows on k; rows one stream lacks are dropped once the other has moved on."""
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
