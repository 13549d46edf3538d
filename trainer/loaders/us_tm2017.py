"""US-TM2017 raw Android logs (``shared/data/us_tm2017_raw.h5``) → :class:`ImuDataset`.

Source: C. Carpineti, V. Lomonaco, L. Bedogni, M. Di Felice, L. Bononi, *Custom Dual Transportation
Mode Detection by Smartphone Devices Exploiting Sensor Diversity*, PerCom Workshops 2018;
github.com/vlomonaco/US-TransportationMode (MIT licence). 9 users, 101 recordings labelled
still / walk / car / bus / train, 18.7 h.

The file is logged **on change**, not sampled: the accelerometer arrives irregularly at ~1-5 Hz
(median 4.5 Hz per recording, 2.7 Hz weighted by time), with gaps of seconds to minutes. Use it for
still-vs-vehicle vibration statistics and low-rate robustness, not as a 25 Hz benchmark: the SDK's
pipeline interpolates to 25 Hz and cuts the stream at gaps longer than its ``max_gap_s`` (1 s for
the shipped model), so most of a 2 Hz recording yields no window.

Conversion (each messy case and its repair):

* One recording per source recording, same id, ``subject`` = the user, ``label`` per accelerometer
  sample (constant: the mode the user chose in the app). ``t`` stays relative to the recording
  start (seconds); the file name's number (probably the start in unix ms, undocumented) is kept in
  ``attrs["file_name_time_ms"]``.
* The gyroscope has its own clock (``gyro_t``/``gyro_raw`` in the source) and becomes the
  ``gyro_t`` extension; 21 recordings have no gyroscope (``gyro`` None: a model whose channels need
  it cannot run on them, and ``eval transport --stream`` lists them as not streamed).
* **Backward time steps** (12 in 8 recordings, 0.3-7 s): a step back of at most
  :data:`SORT_MAX_BACK_S` is logger jitter and the samples are put in time order (stable sort); a
  larger one is a clock restart, and the recording is split there into parts ``<id>__c<k>``.
  Counted in ``attrs["repairs"]``. (Restarts near 0 inside a file were already split by the
  shared file's author into ``__part<k>`` recordings.)
* **Duplicate timestamps**: a later sample with the same time as an earlier one is dropped (counted).
* **Non-finite values**: samples with a NaN/inf time or value are dropped (counted).
* **GPS**: the logs hold speed rows but no position (``lat``/``lon`` all NaN in the source), so no
  ``/gps`` track is written (a track without positions cannot feed the stay/trip stages); the
  count of speed rows is kept in ``attrs["gps_speed_rows"]``. Google activity rows are not read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import ImuDataset, ImuRecording
from momentsense.trainer.loaders.common import h5_text, open_source, require

#: A backward time step up to this many seconds is reordered; a larger one splits the recording.
SORT_MAX_BACK_S = 2.0

#: Source ``label_names`` this loader knows.
LABEL_NAMES = ["still", "walk", "car", "bus", "train"]


def _clean(t: np.ndarray, x: np.ndarray, counts: dict, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop non-finite rows and duplicate times; sort small backward steps. Returns ``t, x, keep-index``."""
    idx = np.arange(len(t))
    ok = np.isfinite(t) & np.all(np.isfinite(x), axis=1)
    counts[f"{what}_nonfinite_dropped"] = counts.get(f"{what}_nonfinite_dropped", 0) + int((~ok).sum())
    t, x, idx = t[ok], x[ok], idx[ok]
    back = int(np.sum(np.diff(t) < 0))
    counts[f"{what}_backward_steps_sorted"] = counts.get(f"{what}_backward_steps_sorted", 0) + back
    order = np.argsort(t, kind="stable")
    t, x, idx = t[order], x[order], idx[order]
    dup = np.r_[False, np.diff(t) == 0]
    counts[f"{what}_duplicate_times_dropped"] = counts.get(f"{what}_duplicate_times_dropped", 0) + int(dup.sum())
    return t[~dup], x[~dup], idx[~dup]


