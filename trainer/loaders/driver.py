"""Driver Behavior Dataset trips (``shared/data/driver_behavior_trips.h5``) → ``momentsense-imu-v1``.

Three car trips (~51 Hz, windshield mount) with 53 video-labelled events. Per-sample labels are
``normal`` outside events and the event type inside; the events are also kept as intervals (the
``/events`` extension, and ``DriverTrips.events`` in memory) for driving-behaviour evaluation.
Note from the data's README: values look already rotated into an earth-fixed frame (z ≈ +9.8 m/s²
at rest although the phone was on the windshield).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from sdk.records import ImuDataset, ImuRecording
from trainer.loaders.common import h5_names, open_source, provenance


@dataclasses.dataclass
class DriverTrips:
    """The converted trips and their labelled events.

    Attributes:
        dataset: Recordings with per-sample labels (``label_names = ["normal", *event_names]``).
        events: ``{"names": event_names, trip_id: (start_s, end_s, kind)}``; times on the recording's clock (s).
    """

    dataset: ImuDataset
    events: dict


def load_driver(path: str | Path) -> DriverTrips:
    """Read the driver-behaviour trips."""
    with open_source(path, "trips") as f:
        event_names = h5_names(f.attrs["event_names"])
        label_names = ["normal"] + event_names
        recordings, events = [], {"names": event_names}
        for tid in sorted(f["trips"].keys(), key=int):
            g = f["trips"][tid]
            t = g["acc_t_ns"][()] / 1e9
            gt = g["gyro_t_ns"][()] / 1e9
            same_clock = len(gt) == len(t) and np.array_equal(g["acc_t_ns"][()], g["gyro_t_ns"][()])
            start, end = g["event_start_ns"][()] / 1e9, g["event_end_ns"][()] / 1e9
            kind = g["event"][()].astype(np.int16)
            label = np.zeros(len(t), np.int16)
            for s, e, k in zip(start, end, kind):
                label[(t >= s) & (t <= e)] = k + 1
            recordings.append(ImuRecording(
                id=f"trip{tid}", t=t, acc=g["acc"][()].astype(np.float32), gyro=g["gyro"][()].astype(np.float32),
                label=label, subject="driver-1", device="XT1058", placement="mount",
                gyro_t=None if same_clock else gt,
            ))  # fmt: skip
            events[f"trip{tid}"] = (start, end, kind)
        attrs = provenance(f, ("original_dataset", "citation", "license_as_stated", "source_repo", "subset", "device", "frame_note"))
    ds = ImuDataset(label_names, "Driver Behavior Dataset (Ferreira Junior et al. 2017), trips 17, 20, 21", recordings, None, attrs)
    return DriverTrips(ds, events)
