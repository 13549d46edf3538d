"""Sync client: batches of day payloads, gzip, retries with backoff, offline queue, erasure.

Protocol (served by ``momentsense serve``, see ``trainer/server``):

* ``POST /v1/ingest`` with a gzip JSON body ``{"days": [day payload, ...]}`` and headers ``X-Api-Key``
  (per app), ``X-Install-Token`` (``<install_id>.<secret>``, per install), ``Idempotency-Key`` (per
  batch, fixed when queued) and ``Content-Encoding: gzip``;
* ``POST /v1/feedback``, ``DELETE /v1/me`` (erasure, answers a confirmation), ``GET /v1/models``...

Retries: timeouts, connection errors and 5xx are retried with exponential backoff and full jitter
(``uniform(0, min(backoff_max_s, backoff_base_s * 2**attempt))``); 429 waits ``Retry-After``; other
4xx are not retried (401/403 stop the flush and keep the batch; 400/413/422 reject the batch).
Because every batch keeps its idempotency key, a retry after a lost response creates no duplicate.
"""

from __future__ import annotations

import dataclasses
import email.utils
import gzip
import json
import logging
import os
import random
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Callable, Optional, Sequence

import requests

from momentsense.sdk.errors import InputError, MomentsenseError
from momentsense.sdk.sync.queue import UploadQueue

log = logging.getLogger(__name__)
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


class SyncError(MomentsenseError):
    """The server could not be reached or refused a request that must succeed (e.g. erasure)."""


@dataclasses.dataclass(frozen=True)
class InstallIdentity:
    """Per-install credentials: ``install_id`` (32 hex) and ``secret`` (64 hex); never the user's identity."""

    install_id: str
    secret: str

    @property
    def token(self) -> str:
        return f"{self.install_id}.{self.secret}"


