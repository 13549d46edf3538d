"""Journeys' day (examples/app): stay/trip cards, the 24-hour strip's tap targets, the legend, the map,
the corrections a person can make, and their sync behind consent; plain Python, no window."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from journeys import day, daymap  # noqa: E402
from journeys import sync as jsync  # noqa: E402
from journeys.bridge import DayView  # noqa: E402
from journeys.dayvm import DayVM  # noqa: E402
from journeys.stores import CorrectionStore, feedback_items  # noqa: E402
from momentsense.sdk.timeline.records import Place, Trip, Visit  # noqa: E402
from test_app import DAY, HOUR, PLACES, T0, FakeBackend, sample_day  # noqa: E402


# -- the day: cards, strip, legend, map --------------------------------------------------------------

HUMAN_BAD = ("p1", "p2", "{", "p=", "/tmp", "_", "None")


def _assert_human(texts):
    for t in texts:
        for bad in HUMAN_BAD:
            assert bad not in t, f"{bad!r} shown to the user in {t!r}"


class TestCards:
    def test_stays_and_trips_become_cards_newest_first_with_words(self):
        cards = day.build_cards(sample_day(), DAY, 0.0, PLACES)
        assert [c.kind for c in cards] == ["stay", "trip", "stay"]
        work, trip, home = cards
        assert (work.title, home.title) == ("Work", "Home") and home.subtitle.startswith("23:00 – 07:00")
        assert trip.title == "Bus" and trip.subtitle == "07:00 – 08:00 · 1 h 00 min · 5.2 km · Walk + Bus"
        assert trip.color == day.MODE_COLORS["bus"] and trip.badge == "B" and home.color == day.PLACE_COLORS["home"]
        _assert_human([t for c in cards for t in (c.title, c.subtitle)])

    def test_ongoing_stay_is_on_top_and_headlined(self):
        ongoing = day.Ongoing("stay", T0 + 17 * HOUR, T0 + 19.5 * HOUR, PLACES[0])
        cards = day.build_cards(sample_day(), DAY, 0.0, PLACES, ongoing=ongoing)
        assert cards[0].ongoing and cards[0].title == "Home" and cards[0].subtitle == "since 17:00 · 2 h 30 min so far"
        assert day.ongoing_headline(cards, 0.0) == "Home since 17:00"

    def test_ongoing_trip_with_no_closed_items_yet(self):
        """The first minutes of a day are not an empty screen: the trip in progress is a card."""
        ongoing = day.Ongoing("trip", T0 + 1 * HOUR, T0 + 1.25 * HOUR, None, ("walk", "car"))
        cards = day.build_cards(DayView([], [], [], True, True), DAY, 0.0, ongoing=ongoing)
        assert len(cards) == 1 and cards[0].title == "On a trip: Car" and day.ongoing_headline(cards, 0.0) == "On a trip: Car since 01:00"

    def test_unnamed_place_and_user_names(self):
        visit = Visit(T0 + HOUR, T0 + 2 * HOUR, "p9", 1.0, 2.0)
        dv = DayView([], [visit], [], True, True)
        (c,) = day.build_cards(dv, DAY, 0.0)
        assert c.title == "Other place"
        (c,) = day.build_cards(dv, DAY, 0.0, names={"p9": "Grandma's"}, categories={"p9": "home"})
        assert c.title == "Grandma's (home)" and c.label == "home" and c.corrected
        others = [Place("p8", 1.0, 2.0, 20.0, 3, 7200.0), Place("p9", 1.1, 2.1, 20.0, 1, 3600.0)]
        two = DayView([], [Visit(T0 + 3 * HOUR, T0 + 4 * HOUR, "p8", 1.0, 2.0), visit], [], True, True)
        assert [c.title for c in day.build_cards(two, DAY, 0.0, others)] == ["Place 1", "Place 2"]  # never two alike

    def test_strip_targets_are_48dp_and_the_nearest_wins(self):
        """A 15-minute trip is 1 % of the day; its tap target still spans 48 dp (here 10 % of the strip)."""
        trips = [Trip(T0 + 8 * HOUR, T0 + 8.25 * HOUR, "p1", "p2", ("car",), 9000.0),
                 Trip(T0 + 8.5 * HOUR, T0 + 8.75 * HOUR, "p2", "p1", ("bike",), 2000.0)]  # fmt: skip
        cards = day.build_cards(DayView([], [], trips, True, True), DAY, 0.0)
        items = day.strip_items(cards, DAY, 0.0)
        car = next(s for s in items if s.card.label == "car")
        assert car.x1 - car.x0 == pytest.approx(0.25 / 24)
        centre = (car.x0 + car.x1) / 2
        assert day.hit_test(items, centre - 0.04, "trip", 0.1).card.label == "car"  # 4 % of the day off: still the car
        assert day.hit_test(items, centre + 0.02, "stay", 0.1) is None
        assert day.hit_test(items, 0.9, "trip", 0.1) is None
        bike = next(s for s in items if s.card.label == "bike")
        assert day.hit_test(items, (bike.x0 + bike.x1) / 2 - 0.005, "trip", 0.1).card.label == "bike"

    def test_legend_lists_what_the_day_uses(self):
        cards = day.build_cards(sample_day(), DAY, 0.0, PLACES)
        assert [n for n, _ in day.legend(cards)] == ["Bus", "Home", "Work"]


class TestMap:
    def test_tracks_from_fixes_or_a_line_between_places_and_focus(self):
        cards = day.build_cards(sample_day(), DAY, 0.0, PLACES)
        st = daymap.build_map(cards, lambda a, b: [], {p.place_id: p for p in PLACES})
        assert len(st.tracks) == 1 and st.tracks[0].points == ((48.85, 2.35), (48.86, 2.36)) and len(st.markers) == 2
        track = [(T0 + 7 * HOUR + i * 60, 48.85 + i * 0.001, 2.35) for i in range(10)]
        st = daymap.build_map(cards, lambda a, b: [f for f in track if a <= f[0] < b], {})
        assert len(st.tracks[0].points) == 10 and st.tracks[0].color == day.MODE_COLORS["bus"]
        x, y = st.view.project(st.view.lat, st.view.lon, 400, 300)
        assert (x, y) == pytest.approx((200, 150))
        x0, y0 = st.view.project(48.85, 2.35, 400, 300)
        assert 0 <= x0 <= 400 and 0 <= y0 <= 300, "the whole day is in view"
        trip = next(c for c in cards if c.kind == "trip")
        assert daymap.focus(st, trip) and st.focused is trip and abs(st.view.lat - 48.8545) < 1e-6


class TestDayVM:
    def _vm(self, tmp_path, days=None):
        days = days or {DAY: sample_day(), DAY - datetime.timedelta(days=1): DayView([], [], [], True, True)}
        return DayVM(FakeBackend(days, PLACES), CorrectionStore(tmp_path / "c.sqlite"), 0.0)

    def test_refresh_swipe_and_headline(self, tmp_path):
        vm = self._vm(tmp_path)
        assert len(vm.refresh()) == 3 and vm.day == DAY and vm.headline == "2 stays and 1 trip"
        assert not vm.swipe(+1)
        assert vm.swipe(-1) and vm.cards == [] and vm.headline == "Nothing recorded on this day yet."
        assert not vm.swipe(-1) and vm.swipe(+1) and len(vm.cards) == 3

    def test_change_mode_never_offers_still(self, tmp_path):
        vm = self._vm(tmp_path)
        trip = next(c for c in vm.refresh() if c.kind == "trip")
        assert "still" not in [v for v, _ in vm.label_options(trip)]
        with pytest.raises(ValueError, match="choose one of"):
            vm.change_label(trip, "still")
        c = vm.change_label(trip, "train")
        assert (c.item_kind, c.field, c.original_label, c.corrected_label) == ("trip", "mode", "bus", "train")
        again = next(x for x in vm.cards if x.kind == "trip")
        assert again.title == "Train" and again.corrected and again.color == day.MODE_COLORS["train"]

    def test_didnt_happen_adjust_rename_and_undo(self, tmp_path):
        vm = self._vm(tmp_path)
        trip = next(c for c in vm.refresh() if c.kind == "trip")
        vm.adjust(trip, "start", -15)
        trip2 = next(c for c in vm.cards if c.kind == "trip")
        assert trip2.start == trip.start - 900 and trip2.sdk_start == trip.sdk_start and trip2.subtitle.startswith("06:45 – 08:00")
        vm.did_not_happen(trip2)
        assert [c.kind for c in vm.cards] == ["stay", "stay"]
        assert vm.undo().field == "did_not_happen" and [c.kind for c in vm.cards] == ["stay", "trip", "stay"]
        home = next(c for c in vm.cards if c.title == "Home")
        vm.rename_place(home, "  The   flat ")
        assert next(c for c in vm.cards if c.place_id == "p1").title == "The flat (home)"
        with pytest.raises(ValueError, match="must not be empty"):
            vm.rename_place(home, "   ")
        work = next(c for c in vm.cards if c.title == "Work")
        vm.change_label(work, "school")
        assert next(c for c in vm.cards if c.place_id == "p2").title == "School"
        assert {c.field for c in vm.corrections.all()} == {"start", "name", "category"}
        assert [c.field for c in vm.corrections.pending()] == ["start", "category"]  # the name stays on the phone


class TestSync:
    class Client:
        def __init__(self, fail=False):
            self.sent, self.fail = [], fail

        def send_feedback(self, items):
            if self.fail:
                raise OSError("offline")
            self.sent.append(list(items))
            return {"accepted": len(items), "unknown_event_ids": []}

    def _store(self, tmp_path):
        s = CorrectionStore(tmp_path / "c.sqlite")
        s.add("trip", 10.0, 20.0, "bus", "train", "mode")
        s.add("visit", 30.0, 40.0, "work", "school", "category", "p2")
        s.add("visit", 30.0, 40.0, "", "Grandma's", "name", "p2")
        return s

    def test_nothing_leaves_without_consent_and_place_names_never(self, tmp_path):
        s, client = self._store(tmp_path), self.Client()
        r = jsync.sync_corrections(s, client, bytes(32), allowed=False)
        assert client.sent == [] and r.waiting == 2 and "Sharing is off" in r.note
        r = jsync.sync_corrections(s, client, bytes(32), allowed=True)
        assert r.sent == 2 and r.waiting == 0 and len(s.pending()) == 0
        assert [i["field"] for i in client.sent[0]] == ["mode", "category"]
        assert "Grandma" not in json.dumps(client.sent)

    def test_offline_keeps_them_queued_and_fields_a_server_lacks_wait(self, tmp_path):
        s = self._store(tmp_path)
        r = jsync.sync_corrections(s, self.Client(fail=True), bytes(32), allowed=True)
        assert r.sent == 0 and r.waiting == 2 and "stay queued" in r.note
        s.add("trip", 10.0, 20.0, "false", "true", "did_not_happen")
        client = self.Client()
        r = jsync.sync_corrections(s, client, bytes(32), allowed=True, fields={"mode", "category"})
        assert r.sent == 2 and r.waiting == 1 and "until the sync service accepts them" in r.note
        r = jsync.sync_corrections(s, client, bytes(32), allowed=True)  # the SDK's vocabulary has it
        assert r.sent == 1 and r.waiting == 0
        assert client.sent[-1][0]["field"] == "did_not_happen" and client.sent[-1][0]["value"] is True

    def test_items_pass_the_servers_feedback_rules(self, tmp_path):
        """Every field the app sends is one of the SDK's feedback kinds with a value its schema accepts."""
        from momentsense.sdk.sync.schema import check_feedback

        s = CorrectionStore(tmp_path / "c.sqlite")
        for field, old, new in (("mode", "bus", "train"), ("did_not_happen", "false", "true"),
                                ("start", "1700000000", "1700000123.4"), ("end", "1700003600", "1700003599.9"),
                                ("name", "", "Grandma's")):  # fmt: skip
            s.add("trip", 1.7e9, 1.7e9 + 3600, old, new, field)
        items = feedback_items(s.pending(), bytes(32))
        assert {it["field"] for it in items} == {"mode", "did_not_happen", "start", "end"}  # names stay on the phone
        for it in items:
            check_feedback(it["field"], it["value"])

    def test_undo_after_sync_sends_the_reverse(self, tmp_path):
        s = CorrectionStore(tmp_path / "c.sqlite")
        c = s.add("trip", 10.0, 20.0, "bus", "train", "mode")
        s.mark_synced([c.correction_id])
        back = s.undo_last()
        assert back.corrected_label == "bus" and s.pending() == [back]

    def test_older_correction_files_are_migrated(self, tmp_path):
        import sqlite3

        con = sqlite3.connect(tmp_path / "c.sqlite")
        con.execute("CREATE TABLE corrections (correction_id TEXT PRIMARY KEY, created_at REAL NOT NULL, item_kind TEXT NOT NULL, "
                    "item_start REAL NOT NULL, item_end REAL NOT NULL, original_label TEXT NOT NULL, corrected_label TEXT NOT NULL, "
                    "synced INTEGER NOT NULL DEFAULT 0)")  # fmt: skip
        con.execute("INSERT INTO corrections VALUES ('a', 1, 'visit', 1, 2, 'other', 'gym', 0)")
        con.commit()
        con.close()
        (c,) = CorrectionStore(tmp_path / "c.sqlite").all()
        assert (c.field, c.corrected_label) == ("category", "gym")


