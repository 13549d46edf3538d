"""Driving behaviour in the runtime: car segments → sdk.driving → store and callbacks (sdk.driving.live)."""

import dataclasses
import datetime
import threading

import numpy as np
import pytest

from momentsense.sdk.driving import analyse_drive
from momentsense.sdk.driving.live import DriveSegmentOptions, LiveDriving
from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.sim.gps import local_to_wgs84
from momentsense.sdk.sources import SensorChunk, SensorSource, SimulatorSource
from momentsense.sdk.timeline.records import DrivingEvent, DrivingScore, GpsFix, TransportEvent
from momentsense.sdk.timeline.store import TimelineStore
from momentsense.trainer.driving_sim import simulate_drive

T0 = 1_700_000_000.0


def _shift(ch: SensorChunk, dt: float) -> SensorChunk:
    return SensorChunk(ch.acc_t + dt, ch.acc, None if ch.gyro_t is None else ch.gyro_t + dt, ch.gyro,
                       [dataclasses.replace(f, t=f.t + dt) for f in ch.gps])


def _walk(seed: int, duration_s: float, t0: float) -> list:
    chunks = list(SimulatorSource([("walk", duration_s)], seed=seed).chunks())
    return [_shift(c, t0 - chunks[0].acc_t[0]) for c in chunks]


def _drive(trip, t0: float, origin: tuple, chunk_s: float = 10.0) -> list:
    """A simulated trip (100 Hz IMU, 1 Hz GPS speed/heading) as sensor chunks from ``t0``, with
    positions dead-reckoned from GPS speed and heading around ``origin``."""
    dt = t0 - trip.t[0]
    h = trip.gps_heading_rad.copy()
    for i in range(len(h)):  # heading is NaN when slow: hold the last one
        h[i] = h[i] if np.isfinite(h[i]) else (h[i - 1] if i else 0.0)
    lat, lon = local_to_wgs84(np.cumsum(trip.gps_speed_mps * np.sin(h)), np.cumsum(trip.gps_speed_mps * np.cos(h)), origin)
    out = []
    for a in np.arange(trip.t[0], trip.t[-1] + 1e-9, chunk_s):
        s = (trip.t >= a) & (trip.t < a + chunk_s)
        gi = np.flatnonzero((trip.gps_t >= a) & (trip.gps_t < a + chunk_s))
        fixes = [GpsFix(float(trip.gps_t[i] + dt), float(lat[i]), float(lon[i]), 5.0, float(trip.gps_speed_mps[i])) for i in gi]
        out.append(SensorChunk(trip.t[s] + dt, trip.acc[s], None, trip.gyro[s], fixes))
    return out


def _itinerary(seed: int, crash: bool = False, drive_s: float = 200.0, walk_after_s: float = 90.0):
    """walk 60 s → a simulated drive with planted events (no phone drops or handling) → walk."""
    trip = simulate_drive(seed, duration_s=drive_s, crash=crash, n_drops=0, n_handling=0)
    w1 = _walk(seed, 60, T0)
    t1 = w1[-1].acc_t[-1] + 0.04
    d = _drive(trip, t1, (w1[-1].gps[-1].lat, w1[-1].gps[-1].lon))
    t2 = d[-1].acc_t[-1] + 0.04
    truth = [dict(x, start=x["start"] - trip.t[0] + t1, end=x["end"] - trip.t[0] + t1) for x in trip.truth]
    return w1, d, _walk(seed + 1, walk_after_s, t2), truth, (t1, t2)


def _arrays(chunks, a: float, b: float):
    t = np.concatenate([c.acc_t for c in chunks])
    acc, gyro = np.concatenate([c.acc for c in chunks]), np.concatenate([c.gyro for c in chunks])
    fixes = [f for c in chunks for f in c.gps]
    gt, gv = np.array([f.t for f in fixes]), np.array([f.speed_mps for f in fixes])
    s, g = (t >= a) & (t <= b), (gt >= a) & (gt <= b)
    return t[s], acc[s], gyro[s], gt[g], gv[g], np.full(int(g.sum()), np.nan)


@pytest.fixture(scope="module")
def trip7():
    return _itinerary(7)  # planted: harsh braking 33 s into the drive, 2 harsh accelerations, 1 cornering


@pytest.fixture(scope="module")
def fed7(trip7):
    """The itinerary pushed through a default SDK; Context.drive read mid-drive."""
    w1, d, w2, truth, span = trip7
    sdk = MomentSDK(SDKConfig())
    mid = None
    for i, ch in enumerate(w1 + d + w2):
        sdk.feed(ch)
        if i == len(w1) + len(d) // 2:
            mid = sdk.current_context()
    sdk.finish()
    yield sdk, mid
    sdk.close()


