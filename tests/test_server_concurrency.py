"""The real server (``momentsense serve`` on loopback) under concurrency: identical retries at the same
moment, overload (503 + Retry-After, ``/health`` still answering, recovery), and kills at random."""

import gzip
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
requests = pytest.importorskip("requests")

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from test_server import day_payload
from momentsense.trainer.server.db import Batch, Event
from momentsense.trainer.server.testing import ServerProcess

KEY = "concurrency-key-0123456789"
LIMITS_OFF = ("--rate-limit", "0", "--auth-fail-limit", "0", "--max-day-age-days", "0")


def _headers(install: str, idem: str) -> dict:
    return {"X-Api-Key": KEY, "X-Install-Token": f"{install}.{'1' * 64}", "Idempotency-Key": idem,
            "Content-Encoding": "gzip", "Content-Type": "application/json"}  # fmt: skip


def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with Session(engine) as s:
        out = int(s.scalar(select(func.count(Batch.id)))), int(s.scalar(select(func.count(Event.id))))
    engine.dispose()
    return out


def test_identical_retries_at_the_same_moment_store_once(server_db_url):
    """100 trials of 4 identical requests released together: no 5xx, one receipt, one stored batch each."""
    server = ServerProcess(server_db_url, {"c": KEY}, extra_args=LIMITS_OFF).start()
    body = gzip.compress(json.dumps({"days": [day_payload(0)]}).encode())
    sessions = [requests.Session() for _ in range(4)]
    bad = []
    try:
        with ThreadPoolExecutor(4) as pool:
            for trial in range(100):
                barrier = threading.Barrier(4)
                h = _headers(f"{trial:032x}", f"retry-{trial:06d}")

                def send(k, h=h, barrier=barrier):
                    barrier.wait()
                    return sessions[k].post(server.url + "/v1/ingest", data=body, headers=h, timeout=30)

                answers = list(pool.map(send, range(4)))
                codes = [r.status_code for r in answers]
                if any(c >= 500 for c in codes) or len({r.text for r in answers if r.status_code == 200}) != 1:
                    bad.append((trial, codes, [r.text[:120] for r in answers]))
                elif any(c not in (200, 409) for c in codes):
                    bad.append((trial, codes))
    finally:
        server.stop()
    assert not bad, bad[:5]
    assert _counts(server_db_url) == (100, 100 * 3)


def test_overload_answers_503_quickly_and_health_stays_up(tmp_path):
    """A flood far beyond one slot: 503 + Retry-After (never another 5xx or a hang), /health within 1 s
    during the flood, and ingest works again within 5 s after it."""
    args = (*LIMITS_OFF, "--max-inflight", "1", "--max-queue", "2", "--max-wait", "0.2")
    server = ServerProcess(tmp_path / "o.db", {"o": KEY}, extra_args=args).start()
    body = gzip.compress(json.dumps({"days": [day_payload(0)]}).encode())
    stop = time.monotonic() + 4.0
    codes, retry_after, health = [], [], []

    def phone(i):
        s = requests.Session()
        n = 0
        while time.monotonic() < stop:
            try:
                r = s.post(server.url + "/v1/ingest", data=body, headers=_headers(f"{i:032x}", f"flood-{i}-{n:06d}"), timeout=10)
            except requests.RequestException as exc:
                codes.append(type(exc).__name__)
                continue
            codes.append(r.status_code)
            if r.status_code == 503:
                retry_after.append(r.headers.get("Retry-After"))
            n += 1

    def prober():
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                ok = requests.get(server.url + "/health", timeout=1.0).status_code == 200
            except requests.RequestException:
                ok = False
            health.append((ok, time.monotonic() - t))
            time.sleep(0.2)

    try:
        threads = [threading.Thread(target=phone, args=(i,)) for i in range(30)] + [threading.Thread(target=prober)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        t0 = time.monotonic()
        recovered = None
        while time.monotonic() - t0 < 5.0:
            r = requests.post(server.url + "/v1/ingest", data=body, headers=_headers("f" * 32, "after-flood-01"), timeout=2)
            if r.status_code == 200:
                recovered = time.monotonic() - t0
                break
            time.sleep(0.1)
    finally:
        server.stop()
    assert 503 in codes and 200 in codes, sorted(set(map(str, codes)))
    assert all(c in (200, 503) for c in codes), sorted(set(map(str, codes)))
    assert all(v is not None and int(v) >= 1 for v in retry_after)
    assert health and all(ok for ok, _ in health), health
    assert recovered is not None


def test_kills_at_random_lose_nothing_acknowledged(tmp_path):
    """`bench server` with the server SIGKILLed and clients dropping requests at random: 0 acknowledged lost."""
    from momentsense.trainer.bench_server import BenchOptions, bench_server

    out = bench_server(BenchOptions(clients=6, seconds=8.0, db_url=f"sqlite:///{tmp_path}/k.db", kill_server_every_s=2.5,
                                    client_abort_p=0.1, timeout_s=5.0, seed=1))  # fmt: skip
    assert out["server_kills"] >= 1 and out["client_aborts"] >= 1, out
    assert out["acked"] > 0 and out["acked_missing"] == 0, out
    assert out["server_errors_5xx"] == 0, out
