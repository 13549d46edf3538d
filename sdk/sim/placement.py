"""Where the phone is and how it moves relative to its carrier (body, bike or vehicle).

The phone's orientation relative to the carrier frame (x forward, y left, z up) is
``R(t) = Exp(a(t)) · R0``: a fixed carry orientation ``R0`` (which pocket, which way up, the thigh
angle of the posture, the mount angle) and a time-varying rotation vector ``a(t)``: thigh or arm
swing, slow wander, tremor and handling events (re-grips, posture shifts, sitting down).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.sim.person import PersonProfile
from momentsense.sdk.sim.signals import (
    IMU_RATE_HZ,
    event_times,
    lowpass_gain,
    ou_process,
    random_rotation,
    resonance_gain,
    rotvec_matrix,
    shaped_noise,
    smoothstep,
)

PLACEMENTS = ("pocket", "hand", "bag", "mount", "table")

#: Placements that make sense for each mode, with their base weights.
MODE_PLACEMENTS: dict[str, dict[str, float]] = {
    "still": {"table": 0.35, "hand": 0.25, "pocket": 0.25, "bag": 0.15},
    "walk": {"pocket": 1.0, "hand": 1.0, "bag": 1.0},
    "run": {"pocket": 0.5, "hand": 0.3, "bag": 0.2},
    "bike": {"pocket": 0.5, "bag": 0.3, "mount": 0.2},
    "car": {"mount": 0.35, "pocket": 0.3, "hand": 0.2, "bag": 0.15},
    "bus": {"pocket": 0.35, "hand": 0.4, "bag": 0.25},
    "train": {"pocket": 0.3, "hand": 0.45, "bag": 0.25},
    "subway": {"pocket": 0.35, "hand": 0.45, "bag": 0.2},
}

_THIGH_RAD = {"standing": 0.0, "sitting": -np.pi / 2, "lying": -np.pi / 2, "cycling": -0.95}

#: Share of the still body's micro-motion (:data:`sdk.sim.motion.STILL_MICRO_MPS2`) that reaches
#: the phone: a hand adds its own small movements, a bag on a lap or the floor damps them, a table
#: passes none (its std of |acc| is the phone's noise floor: US-TM2017 still, 10th percentile 0.009).
STILL_COUPLING: dict[str, float] = {"pocket": 1.0, "hand": 1.2, "bag": 0.5, "table": 0.0, "mount": 0.3}


def choose_placement(mode: str, person: PersonProfile, rng: np.random.Generator, previous: str | None = None) -> str:
    """Pick a sensible placement for ``mode``; the person's carry habit weighs pocket/hand/bag and
    the phone tends to stay where it was (``previous``)."""
    weights = dict(MODE_PLACEMENTS[mode])
    for name, w in zip(("pocket", "hand", "bag"), person.carry_weights):
        if name in weights:
            weights[name] *= 0.3 + 2.0 * w
    if previous in weights:
        weights[previous] *= 3.0
    names = list(weights)
    p = np.array([weights[k] for k in names])
    return str(names[rng.choice(len(names), p=p / p.sum())])


def choose_posture(mode: str, placement: str, rng: np.random.Generator) -> str:
    """standing, sitting, lying or cycling, as fits the mode (passengers may stand; only a still
    person lies, and not with the phone in a hand-held pose)."""
    if mode in ("walk", "run"):
        return "standing"
    if mode == "bike":
        return "cycling"
    if mode == "car":
        return "sitting"
    p_stand = {"still": 0.3, "bus": 0.35, "train": 0.15, "subway": 0.4}[mode]
    u = rng.random()
    if u < p_stand:
        return "standing"
    if mode == "still" and placement in ("pocket", "table", "bag") and u > 0.85:
        return "lying"
    return "sitting"


def _small(rng: np.random.Generator, deg: float) -> np.ndarray:
    return rotvec_matrix(rng.normal(0.0, np.deg2rad(deg), 3))


def carry_orientation(placement: str, posture: str, rng: np.random.Generator) -> np.ndarray:
    """Phone-to-carrier rotation ``R0`` (3×3) for a placement and posture, with random details.

    Phone axes: x right, y top, z out of the screen. Pocket: the long axis lies along the thigh
    (either way up, screen in or out), tilted by the posture's thigh angle. Hand: screen towards the
    face, 15-70° from horizontal, portrait or landscape. Mount: upright facing the driver, or flat-ish
    on a handlebar. Table: flat, usually screen up. Bag: anything.
    """
    if placement == "bag":
        return random_rotation(rng)
    yaw = rotvec_matrix([0.0, 0.0, rng.uniform(-np.pi, np.pi)])
    if placement == "table":
        flip = rotvec_matrix([np.pi, 0.0, 0.0]) if rng.random() < 0.15 else np.eye(3)
        return yaw @ flip @ _small(rng, 0.8)
    if placement == "pocket":
        y_up = rng.choice([-1.0, 1.0])
        z_fwd = rng.choice([-1.0, 1.0])
        y = np.array([0.0, 0.0, y_up])
        z = np.array([z_fwd, 0.0, 0.0])
        r = np.stack([np.cross(y, z), y, z], axis=1)
        thigh = rotvec_matrix([0.0, _THIGH_RAD[posture] + rng.normal(0.0, 0.12), 0.0])
        side = rotvec_matrix([0.0, 0.0, rng.normal(0.0, 0.35)])
        return side @ thigh @ r @ _small(rng, 12.0)
    if placement == "hand":
        alpha = np.deg2rad(rng.uniform(15.0, 70.0))
        y = np.array([np.cos(alpha), 0.0, np.sin(alpha)])
        z = np.array([-np.sin(alpha), 0.0, np.cos(alpha)])
        r = np.stack([np.cross(y, z), y, z], axis=1)
        land = rotvec_matrix([0.0, 0.0, rng.choice([0.0, 0.0, 0.0, np.pi / 2, -np.pi / 2])])
        return rotvec_matrix([0.0, 0.0, rng.normal(0.0, 0.4)]) @ r @ land @ _small(rng, 8.0)
    if placement == "mount":
        if posture == "cycling":
            alpha = np.deg2rad(rng.uniform(20.0, 60.0))
        else:
            alpha = np.deg2rad(rng.uniform(65.0, 100.0))
        y = np.array([np.cos(alpha), 0.0, np.sin(alpha)])
        z = np.array([-np.sin(alpha), 0.0, np.cos(alpha)])
        r = np.stack([np.cross(y, z), y, z], axis=1)
        land = rotvec_matrix([0.0, 0.0, rng.choice([0.0, np.pi / 2, -np.pi / 2], p=[0.5, 0.25, 0.25])])
        return rotvec_matrix([0.0, 0.0, rng.normal(0.0, 0.3)]) @ r @ land @ _small(rng, 4.0)
    raise ValueError(f"placement must be one of {PLACEMENTS}, got {placement!r}")


def vibration_coupling(placement: str, posture: str) -> tuple[float, float]:
    """How vehicle vibration reaches the phone: ``(gain, low-pass cut-off in Hz, 0 = none)``."""
    if placement == "mount" or placement == "table":
        return 1.0, 0.0
    if placement == "pocket":
        return (0.85, 9.0) if posture != "standing" else (0.55, 4.0)
    if placement == "hand":
        return 0.7, 6.0
    return (0.75, 6.0) if posture != "standing" else (0.5, 4.0)


@dataclasses.dataclass
class PhoneMotion:
    """Motion of the phone relative to its carrier on the simulation grid.

    Attributes:
        rotvec: ``(n, 3)`` rotation vector ``a(t)`` in the carrier frame, rad.
        rate_rad_s: ``(n, 3)`` its time derivative (angular rate relative to the carrier), rad/s.
        acc_mps2: ``(n, 3)`` extra linear acceleration of the phone in the carrier frame, m/s².
    """

    rotvec: np.ndarray
    rate_rad_s: np.ndarray
    acc_mps2: np.ndarray


#: (wander std rad, wander tau s, handling events per s, event size rad) per placement.
_HANDLING = {
    "pocket": (0.02, 8.0, 1 / 900, 0.25),
    "hand": (0.07, 4.0, 1 / 75, 0.35),
    "bag": (0.04, 3.0, 1 / 600, 0.4),
    "mount": (0.004, 2.0, 1 / 3600, 0.05),
    "table": (0.0, 1.0, 1 / 1200, 0.02),
}


def phone_motion(
    placement: str,
    posture: str,
    mode: str,
    n: int,
    rng: np.random.Generator,
    person: PersonProfile,
    limb_phase_rad: np.ndarray | None = None,
    limb_amp_rad: float = 0.0,
    fs_hz: float = IMU_RATE_HZ,
) -> PhoneMotion:
    """Swing, wander, tremor and handling of the phone relative to its carrier.

    Parameters
    ----------
    placement, posture, mode : str
    n : int
        Grid samples.
    rng : numpy.random.Generator
    person : PersonProfile
        Tremor and fidget traits.
    limb_phase_rad : ndarray, shape ``(n,)``, optional
        Phase of the thigh (stride or crank) swing, rad; the pocket swings with it.
    limb_amp_rad : float
        Swing amplitude of the thigh, rad.
    fs_hz : float

    Returns
    -------
    PhoneMotion
    """
    dt = 1.0 / fs_hz
    wander_sd, wander_tau, ev_rate, ev_size = _HANDLING[placement]
    if mode == "still":
        ev_rate = max(ev_rate, person.fidget_per_s) if placement != "table" else ev_rate
    a = ou_process(rng, n, wander_tau, wander_sd, fs_hz=fs_hz, n_channels=3) if wander_sd > 0 else np.zeros((n, 3))
    lin = np.zeros((n, 3))
    t = np.arange(n) * dt
    swing_r, theta_m = 0.0, _THIGH_RAD.get(posture, 0.0)
    theta = np.zeros(n)
    if limb_phase_rad is not None and placement == "pocket":
        theta = limb_amp_rad * (np.sin(limb_phase_rad) + 0.15 * np.sin(2 * limb_phase_rad + 0.7))
        swing_r = rng.uniform(0.12, 0.22)
    elif limb_phase_rad is not None and placement == "hand" and mode == "walk" and rng.random() < 0.3:
        theta = rng.uniform(0.15, 0.35) * np.sin(limb_phase_rad + np.pi)  # phone held in a swinging arm
        swing_r, theta_m = rng.uniform(0.5, 0.65), 0.0
    if swing_r > 0:
        pos = -swing_r * np.stack([np.sin(theta_m + theta), np.zeros(n), np.cos(theta_m + theta)], axis=1)
        lin += np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0)
        a[:, 1] += theta
    events = event_times(rng, n * dt, ev_rate)
    if len(events):
        env = np.zeros(n)
        cum = np.zeros(3)
        standing = posture == "standing"
        for te in events:
            dur = rng.uniform(0.8, 3.0)
            if placement == "pocket" and mode == "still" and rng.random() < 0.3:
                delta = np.array([0.0, (np.pi / 2) * (-1.0 if standing else 1.0), 0.0])
                standing = not standing
            else:
                delta = -0.6 * cum + rng.normal(0.0, ev_size, 3)
            cum = cum + delta
            a += delta * smoothstep((t - te) / dur)[:, None]
            i0, i1 = int(te * fs_hz), min(n, int((te + dur) * fs_hz))
            env[i0:i1] = np.maximum(env[i0:i1], np.hanning(max(i1 - i0, 1))[: i1 - i0])
        burst = shaped_noise(rng, n, lambda f: lowpass_gain(f, 3.0, 2), fs_hz, 3)
        lin += burst * env[:, None] * rng.uniform(0.3, 1.5) * (0.1 if placement == "table" else 1.0)
    if placement == "hand":
        trem = shaped_noise(rng, n, lambda f: resonance_gain(f, person.tremor_hz, 4.0) * (f > 3.0), fs_hz, 3)
        lin += trem * person.tremor_mps2
        a += trem * rng.uniform(0.0005, 0.002)
    rate = np.gradient(a, dt, axis=0)
    return PhoneMotion(a, rate, lin)
