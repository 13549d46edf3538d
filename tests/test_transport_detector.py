"""Streaming transport detection with the shipped model: events, chunking, gaps, duty cycling, bad models."""

import dataclasses

import numpy as np
import pytest

from momentsense.sdk.errors import ModelError
from momentsense.sdk.records import TRANSPORT_MODES
from momentsense.sdk.sim import Leg, draw_device, draw_person, iter_itinerary
from momentsense.sdk.transport.detector import TransportDetector
from approx_records import same_records


@pytest.fixture(scope="module")
def day():
    legs = [Leg("still", 300, placement="table"), Leg("walk", 300), Leg("run", 240), Leg("walk", 120), Leg("still", 300, placement="table")]
    return list(iter_itinerary(legs, draw_person("p", 1), draw_device("d", 1), seed=5))


def run(det, recs, chunk=250):
    evs = []
    for rec in recs:
        for a in range(0, len(rec.t), chunk):
            evs += det.process(rec.t[a : a + chunk], rec.acc[a : a + chunk], gyro=rec.gyro[a : a + chunk])
    return evs + det.flush()


def accuracy(evs, recs):
    t = np.concatenate([r.t for r in recs])
    lab = np.concatenate([r.label for r in recs])
    pred = np.full(len(t), -1)
    for e in evs:
        pred[(t >= e.start) & (t < e.end)] = TRANSPORT_MODES.index(e.mode)
    ok = pred >= 0
    return float(np.mean(pred[ok] == lab[ok])), float(ok.mean())


class TestTransportDetector:
    def test_events_follow_the_day(self, day):
        """still → walk → run → walk → still comes out as events covering the day, mostly right."""
        det = TransportDetector.create()
        evs = run(det, day)
        acc, covered = accuracy(evs, day)
        assert acc > 0.85 and covered > 0.95
        assert [e.mode for e in evs][0] == "still" and "run" in [e.mode for e in evs]
        assert all(e.end > e.start and 0 <= e.confidence <= 1 for e in evs)
        assert all(a.end <= b.start + 1e-9 for a, b in zip(evs, evs[1:]))

    def test_chunk_size_does_not_change_events(self, day):
        """The phone's chunking (0.4 s or 1 min) gives the same events (confidences to float rounding, 1e-9)."""
        a = run(TransportDetector.create(), day, chunk=10)
        b = run(TransportDetector.create(), day, chunk=1500)
        assert [(e.start, e.end, e.mode) for e in a] == [(e.start, e.end, e.mode) for e in b]
        assert same_records(a, b)

    def test_duty_cycling_skips_still_windows_and_resumes_on_motion(self, day):
        """Table-still windows are skipped; walking after them is still detected."""
        det = TransportDetector.create(duty_cycle=True)
        evs = run(det, day)
        assert det.stats.windows_skipped > 20
        # the shipped model's two heads run only on inferred windows (a skipped one is a still observation)
        assert det.context is not None and det.lagged is not None
        assert len(det.stats.context_ms) == 2 * (det.stats.windows - det.stats.windows_skipped)
        assert "walk" in [e.mode for e in evs]
        off = TransportDetector.create(duty_cycle=False)
        run(off, day)
        assert off.stats.windows_skipped == 0 and len(off.stats.inference_ms) > len(det.stats.inference_ms)

    def test_a_gap_closes_the_open_event(self, day):
        """A 60 s hole ends the event before it; nothing spans the hole."""
        rec = day[1]
        det = TransportDetector.create()
        half = len(rec.t) // 2
        evs = det.process(rec.t[:half], rec.acc[:half], gyro=rec.gyro[:half])
        evs += det.process(rec.t[half:] + 60.0, rec.acc[half:], gyro=rec.gyro[half:])
        evs += det.flush()
        hole = (rec.t[half - 1], rec.t[half] + 60.0)
        assert not any(e.start < hole[0] < hole[1] < e.end for e in evs)
        assert det.stats.gaps >= 1

    def test_nan_and_unsorted_samples_do_not_crash(self, day):
        rec = day[1]
        acc = rec.acc.copy()
        acc[100:110] = np.nan
        t = rec.t.copy()
        t[200], t[201] = t[201], t[200]
        det = TransportDetector.create()
        det.process(t, acc, gyro=rec.gyro)
        assert det.stats.repairs["dropped_nonfinite"] == 10 and det.stats.repairs["reordered"] >= 2

    def test_refuses_a_corrupted_model(self, tmp_path):
        from momentsense.edge_models import artifact_dir

        src = artifact_dir() / "transport_cnn.tflite"
        bad = tmp_path / "transport_cnn.tflite"
        bad.write_bytes(src.read_bytes()[:-100])
        (tmp_path / "transport_cnn.json").write_text((artifact_dir() / "transport_cnn.json").read_text())
        with pytest.raises(ModelError, match="sha256"):
            TransportDetector.create(str(bad))

    def test_refuses_a_missing_model(self, tmp_path):
        with pytest.raises(ModelError):
            TransportDetector.create(str(tmp_path / "none.tflite"))


