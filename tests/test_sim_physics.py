"""Sensor simulator: physics of each mode, device effects, GPS, determinism, API contracts."""

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import STANDARD_GRAVITY_MPS2, TRANSPORT_MODES
from momentsense.sdk.sim import (
    Leg,
    SimulatorOptions,
    draw_device,
    draw_person,
    iter_itinerary,
    simulate_itinerary,
    simulate_leg,
)

IDEAL = SimulatorOptions(sensor_errors=False, gps=False)


def dominant_hz(x, fs_hz=25.0, min_hz=0.5):
    """Frequency of the largest spectral peak of ``x`` above ``min_hz``."""
    x = np.asarray(x, float) - np.mean(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1.0 / fs_hz)
    spec[f < min_hz] = 0.0
    return f[np.argmax(spec)]


def leg(mode, seconds, subject="S0", device="D0", placement=None, seed=0, options=IDEAL):
    person, dev = draw_person(subject, seed), draw_device(device, seed)
    return simulate_leg(mode, seconds, person, dev, placement, np.random.default_rng(seed), options=options).recording


class TestGait:
    @pytest.mark.parametrize("placement", ["pocket", "hand", "bag"])
    def test_walk_dominant_frequency_of_acc_norm_is_the_step_frequency(self, placement):
        """|acc| of a walk peaks at 1.6-2.2 Hz, within 0.15 Hz of the person's step frequency."""
        for s in range(4):
            rec = leg("walk", 40, subject=f"W{s}", placement=placement, seed=s)
            f = dominant_hz(np.linalg.norm(rec.acc, axis=1))
            assert 1.6 <= f <= 2.2
            assert abs(f - draw_person(f"W{s}", s).walk_step_hz) < 0.15

    @pytest.mark.parametrize("placement", ["pocket", "hand", "bag"])
    def test_run_dominant_frequency_of_acc_norm_is_2_5_to_3_2_hz(self, placement):
        """|acc| of a run peaks at 2.5-3.2 Hz and is more intense than walking."""
        for s in range(4):
            run = leg("run", 30, subject=f"R{s}", placement=placement, seed=s)
            walk = leg("walk", 30, subject=f"R{s}", placement=placement, seed=s)
            assert 2.5 <= dominant_hz(np.linalg.norm(run.acc, axis=1)) <= 3.2
            assert np.linalg.norm(run.acc, axis=1).std() > np.linalg.norm(walk.acc, axis=1).std()

    def test_step_frequencies_differ_between_people(self):
        """Different subjects walk at different cadences."""
        hz = {round(draw_person(f"P{i}", 0).walk_step_hz, 2) for i in range(10)}
        assert len(hz) >= 8


class TestStill:
    @pytest.mark.parametrize("placement", ["table", "hand", "pocket", "bag"])
    def test_mean_acc_norm_is_gravity(self, placement):
        """Still: mean |acc| ≈ 9.81 m/s² (ideal sensor) and the signal is quiet."""
        rec = leg("still", 120, placement=placement, seed=3)
        a = np.linalg.norm(rec.acc, axis=1)
        assert abs(np.median(a) - STANDARD_GRAVITY_MPS2) < 0.05
        assert np.median(np.abs(np.diff(a))) < 0.1

    def test_mean_acc_norm_with_device_errors_stays_near_gravity(self):
        """With biases, scale errors and noise, still |acc| stays within 0.6 m/s² of g on every device."""
        for d in range(6):
            rec = leg("still", 60, device=f"D{d}", placement="table", seed=d, options=SimulatorOptions(gps=False))
            assert abs(np.linalg.norm(rec.acc, axis=1).mean() - STANDARD_GRAVITY_MPS2) < 0.6

    def test_table_is_quieter_than_hand(self):
        """A phone on a table shakes less than one held in the hand (tremor, wander)."""
        table = leg("still", 60, placement="table", seed=1)
        hand = leg("still", 60, placement="hand", seed=1)
        assert np.std(np.linalg.norm(table.gyro, axis=1)) < np.std(np.linalg.norm(hand.gyro, axis=1))


