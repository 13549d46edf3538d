"""Benchmarks printed as JSON (``momentsense bench ...``): medians, measured side by side in one run."""

from __future__ import annotations

import resource
import sys
import time

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB, macOS bytes)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1e6


def bench_runtime(hours: float = 1.0, seed: int = 0, duty_cycle: bool = True, chunk_s: float = 10.0) -> dict:
    """Stream ``hours`` of a simulated commuter day through the on-device transport runtime.

    Sensor data is simulated leg by leg outside the timed region; the timed region is exactly what
    the phone runs per chunk (pipeline, windows, interpreter, HMM, events).
    """
    from sdk.sim import draw_device, draw_person, iter_itinerary
    from sdk.transport_detector import TransportDetector
    from sdk.sim.day import commuter_day, split_legs

    rss_before = peak_rss_mb()
    det = TransportDetector.create(duty_cycle=duty_cycle)
    legs = split_legs(commuter_day(np.random.default_rng(seed), hours))
    wall = 0.0
    samples = 0
    for rec in iter_itinerary(legs, draw_person("bench", seed), draw_device("bench", seed), seed=seed):
        samples += len(rec.t)
        edges = np.searchsorted(rec.t, np.arange(rec.t[0], rec.t[-1], chunk_s))
        bounds = list(edges) + [len(rec.t)]
        t0 = time.perf_counter()
        for a, b in zip(bounds[:-1], bounds[1:]):
            det.process(rec.t[a:b], rec.acc[a:b], gyro=rec.gyro[a:b])
        wall += time.perf_counter() - t0
    t0 = time.perf_counter()
    det.flush()
    wall += time.perf_counter() - t0
    sensor_s = sum(leg.duration_s for leg in legs)
    inf = np.asarray(det.stats.inference_ms) if det.stats.inference_ms else np.zeros(1)
    return {
        "sensor_hours": sensor_s / 3600.0,
        "samples": samples,
        "wall_s": wall,
        "realtime_factor": sensor_s / wall if wall > 0 else None,
        "windows": det.stats.windows,
        "windows_skipped": det.stats.windows_skipped,
        "inference_ms_median": float(np.median(inf)),
        "inference_ms_p95": float(np.percentile(inf, 95)),
        "events": det.stats.events,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_runtime": rss_before,
        "interpreter": det.backend,
        "threads": 1,
        "duty_cycle": duty_cycle,
        "chunk_s": chunk_s,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "scope": "transport runtime (pipeline + LiteRT + HMM + events); GPS places/trips/store not yet included",
    }
