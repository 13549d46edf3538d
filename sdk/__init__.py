"""momentsense SDK: the on-device runtime, and the one place an app imports from.

    from momentsense.sdk import MomentSDK, SDKConfig, ConsentManager, SyncOptions

Everything an app needs is a name here (the list is ``__all__``; the guide is ``docs/sdk.md``):
the runtime (:class:`MomentSDK`, :class:`SDKConfig`, :class:`RunningMode`), consent, the sensor
sources and the chunk an app pushes itself (:class:`SensorChunk`, :class:`GpsFix`), the typed
records the readers return (:class:`DayTimeline`, :class:`Place`, :class:`Trip`, :class:`Insight`...),
the read-only timeline reader for a UI, upload options and results, the mode registry and the
errors. Names are imported on first use, so ``import sdk`` itself costs nothing; nothing here imports
TensorFlow or scipy.

Depends on numpy, plyer, requests and a TFLite interpreter. The signal pipeline in :mod:`sdk.dsp` is
the one the trainer uses too, so training and device cannot drift apart.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name → module that defines it.
_EXPORTS = {
    # runtime
    "MomentSDK": "momentsense.sdk.runtime", "SDKConfig": "momentsense.sdk.runtime_config", "Context": "momentsense.sdk.runtime_config",
    "RunningMode": "momentsense.sdk.runtime_config", "SegmentJobStatus": "momentsense.sdk.runtime_segments",
    "ModelOptions": "momentsense.sdk.transport.options", "TimelineOptions": "momentsense.sdk.timeline.live",
    "OtaOptions": "momentsense.sdk.models.ota", "UpdateReport": "momentsense.sdk.models.ota",
    "DrivingOptions": "momentsense.sdk.driving.options", "DriveSegmentOptions": "momentsense.sdk.driving.live",
    # consent
    "ConsentManager": "momentsense.sdk.consent", "ConsentError": "momentsense.sdk.consent", "ConsentRecord": "momentsense.sdk.consent",
    # sensors
    "SensorChunk": "momentsense.sdk.sources", "SensorSource": "momentsense.sdk.sources", "ReplaySource": "momentsense.sdk.sources",
    "SimulatorSource": "momentsense.sdk.sources", "SensorUnavailableError": "momentsense.sdk.sources", "GpsFix": "momentsense.sdk.timeline.records",
    "Leg": "momentsense.sdk.sim", "commuter_day": "momentsense.sdk.sim.day",
    # records the readers return
    "TransportEvent": "momentsense.sdk.timeline.records", "Visit": "momentsense.sdk.timeline.records", "Place": "momentsense.sdk.timeline.records",
    "Trip": "momentsense.sdk.timeline.records", "Drive": "momentsense.sdk.timeline.records", "DrivingEvent": "momentsense.sdk.timeline.records",
    "DrivingScore": "momentsense.sdk.timeline.records", "DayTimeline": "momentsense.sdk.timeline.store", "Insight": "momentsense.sdk.insights",
    "Insights": "momentsense.sdk.insights", "TimelineReader": "momentsense.sdk.timeline.reader", "open_reader": "momentsense.sdk.timeline.reader",
    # modes
    "MODES": "momentsense.sdk.modes", "Mode": "momentsense.sdk.modes", "register_mode": "momentsense.sdk.modes",
    # upload
    "SyncOptions": "momentsense.sdk.sync.client", "SyncResult": "momentsense.sdk.sync.uploader", "ErasureResult": "momentsense.sdk.sync.client",
    "PayloadOptions": "momentsense.sdk.sync.payload", "Correction": "momentsense.sdk.sync.corrections", "SyncError": "momentsense.sdk.sync.client",
    # errors
    "MomentsenseError": "momentsense.sdk.errors", "InputError": "momentsense.sdk.errors", "FormatError": "momentsense.sdk.errors",
    "ModelError": "momentsense.sdk.errors", "StoreError": "momentsense.sdk.timeline.store",
}  # fmt: skip

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'momentsense.sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from momentsense.sdk.consent import ConsentError, ConsentManager, ConsentRecord  # noqa: F401
    from momentsense.sdk.errors import FormatError, InputError, ModelError, MomentsenseError  # noqa: F401
    from momentsense.sdk.runtime import MomentSDK  # noqa: F401
    from momentsense.sdk.runtime_config import Context, RunningMode, SDKConfig  # noqa: F401
    from momentsense.sdk.sources import ReplaySource, SensorChunk, SensorSource, SensorUnavailableError, SimulatorSource  # noqa: F401
    from momentsense.sdk.sync.client import ErasureResult, SyncError, SyncOptions  # noqa: F401
    from momentsense.sdk.sync.uploader import SyncResult  # noqa: F401
    from momentsense.sdk.timeline.reader import TimelineReader, open_reader  # noqa: F401
    from momentsense.sdk.timeline.records import Drive, DrivingEvent, DrivingScore, GpsFix, Place, TransportEvent, Trip, Visit  # noqa: F401
    from momentsense.sdk.timeline.store import DayTimeline, StoreError  # noqa: F401
