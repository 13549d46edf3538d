"""Journeys demo app (examples/app): view-model logic without a window, and a headless UI walk-through.

The UI test runs the real app in a subprocess under Xvfb (SDL's offscreen driver when Xvfb is absent,
see platform-notes.md), drives it consent → now → timeline → correct an item → settings (revoke), takes
a screenshot of each screen into ``ci-artifacts/app-screenshots/`` and checks the widget tree. It is
skipped only when Kivy is not installed (``pip install -e .[app]``).
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
from journeys.viewmodel import AppModel, ConsentRequired, TimelineVM, build_bars  # noqa: E402
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


def _day_view():
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
        return backend or FakeBackend({DAY: _day_view()}, PLACES)

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
        """Visit/trip corrections refer to the ids the day payload uploads (sdk.sync.payload.event_id)."""
        payload = pytest.importorskip("momentsense.sdk.sync.payload", reason="the SDK has no sync payload module")
        s = CorrectionStore(tmp_path / "c.sqlite")
        s.add("visit", 10.0, 20.0, "other", "gym")
        s.add("event", 30.0, 40.0, "walk", "run")
        salt = bytes(range(32))
        items = stores.feedback_items(s.pending(), salt)
        assert items[0] == {"event_id": payload.event_id(salt, "visit", 10.0, 20.0), "field": "category", "value": "gym"}
        assert items[1]["field"] == "mode" and items[1]["value"] == "run" and items[1]["event_id"].startswith("e_")

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


# -- view model --------------------------------------------------------------------------------------


class TestBuildBars:
    def test_every_item_is_a_bar_in_its_lane_clipped_to_the_day(self):
        bars = build_bars(_day_view(), DAY, 0.0, {}, {"p1": "home", "p2": "work"})
        assert [b.kind for b in bars].count("event") == 3 and [b.kind for b in bars].count("visit") == 2
        assert [b.label for b in bars if b.kind == "visit"] == ["home", "work"]
        still = next(b for b in bars if b.label == "still")
        assert still.x0 == 0.0 and still.x1 == pytest.approx(7 / 24)
        trip = next(b for b in bars if b.kind == "trip")
        assert trip.label == "bus" and ("Distance", "5.2 km") in trip.details
        assert trip.color == viewmodel.MODE_COLORS["bus"] and bars[0].color == viewmodel.PLACE_COLORS["home"]

    def test_items_of_other_days_are_left_out(self):
        assert build_bars(_day_view(), DAY + datetime.timedelta(days=1), 0.0) == []
        late = build_bars(_day_view(), DAY, -7.75 * HOUR)  # local day starts at 07:45 UTC
        assert sorted((b.kind, b.original_label) for b in late) == [("event", "bus"), ("trip", "bus"), ("visit", "other")]

    def test_a_correction_replaces_the_label_and_colour(self):
        walk_start = T0 + 7 * HOUR
        bars = build_bars(_day_view(), DAY, 0.0, {("event", round(walk_start, 3)): "run"})
        b = next(b for b in bars if b.kind == "event" and b.start == walk_start)
        assert b.label == "run" and b.original_label == "walk" and b.corrected
        assert b.color == viewmodel.MODE_COLORS["run"] and ("You said", "run") in b.details


class TestTimelineVM:
    def _vm(self, tmp_path):
        days = {DAY: _day_view(), DAY - datetime.timedelta(days=1): DayView([], [], [], True, True)}
        return TimelineVM(FakeBackend(days, PLACES), CorrectionStore(tmp_path / "c.sqlite"), 0.0)

    def test_refresh_shows_the_newest_day_with_place_labels(self, tmp_path):
        vm = self._vm(tmp_path)
        assert len(vm.refresh()) == 6 and vm.day == DAY
        assert "3 mode events · 2 visits · 1 trips" == vm.counts_text
        assert [b.label for b in vm.bars if b.kind == "visit"] == ["home", "work"]

    def test_swipe_moves_between_days_and_stops_at_the_ends(self, tmp_path):
        vm = self._vm(tmp_path)
        vm.refresh()
        assert not vm.swipe(+1)
        assert vm.swipe(-1) and vm.day == DAY - datetime.timedelta(days=1) and vm.bars == []
        assert not vm.swipe(-1)
        assert vm.swipe(+1) and vm.day == DAY and len(vm.bars) == 6

    def test_correct_stores_the_correction_and_shows_it(self, tmp_path):
        vm = self._vm(tmp_path)
        bar = next(b for b in vm.refresh() if b.kind == "event" and b.label == "bus")
        c = vm.correct(bar, "train")
        assert (c.item_kind, c.item_start, c.original_label, c.corrected_label) == ("event", bar.start, "bus", "train")
        again = next(b for b in vm.bars if b.key == bar.key)
        assert again.label == "train" and again.corrected
        assert CorrectionStore(tmp_path / "c.sqlite").pending() == [c]

    def test_correct_fails_with_a_label_of_the_wrong_kind(self, tmp_path):
        vm = self._vm(tmp_path)
        visit = next(b for b in vm.refresh() if b.kind == "visit")
        assert "gym" in vm.options(visit) and "car" not in vm.options(visit)
        with pytest.raises(ValueError, match="label must be one of"):
            vm.correct(visit, "car")


class TestNowState:
    def test_mode_confidence_and_traces(self):
        st = viewmodel.now_state(ContextView("walk", 0.934, True, 3), {"acc_t": [0.0, 5.0], "acc": [[0, 0, 9.81], [40, -40, 0]]}, "simulate")
        assert st.mode_text == "Walk · 93 %" and "simulate · sensing · 3 events" in st.status_text
        x = st.acc_lines[0]
        assert x[0] == 0.0 and x[2] == 1.0 and x[3] == 1.0  # newest at the right; 40 m/s² clipped to the top
        assert st.acc_lines[1][3] == 0.0 and st.acc_lines[2][1] == pytest.approx(0.5 + 9.81 / 40)

    def test_place_and_trip_say_not_available_with_an_older_sdk(self):
        st = viewmodel.now_state(ContextView(None, 0.0, True, 0), {}, "simulate")
        assert st.mode_text == "Listening…" and "not available yet" in st.place_text and "not available yet" in st.trip_text
        newer = ContextView("car", 0.8, True, 1, PLACES[0], types.SimpleNamespace(modes=("walk", "car")), None, True, True)
        st = viewmodel.now_state(newer, {}, "simulate")
        assert st.place_text == "Place: home" and st.trip_text == "Trip: walk → car"
        st = viewmodel.now_state(ContextView("car", 0.8, True, 1, None, None, None, True, True), {}, "x")
        assert st.place_text == "Place: unknown" and st.trip_text == "Trip: none in progress"


class TestListStates:
    def test_places_home_first_or_a_placeholder(self):
        st = viewmodel.places_state(list(reversed(PLACES)))
        assert st.rows[0].startswith("Home (p1): 20 visits") and st.rows[1].startswith("Work") and not st.placeholder
        assert "not available yet" in viewmodel.places_state(None).placeholder

    @pytest.mark.parametrize("name", ["moments", "segments", "driving"])
    def test_features_the_sdk_lacks_say_not_available_yet(self, name):
        st = viewmodel.feature_state(name, None)
        assert st.rows == [] and "not available yet" in st.placeholder

    def test_feature_rows_from_records(self):
        seg = types.SimpleNamespace(text="early riser: on 9 of the last 10 weekdays you left home before 7:00")
        assert viewmodel.feature_state("segments", [seg]).rows == [seg.text]


class TestAppModel:
    def test_nothing_starts_without_consent(self, tmp_path):
        m, calls = _model(tmp_path)
        assert m.needs_consent and m.backend is None
        with pytest.raises(ConsentRequired):
            m.start()
        assert calls == [] and m.now().mode_text == "Waiting for sensor data"

    def test_accept_starts_and_revoke_stops_and_erases(self, tmp_path):
        backend = FakeBackend({DAY: _day_view()}, PLACES)
        m, calls = _model(tmp_path, backend)
        m.accept()
        assert calls == [1] and backend.started == 1 and not m.needs_consent
        assert m.now().mode_text == "Walk · 93 %"
        bar = m.timeline.refresh()[0]
        m.timeline.correct(bar, "work")
        m.revoke()
        assert m.needs_consent and backend.closed == 1 and backend.erased and m.backend is None
        assert m.corrections.all() == []
        assert AppModel(lambda: backend, tmp_path).needs_consent  # remembered across restarts

    def test_a_source_that_cannot_run_here_is_explained(self, tmp_path):
        from momentsense.sdk.sources import SensorUnavailableError

        def factory():
            raise SensorUnavailableError("no phone sensors on this platform; use source='simulate'")

        m = AppModel(factory, tmp_path)
        m.consent.grant()
        assert not m.start() and "simulate" in m.now().status_text

    def test_places_and_placeholders_through_the_model(self, tmp_path):
        m, _ = _model(tmp_path)
        assert "not available yet" in m.places().placeholder  # before consent: no backend
        m.accept()
        assert len(m.places().rows) == 2 and "not available yet" in m.feature("moments").placeholder


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


def test_service_senses_only_with_consent_and_writes_the_store(tmp_path):
    """The foreground service's loop on a desktop: no consent → nothing; consent → events and context stored."""
    import service

    legs = [("still", 120), ("walk", 240), ("still", 120)]
    assert service.run("simulate", tmp_path, seconds=5, speed=0, period_s=0.05, legs=legs) == 0
    bridge.Consent(tmp_path).grant()
    n = service.run("simulate", tmp_path, seconds=30, speed=0, period_s=0.05, legs=legs)
    store = EventStore(tmp_path / "journeys-events.sqlite")
    assert n > 0 and len(store.events()) == n and "walk" in [e["mode"] for e in store.events()]
    assert store.get("context")["running"] is False and len(store.get("samples")["acc_t"]) > 0
    be = bridge.ServiceBackend(store, 0.0, tmp_path / "timeline.db")
    day = bridge.local_day(store.events()[0]["start"], 0.0)
    assert len(be.day(day).events) == n and be.context().events == n
    be._sdk_store() and be._sdk_store().close()


