"""Physically plausible phone sensor simulator (numpy only).

25 Hz accelerometer (m/s², gravity included, device frame) and gyroscope (rad/s) plus 1 Hz GPS for
the eight :data:`~sdk.records.TRANSPORT_MODES`, each from its physics (gait, pedalling, vehicle
speed profiles, cornering, suspension and rail vibration), carried in a sensible placement with a
random orientation, and sampled by a phone with its own noise profile.

Entry points: :func:`simulate_dataset` (labelled multi-subject, multi-device data),
:func:`simulate_itinerary` / :func:`iter_itinerary` (one person's chain of legs),
:func:`simulate_leg` (one leg, the building block).

Example
-------
>>> from momentsense.sdk.sim import simulate_dataset
>>> ds = simulate_dataset(n_subjects=2, minutes_per_subject=4, seed=1)
>>> sorted({r.device for r in ds.recordings})
['s1-D000', 's1-D001']
"""

from momentsense.sdk.sim.day import commuter_day, split_legs
from momentsense.sdk.sim.devices import DeviceProfile, draw_device, sample_device
from momentsense.sdk.sim.gps import local_to_wgs84
from momentsense.sdk.sim.itinerary import Leg, plan_legs
from momentsense.sdk.sim.person import PersonProfile, draw_person
from momentsense.sdk.sim.placement import MODE_PLACEMENTS, PLACEMENTS
from momentsense.sdk.sim.simulate import (
    SIMULATOR_VERSION,
    LegResult,
    LegState,
    SimulatorOptions,
    concat_recordings,
    iter_dataset,
    iter_itinerary,
    simulate_dataset,
    simulate_itinerary,
    simulate_leg,
)
from momentsense.sdk.sim.vehicles import VehicleProfile, draw_vehicle

__all__ = [
    "SIMULATOR_VERSION",
    "DeviceProfile",
    "Leg",
    "LegResult",
    "LegState",
    "MODE_PLACEMENTS",
    "PLACEMENTS",
    "PersonProfile",
    "SimulatorOptions",
    "VehicleProfile",
    "commuter_day",
    "concat_recordings",
    "draw_device",
    "draw_person",
    "draw_vehicle",
    "iter_dataset",
    "iter_itinerary",
    "local_to_wgs84",
    "plan_legs",
    "sample_device",
    "simulate_dataset",
    "simulate_itinerary",
    "simulate_leg",
    "split_legs",
]
