"""Per-person movement traits: gait, pedalling, tremor and carrying habits.

Each subject id draws its own profile (deterministic given the id and seed), so step frequency,
gait harmonics, asymmetry and where the phone is carried differ between people and a model must
generalise across them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.sim.signals import child_rng


@dataclasses.dataclass(frozen=True)
class PersonProfile:
    """How one person moves.

    Attributes:
        subject_id: Subject id written into recordings.
        walk_step_hz: Mean walking step frequency, Hz (1.6-2.2).
        run_step_hz: Mean running step frequency, Hz (2.5-3.2).
        walk_step_length_m: Walking step length, m.
        run_step_length_m: Running step length, m.
        walk_vertical_mps2: Amplitude of the vertical trunk acceleration when walking, m/s².
        run_vertical_mps2: Amplitude of the vertical trunk acceleration when running, m/s².
        harmonics: Relative amplitudes of the 2nd-4th harmonics of the step frequency.
        harmonic_phases_rad: Their phases, rad.
        impact_sharpness: Peakedness of the heel-strike pulse (von Mises kappa), walking.
        asymmetry: Left/right step difference (relative amplitude at the stride frequency).
        step_cv: Step-to-step coefficient of variation of step duration.
        cadence_rpm: Pedalling cadence, revolutions per minute (60-100).
        bike_speed_mps: Preferred cycling speed, m/s.
        tremor_hz: Physiological hand tremor frequency, Hz.
        tremor_mps2: Hand tremor acceleration amplitude, m/s².
        carry_weights: Preference weights for (pocket, hand, bag) when walking.
        fidget_per_s: Rate of posture shifts / handling events while still, 1/s.
        aggressive_driver: Drives cars harshly (see :func:`sdk.sim.vehicles.draw_vehicle`). Not drawn
            by :func:`draw_person` (people are calm drivers unless a caller says otherwise, e.g.
            ``dataclasses.replace(person, aggressive_driver=True)``).
    """

    subject_id: str
    walk_step_hz: float
    run_step_hz: float
    walk_step_length_m: float
    run_step_length_m: float
    walk_vertical_mps2: float
    run_vertical_mps2: float
    harmonics: tuple[float, float, float]
    harmonic_phases_rad: tuple[float, float, float]
    impact_sharpness: float
    asymmetry: float
    step_cv: float
    cadence_rpm: float
    bike_speed_mps: float
    tremor_hz: float
    tremor_mps2: float
    carry_weights: tuple[float, float, float]
    fidget_per_s: float
    aggressive_driver: bool = False

    def to_dict(self) -> dict:
        """JSON-serialisable dict; :meth:`from_dict` rebuilds the profile."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PersonProfile":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for key in ("harmonics", "harmonic_phases_rad", "carry_weights"):
            d[key] = tuple(d[key])
        return cls(**d)


def draw_person(subject_id: str, seed: int = 0) -> PersonProfile:
    """Draw the movement traits of ``subject_id`` (deterministic given ``subject_id`` and ``seed``)."""
    rng = child_rng(seed, "person", subject_id)
    height = rng.normal(1.72, 0.09)
    walk_hz = float(np.clip(rng.normal(1.88, 0.12), 1.62, 2.15))
    run_hz = float(np.clip(rng.normal(2.82, 0.14), 2.55, 3.15))
    carry = rng.dirichlet([2.0, 1.5, 1.2])
    return PersonProfile(
        subject_id=str(subject_id),
        walk_step_hz=walk_hz,
        run_step_hz=run_hz,
        walk_step_length_m=float(np.clip(0.41 * height * rng.normal(1.0, 0.06), 0.55, 0.85)),
        run_step_length_m=float(np.clip(0.65 * height * rng.normal(1.0, 0.1), 0.85, 1.5)),
        walk_vertical_mps2=float(rng.uniform(1.6, 3.4)),
        run_vertical_mps2=float(rng.uniform(6.0, 11.0)),
        harmonics=tuple(float(x) for x in rng.uniform([0.15, 0.05, 0.0], [0.55, 0.3, 0.15])),
        harmonic_phases_rad=tuple(float(x) for x in rng.uniform(0, 2 * np.pi, 3)),
        impact_sharpness=float(rng.uniform(0.5, 2.0)),
        asymmetry=float(rng.uniform(0.03, 0.25)),
        step_cv=float(rng.uniform(0.012, 0.045)),
        cadence_rpm=float(np.clip(rng.normal(78, 10), 58, 102)),
        bike_speed_mps=float(np.clip(rng.normal(5.0, 1.0), 3.0, 8.0)),
        tremor_hz=float(rng.uniform(8.0, 11.5)),
        tremor_mps2=float(rng.uniform(0.008, 0.05)),
        carry_weights=tuple(float(x) for x in carry),
        fidget_per_s=float(rng.uniform(1 / 900, 1 / 150)),
    )
