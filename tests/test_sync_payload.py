"""The day payload: every field walked, nothing finer than allowed; size vs raw sensor bytes."""

import gzip
import json
import math
import re

import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync.payload import (
    SyncDay, MomentSpan, PayloadOptions, build_day_payload, event_id, load_or_create_salt, place_token, split_days,
)  # fmt: skip
from momentsense.sdk.timeline.records import DrivingScore, Trip, Visit
from momentsense.sdk.io.timeline_file import MOMENTS, PLACE_CATEGORIES
from momentsense.sdk.records import TRANSPORT_MODES

SALT = bytes(range(32))
#: Bytes per sample of the raw streams as stored in momentsense-imu-v1 (docs/formats.md):
#: IMU t float64 + acc 3×float32 + gyro 3×float32; GPS t, lat, lon float64 + accuracy, speed float32.
IMU_SAMPLE_BYTES = 8 + 12 + 12
GPS_FIX_BYTES = 8 + 8 + 8 + 4 + 4


@pytest.fixture(scope="module")
def sim_day():
    """One simulated weekday through the real timeline stages (stay points, places, trips)."""
    from momentsense.sdk.timeline.places import cluster_places, label_home_work
    from momentsense.sdk.timeline.stay_points import detect_stay_points
    from momentsense.sdk.timeline.trips import build_trips
    from momentsense.trainer.eval_places import simulate_days

    sim = simulate_days(1, seed=3)
    stays, _ = detect_stay_points(sim.fixes)
    places, visits = cluster_places(stays)
    places = label_home_work(places, visits)
    trips = build_trips(visits, sim.fixes, sim.transport_events())
    moments = [MomentSpan(t.start, t.end, MOMENTS[i % len(MOMENTS)]) for i, t in enumerate(trips)]
    scores = [DrivingScore(t.start, t.end, 83.4172, 2.3456, t.distance_m, {"harsh_braking": 1, "speeding": 2})
              for t in trips if "car" in t.modes or "bus" in t.modes]  # fmt: skip
    return sim, places, visits, trips, moments, scores


def _day(sim_day, **kw):
    sim, places, visits, trips, moments, scores = sim_day
    days = split_days(visits, trips, moments, scores, places=places, segments={"commuter": 0.8312, "Bad Name": 1.0}, **kw)
    return days


def walk_payload(p: dict, raw_place_ids: set, raw_coords: list, grid_deg=None) -> list:
    """Independent checker: returns every field finer than allowed (empty list = clean)."""
    bad = []
    rounding = p.get("time_rounding_s")
    if not isinstance(rounding, int) or rounding < 60:
        bad.append(f"time_rounding_s {rounding!r}")
        rounding = 1
    allowed = {
        "": {"format", "day", "revision", "time_rounding_s", "grid_deg", "visits", "trips", "moments", "segments", "driving"},
        "visits": {"id", "start", "end", "duration_s", "place", "category"} | ({"cell"} if grid_deg else set()),
        "trips": {"id", "start", "end", "duration_s", "origin", "destination", "modes", "distance_m"},
        "moments": {"id", "start", "end", "moment"},
        "driving": {"id", "trip_start", "trip_end", "score", "events_per_100km", "distance_m", "counts"},
    }

    def check_str(path, s):
        if s in raw_place_ids:
            bad.append(f"{path}: raw place id {s!r}")
        if re.search(r"\d+\.\d{3,}", s):
            bad.append(f"{path}: string with a fine number {s!r}")

    def check_num(path, key, v):
        if isinstance(v, bool):
            return
        if isinstance(v, float) and not math.isfinite(v):
            bad.append(f"{path}: non-finite")
            return
        if key in ("start", "end", "trip_start", "trip_end"):
            if not isinstance(v, int) or v % rounding:
                bad.append(f"{path}: time {v!r} not a multiple of {rounding} s")
        elif key == "duration_s":
            if not isinstance(v, int) or v % 60:
                bad.append(f"{path}: duration {v!r} not whole minutes")
        elif key == "distance_m":
            if not isinstance(v, int) or v % 100:
                bad.append(f"{path}: distance {v!r} not a multiple of 100 m")
        elif key in ("score", "revision", "time_rounding_s") or path.startswith("driving") and ".counts." in path:
            if not isinstance(v, int):
                bad.append(f"{path}: {v!r} should be an int")
        elif key == "events_per_100km":
            if round(v, 1) != v:
                bad.append(f"{path}: rate {v!r} finer than 0.1")
        elif path.startswith("segments."):
            if not 0 <= v <= 1 or round(v, 2) != v:
                bad.append(f"{path}: segment score {v!r}")
        elif key == "cell" and grid_deg:
            if abs(v / grid_deg - round(v / grid_deg)) > 1e-6:
                bad.append(f"{path}: cell coordinate {v!r} off the {grid_deg}° grid")
        elif key == "grid_deg" and v == grid_deg:
            pass
        else:
            bad.append(f"{path}: unexpected number {v!r}")
        for lat, lon in raw_coords:
            for c in (lat, lon):
                if isinstance(v, float) and abs(v - c) < 1e-4:
                    bad.append(f"{path}: {v!r} is a raw coordinate")

    def walk(path, key, section, node):
        if isinstance(node, dict):
            for k, v in node.items():
                sec = k if path == "" else section
                walk(f"{path}.{k}".lstrip("."), k, sec, v)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(f"{path}[{i}]", key, section, v)
        elif isinstance(node, str):
            check_str(path, node)
        elif isinstance(node, (int, float)):
            check_num(path, key, node)
        elif node is not None:
            bad.append(f"{path}: unexpected type {type(node).__name__}")

    walk("", "", "", p)
    for k in set(p) - allowed[""]:
        bad.append(f"unexpected top-level field {k!r}")
    for section in ("visits", "trips", "moments", "driving"):
        for i, rec in enumerate(p.get(section, [])):
            for k in set(rec) - allowed[section]:
                bad.append(f"{section}[{i}]: unexpected field {k!r}")
    for k, v in p.get("driving", [{}])[0].get("counts", {}).items() if p.get("driving") else []:
        if not isinstance(v, int):
            bad.append(f"driving counts {k!r}: {v!r}")
    for v in p.get("visits", []):
        if v["category"] not in PLACE_CATEGORIES:
            bad.append(f"category {v['category']!r}")
        if not re.fullmatch(r"p_[0-9a-f]{16}", v["place"]):
            bad.append(f"place {v['place']!r} is not a salted hash")
    for t in p.get("trips", []):
        if any(m not in TRANSPORT_MODES + ("unknown",) for m in t["modes"]):
            bad.append(f"modes {t['modes']}")
    return bad