class TestVehicles:
    @pytest.mark.parametrize("mode", ["car", "bus", "train", "subway", "bike"])
    def test_mean_acc_norm_is_near_gravity_and_vibration_present(self, mode):
        """Riding: mean |acc| within 0.5 m/s² of g, with some vibration (std > 0.02 m/s²)."""
        rec = leg(mode, 300, placement="pocket", seed=4)
        a = np.linalg.norm(rec.acc, axis=1)
        assert abs(a.mean() - STANDARD_GRAVITY_MPS2) < 0.5
        assert a.std() > 0.02

    def test_car_yaw_rate_matches_heading_change(self):
        """Gyro projected on gravity (the yaw rate) integrates to turns: a car ride has corners > 45°."""
        rec = leg("car", 600, placement="mount", seed=7)
        up = rec.acc / np.linalg.norm(rec.acc, axis=1, keepdims=True)
        yaw = np.sum(rec.gyro * up, axis=1)
        heading = np.cumsum(yaw) / 25.0
        swings = [np.ptp(heading[i : i + 500]) for i in range(0, len(heading) - 500, 125)]
        assert max(swings) > np.deg2rad(45)


    @staticmethod
    def _harsh_per_100km(aggressive: bool, n_rides: int = 12) -> float:
        """Stretches >= 0.5 s over the default harsh thresholds of sdk.driving (1 Hz low-passed
        longitudinal 2.25 / 3.0 and lateral 3.5 m/s²), per 100 km of simulated car rides."""
        from scipy.signal import butter, sosfiltfilt

        from momentsense.sdk.sim.vehicles import draw_vehicle, speed_profile, yaw_rate_profile

        sos = butter(2, 1.0, fs=25.0, output="sos")
        events, km = 0, 0.0
        for seed in range(n_rides):
            rng = np.random.default_rng(seed)
            v = draw_vehicle("car", rng, aggressive=aggressive)
            speed = speed_profile(v, 600.0, rng)
            lon = sosfiltfilt(sos, np.gradient(speed) * 25.0)
            lat = np.abs(sosfiltfilt(sos, speed * yaw_rate_profile(v, speed, rng)))
            for x, th in ((lon, 2.25), (-lon, 3.0), (lat, 3.5)):
                edges = np.diff(np.r_[0, (x > th).astype(int), 0])
                events += int(((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)) >= 12).sum())
            km += speed.sum() / 25.0 / 1000.0
        return events / km * 100.0

    def test_ordinary_drivers_are_calm_and_aggressive_ones_are_not(self):
        """Fleet telematics: a typical driver logs a few harsh events per 100 km. The simulator's
        ordinary car drivers must too (else every driver scores as aggressive), its aggressive ones
        many times more."""
        calm, harsh = self._harsh_per_100km(False), self._harsh_per_100km(True)
        assert calm < 10.0 and harsh > 5 * max(calm, 10.0)

class TestGps:
    def test_speed_is_consistent_with_mode(self):
        """GPS speed: walk 1-2 m/s median, car faster while moving, bike in between."""
        opts = SimulatorOptions()
        med = {}
        for m in ("walk", "bike", "car"):
            rec = leg(m, 400, seed=2, options=opts)
            sp = rec.gps.speed_mps
            med[m] = np.median(sp[sp > 0.5]) if m != "walk" else np.median(sp)
        assert 1.0 <= med["walk"] <= 2.0
        assert med["car"] > med["bike"] > med["walk"]

    def test_subway_loses_gps_underground(self):
        """A subway ride has far fewer fixes than seconds (most of it is in tunnels)."""
        n_fix = []
        for s in range(5):
            rec = leg("subway", 300, seed=s, options=SimulatorOptions())
            n_fix.append(0 if rec.gps is None else len(rec.gps))
        assert np.mean(n_fix) < 0.5 * 300
        assert min(n_fix) < 10

    def test_fixes_are_near_the_truth_and_report_accuracy(self):
        """Walking fixes lie within a few tens of metres of each other and carry accuracy_m ≥ 2 m."""
        rec = leg("walk", 300, seed=5, options=SimulatorOptions(urban=0.0))
        g = rec.gps
        assert np.all(g.accuracy_m >= 2.0) and np.median(g.accuracy_m) < 20.0
        step_m = np.hypot(np.diff(g.lat) * 111_000, np.diff(g.lon) * 111_000 * np.cos(np.deg2rad(g.lat[0])))
        assert np.median(step_m) < 6.0


class TestDevices:
    def test_devices_draw_different_profiles(self):
        """Two device ids have different bias, noise and range; the same id the same profile."""
        a, b = draw_device("D000", 0), draw_device("D001", 0)
        assert a.acc_bias_mps2 != b.acc_bias_mps2 and a.acc_noise_mps2 != b.acc_noise_mps2
        assert draw_device("D000", 0) == a
        assert type(a).from_dict(a.to_dict()) == a

    def test_devices_differ_in_measured_bias_and_noise(self):
        """Same still leg (same orientation, same seed) on two devices: different mean and noise."""
        opts = SimulatorOptions(gps=False)
        r1 = leg("still", 60, device="D000", placement="table", seed=9, options=opts)
        r2 = leg("still", 60, device="D001", placement="table", seed=9, options=opts)
        assert np.abs(r1.acc.mean(axis=0) - r2.acc.mean(axis=0)).max() > 0.01
        assert not np.isclose(r1.acc[:, 0].std(), r2.acc[:, 0].std(), rtol=0.05)

    def test_timestamps_are_jittered_with_drops(self):
        """Intervals scatter around 40 ms (not exact), and some samples are missing."""
        rec = leg("walk", 600, device="D003", options=SimulatorOptions(gps=False))
        dt = np.diff(rec.t)
        assert np.all(dt > 0)
        assert abs(np.median(dt) - 0.04) < 0.002
        assert np.std(dt) > 1e-4
        assert np.mean(np.isclose(dt, 0.04, atol=1e-6)) < 0.5
        assert (dt > 0.065).sum() >= 1

    def test_acc_respects_the_sensor_range(self):
        """Readings never exceed the device's full scale (running saturates ±2 g phones)."""
        for d in range(8):
            dev = draw_device(f"D{d}", d)
            rec = leg("run", 20, device=f"D{d}", placement="pocket", seed=d, options=SimulatorOptions(gps=False))
            assert np.abs(rec.acc).max() <= dev.acc_range_mps2 + 1e-3
            assert np.abs(rec.gyro).max() <= dev.gyro_range_rad_s + 1e-3


