"""GPS for the transport timeline: a window's GPS numbers, the fix buffer, the GPS head in the
detector (used only while location covers all of its context), the runtime's location switch, the
trainer's side, and the simulator's GPS losses that keep a missing fix from naming the subway."""

import json

import numpy as np
import pytest

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.sim import Leg, draw_device, draw_person, iter_itinerary
from momentsense.sdk.sources import chunk_recording
from momentsense.sdk.timeline.records import GpsFix
from momentsense.sdk.transport.detector import TransportDetector
from momentsense.sdk.transport.gps import GPS_FEATURES, GpsBuffer, GpsFeatureConfig, gps_buffer_push, gps_features
from tests import test_transport_detector as detector_tests


class TestGpsFeatures:
    def test_numbers_of_one_window(self):
        t = np.arange(100.0, 140.0)  # 40 fixes at 1 Hz
        acc = np.full(40, 5.0)
        acc[::4] = 500.0  # every 4th a coarse network fix
        spd = np.full(40, 10.0)
        spd[1] = np.nan
        f = gps_features(t, acc, spd, [130.0], [140.0])  # span 100 .. 140 s
        assert f.shape == (1, len(GPS_FEATURES))
        np.testing.assert_allclose(f[0], [30 / 40, np.log1p(10.0), 1.0])

    def test_coarse_fixes_only_say_that_a_fix_came(self):
        f = gps_features([105.0, 125.0], [800.0, 900.0], [0.0, 0.0], [130.0], [140.0])
        np.testing.assert_allclose(f[0], [0.0, 0.0, 1.0])

    def test_fixes_outside_the_span_do_not_count(self):
        f = gps_features([50.0, 140.0], None, None, [130.0, 200.0], [140.0, 210.0])
        np.testing.assert_allclose(f, 0.0)  # 50 s is before the span, 140 s at its (open) end

    def test_unknown_accuracy_counts_and_the_interval_scales_the_rate(self):
        t = np.arange(100.0, 140.0, 5.0)
        f = gps_features(t, None, np.full(8, 3.0), [130.0], [140.0], GpsFeatureConfig(interval_s=5.0))
        np.testing.assert_allclose(f[0], [1.0, np.log1p(3.0), 1.0])

    def test_bad_input_is_refused(self):
        with pytest.raises(InputError, match="non-decreasing"):
            gps_features([2.0, 1.0], None, None, [0.0], [10.0])
        with pytest.raises(InputError, match="non-decreasing"):
            gps_features([1.0, np.nan], None, None, [0.0], [10.0])
        with pytest.raises(InputError, match="fixes"):
            gps_features([1.0, 2.0], [5.0], None, [0.0], [10.0])
        with pytest.raises(InputError, match="window times"):
            gps_features([1.0], None, None, [np.nan], [10.0])
        with pytest.raises(InputError, match="interval_s"):
            GpsFeatureConfig(interval_s=0.0)
        with pytest.raises(InputError, match="before_s"):
            GpsFeatureConfig(before_s=float("nan"))
        with pytest.raises(InputError, match="features"):
            GpsFeatureConfig.from_dict({"features": ["speed"]})

    def test_the_detectors_one_window_path_equals_the_batch_function(self):
        from momentsense.sdk.transport.gps import buffer_features

        rng = np.random.default_rng(0)
        t = np.cumsum(rng.uniform(0.2, 3.0, 200))
        acc = rng.choice([5.0, 30.0, 80.0, 900.0, np.nan], 200)
        spd = np.where(rng.random(200) < 0.1, np.nan, rng.uniform(0, 30, 200))
        buf = gps_buffer_push(GpsBuffer(), {"t": t, "accuracy_m": acc, "speed_mps": spd}, -np.inf)
        starts = rng.uniform(-50, t[-1] + 50, 300)
        cfg = GpsFeatureConfig(before_s=20.0, interval_s=2.0)
        batch = gps_features(t, acc, spd, starts, starts + 10.0, cfg)
        one = np.array([buffer_features(buf, a, a + 10.0, cfg) for a in starts])
        np.testing.assert_allclose(one, batch, atol=1e-12)

    def test_config_round_trip(self):
        c = GpsFeatureConfig(before_s=20.0, interval_s=2.0)
        assert GpsFeatureConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


