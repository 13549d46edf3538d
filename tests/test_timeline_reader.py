"""The read-only timeline reader (sdk.timeline.reader): what a UI process uses instead of the store."""

import datetime
import sqlite3

import pytest

from momentsense.sdk.timeline.reader import TimelineReader, open_reader
from momentsense.sdk.timeline.records import Place, TransportEvent, Visit
from momentsense.sdk.timeline.store import StoreError, TimelineStore

T0 = 1_699_920_000.0  # 2023-11-14 00:00 UTC


@pytest.fixture
def store_file(tmp_path):
    path = tmp_path / "timeline.db"
    with TimelineStore(path) as s:
        s.write([Place("p0", 48.85, 2.35, 20, 1, 3600.0, "home", 1.0), Visit(T0, T0 + 3600, "p0", 48.85, 2.35),
                 TransportEvent(T0 + 3600, T0 + 4200, "walk", 0.9)])  # fmt: skip
    return path


class TestOpenReader:
    def test_reads_what_the_sensing_side_wrote(self, store_file):
        with open_reader(store_file) as r:
            day = r.timeline(datetime.date(2023, 11, 14))
            assert [e.mode for e in day.events] == ["walk"] and len(day.visits) == 1
            assert [p.label for p in r.places()] == ["home"] and r.places("work") == []
            assert r.counts()["visit"]["items"] == 1 and r.last("event").mode == "walk"

    def test_sees_writes_made_after_it_opened(self, store_file):
        with open_reader(store_file) as r, TimelineStore(store_file) as w:
            w.write([TransportEvent(T0 + 4200, T0 + 5000, "bus", 0.8)])
            assert [e.mode for e in r.events()] == ["walk", "bus"]

    def test_cannot_write_or_erase(self, store_file):
        """No write or erase method, and the connection under it is read-only."""
        with open_reader(store_file) as r:
            assert not hasattr(r, "write") and not hasattr(r, "delete_all") and not hasattr(r, "purge")
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                r._store.delete_all()  # white-box: even the store underneath refuses
        with TimelineStore(store_file) as s:
            assert s.counts()["event"]["items"] == 1

    def test_open_reader_fails_with_a_missing_file(self, tmp_path):
        with pytest.raises(StoreError, match="no timeline store there yet"):
            open_reader(tmp_path / "nope.db")

    def test_open_reader_fails_with_a_file_that_is_not_sqlite(self, tmp_path):
        bad = tmp_path / "bad.db"
        bad.write_bytes(b"not a database at all" * 100)
        with pytest.raises(StoreError, match="read-only"):
            open_reader(bad)


def test_an_sdk_readers_close_leaves_the_sdks_store_open():
    from momentsense.sdk.runtime import MomentSDK, SDKConfig

    with MomentSDK(SDKConfig()) as sdk:
        r = sdk.reader()
        assert isinstance(r, TimelineReader)
        r.close()
        sdk.import_records([TransportEvent(T0, T0 + 60, "walk", 0.9)])
        assert [e.mode for e in sdk.reader().events()] == ["walk"]
