"""Simulate a persona and push it through :class:`sdk.runtime.MomentSDK` leg by leg (push mode).

Nothing but the truth (legs and stops), a 1 Hz GPS speed trace (for the report's driving plot) and
counters is kept: each leg's 25 Hz recording is cut into :class:`~sdk.sources.SensorChunk` objects,
fed, and dropped.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from momentsense.sdk.runtime import MomentSDK
from momentsense.sdk.sim import draw_device, draw_person
from momentsense.sdk.sim.gps import local_to_wgs84
from momentsense.sdk.sim.simulate import SimulatorOptions
from momentsense.sdk.sources import chunk_recording
from momentsense.trainer.demo.personas import (
    DAY_S,
    LEAD_IN_S,
    MONDAY_T0,
    PLACES_XY_M,
    Persona,
    StreamingWalker,
    simulate_persona,
)

#: Raw bytes per IMU sample (float64 time + float32 acc xyz + float32 gyro xyz) and per GPS fix (5 × float64).
IMU_SAMPLE_BYTES = 8 + 12 + 12
GPS_FIX_BYTES = 5 * 8


@dataclasses.dataclass
class StreamResult:
    """What was simulated and fed.

    Attributes:
        t0, t_end: Unix s of the start and end of the simulated span (starts ``LEAD_IN_S`` before day 0).
        day0: Unix s of day 0 (Monday 00:00 UTC).
        legs: Planted legs ``(start, end, mode)``. stops: Planted stops ``(start, end, place)``.
        place_latlon: Planted place → ``(lat, lon)`` degrees.
        samples, gps_fixes: IMU samples and GPS fixes fed. raw_bytes: Their size as raw sensor data.
        speed_t, speed_mps: The GPS speed trace (1 Hz with gaps), unix s and m/s.
        sim_s, sdk_s: Wall seconds spent simulating and inside ``MomentSDK.feed``/``finish``.
    """

    t0: float
    t_end: float
    day0: float
    legs: list
    stops: list
    place_latlon: dict
    samples: int
    gps_fixes: int
    raw_bytes: int
    speed_t: np.ndarray
    speed_mps: np.ndarray
    sim_s: float
    sdk_s: float


def stream_persona(sdk: MomentSDK, persona: Persona, n_days: int, seed: int, hours: float | None = None,
                   chunk_s: float = 10.0, progress: bool = True, urban: float = 0.5) -> StreamResult:  # fmt: skip
    """Simulate ``persona`` for ``n_days`` from Monday 00:00 (or only the first ``hours``), after a
    ``LEAD_IN_S`` lead-in at home, and feed it to ``sdk``.

    A tqdm bar counts simulated hours. Ctrl-C (KeyboardInterrupt) propagates after the bar is closed.
    """
    day0 = MONDAY_T0
    t0 = day0 - LEAD_IN_S
    span_s = LEAD_IN_S + (n_days * DAY_S if hours is None else min(n_days * DAY_S, hours * 3600.0))
    opts = SimulatorOptions(t0=t0, urban=urban)
    counters = {"samples": 0, "gps": 0, "sdk_s": 0.0}
    speed_t: list = []
    speed_v: list = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=round(span_s / 3600.0, 2), unit="h", desc=f"simulating {persona.name}", bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.0f} simulated h [{elapsed}<{remaining}]"))  # fmt: skip

    def sink(rec) -> None:
        counters["samples"] += len(rec.t)
        if rec.gps is not None and len(rec.gps.t):
            counters["gps"] += len(rec.gps.t)
            speed_t.append(np.asarray(rec.gps.t, np.float64))
            sp = rec.gps.speed_mps if rec.gps.speed_mps is not None else np.full(len(rec.gps.t), np.nan)
            speed_v.append(np.asarray(sp, np.float32))
        c = time.perf_counter()
        for chunk in chunk_recording(rec, chunk_s, gps_on=True):  # the simulated receiver listens
            sdk.feed(chunk)
        counters["sdk_s"] += time.perf_counter() - c
        if bar is not None and len(rec.t):
            bar.update(round((rec.t[-1] - rec.t[0]) / 3600.0, 4))

    person = dataclasses.replace(draw_person(f"demo-{persona.name}", seed), aggressive_driver=persona.aggressive_driver)
    walker = StreamingWalker(person, draw_device(f"demo-phone-{seed}", seed), seed, opts, sink, t0 + span_s)
    start = time.perf_counter()
    try:
        simulate_persona(persona, walker, n_days, np.random.default_rng([seed, 991]), day0)
        c = time.perf_counter()
        sdk.finish()
        counters["sdk_s"] += time.perf_counter() - c
    finally:
        if bar is not None:
            bar.close()
    total = time.perf_counter() - start
    latlon = {k: tuple(float(v) for v in local_to_wgs84(x, y, opts.origin_latlon)) for k, (x, y) in PLACES_XY_M.items()}
    return StreamResult(
        t0=t0, t_end=walker.t, day0=day0, legs=walker.legs, stops=walker.stops, place_latlon=latlon,
        samples=counters["samples"], gps_fixes=counters["gps"],
        raw_bytes=counters["samples"] * IMU_SAMPLE_BYTES + counters["gps"] * GPS_FIX_BYTES,
        speed_t=np.concatenate(speed_t) if speed_t else np.zeros(0), speed_mps=np.concatenate(speed_v) if speed_v else np.zeros(0),
        sim_s=total - counters["sdk_s"], sdk_s=counters["sdk_s"],
    )  # fmt: skip