class TestGpsStayPrior:
    """A phone held in a hand at home can look like a bus ride to the IMU; GPS that has not moved says otherwise."""

    @pytest.fixture(scope="class")
    def held(self):
        from momentsense.sdk.sim.simulate import simulate_leg

        person, device = draw_person("probe-1", 1), draw_device("probe-phone-1", 1)
        return simulate_leg("still", 900.0, person, device, "hand", np.random.default_rng(1), t0=1_700_000_000.0,
                            indoor=True).recording  # fmt: skip

    @staticmethod
    def vehicle_share(det, rec):
        from momentsense.sdk.transport.detector import VEHICLE_MODES

        evs = det.process(rec.t, rec.acc, rec.t, rec.gyro) + det.flush()
        return sum(e.end - e.start for e in evs if e.mode in VEHICLE_MODES) / sum(e.end - e.start for e in evs)

    # Simulator 1.2 gives a still hand the micro-motion of real ones (WISDM-calibrated), and this
    # probe phone is a fidgety one: the shipped model 1.1.0, trained on the quieter simulator 1.1,
    # reads it as a vehicle so firmly that its context head outvotes the damping (vehicle share 0.10
    # at a place with the head; 0.98 without GPS against 0.91 for the window model alone). A candidate
    # trained on simulator 1.2 + WISDM did no better (0.20; 1.00 and 1.00). Strict: the marks must go
    # when a shipped model passes.
    @pytest.mark.xfail(strict=True, reason="shipped model on simulator 1.2's fidgety hand-held still phone (see comment)")
    def test_at_a_place_vehicle_modes_are_damped(self, held):
        # the window model alone misreads the hand-held phone; the fusion is probed on it
        assert self.vehicle_share(TransportDetector.create(use_context=False), held) > 0.5
        det = TransportDetector.create(use_context=False)
        det.set_at_place(True)
        assert self.vehicle_share(det, held) < 0.05
        det = TransportDetector.create()  # with the context head too
        det.set_at_place(True)
        assert self.vehicle_share(det, held) < 0.05

    @pytest.mark.xfail(strict=True, reason="shipped model on simulator 1.2's fidgety hand-held still phone (see above)")
    def test_minutes_of_context_misread_less_than_single_windows(self, held):
        with_head = self.vehicle_share(TransportDetector.create(), held)
        assert with_head < self.vehicle_share(TransportDetector.create(use_context=False), held) - 0.2

    def test_weight_one_switches_the_fusion_off(self, held):
        det = TransportDetector.create(at_place_vehicle_weight=1.0, use_context=False)
        det.set_at_place(True)
        assert self.vehicle_share(det, held) > 0.5

    def test_weight_outside_0_1_is_refused(self):
        from momentsense.sdk.errors import InputError

        with pytest.raises(InputError, match="at_place_vehicle_weight"):
            TransportDetector.create(at_place_vehicle_weight=1.5)


