"""From ``momentsense-imu-v1`` datasets to labelled model windows, through the SDK's own pipeline.

Recordings are preprocessed whole (:func:`sdk.dsp.recording_windows`, the same code the phone runs
chunk by chunk) and windowed; pre-cut windows are resampled to 25 Hz one by one and used as they
are, so the model's input length then follows the dataset's window length.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Optional, Sequence

import numpy as np

from momentsense.sdk.dsp import PreprocessConfig, recording_windows
from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset, ImuRecording, WindowSet
from momentsense.trainer.transport.augment import AugmentConfig, augment_recording


@dataclasses.dataclass
class WindowData:
    """Labelled windows with the ids needed for honest splits.

    Attributes:
        x: float32 ``(W, L, C)`` channels (not yet normalised).
        y: int64 ``(W,)`` class index.
        subject: str ``(W,)`` who carried the phone.
        device: str ``(W,)`` which phone ("" when unknown).
        recording: int64 ``(W,)`` index of the source recording (windows of one recording are consecutive).
        k_start: int64 ``(W,)`` grid index of the first sample (time = k / fs_hz).
        purity: float32 ``(W,)`` share of the window's samples carrying its label (1 = no transition inside).
        gps: float64 ``(W, 3)`` the window's GPS numbers (:func:`sdk.transport.gps.gps_features`,
            default :class:`~sdk.transport.gps.GpsFeatureConfig`); NaN rows where the recording has no
            GPS track (the file carries none: not the same as a phone that got no fix).
    """

    x: np.ndarray
    y: np.ndarray
    subject: np.ndarray
    device: np.ndarray
    recording: np.ndarray
    k_start: np.ndarray
    purity: np.ndarray
    gps: np.ndarray

    def __len__(self) -> int:
        return int(len(self.y))

    def take(self, idx: np.ndarray) -> "WindowData":
        """The windows at ``idx`` (order kept)."""
        return WindowData(*(getattr(self, f.name)[idx] for f in dataclasses.fields(self)))

    @staticmethod
    def concat(parts: Sequence["WindowData"]) -> "WindowData":
        parts = [p for p in parts if len(p)]
        if not parts:
            raise InputError("no labelled windows: every recording was shorter than one window or unlabelled")
        return WindowData(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in dataclasses.fields(WindowData)))


def config_for_dataset(ds: ImuDataset, base: Optional[PreprocessConfig] = None) -> PreprocessConfig:
    """The pipeline config for ``ds``: ``base`` for recordings; for pre-cut windows, the window length follows the data.

    Pre-cut windows of ``L`` samples at ``fs`` Hz become ``floor((L - 1) / fs · 25) + 1`` grid points;
    the hop equals the window (they are independent windows). Channels that need a gyroscope are
    dropped from the default when the dataset has none.
    """
    base = base or PreprocessConfig()
    has_gyro = all(r.gyro is not None for r in ds.recordings) and (ds.windows is None or ds.windows.gyro is not None)
    if base.needs_gyro and not has_gyro:
        base = dataclasses.replace(base, channels=tuple(c for c in base.channels if not c.startswith("gyro")))
    if ds.windows is not None and len(ds.windows) and not ds.recordings:
        length_src = ds.windows.acc.shape[1]
        n_grid = int(np.floor((length_src - 1) / ds.windows.sampling_hz * base.fs_hz + 1e-6)) + 1
        window_s = n_grid / base.fs_hz
        base = dataclasses.replace(base, window_s=window_s, hop_s=window_s)
    return base


def check_labels(ds: ImuDataset, where: str = "dataset") -> None:
    """Refuse data a classifier cannot be trained on, naming the problem."""
    n_cls = len(ds.label_names)
    seen: set[int] = set()
    for rec in ds.recordings:
        if rec.label is None:
            continue
        lab = np.asarray(rec.label)
        bad = lab[(lab < -1) | (lab >= n_cls)]
        if len(bad):
            raise InputError(f"{where}: recording {rec.id!r} has label {int(bad[0])} outside label_names (0..{n_cls - 1}, or -1)")
        seen.update(np.unique(lab[lab >= 0]).tolist())
    if ds.windows is not None and len(ds.windows):
        lab = np.asarray(ds.windows.label)
        bad = lab[(lab < -1) | (lab >= n_cls)]
        if len(bad):
            raise InputError(f"{where}: window label {int(bad[0])} outside label_names (0..{n_cls - 1}, or -1)")
        seen.update(np.unique(lab[lab >= 0]).tolist())
    if not seen:
        raise InputError(f"{where}: no labels: nothing to train or evaluate on (labels missing or all -1)")


def recording_to_windows(
    rec: ImuRecording, config: PreprocessConfig, index: int = 0, min_purity: float = 0.0
) -> WindowData:
    """Windows of one recording, keeping those whose majority label covers ≥ ``min_purity``."""
    if rec.label is None:
        return _empty(config)
    gyro = rec.gyro if config.needs_gyro else None
    if config.needs_gyro and gyro is None:
        raise InputError(f"recording {rec.id!r} has no gyroscope, but the channels {list(config.channels)} need one")
    w, _ = recording_windows(rec.t, rec.acc, config, gyro_t=rec.gyro_t, gyro=gyro, labels=rec.label)
    keep = (w.label >= 0) & (w.purity >= min_purity)
    n = int(keep.sum())
    return WindowData(
        w.x[keep], w.label[keep].astype(np.int64), np.full(n, rec.subject, dtype=object),
        np.full(n, rec.device, dtype=object), np.full(n, index, np.int64), w.k_start[keep], w.purity[keep],
        recording_gps(rec, w.k_start[keep], config),
    )  # fmt: skip


def recording_gps(rec: ImuRecording, k_start: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """GPS numbers ``(W, 3)`` of a recording's windows starting at grid index ``k_start`` (NaN without a GPS track)."""
    from momentsense.sdk.transport.gps import GPS_FEATURES, gps_features

    if rec.gps is None:
        return np.full((len(k_start), len(GPS_FEATURES)), np.nan)
    t0 = np.asarray(k_start, np.float64) / config.fs_hz
    return gps_features(rec.gps.t, rec.gps.accuracy_m, rec.gps.speed_mps, t0, t0 + config.window_s)