class TestCarSegment:
    def test_one_drive_is_scored_and_stored(self, trip7, fed7):
        """walk → car → walk gives one DrivingScore spanning the car leg, with its GPS distance."""
        w1, d, w2, truth, (t1, t2) = trip7
        sdk, _ = fed7
        scores = sdk.store.query("driving_score")
        assert len(scores) == 1
        s = scores[0]
        assert abs(s.trip_start - t1) < 20 and abs(s.trip_end - t2) < 20
        ld = sdk.live_driving.last_drive  # the pre-roll: data from before the car was reported was fed
        assert ld.fed_start == pytest.approx(s.trip_start - sdk.config.drive_segments.lead_s, abs=0.05)
        true_m = sum(f.speed_mps for c in d for f in c.gps)  # 1 Hz fixes: Σ v·1 s
        assert s.distance_m > 0 and abs(s.distance_m - true_m) < 0.05 * true_m
        day = datetime.datetime.fromtimestamp(t1, datetime.timezone.utc).date()
        assert sdk.driving_scores(day) == scores == list(sdk.timeline(day).driving_scores)
        assert sdk.stats()["driving"]["drives"] == 1 and sdk.stats()["driving"]["errors"] == 0

    def test_planted_harsh_events_are_found(self, trip7, fed7):
        """Each planted harsh event (braking included, 33 s into the drive) is stored once."""
        _, _, _, truth, _ = trip7
        sdk, _ = fed7
        stored = sdk.store.query("driving_event")
        planted = [x for x in truth if x["kind"].startswith("harsh_")]
        assert any(x["kind"] == "harsh_braking" for x in planted)
        for x in planted:
            hits = [e for e in stored if e.kind == x["kind"] and x["start"] - 2 <= e.t <= x["end"] + 2]
            assert len(hits) == 1, (x, stored)
        assert sdk.store.counts()["driving_score"]["items"] == 1
        assert sdk.store.query("driving_score")[0].counts["harsh_braking"] >= 1

    def test_runtime_events_equal_batch_analysis_of_the_same_samples(self, trip7, fed7):
        """analyse_drive on the samples the runtime fed finds the same events inside the drive."""
        w1, d, w2, _, _ = trip7
        sdk, _ = fed7
        ld = sdk.live_driving.last_drive
        batch, _ = analyse_drive(*_arrays(w1 + d + w2, ld.fed_start, ld.fed_end))
        live = sdk.store.query("driving_event")
        inner = [e for e in batch if ld.start <= e.t <= ld.end - 10]
        assert len(inner) >= 3
        assert [(e.kind, round(e.t, 2)) for e in live if e.t <= ld.end - 10] == [(e.kind, round(e.t, 2)) for e in inner]
        assert all(any(b.kind == e.kind and abs(b.t - e.t) < 1e-6 for b in batch) for e in live)

    def test_context_shows_the_drive_in_progress(self, trip7, fed7):
        """Mid-drive the context has the drive (start, distance so far); after it, none."""
        _, _, _, _, (t1, _) = trip7
        sdk, mid = fed7
        assert mid.drive is not None and abs(mid.drive.start - t1) < 20 and mid.drive.distance_m > 100
        assert set(mid.drive.counts) >= {"harsh_braking", "crash"}
        assert sdk.current_context().drive is None


def test_a_crash_reaches_the_callback_before_the_stream_ends():
    """A planted crash is reported to on_event while sensing goes on, before the drive's score."""
    w1, d, w2, truth, _ = _itinerary(3, crash=True, drive_s=120, walk_after_s=120)
    impact = next(x["start"] for x in truth if x["kind"] == "crash")
    seen, crash_seen, before_end = [], threading.Event(), []

    class Source(SensorSource):
        def chunks(self):
            for ch in w1 + d + w2:
                if ch.acc_t[0] > impact + 20 and not before_end:  # ≥ 20 s of data after the impact processed
                    before_end.append(crash_seen.wait(10.0))
                yield ch

    def cb(r):
        seen.append(r)
        if isinstance(r, DrivingEvent) and r.kind == "crash":
            crash_seen.set()

    with MomentSDK(SDKConfig(source=Source())) as sdk:
        sdk.on_event(cb)
        sdk.start()
        assert sdk.wait(60)
        sdk.stop()
        assert before_end == [True]
        crashes = [r for r in seen if isinstance(r, DrivingEvent) and r.kind == "crash"]
        assert len(crashes) == 1 and abs(crashes[0].t - impact) < 1.0
        kinds = [type(r) for r in seen]
        assert DrivingScore in kinds and kinds.index(DrivingScore) > seen.index(crashes[0])
        assert TransportEvent in kinds
        assert sdk.store.query("driving_event", ref="crash") == crashes
        assert sdk.store.query("driving_score")[0].counts["crash"] == 1