class TestContextHead:
    """The head named in the manifest is loaded, verified, and can be switched off."""

    @staticmethod
    def model_with_head(tmp_path, head_bytes=None, sha=None, lag=None, lagged_key="context_lagged", gps_key=None,
                        live_gps_key=None):
        """A copy of the shipped model naming a random live head (and with ``lag``, a random lagged
        one; with ``gps_key`` too, a random lagged GPS head under that key; with ``live_gps_key``, a
        random live GPS head under that key)."""
        import json

        from momentsense.edge_models import artifact_dir
        from momentsense.sdk.models.manifest import sha256_bytes
        from tests.test_transport_context import random_head

        (tmp_path / "m.tflite").write_bytes((artifact_dir() / "transport_cnn.tflite").read_bytes())
        d = json.loads((artifact_dir() / "transport_cnn.json").read_text())
        d["extra"].pop("context_lagged", None)
        d["extra"].pop("context_lagged_gps", None)
        d["extra"].pop("context_gps", None)
        if head_bytes is None:
            head_bytes = json.dumps(random_head(n_channels=14, scales=(3, 8), labels=TRANSPORT_MODES).to_dict()).encode()
        (tmp_path / "head.json").write_bytes(head_bytes)
        d["extra"]["context"] = {"file": "head.json", "sha256": sha or sha256_bytes(head_bytes)}
        if lag is not None:
            lagged = json.dumps(random_head(seed=1, n_channels=14, scales=(3, 8), labels=TRANSPORT_MODES, lag=lag).to_dict()).encode()
            (tmp_path / "lagged.json").write_bytes(lagged)
            d["extra"][lagged_key] = {"file": "lagged.json", "sha256": sha256_bytes(lagged)}
        if gps_key is not None:
            g = json.dumps(random_head(seed=2, n_channels=14, scales=(3, 8), labels=TRANSPORT_MODES, lag=lag, gps=True).to_dict()).encode()
            (tmp_path / "gps.json").write_bytes(g)
            d["extra"][gps_key] = {"file": "gps.json", "sha256": sha256_bytes(g)}
        if live_gps_key is not None:
            g = json.dumps(random_head(seed=3, n_channels=14, scales=(3, 8), labels=TRANSPORT_MODES, gps=True).to_dict()).encode()
            (tmp_path / "live_gps.json").write_bytes(g)
            d["extra"][live_gps_key] = {"file": "live_gps.json", "sha256": sha256_bytes(g)}
        (tmp_path / "m.json").write_text(json.dumps(d))
        return str(tmp_path / "m.tflite")

    def test_loads_the_named_head_and_use_context_false_skips_it(self, tmp_path, day):
        path = self.model_with_head(tmp_path)
        det = TransportDetector.create(path)
        assert det.context is not None and det.context.scales == (3, 8)
        run(det, day[:2])
        assert det._ctx.n == 8  # the head saw the stream
        assert TransportDetector.create(path, use_context=False).context is None

    def test_a_corrupted_or_missing_head_is_refused(self, tmp_path):
        path = self.model_with_head(tmp_path, sha="0" * 64)
        with pytest.raises(ModelError, match="sha256"):
            TransportDetector.create(path)
        (tmp_path / "head.json").unlink()
        with pytest.raises(ModelError, match="missing"):
            TransportDetector.create(path)

    def test_a_lagged_head_under_the_live_key_is_refused(self, tmp_path):
        path = self.model_with_head(tmp_path, lag=4, lagged_key="context")
        with pytest.raises(ModelError, match="lag 4"):
            TransportDetector.create(path)

    def test_lagged_head_settles_events_late_and_current_stays_live(self, tmp_path, day):
        path = self.model_with_head(tmp_path, lag=6)
        det = TransportDetector.create(path, duty_cycle=False)
        assert det.lagged is not None and det.lagged.lag == 6
        assert TransportDetector.create(path, use_lagged_context=False).lagged is None
        assert TransportDetector.create(path, use_context=False).lagged is None
        rec = day[0]
        for a in range(0, len(rec.t), 250):
            det.process(rec.t[a:a + 250], rec.acc[a:a + 250], gyro=rec.gyro[a:a + 250])
        n = det.stats.windows
        assert n > 20 and len(det._waiting) == 6 and det._lag_ctx.pending == 6  # 6 windows wait for their look-ahead
        # current() and the live events come from the live path's own segmentation, not the timeline's
        assert det._live_seg is not det._seg and det.current()[0] == TRANSPORT_MODES[det._live_seg.mode]
        assert isinstance(det.live_events, list)
        det.flush()
        assert len(det._waiting) == 0 and det._lag_ctx.pending == 0