def windowset_to_windows(ws: WindowSet, config: PreprocessConfig, first_index: int = 0) -> WindowData:
    """Pre-cut windows resampled to the grid one by one (each is its own short recording)."""
    L = ws.acc.shape[1]
    t = np.arange(L) / ws.sampling_hz
    xs, keep = [], []
    for i in range(len(ws)):
        gyro = ws.gyro[i] if (ws.gyro is not None and config.needs_gyro) else None
        w, _ = recording_windows(t, ws.acc[i], config, gyro=gyro)
        if len(w) == 1 and ws.label[i] >= 0:
            xs.append(w.x[0])
            keep.append(i)
    keep = np.asarray(keep, np.int64)
    if not len(keep):
        return _empty(config)
    return WindowData(
        np.stack(xs), np.asarray(ws.label)[keep].astype(np.int64), np.asarray(ws.subject).astype(str).astype(object)[keep],
        np.full(len(keep), "", dtype=object), first_index + keep, np.zeros(len(keep), np.int64),
        np.ones(len(keep), np.float32), np.full((len(keep), 3), np.nan),
    )  # fmt: skip


def dataset_windows(
    ds: ImuDataset,
    config: PreprocessConfig,
    *,
    augment: Optional[AugmentConfig] = None,
    copies: int = 0,
    seed: int = 0,
    min_purity: float = 0.0,
    progress: bool = False,
) -> WindowData:
    """All labelled windows of a dataset; with ``augment``, ``copies`` extra augmented passes too.

    Parameters
    ----------
    ds : ImuDataset
    config : PreprocessConfig
    augment : AugmentConfig, optional
        Applied to recordings for the extra copies (pre-cut windows are not augmented).
    copies : int
        Augmented passes over the recordings in addition to the original.
    seed : int
        Seed of the augmentation.
    min_purity : float
        Windows whose majority label covers less than this share (transitions) are dropped.
    progress : bool
        Show a tqdm progress bar.
    """
    rng = np.random.default_rng(seed)
    parts: list[WindowData] = []
    passes: Iterable = [(rec, i, None) for i, rec in enumerate(ds.recordings)]
    if augment is not None:
        for _ in range(copies):
            passes = list(passes) + [(rec, i, augment) for i, rec in enumerate(ds.recordings)]
    passes = list(passes)
    if progress:
        from tqdm import tqdm

        passes = tqdm(passes, desc="windows", unit="rec", leave=False)
    for rec, i, aug in passes:
        r = augment_recording(rec, aug, rng) if aug is not None else rec
        parts.append(recording_to_windows(r, config, i, min_purity))
    if ds.windows is not None and len(ds.windows):
        parts.append(windowset_to_windows(ds.windows, config, len(ds.recordings)))
    return WindowData.concat(parts)


