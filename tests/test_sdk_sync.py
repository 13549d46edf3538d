"""``MomentSDK.sync()``: the SDK's uploader against the real server in this process, behind consent."""

import dataclasses
import threading

import pytest

from momentsense.sdk.consent import ConsentError, ConsentManager
from momentsense.sdk.errors import InputError
from momentsense.sdk.runtime import MomentSDK, SDKConfig
from momentsense.sdk.sync.client import SyncClient, SyncOptions, load_or_create_install
from momentsense.sdk.sync.queue import UploadQueue
from momentsense.sdk.sync.uploader import filter_day
from tests.test_insights import DAY, MONDAY, early_riser_weeks

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from momentsense.trainer.server.loopback import LoopbackServer

    with LoopbackServer(tmp_path_factory.mktemp("server") / "server.db", app_name="tests") as s:
        yield s


@pytest.fixture
def consent(tmp_path):
    with ConsentManager(tmp_path / "consent.sqlite") as c:
        for kind in ("motion", "location"):
            for purpose in ("sensing", "sync", "training"):
                c.grant(kind, purpose)
        yield c


def make_sdk(server, tmp_path, consent, **sync_kw) -> MomentSDK:
    opts = SyncOptions(server.url, server.api_key, timeout_s=5.0, max_attempts=2, backoff_base_s=0.0,
                       backoff_max_s=0.0, **sync_kw)  # fmt: skip
    return MomentSDK(SDKConfig(store_path=str(tmp_path / "timeline.db"), sync=opts), consent=consent)


def install_id(tmp_path) -> str:
    return load_or_create_install(tmp_path / "sync" / "install.json").install_id


def queued(tmp_path) -> int:
    with UploadQueue(tmp_path / "sync" / "upload_queue.sqlite") as q:
        return len(q) + len(q.rejected())


class TestSync:
    def test_sync_uploads_the_days_and_the_corrections(self, server, tmp_path, consent):
        """Two weeks of timeline reach the server once; a correction is sent and marked sent."""
        with make_sdk(server, tmp_path, consent) as sdk:
            early_riser_weeks(sdk)
            res = sdk.sync()
            assert res.deferred is None and res.batches_sent >= 1 and res.remaining == 0
            held = server.days_held(install_id(tmp_path))
            assert held and set(held) == set(res.days_built) and len(held) >= 10
            trip = sdk.reader().trips()
            visit = sdk.reader().visits()[0]
            assert not trip  # the fixture has no trips: a visit correction
            fb0 = server.feedback_held()
            sdk.correct("visit", visit.start, visit.end, "home", "work")
            assert len(sdk.pending_corrections()) == 1
            res2 = sdk.sync()
            assert res2.corrections_sent == 1 and sdk.pending_corrections() == []
            assert server.feedback_held() == fb0 + 1
            assert queued(tmp_path) == 0

    def test_after_revoking_sync_nothing_is_sent_and_the_queue_is_empty(self, server, tmp_path, consent):
        """The target: revoke ``sync`` → ``sync()`` sends nothing, the queue is empty, the server sees nothing new."""
        with make_sdk(server, tmp_path, consent) as sdk:
            early_riser_weeks(sdk, days=3)
            sdk.sync()
            before = server.days_held(install_id(tmp_path))
            fb0 = server.feedback_held()
            early_riser_weeks_more = [dataclasses.replace(v, end=v.end + 60.0) for v in sdk.reader().visits()]
            sdk.import_records(early_riser_weeks_more)  # new data that would be uploaded
            sdk.correct("visit", early_riser_weeks_more[0].start, early_riser_weeks_more[0].end, "home", "other")
            consent.revoke("motion", "sync")
            consent.revoke("location", "sync")
            res = sdk.sync()
            assert res.deferred == "consent" and res.batches_sent == 0 and res.corrections_sent == 0
            assert res.days_built == () and queued(tmp_path) == 0
            assert server.days_held(install_id(tmp_path)) == before and server.feedback_held() == fb0

    def test_revoking_drops_batches_already_queued(self, server, tmp_path, consent):
        """Batches queued while the server was unreachable are dropped by the revoke itself, never sent."""
        dead = SyncOptions("http://127.0.0.1:9", "key", timeout_s=0.5, max_attempts=1)
        cfg = SDKConfig(store_path=str(tmp_path / "timeline.db"), sync=dead)
        with MomentSDK(cfg, consent=consent) as sdk:
            early_riser_weeks(sdk, days=3)
            res = sdk.sync()
            assert res.deferred == "unreachable" and res.remaining >= 1 and queued(tmp_path) >= 1
            consent.revoke("location", "sync")  # one kind is enough to drop what was built with it
            assert queued(tmp_path) == 0

    def test_location_only_consent_uploads_visits_but_no_trips_or_drives(self, server, tmp_path, consent):
        """With ``sync`` for location only, the payloads carry visits and nothing derived from motion."""
        consent.revoke("motion", "sync")
        with make_sdk(server, tmp_path, consent) as sdk:
            early_riser_weeks(sdk, days=3)
            res = sdk.sync()
            assert res.kinds == ("location",) and res.batches_sent >= 1
            payloads = sdk._uploader.last_payloads  # white-box: what was built
            assert payloads and all(p["visits"] for p in payloads)
            assert all(not p["trips"] and not p["driving"] and not p["segments"] for p in payloads)

    def test_erase_asks_the_server_to_erase(self, server, tmp_path, consent):
        """``erase()`` empties the local timeline and the server's copy (even with ``sync`` revoked)."""
        with make_sdk(server, tmp_path, consent) as sdk:
            early_riser_weeks(sdk, days=3)
            sdk.sync()
            iid = install_id(tmp_path)
            assert server.days_held(iid)
            consent.revoke("location", "sync")
            res = sdk.erase()
            assert res.local_erased and res.server_confirmation and res.server_confirmation["erased"]
            assert server.days_held(iid) == [] and sdk.reader().counts()["visit"]["items"] == 0

    def test_schedule_sync_uploads_in_the_background(self, server, tmp_path, consent):
        """A scheduled sync runs on its own thread; ``close()`` stops it."""
        with make_sdk(server, tmp_path, consent) as sdk:
            early_riser_weeks(sdk, days=3)
            sdk.schedule_sync(0.05)
            for _ in range(200):
                if sdk.last_sync() is not None:
                    break
                threading.Event().wait(0.05)
            assert sdk.last_sync() is not None and sdk.last_sync().batches_sent >= 1
        assert not any(t.name == "momentsense-sync" and t.is_alive() for t in threading.enumerate())