class TestGpsBuffer:
    def test_refuses_nan_duplicate_and_late_fixes_and_forgets_old_ones(self):
        b = gps_buffer_push(GpsBuffer(), [GpsFix(10.0, 1, 2, 5.0, 3.0), GpsFix(11.0, 1, 2, 5.0, 3.0),
                                          GpsFix(11.0, 1, 2), GpsFix(float("nan"), 1, 2)], keep_after_s=0.0)  # fmt: skip
        assert b.t.tolist() == [10.0, 11.0] and b.refused == 2
        b = gps_buffer_push(b, {"t": np.array([9.0, 12.0]), "accuracy_m": np.array([1.0, 2.0]), "speed_mps": None}, keep_after_s=10.5)
        assert b.t.tolist() == [11.0, 12.0] and b.refused == 3 and np.isnan(b.speed_mps[-1])

    def test_arrays_of_different_lengths_are_refused(self):
        with pytest.raises(InputError, match="one length"):
            gps_buffer_push(GpsBuffer(), {"t": np.array([1.0, 2.0]), "accuracy_m": np.array([1.0]), "speed_mps": None}, 0.0)


class TestHeadWithGps:
    def test_round_trip_and_vector_length(self):
        from tests.test_transport_context import random_head

        from momentsense.sdk.transport.heads import ContextHead, window_vector

        head = random_head(lag=3, gps=True)
        back = ContextHead.from_dict(json.loads(json.dumps(head.to_dict())))
        assert back.gps == head.gps and back.n_gps == 3 and back.vector_dim == random_head(lag=3).vector_dim + 3
        v = window_vector(np.full(3, 1 / 3), np.zeros((10, 2)), gps=[0.5, 1.0, 1.0])
        assert v.shape == (8,) and v[-3:].tolist() == [0.5, 1.0, 1.0]
        with pytest.raises(InputError, match="GPS"):
            window_vector(np.full(3, 1 / 3), np.zeros((10, 2)), gps=[np.nan, 1.0, 1.0])

    def test_a_malformed_gps_config_is_refused(self):
        from tests.test_transport_context import random_head

        from momentsense.sdk.transport.heads import ContextHead

        d = random_head(lag=3, gps=True).to_dict()
        d["gps"] = {"features": ["speed"]}
        with pytest.raises(ModelError, match="GPS feature config"):
            ContextHead.from_dict(d)


@pytest.fixture(scope="module")
def ride():
    legs = [Leg("still", 200, placement="table"), Leg("walk", 150), Leg("bus", 300), Leg("walk", 100)]
    return list(iter_itinerary(legs, draw_person("g", 2), draw_device("g", 2), seed=7))


def feed(det, recs, location=lambda i: True, gps_on=True):
    """Feed recordings in 10 s chunks with their fixes, setting location before chunk ``i``."""
    i = 0
    for rec in recs:
        for ch in chunk_recording(rec, 10.0, gps_on=gps_on):
            det.set_location(location(i))
            det.process(ch.acc_t, ch.acc, gyro=ch.gyro, gps=ch.gps)
            i += 1
    det.flush()


def filter_inputs(det, monkeypatch, plain: str, gps: str):
    """Record what one of the detector's filters gets, window by window (normalised): the one stepped
    with the transition models ``det.<plain>`` and ``det.<gps>`` (the plain and the GPS head's)."""
    import copy

    import momentsense.sdk.transport.detector as td

    # Their own objects, told apart from the other path's.
    same = getattr(det, gps) is getattr(det, plain)
    setattr(det, plain, copy.copy(getattr(det, plain)))
    setattr(det, gps, getattr(det, plain) if same else copy.copy(getattr(det, gps)))
    models = (getattr(det, plain), getattr(det, gps))
    seen, real = [], td.forward_step

    def spy(p, state, model, *a, **k):
        if any(model is m for m in models):
            seen.append(np.asarray(p) / np.sum(p))
        return real(p, state, model, *a, **k)

    monkeypatch.setattr(td, "forward_step", spy)
    return seen


def timeline_inputs(det, monkeypatch):
    """What the timeline's filter gets (the lagged heads' path)."""
    return filter_inputs(det, monkeypatch, "hmm_timeline", "hmm_gps")


def batch_inputs(head, rec) -> np.ndarray:
    """What the trainer's batch path computes for ``head`` behind the shipped int8 model on ``rec``
    (normalised rows, in time order)."""
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.records import ImuDataset
    from momentsense.sdk.transport.heads import context_probs, window_vectors
    from momentsense.trainer.transport.data import dataset_windows
    from momentsense.trainer.transport.tflite_eval import tflite_predictor

    predict, config, _ = tflite_predictor(artifact_dir() / "transport_cnn.tflite")
    w = dataset_windows(ImuDataset(list(TRANSPORT_MODES), "t", [rec]), config)
    order = np.argsort(w.k_start)
    assert np.all(np.isfinite(w.gps)) and w.gps[:, 0].max() > 0.5  # the recording had fixes
    reset = np.r_[True, np.diff(w.k_start[order]) != config.hop_len]
    q = context_probs(head, window_vectors(predict(w.x[order]), w.x[order], w.gps[order]), reset)
    return q / q.sum(1, keepdims=True)


