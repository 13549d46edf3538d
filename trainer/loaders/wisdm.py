"""WISDM 2019 phone recordings (``shared/data/wisdm2019_phone_subset.h5``) → :class:`ImuDataset`.

Source: G. M. Weiss, Fordham University WISDM Lab, *WISDM Smartphone and Smartwatch Activity and
Biometrics Dataset*, UCI ML Repository, 2019 (no licence text in the source; the UCI repository
lists it under CC BY 4.0). Cite Weiss, Yoneda, Hayajneh, IEEE Access 7, 2019.

The subset: 21 subjects, 5 activities (walking, jogging, stairs, sitting, standing), ~3 min each,
phone in the pocket, nominally 20 Hz (median step 50.35 ms, with jitter). Subject 1609 has no
jogging block, so there are 104 activity blocks.

Conversion:

* One recording per subject and activity block, id ``<subject>-<activity>-<block index>``, with
  ``subject`` = the WISDM subject id. A block ends where the activity changes, the clock jumps by
  more than :data:`BLOCK_GAP_S` or steps back (the source clock jumps between blocks).
* Time in seconds = source nanoseconds / 1e9. The source calls it "Linux time" but it is a device
  monotonic clock, not unix time; acc and gyro of one subject share it.
* Accelerometer (m/s², with gravity) and gyroscope (rad/s) are separate streams with their own
  timestamps, kept as recorded: ``t``/``acc`` and ``gyro_t``/``gyro`` (the momentsense ``gyro_t``
  extension). The gyro samples of a block are those with the block's activity inside its time span
  (± :data:`GYRO_MARGIN_S`); the gyro typically starts 0.05-0.45 s after the accelerometer.
* ``label`` per accelerometer sample = activity index into ``label_names`` (the file's
  ``activity_names``).
* Provenance, citation and licence attributes of the source are copied into ``attrs``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import ImuDataset, ImuRecording
from momentsense.trainer.loaders.common import h5_names, open_source, provenance, require

#: A forward clock jump larger than this (seconds), any step back or an activity change starts a new block.
BLOCK_GAP_S = 5.0

#: Gyro samples up to this many seconds outside the accelerometer block's span still belong to it.
GYRO_MARGIN_S = 1.0

#: Licence as listed by the UCI ML Repository (the source files carry no licence text).
LICENCE = "CC BY 4.0 (as listed by the UCI ML Repository; no licence text in the source README or PDF)"

_FIELDS = ("acc_t_ns", "acc", "acc_activity", "gyro_t_ns", "gyro", "gyro_activity")


def activity_blocks(t_s: np.ndarray, activity: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges ``[start, stop)`` of contiguous single-activity blocks of one subject's stream."""
    if len(t_s) == 0:
        return []
    dt = np.diff(t_s)
    cut = np.flatnonzero((np.diff(activity) != 0) | (dt > BLOCK_GAP_S) | (dt < 0)) + 1
    edges = np.r_[0, cut, len(t_s)]
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def load_wisdm(path: str | Path) -> ImuDataset:
    """Read the WISDM phone subset.

    Parameters
    ----------
    path : str or Path
        ``wisdm2019_phone_subset.h5`` (layout in ``shared/data/README.md``).

    Returns
    -------
    dataset : ImuDataset
        One recording per subject and activity block (t and gyro_t in seconds, acc m/s², gyro
        rad/s, per-sample activity labels); ``label_names`` = the 5 activity names.

    Raises
    ------
    FileNotFoundError, FormatError
        Missing file, or not the WISDM subset layout (the message names the group and dataset).
    """
    path = Path(path)
    with open_source(path, "subjects", ("activity_names",)) as f:
        names = h5_names(f.attrs["activity_names"])
        recordings = []
        for sid in sorted(f["subjects"].keys()):
            g = f["subjects"][sid]
            require(g, _FIELDS, path, f"/subjects/{sid}")
            at = g["acc_t_ns"][()] / 1e9
            acc = g["acc"][()].astype(np.float32)
            aa = g["acc_activity"][()].astype(np.int16)
            gt = g["gyro_t_ns"][()] / 1e9
            gyro = g["gyro"][()].astype(np.float32)
            ga = g["gyro_activity"][()].astype(np.int16)
            if aa.size and (aa.min() < 0 or aa.max() >= len(names)):
                raise FormatError(f"{path}: /subjects/{sid}/acc_activity: values must be 0..{len(names) - 1}")
            for i, (a, b) in enumerate(activity_blocks(at, aa)):
                act = int(aa[a])
                sel = (ga == act) & (gt >= at[a] - GYRO_MARGIN_S) & (gt <= at[b - 1] + GYRO_MARGIN_S)
                recordings.append(ImuRecording(
                    id=f"{sid}-{names[act]}-{i}", t=at[a:b], acc=acc[a:b], gyro=gyro[sel], label=aa[a:b],
                    subject=str(sid), device="wisdm-phone", placement="pocket", gyro_t=gt[sel],
                ))  # fmt: skip
        attrs = provenance(f)
        attrs["licence"] = LICENCE
        attrs["time_note"] = "t and gyro_t: source nanoseconds / 1e9, a device monotonic clock (not unix time)"
    return ImuDataset(names, "WISDM 2019 phone subset (21 subjects, activities A-E)", recordings, None, attrs)