def load_or_create_install(path: str | Path) -> InstallIdentity:
    """Read the install identity from ``path`` (JSON) or create it (mode 0600)."""
    path = Path(path)
    if path.exists():
        d = json.loads(path.read_text())
        return InstallIdentity(str(d["install_id"]), str(d["secret"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    ident = InstallIdentity(uuid.uuid4().hex, secrets.token_hex(32))
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(dataclasses.asdict(ident), f)
    return ident


@dataclasses.dataclass(frozen=True)
class SyncOptions:
    """Options of :class:`SyncClient`.

    Attributes:
        base_url: Server root, e.g. ``https://sync.example.com``.
        api_key: The app's API key.
        install: This install's identity (:func:`load_or_create_install`).
        days_per_batch: Day payloads per upload request.
        timeout_s: Connect and read timeout per request, s.
        max_attempts: Tries per batch within one :meth:`SyncClient.flush` before giving up until later.
        backoff_base_s, backoff_max_s: Exponential backoff bounds, s (full jitter).
        max_retry_after_s: Longest ``Retry-After`` waited inside a flush; longer ones end the flush.
        wifi_only, charging_only: Upload only when ``is_on_wifi()`` / ``is_charging()`` say so.
        is_on_wifi, is_charging: Platform callbacks; None counts as "no" when the policy is on.
    """

    base_url: str
    api_key: str
    install: InstallIdentity
    days_per_batch: int = 7
    timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 120.0
    wifi_only: bool = False
    charging_only: bool = False
    is_on_wifi: Optional[Callable[[], bool]] = None
    is_charging: Optional[Callable[[], bool]] = None

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://, got {self.base_url!r}")
        if not self.api_key:
            raise InputError("api_key must not be empty")
        if self.days_per_batch < 1 or self.max_attempts < 1 or self.timeout_s <= 0:
            raise InputError(f"need days_per_batch >= 1, max_attempts >= 1, timeout_s > 0; got "
                             f"{self.days_per_batch}, {self.max_attempts}, {self.timeout_s}")  # fmt: skip
        if self.backoff_base_s < 0 or self.backoff_max_s < self.backoff_base_s:
            raise InputError(f"need 0 <= backoff_base_s <= backoff_max_s, got {self.backoff_base_s}, {self.backoff_max_s}")


@dataclasses.dataclass
class FlushResult:
    """What one :meth:`SyncClient.flush` did.

    Attributes:
        sent: Idempotency keys the server accepted.
        rejected: Keys refused for good (4xx), with the reason in the queue.
        remaining: Batches still queued.
        deferred: Why the flush stopped early (``wifi``, ``charging``, ``unreachable``, ``auth``,
            ``rate_limited``) or None.
        attempts: HTTP requests made.
        errors: One line per failed request.
        responses: The server's JSON answers for the accepted batches.
    """

    sent: list = dataclasses.field(default_factory=list)
    rejected: list = dataclasses.field(default_factory=list)
    remaining: int = 0
    deferred: Optional[str] = None
    attempts: int = 0
    errors: list = dataclasses.field(default_factory=list)
    responses: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ErasureResult:
    """Local erasure done (``local_erased``), queued batches dropped, the server's confirmation (or None)."""

    local_erased: bool
    batches_dropped: int
    server_confirmation: Optional[dict]


def _retry_after_s(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


class SyncClient:
    """Uploads queued day payloads; see the module docstring for the protocol.

    Parameters
    ----------
    options : SyncOptions
    queue : UploadQueue
    session : requests.Session, optional
    sleep : callable
        ``sleep(seconds)``; tests pass a fake.
    rng : random.Random, optional
        Jitter source (seeded in tests).
    """

    def __init__(self, options: SyncOptions, queue: UploadQueue, session: Optional[requests.Session] = None,
                 sleep: Callable[[float], None] = time.sleep, rng: Optional[random.Random] = None):  # fmt: skip
        self.options = options
        self.queue = queue
        self.session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng or random.Random()

    # -- queueing ----------------------------------------------------------------------------
    def enqueue_days(self, payloads: Sequence[dict]) -> list[str]:
        """Split day payloads into batches of ``days_per_batch``, gzip each, queue; returns the keys."""
        keys = []
        n = self.options.days_per_batch
        for i in range(0, len(payloads), n):
            chunk = list(payloads[i : i + n])
            for p in chunk:
                if not isinstance(p, dict) or p.get("format") != "momentsense-sync-day-v1":
                    raise InputError("enqueue_days takes payloads from sdk.sync.payload.build_day_payload")
            body = gzip.compress(json.dumps({"days": chunk}, separators=(",", ":")).encode("utf-8"))
            keys.append(self.queue.put(body, len(chunk)))
        return keys

    # -- HTTP --------------------------------------------------------------------------------
    def _headers(self, extra: Optional[dict] = None) -> dict:
        h = {"X-Api-Key": self.options.api_key, "X-Install-Token": self.options.install.token,
             "User-Agent": "momentsense-sdk/0.1"}  # fmt: skip
        h.update(extra or {})
        return h

    def _backoff_s(self, attempt: int) -> float:
        o = self.options
        return self._rng.uniform(0.0, min(o.backoff_max_s, o.backoff_base_s * (2.0**attempt)))

    def _request(self, method: str, path: str, result: FlushResult, **kw) -> tuple[Optional[requests.Response], str]:
        """Send with retries. Returns (response, outcome): ``ok``, ``rejected``, ``auth``, ``rate_limited``,
        ``unreachable`` (response None or the last one)."""
        o = self.options
        url = o.base_url.rstrip("/") + path
        resp = None
        for attempt in range(o.max_attempts):
            result.attempts += 1
            try:
                resp = self.session.request(method, url, timeout=o.timeout_s, **kw)
            except (requests.Timeout, requests.ConnectionError) as exc:
                result.errors.append(f"{method} {path}: {type(exc).__name__}")
                resp = None
            else:
                if resp.status_code < 300:
                    return resp, "ok"
                result.errors.append(f"{method} {path}: HTTP {resp.status_code}")
                if resp.status_code == 429:
                    wait = _retry_after_s(resp.headers.get("Retry-After"))
                    wait = self._backoff_s(attempt) if wait is None else wait
                    if wait > o.max_retry_after_s:
                        return resp, "rate_limited"
                    self._sleep(wait)
                    continue
                if resp.status_code in (401, 403):
                    return resp, "auth"
                if resp.status_code == 408:
                    pass  # request timeout: retry like a timeout
                elif resp.status_code < 500:
                    return resp, "rejected"
            if attempt + 1 < o.max_attempts:
                self._sleep(self._backoff_s(attempt))
        return resp, "unreachable"

    def _policy_blocks(self) -> Optional[str]:
        o = self.options
        for on, cb, name in ((o.wifi_only, o.is_on_wifi, "wifi"), (o.charging_only, o.is_charging, "charging")):
            if on:
                try:
                    ok = bool(cb()) if cb is not None else False
                except Exception:  # platform callback failed: do not upload
                    log.exception("sync policy callback %s failed", name)
                    ok = False
                if not ok:
                    return name
        return None

    def flush(self, max_batches: Optional[int] = None) -> FlushResult:
        """Send due batches oldest first (a pending erasure request goes first); see :class:`FlushResult`."""
        res = FlushResult()
        blocked = self._policy_blocks()
        if blocked:
            res.deferred = blocked
            res.remaining = len(self.queue)
            return res
        if self.queue.flag("erase_pending"):  # an erasure the server has not confirmed yet goes first
            try:
                self._send_erasure(res)
            except SyncError:
                res.deferred = "erasure_pending"
                res.remaining = len(self.queue)
                return res
        for i, batch in enumerate(self.queue.pending()):
            if max_batches is not None and i >= max_batches:
                break
            resp, outcome = self._request(
                "POST", "/v1/ingest", res, data=batch.body,
                headers=self._headers({"Idempotency-Key": batch.key, "Content-Encoding": "gzip",
                                       "Content-Type": "application/json"}),
            )  # fmt: skip
            if outcome == "ok":
                self.queue.ack(batch.key)
                res.sent.append(batch.key)
                try:
                    res.responses.append(resp.json())
                except ValueError:
                    res.responses.append({})
                continue
            detail = f"HTTP {resp.status_code}: {resp.text[:200]}" if resp is not None else (res.errors[-1] if res.errors else "")
            if outcome == "rejected":
                self.queue.reject(batch.key, detail)
                res.rejected.append(batch.key)
                continue
            wait = self._backoff_s(batch.attempts + 1)
            if outcome == "rate_limited":
                wait = _retry_after_s(resp.headers.get("Retry-After")) or wait
            self.queue.failed(batch.key, detail, time.time() + wait)
            res.deferred = outcome
            break
        res.remaining = len(self.queue)
        return res

    # -- other calls -------------------------------------------------------------------------
    def send_feedback(self, items: Sequence[dict]) -> dict:
        """Post label corrections ``[{"event_id", "field": "mode"|"category", "value"}]``; returns the answer."""
        res = FlushResult()
        resp, outcome = self._request("POST", "/v1/feedback", res, json={"items": list(items)}, headers=self._headers())
        if outcome != "ok":
            raise SyncError(f"feedback not accepted ({outcome}): {res.errors[-1] if res.errors else ''}")
        return resp.json()

    def erase(self, erase_local: Optional[Callable[[], None]] = None) -> ErasureResult:
        """The right to erasure: delete the user's data here, then ask the server to delete theirs.

        The request is first recorded in the queue file (so it survives a crash or being offline),
        then ``erase_local()`` runs (e.g. the timeline store's deletion of every kind, then the salt
        file), queued batches are dropped, and ``DELETE /v1/me`` is sent with retries. If the server
        does not confirm, :class:`SyncError` is raised (local data is already gone) and the next
        :meth:`flush` sends the erasure before anything else.
        """
        self.queue.set_flag("erase_pending", True)
        local = False
        if erase_local is not None:
            erase_local()
            local = True
        dropped = self.queue.clear()
        conf = self._send_erasure(FlushResult())
        return ErasureResult(local, dropped, conf)

    def _send_erasure(self, res: FlushResult) -> dict:
        resp, outcome = self._request("DELETE", "/v1/me", res, headers=self._headers())
        if outcome != "ok":
            raise SyncError(f"erasure not confirmed by the server ({outcome}); local data was erased; "
                            "it is sent again on the next flush")  # fmt: skip
        try:
            conf = resp.json()
        except ValueError:
            conf = {}
        if not conf.get("erased"):
            raise SyncError(f"server answered without confirming erasure: {conf}")
        self.queue.set_flag("erase_pending", False)
        res.responses.append(conf)
        return conf

    def close(self) -> None:
        self.session.close()