class TestDetectorGps:
    @staticmethod
    def make(tmp_path, **kw):
        path = detector_tests.TestContextHead.model_with_head(tmp_path, lag=5, gps_key="context_lagged_gps")
        return TransportDetector.create(path, duty_cycle=False, at_place_vehicle_weight=1.0, **kw)

    def test_the_gps_head_settles_windows_as_the_trainer_computes(self, tmp_path, ride, monkeypatch):
        """Location on from the start: every window is settled by the GPS head, with what the
        trainer's batch path computes from the recording's GPS track."""
        det = self.make(tmp_path)
        assert det.lagged_gps is not None and det.lagged_gps.gps is not None
        rec = ride[2]  # the bus ride
        seen = timeline_inputs(det, monkeypatch)
        feed(det, [rec])
        assert det.stats.windows_gps == det.stats.windows == len(seen) > 40
        np.testing.assert_allclose(np.array(seen), batch_inputs(det.lagged_gps, rec), atol=1e-5)

    def test_without_location_the_gps_head_is_never_used(self, tmp_path, ride, monkeypatch):
        det, plain = self.make(tmp_path), self.make(tmp_path, use_gps=False)
        assert plain.lagged_gps is None
        a, b = timeline_inputs(det, monkeypatch), None
        feed(det, ride, location=lambda i: False)
        b = timeline_inputs(plain, monkeypatch)
        feed(plain, ride)
        assert det.stats.windows_gps == 0 and det.stats.windows > 100
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-12)

    def test_withdrawn_location_falls_back_for_every_window_it_touches(self, tmp_path, ride, monkeypatch):
        """Off for chunks 40-44 (50 s): the windows whose context (8 back, 5 ahead, 30 s of GPS
        span) meets that time are settled by the plain head, all others as with location on."""
        on, off, plain = self.make(tmp_path), self.make(tmp_path), self.make(tmp_path, use_gps=False)
        rows = {}
        for name, det, loc in (("on", on, lambda i: True), ("off", off, lambda i: not 40 <= i < 45), ("plain", plain, lambda i: True)):
            rows[name] = timeline_inputs(det, monkeypatch)
            feed(det, ride, location=loc)
            rows[name] = np.array(rows[name])
        n = len(rows["on"])
        assert on.stats.windows_gps == n and plain.stats.windows_gps == 0
        gps_rows = np.all(np.isclose(rows["off"], rows["on"], atol=1e-12), axis=1)
        plain_rows = np.all(np.isclose(rows["off"], rows["plain"], atol=1e-12), axis=1)
        assert np.all(gps_rows | plain_rows)
        fallback = np.flatnonzero(~gps_rows)
        assert off.stats.windows_gps == n - len(fallback)
        # chunk i covers 10 s = 2 windows: off during windows ~80..89, plus 8 back, 5 ahead, 6 of GPS span
        assert 15 <= len(fallback) <= 40 and fallback.min() >= 60 and fallback.max() <= 115

    def test_heads_in_the_wrong_place_are_refused(self, tmp_path):
        path = detector_tests.TestContextHead.model_with_head(tmp_path, lag=5, gps_key="context_lagged_gps")
        m = json.loads((tmp_path / "m.json").read_text())
        m["extra"]["context_lagged_gps"], m["extra"]["context_lagged"] = m["extra"]["context_lagged"], m["extra"]["context_lagged_gps"]
        (tmp_path / "m.json").write_text(json.dumps(m))
        with pytest.raises(ModelError, match="cannot be the model's 'context_lagged"):
            TransportDetector.create(path)
        det = self.make(tmp_path)
        with pytest.raises(InputError, match="beside a lagged head"):
            TransportDetector(det.options, det._model, det.manifest, det.context, None, det.lagged_gps)
        with pytest.raises(InputError, match="GPS passed as the lagged head"):
            TransportDetector(det.options, det._model, det.manifest, det.context, det.lagged_gps)


