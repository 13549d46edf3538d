"""On-device predictor, moment assignment and notification timing (numpy only; fake or shipped model)."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from momentsense.edge_models import artifact_dir
from momentsense.sdk.errors import InputError
from momentsense.sdk.moments import Moments, NextEventPredictor, assign_moment, best_time_to_notify, is_good_moment
from momentsense.sdk.moments.tokens import N_FEATURES, N_TOKENS, TOKENS, EncodingConfig

T0 = 1767571200.0  # Monday 00:00


class FakeModel:
    """Says 'car' next with a 30-minute wait, and records inputs and resets."""

    backend = "fake"
    output_spec = SimpleNamespace(shape=(1, N_TOKENS + 1))

    def __init__(self, wait_min=30.0, top="car"):
        self.resets, self.inputs = 0, []
        self.y = np.zeros((1, N_TOKENS + 1), np.float32)
        self.y[0, TOKENS.index(top)] = 1.0
        self.y[0, -1] = np.log1p(wait_min)

    def reset(self):
        self.resets += 1

    def run(self, x):
        self.inputs.append(x)
        return self.y


def make(wait_min=30.0, top="car"):
    return NextEventPredictor(FakeModel(wait_min, top), EncodingConfig(max_events=16))


class TestNextEventPredictor:
    def test_predict_resets_state_and_uses_fixed_window(self):
        p = make()
        p.push(T0, "home")
        p.push(T0 + 8 * 3600, "car")
        pred = p.predict()
        assert pred.top == "car" and pred.wait_s == pytest.approx(1800.0, rel=1e-4)
        assert p._model.resets == 1 and p._model.inputs[-1].shape == (1, 16, N_FEATURES)

    def test_history_is_capped_at_three_weeks(self):
        p = make()
        for d in range(30):
            p.push(T0 + d * 86400, "home")
        assert len(p) == 16
        q = NextEventPredictor(FakeModel(), EncodingConfig(max_events=64))
        for d in range(30):
            q.push(T0 + d * 86400, "home")
        assert len(q) == 21

    def test_push_fails_out_of_order(self):
        p = make()
        p.push(T0 + 100, "home")
        with pytest.raises(InputError, match="order"):
            p.push(T0, "car")

    def test_push_fails_with_unknown_label(self):
        with pytest.raises(InputError, match="unknown event label"):
            make().push(T0, "spaceship")

    def test_predict_fails_when_empty(self):
        with pytest.raises(InputError, match="no events"):
            make().predict()


class TestAssignMoment:
    def test_rules(self):
        t = T0 + 8 * 3600
        assert assign_moment("car", t, "home", ["work"]) == "commute"
        assert assign_moment("car", t, "work", ["home"]) == "commute"
        assert assign_moment("car", t, "home", ["school"], short_school=True) == "school_run"
        assert assign_moment("bus", t, "home", ["walk", "shop"]) == "shopping"
        assert assign_moment("car", T0 + 21 * 3600, "home", ["bar"]) == "night_out"
        assert assign_moment("run", t, "home", ["park"]) == "sport"


class TestNotify:
    def test_not_a_good_moment_while_driving(self):
        p = make()
        p.push(T0, "home")
        assert is_good_moment(p)
        p.push(T0 + 3600, "car")
        assert not is_good_moment(p)

    def test_prefers_minutes_before_predicted_departure(self):
        p = make(wait_min=60.0)
        p.push(T0 + 7 * 3600, "home")
        t = best_time_to_notify(p, T0 + 7 * 3600, T0 + 9 * 3600)
        assert t == pytest.approx(T0 + 8 * 3600 - 600, abs=1)

    def test_in_transit_waits_for_arrival(self):
        p = make(wait_min=20.0, top="work")
        p.push(T0 + 7 * 3600, "home")
        p.push(T0 + 8 * 3600, "car")
        t = best_time_to_notify(p, T0 + 8 * 3600, T0 + 10 * 3600)
        assert t >= T0 + 8 * 3600 + 20 * 60

    def test_habit_beats_a_stale_forecast(self):
        """Still at home past the LSTM's forecast: the usual weekday departure time is used instead."""
        from momentsense.sdk.moments.notify import expected_departure

        p = make(wait_min=60.0)
        day = 86400.0
        monday = T0 - ((T0 // day + 3) % 7) * day  # a Monday 00:00 UTC on or before T0
        for d in range(4):  # Mon-Thu: home 19:00 -> leave 08:30 -> work
            p.push(monday + d * day - 5 * 3600, "home")
            p.push(monday + d * day + 8.5 * 3600, "car")
            p.push(monday + d * day + 9 * 3600, "work")
        p.push(monday + 4 * day - 5 * 3600, "home")  # Thursday evening; asked Friday 07:00
        now = monday + 4 * day + 7 * 3600
        assert p.predict().next_start < now  # the forecast (1 h after 19:00) is stale
        assert expected_departure(p, now) == pytest.approx(monday + 4 * day + 8.5 * 3600, abs=1)
        assert best_time_to_notify(p, now, now + 3 * 3600) == pytest.approx(monday + 4 * day + 8.5 * 3600 - 600, abs=1)

    def test_delivery_is_deferred_to_arrival_once_the_trip_is_known(self):
        """A plan that lands inside a known trip is shown a minute after the trip chain ends."""
        import numpy as np

        from momentsense.trainer.nextevent.moments_eval import deliver

        start, end = np.array([0.0, 100.0, 400.0, 700.0]), np.array([100.0, 400.0, 700.0, 900.0])
        busy = np.array([False, True, True, False])
        assert deliver(50.0, start, end, busy, 30.0) == (50.0, False)
        assert deliver(110.0, start, end, busy, 30.0) == (110.0, False)  # not yet detected
        assert deliver(200.0, start, end, busy, 30.0) == (760.0, True)

    def test_fails_with_reversed_window(self):
        p = make()
        p.push(T0, "home")
        with pytest.raises(InputError):
            best_time_to_notify(p, T0 + 10, T0)


@pytest.mark.skipif(not (artifact_dir() / "next_event.tflite").exists(), reason="shipped next_event model not built")
def test_shipped_model_runs_fast_in_the_sdk():
    """The shipped model loads with its manifest and predicts in a few ms per event."""
    import time

    m = Moments.create_from_path()
    times = []
    for d in range(21):
        for h, lab in ((0, "home"), (8, "car"), (8.5, "work"), (17, "car"), (17.5, "home")):
            t = time.perf_counter()
            m.push(T0 + d * 86400 + h * 3600, lab)
            m.predict()
            times.append(time.perf_counter() - t)
    pred = m.predict()
    assert abs(sum(pred.probs) - 1) < 1e-3 and pred.top in TOKENS
    assert np.median(times) < 0.02


def test_sdk_moments_does_not_import_tensorflow():
    code = ("import sys, momentsense.sdk.moments, momentsense.sdk.io.timeline_file\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'h5py'))\n"
            "print(bad); sys.exit(1 if bad else 0)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
