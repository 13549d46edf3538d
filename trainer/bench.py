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


def bench_runtime(hours: float = 1.0, seed: int = 0, duty_cycle: bool = True, chunk_s: float = 10.0,
                  store: str = "file", context: bool = True, lagged_context: bool = True, gps: bool = True) -> dict:
    """Stream ``hours`` of a simulated commuter day through the on-device runtime (:class:`sdk.runtime.MomentSDK`).

    Sensor data is simulated leg by leg outside the timed region; the timed region is exactly what
    the phone runs per chunk (:meth:`MomentSDK.feed`): pipeline, windows, interpreter, HMM, events,
    GPS stay points, places, trips and the timeline store. ``store`` = ``"file"`` (an SQLite file
    in a temporary folder, ``synchronous=FULL``, as on a phone) or ``"memory"``. ``context``: run
    the transport context head (see :mod:`sdk.transport.heads`); ``lagged_context``: and the
    lagged head that settles the events; ``gps``: and the GPS head beside it (the simulated receiver
    listens: location is on).

    ``cpu_s`` is the process CPU time of the timed region (the runtime is single-threaded), which
    stays meaningful on a shared machine where ``wall_s`` includes waiting for a core;
    ``timeline_cpu_s`` is its GPS/places/trips/store part.
    """
    import tempfile

    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.sdk.sim import draw_device, draw_person, iter_itinerary
    from momentsense.sdk.sim.day import commuter_day, split_legs
    from momentsense.sdk.sources import chunk_recording

    rss_before = peak_rss_mb()
    tmp = tempfile.TemporaryDirectory(prefix="momentsense-bench-")
    path = f"{tmp.name}/timeline.db" if store == "file" else None
    sdk = MomentSDK(SDKConfig(duty_cycle=duty_cycle, chunk_s=chunk_s, store_path=path, transport_context=context,
                              transport_lagged_context=lagged_context, transport_gps=gps))
    det = sdk.detector
    timeline_cpu = [0.0]

    def timed(fn):
        def run(*a, **k):
            c0 = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                timeline_cpu[0] += time.process_time() - c0
        return run

    sdk.live.add_fixes, sdk.live.add_events = timed(sdk.live.add_fixes), timed(sdk.live.add_events)
    legs = split_legs(commuter_day(np.random.default_rng(seed), hours))
    wall = cpu = 0.0
    samples = 0
    for rec in iter_itinerary(legs, draw_person("bench", seed), draw_device("bench", seed), seed=seed):
        samples += len(rec.t)
        chunks = list(chunk_recording(rec, chunk_s, gps_on=True))
        t0, c0 = time.perf_counter(), time.process_time()
        for chunk in chunks:
            sdk.feed(chunk)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    sdk.finish()
    wall += time.perf_counter() - t0
    cpu += time.process_time() - c0
    sensor_s = sum(leg.duration_s for leg in legs)
    inf = np.asarray(det.stats.inference_ms) if det.stats.inference_ms else np.zeros(1)
    stats = sdk.stats()
    sdk.close()
    db_bytes = None
    if path is not None:
        import os

        db_bytes = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    tmp.cleanup()
    return {
        "sensor_hours": sensor_s / 3600.0,
        "samples": samples,
        "wall_s": wall,
        "realtime_factor": sensor_s / wall if wall > 0 else None,
        "cpu_s": cpu,
        "realtime_factor_cpu": sensor_s / cpu if cpu > 0 else None,
        "timeline_cpu_s": timeline_cpu[0],
        "windows": det.stats.windows,
        "windows_skipped": det.stats.windows_skipped,
        "inference_ms_median": float(np.median(inf)),
        "inference_ms_p95": float(np.percentile(inf, 95)),
        "context_head": det.context is not None,
        "lagged_context_head": det.lagged is not None,
        "gps_head": det.lagged_gps is not None,
        "live_gps_head": det.context_gps is not None,
        "windows_gps": det.stats.windows_gps,
        "windows_gps_live": det.stats.windows_gps_live,
        "context_ms_median": float(np.median(det.stats.context_ms)) if det.stats.context_ms else None,
        "context_ms_p95": float(np.percentile(det.stats.context_ms, 95)) if det.stats.context_ms else None,
        "events": det.stats.events,
        "gps": stats["gps"],
        "stored_items": stats["store"],
        "store": store,
        "store_bytes": db_bytes,
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_before_runtime": rss_before,
        "interpreter": det.backend,
        "threads": 1,
        "duty_cycle": duty_cycle,
        "chunk_s": chunk_s,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "scope": "MomentSDK.feed per chunk: pipeline + LiteRT + context head + HMM + events + GPS stay points/places/trips + SQLite store",
    }
