"""ASGI middleware: request body size limits, gzip request bodies, and a per-key rate limit."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import zlib


async def _send_json(send, status: int, body: dict, headers: tuple = ()) -> None:
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
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


class RateLimitMiddleware:
    """Token bucket per API key (per client address without one): ``rate_per_s`` refill, ``burst`` size.
    Over the limit: 429 with ``Retry-After`` (whole seconds). ``rate_per_s <= 0`` disables it."""

    def __init__(self, app, rate_per_s: float, burst: float, exempt: tuple = ("/health", "/openapi.json")):
        self.app = app
        self.rate = float(rate_per_s)
        self.burst = max(float(burst), 1.0)
        self.exempt = exempt
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _take(self, who: str) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1.0 - tokens) / self.rate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.rate <= 0 or scope.get("path") in self.exempt:
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"x-api-key")
        who = "k:" + hashlib.sha256(key).hexdigest() if key else "a:" + str((scope.get("client") or ("?",))[0])
        wait = self._take(who)
        if wait > 0:
            return await _send_json(send, 429, {"detail": "rate limit exceeded"},
                                    ((b"retry-after", str(max(1, math.ceil(wait))).encode()),))  # fmt: skip
        return await self.app(scope, receive, send)