class TestSyncRefusals:
    def test_sync_fails_without_configuration(self, consent):
        with MomentSDK(SDKConfig(), consent=consent) as sdk, pytest.raises(InputError, match="SDKConfig"):
            sdk.sync()

    def test_sync_fails_without_a_consent_manager(self, tmp_path):
        opts = SyncOptions("http://127.0.0.1:9", "key")
        with MomentSDK(SDKConfig(sync=opts, sync_dir=str(tmp_path))) as sdk, pytest.raises(ConsentError):
            sdk.sync()

    def test_config_fails_with_sync_and_nowhere_to_keep_its_files(self):
        with pytest.raises(InputError, match="sync_dir"):
            SDKConfig(sync=SyncOptions("http://127.0.0.1:9", "key"))

    def test_queue_put_fails_without_sync_consent(self, tmp_path, consent):
        consent.revoke("motion", "sync")
        consent.revoke("location", "sync")
        with UploadQueue(tmp_path / "q.sqlite", consent=consent) as q, pytest.raises(ConsentError):
            q.put(b"x", 1)

    def test_client_flush_drops_the_queue_without_sync_consent(self, tmp_path, consent):
        """A batch queued with consent is dropped, not sent, once consent is gone (no request made)."""
        q = UploadQueue(tmp_path / "q.sqlite", consent=consent)
        q.put(b"x", 1)
        consent.revoke("motion", "sync")
        consent.revoke("location", "sync")

        class NoNetwork:
            def request(self, *a, **k):
                raise AssertionError("a request was made")

            def close(self):
                pass

        client = SyncClient(SyncOptions("http://127.0.0.1:9", "k", install=load_or_create_install(tmp_path / "i.json")),
                            q, session=NoNetwork(), consent=consent)  # fmt: skip
        res = client.flush()
        assert res.deferred == "consent" and res.sent == [] and res.attempts == 0 and len(q) == 0
        with pytest.raises(ConsentError):
            client.send_feedback([{"event_id": "e_" + "0" * 20, "field": "mode", "value": "walk"}])
        q.close()


def test_filter_day_keeps_only_what_the_consented_kinds_allow():
    """Visits need location; trips, drives, moments and segments need both kinds."""
    from momentsense.sdk.sync.payload import MomentSpan, SyncDay
    from momentsense.sdk.timeline.records import DrivingScore, Trip, Visit

    day = SyncDay("2023-11-13", visits=(Visit(MONDAY, MONDAY + 600, "p0", 48.0, 2.0),),
                  trips=(Trip(MONDAY + 600, MONDAY + 900, "p0", "p1", ("walk",), 500.0),),
                  moments=(MomentSpan(MONDAY + 600, MONDAY + 900, "commute"),), segments={"commuter": 1.0},
                  driving_scores=(DrivingScore(MONDAY, MONDAY + DAY / 24, 80.0, 1.0, 1000.0, {}),))  # fmt: skip
    both = filter_day(day, ("motion", "location"))
    assert both == day
    loc = filter_day(day, ("location",))
    assert loc.visits == day.visits and not (loc.trips or loc.moments or loc.segments or loc.driving_scores)
    motion = filter_day(day, ("motion",))
    assert not (motion.visits or motion.trips or motion.moments or motion.segments or motion.driving_scores)
