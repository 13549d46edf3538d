"""MomentSDK: start/stop, callbacks on their own thread, context, timeline, sources, bad input."""

import datetime
import threading

import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.sources import SensorUnavailableError, plyer_source

LEGS = [("still", 120), ("walk", 240), ("still", 120)]


def test_simulated_session_emits_events_through_callbacks():
    """Events reach the callback on the dispatcher thread, not the pipeline thread; context reflects them."""
    seen, threads = [], set()

    def cb(e):
        seen.append(e)
        threads.add(threading.current_thread().name)

    with MomentSDK(SDKConfig(simulate_legs=LEGS, seed=3)) as sdk:
        sdk.on_event(cb)
        sdk.start()
        assert sdk.wait(60)
        sdk.stop()
        assert seen and seen == sdk.events()
        assert threads == {"momentsense-dispatch"}
        assert "walk" in [e.mode for e in seen]
        ctx = sdk.current_context()
        assert ctx.events == len(seen) and not ctx.running and ctx.last_fix is not None
        day = datetime.datetime.fromtimestamp(seen[0].start, datetime.timezone.utc).date()
        assert list(sdk.timeline(day).events) == seen  # the store holds what the callbacks saw


def test_a_failing_callback_does_not_stop_sensing():
    """An exception in app code is counted and logged; the other callbacks still run."""
    ok = []

    def bad(e):
        raise RuntimeError("app bug")

    sdk = MomentSDK(SDKConfig(simulate_legs=LEGS, seed=3))
    sdk.on_event(bad)
    sdk.on_event(ok.append)
    sdk.start()
    sdk.wait(60)
    sdk.stop()
    assert ok and sdk.callback_errors == len(ok) and sdk.error is None


def test_stop_is_prompt_and_idempotent():
    """Stopping a real-time session returns within a second and can be called twice."""
    import time

    sdk = MomentSDK(SDKConfig(simulate_legs=[("walk", 3600)], speed=1.0))
    sdk.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    sdk.stop()
    sdk.stop()
    assert time.monotonic() - t0 < 1.5 and not sdk.current_context().running


def test_phone_source_on_a_desktop_says_what_to_use():
    with pytest.raises(SensorUnavailableError, match="simulate"):
        plyer_source()


@pytest.mark.parametrize("kwargs,msg", [({"source": "camera"}, "source must be"), ({"source": "replay"}, "replay_path"), ({"speed": -1}, "speed")])
def test_config_fails_with_bad_options(kwargs, msg):
    with pytest.raises(InputError, match=msg):
        SDKConfig(**kwargs)


def test_callback_must_be_callable():
    with pytest.raises(InputError, match="callable"):
        MomentSDK(SDKConfig(simulate_legs=LEGS)).on_event("not a function")


def test_replay_source_runs_a_file(tmp_path):
    from momentsense.sdk.io.imu_file import write_imu
    from momentsense.sdk.sim import simulate_dataset

    path = write_imu(tmp_path / "r.h5", simulate_dataset(1, 6, seed=2))
    sdk = MomentSDK(SDKConfig(source="replay", replay_path=str(path)))
    sdk.start()
    assert sdk.wait(60)
    assert sdk.events() and sdk.error is None


# -- places, trips and the timeline store (GPS) --------------------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402

from momentsense.sdk.sources import SensorChunk  # noqa: E402
from momentsense.sdk.timeline.geo import from_local_m, haversine_m  # noqa: E402
from momentsense.sdk.timeline.records import TransportEvent  # noqa: E402
from momentsense.sdk.timeline.records import GpsFix  # noqa: E402

LAT0, LON0 = 48.8566, 2.3522
CET = 3600.0
MONDAY_LOCAL = 1_699_833_600.0 - CET  # 2023-11-13 00:00 in UTC+1
PLANTED = {"home": (0.0, 0.0), "work": (3000.0, 2000.0), "cafe": (3300.0, 2250.0)}
#: (local hour, where): the person is at the place from this hour until moving to the next one.
WAYPOINTS = [(0.0, "home"), (7.5, "home"), (7.85, "work"), (12.0, "work"), (12.08, "cafe"), (12.8, "cafe"),
             (12.88, "work"), (17.5, "work"), (17.9, "home"), (24.0, "home")]


