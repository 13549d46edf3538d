"""Top level of the sensor simulator: legs → itineraries → datasets.

Composition per leg: carrier motion (:mod:`sdk.sim.motion`) + vibration through the placement
coupling + the phone's own motion (:mod:`sdk.sim.placement`) → rotated into the device frame →
sampled by the device (:mod:`sdk.sim.devices`); the trajectory gives the GPS fixes
(:mod:`sdk.sim.gps`). Legs chain through a :class:`LegState` (time, position, heading, placement,
phone orientation, sample clock, GPS error), so a long simulation is produced leg by leg
(:func:`iter_itinerary`) without holding it in memory.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.modes import mode_names
from momentsense.sdk.records import TRANSPORT_MODES, GpsTrack, ImuDataset, ImuRecording
from momentsense.sdk.sim.devices import DeviceProfile, draw_device, sample_device
from momentsense.sdk.sim.gps import GpsState, local_to_wgs84, lose_fixes, merge_fixes, network_fixes, side_rng, simulate_gps
from momentsense.sdk.sim.itinerary import Leg, plan_legs
from momentsense.sdk.sim.motion import gait_motion, still_motion, vehicle_motion
from momentsense.sdk.sim.person import PersonProfile, draw_person
from momentsense.sdk.sim.placement import (
    MODE_PLACEMENTS,
    STILL_COUPLING,
    carry_orientation,
    choose_placement,
    choose_posture,
    phone_motion,
    vibration_coupling,
)
from momentsense.sdk.sim.signals import IMU_RATE_HZ, child_rng, rotate
from momentsense.sdk.sim.vehicles import carried_like, draw_vehicle

SIMULATOR_VERSION = "momentsense-sensor-sim 1.2"


@dataclasses.dataclass(frozen=True)
class SimulatorOptions:
    """Options of the sensor simulator.

    Attributes:
        t0: Start time of recordings, unix seconds.
        origin_latlon: Origin of the local tangent plane, WGS84 degrees (lat, lon).
        urban: 0 (open sky) .. 1 (dense city): urban-canyon GPS error bursts and dropouts.
        gps: Simulate GPS fixes.
        sensor_errors: Apply the device's sensor errors and irregular sampling; False gives ideal
            samples on the exact 25 Hz grid (for debugging and physics tests).
    """

    t0: float = 1_700_000_000.0
    origin_latlon: tuple[float, float] = (48.8566, 2.3522)
    urban: float = 0.5
    gps: bool = True
    sensor_errors: bool = True

    def __post_init__(self):
        lat, lon = self.origin_latlon
        if not (-85.0 < lat < 85.0 and -180.0 <= lon <= 180.0):
            raise InputError(f"origin_latlon must be (lat in (-85, 85), lon in [-180, 180]), got {self.origin_latlon!r}")
        if not 0.0 <= self.urban <= 1.0:
            raise InputError(f"urban must be in [0, 1], got {self.urban!r}")

    def to_dict(self) -> dict:
        """JSON-serialisable dict; :meth:`from_dict` rebuilds the options."""
        d = dataclasses.asdict(self)
        d["origin_latlon"] = list(self.origin_latlon)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SimulatorOptions":
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InputError(f"unknown SimulatorOptions keys: {sorted(unknown)}")
        d = dict(d)
        if "origin_latlon" in d:
            d["origin_latlon"] = tuple(d["origin_latlon"])
        return cls(**d)


@dataclasses.dataclass
class LegState:
    """What carries over from one leg to the next.

    Attributes:
        t_s: Start time of the next leg, s.
        xy_m: ``(2,)`` position in the local plane (east, north), m.
        heading_rad: Direction of travel, rad counter-clockwise from east.
        placement, posture: Where the phone was and how the person was.
        orientation: ``3×3`` phone-to-carrier rotation of the last leg (kept while placement and
            posture stay the same).
        next_sample_t: Nominal time of the device's next sample, s.
        gps: Receiver error state.
    """

    t_s: float
    xy_m: np.ndarray
    heading_rad: float = 0.0
    placement: str = ""
    posture: str = ""
    orientation: Optional[np.ndarray] = None
    next_sample_t: Optional[float] = None
    gps: GpsState = dataclasses.field(default_factory=GpsState)


@dataclasses.dataclass
class LegResult:
    """One simulated leg: the recording (GPS in degrees) and the state for the next leg."""

    recording: ImuRecording
    state: LegState


def simulate_leg(
    mode: str,
    duration_s: float,
    person: PersonProfile,
    device: DeviceProfile,
    placement: Optional[str] = None,
    rng: Optional[np.random.Generator] = None,
    t0: Optional[float] = None,
    start_xy: Sequence[float] = (0.0, 0.0),
    *,
    heading_rad: Optional[float] = None,
    destination_xy_m: Optional[Sequence[float]] = None,
    indoor: Optional[bool] = None,
    state: Optional[LegState] = None,
    options: Optional[SimulatorOptions] = None,
    recording_id: str = "leg",
) -> LegResult:
    """Simulate one leg of a single mode.

    Parameters
    ----------
    mode : str
        One of :data:`sdk.records.TRANSPORT_MODES`.
    duration_s : float
        Length, s (> 0).
    person : PersonProfile
    device : DeviceProfile
    placement : str, optional
        pocket, hand, bag, mount or table; None = a sensible one at random (sticky across legs).
    rng : numpy.random.Generator, optional
        Default ``numpy.random.default_rng(0)``.
    t0 : float, optional
        Start time, s; default ``state.t_s`` or ``options.t0``.
    start_xy : sequence of 2 float
        Start position (east, north) in the local plane, m; ignored when ``state`` is given.
    heading_rad : float, optional
        Initial heading; default the state's.
    destination_xy_m : sequence of 2 float, optional
        The leg travels towards this point (direction only).
    indoor : bool, optional
        Still legs only: indoors (poor GPS). Default random.
    state : LegState, optional
        From the previous leg.
    options : SimulatorOptions, optional
    recording_id : str

    Returns
    -------
    LegResult
        ``recording.t`` float64 s, ``acc`` float32 ``(N, 3)`` m/s² with gravity in the device
        frame, ``gyro`` float32 ``(N, 3)`` rad/s, ``label`` int16 ``(N,)`` (the mode's index), and
        ``gps`` (None when there is no fix or GPS is off).
    """
    if mode not in mode_names():
        raise InputError(f"mode must be one of {mode_names()}, got {mode!r}")
    label_index, vehicle_kind = mode_names().index(mode), mode
    mode = carried_like(mode)  # an added vehicle is carried as the built-in mode it was registered like
    if not np.isfinite(duration_s) or duration_s <= 0:
        raise InputError(f"duration_s must be a positive number of seconds, got {duration_s!r}")
    if placement is not None and placement not in MODE_PLACEMENTS[mode]:
        raise InputError(f"placement {placement!r} does not fit mode {mode!r}; use one of {tuple(MODE_PLACEMENTS[mode])}")
    opts = options or SimulatorOptions()
    rng = rng if rng is not None else np.random.default_rng(0)
    fs = IMU_RATE_HZ
    if state is None:
        state = LegState(t_s=opts.t0 if t0 is None else float(t0), xy_m=np.asarray(start_xy, float),
                         heading_rad=float(rng.uniform(-np.pi, np.pi)))
    t_start = state.t_s if t0 is None else float(t0)
    n = max(int(round(duration_s * fs)), 2)

    placement = placement or choose_placement(mode, person, rng, state.placement or None)
    posture = choose_posture(mode, placement, rng)
    if placement == state.placement and posture == state.posture and state.orientation is not None:
        r0 = state.orientation
    else:
        r0 = carry_orientation(placement, posture, rng)

    if mode == "still":
        carrier = still_motion(n, posture, rng, fs, coupling=STILL_COUPLING[placement])
    elif mode in ("walk", "run"):
        carrier = gait_motion(mode, n, person, rng, fs)
    else:
        vehicle = draw_vehicle(vehicle_kind, rng, cruise_mps=person.bike_speed_mps if mode == "bike" else None,
                               aggressive=person.aggressive_driver and mode == "car")  # fmt: skip
        carrier = vehicle_motion(vehicle, n, posture, rng, device.alias_gain, person, fs)
    phone = phone_motion(placement, posture, mode, n, rng, person, carrier.limb_phase_rad, carrier.limb_amp_rad, fs)

    gain, fc = vibration_coupling(placement, posture)
    vib = carrier.vibration_mps2 * gain
    if fc > 0 and n >= 8:
        f = np.fft.rfftfreq(n, 1.0 / fs)
        vib = np.fft.irfft(np.fft.rfft(vib, axis=0) * (1.0 / np.sqrt(1.0 + (f / fc) ** 4))[:, None], n, axis=0)
    force_c = carrier.force_mps2 + vib + phone.acc_mps2
    rate_c = carrier.rate_rad_s + phone.rate_rad_s
    acc_dev = rotate(force_c, -phone.rotvec) @ r0
    gyro_dev = rotate(rate_c, -phone.rotvec) @ r0

    if opts.sensor_errors:
        out = sample_device(t_start, acc_dev, gyro_dev, device, rng, state.next_sample_t, fs)
        t, acc, gyro, next_t = out.t, out.acc, out.gyro, out.next_t
    else:
        t = t_start + np.arange(n) / fs
        acc, gyro, next_t = acc_dev.astype(np.float32), gyro_dev.astype(np.float32), t_start + n / fs
    label = np.full(len(t), label_index, dtype=np.int16)

    heading0 = state.heading_rad if heading_rad is None else float(heading_rad)
    heading = heading0 + np.cumsum(carrier.yaw_rate_rad_s) / fs
    step = np.stack([np.cos(heading), np.sin(heading)], axis=1) * carrier.speed_mps[:, None] / fs
    if destination_xy_m is not None:
        want = np.arctan2(destination_xy_m[1] - state.xy_m[1], destination_xy_m[0] - state.xy_m[0])
        total = step.sum(axis=0)
        if np.hypot(*total) > 1.0:
            turn = want - np.arctan2(total[1], total[0])
            heading = heading + turn
            c, s = np.cos(turn), np.sin(turn)
            step = step @ np.array([[c, s], [-s, c]])
    xy = state.xy_m + np.cumsum(step, axis=0)

    gps_track, gps_state = None, state.gps
    if opts.gps:
        is_indoor = (rng.random() < (0.9 if placement == "table" else 0.5)) if indoor is None else bool(indoor)
        fixes, gps_state = simulate_gps(
            t_start, xy[:, 0], xy[:, 1], carrier.speed_mps, rng, device.gps_sigma_m, device.gps_dropouts_per_h,
            opts.urban, indoor=(mode == "still" and is_indoor), underground=carrier.underground,
            state=state.gps, fs_hz=fs)
        # Drawn from their own stream: every leg's IMU samples stay as they were before these existed.
        side, indoors = side_rng(rng, 1), mode == "still" and is_indoor
        fixes = lose_fixes(fixes, mode, indoors, side)
        fixes = merge_fixes(fixes, network_fixes(t_start, xy[:, 0], xy[:, 1], mode, indoors, side, fs))
        if len(fixes.t):
            lat, lon = local_to_wgs84(fixes.x_m, fixes.y_m, opts.origin_latlon)
            gps_track = GpsTrack(fixes.t, lat, lon, fixes.accuracy_m, fixes.speed_mps)

    rec = ImuRecording(recording_id, t, acc, gyro, label, person.subject_id, device.device_id, placement, gps_track)
    new_state = LegState(t_start + n / fs, xy[-1].copy(), float(heading[-1]), placement, posture, r0, next_t, gps_state)
    return LegResult(rec, new_state)


def iter_itinerary(
    legs: Iterable[Leg],
    person: PersonProfile,
    device: DeviceProfile,
    seed: int = 0,
    t0: Optional[float] = None,
    origin_latlon: Optional[tuple[float, float]] = None,
    options: Optional[SimulatorOptions] = None,
    recording_id: str = "rec",
) -> Iterator[ImuRecording]:
    """Simulate legs one after another, yielding one chunk (an :class:`ImuRecording`) per leg.

    Chunks share one clock and one trajectory (they are consecutive pieces of one continuous
    recording); chunk ``i`` is named ``f"{recording_id}.{i:05d}"``. Each leg's randomness comes from
    ``(seed, person, device, leg index)``, so the output does not depend on how it is consumed.
    Memory is one leg at a time: a week of legs can be streamed to disk.
    """
    opts = options or SimulatorOptions()
    if origin_latlon is not None:
        opts = dataclasses.replace(opts, origin_latlon=tuple(origin_latlon))
    state = LegState(t_s=opts.t0 if t0 is None else float(t0), xy_m=np.zeros(2),
                     heading_rad=float(child_rng(seed, "heading", person.subject_id).uniform(-np.pi, np.pi)))
    for i, leg in enumerate(legs):
        if not isinstance(leg, Leg):
            leg = Leg(*leg)
        rng = child_rng(seed, "leg", person.subject_id, device.device_id, recording_id, i)
        res = simulate_leg(leg.mode, leg.duration_s, person, device, leg.placement, rng,
                           heading_rad=leg.heading_rad, destination_xy_m=leg.destination_xy_m, indoor=leg.indoor,
                           state=state, options=opts, recording_id=f"{recording_id}.{i:05d}")
        state = res.state
        yield res.recording


def concat_recordings(chunks: Sequence[ImuRecording], recording_id: str) -> ImuRecording:
    """Join consecutive chunks of one stream into one recording (placement "mixed" if it changed)."""
    if not chunks:
        e3 = np.zeros((0, 3), np.float32)
        return ImuRecording(recording_id, np.zeros(0), e3, e3.copy(), np.zeros(0, np.int16))
    places = {c.placement for c in chunks}
    gps = [c.gps for c in chunks if c.gps is not None and len(c.gps)]
    track = None
    if gps:
        track = GpsTrack(*(np.concatenate([getattr(g, k) for g in gps])
                           for k in ("t", "lat", "lon", "accuracy_m", "speed_mps")))
    return ImuRecording(
        recording_id,
        np.concatenate([c.t for c in chunks]),
        np.concatenate([c.acc for c in chunks]),
        np.concatenate([c.gyro for c in chunks]),
        np.concatenate([c.label for c in chunks]),
        chunks[0].subject,
        chunks[0].device,
        places.pop() if len(places) == 1 else "mixed",
        track,
    )


def simulate_itinerary(
    legs: Iterable[Leg],
    person: PersonProfile,
    device: DeviceProfile,
    seed: int = 0,
    t0: Optional[float] = None,
    origin_latlon: Optional[tuple[float, float]] = None,
    options: Optional[SimulatorOptions] = None,
    recording_id: str = "rec",
) -> ImuRecording:
    """Simulate a chain of legs as one continuous labelled recording.

    ``legs`` are :class:`Leg` objects or ``(mode, duration_s)`` tuples. Same arguments, same arrays.
    See :func:`iter_itinerary` for the streaming form.
    """
    chunks = list(iter_itinerary(legs, person, device, seed, t0, origin_latlon, options, recording_id))
    return concat_recordings(chunks, recording_id)


def iter_dataset(
    n_subjects: int,
    minutes_per_subject: float,
    seed: int = 0,
    n_devices: Optional[int] = None,
    modes: Sequence[str] = TRANSPORT_MODES,
    recordings_per_subject: int = 2,
    options: Optional[SimulatorOptions] = None,
    progress: Optional[Callable[[float], None]] = None,
) -> Iterator[ImuRecording]:
    """Yield the recordings of :func:`simulate_dataset` one by one (``progress(seconds)`` per leg)."""
    if int(n_subjects) < 1:
        raise InputError(f"n_subjects must be >= 1, got {n_subjects!r}")
    if not minutes_per_subject > 0:
        raise InputError(f"minutes_per_subject must be > 0, got {minutes_per_subject!r}")
    n_rec = max(1, int(recordings_per_subject))
    n_dev = max(2, (int(n_subjects) + 1) // 2) if n_devices is None else int(n_devices)
    if n_dev < 1:
        raise InputError(f"n_devices must be >= 1, got {n_devices!r}")
    modes = tuple(modes)
    opts = options or SimulatorOptions()
    devices = [draw_device(f"s{seed}-D{d:03d}", seed) for d in range(n_dev)]
    covered: dict[str, float] = {}
    plan_rng = child_rng(seed, "plan")
    stride = max(1, n_dev // 2)
    for s in range(int(n_subjects)):
        person = draw_person(f"s{seed}-S{s:03d}", seed)
        for r in range(n_rec):
            device = devices[(s + r * stride) % n_dev]
            legs = plan_legs(plan_rng, minutes_per_subject * 60.0 / n_rec, modes, covered)
            chunks = []
            rid = f"{person.subject_id}-R{r}"
            day_t0 = opts.t0 + 86400.0 * (s * n_rec + r)
            chunk_iter = iter_itinerary(legs, person, device, seed, t0=day_t0, options=opts, recording_id=rid)
            for leg, chunk in zip(legs, chunk_iter):
                chunks.append(chunk)
                if progress is not None:
                    progress(leg.duration_s)
            yield concat_recordings(chunks, rid)


def simulate_dataset(
    n_subjects: int,
    minutes_per_subject: float,
    seed: int = 0,
    n_devices: Optional[int] = None,
    modes: Sequence[str] = TRANSPORT_MODES,
    recordings_per_subject: int = 2,
    options: Optional[SimulatorOptions] = None,
    progress: Optional[Callable[[float], None]] = None,
) -> ImuDataset:
    """A labelled multi-subject, multi-device dataset.

    Parameters
    ----------
    n_subjects : int
        Subjects ``s{seed}-S000``, ``s{seed}-S001``..., each with their own gait, habits and
        placements (ids carry the seed: files simulated with other seeds hold other people).
    minutes_per_subject : float
        Simulated minutes per subject, split over ``recordings_per_subject`` recordings.
    seed : int
        Same seed, identical arrays.
    n_devices : int, optional
        Size of the device pool ``s{seed}-D000``...; default ``max(2, ceil(n_subjects / 2))``. Recording
        ``r`` of subject ``s`` uses device ``(s + r * (n_devices // 2)) % n_devices``, so devices
        are shared across subjects and subjects use several devices: whole devices and whole
        subjects can be held out independently.
    modes : sequence of str
        Modes to simulate; time is balanced across them over the whole dataset.
    recordings_per_subject : int
    options : SimulatorOptions, optional
    progress : callable, optional
        Called with the simulated seconds of each finished leg.

    Returns
    -------
    ImuDataset
        ``label_names`` = :data:`~sdk.records.TRANSPORT_MODES`, ``source`` names the simulator
        version and seed; ``attrs`` hold the seed and options.
    """
    recs = list(iter_dataset(n_subjects, minutes_per_subject, seed, n_devices, modes, recordings_per_subject,
                             options, progress))
    opts = options or SimulatorOptions()
    return ImuDataset(
        label_names=list(TRANSPORT_MODES),
        source=f"{SIMULATOR_VERSION} seed={seed}",
        recordings=recs,
        attrs={"simulator": SIMULATOR_VERSION, "seed": int(seed), "simulator_options": opts.to_dict()},
    )
