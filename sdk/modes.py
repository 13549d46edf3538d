"""The one registry of transport modes: names, sets, typical speeds and colours.

Everything that needs to know about a mode reads it here: the runtime (vehicle damping at a place,
which modes continue a drive, when not to notify), the simulators (which leg is a vehicle, how fast
a leg goes), the trainer, the demo and the app (colours). The eight built-in modes are in the
canonical label order of simulated data and the shipped transport model.

Adding a mode is :func:`register_mode` plus, for a vehicle, one vehicle profile in the simulator
(:func:`sdk.sim.vehicles.register_vehicle_profile`) and a retrain of the transport model, whose
manifest then lists the new label.

>>> MODES["car"].vehicle, MODES["bus"].public, round(MODES["walk"].typical_speed_mps, 1)
(True, True, 1.3)
"""

from __future__ import annotations

import dataclasses
import re
import threading
import types
from typing import Optional

from momentsense.sdk.errors import InputError

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_COLOUR_RE = re.compile(r"^#[0-9a-f]{6}$")


@dataclasses.dataclass(frozen=True)
class Mode:
    """One transport mode.

    Attributes:
        name: Identifier (``[a-z][a-z0-9_]*``, as in model labels and payloads).
        vehicle: The person rides something (bike or motorised): damped while GPS says they stay at a place.
        public: Public transport (bus, train, subway): a wait before it is normal; short legs are noise.
        busy: Not a good moment to notify (driving, riding, running).
        continues_drive: Continues an open drive but never starts one (motorised modes a car
            passenger's phone may be misread as).
        typical_speed_mps: Cruise speed while moving, m/s (simulated personas, place evaluation).
        trip_speed_kmh: Door-to-door average speed including stops, km/h (the population
            simulator's hour-based day planner).
        colour: ``#rrggbb`` used by the app and the reports.
    """

    name: str
    vehicle: bool
    public: bool
    busy: bool
    continues_drive: bool
    typical_speed_mps: float
    trip_speed_kmh: float
    colour: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise InputError(f"mode name must match {_NAME_RE.pattern}, got {self.name!r}")
        for f in ("typical_speed_mps", "trip_speed_kmh"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and 0 <= v < 150):
                raise InputError(f"Mode.{f} must be a number in [0, 150), got {v!r} for {self.name!r}")
        if not isinstance(self.colour, str) or not _COLOUR_RE.match(self.colour):
            raise InputError(f"Mode.colour must be '#rrggbb' (lower case), got {self.colour!r} for {self.name!r}")
        if self.public and not self.vehicle:
            raise InputError(f"mode {self.name!r}: public transport must also be a vehicle")

    @property
    def rgba(self) -> tuple[float, float, float, float]:
        """``colour`` as ``(r, g, b, 1.0)`` in 0..1 (Kivy's colour format)."""
        return tuple(int(self.colour[i : i + 2], 16) / 255.0 for i in (1, 3, 5)) + (1.0,)  # type: ignore[return-value]


BUILTIN_MODES: tuple[Mode, ...] = (
    Mode("still", False, False, False, False, 0.0, 0.0, "#9e9e9e"),
    Mode("walk", False, False, False, False, 1.3, 4.8, "#4caf50"),
    Mode("run", False, False, True, False, 2.8, 10.0, "#8bc34a"),
    Mode("bike", True, False, True, False, 4.5, 15.0, "#009688"),
    Mode("car", True, False, True, False, 11.0, 32.0, "#e53935"),
    Mode("bus", True, True, True, True, 7.0, 17.0, "#ff9800"),
    Mode("train", True, True, True, True, 14.0, 45.0, "#673ab7"),
    Mode("subway", True, True, True, True, 10.0, 28.0, "#3f51b5"),
)

_lock = threading.Lock()
_registry: dict[str, Mode] = {m.name: m for m in BUILTIN_MODES}
#: Every registered mode by name, in registration order (built-ins first); a live read-only view.
MODES = types.MappingProxyType(_registry)


def register_mode(mode: Mode) -> Mode:
    """Add ``mode`` to the registry (registering an equal one again is harmless).

    Raises :class:`~sdk.errors.InputError` when another mode of that name is registered.
    """
    if not isinstance(mode, Mode):
        raise InputError(f"register_mode needs a Mode, got {type(mode).__name__}")
    with _lock:
        old = _registry.get(mode.name)
        if old is not None and old != mode:
            raise InputError(f"mode {mode.name!r} is already registered with other properties: {old}")
        _registry[mode.name] = mode
    return mode


def unregister_mode(name: str) -> None:
    """Remove a mode added with :func:`register_mode` (built-in modes stay)."""
    if name in {m.name for m in BUILTIN_MODES}:
        raise InputError(f"{name!r} is a built-in mode and cannot be removed")
    with _lock:
        _registry.pop(name, None)


def get_mode(name: str) -> Mode:
    """The registered mode ``name``; :class:`~sdk.errors.InputError` naming the known ones otherwise."""
    m = _registry.get(name)
    if m is None:
        raise InputError(f"unknown transport mode {name!r}; registered: {', '.join(_registry)}")
    return m


def mode_names() -> tuple[str, ...]:
    """Names of every registered mode, built-ins first in the canonical label order."""
    return tuple(_registry)


def _names(flag: str) -> tuple[str, ...]:
    return tuple(m.name for m in _registry.values() if getattr(m, flag))


def vehicle_modes() -> tuple[str, ...]:
    """Modes that ride a vehicle (bike, car, bus, train, subway, and registered ones)."""
    return _names("vehicle")


def public_modes() -> tuple[str, ...]:
    """Public transport modes."""
    return _names("public")


def busy_modes() -> frozenset:
    """Modes during which the person should not be notified."""
    return frozenset(_names("busy"))


def drive_continue_modes() -> tuple[str, ...]:
    """Modes that continue an open drive but never start one."""
    return _names("continues_drive")


def typical_speed_mps(name: str, default: Optional[float] = None) -> float:
    """Cruise speed of ``name``, m/s (``default`` for an unknown mode, else InputError)."""
    if default is not None and name not in _registry:
        return float(default)
    return get_mode(name).typical_speed_mps


def colour(name: str, default: str = "#555555") -> str:
    """``#rrggbb`` of ``name`` (``default`` for an unknown mode)."""
    m = _registry.get(name)
    return default if m is None else m.colour


#: The built-in modes' names, sets and tables (snapshots for code that wants constants).
BUILTIN_NAMES: tuple[str, ...] = tuple(m.name for m in BUILTIN_MODES)
BUILTIN_VEHICLE: tuple[str, ...] = tuple(m.name for m in BUILTIN_MODES if m.vehicle)
BUILTIN_PUBLIC: tuple[str, ...] = tuple(m.name for m in BUILTIN_MODES if m.public)