def test_android_glue_with_fake_modules(monkeypatch):
    """Starting/stopping the service and asking permissions, with fake jnius/android modules."""
    from journeys import android

    calls = []

    class Service:
        @staticmethod
        def start(*a):
            calls.append(("start", a))

        @staticmethod
        def stop(*a):
            calls.append(("stop", a))

    activity = object()
    classes = {"org.kivy.android.PythonActivity": types.SimpleNamespace(mActivity=activity), android.SERVICE_CLASS: Service}
    monkeypatch.setitem(sys.modules, "jnius", types.SimpleNamespace(autoclass=classes.__getitem__))
    granted = set()
    perms = types.SimpleNamespace(check_permission=lambda p: p in granted,
                                  request_permissions=lambda ps, cb=None: (calls.append(("ask", tuple(ps))), granted.update(ps), cb and cb(ps, [True] * len(ps))))  # fmt: skip
    monkeypatch.setitem(sys.modules, "android", types.SimpleNamespace(permissions=perms))
    monkeypatch.setitem(sys.modules, "android.permissions", perms)
    android.start_service()
    android.stop_service()
    assert calls[0][0] == "start" and calls[0][1][0] is activity and calls[1] == ("stop", (activity,))
    android.request_permissions()
    assert calls[2] == ("ask", android.FOREGROUND_PERMISSIONS) and calls[3] == ("ask", android.BACKGROUND_PERMISSIONS)