class TestBuildDayPayload:
    def test_every_field_of_a_simulated_day_is_coarse(self, sim_day):
        """The walker finds nothing finer than allowed in a real simulated day's payload."""
        sim, places, visits, trips, _, _ = sim_day
        days = _day(sim_day)
        assert len(days) >= 1
        raw_ids = {p.place_id for p in places}
        coords = [(p.lat, p.lon) for p in places] + [(v.lat, v.lon) for v in visits]
        for d in days:
            p = build_day_payload(d, SALT, revision=1)
            assert p["visits"] and walk_payload(p, raw_ids, coords) == []
            text = json.dumps(p)
            assert "lat" not in text and "lon" not in text
        assert sum(len(build_day_payload(d, SALT)["trips"]) for d in days) == len(trips)

    def test_walker_catches_planted_leaks(self, sim_day):
        """Raw coordinates, an exact time, a raw place id and an extra field are each caught."""
        sim, places, visits, *_ = sim_day
        raw_ids = {p.place_id for p in places}
        coords = [(p.lat, p.lon) for p in places]
        good = build_day_payload(_day(sim_day)[0], SALT)
        leaks = [
            lambda p: p["visits"][0].update(lat=places[0].lat),
            lambda p: p["visits"][0].update(start=visits[0].start + 17.0),
            lambda p: p["visits"][0].update(place=places[0].place_id),
            lambda p: p["trips"][0].update(distance_m=1234.5678),
            lambda p: p["segments"].update(x=0.123456),
            lambda p: p["visits"][0].update(note="at 48.85661,2.35217"),
            lambda p: p["visits"][0].update(street="Rue de Rivoli"),
            lambda p: p.update(device="Pixel 8"),
            lambda p: p["trips"][0].update(start=float(p["trips"][0]["start"]) + 0.5),
        ]
        for leak in leaks:
            p = json.loads(json.dumps(good))
            leak(p)
            assert walk_payload(p, raw_ids, coords), leak

    def test_coarse_grid_opt_in(self, sim_day):
        """With a 0.01° grid visits carry cells on the grid, within half a cell of the place."""
        sim, places, visits, *_ = sim_day
        d = _day(sim_day)[0]
        p = build_day_payload(d, SALT, PayloadOptions(coarse_grid_deg=0.01))
        by_id = {place_token(SALT, pl.place_id): pl for pl in places}
        assert walk_payload(p, {pl.place_id for pl in places}, [(pl.lat, pl.lon) for pl in places], 0.01) == []
        for v in p["visits"]:
            pl = by_id[v["place"]]
            assert abs(v["cell"][0] - pl.lat) <= 0.005 + 1e-9 and abs(v["cell"][1] - pl.lon) <= 0.005 + 1e-9

    def test_grid_finer_than_minimum_fails(self):
        """A grid finer than 0.005° is refused."""
        with pytest.raises(InputError, match="coarse_grid_deg"):
            PayloadOptions(coarse_grid_deg=0.0001)

    def test_place_ids_are_stable_per_user_and_differ_between_users(self):
        """Same salt → same token; another salt → another token; the token hides the id."""
        a, b = place_token(SALT, "p0"), place_token(SALT, "p0")
        other = place_token(bytes(32), "p0")
        assert a == b and a != other and "p0" not in a[2:] and re.fullmatch(r"p_[0-9a-f]{16}", a)
        assert event_id(SALT, "visit", 1.0, 2.0) != event_id(SALT, "visit", 1.0, 2.5)

    def test_time_rounding_is_configurable(self):
        """Rounding 3600 s puts every time on the hour."""
        d = SyncDay("2023-11-13", visits=[Visit(1699833600 + 4000.3, 1699833600 + 9100.7, "p0", 48.1, 2.3)])
        p = build_day_payload(d, SALT, PayloadOptions(time_rounding_s=3600))
        v = p["visits"][0]
        assert v["start"] % 3600 == 0 and v["end"] % 3600 == 0 and v["duration_s"] == 5100
        assert v["category"] == "other"

    def test_unknown_vocabulary_is_replaced(self):
        """Free-text modes and categories do not leak into the payload."""
        d = SyncDay("2023-11-13", trips=[Trip(0.0, 600.0, "a", "b", ("walk", "my secret mode"), 1234.0)],
                        place_categories={"a": "Dr Smith's clinic"}, visits=[Visit(0.0, 1.0, "a", 0.0, 0.0)])  # fmt: skip
        p = build_day_payload(d, SALT)
        assert p["trips"][0]["modes"] == ["walk", "unknown"] and p["visits"][0]["category"] == "other"
        assert p["trips"][0]["distance_m"] == 1200

    def test_build_fails_with_bad_input(self):
        """Bad day string, short salt and reversed times are input errors."""
        with pytest.raises(InputError, match="YYYY-MM-DD"):
            build_day_payload(SyncDay("13/11/2023"), SALT)
        with pytest.raises(InputError, match="salt"):
            build_day_payload(SyncDay("2023-11-13"), b"short")
        with pytest.raises(InputError, match="end >= start"):
            build_day_payload(SyncDay("2023-11-13", visits=[Visit(10.0, 5.0, "a", 0, 0)]), SALT)

    def test_empty_day_is_a_valid_payload(self):
        """No records → empty lists, still the right format."""
        p = build_day_payload(SyncDay("2023-11-13"), SALT)
        assert p["visits"] == [] and p["trips"] == [] and p["format"] == "momentsense-sync-day-v1"