class TestSegmentBoundaries:
    """LiveDriving driven with a scripted mode sequence (the transport detector's output)."""

    @staticmethod
    def _run(chunks, modes, closed=None, segments=None):
        store = TimelineStore()
        live = LiveDriving(store, segments=segments)
        for i, (ch, m) in enumerate(zip(chunks, modes, strict=True)):
            live.step(ch, m, (closed or {}).get(i, ()))
        live.finish()
        return store.query("driving_score"), store.query("driving_event"), live

    def test_a_20s_misclassification_does_not_split_the_drive(self, trip7):
        """Two 10 s chunks read as walk inside the car leg: one drive, the same events as without them;
        90 s of walk (longer than grace_s) splits it, 90 s of still (a red light; still_grace_s) does not."""
        _, d, w2, _, _ = trip7
        chunks = d + w2
        base = ["car"] * len(d) + ["walk"] * len(w2)
        scores0, events0, _ = self._run(chunks, base)
        assert len(scores0) == 1
        for gap, n_scores, mode in ((2, 1, "walk"), (9, 2, "walk"), (9, 1, "still")):
            modes = list(base)
            modes[8:8 + gap] = [mode] * gap
            car_end = d[8].acc_t[0] - 2.0
            closed = {8: [TransportEvent(d[0].acc_t[0], car_end, "car", 0.9)]}
            scores, events, live = self._run(chunks, modes, closed)
            assert len(scores) == n_scores, gap
            if n_scores == 1:
                assert scores == scores0 and events == events0
            else:
                assert abs(scores[0].trip_end - car_end) < 1e-6 and scores[1].trip_start > car_end + 60

    def test_other_vehicles_continue_a_drive_but_never_start_one(self, trip7):
        """subway inside a drive keeps it whole; a drive never starts on bus/subway alone."""
        _, d, w2, _, _ = trip7
        modes = ["car"] * 5 + ["subway"] * (len(d) - 5) + ["walk"] * len(w2)
        scores, _, _ = self._run(d + w2, modes)
        assert len(scores) == 1 and scores[0].trip_end > d[-1].acc_t[0] - 20
        scores, events, live = self._run(d + w2, ["bus"] * len(d) + ["walk"] * len(w2))
        assert scores == [] and events == [] and live.last_drive is None

    def test_a_short_car_flicker_is_dropped(self, trip7):
        """A 30 s car reading (shorter than min_drive_s) stores nothing and counts a dropped drive."""
        w1, _, _, _, _ = trip7
        modes = ["walk"] * 2 + ["car"] * 3 + ["walk"] * (len(w1) - 5)
        scores, events, live = self._run(w1, modes)
        assert scores == [] and live.stats.drives_dropped == 1 and live.stats.drives == 0

    def test_a_still_phone_read_as_car_is_not_a_drive(self):
        """Four minutes of a phone lying still, misread as car: GPS says it never moved, so no drive is
        scored; the same with min_distance_m=0 scores one (the rule is what drops it)."""
        still = [_shift(c, T0 - 1) for c in SimulatorSource([("still", 240)], seed=3).chunks()]
        assert any(f.speed_mps == f.speed_mps for c in still for f in c.gps), "the simulator gives GPS speeds"
        modes = ["car"] * len(still)
        scores, _, live = self._run(still, modes)
        assert scores == [] and live.stats.drives == 0 and live.stats.drives_dropped == 1
        scores, _, _ = self._run(still, modes, segments=DriveSegmentOptions(min_distance_m=0.0))
        assert len(scores) == 1 and scores[0].distance_m < 300.0

    def test_bad_samples_are_dropped_not_raised(self, trip7):
        """NaN samples and time going backwards inside a drive are dropped and counted."""
        _, d, w2, _, _ = trip7
        bad = [dataclasses.replace(c) for c in d]
        bad[3] = dataclasses.replace(bad[3], acc=bad[3].acc.copy())
        bad[3].acc[10:20] = np.nan
        bad[5] = dataclasses.replace(bad[5], acc_t=bad[5].acc_t - 5.0)
        scores, _, live = self._run(bad + w2, ["car"] * len(d) + ["walk"] * len(w2))
        assert len(scores) == 1 and live.stats.errors == 0 and live.stats.samples_dropped >= 10


def test_driving_disabled_stores_nothing(trip7):
    """driving_enabled=False: no driving rows, no drive in the context, no driving stats."""
    w1, d, w2, _, _ = trip7
    sdk = MomentSDK(SDKConfig(driving_enabled=False))
    for i, ch in enumerate(w1 + d + w2):
        sdk.feed(ch)
        if i == len(w1) + len(d) // 2:
            assert sdk.current_context().drive is None
    sdk.finish()
    counts = sdk.store.counts()
    assert counts["driving_event"]["rows"] == 0 and counts["driving_score"]["rows"] == 0
    assert counts["event"]["items"] > 0 and sdk.live_driving is None and sdk.stats()["driving"] is None
    sdk.close()


def test_bad_options_are_refused():
    with pytest.raises(InputError, match="driving must be a DrivingOptions"):
        SDKConfig(driving={"braking_mps2": 3.0})
    with pytest.raises(InputError, match="driving_enabled"):
        SDKConfig(driving_enabled="yes")
    with pytest.raises(InputError, match="grace_s"):
        DriveSegmentOptions(grace_s=-1.0)
    with pytest.raises(InputError, match="modes"):
        DriveSegmentOptions(modes=())
