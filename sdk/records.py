"""Plain records shared by the simulator, the file formats, the trainer and the runtime.

These mirror the ``momentsense-imu-v1`` contract (``docs/formats.md``): SI units, float unix seconds.
They are containers, not validators: :func:`sdk.io.imu_file.validate_recording` checks one.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

#: The eight transport modes, in the canonical label order used by simulated data and the shipped model.
TRANSPORT_MODES: tuple[str, ...] = ("still", "walk", "run", "bike", "car", "bus", "train", "subway")
#: The modes that ride a vehicle, and those of them that are public transport.
VEHICLE_MODES: tuple[str, ...] = ("bike", "car", "bus", "train", "subway")
PUBLIC_MODES: tuple[str, ...] = ("bus", "train", "subway")

#: Standard gravity, m/s².
STANDARD_GRAVITY_MPS2 = 9.80665


@dataclasses.dataclass
class GpsTrack:
    """GPS fixes of one recording.

    Attributes:
        t: float64 ``(M,)`` seconds, same clock as the IMU recording.
        lat: float64 ``(M,)`` WGS84 degrees.
        lon: float64 ``(M,)`` WGS84 degrees.
        accuracy_m: float32 ``(M,)`` horizontal accuracy radius in metres, or None.
        speed_mps: float32 ``(M,)`` speed reported by the receiver in m/s, or None.
    """

    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    accuracy_m: Optional[np.ndarray] = None
    speed_mps: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(len(self.t))


@dataclasses.dataclass
class ImuRecording:
    """One continuous IMU stream (timestamps may be irregular, unsorted or duplicated in raw data).

    Attributes:
        id: Recording id, unique within a file.
        t: float64 ``(N,)`` seconds (unix time or relative).
        acc: float32 ``(N, 3)`` m/s², including gravity, device frame.
        gyro: float32 ``(N, 3)`` rad/s, device frame, same timestamps as ``acc``; or None.
        label: int16 ``(N,)`` per-sample class index into the file's ``label_names``, -1 = unknown; or None.
        subject: Who carried the phone (used for subject-wise splits).
        device: Which phone (device profile id), or "".
        placement: pocket, hand, bag, mount, ... or "".
        gps: The recording's GPS fixes, or None.
        gyro_t: float64 ``(K,)`` seconds when the gyroscope has its own clock (real phones, WISDM);
            None means gyro shares ``t``. Written to HDF5 as a separate dataset only when set.
        events: Labelled intervals on the recording's clock (e.g. harsh-driving events), or None:
            ``{"start_s": float64 (E,), "end_s": float64 (E,), "label": int16 (E,)}`` with times in
            seconds (same clock as ``t``) and ``label`` an index into the file's ``label_names``.
            Written to HDF5 as ``/events/<id>`` (a momentsense extension, see :mod:`sdk.io.imu_file`).
    """

    id: str
    t: np.ndarray
    acc: np.ndarray
    gyro: Optional[np.ndarray] = None
    label: Optional[np.ndarray] = None
    subject: str = ""
    device: str = ""
    placement: str = ""
    gps: Optional[GpsTrack] = None
    gyro_t: Optional[np.ndarray] = None
    events: Optional[dict] = None

    @property
    def duration_s(self) -> float:
        """Span of the timestamps in seconds (0 for fewer than two samples)."""
        if len(self.t) < 2:
            return 0.0
        return float(np.nanmax(self.t) - np.nanmin(self.t))


@dataclasses.dataclass
class WindowSet:
    """Pre-cut fixed-length windows, as many public datasets ship them.

    Attributes:
        acc: float32 ``(W, L, 3)`` m/s² including gravity.
        gyro: float32 ``(W, L, 3)`` rad/s, or None.
        label: int16 ``(W,)`` class index.
        subject: ``(W,)`` str subject ids.
        sampling_hz: Sampling rate of the windows in Hz.
    """

    acc: np.ndarray
    label: np.ndarray
    subject: np.ndarray
    sampling_hz: float
    gyro: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return int(len(self.label))


@dataclasses.dataclass
class ImuDataset:
    """The content of one ``momentsense-imu-v1`` file.

    Attributes:
        label_names: Class names; label values index into this list.
        source: Provenance (simulator version and seed, or the public dataset's name).
        recordings: Continuous streams.
        windows: Pre-cut windows, or None.
        attrs: Extra root attributes (licence, citation, ...), JSON-serialisable values.
    """

    label_names: list[str]
    source: str
    recordings: list[ImuRecording] = dataclasses.field(default_factory=list)
    windows: Optional[WindowSet] = None
    attrs: dict = dataclasses.field(default_factory=dict)