def planted_day_fixes(day0: float, seed: int) -> list:
    """One weekday of 1 Hz fixes (UTC+1 day starting at ``day0``): stays indoors (25 % of fixes,
    20 m error), moves outdoors (8 m error), straight lines between the planted places. The error
    is correlated over ~20 s, as a receiver's is."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 86400.0)
    hours = [h * 3600.0 for h, _ in WAYPOINTS]
    x = np.interp(t, hours, [PLANTED[w][0] for _, w in WAYPOINTS])
    y = np.interp(t, hours, [PLANTED[w][1] for _, w in WAYPOINTS])
    moving = np.zeros(t.size, bool)
    for (h0, a), (h1, b) in zip(WAYPOINTS[:-1], WAYPOINTS[1:]):
        if a != b:
            moving[(t >= h0 * 3600) & (t < h1 * 3600)] = True
    sd = np.where(moving, 8.0, 20.0)
    keep = moving | (rng.random(t.size) < 0.25)
    rho = math.exp(-1.0 / 20.0)
    ex, ey = (lfilter([math.sqrt(1 - rho**2)], [1.0, -rho], rng.normal(0, 1, t.size)) * sd for _ in range(2))
    lat, lon = from_local_m(x + ex, y + ey, LAT0, LON0)
    acc = np.where(moving, 10.0, 30.0)
    return [GpsFix(day0 + a, b, c, d) for a, b, c, d, k in zip(t, lat, lon, acc, keep) if k]


def gps_chunks(fixes: list, chunk_s: float = 10.0):
    """GPS-only sensor chunks (no IMU samples), ``chunk_s`` seconds each."""
    e = np.zeros((0, 3), np.float32)
    i = 0
    while i < len(fixes):
        t_end = fixes[i].t - (fixes[i].t % chunk_s) + chunk_s
        j = i
        while j < len(fixes) and (isinstance(fixes[j], tuple) or fixes[j].t < t_end or math.isnan(fixes[j].t)):
            j += 1
        yield SensorChunk(np.zeros(0), e, None, e, fixes[i:max(j, i + 1)])
        i = max(j, i + 1)


def near(place, name, tol_m=60.0) -> bool:
    lat, lon = from_local_m(np.array([PLANTED[name][0]]), np.array([PLANTED[name][1]]), LAT0, LON0)
    return float(haversine_m(place.lat, place.lon, lat[0], lon[0])) < tol_m


def inject_bad_fixes(fixes: list) -> tuple[list, dict]:
    """Bad GPS in the middle of a day: NaN, out of range, not a fix, huge accuracy, going back in
    time, isolated teleports 50 km away. Returns the fixes and how many of each were added."""
    out = list(fixes)
    mid = len(out) // 2
    t = out[mid].t
    lat, lon = out[mid].lat, out[mid].lon
    bad = [GpsFix(t + 0.1, math.nan, lon), GpsFix(t + 0.2, lat, math.inf), GpsFix(t + 0.3, 95.0, lon), ("not", "a fix"),
           GpsFix(t + 0.4, lat, lon, 5000.0), GpsFix(t + 0.5, lat, lon, 1e9)]
    back = [GpsFix(t - 30.0, lat, lon, 10.0), GpsFix(t - 20.0, lat, lon, 10.0)]
    out[mid + 1:mid + 1] = bad + back
    for k in (len(out) // 3, 2 * len(out) // 3):  # one fix jumps 50 km away and back
        f = out[k]
        out[k] = GpsFix(f.t, f.lat + 0.45, f.lon, 5.0)
    return out, {"dropped_invalid": 4, "dropped_inaccurate": 2, "dropped_backwards": 2, "teleports": 2}


class TestPlacesAndTrips:
    def test_two_planted_days_give_labelled_places_visits_and_trips(self, tmp_path):
        """Two weekdays (two app sessions on one store file, bad GPS on day 1): home and work found
        and labelled, the café is 'other', trips link the visits, the context follows the person."""
        path = str(tmp_path / "timeline.db")
        cfg = SDKConfig(store_path=path, tz_offset_s=CET)
        day1, counts = inject_bad_fixes(planted_day_fixes(MONDAY_LOCAL, 1))
        with MomentSDK(cfg) as sdk:
            for chunk in gps_chunks(day1):
                sdk.feed(chunk)
            sdk.finish()
            gps = sdk.stats()["gps"]
            home1 = [p.place_id for p in sdk.places("home")]
        for k in ("dropped_invalid", "dropped_inaccurate", "dropped_backwards"):
            assert gps[k] == counts[k], k
        assert counts["teleports"] <= gps["dropped_teleport"] <= counts["teleports"] + 2 and gps["errors"] == 0
        with MomentSDK(cfg) as sdk:  # next day, new session, same file
            ctx_commute = ctx_work = None
            for chunk in gps_chunks(planted_day_fixes(MONDAY_LOCAL + 86400, 2)):
                sdk.feed(chunk)
                h = (chunk.gps[-1].t - MONDAY_LOCAL - 86400) / 3600.0
                if ctx_commute is None and h >= 7.7:
                    ctx_commute = sdk.current_context()
                if ctx_work is None and h >= 10.0:
                    ctx_work = sdk.current_context()
            sdk.finish()
            places = sdk.places()
            tl = sdk.timeline(datetime.date(2023, 11, 14))
        by_label = {p.label: p for p in places}
        assert len(places) == 3 and set(by_label) == {"home", "work", "other"}
        assert near(by_label["home"], "home") and near(by_label["work"], "work") and near(by_label["other"], "cafe")
        assert [by_label["home"].place_id] == home1  # ids survive the restart
        assert by_label["home"].label_confidence > 0.5 and by_label["work"].label_confidence > 0.5
        assert all(near(p, "home", 5000) for p in places)  # none at the teleports, 50 km away
        name = {by_label[k].place_id: n for k, n in (("home", "home"), ("work", "work"), ("other", "cafe"))}
        assert [name[v.place_id] for v in tl.visits] == ["home", "work", "cafe", "work", "home"]
        night = tl.visits[0]  # Monday evening to Tuesday morning: one visit across the two sessions
        assert night.start < tl.start_s - 5 * 3600 and night.end > tl.start_s + 7 * 3600
        trips = [(name[t.origin_place_id], name[t.destination_place_id]) for t in tl.trips]
        assert trips == [("home", "work"), ("work", "cafe"), ("cafe", "work"), ("work", "home")]
        commute = tl.trips[0]
        assert commute.distance_m == pytest.approx(math.hypot(3000, 2000), rel=0.15)
        assert commute.start == pytest.approx(MONDAY_LOCAL + 86400 + 7.5 * 3600, abs=120)
        visit_ends = {v.end for v in tl.visits}
        assert all(t.start in visit_ends for t in tl.trips)
        assert ctx_commute.place is None and ctx_commute.trip_in_progress.origin_place_id == by_label["home"].place_id
        assert ctx_work.place.place_id == by_label["work"].place_id and ctx_work.trip_in_progress is None

    def test_gps_processing_errors_never_stop_sensing(self, monkeypatch):
        """A stage that raises on GPS is counted and logged; the IMU side keeps producing events."""
        import momentsense.sdk.timeline.live as live

        def boom(*a, **k):
            raise RuntimeError("bug in a stage")

        monkeypatch.setattr(live, "stay_point_step", boom)
        sdk = MomentSDK(SDKConfig(simulate_legs=LEGS, seed=3, timeline=live.TimelineOptions(gps_batch_s=0)))
        sdk.start()
        assert sdk.wait(60)
        sdk.close()
        assert sdk.error is None and sdk.events() and sdk.stats()["gps"]["errors"] > 0

    def test_a_long_stay_streams_in_linear_time(self):
        """Eight hours at one place, 1 Hz, fed in 10 s chunks: the stay detector resumes its scan
        instead of rescanning the whole stay each time (stay_points.StayPointState.scan_from)."""
        import time

        from momentsense.sdk.timeline.live import LiveTimeline
        from momentsense.sdk.timeline.store import TimelineStore

        live = LiveTimeline(TimelineStore(), tz_offset_s=0.0)
        fixes = planted_day_fixes(MONDAY_LOCAL, 0)[:8 * 3600]  # the night at home, 25 % of seconds
        t0 = time.process_time()
        for chunk in gps_chunks(fixes):
            live.add_fixes(chunk.gps)
        assert live.current_place() is not None and live._sp.scan_from > 1000
        assert time.process_time() - t0 < 3.0

    def test_a_stay_split_by_a_gps_burst_stays_one_visit(self):
        """A minute of fixes 150 m off in the middle of a stay (indoor multipath) ends the stay point,
        but the stay after it extends the same visit (version 2), with no trip in between."""
        from momentsense.sdk.timeline.live import LiveTimeline
        from momentsense.sdk.timeline.store import TimelineStore, item_id

        def at(t0, n, x):
            lat, lon = from_local_m(np.full(n, float(x)), np.zeros(n), LAT0, LON0)
            return [GpsFix(MONDAY_LOCAL + t0 + i, a, b, 10.0) for i, (a, b) in enumerate(zip(lat, lon))]

        store = TimelineStore()
        live = LiveTimeline(store)
        fixes = at(0, 1200, 0) + at(1200, 60, 150) + at(1260, 1200, 0) + at(2460, 600, 3000) + at(3060, 900, 3000)
        for chunk in gps_chunks(fixes):
            live.add_fixes(chunk.gps)
        live.finish()
        visits = store.visits()
        assert [round(v.end - v.start) for v in visits][0] == 2459 and len(visits) == 2
        assert [h.version for h in store.history("visit", item_id(visits[0]))] == [1, 2]
        assert live.stats.visits_merged == 1 and len(store.trips()) == 1
        assert store.places()[0].n_visits == 1 and store.places()[0].total_dwell_s == 2459

    @pytest.mark.parametrize("gap_mode, merged", [("still", True), ("walk blip", True), ("still, not closed yet", True), ("walk", False), (None, False)])
    def test_a_long_gps_burst_while_the_phone_lies_still_stays_one_visit(self, gap_mode, merged):
        """Fixes drifting 150-850 m off for 8 minutes (longer than merge_gap_s) in a stay. If the
        transport detector saw only still meanwhile, it is one visit and no home → home trip; if it
        saw walking (a real round trip), or nothing (IMU off), it is two visits and a trip."""
        from momentsense.sdk.timeline.live import LiveTimeline
        from momentsense.sdk.timeline.store import TimelineStore

        def at(t0, n, x):
            lat, lon = from_local_m(np.full(n, float(x)), np.zeros(n), LAT0, LON0)
            return [GpsFix(MONDAY_LOCAL + t0 + i, a, b, 10.0) for i, (a, b) in enumerate(zip(lat, lon))]

        store = TimelineStore()
        live = LiveTimeline(store)
        if gap_mode == "walk blip":  # 12 s of walking to the kitchen inside the gap: not a trip
            live.add_events([TransportEvent(MONDAY_LOCAL, MONDAY_LOCAL + 1400, "still", 0.9),
                             TransportEvent(MONDAY_LOCAL + 1400, MONDAY_LOCAL + 1412, "walk", 0.9),
                             TransportEvent(MONDAY_LOCAL + 1412, MONDAY_LOCAL + 3000, "still", 0.9)])
        elif gap_mode == "still, not closed yet":  # the detector's still event is still open
            live.set_open_event(("still", MONDAY_LOCAL))
        elif gap_mode:
            live.add_events([TransportEvent(MONDAY_LOCAL, MONDAY_LOCAL + 1200, "still", 0.9),
                             TransportEvent(MONDAY_LOCAL + 1200, MONDAY_LOCAL + 1680, gap_mode, 0.9),
                             TransportEvent(MONDAY_LOCAL + 1680, MONDAY_LOCAL + 3000, "still", 0.9)])
        burst = [f for k in range(48) for f in at(1200 + 10 * k, 10, 150 + 15 * k)]  # drifting: no stay forms
        for chunk in gps_chunks(at(0, 1200, 0) + burst + at(1680, 1320, 0)):
            live.add_fixes(chunk.gps)
        live.finish()
        assert (len(store.visits()), len(store.trips())) == ((1, 0) if merged else (2, 1))

    def test_the_detector_hears_that_gps_stays_at_a_place(self):
        """After 5 min of fixes at one spot the stay is recognised and the transport detector is told
        (vehicle modes damped); an hour without any fix (a deep room) keeps it there; fixes 3 km
        away end it."""
        lat, lon = from_local_m(np.zeros(420), np.zeros(420), LAT0, LON0)
        fixes = [GpsFix(MONDAY_LOCAL + i, a, b, 10.0) for i, (a, b) in enumerate(zip(lat, lon))]
        e = np.zeros((0, 3), np.float32)
        with MomentSDK(SDKConfig()) as sdk:
            seen = []
            for chunk in gps_chunks(fixes):
                sdk.feed(chunk)
                seen.append(sdk.detector._at_place)
            assert not seen[0] and seen[-1] and sdk.current_context().place is not None
            t = MONDAY_LOCAL + 419 + 3600
            sdk.feed(SensorChunk(np.array([t]), np.array([[0, 0, 9.81]], np.float32), np.zeros(0), e, []))
            assert sdk.detector._at_place, "no fix since: still at the place"
            far_lat, far_lon = from_local_m(np.full(300, 3000.0), np.zeros(300), LAT0, LON0)
            away = [GpsFix(t + 1 + i, a, b, 10.0) for i, (a, b) in enumerate(zip(far_lat, far_lon))]
            for chunk in gps_chunks(away):
                sdk.feed(chunk)
            sdk.feed(SensorChunk(np.array([t + 302]), np.array([[0, 0, 9.81]], np.float32), np.zeros(0), e, []))
            assert not sdk.detector._at_place, "fixes elsewhere: left the place"

    def test_commuter_day_through_the_simulator(self):
        """The first 13 h of a simulated commuter day (IMU + GPS: night, commute, work, lunch, work)
        at full speed: places with home labelled, trips between stored visits carrying detected
        modes, all in the day's timeline."""
        from momentsense.sdk.sim.day import commuter_day

        legs = commuter_day(np.random.default_rng(1), hours=13.0)
        cfg = SDKConfig(simulate_legs=legs, seed=1, tz_offset_s=6400.0)  # the day starts at local midnight
        with MomentSDK(cfg) as sdk:
            sdk.start()
            assert sdk.wait(120) and sdk.error is None
            places, visits, trips = sdk.places(), sdk.store.visits(), sdk.store.trips()
            tl = sdk.timeline(datetime.date(2023, 11, 15))
            stats = sdk.stats()
        assert len(places) >= 2 and [p.label for p in places].count("home") == 1
        ids = {p.place_id for p in places}
        assert trips and any(t.modes for t in trips)
        for t in trips:
            assert t.origin_place_id in ids and t.destination_place_id in ids and t.distance_m > 0
            assert any(v.end == t.start and v.place_id == t.origin_place_id for v in visits)
            assert any(v.start == t.end and v.place_id == t.destination_place_id for v in visits)
        assert set(tl.trips) == set(trips) and tl.events and stats["gps"]["errors"] == 0


