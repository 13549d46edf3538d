"""Driving behaviour (sdk.driving): harsh events, vehicle frame, crash vs drop, stream == batch."""

import dataclasses

import numpy as np
import pytest

from momentsense.sdk.driving import (DrivingOptions, analyse_drive, detect_driving_events, driving_init,
                         flush_driving_events, score_drive)
from momentsense.sdk.errors import InputError
from momentsense.sdk.sim.signals import random_rotation
from momentsense.sdk.timeline.records import DrivingEvent
from momentsense.trainer.driving_sim import simulate_drive

FS = 50.0
G = 9.80665


def _trip(brake_mps2: float, rotation=None, seed: int = 0):
    """Rest 3 s, accelerate to 12 m/s, cruise at 12 m/s with a gentle curve, one braking of ``brake_mps2`` for 1.5 s at t≈30 s."""
    rng = np.random.default_rng(seed)
    n = int(50 * FS)
    t = np.arange(n) / FS
    lon = np.where((t >= 3) & (t < 11), 1.5, 0.0)
    lon = np.where((t >= 30) & (t < 31.5), -brake_mps2, lon)
    lat = np.where((t > 12) & (t < 20), 1.5 * np.sin(np.pi * (t - 12) / 8), 0.0)
    v = np.cumsum(lon) / FS
    omega = lat / np.maximum(v, 1.0)
    R = np.eye(3) if rotation is None else rotation
    a_car = np.stack([lon, lat, np.full(n, G)], 1) + rng.normal(0, 0.2, (n, 3))
    acc = a_car @ R  # phone axes: R^T a
    gyro = np.stack([0 * t, 0 * t, omega], 1) @ R + rng.normal(0, 0.01, (n, 3))
    gi = np.arange(0, n, int(FS))
    return t + 1e9, acc, gyro, t[gi] + 1e9, v[gi], np.full(len(gi), np.nan)


class TestAnalyseDrive:
    def test_braking_4_mps2_is_detected_as_harsh_braking(self):
        """A 4 m/s² braking gives one harsh_braking event at the right time, nothing else."""
        events, score = analyse_drive(*_trip(4.0))
        assert [e.kind for e in events] == ["harsh_braking"]
        assert 1e9 + 29.5 <= events[0].t <= 1e9 + 32.5
        assert 3.3 < events[0].magnitude < 4.6
        assert score.counts["harsh_braking"] == 1 and score.score < 100

    def test_braking_1_5_mps2_is_not_detected(self):
        """A 1.5 m/s² braking is normal driving: no event, score 100."""
        events, score = analyse_drive(*_trip(1.5))
        assert events == [] and score.score == 100.0

    def test_thresholds_are_configurable(self):
        """A 5 m/s² threshold ignores the 4 m/s² braking; a 1.0 m/s² threshold catches the 1.5 one."""
        assert analyse_drive(*_trip(4.0), DrivingOptions(braking_mps2=5.0))[0] == []
        kinds = [e.kind for e in analyse_drive(*_trip(1.5), DrivingOptions(braking_mps2=1.0))[0]]
        assert kinds == ["harsh_braking"]

    def test_events_do_not_depend_on_phone_orientation(self):
        """The same trip under random phone rotations gives the same events (noise is drawn in phone axes)."""
        ref = analyse_drive(*_trip(4.0))[0]
        for seed in (1, 2, 3):
            got = analyse_drive(*_trip(4.0, rotation=random_rotation(np.random.default_rng(seed))))[0]
            assert [e.kind for e in got] == [e.kind for e in ref]
            np.testing.assert_allclose([e.t for e in got], [e.t for e in ref], atol=0.1)
            np.testing.assert_allclose([e.magnitude for e in got], [e.magnitude for e in ref], rtol=0.03)

    def test_simulated_trip_orientation_invariant(self):
        """A simulated trip gives the same events under two mount orientations."""
        kw = dict(duration_s=200, n_drops=0, n_handling=0)
        a = simulate_drive(5, rotation=random_rotation(np.random.default_rng(10)), **kw)
        b = simulate_drive(5, rotation=random_rotation(np.random.default_rng(11)), **kw)
        ea = analyse_drive(a.t, a.acc, a.gyro, a.gps_t, a.gps_speed_mps, a.gps_heading_rad)[0]
        eb = analyse_drive(b.t, b.acc, b.gyro, b.gps_t, b.gps_speed_mps, b.gps_heading_rad)[0]
        assert [e.kind for e in ea] == [e.kind for e in eb] and len(ea) >= 2
        np.testing.assert_allclose([e.t for e in ea], [e.t for e in eb], atol=0.3)

    def test_empty_input_is_normal(self):
        """No samples, no fixes: no events and a neutral score."""
        e0 = np.zeros(0)
        events, score = analyse_drive(e0, np.zeros((0, 3)), np.zeros((0, 3)), e0, e0, e0)
        assert events == [] and score.score == 100.0 and score.distance_m == 0.0


