"""Sensor sources: where the SDK's chunks come from.

:class:`SensorChunk` is what every source yields and what an app pushes itself; the sources are the
simulator (:class:`SimulatorSource`, desktop), a recording (:class:`ReplaySource`) and the phone
(:func:`plyer_source`, Android: :mod:`sdk.sources.phone`).
"""

from __future__ import annotations

from momentsense.sdk.errors import MomentsenseError
from momentsense.sdk.sources.core import (  # noqa: F401  (the package's public names)
    ReplaySource,
    SensorChunk,
    SensorSource,
    SensorUnavailableError,
    SimulatorSource,
    chunk_recording,
)


def plyer_source(**kwargs) -> SensorSource:
    """The phone's sensors: GPS through plyer, the IMU through the SDK's pyjnius listener (or plyer
    polling with ``imu="plyer"``); see :class:`sdk.sources.phone.PhoneSource` for ``kwargs``.

    Off Android, raises :class:`SensorUnavailableError` saying which source to use instead (plyer's
    desktop backends either raise or, as measured here on Linux, return nothing useful at 25 Hz).
    On Android, a sensor that cannot start (no permission, no accelerometer) raises it too.
    """
    from momentsense.sdk.android import is_android

    if not is_android():
        raise SensorUnavailableError(
            "no phone sensors on this platform (not Android); use source='simulate' (SimulatorSource) "
            "or source='replay' (ReplaySource) on a desktop"
        )
    from momentsense.sdk.sources.phone import PhoneSource

    try:
        return PhoneSource(**kwargs)
    except MomentsenseError:
        raise
    except Exception as exc:  # plyer raises plain Exception / NotImplementedError; jnius JavaException
        raise SensorUnavailableError(
            f"the phone's sensors could not start ({type(exc).__name__}: {exc}); check the app's "
            "permissions (ACCESS_FINE_LOCATION) and that sensing runs in a foreground service, or use "
            "source='simulate' / source='replay' to run without a phone"
        ) from exc