# -- headless UI -------------------------------------------------------------------------------------

UI_LEGS = "still:1800,walk:600,bus:1500,walk:300,still:3600,walk:600,car:1200,still:1800"
SHOTS = ROOT / "ci-artifacts" / "app-screenshots"


def _start_xvfb():
    """Start Xvfb on a free display; returns (process, display) or (None, None) without Xvfb."""
    exe = shutil.which("Xvfb")
    if exe is None:
        return None, None
    r, w = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(w), "-screen", "0", "1024x900x24", "-nolisten", "tcp"], pass_fds=(w,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(w)
    with os.fdopen(r) as f:
        num = f.readline().strip()
    if not num:
        proc.kill()
        return None, None
    return proc, f":{num}"


def test_ui_walkthrough_headless(tmp_path):
    """consent → now → timeline → correct an item → settings/revoke, with screenshots and widget-tree checks."""
    pytest.importorskip("kivy", reason="Kivy is not installed (pip install -e .[app]); the UI test needs it")
    env = dict(os.environ, KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_HOME=str(tmp_path / "kivy"))
    xvfb, display = _start_xvfb()
    if display:
        env["DISPLAY"] = display
    else:  # platform-notes.md: SDL2 falls back to an offscreen driver; screenshots are identical
        env.pop("DISPLAY", None)
        env["SDL_VIDEODRIVER"] = "offscreen"
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, __file__, "--ui-driver", str(SHOTS), str(tmp_path / "data")], env=env,
                              capture_output=True, text=True, timeout=90)  # fmt: skip
    finally:
        if xvfb is not None:
            xvfb.kill()
            xvfb.wait()
    elapsed = time.monotonic() - t0
    facts_path = SHOTS / "facts.json"
    assert proc.returncode == 0 and facts_path.exists(), f"UI driver failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    facts = json.loads(facts_path.read_text())
    assert facts["display"] == ("xvfb" if display else "offscreen")
    assert facts["start_screen"] == "consent" and facts["backend_before_consent"] is None
    assert facts["mode_label"]["text"] == facts["mode_label"]["expected"]
    assert facts["trace_points"] > 20
    assert facts["n_bars"] == facts["expected_bars"] > 3
    assert facts["swipe_titles"] == facts["swipe_expected"]
    assert facts["correction"]["corrected_label"] == facts["chosen_label"] != facts["correction"]["original_label"]
    assert facts["corrected_bar_label"] == facts["chosen_label"]
    assert facts["after_revoke"] == {"screen": "consent", "needs_consent": True, "corrections": 0}
    assert len(facts["screenshots"]) == 7
    try:
        from PIL import Image
    except ImportError:  # Pillow comes with matplotlib (train extra); without it check the files only
        Image = None
    for name in facts["screenshots"]:
        assert (SHOTS / name).stat().st_size > 2000, f"{name} is suspiciously small"
        if Image is not None:
            img = Image.open(SHOTS / name).convert("RGB")
            assert img.size[0] >= 400 and len(img.getcolors(1 << 20) or range(1000)) > 10, f"{name} looks blank"
    assert elapsed < 40, f"UI test took {elapsed:.1f} s"