class TestCrash:
    @pytest.mark.parametrize("seed", [0, 2])
    def test_crash_is_detected_and_drops_are_not(self, seed):
        """A planted crash is found once; the two phone drops on the same trip are not crashes."""
        trip = simulate_drive(seed, duration_s=240, crash=True, n_drops=2)
        events = analyse_drive(trip.t, trip.acc, trip.gyro, trip.gps_t, trip.gps_speed_mps, trip.gps_heading_rad)[0]
        crashes = [e for e in events if e.kind == "crash"]
        truth = [d for d in trip.truth if d["kind"] == "crash"][0]
        assert len(crashes) == 1 and truth["start"] - 1 <= crashes[0].t <= truth["end"] + 1
        assert crashes[0].magnitude >= 5 * G and 0.5 <= crashes[0].confidence <= 1.0

    @pytest.mark.parametrize("seed", [1, 3, 7])
    def test_phone_drops_are_not_crashes(self, seed):
        """Drops (free fall + impact, knocks, drops before a normal stop) never count as a crash."""
        trip = simulate_drive(seed, duration_s=300, crash=False, n_drops=4)
        assert sum(d["kind"] == "drop" for d in trip.truth) >= 2
        events = analyse_drive(trip.t, trip.acc, trip.gyro, trip.gps_t, trip.gps_speed_mps, trip.gps_heading_rad)[0]
        assert not [e for e in events if e.kind == "crash"]

    def test_impact_at_low_speed_then_stop_is_not_a_crash(self):
        """A 10 g spike at 5 m/s followed by a stop fails the 35 km/h condition."""
        t, acc, gyro, gt, gv, gh = _trip(1.5)
        i = int(40 * FS)
        acc = acc.copy()
        acc[i] = [100.0, 0, 9.8]
        gv = np.where(gt > t[i], 0.0, np.minimum(gv, 5.0))
        assert not [e for e in analyse_drive(t, acc, gyro, gt, gv, gh)[0] if e.kind == "crash"]


class TestStreaming:
    def test_stream_equals_batch(self):
        """Chunks (IMU and GPS split at the same times) give exactly the batch events."""
        trip = simulate_drive(4, duration_s=240, crash=True, n_drops=2, n_handling=1)
        opts = DrivingOptions(speed_limit_mps=trip.speed_limit_mps)
        batch = analyse_drive(trip.t, trip.acc, trip.gyro, trip.gps_t, trip.gps_speed_mps, trip.gps_heading_rad, opts)[0]
        state, got = driving_init(opts), []
        edges = np.arange(trip.t[0], trip.t[-1] + 8, 7.3)
        for lo, hi in zip(edges[:-1], edges[1:]):
            m = (trip.t >= lo) & (trip.t < hi)
            g = (trip.gps_t >= lo) & (trip.gps_t < hi)
            ev, state = detect_driving_events(trip.t[m], trip.acc[m], trip.gyro[m], trip.gps_t[g],
                                              trip.gps_speed_mps[g], trip.gps_heading_rad[g], state)
            got += ev
        ev, state = flush_driving_events(state)
        got = sorted(got + ev, key=lambda e: (e.t, e.kind))
        assert len(batch) > 5
        assert [(e.kind, e.t, e.duration_s) for e in got] == [(e.kind, e.t, e.duration_s) for e in batch]
        np.testing.assert_allclose([e.magnitude for e in got], [e.magnitude for e in batch], rtol=1e-9)
        np.testing.assert_allclose([e.confidence for e in got], [e.confidence for e in batch], atol=1e-3)

    def test_state_is_not_modified(self):
        """detect_driving_events leaves the given state untouched."""
        s0 = driving_init()
        t, acc, gyro, gt, gv, gh = _trip(4.0)
        detect_driving_events(t, acc, gyro, gt, gv, gh, s0)
        assert s0.last_t is None and s0.distance_m == 0.0