class TestLiveGpsHead:
    """The live GPS head feeds the live path (``current()``) under the same rule, without look-ahead."""

    @staticmethod
    def live_inputs(det, monkeypatch):
        return filter_inputs(det, monkeypatch, "hmm", "hmm_live_gps")

    @staticmethod
    def make(tmp_path, **kw):
        path = detector_tests.TestContextHead.model_with_head(tmp_path, live_gps_key="context_gps")
        return TransportDetector.create(path, duty_cycle=False, at_place_vehicle_weight=1.0, **kw)

    def test_streaming_equals_the_trainers_batch_path(self, tmp_path, ride, monkeypatch):
        det = self.make(tmp_path)
        assert det.context_gps is not None and det.lagged is None
        seen = self.live_inputs(det, monkeypatch)
        feed(det, [ride[2]])
        assert det.stats.windows_gps_live == det.stats.windows == len(seen) > 40
        # float32 outputs accumulated over minutes of windows: on simulator 1.2's ride the two paths
        # differ by up to ~1.2e-5 in a few values
        np.testing.assert_allclose(np.array(seen), batch_inputs(det.context_gps, ride[2]), atol=5e-5)

    def test_without_location_the_live_path_is_the_plain_heads(self, tmp_path, ride, monkeypatch):
        det, plain = self.make(tmp_path), self.make(tmp_path, use_gps=False)
        assert plain.context_gps is None
        a = self.live_inputs(det, monkeypatch)
        feed(det, ride, location=lambda i: False)
        b = self.live_inputs(plain, monkeypatch)
        feed(plain, ride)
        assert det.stats.windows_gps_live == 0 and len(a) > 100
        np.testing.assert_allclose(np.array(a), np.array(b), atol=1e-12)

    def test_a_live_gps_head_needs_a_live_head(self, tmp_path):
        det = self.make(tmp_path)
        with pytest.raises(InputError, match="beside a live head"):
            TransportDetector(det.options, det._model, det.manifest, None, None, None, det.context_gps)


class TestRuntimeLocation:
    def test_gps_head_only_with_consent_and_a_listening_source(self, tmp_path):
        from momentsense.sdk.consent import ConsentManager
        from momentsense.sdk.runtime import MomentSDK, SDKConfig

        recs = list(iter_itinerary([Leg("walk", 60)], draw_person("r", 1), draw_device("r", 1), seed=1))
        chunks = list(chunk_recording(recs[0], 10.0, gps_on=True))
        with ConsentManager(tmp_path / "c.sqlite") as consent:
            consent.grant("motion", "sensing")
            consent.grant("location", "sensing")
            with MomentSDK(SDKConfig(), consent=consent) as sdk:
                det = sdk._detector  # white-box: which heads the detector loaded
                assert det.lagged_gps is not None  # the shipped model names one, with the HMM tuned for it
                assert det.hmm_gps is not det.hmm_timeline and det.hmm_gps.to_dict() == det.lagged_gps.hmm
                assert det.context_gps is not None and det.hmm_live_gps.to_dict() == det.context_gps.hmm
                sdk.feed(chunks[0])
                assert sdk.stats()["uses_gps"]
                sdk.feed(dataclasses_replace(chunks[1], gps_on=None))  # a source that does not say
                assert not sdk.stats()["uses_gps"]
                sdk.feed(chunks[2])
                assert sdk.stats()["uses_gps"]
                consent.revoke("location", "sensing")
                sdk.feed(chunks[3])
                assert not sdk.stats()["uses_gps"]
            with MomentSDK(SDKConfig(transport_gps=False), consent=consent) as sdk:
                assert sdk._detector.lagged_gps is None and sdk._detector.context_gps is None


def dataclasses_replace(obj, **kw):
    import dataclasses

    return dataclasses.replace(obj, **kw)


class TestTrainerGps:
    def test_windows_carry_gps_numbers_or_nan_without_a_track(self, ride):
        import dataclasses

        from momentsense.sdk.dsp import PreprocessConfig
        from momentsense.trainer.transport.data import recording_to_windows

        cfg = PreprocessConfig()
        w = recording_to_windows(ride[2], cfg)
        assert w.gps.shape == (len(w), 3) and np.all(np.isfinite(w.gps))
        t0 = w.k_start[5] / cfg.fs_hz
        g = ride[2].gps
        np.testing.assert_allclose(w.gps[5], gps_features(g.t, g.accuracy_m, g.speed_mps, [t0], [t0 + cfg.window_s])[0])
        none = recording_to_windows(dataclasses.replace(ride[2], gps=None), cfg)
        assert np.all(np.isnan(none.gps))

    def test_a_gps_head_needs_gps_tracks_and_known_head_names(self, ride):
        import dataclasses

        from momentsense.sdk.dsp import PreprocessConfig
        from momentsense.trainer.transport.context import head_options, stream_vectors
        from momentsense.trainer.transport.data import recording_to_windows

        w = recording_to_windows(dataclasses.replace(ride[2], gps=None), PreprocessConfig())
        with pytest.raises(InputError, match="GPS tracks"):
            stream_vectors(np.full((len(w), 8), 1 / 8), w, gps=True)
        with pytest.raises(InputError, match="unknown context heads"):
            head_options(heads=["lagged", "gps"])
        assert [o.gps for o in head_options(lag=36, heads=["lagged_gps", "live"])] == [False, True]
        assert head_options(lag=0, heads=["lagged_gps"]) == []

    def test_fit_head_keeps_the_gps_config(self):
        from momentsense.trainer.transport.context import ContextOptions, fit_head

        rng = np.random.default_rng(0)
        z = rng.normal(size=(60, 18))  # vector 2 classes + 1 channel + 3 GPS numbers, × (itself + mean, std)
        head = fit_head(z, (z[:, 0] > 0).astype(int), ("a", "b"), 1, ContextOptions(scales=(1,), hidden=(4,), ensemble=1, gps=True))
        assert head.gps == GpsFeatureConfig().to_dict() and head.vector_dim == 2 + 1 + 3


