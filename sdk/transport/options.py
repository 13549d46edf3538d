"""Options of the streaming transport detector and how its model's context heads are found.

:class:`ModelOptions` (which ``.tflite`` runs, and how), :class:`TransportDetectorOptions` (the
detector's settings) and :func:`load_context_head` (a head named in the model's manifest, checked
against its sha256). Used by :class:`sdk.transport.detector.TransportDetector`, which re-exports them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Optional

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.models.manifest import Manifest, sha256_file
from momentsense.sdk.timeline.records import TransportEvent
from momentsense.sdk.transport.heads import ContextHead, load_head


def load_context_head(model_path: str | Path, manifest: Manifest, key: str = "context") -> Optional[ContextHead]:
    """The context head named by ``manifest.extra[key]`` (``{"file", "sha256"}``, beside the model),
    checked against its sha256; None when the manifest names none. ``key``: ``"context"`` (the live
    head, no lag), ``"context_lagged"`` (the timeline's, with look-ahead), ``"context_gps"`` (the live
    head reading GPS too) or ``"context_lagged_gps"`` (the timeline's, reading GPS too)."""
    ref = manifest.extra.get(key)
    if not ref:
        return None

    path = Path(model_path).with_name(str(ref.get("file", "")))
    if not path.is_file():
        raise ModelError(f"{model_path}: its manifest names the context head {path.name}, which is missing")
    if sha256_file(path) != ref.get("sha256"):
        raise ModelError(f"{path}: sha256 does not match the model's manifest; the file is corrupted or stale")
    head = load_head(path)
    if bool(head.lag) != key.startswith("context_lagged") or (head.gps is not None) != key.endswith("_gps"):
        raise ModelError(f"{path}: a head with lag {head.lag} and{'' if head.gps else ' no'} GPS cannot be the model's {key!r} head")
    return head


def default_model_path() -> Path:
    """The shipped int8 transport model."""
    from momentsense.sdk.models.shipped import artifact_dir

    return artifact_dir() / "transport_cnn.tflite"


@dataclasses.dataclass(frozen=True)
class ModelOptions:
    """Which model runs, and how.

    Attributes:
        path: ``.tflite`` file with its manifest beside it; None = the shipped int8 transport model.
        num_threads: Interpreter threads (≥ 1).
        backend: Force an interpreter backend (see :data:`sdk.models.interpreter.ALL_BACKENDS`); None = the
            Java interpreter on Android, else the first Python one found.
        delegate: ``"auto"``, ``"xnnpack"``, ``"cpu"``, ``"gpu"``, ``"nnapi"`` or ``"hexagon"`` (the last
            three on Android only); falls back to CPU when it fails (see :mod:`sdk.models.interpreter`).
    """

    path: Optional[str] = None
    num_threads: int = 1
    backend: Optional[str] = None
    delegate: str = "auto"

    def __post_init__(self):
        from momentsense.sdk.models.interpreter import ALL_BACKENDS, DELEGATES

        if self.num_threads < 1:
            raise InputError(f"num_threads must be >= 1, got {self.num_threads}")
        if self.backend is not None and self.backend not in ALL_BACKENDS:
            raise InputError(f"backend must be one of {ALL_BACKENDS} or None, got {self.backend!r}")
        if self.delegate not in DELEGATES:
            raise InputError(f"delegate must be one of {DELEGATES}, got {self.delegate!r}")


@dataclasses.dataclass(frozen=True)
class TransportDetectorOptions:
    """Options of :class:`TransportDetector`.

    Attributes:
        model: Model file and interpreter settings.
        min_stable_windows: A new mode is reported after it has been the filtered mode for this many
            consecutive windows (× hop = reporting delay; 2 × 5 s by default, plus the lagged head's
            lag when events are settled by one: 3 min for the shipped model).
        duty_cycle: Skip inference on still windows while the reported mode is ``still``.
        still_acc_std_mps2: Std of ``|acc|`` in a window below which it counts as still, m/s².
            Measured on a simulated 1.5 h itinerary (time-weighted accuracy of the events): no duty
            cycling 0.724; 0.03 → 0.757 with 30 % of windows skipped; 0.08 → 0.606 (smooth bus and
            train rides fell under it and were reported as still).
        at_place_vehicle_weight: While the GPS timeline says the person stays at a place
            (:meth:`TransportDetector.set_at_place`), the model's probabilities of the vehicle modes
            (bike, car, bus, train, subway) are multiplied by this before the HMM, 0..1 (1 = no GPS
            fusion). A phone lying still or held in a hand can look like a smooth bus ride to the
            IMU; GPS that has not moved for minutes says otherwise. Walking and running are left
            alone (people walk at home and at work). Calibrated on real still phones (WISDM sitting
            and standing, 21 subjects, streamed with the stay flag set, ``scripts/stream_real.py
            --at-place``): share of still seconds read as a vehicle on the timeline 0.026 at 0.05,
            0.012 at 0.02, 0.007 at 0.01, 0.005 at 0.003 (still recall 0.84 at all four; the rest
            is read as walking).
        use_context: Run the model's context head (named in its manifest, ``extra["context"]``) when
            it ships one; False = window model and HMM only (no lagged head either).
        use_lagged_context: Settle the events with the model's lagged head (``extra["context_lagged"]``)
            when it ships one: events come out its lag later (3 min) and more accurate;
            :meth:`TransportDetector.current` stays live. False = events from the live path.
        use_gps: Run the model's GPS heads when it ships them and location is on (see
            :mod:`sdk.transport.detector`): the lagged one (``extra["context_lagged_gps"]``) settles
            the events, the live one (``extra["context_gps"]``) answers the live path. False = never.
        on_event: Called as ``on_event(event)`` for each closed event (on the caller's thread; the
            SDK facade moves it to its dispatcher thread).
    """

    model: ModelOptions = ModelOptions()
    min_stable_windows: int = 2
    duty_cycle: bool = True
    still_acc_std_mps2: float = 0.03
    at_place_vehicle_weight: float = 0.01
    use_context: bool = True
    use_lagged_context: bool = True
    use_gps: bool = True
    on_event: Optional[Callable[[TransportEvent], None]] = None

    def __post_init__(self):
        if self.min_stable_windows < 1:
            raise InputError(f"min_stable_windows must be >= 1, got {self.min_stable_windows}")
        if self.still_acc_std_mps2 < 0:
            raise InputError(f"still_acc_std_mps2 must be >= 0, got {self.still_acc_std_mps2}")
        if not (isinstance(self.at_place_vehicle_weight, (int, float)) and 0 <= self.at_place_vehicle_weight <= 1):
            raise InputError(f"at_place_vehicle_weight must be in [0, 1], got {self.at_place_vehicle_weight!r}")