def test_timeline_config_fails_with_bad_values():
    with pytest.raises(InputError, match="tz_offset_s"):
        SDKConfig(tz_offset_s=20 * 3600)
    with pytest.raises(InputError, match="retention_days"):
        SDKConfig(retention_days=-1)


def test_feed_is_refused_while_sensing_runs():
    sdk = MomentSDK(SDKConfig(simulate_legs=[("walk", 3600)], speed=1.0))
    sdk.start()
    try:
        with pytest.raises(InputError, match="stop"):
            sdk.feed(next(gps_chunks(planted_day_fixes(MONDAY_LOCAL, 0)[:5])))
    finally:
        sdk.close()


def test_a_corrupt_store_file_is_refused_with_its_name(tmp_path):
    """The SDK does not start on a damaged timeline file, and leaves it as it was."""
    from momentsense.sdk.timeline.store import StoreError

    path = tmp_path / "timeline.db"
    path.write_bytes(b"definitely not SQLite" * 100)
    with pytest.raises(StoreError, match="timeline.db"):
        MomentSDK(SDKConfig(store_path=str(path)))
    assert path.read_bytes() == b"definitely not SQLite" * 100


def test_timeline_options_round_trip_and_validate():
    from momentsense.sdk.timeline.live import TimelineOptions
    from momentsense.sdk.timeline.stay_points import StayPointParams

    opts = TimelineOptions(stay=StayPointParams(dist_threshold_m=80.0), label_window_days=14.0)
    assert TimelineOptions.from_dict(opts.to_dict()) == opts
    with pytest.raises(ValueError, match="place_radius_m"):
        TimelineOptions(place_radius_m=0)
    with pytest.raises(TypeError, match="StayPointParams"):
        TimelineOptions(stay={"dist_threshold_m": 80.0})


def test_the_context_head_runs_by_default_and_can_be_switched_off():
    on = MomentSDK(SDKConfig())
    off = MomentSDK(SDKConfig(transport_context=False))
    try:
        assert on.detector.context is not None and off.detector.context is None
    finally:
        on.close()
        off.close()
