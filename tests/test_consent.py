"""Consent log: per kind and purpose, durable, hooks on revoke."""

import threading

import pytest

from momentsense.sdk.consent import ConsentError, ConsentManager
from momentsense.sdk.errors import InputError


class FakeClock:
    def __init__(self, t=1_700_000_000.0):
        self.t = t

    def __call__(self):
        self.t += 1.0
        return self.t


@pytest.fixture
def path(tmp_path):
    return tmp_path / "consent.sqlite"


class TestGrant:
    def test_nothing_is_allowed_before_consent(self, path):
        """A fresh log allows nothing and require() raises."""
        cm = ConsentManager(path)
        for kind in ("motion", "location"):
            assert not cm.allowed(kind, "sensing")
            with pytest.raises(ConsentError):
                cm.require(kind, "sensing")

    def test_grant_is_per_kind_and_purpose(self, path):
        """Granting motion/sensing allows neither location nor motion/sync."""
        cm = ConsentManager(path)
        cm.grant("motion", "sensing")
        assert cm.allowed("motion", "sensing")
        assert not cm.allowed("location", "sensing")
        assert not cm.allowed("motion", "sync")
        assert cm.granted() == [("motion", "sensing")]

    def test_grant_fails_with_unknown_kind_or_bad_purpose(self, path):
        """Unknown kinds and malformed purposes are input errors."""
        cm = ConsentManager(path)
        with pytest.raises(InputError, match="kind"):
            cm.grant("microphone", "sensing")
        with pytest.raises(InputError, match="purpose"):
            cm.grant("motion", "Bad Purpose!")

    def test_state_and_history_survive_restart(self, path):
        """A new manager on the same file sees the same state and timestamps."""
        clock = FakeClock()
        cm = ConsentManager(path, clock=clock)
        cm.grant("motion", "sensing")
        cm.grant("location", "sensing")
        cm.revoke("location", "sensing")
        cm.close()
        cm.close()  # twice is fine
        cm2 = ConsentManager(path)
        assert cm2.allowed("motion", "sensing") and not cm2.allowed("location", "sensing")
        hist = cm2.history()
        assert [(r.kind, r.action) for r in hist] == [("motion", "grant"), ("location", "grant"), ("location", "revoke")]
        assert [r.t for r in hist] == [1_700_000_001.0, 1_700_000_002.0, 1_700_000_003.0]
        assert [r.kind for r in cm2.history("location")] == ["location", "location"]


class TestRevoke:
    def test_revoke_calls_hooks_with_kind_within_one_second(self, path):
        """Hooks (stop sensors, erase data) run before revoke returns, fast."""
        cm = ConsentManager(path)
        stopped, erased = [], []
        cm.add_revoke_hook(lambda k, p: stopped.append((k, p)))
        cm.add_revoke_hook(lambda k, p: erased.append(k))
        cm.grant("location", "sensing")
        cm.grant("motion", "sensing")
        res = cm.revoke("location", "sensing")
        assert stopped == [("location", "sensing")] and erased == ["location"]
        assert res.revoked == (("location", "sensing"),) and res.hooks_called == 2 and res.elapsed_s < 1.0
        assert cm.allowed("motion", "sensing") and not cm.allowed("location", "sensing")

    def test_revoke_every_purpose_of_a_kind(self, path):
        """revoke(kind) revokes each granted purpose and calls hooks for each."""
        cm = ConsentManager(path)
        calls = []
        cm.add_revoke_hook(lambda k, p: calls.append((k, p)))
        cm.grant("motion", "sensing")
        cm.grant("motion", "sync")
        res = cm.revoke("motion")
        assert sorted(calls) == [("motion", "sensing"), ("motion", "sync")]
        assert len(res.revoked) == 2 and cm.granted() == []

    def test_blanket_revoke_without_grants_still_erases(self, path):
        """revoke(kind) with nothing granted calls hooks with purpose '*' (erase anyway)."""
        cm = ConsentManager(path)
        calls = []
        cm.add_revoke_hook(lambda k, p: calls.append((k, p)))
        cm.revoke("location")
        assert calls == [("location", "*")]
        assert cm.history()[-1].action == "revoke"

    def test_hook_error_is_reported_not_raised(self, path):
        """A failing hook does not stop the other hooks and is listed in the result."""
        cm = ConsentManager(path)
        seen = []

        def bad(k, p):
            raise RuntimeError("disk full")

        cm.add_revoke_hook(bad)
        cm.add_revoke_hook(lambda k, p: seen.append(k))
        cm.grant("motion", "sensing")
        res = cm.revoke("motion", "sensing")
        assert seen == ["motion"] and len(res.hook_errors) == 1 and "disk full" in res.hook_errors[0]
        assert not cm.allowed("motion", "sensing")

    def test_regrant_after_revoke(self, path):
        """The latest entry wins."""
        cm = ConsentManager(path)
        cm.grant("motion", "sensing")
        cm.revoke("motion", "sensing")
        cm.grant("motion", "sensing")
        assert cm.allowed("motion", "sensing")

    def test_concurrent_grants_are_all_logged(self, path):
        """Threads granting at once lose no log entry."""
        cm = ConsentManager(path)
        ths = [threading.Thread(target=lambda: [cm.grant("motion", f"p{i}") for i in range(20)]) for _ in range(4)]
        [t.start() for t in ths]
        [t.join() for t in ths]
        assert len(cm.history()) == 80


class TestStoreErasureHook:
    def test_revoking_sensing_erases_the_kind_in_the_store(self, path, tmp_path):
        """With the real timeline store: revoking location/sensing erases visits and trips, keeps motion data."""
        from momentsense.sdk.consent import store_erasure_hook
        from momentsense.sdk.timeline.records import TransportEvent, Trip, Visit
        from momentsense.sdk.timeline.store import TimelineStore

        store = TimelineStore(tmp_path / "store.sqlite")
        store.write([Visit(0.0, 100.0, "p0", 48.8, 2.3), Trip(100.0, 200.0, "p0", "p1", ("walk",), 100.0),
                     TransportEvent(100.0, 200.0, "walk", 0.9)])  # fmt: skip
        cm = ConsentManager(path)
        cm.add_revoke_hook(store_erasure_hook(store))
        cm.grant("location", "sensing")
        cm.grant("location", "sync")
        cm.revoke("location", "sync")  # stop uploading only: local data stays
        assert len(store.visits()) == 1
        cm.revoke("location", "sensing")
        assert store.visits() == [] and store.trips() == [] and len(store.events()) == 1

    def test_hook_fails_with_object_without_delete_all(self):
        """A store without delete_all is an input error."""
        from momentsense.sdk.consent import store_erasure_hook

        with pytest.raises(InputError):
            store_erasure_hook(object())
