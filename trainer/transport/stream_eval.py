"""``eval transport --stream``: a labelled file through exactly what the phone runs, scored per second.

Each recording is fed to a fresh :class:`sdk.runtime.MomentSDK` (push mode, :meth:`~sdk.runtime.MomentSDK.feed`)
in chunks of ``chunk_s`` seconds (10 s, as the phone buffers): the transport detector with its
context heads, HMM, duty cycling, GPS heads (with ``gps``) and the GPS-stay prior of the live
timeline. The weekly segment job and the driving stage are off: neither feeds back into the mode.

Two answers are scored for every second of the recording:

* ``stream``: the transport events that make the timeline (what :meth:`MomentSDK.feed` and
  :meth:`MomentSDK.finish` return; settled by the lagged head when the model ships one). A second
  takes the mode of the event that covers its midpoint.
* ``stream_live``: what :meth:`MomentSDK.current_context` said at that second, i.e. the answer given
  after the last chunk that ended at or before it (a phone polling the SDK each second sees that).

The true label of a second is the label of the accelerometer sample nearest its midpoint, if one
lies within :data:`TRUTH_TOLERANCE_S`; other seconds (sensor gaps) are not scored. A labelled second
with no answer (before the first window, inside a gap the detector closed) counts in
``unanswered_seconds``, not in the confusion matrix.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.records import VEHICLE_MODES, ImuDataset, ImuRecording
from momentsense.trainer.transport.label_map import resolve_label_map

#: A second is labelled by the nearest accelerometer sample within this many seconds of its midpoint.
#: 2.5 s covers the ~0.5-1.3 s steps of on-change logging at 1-5 Hz, not sensor gaps.
TRUTH_TOLERANCE_S = 2.5


@dataclasses.dataclass
class StreamedRecording:
    """Per-second truth and answers of one recording.

    Attributes:
        id: Recording id.
        truth: int ``(S,)`` file label index per second (-1: not labelled / in a sensor gap).
        stream: int ``(S,)`` model class of the timeline's events (-1: no event covers the second).
        live: int ``(S,)`` model class answered by ``current_context()`` (-1: no answer yet).
        windows, windows_skipped: Windows the detector cut, and those duty cycling kept from the model.
    """

    id: str
    truth: np.ndarray
    stream: np.ndarray
    live: np.ndarray
    windows: int = 0
    windows_skipped: int = 0


def truth_per_second(t: np.ndarray, label: np.ndarray, mids: np.ndarray, tol_s: float = TRUTH_TOLERANCE_S) -> np.ndarray:
    """Label of the sample nearest each midpoint ``mids`` (s), -1 when none lies within ``tol_s``."""
    order = np.argsort(t, kind="stable")
    ts, ls = np.asarray(t, np.float64)[order], np.asarray(label)[order].astype(np.int64)
    if len(ts) == 0:
        return np.full(len(mids), -1, np.int64)
    j = np.clip(np.searchsorted(ts, mids), 1, len(ts) - 1) if len(ts) > 1 else np.zeros(len(mids), np.int64)
    prev = np.maximum(j - 1, 0)
    nearer_prev = np.abs(mids - ts[prev]) <= np.abs(ts[j] - mids)
    k = np.where(nearer_prev, prev, j)
    out = ls[k].copy()
    out[np.abs(ts[k] - mids) > tol_s] = -1
    return out


def _fixes(rec: ImuRecording, a: float, b: float) -> list:
    from momentsense.sdk.timeline.records import GpsFix

    g = rec.gps
    if g is None or len(g.t) == 0:
        return []
    sel = np.flatnonzero((g.t >= a) & (g.t < b))
    acc = g.accuracy_m if g.accuracy_m is not None else np.full(len(g.t), np.nan)
    spd = g.speed_mps if g.speed_mps is not None else np.full(len(g.t), np.nan)
    return [GpsFix(float(g.t[i]), float(g.lat[i]), float(g.lon[i]), float(acc[i]), float(spd[i])) for i in sel]


def stream_recording(rec: ImuRecording, model_path: Optional[str], gps: bool, label_names: Sequence[str],
                     chunk_s: float = 10.0) -> StreamedRecording:  # fmt: skip
    """Feed one recording to a fresh :class:`MomentSDK` in ``chunk_s`` chunks; per-second answers.

    ``gps``: feed the recording's fixes and say location is on (only where it carries a track);
    otherwise location is off and the GPS heads never run. ``label_names``: the model's classes.
    """
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.sdk.sources import SensorChunk
    from momentsense.sdk.transport.options import ModelOptions

    cfg = SDKConfig(model=ModelOptions(path=model_path), transport_gps=gps, driving_enabled=False, weekly_segments=False)
    sdk = MomentSDK(cfg)
    t = np.asarray(rec.t, np.float64)
    gyro_t = np.asarray(rec.gyro_t if rec.gyro_t is not None else rec.t, np.float64)
    gps_on = bool(gps and rec.gps is not None)
    t0, t1 = float(np.nanmin(t)), float(np.nanmax(t))
    edges = np.arange(t0, t1 + chunk_s, chunk_s)
    events, answers = [], []
    try:
        for a, b in zip(edges[:-1], edges[1:]):
            sel = (t >= a) & (t < b)
            gsel = (gyro_t >= a) & (gyro_t < b)
            chunk = SensorChunk(t[sel], rec.acc[sel], gyro_t[gsel], rec.gyro[gsel], _fixes(rec, a, b) if gps_on else [],
                                None, gps_on)  # fmt: skip
            events += sdk.feed(chunk)
            answers.append((float(b), sdk.current_context().mode))
        events += sdk.finish()
        stats = sdk.stats()
    finally:
        sdk.close()
    index = {n: i for i, n in enumerate(label_names)}
    n_sec = int(np.floor(t1 - t0)) + 1
    mids = t0 + np.arange(n_sec) + 0.5
    truth = truth_per_second(t, rec.label, mids) if rec.label is not None else np.full(n_sec, -1, np.int64)
    stream = np.full(n_sec, -1, np.int64)
    for e in events:
        stream[(mids >= e.start) & (mids < e.end)] = index[e.mode]
    live = np.full(n_sec, -1, np.int64)
    if answers:
        at = np.array([a for a, _ in answers])
        modes = np.array([-1 if m is None else index[m] for _, m in answers])
        j = np.searchsorted(at, mids, side="right") - 1  # the last answer given at or before the second
        live[j >= 0] = modes[j[j >= 0]]
    return StreamedRecording(rec.id, truth, stream, live, stats["windows"], stats["windows_skipped"])


def score_seconds(truth: np.ndarray, pred: np.ndarray, file_names: Sequence[str], model_names: Sequence[str],
                  mapping: dict) -> dict:  # fmt: skip
    """Per-second scores: ``label_names`` (model), ``file_label_names``, ``confusion_seconds``
    (rows: file labels, columns: every model class), ``recall`` and ``as_vehicle`` per file label,
    ``recall_by_class`` and ``as_vehicle_by_class`` (file labels pooled by the model class they map to),
    ``unanswered_seconds`` per file label, ``seconds`` scored, ``label_map``."""
    nf, nm = len(file_names), len(model_names)
    ok = (truth >= 0) & (pred >= 0)
    cm = np.bincount(truth[ok] * nm + pred[ok], minlength=nf * nm).reshape(nf, nm)
    unanswered = np.bincount(truth[(truth >= 0) & (pred < 0)], minlength=nf)
    vehicle = [j for j, m in enumerate(model_names) if m in VEHICLE_MODES]
    recall, as_vehicle = {}, {}
    for i, name in enumerate(file_names):
        n = cm[i].sum()
        target = mapping.get(name)
        recall[name] = float(cm[i, list(model_names).index(target)] / n) if n and target is not None else None
        as_vehicle[name] = float(cm[i, vehicle].sum() / n) if n else None
    by_class, veh_class = {}, {}
    for j, cls in enumerate(model_names):
        rows = [i for i, name in enumerate(file_names) if mapping.get(name) == cls]
        n = cm[rows].sum() if rows else 0
        if n:
            by_class[cls] = float(cm[rows, j].sum() / n)
            veh_class[cls] = float(cm[np.ix_(rows, vehicle)].sum() / n)
    return {
        "label_names": list(model_names),
        "file_label_names": list(file_names),
        "confusion_seconds": cm.astype(int).tolist(),
        "recall": recall,
        "as_vehicle": as_vehicle,
        "recall_by_class": by_class,
        "as_vehicle_by_class": veh_class,
        "unanswered_seconds": {name: int(unanswered[i]) for i, name in enumerate(file_names)},
        "seconds": int(cm.sum()),
        "label_map": dict(mapping),
    }


def evaluate_stream(ds: ImuDataset, model_path: Optional[str] = None, gps: Optional[bool] = None,
                    label_map: Optional[dict] = None, chunk_s: float = 10.0) -> dict:  # fmt: skip
    """Stream every recording of ``ds`` through the SDK and score per second.

    Parameters
    ----------
    ds : ImuDataset
        Labelled recordings (``label`` per accelerometer sample).
    model_path : str, optional
        The ``.tflite`` model (manifest beside it); None = the shipped one.
    gps : bool, optional
        Feed GPS fixes with location on; None = when the data carries any GPS track.
    label_map : dict, optional
        Overrides ``{file label: model class}`` (``"*"`` for all), see :mod:`trainer.transport.label_map`.
    chunk_s : float
        Seconds per chunk fed to the SDK.

    Returns
    -------
    result : dict
        ``{"stream": {...}, "stream_live": {...}, "recordings", "skipped_recordings", "windows",
        "windows_skipped", "gps", "chunk_s"}``, the two scores as :func:`score_seconds` returns.
    """
    from pathlib import Path

    from momentsense.sdk.models.manifest import read_manifest
    from momentsense.sdk.transport.options import default_model_path

    path = Path(model_path) if model_path else default_model_path()
    model_names = list(read_manifest(path.with_suffix(".json")).label_names)
    mapping = resolve_label_map(list(ds.label_names), model_names, label_map)
    use_gps = any(r.gps is not None for r in ds.recordings) if gps is None else bool(gps)
    truth, stream, live, skipped = [], [], [], {}
    windows = windows_skipped = 0
    for rec in ds.recordings:
        if rec.label is None or len(rec.t) < 2:
            skipped[rec.id] = "no labels" if rec.label is None else "fewer than 2 samples"
            continue
        if rec.gyro is None or len(rec.gyro) == 0:
            skipped[rec.id] = "no gyroscope (the model's channels need it)"
            continue
        r = stream_recording(rec, str(path), use_gps, model_names, chunk_s)
        truth.append(r.truth), stream.append(r.stream), live.append(r.live)
        windows += r.windows
        windows_skipped += r.windows_skipped
    if not truth:
        from momentsense.sdk.errors import InputError

        raise InputError(f"no recording of the data could be streamed: {skipped}")
    y, ps, pl = np.concatenate(truth), np.concatenate(stream), np.concatenate(live)
    names = list(ds.label_names)
    return {
        "stream": score_seconds(y, ps, names, model_names, mapping),
        "stream_live": score_seconds(y, pl, names, model_names, mapping),
        "recordings": len(truth),
        "skipped_recordings": skipped,
        "windows": windows,
        "windows_skipped": windows_skipped,
        "gps": use_gps,
        "chunk_s": chunk_s,
        "model": str(path),
    }
