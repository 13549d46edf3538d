"""Driver Behavior Dataset trips (``shared/data/driver_behavior_trips.h5``) → :class:`ImuDataset`.

Source: Ferreira Júnior et al., *Driver behavior profiling: An investigation with different
smartphone sensors and machine learning*, PLOS ONE 12(4): e0174959, 2017;
github.com/jair-jr/driverBehaviorDataset. No licence file or statement in the repository.

The subset: trips 17, 20, 21 (2011 Honda Civic; Motorola XT1058 on a windshield mount), ~51 Hz
(median step 19.62 ms), 53 video-labelled events.

Conversion:

* One recording per trip, id ``trip<N>``. ``acc`` is the accelerometer *with* gravity (the source's
  ``acc``; ``linear_acc`` is not used), ``gyro`` in rad/s.
* Time in seconds = Android ``uptimeNanos`` / 1e9 (not unix time; the trip's wall-clock start is in
  ``attrs["trip_start_local"]``).
* Acc and gyro have the same sample count but **not** the same timestamps (offsets up to ~17 ms), so
  the gyroscope keeps its own clock as ``gyro_t``. (If a trip's timestamps were identical,
  ``gyro_t`` would be None.)
* ``label_names = ["normal", *event_names]``; ``label`` per acc sample is 0 outside events and
  ``1 + event index`` inside an event interval ``[start, end]`` (events do not overlap).
* The events are also kept as intervals in ``ImuRecording.events`` (``start_s``, ``end_s`` on the
  recording's clock, ``label`` into ``label_names``, sorted by start), written to HDF5 as
  ``/events/trip<N>`` and read back by :func:`sdk.io.imu_file.read_imu`, for driving-behaviour
  evaluation. Event times are the source's seconds-since-trip-start plus the trip's
  ``firstCollectionUptimeNanos`` (the conversion of the shared file, an assumption of its author).
* The driver is not identified in the source: ``subject`` is the trip id, so a subject-wise split
  is a trip-wise split.
* **Frame:** the source files are ``*_terra.csv`` ("terra" = earth) and at rest acc z ≈ +9.8 m/s²
  although the phone was on the windshield: the values look already rotated into an earth-fixed
  frame, not the device frame that ``momentsense-imu-v1`` specifies. ``placement`` is ``mount`` and
  the note is copied into ``attrs["frame_note"]``; models trained on device-frame data should be
  checked for this before comparing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import ImuDataset, ImuRecording
from momentsense.trainer.loaders.common import PROVENANCE_KEYS, h5_names, h5_text, open_source, provenance, require

_FIELDS = ("acc", "acc_t_ns", "gyro", "gyro_t_ns", "event", "event_start_ns", "event_end_ns")


def load_driver(path: str | Path) -> ImuDataset:
    """Read the driver-behaviour trips.

    Parameters
    ----------
    path : str or Path
        ``driver_behavior_trips.h5`` (layout in ``shared/data/README.md``).

    Returns
    -------
    dataset : ImuDataset
        One recording per trip: t and gyro_t in seconds (uptime clock), acc m/s² with gravity,
        gyro rad/s, per-sample labels (``normal`` or the event type) and ``events`` intervals.

    Raises
    ------
    FileNotFoundError, FormatError
        Missing file, or not the driver-behaviour layout (the message names the group and dataset).
    """
    path = Path(path)
    with open_source(path, "trips", ("event_names",)) as f:
        event_names = h5_names(f.attrs["event_names"])
        label_names = ["normal"] + event_names
        recordings, starts = [], {}
        for tid in sorted(f["trips"].keys(), key=lambda s: (len(s), s)):
            g, where = f["trips"][tid], f"/trips/{tid}"
            require(g, _FIELDS, path, where)
            t_ns, gyro_t_ns = g["acc_t_ns"][()], g["gyro_t_ns"][()]
            t = t_ns / 1e9
            start, end = g["event_start_ns"][()] / 1e9, g["event_end_ns"][()] / 1e9
            kind = g["event"][()].astype(np.int16)
            if kind.size and kind.max() >= len(event_names):
                raise FormatError(f"{path}: {where}/event: value {int(kind.max())} is outside event_names")
            order = np.argsort(start, kind="stable")
            events = {"start_s": start[order], "end_s": end[order], "label": (kind[order] + 1).astype(np.int16)}
            label = np.zeros(len(t), np.int16)
            for s, e, k in zip(events["start_s"], events["end_s"], events["label"]):
                label[(t >= s) & (t <= e)] = k
            same_clock = np.array_equal(t_ns, gyro_t_ns)
            recordings.append(ImuRecording(
                id=f"trip{tid}", t=t, acc=g["acc"][()].astype(np.float32), gyro=g["gyro"][()].astype(np.float32),
                label=label, subject=f"trip{tid}", device="Motorola XT1058", placement="mount",
                gyro_t=None if same_clock else gyro_t_ns / 1e9, events=events,
            ))  # fmt: skip
            if "start" in g.attrs:
                starts[f"trip{tid}"] = h5_text(g.attrs["start"])
        attrs = provenance(f, PROVENANCE_KEYS + ("frame_note", "time_note"))
        attrs["licence"] = "none stated (no licence file or statement in the source repository)"
        attrs["trip_start_local"] = starts
    source = "Driver Behavior Dataset (Ferreira Junior et al. 2017), trips 17, 20, 21"
    return ImuDataset(label_names, source, recordings, None, attrs)