class TestSimulatedGps:
    def test_side_streams_do_not_draw_from_the_leg_generator(self):
        from momentsense.sdk.sim.gps import side_rng

        r = np.random.default_rng(3)
        a = side_rng(r, 1).random(5)
        assert r.random() == np.random.default_rng(3).random()
        assert not np.allclose(a, side_rng(np.random.default_rng(4), 1).random(5))

    def test_a_missing_fix_is_not_a_subway_of_its_own(self):
        """Indoor stays lose their satellite fixes too, and subway rides get network fixes: among
        40 s spans with less than one good fix per 10 s, both still and subway are common."""
        cfg = GpsFeatureConfig()
        low = {"still": 0, "subway": 0}
        total = dict(low)
        any_fix_subway = 0
        for seed in range(12):
            legs = [Leg("still", 600, placement="table", indoor=True), Leg("walk", 60), Leg("subway", 600)]
            for rec in iter_itinerary(legs, draw_person("s", seed), draw_device("s", seed), seed=seed):
                mode = TRANSPORT_MODES[int(rec.label[0])]
                if mode not in low:
                    continue
                t0 = np.arange(rec.t[0] + 30, rec.t[-1] - 10, 10.0)
                g = rec.gps
                f = np.zeros((len(t0), 3)) if g is None else gps_features(g.t, g.accuracy_m, g.speed_mps, t0, t0 + 10, cfg)
                low[mode] += int((f[:, 0] < 0.1).sum())
                total[mode] += len(t0)
                if mode == "subway":
                    any_fix_subway += int(f[:, 2].sum())
        assert low["subway"] / total["subway"] > 0.6
        assert low["still"] / total["still"] > 0.15  # deep rooms
        assert low["still"] > 0.25 * low["subway"]
        assert any_fix_subway > 0.1 * total["subway"]  # network fixes underground


def test_eval_skips_the_gps_head_on_data_without_gps(tmp_path, ride):
    """``eval transport`` scores the GPS head where the file has GPS tracks and says why it skips it
    where it has none."""
    import dataclasses

    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.io.imu_file import write_imu
    from momentsense.sdk.records import ImuDataset
    from momentsense.trainer.transport.workflow import run_eval

    model = str(artifact_dir() / "transport_cnn.tflite")
    with_gps, without = tmp_path / "gps.h5", tmp_path / "nogps.h5"
    write_imu(with_gps, ImuDataset(list(TRANSPORT_MODES), "test", ride))
    write_imu(without, ImuDataset(list(TRANSPORT_MODES), "test", [dataclasses.replace(r, gps=None) for r in ride]))
    m = run_eval(model, [str(with_gps)])
    assert all("macro_f1" in m[k] for k in ("context", "context_lagged", "context_gps", "context_lagged_gps"))
    m = run_eval(model, [str(without)])
    assert "GPS track" in m["context_lagged_gps"]["skipped"] and "GPS track" in m["context_gps"]["skipped"]
    assert "macro_f1" in m["context_lagged"]


@pytest.mark.parametrize("args, message", [(["--heads", "live,gps"], "unknown context heads"),
                                           (["--heads", "lagged_gps", "--lag", "0"], "no head to fit")])
def test_cli_refuses_unknown_heads_before_loading_anything(tmp_path, capsys, args, message):
    from momentsense.trainer.cli import main

    for name in ("missing.tflite", "missing.h5"):  # present (the CLI checks paths first) but never read
        (tmp_path / name).write_bytes(b"")
    rc = main(["train", "transport-context", "--model", str(tmp_path / "missing.tflite"), "--data", str(tmp_path / "missing.h5"),
               "--out", str(tmp_path / "out"), *args])
    assert rc == 2 and message in capsys.readouterr().err
