"""Body size limits and gzip bodies (ASGI middleware), back-pressure (:class:`AdmissionMiddleware`)
and token buckets (:class:`TokenBuckets`) for the per-install, per-app and failed-auth limits.

Limits are per process: with ``W`` worker processes each keeps its own buckets, so a per-install limit
is at most ``W`` times the configured one (a phone's keep-alive connection stays on one worker), and
the fleet-wide per-app ceiling is divided by ``W`` (see :func:`trainer.server.app.create_app`).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import math
import threading
import time
import zlib

from momentsense.trainer.server.errors import error_body


async def _send_json(send, status: int, body: dict, headers: tuple = ()) -> None:
    if "reason" not in body:
        body = error_body(status, body.get("detail", ""))
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": data})


class BodyLimitMiddleware:
    """Refuse bodies over ``max_body_bytes`` (413) and inflate ``Content-Encoding: gzip`` bodies up to
    ``max_inflated_bytes`` (413 beyond: no zip bombs); other encodings are refused (415)."""

    def __init__(self, app, max_body_bytes: int, max_inflated_bytes: int):
        self.app = app
        self.max_body = int(max_body_bytes)
        self.max_inflated = int(max_inflated_bytes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return await _send_json(send, 400, {"detail": "bad Content-Length"})
            if n > self.max_body:
                return await _send_json(send, 413, {"detail": f"body over {self.max_body} bytes"})
        body = bytearray()
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
            if len(body) > self.max_body:
                return await _send_json(send, 413, {"detail": f"body over {self.max_body} bytes"})
        enc = headers.get(b"content-encoding", b"identity").decode("latin-1").strip().lower()
        if enc == "gzip":
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = d.decompress(bytes(body), self.max_inflated + 1)
            except zlib.error:
                return await _send_json(send, 400, {"detail": "body is not valid gzip"})
            if len(out) > self.max_inflated or d.unconsumed_tail:
                return await _send_json(send, 413, {"detail": f"inflated body over {self.max_inflated} bytes"})
            body = bytearray(out)
            scope = dict(scope)
            scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
            scope["headers"].append((b"content-length", str(len(body)).encode()))
        elif enc not in ("identity", ""):
            return await _send_json(send, 415, {"detail": f"Content-Encoding {enc!r} not supported (gzip or none)"})
        scope = dict(scope)
        scope["momentsense.body_sha256"] = hashlib.sha256(bytes(body)).hexdigest()
        scope["momentsense.received_t"] = time.time()
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class TokenBuckets:
    """Token buckets by key: ``rate_per_s`` refill, ``burst`` size; ``rate_per_s <= 0`` disables them.

    At most ``max_keys`` keys are kept (idle full buckets are dropped first), so random keys from an
    attacker cannot grow memory without bound. Thread-safe.
    """

    def __init__(self, rate_per_s: float, burst: float, max_keys: int = 100_000):
        self.rate = float(rate_per_s)
        self.burst = max(float(burst), 1.0)
        self.max_keys = int(max_keys)
        self._b: "collections.OrderedDict[str, tuple[float, float]]" = collections.OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _level(self, key: str, now: float) -> float:
        tokens, last = self._b.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def take(self, key: str, n: float = 1.0) -> float:
        """Take ``n`` tokens; returns 0 when granted, else the seconds until they would be."""
        if not self.enabled:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens = self._level(key, now)
            ok = tokens >= n
            self._b[key] = (tokens - n if ok else tokens, now)
            self._b.move_to_end(key)
            while len(self._b) > self.max_keys:
                self._b.popitem(last=False)
            return 0.0 if ok else (n - tokens) / self.rate

    def wait_s(self, key: str, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are available, without taking any (0: available now)."""
        if not self.enabled:
            return 0.0
        with self._lock:
            tokens = self._level(key, time.monotonic())
        return 0.0 if tokens >= n else (n - tokens) / self.rate


def retry_after(wait_s: float) -> str:
    """``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))


class AdmissionGate:
    """At most ``max_inflight`` requests at once; up to ``max_queue`` more wait at most ``max_wait_s``.

    A request that finds the queue full, or waits too long, is refused (the middleware answers 503).
    A freed slot is handed to the oldest waiter directly. Works across event loops (each waiter is
    woken on its own loop), so a test client running one loop per request can share it.
    """

    def __init__(self, max_inflight: int, max_queue: int, max_wait_s: float):
        self.max_inflight = max(1, int(max_inflight))
        self.max_queue = max(0, int(max_queue))
        self.max_wait_s = float(max_wait_s)
        self.inflight = 0
        self._waiters: collections.deque = collections.deque()
        self._lock = threading.Lock()

    async def acquire(self) -> bool:
        with self._lock:
            if self.inflight < self.max_inflight and not self._waiters:
                self.inflight += 1
                return True
            if len(self._waiters) >= self.max_queue:
                return False
            loop = asyncio.get_running_loop()
            waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter[1]), self.max_wait_s)
            return True
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            with self._lock:
                if waiter in self._waiters:  # not handed a slot: give up
                    self._waiters.remove(waiter)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    return False
            if isinstance(exc, asyncio.CancelledError):  # handed a slot while cancelled: pass it on
                self.release()
                raise
            return True

    def release(self) -> None:
        with self._lock:
            if self._waiters:  # the slot goes to the oldest waiter; inflight stays the same
                loop, fut = self._waiters.popleft()
                loop.call_soon_threadsafe(lambda f=fut: f.done() or f.set_result(None))
                return
            self.inflight -= 1


async def _drain(receive, limit_bytes: int = 1 << 20, timeout_s: float = 0.5) -> None:
    """Read and drop the request body (bounded), so the keep-alive connection survives the refusal."""
    async def go():
        n, more = 0, True
        while more and n <= limit_bytes:
            msg = await receive()
            if msg["type"] != "http.request":
                return
            n += len(msg.get("body", b""))
            more = msg.get("more_body", False)

    try:
        await asyncio.wait_for(go(), timeout_s)
    except asyncio.TimeoutError:
        pass


class AdmissionMiddleware:
    """Back-pressure: requests beyond the gate (:class:`AdmissionGate`) get 503 with ``Retry-After``
    at once instead of queueing without bound; ``exempt`` paths (``/health``) always pass."""

    def __init__(self, app, gate: AdmissionGate, retry_after_s: int = 1,
                 exempt: tuple = ("/health", "/openapi.json", "/docs")):  # fmt: skip
        self.app = app
        self.gate = gate
        self.retry_after = str(max(1, int(retry_after_s))).encode()
        self.exempt = exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            return await self.app(scope, receive, send)
        if not await self.gate.acquire():
            await _drain(receive)
            return await _send_json(send, 503, error_body(503, "server saturated; retry later", "overloaded"),
                                    ((b"retry-after", self.retry_after),))  # fmt: skip
        try:
            return await self.app(scope, receive, send)
        finally:
            self.gate.release()
