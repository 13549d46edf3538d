"""The runtime's hot path: one check at the SDK's door, no scipy on the phone, linear stay points."""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.sources import SensorChunk

REPO = Path(__file__).resolve().parents[1]
T0 = 1.7e9


def _chunk(t0: float, n: int = 250, seed: int = 0) -> SensorChunk:
    t = t0 + np.arange(n) / 25.0
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + np.random.default_rng(seed).normal(0, 0.3, (n, 3))
    return SensorChunk(t, acc, None, np.random.default_rng(seed + 1).normal(0, 0.05, (n, 3)), [], None, False)


class TestDoor:
    """Bad chunks are refused whole with an InputError naming the problem; the stream carries on."""

    @pytest.mark.parametrize("bad,match", [
        (SensorChunk(np.array(["a"] * 5), np.zeros((5, 3)), None, np.zeros((5, 3)), []), "acc_t must hold numbers"),
        (SensorChunk(T0 + np.arange(5.0), np.array([["x", "y", "z"]] * 5), None, np.zeros((5, 3)), []), "acc must hold numbers"),
        (SensorChunk(np.full(5, 1e300), np.zeros((5, 3)), None, np.zeros((5, 3)), []), r"acc_t\[0\] = 1e\+300 s is not a unix time"),
        (SensorChunk(T0 + np.arange(5.0), np.zeros((5, 2)), None, np.zeros((5, 3)), []), r"acc must have shape \(N, 3\)"),
        (SensorChunk(T0 + np.arange(5.0), np.zeros((4, 3)), None, np.zeros((5, 3)), []), "5 timestamps but acc has 4"),
    ], ids=["string-times", "string-samples", "1e300", "two-axes", "length"])
    def test_bad_chunk_gives_input_error(self, bad, match):
        sdk = MomentSDK(SDKConfig())
        sdk.feed(_chunk(T0))
        with pytest.raises(InputError, match=match):
            sdk.feed(bad)
        assert sdk.stats()["chunks_refused"] == 1 and sdk.stats()["last_refusal"]

    def test_a_chunk_from_the_year_3000_does_not_make_later_samples_late(self):
        """Refused at the door (counted, with its reason, in stats()); the real samples after it are all used."""
        sdk = MomentSDK(SDKConfig())
        for i in range(3):
            sdk.feed(_chunk(T0 + 10 * i, seed=i))
        with pytest.raises(InputError, match="not a unix time"):
            sdk.feed(_chunk(32_503_680_000.0))  # 3000-01-01
        for i in range(3, 8):
            sdk.feed(_chunk(T0 + 10 * i, seed=i))
        st = sdk.stats()
        assert st["sensor_repairs"]["late"] == 0 and st["sensor_repairs"]["received"] == 8 * 250
        assert st["chunks_refused"] == 1 and "3250368" in st["last_refusal"]
        assert st["windows"] >= 14  # 80 s of 10 s windows every 5 s

    def test_nan_and_inf_times_stay_per_sample_repairs(self):
        """Non-finite timestamps are dropped and counted (sdk.dsp.validate), not refused as a chunk."""
        sdk = MomentSDK(SDKConfig())
        c = _chunk(T0)
        c.acc_t[[3, 7]] = [np.nan, np.inf]
        sdk.feed(c)
        assert sdk.stats()["sensor_repairs"]["dropped_bad_time"] == 2 and sdk.stats()["chunks_refused"] == 0


