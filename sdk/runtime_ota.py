"""Over-the-air updates of the transport model inside :class:`~sdk.runtime.MomentSDK`.

With ``SDKConfig.ota`` (:class:`~sdk.ota.OtaOptions`: registry, pinned key, shadow thresholds) the
SDK starts with the updater's *active* model (the bundled one until an update is promoted, and again
if a promoted one fails verification). :meth:`MomentSDK.update_models` asks the registry for a newer
version, downloads and verifies it (signature, sha256, TFLite header) as the *candidate*; from then
on every window the detector runs goes through both models (:class:`ShadowModel`: the app keeps the
active model's answer; a candidate that raises is rolled back at once), and a later
``update_models()`` promotes or rolls it back on agreement and confidence. A promoted model is used
from the next start of the SDK. The flow itself is :class:`sdk.ota.ModelUpdater`'s.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from sdk.errors import InputError, ModelError

if TYPE_CHECKING:
    from sdk.interpreter import Model
    from sdk.ota import ModelUpdater, OtaOptions
    from sdk.transport_options import ModelOptions

log = logging.getLogger(__name__)


class ShadowModel:
    """The detector's model with the OTA candidate run beside it while there is one.

    Same interface as :class:`sdk.interpreter.Model` (``run``, ``backend``, ``delegate``, specs); the
    output is always the active model's.
    """

    def __init__(self, inner: "Model", updater: "ModelUpdater", lock: threading.Lock):
        self._inner, self._updater, self._lock = inner, updater, lock
        self.backend, self.input_spec, self.output_spec = inner.backend, inner.input_spec, inner.output_spec
        self.delegate = getattr(inner, "delegate", "xnnpack")

    def run(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            if self._updater.candidate() is None:
                return self._inner.run(x)
            return self._updater.shadow(x)


def start_ota(options: "OtaOptions", model: "ModelOptions", session=None) -> tuple["ModelUpdater", "ModelOptions"]:
    """The updater for ``options`` and the model options naming its active (verified) model file."""
    from sdk.ota import ModelUpdater, OtaOptions

    if not isinstance(options, OtaOptions):
        raise InputError(f"ota must be an OtaOptions or None, got {type(options).__name__}")
    holder: dict = {}

    def factory(path: Path, manifest):
        if Path(path) == Path(holder["active"]):
            return holder["inner"].run  # the detector's own interpreter: the active model is not loaded twice
        from sdk.interpreter import load_model

        return load_model(path).run

    updater = ModelUpdater(options, session=session, predictor_factory=factory)
    path, _ = updater.active()
    holder["active"] = path
    updater.holder = holder  # filled by attach() once the detector has loaded the model
    return updater, dataclasses.replace(model, path=str(path))


def attach(updater: "ModelUpdater", detector, lock: threading.Lock) -> None:
    """Route the detector's windows through :class:`ShadowModel`."""

    def wrap(inner):
        updater.holder["inner"] = inner
        return ShadowModel(inner, updater, lock)

    detector.wrap_model(wrap)


def update_models(updater: Optional["ModelUpdater"], lock: threading.Lock) -> tuple:
    """Check, download and verify a newer model (shadowed from now on), then promote or roll back a
    candidate whose shadow phase is over; the two :class:`~sdk.ota.UpdateReport` s."""
    if updater is None:
        raise InputError("model updates are not configured: pass SDKConfig(ota=OtaOptions(...))")
    with lock:
        try:
            first = updater.update()
        except ModelError as exc:  # the active model itself failed verification
            log.error("model update check failed: %s", exc)
            raise
        return first, updater.decide()
