"""momentsense SDK: the on-device runtime, and the one place an app imports from.

    from sdk import MomentSDK, SDKConfig, ConsentManager, SyncOptions

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
    "MomentSDK": "sdk.runtime", "SDKConfig": "sdk.runtime_config", "Context": "sdk.runtime_config",
    "RunningMode": "sdk.runtime_config", "SegmentJobStatus": "sdk.runtime_segments",
    "ModelOptions": "sdk.transport_options", "TimelineOptions": "sdk.timeline.live",
    "OtaOptions": "sdk.ota", "UpdateReport": "sdk.ota",
    "DrivingOptions": "sdk.driving.options", "DriveSegmentOptions": "sdk.driving.live",
    # consent
    "ConsentManager": "sdk.consent", "ConsentError": "sdk.consent", "ConsentRecord": "sdk.consent",
    # sensors
    "SensorChunk": "sdk.sources", "SensorSource": "sdk.sources", "ReplaySource": "sdk.sources",
    "SimulatorSource": "sdk.sources", "SensorUnavailableError": "sdk.sources", "GpsFix": "sdk.timeline.records",
    "Leg": "sdk.sim", "commuter_day": "sdk.sim.day",
    # records the readers return
    "TransportEvent": "sdk.timeline.records", "Visit": "sdk.timeline.records", "Place": "sdk.timeline.records",
    "Trip": "sdk.timeline.records", "Drive": "sdk.timeline.records", "DrivingEvent": "sdk.timeline.records",
    "DrivingScore": "sdk.timeline.records", "DayTimeline": "sdk.timeline.store", "Insight": "sdk.insights",
    "Insights": "sdk.insights", "TimelineReader": "sdk.timeline.reader", "open_reader": "sdk.timeline.reader",
    # modes
    "MODES": "sdk.modes", "Mode": "sdk.modes", "register_mode": "sdk.modes",
    # upload
    "SyncOptions": "sdk.sync.client", "SyncResult": "sdk.sync.uploader", "ErasureResult": "sdk.sync.client",
    "PayloadOptions": "sdk.sync.payload", "Correction": "sdk.sync.corrections", "SyncError": "sdk.sync.client",
    # errors
    "MomentsenseError": "sdk.errors", "InputError": "sdk.errors", "FormatError": "sdk.errors",
    "ModelError": "sdk.errors", "StoreError": "sdk.timeline.store",
}  # fmt: skip

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    """Import a public name's module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from sdk.consent import ConsentError, ConsentManager, ConsentRecord  # noqa: F401
    from sdk.errors import FormatError, InputError, ModelError, MomentsenseError  # noqa: F401
    from sdk.runtime import MomentSDK  # noqa: F401
    from sdk.runtime_config import Context, RunningMode, SDKConfig  # noqa: F401
    from sdk.sources import ReplaySource, SensorChunk, SensorSource, SensorUnavailableError, SimulatorSource  # noqa: F401
    from sdk.sync.client import ErasureResult, SyncError, SyncOptions  # noqa: F401
    from sdk.sync.uploader import SyncResult  # noqa: F401
    from sdk.timeline.reader import TimelineReader, open_reader  # noqa: F401
    from sdk.timeline.records import Drive, DrivingEvent, DrivingScore, GpsFix, Place, TransportEvent, Trip, Visit  # noqa: F401
    from sdk.timeline.store import DayTimeline, StoreError  # noqa: F401
