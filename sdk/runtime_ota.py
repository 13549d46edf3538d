"""Over-the-air updates of the transport model inside :class:`~sdk.runtime.MomentSDK`.

With ``SDKConfig.ota`` (:class:`~sdk.models.ota.OtaOptions`: registry, pinned key, shadow thresholds) the
SDK starts with the updater's *active* model (the bundled one until an update is promoted, and again
if a promoted one fails verification). :meth:`MomentSDK.update_models` asks the registry for a newer
version, downloads and verifies it (signature, sha256, TFLite header) as the *candidate*; from then
on every window the detector runs goes through both models (:class:`ShadowModel`: the app keeps the
active model's answer; a candidate that raises is rolled back at once), and a later
``update_models()`` promotes or rolls it back on agreement and confidence. A promoted model is used
from the next start of the SDK. The flow itself is :class:`sdk.models.ota.ModelUpdater`'s.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

from momentsense.sdk.errors import InputError, ModelError

if TYPE_CHECKING:
    from momentsense.sdk.models.interpreter import Model
    from momentsense.sdk.models.ota import ModelUpdater, OtaOptions
    from momentsense.sdk.transport.detector import TransportDetector
    from momentsense.sdk.transport.options import ModelOptions

log = logging.getLogger(__name__)



class ShadowModel:
    """The detector's model with the OTA candidate run beside it while there is one.

    Same interface as :class:`sdk.models.interpreter.Model` (``run``, ``backend``, ``delegate``, specs); the
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


class OtaRunner:
    """The updater of one SDK: which model file to start with, the shadow wrapper, the update step.

    Parameters
    ----------
    options : OtaOptions
    session : requests.Session, optional
        For the registry (tests pass a fake).
    """

    def __init__(self, options: "OtaOptions", session=None):
        from momentsense.sdk.models.ota import ModelUpdater, OtaOptions

        if not isinstance(options, OtaOptions):
            raise InputError(f"ota must be an OtaOptions or None, got {type(options).__name__}")
        self._lock = threading.Lock()
        self._bundled = Path(options.bundled_tflite)
        self._inner: Optional["Model"] = None
        self.updater = ModelUpdater(options, session=session, predictor_factory=self._factory)
        self._active_path = Path(self.updater.active()[0])

    def _factory(self, path: Path, manifest):
        if Path(path) == self._active_path and self._inner is not None:
            return self._inner.run  # the detector's own interpreter: the active model is not loaded twice
        from momentsense.sdk.models.interpreter import load_model

        return load_model(path).run

    def create_detector(self, make: Callable[["ModelOptions"], "TransportDetector"], model: "ModelOptions"):
        """``make(model)`` with the updater's active model file, its windows routed through
        :class:`ShadowModel`. A promoted model the detector cannot run (e.g. a registry that
        published the window model without the context heads the app's options ask for) is logged
        and the bundled one is used instead."""
        try:
            detector = make(dataclasses.replace(model, path=str(self._active_path)))
        except ModelError as exc:
            bundled = self._bundled
            if self._active_path == bundled:
                raise
            log.error("the promoted model %s cannot run here (%s); using the bundled %s", self._active_path, exc, bundled)
            self._active_path = bundled
            detector = make(dataclasses.replace(model, path=str(bundled)))

        def wrap(inner):
            self._inner = inner
            return ShadowModel(inner, self.updater, self._lock)

        detector.wrap_model(wrap)
        return detector

    def update(self) -> tuple:
        """Check, download and verify a newer model (shadowed from then on), then promote or roll
        back a candidate whose shadow phase is over; the two :class:`~sdk.models.ota.UpdateReport` s."""
        with self._lock:
            return self.updater.update(), self.updater.decide()