def _parts(t: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges between clock restarts (a step back larger than :data:`SORT_MAX_BACK_S`)."""
    cut = np.flatnonzero(np.diff(t) < -SORT_MAX_BACK_S) + 1
    edges = np.r_[0, cut, len(t)]
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def load_us_tm2017(path: str | Path) -> ImuDataset:
    """Read the US-TM2017 raw subset.

    Parameters
    ----------
    path : str or Path
        ``us_tm2017_raw.h5`` (layout in ``shared/data/README.md``).

    Returns
    -------
    dataset : ImuDataset
        One recording per source recording (or per part between clock restarts): ``t`` and
        ``gyro_t`` in seconds from the recording start, ``acc`` m/s² with gravity (device frame),
        ``gyro`` rad/s or None, constant ``label`` per recording; ``label_names`` =
        still, walk, car, bus, train. ``attrs["repairs"]`` counts every repair.

    Raises
    ------
    FileNotFoundError, FormatError
        Missing file, not this dataset, a missing dataset, or a label outside ``label_names``
        (the message names the file and the group).
    """
    path = Path(path)
    with open_source(path, "recordings", ("label_names",)) as f:
        names = json.loads(h5_text(f.attrs["label_names"]))
        if names != LABEL_NAMES:
            raise FormatError(f"{path}: label_names {names} are not US-TM2017's {LABEL_NAMES}")
        counts: dict = {"clock_restarts_split": 0}
        recordings = []
        for rid in sorted(f["recordings"].keys()):
            g, where = f["recordings"][rid], f"/recordings/{rid}"
            require(g, ("t", "acc", "label"), path, where)
            lab = g["label"][()].astype(np.int16)
            if lab.size and (lab.min() < -1 or lab.max() >= len(names)):
                raise FormatError(f"{path}: {where}/label: values must be -1..{len(names) - 1}")
            t_raw = g["t"][()].astype(np.float64)
            acc_raw = g["acc"][()].astype(np.float32)
            if acc_raw.shape != (len(t_raw), 3) or lab.shape != t_raw.shape:
                raise FormatError(f"{path}: {where}: acc {acc_raw.shape} / label {lab.shape} do not match t {t_raw.shape}")
            has_gyro = "gyro_t" in g and "gyro_raw" in g and len(g["gyro_t"]) > 0
            gt_raw = g["gyro_t"][()].astype(np.float64) if has_gyro else np.zeros(0)
            gyro_raw = g["gyro_raw"][()].astype(np.float32) if has_gyro else np.zeros((0, 3), np.float32)
            parts = _parts(t_raw) if np.all(np.isfinite(t_raw)) else [(0, len(t_raw))]
            gparts = _parts(gt_raw) if has_gyro and np.all(np.isfinite(gt_raw)) else [(0, len(gt_raw))]
            if len(parts) > 1:
                counts["clock_restarts_split"] += len(parts) - 1
            for k, (a, b) in enumerate(parts):
                t, acc, keep = _clean(t_raw[a:b], acc_raw[a:b], counts, "acc")
                gyro_t = gyro = None
                if has_gyro:
                    # The gyroscope's part with the same index, if it restarted at the same place.
                    ga, gb = gparts[k] if len(gparts) == len(parts) else (0, len(gt_raw))
                    gyro_t, gyro, _ = _clean(gt_raw[ga:gb], gyro_raw[ga:gb], counts, "gyro")
                    if len(gparts) != len(parts):
                        inside = (gyro_t >= t[0] - 1.0) & (gyro_t <= t[-1] + 1.0) if len(t) else np.zeros(0, bool)
                        gyro_t, gyro = gyro_t[inside], gyro[inside]
                recordings.append(ImuRecording(
                    id=rid if len(parts) == 1 else f"{rid}__c{k + 1}", t=t, acc=acc, gyro=gyro,
                    label=lab[a:b][keep], subject=h5_text(g.attrs.get("subject", rid.split("_")[0])),
                    gyro_t=gyro_t,
                ))  # fmt: skip
        attrs = {k: h5_text(f.attrs[k]) for k in ("license", "citation", "units") if k in f.attrs}
        attrs["source_detail"] = h5_text(f.attrs.get("source", ""))
        attrs["repairs"] = json.dumps(counts)
        attrs["gps_speed_rows"] = int(sum(len(f["gps"][k]["t"]) for k in f["gps"])) if "gps" in f else 0
        attrs["sampling_note"] = ("logged on change at ~1-5 Hz (irregular, gaps): for vibration statistics and "
                                  "low-rate robustness, not a 25 Hz benchmark")  # fmt: skip
    return ImuDataset(list(names), "US-TM2017 raw Android logs (Carpineti et al. 2018), 9 users", recordings, None, attrs)
