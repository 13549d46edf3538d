"""Benchmarks printed as JSON (``momentsense bench ...``): medians, measured side by side in one run.

``bench runtime`` streams sensor data through :class:`sdk.runtime.MomentSDK` chunk by chunk (what a
phone runs) and reports CPU per simulated day, the realtime factor on CPU, peak memory, whether scipy
was imported, each stage's share of the CPU and the Python overhead per inferred window. Its data
come from the simulator in the same process, or (``--replay FILE``) from a recording made once with
``--record FILE``, read chunk by chunk so that the process holds the SDK alone. ``--base REV`` runs
the same simulated hours through the code of another git revision in a subprocess, side by side.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

DAY_S = 86400.0
#: First array of a recording: the format name, so a wrong file is refused with a clear message.
RECORDING_FORMAT = "momentsense-bench-chunks-v1"
#: Stages whose CPU the bench attributes (exclusive: the store's writes are not counted in the caller).
STAGES = ("transport", "gps_timeline", "driving", "store", "segments")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports KiB, macOS bytes)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1e6


# ------------------------------------------------------------------------------------ sensor data


def simulated_chunks(hours: float, seed: int, chunk_s: float) -> Iterator[tuple[list, float]]:
    """``(chunks, sensor_s)`` leg by leg of a simulated commuter day (``hours`` long)."""
    from momentsense.sdk.sim import draw_device, draw_person, iter_itinerary
    from momentsense.sdk.sim.day import commuter_day, split_legs
    from momentsense.sdk.sources import chunk_recording

    legs = split_legs(commuter_day(np.random.default_rng(seed), hours))
    for leg, rec in zip(legs, iter_itinerary(legs, draw_person("bench", seed), draw_device("bench", seed), seed=seed)):
        yield list(chunk_recording(rec, chunk_s, gps_on=True)), float(leg.duration_s)


def record_chunks(path: str, hours: float = 24.0, seed: int = 0, chunk_s: float = 10.0) -> dict:
    """Write ``hours`` of simulated chunks to ``path`` (a stream of ``.npy`` arrays, read back one
    chunk at a time by :func:`replay_chunks`). Returns what was written."""
    n = 0
    sensor_s = 0.0
    with open(path, "wb") as fh:
        np.save(fh, np.frombuffer(RECORDING_FORMAT.encode(), np.uint8))
        for chunks, dur in simulated_chunks(hours, seed, chunk_s):
            sensor_s += dur
            for c in chunks:
                gt = c.gyro_t if c.gyro_t is not None else np.zeros(0)
                gps = np.array([[f.t, f.lat, f.lon, f.accuracy_m, f.speed_mps] for f in c.gps], np.float64).reshape(-1, 5)
                for a in (np.asarray(c.acc_t, np.float64), np.asarray(c.acc, np.float64), np.asarray(gt, np.float64),
                          np.asarray(c.gyro, np.float64), gps, np.array([c.gyro_t is None, bool(c.gps_on)])):
                    np.save(fh, a, allow_pickle=False)
                n += 1
    with open(path, "ab") as fh:
        np.save(fh, np.array([sensor_s]))
    return {"path": path, "chunks": n, "sensor_hours": sensor_s / 3600.0, "bytes": os.path.getsize(path)}


def replay_chunks(path: str) -> Iterator:
    """The chunks of a recording (:func:`record_chunks`), one at a time; the last item is the sensor seconds."""
    from momentsense.sdk.errors import InputError
    from momentsense.sdk.sources import SensorChunk
    from momentsense.sdk.timeline.records import GpsFix

    with open(path, "rb") as fh:
        try:
            head = np.load(fh, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{path}: not a bench recording ({exc}); make one with `bench runtime --record FILE`") from None
        if head.tobytes() != RECORDING_FORMAT.encode():
            raise InputError(f"{path}: not a {RECORDING_FORMAT} recording")
        while True:
            first = np.load(fh, allow_pickle=False)
            if first.shape == (1,) and fh.peek(1) == b"":  # the trailer: sensor seconds
                yield float(first[0])
                return
            acc, gt, gyro, gps, flags = (np.load(fh, allow_pickle=False) for _ in range(5))
            fixes = [GpsFix(*map(float, row)) for row in gps]
            yield SensorChunk(first, acc, None if flags[0] else gt, gyro, fixes, None, bool(flags[1]))


# ----------------------------------------------------------------------------------- stage timers


class StageClock:
    """Exclusive CPU seconds per stage: a call into a stage from inside another is charged to the inner one."""

    def __init__(self) -> None:
        self.cpu = {s: 0.0 for s in STAGES}
        self._stack: list = []
        self._t = 0.0

    def wrap(self, stage: str, fn):
        def run(*a, **k):
            now = time.process_time()
            if self._stack:
                self.cpu[self._stack[-1]] += now - self._t
            self._stack.append(stage)
            self._t = now
            try:
                return fn(*a, **k)
            finally:
                now = time.process_time()
                self.cpu[self._stack.pop()] += now - self._t
                self._t = now
        return run


def _instrument(sdk) -> StageClock:
    clock = StageClock()
    det = sdk._detector
    det.process, det.flush = clock.wrap("transport", det.process), clock.wrap("transport", det.flush)
    for name in ("add_fixes", "add_events", "set_open_event", "finish"):
        setattr(sdk._live, name, clock.wrap("gps_timeline", getattr(sdk._live, name)))
    if sdk._live_driving is not None:
        sdk._live_driving.step = clock.wrap("driving", sdk._live_driving.step)
        sdk._live_driving.finish = clock.wrap("driving", sdk._live_driving.finish)
    sdk._store.write, sdk._store.put = clock.wrap("store", sdk._store.write), clock.wrap("store", sdk._store.put)
    sdk.update_weekly_segments = clock.wrap("segments", sdk.update_weekly_segments)
    return clock


def bare_call_cpu_ms(model_path: str, n: int = 2000) -> float:
    """CPU ms of one bare LiteRT call (``set_tensor``, ``invoke``, ``get_tensor`` on an input already in
    the model's dtype, one thread), median of 5 runs of ``n``: the floor the runtime is compared with."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=Path(model_path).read_bytes(), num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    dt = np.dtype(inp["dtype"])
    rng = np.random.default_rng(0)
    x = (rng.integers(-100, 100, inp["shape"]) if dt.kind == "i" else rng.normal(size=inp["shape"])).astype(dt)
    runs = []
    for _ in range(5):
        c0 = time.process_time()
        for _ in range(n):
            it.set_tensor(inp["index"], x)
            it.invoke()
            it.get_tensor(out["index"])
        runs.append((time.process_time() - c0) / n * 1e3)
    return float(np.median(runs))


# --------------------------------------------------------------------------------------- the bench


def bench_runtime(hours: float = 1.0, seed: int = 0, duty_cycle: bool = True, chunk_s: float = 10.0,
                  store: str = "file", context: bool = True, lagged_context: bool = True, gps: bool = True,
                  replay: Optional[str] = None, model: Optional[str] = None) -> dict:
    """Stream sensor chunks through the on-device runtime (:meth:`sdk.runtime.MomentSDK.feed`).

    The timed region is exactly what the phone runs per chunk: the door check, pipeline, windows,
    interpreter, context heads, HMM, events, driving, GPS stay points, places, trips and the timeline
    store (``store`` = ``"file"``: SQLite in a temporary folder, ``synchronous=FULL`` as on a phone,
    or ``"memory"``). Data: simulated leg by leg outside the timed region, or ``replay``: a recording
    from :func:`record_chunks`, read one chunk at a time (the process then holds the SDK alone, which
    is what ``peak_rss_mb`` measures). ``model``: a ``.tflite`` to run instead of the shipped one.

    ``cpu_s`` is the process CPU time of the timed region (the runtime is single-threaded), which
    stays meaningful on a shared machine where ``wall_s`` includes waiting for a core.
    """
    from momentsense.sdk.transport.options import ModelOptions, default_model_path
    from momentsense.sdk.runtime import MomentSDK, SDKConfig

    rss_before = peak_rss_mb()
    tmp = tempfile.TemporaryDirectory(prefix="momentsense-bench-")
    path = f"{tmp.name}/timeline.db" if store == "file" else None
    sdk = MomentSDK(SDKConfig(duty_cycle=duty_cycle, chunk_s=chunk_s, store_path=path, transport_context=context,
                              transport_lagged_context=lagged_context, transport_gps=gps,
                              **({"model": ModelOptions(path=model)} if model else {})))
    det = sdk._detector
    clock = _instrument(sdk)
    wall = cpu = 0.0
    samples = n_chunks = 0
    sensor_s = 0.0
    source = _replay_batches(replay) if replay else simulated_chunks(hours, seed, chunk_s)
    for chunks, dur in source:
        sensor_s += dur
        t0, c0 = time.perf_counter(), time.process_time()
        for chunk in chunks:
            sdk.feed(chunk)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        samples += sum(len(c.acc_t) for c in chunks)
        n_chunks += len(chunks)
    t0, c0 = time.perf_counter(), time.process_time()
    sdk.finish()
    wall += time.perf_counter() - t0
    cpu += time.process_time() - c0
    peak = peak_rss_mb()  # before the bare-call measurement below loads a second interpreter
    scipy_imported = any(m.split(".")[0] == "scipy" for m in sys.modules)
    stats = sdk.stats()
    inferred = det.stats.windows - det.stats.windows_skipped
    bare_ms = bare_call_cpu_ms(model or default_model_path())
    transport_share = clock.cpu["transport"] / cpu if cpu > 0 else None
    sdk.close()
    db_bytes = None
    if path is not None:
        db_bytes = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    tmp.cleanup()
    inf = np.asarray(det.stats.inference_ms) if det.stats.inference_ms else np.zeros(1)
    per_window_ms = cpu / inferred * 1e3 if inferred else None
    return {
        "sensor_hours": sensor_s / 3600.0,
        "source": f"replay {replay}" if replay else "simulated in-process (outside the timed region)",
        "chunks": n_chunks,
        "samples": samples,
        "cpu_s": cpu,
        "cpu_s_per_day": cpu * DAY_S / sensor_s if sensor_s else None,
        "realtime_factor_cpu": sensor_s / cpu if cpu > 0 else None,
        "wall_s": wall,
        "realtime_factor": sensor_s / wall if wall > 0 else None,
        "cpu_ms_per_chunk": cpu / n_chunks * 1e3 if n_chunks else None,
        "stage_cpu_s": {**{k: round(v, 4) for k, v in clock.cpu.items()}, "runtime_glue": round(cpu - sum(clock.cpu.values()), 4)},
        "stage_cpu_share": {k: round(v / cpu, 4) for k, v in clock.cpu.items()} if cpu > 0 else None,
        "peak_rss_mb": peak,
        "peak_rss_mb_before_runtime": rss_before,
        "scipy_imported": scipy_imported,
        "tensorflow_imported": "tensorflow" in sys.modules,
        "windows": det.stats.windows,
        "windows_inferred": inferred,
        "windows_skipped": det.stats.windows_skipped,
        "bare_call_cpu_ms": bare_ms,
        "cpu_ms_per_inferred_window": per_window_ms,
        "python_overhead_ratio": per_window_ms / bare_ms if per_window_ms and bare_ms > 0 else None,
        "transport_overhead_ratio": (per_window_ms * transport_share / bare_ms) if per_window_ms and bare_ms > 0 else None,
        "inference_ms_median": float(np.median(inf)),
        "model_call_overhead_ratio": float(np.median(inf)) / bare_ms if bare_ms > 0 and det.stats.inference_ms else None,
        "context_head": det.context is not None, "lagged_context_head": det.lagged is not None,
        "gps_head": det.lagged_gps is not None, "live_gps_head": det.context_gps is not None,
        "windows_gps": det.stats.windows_gps, "windows_gps_live": det.stats.windows_gps_live,
        "events": det.stats.events,
        "gps": stats["gps"],
        "stored_items": stats["store"],
        "store": store,
        "store_bytes": db_bytes,
        "interpreter": det.backend,
        "model": model or "shipped",
        "threads": 1,
        "duty_cycle": duty_cycle,
        "chunk_s": chunk_s,
        "scope": "MomentSDK.feed per chunk: door check + pipeline + LiteRT + context heads + HMM + events + driving "
                 "+ GPS stay points/places/trips + SQLite store + weekly segment check",
    }


def _replay_batches(path: str) -> Iterator[tuple[list, float]]:
    """Replay as batches of 64 chunks (sensor seconds come with the last batch, from the trailer)."""
    batch: list = []
    for item in replay_chunks(path):
        if isinstance(item, float):
            yield batch, item
            return
        batch.append(item)
        if len(batch) == 64:
            yield batch, 0.0
            batch = []


def bench_base(rev: str, hours: float, seed: int, chunk_s: float = 10.0, repo: Optional[str] = None,
               timeout_s: float = 900.0) -> dict:
    """The same simulated hours through the runtime of git revision ``rev`` (``git archive`` into a
    temporary folder, its own ``bench_runtime`` in a subprocess): the old path, side by side."""
    repo = repo or str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory(prefix="momentsense-base-") as d:
        arch = subprocess.run(["git", "-C", repo, "archive", rev], capture_output=True, timeout=120)
        if arch.returncode != 0:
            return {"rev": rev, "error": arch.stderr.decode(errors="replace").strip()[:300]}
        subprocess.run(["tar", "-x", "-C", d], input=arch.stdout, check=True, timeout=120)
        code = ("import json, sys; from momentsense.trainer.bench import bench_runtime; "
                f"r = bench_runtime({float(hours)!r}, {int(seed)!r}, chunk_s={float(chunk_s)!r}); "
                "r['scipy_imported'] = 'scipy' in sys.modules; print(json.dumps(r))")
        env = {**os.environ, "PYTHONPATH": d}
        proc = subprocess.run([sys.executable, "-c", code], cwd=d, env=env, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            return {"rev": rev, "error": proc.stderr.strip()[-500:]}
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        sensor_s = r["sensor_hours"] * 3600.0
        return {"rev": rev, "cpu_s": r["cpu_s"], "cpu_s_per_day": r["cpu_s"] * DAY_S / sensor_s,
                "realtime_factor_cpu": r["realtime_factor_cpu"], "peak_rss_mb": r["peak_rss_mb"],
                "scipy_imported": r["scipy_imported"], "windows": r["windows"], "events": r["events"]}
