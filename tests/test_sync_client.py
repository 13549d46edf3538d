"""Sync client against a fake transport: retry classes, backoff, Retry-After, policies, durable queue."""

import gzip
import json
import random

import pytest
import requests

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync.client import InstallIdentity, SyncClient, SyncError, SyncOptions, load_or_create_install
from momentsense.sdk.sync.payload import SyncDay, build_day_payload
from momentsense.sdk.sync.queue import UploadQueue

SALT = bytes(range(32))
INSTALL = InstallIdentity("a" * 32, "1" * 64)


class FakeResponse:
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self._body = body if body is not None else {"ok": True}
        self.headers = headers or {}
        self.text = json.dumps(self._body)

    def json(self):
        return self._body


class FakeSession:
    """Answers from a script: each item an int status, an exception class, or a FakeResponse."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []

    def request(self, method, url, timeout=None, **kw):
        self.calls.append((method, url, kw))
        item = self.script.pop(0) if self.script else 200
        if isinstance(item, type) and issubclass(item, Exception):
            raise item("scripted")
        if isinstance(item, FakeResponse):
            return item
        return FakeResponse(item)

    def close(self):
        pass


def days(n):
    return [build_day_payload(SyncDay(f"2023-11-{10 + i:02d}"), SALT, revision=i) for i in range(n)]


def make(tmp_path, script, sleeps=None, **kw):
    opts = SyncOptions("http://127.0.0.1:9", "key-0123456789abcdef", INSTALL, backoff_base_s=0.5, backoff_max_s=8.0,
                       max_attempts=kw.pop("max_attempts", 4), **kw)  # fmt: skip
    q = UploadQueue(tmp_path / "queue.sqlite")
    sleeps = sleeps if sleeps is not None else []
    return SyncClient(opts, q, session=FakeSession(script), sleep=sleeps.append, rng=random.Random(0)), q, sleeps


class TestEnqueue:
    def test_days_are_batched_gzipped_and_keyed(self, tmp_path):
        """5 days at 2 per batch → 3 gzip batches with distinct idempotency keys."""
        c, q, _ = make(tmp_path, [], days_per_batch=2)
        keys = c.enqueue_days(days(5))
        assert len(keys) == 3 == len(set(keys)) == len(q)
        body = json.loads(gzip.decompress(q.all_pending()[0].body))
        assert [d["day"] for d in body["days"]] == ["2023-11-10", "2023-11-11"]

    def test_enqueue_fails_with_non_payload(self, tmp_path):
        """Only day payloads can be queued."""
        c, _, _ = make(tmp_path, [])
        with pytest.raises(InputError):
            c.enqueue_days([{"lat": 48.8}])

    def test_queue_survives_restart_with_same_keys(self, tmp_path):
        """A new queue on the same file holds the same batches and keys; revisions keep counting."""
        c, q, _ = make(tmp_path, [])
        keys = c.enqueue_days(days(3))
        r1 = q.next_revision()
        q.close()
        q2 = UploadQueue(tmp_path / "queue.sqlite")
        assert [b.key for b in q2.all_pending()] == keys and q2.next_revision() == r1 + 1


class TestFlush:
    def test_sends_headers_and_acks(self, tmp_path):
        """A 200 removes the batch; headers carry key, install token, idempotency key, gzip."""
        c, q, _ = make(tmp_path, [200])
        (key,) = c.enqueue_days(days(1))
        res = c.flush()
        assert res.sent == [key] and res.remaining == 0 and len(q) == 0
        h = c.session.calls[0][2]["headers"]
        assert h["X-Api-Key"] == "key-0123456789abcdef" and h["X-Install-Token"] == INSTALL.token
        assert h["Idempotency-Key"] == key and h["Content-Encoding"] == "gzip"

    def test_retries_5xx_timeouts_and_connection_errors_with_backoff(self, tmp_path):
        """500, timeout, connection error, 503 then 200: five tries, the same key each time, bounded jittered waits."""
        c, q, sleeps = make(tmp_path, [500, requests.Timeout, requests.ConnectionError, 503, 200], max_attempts=6)
        c.enqueue_days(days(1))
        res = c.flush()
        assert len(res.sent) == 1 and res.attempts == 5
        assert len({call[2]["headers"]["Idempotency-Key"] for call in c.session.calls}) == 1
        assert len(sleeps) == 4 and all(0 <= s <= min(8.0, 0.5 * 2**i) for i, s in enumerate(sleeps))
        assert len(set(sleeps)) == 4  # jitter

    def test_no_retry_on_4xx_and_batch_is_rejected(self, tmp_path):
        """A 422 is sent once, the batch is set aside, the next batch still goes."""
        c, q, _ = make(tmp_path, [422, 200], days_per_batch=1)
        k1, k2 = c.enqueue_days(days(2))
        res = c.flush()
        assert res.rejected == [k1] and res.sent == [k2] and res.attempts == 2
        assert [b.key for b in q.rejected()] == [k1] and len(q) == 0

    def test_auth_error_stops_and_keeps_batches(self, tmp_path):
        """A 401 is not retried, keeps the batch and ends the flush."""
        c, q, _ = make(tmp_path, [401])
        c.enqueue_days(days(1))
        res = c.flush()
        assert res.deferred == "auth" and res.attempts == 1 and len(q) == 1

    def test_429_honours_retry_after(self, tmp_path):
        """A 429 with Retry-After: 3 waits exactly 3 s, then succeeds."""
        c, q, sleeps = make(tmp_path, [FakeResponse(429, {}, {"Retry-After": "3"}), 200])
        c.enqueue_days(days(1))
        res = c.flush()
        assert sleeps == [3.0] and len(res.sent) == 1

    def test_long_retry_after_defers_the_batch(self, tmp_path):
        """A Retry-After beyond max_retry_after_s ends the flush; the batch is not due before then."""
        c, q, sleeps = make(tmp_path, [FakeResponse(429, {}, {"Retry-After": "3600"})])
        c.enqueue_days(days(1))
        res = c.flush()
        assert res.deferred == "rate_limited" and sleeps == [] and len(q) == 1 and q.pending() == []

    def test_unreachable_server_keeps_batches_for_later(self, tmp_path):
        """After max_attempts connection errors the flush stops; the batch stays queued."""
        c, q, sleeps = make(tmp_path, [requests.ConnectionError] * 4, max_attempts=4)
        c.enqueue_days(days(2))
        res = c.flush()
        assert res.deferred == "unreachable" and res.attempts == 4 and len(q) == 1
        assert q.all_pending()[0].attempts == 1

    @pytest.mark.parametrize("policy", ["wifi_only", "charging_only"])
    def test_policies_defer_uploads(self, tmp_path, policy):
        """wifi-only / charging-only: nothing is sent while the callback says no (or raises)."""
        state = {"ok": False}
        cb = {"wifi_only": "is_on_wifi", "charging_only": "is_charging"}[policy]
        c, q, _ = make(tmp_path, [200], **{policy: True, cb: lambda: state["ok"]})
        c.enqueue_days(days(1))
        assert c.flush().deferred in ("wifi", "charging") and c.session.calls == []
        state["ok"] = True
        assert len(c.flush().sent) == 1


class TestErase:
    def test_erase_runs_local_hook_drops_queue_and_needs_confirmation(self, tmp_path):
        """erase() deletes locally first, clears the queue, returns the server's confirmation."""
        erased = []
        c, q, _ = make(tmp_path, [FakeResponse(200, {"erased": True, "receipt": "r" * 32, "deleted": {}})])
        c.enqueue_days(days(2))
        res = c.erase(lambda: erased.append(True))
        assert erased == [True] and res.batches_dropped == 1 and res.server_confirmation["erased"] and len(q) == 0
        assert c.session.calls[0][0] == "DELETE"

    def test_unconfirmed_erasure_is_sent_first_on_next_flush(self, tmp_path):
        """Offline erasure: SyncError, local data gone; after a restart the next flush sends DELETE before any batch."""
        erased = []
        c, q, _ = make(tmp_path, [requests.ConnectionError] * 4)
        c.enqueue_days(days(1))
        with pytest.raises(SyncError, match="not confirmed"):
            c.erase(lambda: erased.append(True))
        assert erased == [True] and len(q) == 0
        q.close()
        c2, q2, _ = make(tmp_path, [requests.ConnectionError] * 4)
        c2.enqueue_days(days(1))  # data collected after the erasure
        assert c2.flush().deferred == "erasure_pending" and len(q2) == 1
        c2.session.script = [FakeResponse(200, {"erased": True, "receipt": "r" * 32, "deleted": {}}), 200]
        res = c2.flush()
        assert [call[0] for call in c2.session.calls[-2:]] == ["DELETE", "POST"] and len(res.sent) == 1
        assert not q2.flag("erase_pending")


class TestOptions:
    def test_options_fail_with_bad_values(self):
        """Bad URL, empty key, zero batch size are input errors."""
        with pytest.raises(InputError):
            SyncOptions("ftp://x", "k", INSTALL)
        with pytest.raises(InputError):
            SyncOptions("http://x", "", INSTALL)
        with pytest.raises(InputError):
            SyncOptions("http://x", "k", INSTALL, days_per_batch=0)

    def test_install_identity_is_created_once(self, tmp_path):
        """The install file is reused."""
        a = load_or_create_install(tmp_path / "install.json")
        assert load_or_create_install(tmp_path / "install.json") == a and len(a.install_id) == 32


def test_sync_modules_stay_light():
    """momentsense.sdk.consent, sdk.sync.* and sdk.models.ota import neither TensorFlow nor the server stack."""
    import subprocess
    import sys

    code = ("import sys, momentsense.sdk.consent, momentsense.sdk.sync.payload, momentsense.sdk.sync.queue, momentsense.sdk.sync.client, momentsense.sdk.models.ota\n"
            "bad = [m for m in ('tensorflow', 'fastapi', 'sqlalchemy', 'uvicorn') if m in sys.modules]\n"
            "assert not bad, bad")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)