class TestItinerary:
    LEGS = [("walk", 60), ("still", 40), ("bus", 120), ("walk", 30)]

    def test_same_seed_same_arrays(self):
        """Deterministic: identical arrays for the same seed, different for another seed."""
        p, d = draw_person("S1", 0), draw_device("D1", 0)
        a = simulate_itinerary(self.LEGS, p, d, seed=11)
        b = simulate_itinerary(self.LEGS, p, d, seed=11)
        c = simulate_itinerary(self.LEGS, p, d, seed=12)
        np.testing.assert_array_equal(a.t, b.t)
        np.testing.assert_array_equal(a.acc, b.acc)
        np.testing.assert_array_equal(a.gyro, b.gyro)
        np.testing.assert_array_equal(a.gps.lat, b.gps.lat)
        assert len(a.t) != len(c.t) or not np.array_equal(a.acc, c.acc)

    def test_chunks_are_one_continuous_labelled_stream(self):
        """Per-leg chunks follow each other in time and carry each leg's label."""
        p, d = draw_person("S1", 0), draw_device("D1", 0)
        chunks = list(iter_itinerary(self.LEGS, p, d, seed=3))
        whole = simulate_itinerary(self.LEGS, p, d, seed=3)
        assert [TRANSPORT_MODES[c.label[0]] for c in chunks] == [m for m, _ in self.LEGS]
        np.testing.assert_array_equal(np.concatenate([c.acc for c in chunks]), whole.acc)
        assert np.all(np.diff(whole.t) > 0) and np.diff(whole.t).max() < 5.0
        assert whole.label.dtype == np.int16 and whole.acc.dtype == np.float32

    def test_orientation_differs_between_recordings(self):
        """The gravity direction in the device frame differs between recordings of the same leg type."""
        dirs = []
        for s in range(4):
            rec = simulate_itinerary([Leg("still", 30, placement="pocket")], draw_person("S", 0), draw_device("D", 0),
                                     seed=s, options=IDEAL)
            g = rec.acc.mean(axis=0)
            dirs.append(g / np.linalg.norm(g))
        angles = [np.degrees(np.arccos(np.clip(dirs[i] @ dirs[j], -1, 1))) for i in range(4) for j in range(i)]
        assert max(angles) > 30.0

    def test_destination_sets_the_direction_of_travel(self):
        """A leg with a destination ends up closer to it than where it started."""
        p, d = draw_person("S", 0), draw_device("D", 0)
        rec = simulate_leg("walk", 300, p, d, "hand", np.random.default_rng(1), destination_xy_m=(0.0, 2000.0),
                           options=SimulatorOptions(urban=0.0))
        g = rec.recording.gps
        # Northward at ≥ 0.7 m/s between the first and last fixes (a passage may hide the last minute).
        north_m = (g.lat[-20:].mean() - g.lat[:20].mean()) * 111_000
        assert north_m > 0.7 * (g.t[-20:].mean() - g.t[:20].mean()) > 100


class TestContracts:
    def test_options_round_trip(self):
        """SimulatorOptions.from_dict(to_dict()) is the same options."""
        o = SimulatorOptions(t0=5.0, origin_latlon=(1.0, 2.0), urban=0.2)
        assert SimulatorOptions.from_dict(o.to_dict()) == o

    def test_simulate_leg_fails_with_unknown_mode(self):
        """An unknown mode is an InputError naming the valid modes."""
        with pytest.raises(InputError, match="mode must be one of"):
            leg("teleport", 10)

    def test_simulate_leg_fails_with_placement_that_does_not_fit(self):
        """A car mount while walking is refused."""
        with pytest.raises(InputError, match="does not fit"):
            leg("walk", 10, placement="mount")

    def test_leg_fails_with_non_positive_duration(self):
        """Leg durations must be positive seconds."""
        with pytest.raises(InputError, match="duration_s"):
            Leg("walk", 0.0)
        assert Leg.from_dict(Leg("bus", 5.0, destination_xy_m=(1.0, 2.0)).to_dict()) == Leg("bus", 5.0, None, None,
                                                                                             (1.0, 2.0))
