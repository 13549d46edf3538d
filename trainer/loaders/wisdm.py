"""WISDM 2019 phone recordings (``shared/data/wisdm2019_phone_subset.h5``) → ``momentsense-imu-v1``.

21 subjects, 5 activities (walking, jogging, stairs, sitting, standing), ~3 min each, phone in the
pocket, ~20 Hz with jitter. Accelerometer and gyroscope are separate streams with their own clocks:
they are kept that way (``gyro_t``) and the shared pipeline aligns them on its 25 Hz grid. Each
contiguous activity block becomes one recording (the source clock jumps between blocks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdk.records import ImuDataset, ImuRecording
from trainer.loaders.common import h5_names, open_source, provenance

#: A jump larger than this (seconds) or any step back in time starts a new block.
BLOCK_GAP_S = 5.0


def _blocks(t: np.ndarray, act: np.ndarray) -> list[tuple[int, int]]:
    dt = np.diff(t)
    cut = np.flatnonzero((np.diff(act) != 0) | (dt > BLOCK_GAP_S) | (dt < 0)) + 1
    edges = np.r_[0, cut, len(t)]
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def load_wisdm(path: str | Path) -> ImuDataset:
    """Read the WISDM subset; one recording per subject and activity block, labels per sample."""
    with open_source(path, "subjects") as f:
        names = h5_names(f.attrs["activity_names"])
        recordings = []
        for sid in sorted(f["subjects"].keys()):
            g = f["subjects"][sid]
            at = g["acc_t_ns"][()] / 1e9
            acc = g["acc"][()].astype(np.float32)
            aa = g["acc_activity"][()].astype(np.int16)
            gt = g["gyro_t_ns"][()] / 1e9
            gyro = g["gyro"][()].astype(np.float32)
            ga = g["gyro_activity"][()].astype(np.int16)
            for i, (a, b) in enumerate(_blocks(at, aa)):
                act = aa[a]
                lo, hi = at[a] - 1.0, at[b - 1] + 1.0
                sel = (ga == act) & (gt >= lo) & (gt <= hi)
                if sel.sum() < 2:
                    continue
                recordings.append(ImuRecording(
                    id=f"{sid}-{names[act]}-{i}", t=at[a:b], acc=acc[a:b], gyro=gyro[sel], label=aa[a:b],
                    subject=str(sid), device="wisdm-phone", placement="pocket", gyro_t=gt[sel],
                ))  # fmt: skip
        attrs = provenance(f)
        attrs["licence"] = "CC BY 4.0 (as listed by the UCI ML Repository; no licence text in the source README)"
    return ImuDataset(names, "WISDM 2019 phone subset (21 subjects, activities A-E)", recordings, None, attrs)
