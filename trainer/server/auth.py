"""One database session per request, and authentication with its rate limits.

* :class:`RequestDB`: the request's only session. On SQLite a process-wide lock serialises the
  sessions (SQLite has one writer at a time anyway; waiting on a lock is cheaper than the driver's
  busy-wait and cannot fail with "database is locked" inside one process).
* :class:`Authenticator`: API key → app, install token → install (registered on first use, the secret
  pinned for good), then the token buckets: failed authentications per client address (checked
  before any lookup), per install (or per app key and address without an install token), and the
  per-app fleet ceiling. Each over-limit answer is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import re
import threading
import time
from typing import Iterator, Optional

import anyio
from fastapi import Request
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momentsense.trainer.server.db import App, Install, hash_secret
from momentsense.trainer.server.errors import Refusal
from momentsense.trainer.server.limits import TokenBuckets, retry_after

TOKEN_RE = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{64})$", re.ASCII)


class RequestDB:
    """Sessions for requests (see the module docstring); ``engine`` is the server's."""

    def __init__(self, engine):
        self.engine = engine
        self._lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        self.last_ok_t = 0.0  # monotonic time a request's session last ended without an error

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """The request's session; rolled back if the request ends without committing."""
        lock = self._lock if self._lock is not None else contextlib.nullcontext()
        with lock, Session(self.engine) as s:
            yield s
        self.last_ok_t = time.monotonic()

    def _ping(self) -> None:
        with self.engine.connect() as c:
            c.execute(text("SELECT 1"))

    async def ping(self, timeout_s: float) -> bool:
        """Whether the database answers ``SELECT 1`` within ``timeout_s`` (without the SQLite lock).
        A request that used the database successfully within the last second counts as an answer: under
        load ``/health`` then needs no thread and no connection (it must answer while the server is saturated)."""
        if time.monotonic() - self.last_ok_t < 1.0:
            return True
        with anyio.move_on_after(timeout_s):
            try:
                await anyio.to_thread.run_sync(self._ping, abandon_on_cancel=True)
                return True
            except Exception:  # any database failure means "not healthy"
                return False
        return False


def _client(request: Request) -> str:
    return str((request.client.host if request.client else None) or "?")


class Authenticator:
    """Authentication and the limits of :class:`trainer.server.app.ServerSettings`."""

    def __init__(self, settings, cache_size: int = 100_000, app_cache_s: float = 10.0):
        # installs never change their secret, so (app, install) → secret hash is cached without expiry;
        # an app key may be replaced (``serve --add-app``), so key → app id is kept ``app_cache_s`` only
        self._installs: "collections.OrderedDict[tuple, str]" = collections.OrderedDict()
        self._apps: dict = {}
        self._cache_size = int(cache_size)
        self._app_cache_s = float(app_cache_s)
        self._lock = threading.Lock()
        self.per_install = TokenBuckets(settings.rate_per_s, settings.burst)
        w = max(1, int(settings.workers))
        self.per_app = TokenBuckets(settings.app_rate_per_s / w, max(1.0, settings.app_burst / w))
        self.failures = TokenBuckets(settings.auth_fail_per_s, settings.auth_fail_burst)

    def _refuse(self, request: Request, detail: str) -> Refusal:
        self.failures.take(_client(request))
        return Refusal(401, "unauthorized", detail)

    def _guard(self, request: Request) -> None:
        wait = self.failures.wait_s(_client(request))
        if wait > 0:
            raise Refusal(429, "auth_rate_limited", "too many failed authentications from this address",
                          {"Retry-After": retry_after(wait)})  # fmt: skip

    def _limit(self, buckets: TokenBuckets, key: str, reason: str) -> None:
        wait = buckets.take(key)
        if wait > 0:
            raise Refusal(429, reason, "rate limit exceeded", {"Retry-After": retry_after(wait)})

    def _app(self, s: Session, request: Request, api_key: Optional[str]) -> int:
        self._guard(request)
        if not api_key:
            raise self._refuse(request, "X-Api-Key header required")
        h = hash_secret(api_key)
        hit = self._apps.get(h)
        if hit is not None and time.monotonic() - hit[1] < self._app_cache_s:
            app_id = hit[0]
        else:
            app_id = s.scalar(select(App.id).where(App.key_hash == h))
            if app_id is None:
                raise self._refuse(request, "unknown API key")
            with self._lock:
                if len(self._apps) >= self._cache_size:
                    self._apps.clear()
                self._apps[h] = (app_id, time.monotonic())
        self._limit(self.per_app, str(app_id), "app_rate_limited")
        return app_id

    def app(self, s: Session, request: Request, api_key: Optional[str]) -> int:
        """The app id of ``X-Api-Key`` (401 if unknown); limited per app key and client address."""
        app_id = self._app(s, request, api_key)
        key = hashlib.sha256(f"{app_id}:{_client(request)}".encode()).hexdigest()
        self._limit(self.per_install, "a:" + key, "rate_limited")
        return app_id

    def install(self, s: Session, request: Request, api_key: Optional[str], token: Optional[str]) -> tuple[int, str]:
        """``(app_id, install_id)`` of the request (401 if the key or token is wrong); limited per install."""
        app_id = self._app(s, request, api_key)
        m = TOKEN_RE.match(token or "")
        if not m:
            raise self._refuse(request, "X-Install-Token '<32 hex install id>.<64 hex secret>' required")
        install_id, secret = m.groups()
        pinned = self._installs.get((app_id, install_id))
        if pinned is None:
            pinned = self._register(s, app_id, install_id, hash_secret(secret))
        if pinned != hash_secret(secret):
            raise self._refuse(request, "install token does not match this install")
        self._limit(self.per_install, f"i:{app_id}:{install_id}", "rate_limited")
        return app_id, install_id

    def _register(self, s: Session, app_id: int, install_id: str, secret_hash: str) -> str:
        """The install's pinned secret hash; registers it with ``secret_hash`` if it is new."""
        q = select(Install.secret_hash).where(Install.app_id == app_id, Install.install_id == install_id)
        pinned = s.scalar(q)
        if pinned is None:
            try:
                s.add(Install(app_id=app_id, install_id=install_id, secret_hash=secret_hash))
                s.commit()
                pinned = secret_hash
            except IntegrityError:  # registered concurrently
                s.rollback()
                pinned = s.scalar(q)
        if pinned is not None:
            with self._lock:
                self._installs[(app_id, install_id)] = pinned
                while len(self._installs) > self._cache_size:
                    self._installs.popitem(last=False)
        return pinned