class TestInputErrors:
    def test_detect_fails_with_mismatched_lengths(self):
        """acc and t of different lengths are an InputError (a ValueError)."""
        t, acc, gyro, gt, gv, gh = _trip(4.0)
        with pytest.raises(ValueError, match="acc has"):
            analyse_drive(t[:-1], acc, gyro, gt, gv, gh)
        with pytest.raises(InputError, match="shape"):
            analyse_drive(t, acc[:, :2], gyro, gt, gv, gh)
        with pytest.raises(InputError, match="same length"):
            analyse_drive(t, acc, gyro, gt, gv[:-1], gh)

    def test_detect_fails_with_time_going_backwards(self):
        """Unsorted times, or a chunk starting before the previous one ended, are refused."""
        t, acc, gyro, gt, gv, gh = _trip(4.0)
        with pytest.raises(InputError, match="strictly increasing"):
            analyse_drive(t[::-1], acc, gyro, gt, gv, gh)
        _, s = detect_driving_events(t[:100], acc[:100], gyro[:100], gt[:2], gv[:2], gh[:2], driving_init())
        with pytest.raises(InputError, match="continue after"):
            detect_driving_events(t[50:], acc[50:], gyro[50:], gt[2:], gv[2:], gh[2:], s)

    def test_detect_fails_with_negative_speed_or_nan_acc(self):
        """Negative GPS speed and NaN acceleration are refused with the index."""
        t, acc, gyro, gt, gv, gh = _trip(4.0)
        with pytest.raises(InputError, match="index 3"):
            analyse_drive(t, acc, gyro, gt, np.where(np.arange(len(gv)) == 3, -1.0, gv), gh)
        acc = acc.copy()
        acc[7, 1] = np.nan
        with pytest.raises(InputError, match="index 7"):
            analyse_drive(t, acc, gyro, gt, gv, gh)

    def test_options_validate_and_round_trip(self):
        """Bad option values are refused; to_dict/from_dict round-trips."""
        o = DrivingOptions(braking_mps2=4.0, speed_limit_mps=25.0, input_frame="earth")
        assert DrivingOptions.from_dict(o.to_dict()) == o
        for bad in (dict(braking_mps2=0.0), dict(input_frame="car"), dict(gravity_cutoff_hz=2.0),
                    dict(crash_peak_mps2=float("nan"))):
            with pytest.raises(InputError):
                DrivingOptions(**bad)
        with pytest.raises(InputError, match="unknown"):
            DrivingOptions.from_dict({"brake": 3.0})
        with pytest.raises(InputError, match="DrivingState"):
            detect_driving_events([], np.zeros((0, 3)), None, [], [], [], state={})


class TestScoreDrive:
    def test_score_formula(self):
        """Two harsh events over 20 km: 10 weighted per 100 km → 100·exp(−10/20)."""
        ev = [DrivingEvent(0.0, "harsh_braking", 4.0, 1.0), DrivingEvent(5.0, "harsh_cornering", 4.0, 1.0)]
        s = score_drive(ev, 20_000.0, 0.0, 100.0)
        assert s.events_per_100km == 10.0 and s.score == pytest.approx(100 * np.exp(-0.5), abs=0.01)
        assert s.counts["harsh_braking"] == 1 and s.counts["crash"] == 0
        assert score_drive([], 0.0, 0.0, 1.0).score == 100.0
        with pytest.raises(InputError):
            score_drive(ev, -1.0, 0.0, 1.0)


def test_real_trips(shared_data_dir):
    """On the 3 real trips (earth frame, no GPS) some labelled brakings and turns are found."""
    from momentsense.trainer.eval_driving import evaluate_real

    path = shared_data_dir / "driver_behavior_trips.h5"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    res = evaluate_real(path, scales=(1.0,))["thresholds_x1"]
    found = {k: int(v.split("/")[0]) for k, v in res["recall"].items()}
    assert found["aggressive_braking"] >= 3
    assert found["aggressive_left_turn"] + found["aggressive_right_turn"] >= 1
    assert res["false_alarms_per_hour"] < 20