def test_streaming_lagged_head_equals_the_batch_path_across_a_gap(tmp_path, day, monkeypatch):
    """The timeline's filter gets, window by window, what the trainer's batch path computes, with the
    look-ahead stopping at a gap (the pending windows are flushed before the new stream starts)."""
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.records import ImuDataset
    from momentsense.sdk.transport.heads import context_probs, window_vectors
    from momentsense.trainer.transport.data import dataset_windows
    from momentsense.trainer.transport.tflite_eval import tflite_predictor

    path = TestContextHead.model_with_head(tmp_path, lag=5)
    det = TransportDetector.create(path, duty_cycle=False, at_place_vehicle_weight=1.0)
    seen = []
    real = det._settle

    def spy(rows, rows_gps=None):  # the lagged head's outputs on their way into the timeline's filter
        seen.extend(np.array(rows))
        return real(rows, rows_gps)

    monkeypatch.setattr(det, "_settle", spy)
    rec = day[1]
    keep = (rec.t < rec.t[0] + 100) | (rec.t >= rec.t[0] + 160)  # a 60 s gap after 100 s
    gapped = dataclasses.replace(rec, t=rec.t[keep], acc=rec.acc[keep], gyro=rec.gyro[keep], label=rec.label[keep])
    run(det, [gapped], chunk=10)
    predict, config, _ = tflite_predictor(artifact_dir() / "transport_cnn.tflite")
    w = dataset_windows(ImuDataset(list(TRANSPORT_MODES), "t", [gapped]), config)
    order = np.argsort(w.k_start)
    reset = np.r_[True, np.diff(w.k_start[order]) != config.hop_len]
    assert reset.sum() == 2 and len(seen) == len(w.y)
    q = context_probs(det.lagged, window_vectors(predict(w.x[order]), w.x[order]), reset)
    p = np.array(seen)
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True), atol=1e-5)


def test_streaming_context_equals_the_trainers_batch_path(day, monkeypatch):
    """What the phone feeds the HMM (int8 model → head, window by window, in 0.4 s chunks) is what the
    trainer scores (the same model on all windows at once → context_probs)."""
    import momentsense.sdk.transport.detector as td
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.records import ImuDataset
    from momentsense.sdk.transport.heads import context_probs, window_vectors
    from momentsense.trainer.transport.data import dataset_windows
    from momentsense.trainer.transport.tflite_eval import tflite_predictor

    seen = []
    real = td.forward_step
    det = TransportDetector.create(duty_cycle=False, at_place_vehicle_weight=1.0)

    def spy(p, state, model, *a, **k):
        if model is det.hmm:  # the live path (a lagged head's filter has its own model)
            seen.append(np.array(p))
        return real(p, state, model, *a, **k)

    monkeypatch.setattr(td, "forward_step", spy)
    rec = day[1]
    run(det, [rec], chunk=10)
    predict, config, labels = tflite_predictor(artifact_dir() / "transport_cnn.tflite")
    w = dataset_windows(ImuDataset(labels, "t", [rec]), config)
    # label-less windows are kept by the detector; compare on the windows both paths have
    assert len(seen) == len(w.y) and np.all(np.diff(w.k_start) == config.hop_len)
    q = context_probs(det.context, window_vectors(predict(w.x), w.x), np.r_[True, np.zeros(len(w.y) - 1, bool)])
    p = np.array(seen)
    np.testing.assert_allclose(p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True), atol=1e-5)