def _ui_driver(out_dir: str, data_dir: str) -> None:  # noqa: C901 - a script of steps
    """Run the app and drive it (in a subprocess); write screenshots and facts.json to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    import main as app_main

    args = app_main.parse_args(["--source", "simulate", "--speed", "0", "--legs", UI_LEGS, "--data-dir", data_dir, "--tz-offset-s", "0",
                                "--keep-sim-time"])  # the simulator's clock starts 22:13 UTC: the itinerary spans two days
    from kivy.config import Config

    Config.set("graphics", "width", "480")
    Config.set("graphics", "height", "860")
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.tests.common import UnitTestTouch

    from journeys.ui import JourneysApp

    app = JourneysApp(app_main.build_model(args))
    facts = {"screenshots": [], "display": "xvfb" if os.environ.get("DISPLAY") else "offscreen"}
    state = {"pending_shot": None, "wait_until": 0.0}

    def shot(name):
        state["pending_shot"] = name

        def on_flip(*_):
            Window.unbind(on_flip=on_flip)
            written = Window.screenshot(name=str(out / f"{name}.png"))  # Kivy inserts a counter: name0001.png
            final = out / f"{name}.png"
            os.replace(written, final)
            facts["screenshots"].append(final.name)
            state["pending_shot"] = None

        Window.bind(on_flip=on_flip)
        Window.canvas.ask_update()

    def steps():
        m = app.model
        yield 0.8  # let the first frames draw
        facts["start_screen"] = app.sm.current
        facts["backend_before_consent"] = None if m.backend is None else "started"
        assert app.nav.disabled
        shot("1-consent")
        yield 0.3
        app.consent_screen.accept_button.dispatch("on_release")
        assert app.sm.current == "now" and m.backend is not None
        deadline = time.monotonic() + 20
        while m.backend.context().mode is None and time.monotonic() < deadline:
            yield 0.02
        assert m.backend.pause(True), "the SDK did not wait for the paused source"
        yield 0.5  # a few refresh ticks while the SDK's context stands still
        ctx = m.backend.context()
        assert ctx.mode is not None, "no transport mode within 20 s"
        facts["mode_label"] = {"text": app.now_screen.mode_label.text, "expected": f"{ctx.mode.capitalize()} · {ctx.confidence * 100:.0f} %"}
        facts["trace_points"] = app.now_screen.acc_view.n_points
        shot("2-now")
        yield 0.3
        m.backend.pause(False)
        m.backend.sdk.wait(20)  # the simulated itinerary ends (speed 0)
        app.nav_buttons["timeline"].dispatch("on_release")
        yield 0.5
        sdk_day = m.backend.sdk.timeline(m.timeline.day)
        expected_bars = len(sdk_day) if isinstance(sdk_day, list) else sum(
            len(getattr(sdk_day, k, ())) for k in ("events", "visits", "trips"))
        facts["n_bars"] = len(app.timeline_screen.day_view.bar_widgets)
        facts["expected_bars"] = expected_bars
        shot("3-timeline")
        yield 0.3
        title = app.timeline_screen.title_label.text
        dv = app.timeline_screen.day_view
        for dx in (+200, -200):  # finger to the right: the day before; then back
            touch = UnitTestTouch(dv.center_x - dx / 2, dv.center_y)
            touch.touch_down()
            touch.touch_move(dv.center_x + dx / 2, dv.center_y)
            touch.touch_up()
            yield 0.2
            facts.setdefault("swipe_titles", []).append(app.timeline_screen.title_label.text)
        facts["swipe_expected"] = [(m.timeline.days[-2]).strftime("%A %d %B %Y"), title]
        widest = max((w for w in app.timeline_screen.day_view.bar_widgets if w.bar.kind == "event"), key=lambda w: w.width)
        touch = UnitTestTouch(*widest.center)
        touch.touch_down()
        touch.touch_up()
        yield 0.3
        popup = app.timeline_screen.popup
        assert popup is not None and popup.bar.key == widest.bar.key, "tapping a bar did not open its details"
        chosen = next(o for o in ("bike", "train", "walk") if o != widest.bar.label)
        popup.spinner.text = chosen
        facts["chosen_label"] = chosen
        shot("4-details")
        yield 0.3
        popup.save_button.dispatch("on_release")
        yield 0.3
        stored = m.corrections.all()
        facts["correction"] = stored[-1].to_dict() if stored else None
        facts["corrected_bar_label"] = next(w.bar.label for w in app.timeline_screen.day_view.bar_widgets if w.bar.key == widest.bar.key)
        shot("5-timeline-corrected")
        yield 0.3
        app.nav_buttons["places"].dispatch("on_release")
        yield 0.3
        shot("6-places")
        yield 0.3
        app.nav_buttons["settings"].dispatch("on_release")
        yield 0.3
        shot("7-settings")
        yield 0.3
        app.settings_screen.revoke_button.dispatch("on_release")
        yield 0.3
        facts["after_revoke"] = {"screen": app.sm.current, "needs_consent": m.needs_consent, "corrections": len(m.corrections.all())}
        (out / "facts.json").write_text(json.dumps(facts, indent=1, default=str))
        app.stop()

    gen = steps()

    def tick(_dt):
        if state["pending_shot"] or time.monotonic() < state["wait_until"]:
            return
        try:
            state["wait_until"] = time.monotonic() + next(gen)
        except StopIteration:
            return False
        except BaseException:
            import traceback

            traceback.print_exc()
            app.stop()
            os._exit(3)

    Clock.schedule_interval(tick, 0.02)
    Clock.schedule_once(lambda *_: (print("UI driver timed out", file=sys.stderr), os._exit(4)), 60)
    app.run()


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--ui-driver":
    sys.path.insert(0, str(ROOT))
    _ui_driver(sys.argv[2], sys.argv[3])
