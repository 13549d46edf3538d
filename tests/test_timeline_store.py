"""The local timeline store (sdk.timeline.store): crash safety, versions, day bounds, retention,
erasure, corrupt files, migrations, threads."""

from __future__ import annotations

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

import momentsense.sdk.timeline.store as store_mod
from momentsense.sdk.timeline.records import DrivingScore, Place, TransportEvent, Trip, Visit
from momentsense.sdk.timeline.store import DayTimeline, StoreError, TimelineStore, day_bounds, item_id

DAY = datetime.date(2023, 11, 13)
MIDNIGHT = 1_699_833_600.0  # 2023-11-13 00:00 UTC
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys
from momentsense.sdk.timeline.records import TransportEvent
from momentsense.sdk.timeline.store import TimelineStore
store = TimelineStore(sys.argv[1])
k = int(sys.argv[2])
while True:  # batches of 20 events; an id is printed only after its commit returned
    batch = [TransportEvent(1.7e9 + k + i, 1.7e9 + k + i + 0.5, "walk", 0.5) for i in range(20)]
    store.write(batch)
    print(" ".join(str(k + i) for i in range(20)), flush=True)
    k += 20
"""


def ev(start, end, mode="walk", conf=0.9):
    return TransportEvent(float(start), float(end), mode, conf)


class TestKill:
    def test_sigkill_mid_write_loses_no_committed_event(self, tmp_path):
        """A writer SIGKILLed at random points: the file stays intact and holds every event it reported committed."""
        path = tmp_path / "t.db"
        committed: set = set()
        k0 = 0
        for delay_s in (0.05, 0.13, 0.31, 0.02):
            proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(k0)], stdout=subprocess.PIPE,
                                    text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
            first = proc.stdout.readline()  # writing has started
            assert first, "the child wrote nothing"
            time.sleep(delay_s)
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
            assert proc.returncode == -signal.SIGKILL
            lines = [first] + out.splitlines(keepends=True)
            ids = {int(x) for line in lines if line.endswith("\n") for x in line.split()}  # whole lines only
            committed |= ids
            with TimelineStore(path) as store:
                assert store.integrity_check() == "ok"
                stored = {int(round(e.start - 1.7e9)) for e in store.events()}
                assert committed <= stored, f"lost {sorted(committed - stored)[:5]}"
                assert len(stored) % 20 == 0  # transactions are all or nothing
                k0 = max(stored) + 1 + 20
        assert len(committed) > 100


class TestVersions:
    def test_redetection_adds_a_version_and_reads_return_the_latest(self):
        """Same item, new content → version 2; both kept; reads and the day give the latest."""
        s = TimelineStore()
        assert s.put(ev(MIDNIGHT + 100, MIDNIGHT + 200)) == 1
        assert s.put(ev(MIDNIGHT + 100, MIDNIGHT + 260, conf=0.8)) == 2
        assert s.events() == [ev(MIDNIGHT + 100, MIDNIGHT + 260, conf=0.8)]
        hist = s.history("event", item_id(ev(MIDNIGHT + 100, 0)))
        assert [h.version for h in hist] == [1, 2] and hist[0].record.end == MIDNIGHT + 200
        assert s.timeline(DAY).events == (ev(MIDNIGHT + 100, MIDNIGHT + 260, conf=0.8),)
        assert s.counts()["event"] == {"items": 1, "rows": 2}

    def test_identical_content_is_not_a_new_version(self):
        """Writing the same record twice is harmless (replaying data, reprocessing)."""
        s = TimelineStore()
        p = Place("p0", 48.85, 2.35, 20.0, 3, 7200.0, "home", 0.7)
        assert s.write([p, p]) == [("place", "p0", 1), ("place", "p0", 1)]
        assert s.put(p) == 1 and s.counts()["place"]["rows"] == 1

    def test_every_kind_round_trips(self, tmp_path):
        """Typed records out equal the records in, through a file that is closed and reopened."""
        recs = [ev(MIDNIGHT, MIDNIGHT + 60), Visit(MIDNIGHT + 60, MIDNIGHT + 900, "p1", 48.8, 2.3),
                Place("p1", 48.8, 2.3, 12.5, 1, 840.0),
                Trip(MIDNIGHT + 900, MIDNIGHT + 1800, "p1", "p2", ("walk", "bus"), 2500.0),
                DrivingScore(MIDNIGHT + 900, MIDNIGHT + 1800, 87.5, 1.2, 9000.0, {"harsh_braking": 1})]
        with TimelineStore(tmp_path / "x.db") as s:
            s.write(recs)
            assert s.journal_mode == "wal"
        with TimelineStore(tmp_path / "x.db") as s:
            back = s.events() + s.visits() + s.places() + s.trips() + s.query("driving_score")
            assert back == recs
            tl = s.timeline(DAY)
            assert DayTimeline.from_dict(tl.to_dict()) == tl

    def test_bad_records_and_kinds_are_refused(self):
        s = TimelineStore()
        with pytest.raises(TypeError, match="records\\[1\\]"):
            s.write([ev(0, 1), {"start": 0}])
        assert s.events() == []  # nothing of the failed batch
        with pytest.raises(ValueError, match="kind must be"):
            s.query("moment")


class TestDayBounds:
    def test_items_are_assigned_to_local_days(self):
        """With UTC+1, 23:30 UTC belongs to the next local day; an overnight visit is on both days."""
        s = TimelineStore()
        late = ev(MIDNIGHT + 22.5 * 3600, MIDNIGHT + 22.6 * 3600)  # 23:30 local (UTC+1)
        later = ev(MIDNIGHT + 23.5 * 3600, MIDNIGHT + 23.6 * 3600)  # 00:30 next local day
        night = Visit(MIDNIGHT + 21 * 3600, MIDNIGHT + 30 * 3600, "p0", 48.8, 2.3)
        at_midnight = ev(MIDNIGHT + 23 * 3600, MIDNIGHT + 23 * 3600)  # zero length, at local midnight
        s.write([late, later, night, at_midnight])
        d1 = s.timeline(DAY, tz_offset_s=3600)
        d2 = s.timeline(DAY + datetime.timedelta(days=1), tz_offset_s=3600)
        assert d1.events == (late,) and d2.events == (at_midnight, later)
        assert d1.visits == (night,) and d2.visits == (night,)
        assert d2.start_s == MIDNIGHT + 23 * 3600 and d2.end_s - d2.start_s == 86400
        west = s.timeline(DAY, tz_offset_s=-5 * 3600)  # New York: everything is on the 13th
        assert west.events == (late, at_midnight, later)

    def test_day_bounds_fail_with_bad_offset(self):
        with pytest.raises(ValueError, match="tz_offset_s"):
            day_bounds(DAY, 20 * 3600)
        with pytest.raises(TypeError, match="datetime.date"):
            day_bounds("2023-11-13")


class TestRetention:
    def test_purge_removes_old_items_with_all_versions(self):
        """Items ending before now - retention go (every version); recent ones and visited places stay."""
        s = TimelineStore(retention_days=7)
        old = ev(MIDNIGHT - 10 * 86400, MIDNIGHT - 10 * 86400 + 60)
        s.put(old)
        s.put(ev(old.start, old.end + 1))  # version 2 of the old item
        new = ev(MIDNIGHT - 86400, MIDNIGHT - 86400 + 60)
        s.put(new)
        s.put(Place("p0", 1, 1, 0, 1, 1), now_s=MIDNIGHT - 20 * 86400)  # old place, visited recently
        s.put(Visit(MIDNIGHT - 3600, MIDNIGHT - 60, "p0", 1, 1))
        s.put(Place("p9", 2, 2, 0, 1, 1), now_s=MIDNIGHT - 20 * 86400)  # old place, no visit left
        s.put(Place("p8", 3, 3, 0, 1, 1), now_s=MIDNIGHT - 86400)  # new place
        removed = s.purge(now_s=MIDNIGHT)
        assert removed["event"] == 2 and removed["place"] == 1
        assert s.events() == [new] and [p.place_id for p in s.places()] == ["p0", "p8"]
        assert s.history("event", item_id(old)) == []

    def test_no_retention_keeps_everything(self):
        s = TimelineStore()
        s.put(ev(0, 1))
        assert sum(s.purge(now_s=1e10).values()) == 0 and len(s.events()) == 1

    def test_retention_must_be_positive(self):
        with pytest.raises(ValueError, match="retention_days"):
            TimelineStore(retention_days=0)


class TestDeleteAll:
    def test_delete_by_consent_category(self, tmp_path):
        """'location' erases visits, places, trips; 'motion' events and driving; None everything."""
        s = TimelineStore(tmp_path / "c.db")
        recs = [ev(0, 1), Visit(1, 2, "p0", 1, 1), Place("p0", 1, 1, 0, 1, 1), Trip(2, 3, "p0", "p1", (), 0.0),
                DrivingScore(2, 3, 90.0, 0.0, 10.0)]
        s.write(recs)
        assert s.delete_all("location") == {"visit": 1, "place": 1, "trip": 1}
        assert s.events() and not s.visits() and not s.places() and not s.trips()
        assert s.delete_all("motion") == {"event": 1, "driving_event": 0, "driving_score": 1}
        s.write(recs)
        s.delete_all()
        assert all(c["rows"] == 0 for c in s.counts().values())
        assert os.path.getsize(str(tmp_path / "c.db") + "-wal") == 0  # erased rows do not linger in the WAL
        s.put(ev(5, 6))  # still usable
        assert len(s.events()) == 1 and s.integrity_check() == "ok"

    def test_delete_all_fails_with_unknown_category(self):
        with pytest.raises(ValueError, match="motion"):
            TimelineStore().delete_all("gps")


class TestCorruptFiles:
    def test_not_a_database_is_refused_and_left_untouched(self, tmp_path):
        path = tmp_path / "timeline.db"
        junk = os.urandom(8192)
        path.write_bytes(junk)
        with pytest.raises(StoreError, match=r"timeline\.db: not a readable SQLite database"):
            TimelineStore(path)
        assert path.read_bytes() == junk

    def test_damaged_pages_are_refused(self, tmp_path):
        """A store whose table pages were overwritten fails the check at open, naming the file."""
        path = tmp_path / "d.db"
        with TimelineStore(path) as s:
            s.write([ev(i, i + 0.5) for i in range(2000)])
        with sqlite3.connect(path) as c:
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = bytearray(path.read_bytes())
        data[4096 * 3:4096 * 6] = b"\xff" * (4096 * 3)
        path.write_bytes(bytes(data))
        with pytest.raises(StoreError, match="d.db"):
            TimelineStore(path)

    def test_another_applications_database_is_refused(self, tmp_path):
        path = tmp_path / "other.db"
        with sqlite3.connect(path) as c:
            c.execute("CREATE TABLE contacts (name TEXT)")
        with pytest.raises(StoreError, match="another application"):
            TimelineStore(path)

    def test_newer_schema_is_refused(self, tmp_path):
        path = tmp_path / "n.db"
        TimelineStore(path).close()
        with sqlite3.connect(path) as c:
            c.execute("INSERT INTO schema_version VALUES (99, 0)")
        with pytest.raises(StoreError, match="newer"):
            TimelineStore(path)

    def test_missing_folder_names_the_file(self, tmp_path):
        with pytest.raises(StoreError, match="nowhere"):
            TimelineStore(tmp_path / "nowhere" / "t.db")

    def test_closed_store_says_so(self):
        s = TimelineStore()
        s.close()
        s.close()
        with pytest.raises(StoreError, match="closed"):
            s.events()


class TestMigrations:
    def test_migration_hook_runs_once(self, tmp_path, monkeypatch):
        """A new schema version is applied to an old file exactly once, in order."""
        path = tmp_path / "m.db"
        with TimelineStore(path) as s:
            s.put(ev(0, 1))
            assert s.schema_version() == 1
        calls = []

        def v2(conn):
            calls.append(2)
            conn.execute("ALTER TABLE events ADD COLUMN note TEXT")

        monkeypatch.setitem(store_mod.MIGRATIONS, 2, v2)
        for _ in range(2):
            with TimelineStore(path) as s:
                assert s.schema_version() == 2 and s.events() == [ev(0, 1)]
        assert calls == [2]


class TestThreads:
    def test_two_writer_threads_and_a_reader(self, tmp_path):
        """Two threads write through one store while a third reads; nothing is lost or raised."""
        s = TimelineStore(tmp_path / "th.db", synchronous="NORMAL")
        errors = []

        def writer(offset):
            try:
                for i in range(150):
                    s.put(ev(offset + i, offset + i + 0.5))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def reader():
            try:
                for _ in range(50):
                    s.timeline(DAY)
                    s.counts()
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        ts = [threading.Thread(target=writer, args=(o,)) for o in (0, 10_000)] + [threading.Thread(target=reader)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors and len(s.events()) == 300

    def test_two_stores_on_one_file(self, tmp_path):
        """Two connections (e.g. the SDK and a sync job) interleave writes on one WAL file."""
        a, b = TimelineStore(tmp_path / "two.db"), TimelineStore(tmp_path / "two.db")
        done = []

        def run(st, off):
            for i in range(60):
                st.put(ev(off + i, off + i + 0.5))
            done.append(off)

        ts = [threading.Thread(target=run, args=(a, 0)), threading.Thread(target=run, args=(b, 1000))]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert sorted(done) == [0, 1000] and len(a.events()) == 120 == len(b.events())
