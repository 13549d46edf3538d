"""Journeys demo app (examples/app): stores, the SDK door, the day's cards/strip/map, corrections and
their sync, the app model, the service loop and the Android glue, all without a window.

The headless UI walk-through is in ``tests/test_app_ui.py``; the staged Android tree, revoke erasure
and a correction's way to the server's export in ``tests/test_app_android.py``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from journeys import bridge, stores, viewmodel  # noqa: E402
from journeys.bridge import ContextView, DayView, SampleTap, SourceChoice  # noqa: E402
from journeys.stores import ConsentFile, CorrectionStore, EventStore  # noqa: E402
from journeys.viewmodel import AppModel, ConsentRequired  # noqa: E402
from momentsense.sdk.timeline.records import Place, TransportEvent, Trip, Visit  # noqa: E402

DAY = datetime.date(2026, 3, 2)
T0 = datetime.datetime(2026, 3, 2, tzinfo=datetime.timezone.utc).timestamp()  # local midnight at tz 0
HOUR = 3600.0


# -- fakes -------------------------------------------------------------------------------------------


class FakeBackend:
    """A backend with fixed days, for the view model (same methods as LiveBackend)."""

    source_name = "fake"
    error = None

    def __init__(self, days: dict, places=None, context=None):
        self._days, self._places = days, places
        self.started = self.closed = 0
        self.erased = False
        self._ctx = context or ContextView("walk", 0.934, True, 3)

    def start(self):
        self.started += 1

    def stop(self):
        pass

    def close(self, erase=False):
        self.closed += 1
        self.erased = erase

    def context(self):
        return self._ctx

    def samples(self):
        return {"acc_t": [0.0, 1.0], "acc": [[0, 0, 9.81], [1, 2, 3]], "gyro_t": [], "gyro": []}

    def days(self):
        return sorted(self._days)

    def day(self, day):
        return self._days.get(day, DayView([], [], [], True, True))

    def feature(self, name):
        return self._places if name == "places" else None

    def pause(self, on, timeout_s=0.0):
        self.paused = on
        return True


class FakeSyncClient:
    """Records what the app would send to the sync server."""

    def __init__(self):
        self.sent = []

    def send_feedback(self, items):
        self.sent.append(list(items))
        return {"accepted": len(items), "unknown_event_ids": []}


def sample_day():
    events = [TransportEvent(T0 - HOUR, T0 + 7 * HOUR, "still", 0.97),  # starts the day before: clipped
              TransportEvent(T0 + 7 * HOUR, T0 + 7.5 * HOUR, "walk", 0.9),
              TransportEvent(T0 + 7.5 * HOUR, T0 + 8 * HOUR, "bus", 0.8)]  # fmt: skip
    visits = [Visit(T0 - HOUR, T0 + 7 * HOUR, "p1", 48.85, 2.35), Visit(T0 + 8 * HOUR, T0 + 17 * HOUR, "p2", 48.86, 2.36)]
    trips = [Trip(T0 + 7 * HOUR, T0 + 8 * HOUR, "p1", "p2", ("walk", "bus"), 5200.0)]
    return DayView(events, visits, trips, True, True)


PLACES = [Place("p1", 48.85, 2.35, 30.0, 20, 200 * HOUR, "home", 0.9), Place("p2", 48.86, 2.36, 40.0, 15, 120 * HOUR, "work", 0.8)]


def _model(tmp_path, backend=None, calls=None):
    calls = calls if calls is not None else []

    def factory():
        calls.append(1)
        return backend or FakeBackend({DAY: sample_day()}, PLACES)

    return AppModel(factory, tmp_path, 0.0), calls


# -- stores ------------------------------------------------------------------------------------------


class TestCorrectionStore:
    def test_add_round_trips_and_feeds_the_sync_queue(self, tmp_path):
        """A correction is stored with an idempotency id, listed as pending until marked synced."""
        s = CorrectionStore(tmp_path / "c.sqlite")
        c = s.add("event", 10.0, 20.0, "walk", "run")
        assert CorrectionStore(tmp_path / "c.sqlite").all() == [c]  # survives reopening
        assert s.pending() == [c] and len(c.correction_id) == 32
        assert s.mark_synced([c.correction_id]) == 1 and s.mark_synced([c.correction_id]) == 0
        assert s.pending() == [] and s.all()[0].synced
        assert set(c.to_dict()) == {f.name for f in dataclasses.fields(stores.Correction)}

    def test_feedback_items_use_the_sync_payload_ids(self, tmp_path):
        """Visit/trip corrections refer to the ids the day payload uploads (sdk.sync.payload.event_id);
        corrections of single transport events (older app versions) are not sent."""
        payload = pytest.importorskip("momentsense.sdk.sync.payload", reason="the SDK has no sync payload module")
        s = CorrectionStore(tmp_path / "c.sqlite")
        s.add("visit", 10.0, 20.0, "other", "gym")
        s.add("event", 30.0, 40.0, "walk", "run")
        salt = bytes(range(32))
        items = stores.feedback_items(s.pending(), salt)
        assert items[0] == {"event_id": payload.event_id(salt, "visit", 10.0, 20.0), "field": "category", "value": "gym"}
        assert len(items) == 1  # a single transport event has no id the server knows: not sent
        s.add("trip", 30.0, 40.0, "walk", "run")
        items = stores.feedback_items(s.pending(), salt)
        assert items[1] == {"event_id": payload.event_id(salt, "trip", 30.0, 40.0), "field": "mode", "value": "run"}

    def test_latest_correction_of_an_item_wins(self, tmp_path):
        s = CorrectionStore(tmp_path / "c.sqlite")
        s.add("event", 10.0, 20.0, "walk", "run")
        s.add("event", 10.0, 20.0, "walk", "bike")
        assert s.latest_by_item() == {("event", 10.0): "bike"}

    @pytest.mark.parametrize("args,msg", [(("place", 1, 2, "a", "b"), "item_kind"), (("event", 1, 2, "a", ""), "non-empty"),
                                          (("event", 3, 2, "a", "b"), "item_end")])  # fmt: skip
    def test_add_fails_with_bad_input(self, tmp_path, args, msg):
        with pytest.raises(ValueError, match=msg):
            CorrectionStore(tmp_path / "c.sqlite").add(*args)


class TestEventStore:
    def test_events_are_idempotent_and_filtered_by_start(self, tmp_path):
        s = EventStore(tmp_path / "e.sqlite")
        evs = [TransportEvent(5.0, 9.0, "walk", 0.9), TransportEvent(1.0, 5.0, "still", 0.8)]
        s.add_events(evs)
        s.add_events(evs)
        assert [e["mode"] for e in s.events()] == ["still", "walk"]
        assert [e["mode"] for e in s.events(2.0, 10.0)] == ["walk"]

    def test_key_values_round_trip(self, tmp_path):
        s = EventStore(tmp_path / "e.sqlite")
        assert s.get("context", "none") == "none"
        s.put("context", {"mode": "car", "confidence": 0.5})
        assert s.get("context") == {"mode": "car", "confidence": 0.5}


def test_consent_file_needs_its_version(tmp_path):
    """A granted file of another version counts as no consent; a broken file too."""
    f = ConsentFile(tmp_path / "consent.json")
    assert not f.granted()
    f.write(True)
    assert f.granted()
    f.path.write_text(json.dumps({"granted": True, "version": 99}))
    assert not f.granted()
    f.path.write_text("{broken")
    assert not f.granted()


# -- bridge ------------------------------------------------------------------------------------------


class TestBridge:
    def test_normalise_day_accepts_old_and_new_sdk_shapes(self):
        """A list of events (older SDK) has no visits/trips; a day record keeps its fields."""
        ev = TransportEvent(1.0, 2.0, "walk", 0.9)
        old = bridge.normalise_day([ev])
        assert old.events == [ev] and not old.has_visits and not old.has_trips
        rec = types.SimpleNamespace(events=(ev,), visits=(), trips=(), driving_scores=())
        new = bridge.normalise_day(rec)
        assert new.events == [ev] and new.has_visits and new.has_trips and new.driving_scores == []
        from_store = bridge.normalise_day([{"start": 1.0, "end": 2.0, "mode": "walk", "confidence": 0.9}])
        assert from_store.events == [ev]

    def test_sample_tap_keeps_the_last_seconds(self):
        tap = SampleTap(keep_s=2.0)
        t = [0.0, 1.0, 2.0, 3.0]
        tap.push(t, [[i, 0, 0] for i in range(4)], None, [[0, 0, i] for i in range(4)])
        snap = tap.snapshot()
        assert snap["acc_t"] == [1.0, 2.0, 3.0] and snap["gyro"][-1] == [0, 0, 3]

    def test_tapped_source_shifts_time_and_copies_samples(self):
        """The wrapper shifts IMU and GPS times, fills the tap and forwards close()."""
        import numpy as np

        from momentsense.sdk.sources import SensorChunk, SensorSource
        from momentsense.sdk.timeline.records import GpsFix

        class Inner(SensorSource):
            closed = False

            def chunks(self):
                yield SensorChunk(np.array([0.0, 0.04]), np.ones((2, 3)), None, np.zeros((2, 3)), [GpsFix(0.0, 1.0, 2.0)])

            def close(self):
                self.closed = True

        inner, tap = Inner(), SampleTap()
        src = bridge.make_tapped_source(inner, tap, 100.0)
        assert isinstance(src, SensorSource)
        (chunk,) = list(src.chunks())
        assert chunk.acc_t.tolist() == [100.0, 100.04] and chunk.gps[0].t == 100.0
        assert tap.snapshot()["acc_t"] == [100.0, 100.04] and tap.snapshot()["gyro_t"] == [100.0, 100.04]
        src.close()
        assert inner.closed

    def test_day_range_lists_days_with_data_or_today(self):
        assert bridge.day_range([T0 + HOUR, T0 + 30 * HOUR, T0 + 2 * HOUR], 0.0) == [DAY, DAY + datetime.timedelta(days=1)]
        assert bridge.day_range([T0 + HOUR], -2 * HOUR, [DAY]) == [DAY - datetime.timedelta(days=1), DAY]
        assert bridge.day_range([], 0.0) == [bridge.local_day(time.time(), 0.0)]

    def test_auto_source_is_the_simulator_off_android(self, monkeypatch):
        for k in ("ANDROID_ARGUMENT", "ANDROID_PRIVATE"):
            monkeypatch.delenv(k, raising=False)
        assert SourceChoice("auto").resolved_kind() == "simulate"
        monkeypatch.setenv("ANDROID_ARGUMENT", "/data/app")
        assert SourceChoice("auto").resolved_kind() == "phone"

    def test_live_backend_runs_the_sdk_on_a_simulated_day_starting_today(self, tmp_path):
        """End to end through the public SDK: events arrive, the simulated day is moved to today."""
        choice = SourceChoice("simulate", speed=0.0, legs=[("still", 120), ("walk", 240), ("still", 120)], seed=3)
        be = bridge.LiveBackend(choice, 0.0, tmp_path)
        be.start()
        assert be.sdk.wait(60)
        be.stop()
        today = bridge.local_day(time.time(), 0.0)
        day = be.day(today)
        assert "walk" in [e.mode for e in day.events]
        assert today in be.days() and len(be.samples()["acc_t"]) > 50
        assert be.context().events == len(be.sdk.events())
        be.close()


class TestConsent:
    def test_grant_and_revoke_cover_motion_and_location(self, tmp_path):
        c = bridge.Consent(tmp_path)
        assert not c.granted()
        c.grant()
        assert c.granted() and bridge.Consent(tmp_path).granted()  # another process sees it
        c.revoke()
        assert not c.granted()
        if c.manager is not None:
            assert not any(c.manager.allowed(k, "sensing") for k in ("motion", "location"))

    def test_json_fallback_without_the_sdk_consent_module(self, tmp_path, monkeypatch):
        monkeypatch.setitem(sys.modules, "momentsense.sdk.consent", None)  # import fails → the app's JSON file
        c = bridge.Consent(tmp_path)
        assert c.backend == "app-json" and not c.granted()
        c.grant()
        assert c.granted() and ConsentFile(tmp_path / "consent.json").granted()


class TestNowState:
    def test_mode_in_words_and_traces(self):
        st = viewmodel.now_state(ContextView("walk", 0.934, True, 3), {"acc_t": [0.0, 5.0], "acc": [[0, 0, 9.81], [40, -40, 0]]}, "simulate")
        assert st.mode_text == "Walk (sure)" and st.status_text == "Sensing on · from a simulated day"
        x = st.acc_lines[0]
        assert x[0] == 0.0 and x[2] == 1.0 and x[3] == 1.0  # newest at the right; 40 m/s² clipped to the top
        assert st.acc_lines[1][3] == 0.0 and st.acc_lines[2][1] == pytest.approx(0.5 + 9.81 / 40)

    def test_place_and_trip_in_words(self):
        newer = ContextView("car", 0.6, True, 1, PLACES[0], types.SimpleNamespace(modes=("walk", "car")), None, True, True)
        st = viewmodel.now_state(newer, {}, "service")
        assert st.place_text == "At Home" and st.trip_text == "On a trip: Walk + Car" and st.mode_text == "Car (fairly sure)"
        st = viewmodel.now_state(ContextView("car", 0.8, True, 1, None, None, None, True, True), {}, "phone", "the sensing service is not responding")
        assert st.place_text == "Not at a known place" and st.trip_text == "" and "stopped: the sensing service" in st.status_text


class TestListStates:
    def test_places_in_words_home_first(self):
        st = viewmodel.places_state(list(reversed(PLACES)), {"p2": "The office"})
        assert st.rows == ["Home: 20 visits, 200 h 00 min in all", "The office (work): 15 visits, 120 h 00 min in all"]
        assert "not available yet" in viewmodel.places_state(None).placeholder

    def test_insights_without_numbers_behind_them(self):
        from momentsense.sdk.insights import Insight

        seg = Insight("segment", "you may be a early riser (timeline embedding, p=0.91)", {})
        score = types.SimpleNamespace(trip_start=T0, trip_end=T0 + 600, score=81.4, distance_m=5300.0)
        assert viewmodel.feature_state("segments", [seg]).rows == ["you may be a early riser"]
        assert viewmodel.feature_state("driving", [score]).rows == ["Drive: score 81 of 100, 5.3 km"]
        assert "not available yet" in viewmodel.feature_state("moments", None).placeholder


class TestAppModel:
    def test_nothing_starts_without_consent_and_decline_starts_nothing(self, tmp_path):
        m, calls = _model(tmp_path)
        assert m.needs_consent and m.backend is None
        with pytest.raises(ConsentRequired):
            m.start()
        m.decline()
        assert calls == [] and m.declined and m.stored()["rows"] == 0

    def test_accept_starts_pause_keeps_and_revoke_erases(self, tmp_path):
        backend = FakeBackend({DAY: sample_day()}, PLACES)
        m, calls = _model(tmp_path, backend)
        m.accept()
        assert calls == [1] and backend.started == 1 and m.now().mode_text == "Walk (sure)"
        card = m.timeline.refresh()[0]
        m.timeline.change_label(card, "gym")
        m.set_paused(True)
        assert m.paused and "paused" in m.now().status_text and len(m.corrections.all()) == 1
        assert backend.paused and m.problem() is None
        m.close()
        again = AppModel(lambda: backend, tmp_path)  # the app opens paused: nothing starts...
        assert again.start() and backend.started == 1
        again.set_paused(False)  # ...until the user resumes
        assert backend.started == 2 and not again.paused
        again.set_paused(True)
        m = again
        m.revoke()
        assert m.needs_consent and backend.closed == 2 and backend.erased and m.backend is None
        assert m.corrections.all() == [] and not m.paused
        assert AppModel(lambda: backend, tmp_path).needs_consent  # remembered across restarts

    def test_failures_offer_retry_or_settings(self, tmp_path):
        from momentsense.sdk.sources import SensorUnavailableError

        tries = []

        def factory():
            tries.append(1)
            if len(tries) == 1:
                raise SensorUnavailableError("no phone sensors on this platform")
            return FakeBackend({DAY: sample_day()}, PLACES)

        m = AppModel(factory, tmp_path)
        m.consent.grant()
        assert not m.start() and m.problem().action == "retry" and "no phone sensors" in m.problem().text
        assert m.retry() and m.problem() is None
        m.backend.error, m.backend.error_kind = "location permission not granted", "permission"
        assert m.problem().action == "settings" and "system settings" in m.problem().text

    def test_sync_through_the_model_needs_the_sharing_consent(self, tmp_path):
        client = FakeSyncClient()
        m = AppModel(lambda: FakeBackend({DAY: sample_day()}, PLACES), tmp_path, 0.0, client)
        m.accept()
        trip = next(c for c in m.timeline.refresh() if c.kind == "trip")
        m.timeline.change_label(trip, "car")
        assert m.sync().sent == 0 and "1 correction waiting" in m.sync_text
        m.consent.set_sync(True)
        assert m.sync().sent == 1 and "0 corrections waiting" in m.sync_text and client.sent
        assert (tmp_path / "sync" / "salt.bin").exists()

# -- entry points ------------------------------------------------------------------------------------


def test_main_arguments():
    import main as app_main

    a = app_main.parse_args(["--source", "replay", "day.h5", "--speed", "1440"])
    assert (a.source, a.file, a.speed) == ("replay", "day.h5", 1440.0)
    with pytest.raises(SystemExit):
        app_main.parse_args(["--source", "replay"])
    assert app_main.parse_legs("still:60, walk:30") == [("still", 60.0), ("walk", 30.0)]
    with pytest.raises(SystemExit, match="MODE:SECONDS"):
        app_main.parse_legs("walk")