class TestTiles:
    def test_the_tiles_of_a_view_cover_it_and_line_up_with_the_tracks(self):
        from journeys import tiles

        view = daymap.fit([(48.85, 2.35), (48.87, 2.40)], aspect=0.7)
        w, h = 460.0, 660.0
        places = tiles.tiles_for_view(view, w, h)
        z = tiles.zoom_for(view, h)
        assert 11 <= z <= 15 and all(t.z == z for t in places)
        assert all(abs(t.size - places[0].size) < 1e-9 for t in places) and 128 <= places[0].size <= 512
        covered = sum(max(0, min(t.left + t.size, w) - max(t.left, 0)) * max(0, min(t.bottom + t.size, h) - max(t.bottom, 0)) for t in places)
        assert covered == pytest.approx(w * h)  # every pixel under exactly one tile
        x, y = view.project(48.85, 2.35, w, h)  # the tile that holds a point is where the point is drawn
        wx, wy = daymap.world_xy(48.85, 2.35)
        t = next(t for t in places if (t.x, t.y) == (int(wx * 2**z), int(wy * 2**z)))
        assert t.left <= x <= t.left + t.size and t.bottom <= y <= t.bottom + t.size

    def test_cache_fetches_once_in_the_background_and_survives_offline(self, tmp_path):
        import threading

        from journeys import tiles

        urls, ready = [], threading.Event()

        def fetch(url):
            urls.append(url)
            if "/0/" in url:
                raise OSError("offline")
            return b"png"

        cache = tiles.TileCache(tmp_path / "tiles", fetch)
        want = [tiles.TilePlace(0, 0, 0, 0, 0, 256), tiles.TilePlace(5, 16, 11, 0, 0, 256)]
        cache.request(want, ready.set)
        assert ready.wait(5)
        cache.join(5)
        assert cache.get(5, 16, 11).read_bytes() == b"png" and cache.get(0, 0, 0) is None
        assert urls == ["https://tile.openstreetmap.org/0/0/0.png", "https://tile.openstreetmap.org/5/16/11.png"]
        cache.request(want[1:], ready.set)  # cached: not fetched again
        assert len(urls) == 2

    def test_withdrawing_deletes_the_tiles(self, tmp_path):
        from journeys.datafiles import erase_all

        (tmp_path / "tiles" / "14" / "8298").mkdir(parents=True)
        (tmp_path / "tiles" / "14" / "8298" / "5636.png").write_bytes(b"x")
        assert erase_all(tmp_path)["tiles"] == 1 and not (tmp_path / "tiles").exists()
