"""Driving behaviour during car segments: vehicle-frame projection, harsh events, speeding, phone
handling, crash detection and a per-trip score (numpy; scipy imported lazily by the filters).

Batch: :func:`analyse_drive`. Streaming (explicit state, stream == batch): :func:`driving_init`,
:func:`detect_driving_events` per chunk, :func:`flush_driving_events` at the end, :func:`score_drive`.
The method and its limits are in :mod:`sdk.driving.detect`.
"""

from momentsense.sdk.driving.analyse import analyse_drive
from momentsense.sdk.driving.detect import KINDS, DrivingState, detect_driving_events, driving_init, flush_driving_events
from momentsense.sdk.driving.options import DrivingOptions
from momentsense.sdk.driving.score import score_drive

__all__ = [
    "KINDS", "DrivingOptions", "DrivingState", "analyse_drive", "detect_driving_events", "driving_init",
    "flush_driving_events", "score_drive",
]  # fmt: skip