class TestSalt:
    def test_salt_is_created_once_and_private(self, tmp_path):
        """The salt file is 32 bytes, mode 0600, and reread unchanged."""
        path = tmp_path / "salt.bin"
        s1 = load_or_create_salt(path)
        assert load_or_create_salt(path) == s1 and len(s1) == 32
        assert (path.stat().st_mode & 0o777) == 0o600


class TestPayloadSize:
    def test_compressed_payload_is_tiny_next_to_raw_sensor_bytes(self, sim_day):
        """gzip payload bytes of the simulated day < 0.1 % of its raw 25 Hz IMU + 1 Hz GPS bytes."""
        sim = sim_day[0]
        d = _day(sim_day)[0]
        body = gzip.compress(json.dumps(build_day_payload(d, SALT), separators=(",", ":")).encode())
        raw = 86400 * 25 * IMU_SAMPLE_BYTES + len(sim.fixes["t"]) * GPS_FIX_BYTES
        print(f"payload gzip bytes/day={len(body)} raw bytes/day={raw} ratio={len(body) / raw:.2e}")
        assert len(body) < 1e-3 * raw


class TestSyncDayFromStore:
    def test_store_day_records_belong_to_the_day_they_start(self, tmp_path):
        """A night at home overlapping two store days is uploaded once, with the day it started."""
        import datetime

        from momentsense.sdk.sync.payload import sync_day_from_store
        from momentsense.sdk.timeline.store import TimelineStore

        t0 = 1699833600.0  # 2023-11-13 00:00 UTC
        store = TimelineStore(tmp_path / "store.sqlite")
        store.write([Visit(t0 - 3600 * 6, t0 + 3600 * 7, "p0", 48.8, 2.3), Visit(t0 + 3600 * 8, t0 + 3600 * 17, "p1", 48.9, 2.4),
                     Trip(t0 + 3600 * 7, t0 + 3600 * 8, "p0", "p1", ("bus",), 5000.0)])  # fmt: skip
        d12 = sync_day_from_store(store.timeline(datetime.date(2023, 11, 12)))
        d13 = sync_day_from_store(store.timeline(datetime.date(2023, 11, 13)))
        assert len(d12.visits) == 1 and len(d13.visits) == 1 and len(d13.trips) == 1 and d13.day == "2023-11-13"
        p = build_day_payload(d13, SALT)
        assert [v["category"] for v in p["visits"]] == ["other"] and p["trips"][0]["distance_m"] == 5000