def split_by_subject(subjects: np.ndarray, test_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Subject-wise split: no subject has windows on both sides.

    Returns
    -------
    train_idx, test_idx : ndarray int64
    test_subjects : list of str
    """
    uniq = sorted(set(np.asarray(subjects).tolist()))
    if len(uniq) < 2:
        raise InputError(f"a subject-wise split needs at least 2 subjects, the data has {len(uniq)}; pass --test-data")
    rng = np.random.default_rng(seed)
    n_test = min(len(uniq) - 1, max(1, int(round(test_fraction * len(uniq)))))
    test_subjects = sorted(rng.choice(uniq, size=n_test, replace=False).tolist())
    is_test = np.isin(np.asarray(subjects), test_subjects)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test), test_subjects


def split_by_subject_and_device(
    subjects: np.ndarray, devices: np.ndarray, test_fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Split holding out whole groups of subjects that share phones: no subject *and* no phone on both sides.

    Subjects that carried a common phone (directly or through others) form one group; groups are
    drawn until about ``test_fraction`` of the subjects are held out. This mimics a test on unseen
    people carrying unseen phones. Windows with an unknown device (``""``) only link by subject.

    Returns
    -------
    train_idx, test_idx : ndarray int64
    test_subjects : list of str

    Raises
    ------
    InputError
        Fewer than 2 groups (every subject shares a phone chain with every other).
    """
    subjects = np.asarray(subjects).astype(str)
    devices = np.asarray(devices).astype(str)
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for s, d in set(zip(subjects.tolist(), devices.tolist())):
        find(("s", s))
        if d:
            parent[find(("s", s))] = find(("d", d))
    groups: dict = {}
    for s in sorted(set(subjects.tolist())):
        groups.setdefault(find(("s", s)), []).append(s)
    members = sorted(groups.values())
    if len(members) < 2:
        raise InputError(f"a subject+device split needs at least 2 groups of subjects without shared phones; the data has {len(members)}")
    n_subjects = sum(len(m) for m in members)
    target = min(n_subjects - 1, max(1, int(round(test_fraction * n_subjects))))
    held: list[str] = []
    for g in np.random.default_rng(seed).permutation(len(members)):
        if len(held) >= target:
            break
        if len(held) + len(members[g]) < n_subjects:
            held += members[g]
    test_subjects = sorted(held)
    is_test = np.isin(subjects, test_subjects)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test), test_subjects


def _empty(config: PreprocessConfig) -> WindowData:
    L, C = config.window_len, len(config.channels)
    e = np.zeros(0, np.int64)
    return WindowData(np.zeros((0, L, C), np.float32), e, np.zeros(0, object), np.zeros(0, object), e, e,
                      np.zeros(0, np.float32), np.zeros((0, 3)))
