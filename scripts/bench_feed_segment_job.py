"""How long ``MomentSDK.feed()`` takes on the chunk at which the weekly segment job comes due.

Two weeks of an early riser's timeline go into the store, then 30 chunks of 10 s are fed; the first
one starts the weekly job (rules, shipped encoder and heads). Prints JSON: the feed() wall and CPU
time of that chunk and the median of the others, and when the job's result was there. Run it in the
same environment against two checkouts to compare:

    PYTHONPATH=. python scripts/bench_feed_segment_job.py    (from the checkout's root)
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.sources import SensorChunk
from tests.test_insights import early_riser_weeks


def chunk(t0: float) -> SensorChunk:
    t = t0 + np.arange(250) / 25.0
    acc = np.tile([0.0, 0.0, 9.81], (250, 1)) + np.random.default_rng(int(t0) % 1000).normal(0, 0.02, (250, 3))
    return SensorChunk(t, acc, None, np.zeros((250, 3)), [])


def main() -> dict:
    with MomentSDK(SDKConfig()) as sdk:
        if not hasattr(sdk, "import_records"):  # a checkout before the SDK's face: the store was public
            sdk.import_records = sdk.store.write
        now = early_riser_weeks(sdk)
        walls, cpus = [], []
        t_start = time.perf_counter()
        result_after_s = None
        for i in range(30):
            w0, c0 = time.perf_counter(), time.process_time()
            sdk.feed(chunk(now + 10.0 * i))
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            if result_after_s is None and sdk.weekly_segments() is not None:
                result_after_s = time.perf_counter() - t_start
        if hasattr(sdk, "segments_status"):
            sdk.segments_status(wait_s=120.0)
        if result_after_s is None and sdk.weekly_segments() is not None:
            result_after_s = time.perf_counter() - t_start
    out = {"first_chunk_wall_ms": round(walls[0] * 1e3, 2), "first_chunk_cpu_ms": round(cpus[0] * 1e3, 2),
           "other_chunks_median_wall_ms": round(statistics.median(walls[1:]) * 1e3, 2),
           "max_other_chunk_wall_ms": round(max(walls[1:]) * 1e3, 2),
           "segments_result_after_s": None if result_after_s is None else round(result_after_s, 3)}  # fmt: skip
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
