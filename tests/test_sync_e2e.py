"""Sync client against a real server process on loopback, through a fault-injecting proxy.

The proxy answers 500s, drops responses after the server committed, answers slower than the
client's timeout, and kills the server before or after it handles a request; the test restarts the
server on the same database and flushes again. Afterwards every event is on the server exactly once.
"""

import http.server
import socket
import threading
import time

import pytest
import requests

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from momentsense.sdk.sync.client import InstallIdentity, SyncClient, SyncOptions
from momentsense.sdk.sync.payload import SyncDay, build_day_payload
from momentsense.sdk.sync.queue import UploadQueue
from momentsense.sdk.timeline.records import Place, Trip, Visit
from momentsense.trainer.server.testing import ServerProcess

KEY = "test-key-0123456789abcdef"
SALT = bytes(range(32))
T0 = 1699833600.0


class FaultProxy:
    """HTTP proxy applying one scripted action per request: pass, 500, drop_after, slow, kill_before, kill_after."""

    def __init__(self, server: ServerProcess, plan: list, slow_s: float = 1.5):
        self.server, self.plan, self.slow_s = server, list(plan), slow_s
        self.log = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _handle(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                action = proxy.plan.pop(0) if proxy.plan else "pass"
                proxy.log.append((self.command, self.path, action))
                if action == "500":
                    return self._reply(500, {}, b'{"detail":"injected"}')
                if action == "kill_before":
                    proxy.server.kill()
                try:
                    up = requests.request(self.command, proxy.server.url + self.path, data=body, timeout=10,
                                          headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")})  # fmt: skip
                except requests.RequestException:
                    return self._reply(502, {}, b'{"detail":"upstream down"}')
                if action == "kill_after":
                    proxy.server.kill()
                if action in ("drop_after", "kill_after"):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == "slow":
                    time.sleep(proxy.slow_s)
                headers = {k: v for k, v in up.headers.items() if k.lower() in ("content-type", "retry-after")}
                self._reply(up.status_code, headers, up.content)

            def _reply(self, status, headers, data):
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = do_POST = do_DELETE = _handle

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def day(i: int, revision: int) -> dict:
    t = T0 + i * 86400
    d = SyncDay(
        day=time.strftime("%Y-%m-%d", time.gmtime(t)),
        visits=[Visit(t, t + 7.5 * 3600, "p0", 48.85, 2.35), Visit(t + 8 * 3600 + i, t + 17 * 3600, "p1", 48.87, 2.39)],
        trips=[Trip(t + 7.5 * 3600, t + 8 * 3600 + i, "p0", "p1", ("walk", "bus"), 8093.9 + i)],
        places=[Place("p0", 48.85, 2.35, 10, 1, 1, "home"), Place("p1", 48.87, 2.39, 10, 1, 1, "work")],
    )
    return build_day_payload(d, SALT, revision=revision)


@pytest.fixture
def server(tmp_path):
    s = ServerProcess(tmp_path / "server.db", {"test": KEY})
    s.start()
    yield s
    s.stop()


def client_for(url, tmp_path, **kw):
    opts = SyncOptions(url, KEY, InstallIdentity("c" * 32, "d" * 64), days_per_batch=2, timeout_s=1.0, max_attempts=3,
                       backoff_base_s=0.01, backoff_max_s=0.05, **kw)  # fmt: skip
    return SyncClient(opts, UploadQueue(tmp_path / "queue.sqlite"))


def server_events(server):
    r = requests.get(server.url + "/v1/me/events", headers={"X-Api-Key": KEY, "X-Install-Token": "c" * 32 + "." + "d" * 64})
    r.raise_for_status()
    return r.json()


def test_every_event_exactly_once_despite_faults(server, tmp_path):
    """500s, dropped responses, slow responses and server kills: afterwards each event is stored once."""
    plan = ["500", "pass", "drop_after", "pass", "slow", "kill_after", "pass", "kill_before", "500", "pass"]
    proxy = FaultProxy(server, plan)
    try:
        client = client_for(proxy.url, tmp_path)
        payloads = [day(i, revision=1) for i in range(10)]
        expected = {e["id"] for p in payloads for k in ("visits", "trips") for e in p[k]}
        client.enqueue_days(payloads)
        client.queue.close()
        rounds = 0
        while True:
            # a restarted phone: a new client on the same queue file
            client = client_for(proxy.url, tmp_path)
            res = client.flush()
            client.queue.close()
            rounds += 1
            if res.remaining == 0 or rounds > 10:
                break
            if not server.alive():
                server.start()
            time.sleep(0.06)
        if not server.alive():
            server.start()
        assert res.remaining == 0, res
        events = server_events(server)
        ids = [e["event_id"] for e in events]
        assert len(ids) == len(set(ids)) == len(expected) and set(ids) == expected
        actions = [a for _, _, a in proxy.log]
        assert {"500", "drop_after", "slow", "kill_after", "kill_before"} <= set(actions)
        assert server.kills == 2
    finally:
        proxy.close()


def test_retry_after_a_dropped_response_is_answered_from_the_first_commit(server, tmp_path):
    """The response to a committed batch is lost; the retry (same key) gets the same answer, no new rows."""
    proxy = FaultProxy(server, ["drop_after"])
    try:
        client = client_for(proxy.url, tmp_path)
        client.enqueue_days([day(0, 1), day(1, 1)])
        res = client.flush()
        assert len(res.sent) == 1 and res.attempts == 2
        assert res.responses[0] == {"batch": res.sent[0], "days_stored": 2, "days_stale": 0, "events": 6}
        assert len(server_events(server)) == 6
    finally:
        proxy.close()


def test_erasure_against_the_live_server(server, tmp_path):
    """erase() deletes locally, then the server deletes and confirms; nothing of the install remains."""
    client = client_for(server.url, tmp_path)
    client.enqueue_days([day(0, 1)])
    assert client.flush().remaining == 0 and len(server_events(server)) == 3
    local = []
    res = client.erase(lambda: local.append("timeline deleted"))
    assert local and res.server_confirmation["erased"] and res.server_confirmation["deleted"]["events"] == 3
    assert server_events(server) == []