SCIPY_FREE_DAY = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.sdk.sim import draw_device, draw_person, iter_itinerary
    from momentsense.sdk.sim.day import commuter_day, split_legs
    from momentsense.sdk.sources import chunk_recording

    legs = split_legs(commuter_day(np.random.default_rng(0), float(sys.argv[1])))
    sdk = MomentSDK(SDKConfig(chunk_s=10.0))
    before = "scipy" in sys.modules
    n = 0
    for rec in iter_itinerary(legs, draw_person("day", 0), draw_device("day", 0), seed=0):
        for chunk in chunk_recording(rec, 10.0, gps_on=True):
            sdk.feed(chunk)
            n += 1
    sdk.finish()
    st = sdk.stats()
    sdk.close()
    print(json.dumps({"scipy": sorted(m for m in sys.modules if m.split(".")[0] == "scipy"), "before": before,
                      "chunks": n, "windows": st["windows"], "events": st["events"]}))
    """
)


def test_a_simulated_day_through_the_sdk_never_imports_scipy():
    """24 simulated hours through MomentSDK.feed (pipeline, heads, driving, GPS timeline, store) in a fresh
    interpreter: scipy is not in sys.modules at the end (the simulator does not use it either)."""
    proc = subprocess.run([sys.executable, "-c", SCIPY_FREE_DAY, "24"], capture_output=True, text=True, timeout=900,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["chunks"] > 8000 and out["windows"] > 16000 and out["events"] > 0
    assert out["scipy"] == [] and not out["before"], out["scipy"][:10]


# ---------------------------------------------------------------------------------------- stay points

BASE_REV = "a213ee1"  # the stay points before the linear-time rewrite


@pytest.fixture(scope="module")
def old_stay_points():
    """The stay-point module as it was at BASE_REV (read from git), to compare outputs with."""
    import types

    proc = subprocess.run(["git", "-C", str(REPO), "show", f"{BASE_REV}:sdk/timeline/stay_points.py"],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        pytest.skip(f"git cannot show {BASE_REV} here ({proc.stderr.strip()[:200]}): no reference to compare with")
    mod = types.ModuleType("old_stay_points")
    sys.modules[mod.__name__] = mod  # dataclasses look their module up there
    try:
        # BASE_REV predates the momentsense namespace: its imports name the SDK's records the old way.
        source = re.sub(r"^from sdk\.", "from momentsense.sdk.", proc.stdout, flags=re.M)
        exec(compile(source, "old_stay_points.py", "exec"), mod.__dict__)
        yield mod
    finally:
        del sys.modules[mod.__name__]


def _random_track(seed: int, n: int) -> dict:
    """Stays and walks/drives with GPS noise, gaps, inaccurate fixes and teleports at 1-30 s spacing."""
    rng = np.random.default_rng(seed)
    dt = rng.choice([1.0, 1.0, 5.0, 30.0], n) * rng.uniform(0.5, 1.5, n)
    gaps = rng.random(n) < 0.002
    dt[gaps] = rng.uniform(600, 3000, int(gaps.sum()))
    t = 1.7e9 + np.cumsum(dt)
    moving = np.repeat(rng.random(n // 200 + 1) < 0.4, 200)[:n]
    v = np.where(moving, rng.choice([1.4, 12.0]), 0.0)
    heading = np.cumsum(rng.normal(0, 0.3, n))
    x = np.cumsum(v * dt * np.cos(heading)) + rng.normal(0, 15, n)
    y = np.cumsum(v * dt * np.sin(heading)) + rng.normal(0, 15, n)
    tele = rng.random(n) < 0.002
    x[tele] += 5000.0
    acc = rng.uniform(5, 50, n)
    acc[rng.random(n) < 0.01] = 500.0
    acc[rng.random(n) < 0.05] = np.nan
    return {"t": t, "lat": 48.85 + y / 111_195.0, "lon": 2.35 + x / 73_000.0, "accuracy_m": acc}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("min_exit_s", [0.0, 30.0])
def test_stay_points_are_identical_to_the_previous_implementation(old_stay_points, seed, min_exit_s):
    """Batch and streaming (random chunk cuts): same stays and the same fix codes as before."""
    import warnings

    from momentsense.sdk.timeline import stay_points as new

    tr = _random_track(seed, 6000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for include_open in (False, True):
            a, fa = new.detect_stay_points(tr, include_open=include_open, min_exit_s=min_exit_s)
            b, fb = old_stay_points.detect_stay_points(tr, include_open=include_open, min_exit_s=min_exit_s)
            assert a == b and len(a) > 3
            np.testing.assert_array_equal(fa, fb)
    cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, 6000), 25, replace=False))
    outs = []
    for mod in (new, old_stay_points):
        st, got = mod.stay_point_init(min_exit_s=min_exit_s), []
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, 6000]):
            s, st = mod.stay_point_step({k: v[lo:hi] for k, v in tr.items()}, st)
            got += s
        outs.append(got + mod.stay_point_finish(st))
    assert outs[0] == outs[1]


def test_acc_and_gyro_resampled_together_give_the_same_rows():
    """A chunk whose streams share their timestamps is resampled in one pass; with labels it goes
    stream by stream: the rows, channels, reports and gaps are identical (damaged chunks included)."""
    from momentsense.sdk.dsp import PreprocessConfig, pipeline_init, preprocess
    from momentsense.sdk.sim import Leg, draw_device, draw_person, iter_itinerary

    legs = [Leg("still", 120.0), Leg("walk", 300.0), Leg("car", 400.0)]
    recs = list(iter_itinerary(legs, draw_person("fused", 1), draw_device("fused", 1), seed=1))
    t = np.concatenate([r.t for r in recs])
    acc = np.concatenate([r.acc for r in recs])
    gyro = np.concatenate([r.gyro for r in recs])
    acc[[500, 900]] = np.nan  # repairs: those chunks go stream by stream in both runs
    t[3000:3400] += 2.0  # a hole longer than max_gap_s
    cfg = PreprocessConfig()
    outs = []
    for labelled in (False, True):
        st, got = pipeline_init(cfg), []
        for a in range(0, len(t), 250):
            s = slice(a, a + 250)
            lab = np.full(len(t[s]), -1) if labelled else None
            ch, st = preprocess(t[s], acc[s], st, gyro_t=t[s].copy(), gyro=gyro[s], labels=lab)
            got.append(ch)
        outs.append(got)
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x.k, y.k)
        np.testing.assert_array_equal(x.x, y.x)
        assert x.acc_report == y.acc_report and x.gyro_report == y.gyro_report and x.gaps == y.gaps
    assert sum(len(c.gaps) for c in outs[0]) >= 2 and sum(c.acc_report.dropped for c in outs[0]) == 2


def test_bench_runtime_replays_what_it_recorded(tmp_path):
    """A recording replays chunk by chunk to the same windows and events as the simulated run; the JSON
    carries the keys the docs describe (no speed asserted: benchmarks print, tests check shape)."""
    from momentsense.trainer.bench import bench_runtime, record_chunks

    sim = bench_runtime(0.25, seed=3)
    rec = record_chunks(str(tmp_path / "day.chunks"), 0.25, seed=3)
    rep = bench_runtime(replay=str(tmp_path / "day.chunks"))
    assert rec["chunks"] == sim["chunks"] == rep["chunks"] and rep["sensor_hours"] == pytest.approx(0.25)
    assert (rep["windows"], rep["events"], rep["samples"]) == (sim["windows"], sim["events"], sim["samples"])
    for key in ("cpu_s_per_day", "realtime_factor_cpu", "peak_rss_mb", "python_overhead_ratio", "bare_call_cpu_ms"):
        assert rep[key] > 0, key
    assert set(rep["stage_cpu_share"]) == {"transport", "gps_timeline", "driving", "store", "segments"}
    assert rep["scipy_imported"] is False or "scipy" in sys.modules  # pytest itself may have imported scipy
    (tmp_path / "junk.bin").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a bench recording"):
        bench_runtime(replay=str(tmp_path / "junk.bin"))


def test_bench_places_compares_with_trackintel():
    """One day at 1 Hz: both implementations find the planted stays; exact mode agrees with trackintel."""
    pytest.importorskip("trackintel")
    from momentsense.trainer.bench_places import bench_places

    row = bench_places([1], seed=2, repeats=1)["sizes"][0]
    assert row["fixes"] == 86_400 and abs(row["ours_stays"] - row["planted_stays"]) <= 1
    assert row["agreement_stays_exact_mode"] > 0.9 and row["agreement_fixes_exact_mode"] > 0.99
    assert row["speedup_vs_trackintel"] > 0
