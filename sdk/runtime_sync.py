"""Upload, corrections and erasure of :class:`~sdk.runtime.MomentSDK` (its ``sync()`` family).

Uploading is configured by ``SDKConfig.sync`` (:class:`~sdk.sync.client.SyncOptions`: server, API
key, batching) and ``SDKConfig.sync_dir`` (the uploader's files); every call goes through the
consent gate of :mod:`sdk.sync.uploader`: nothing leaves the phone without ``sync`` consent, and
revoking it drops what is queued. ``schedule_sync(every_s)`` runs :meth:`SyncAPI.sync` on a
background thread.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from momentsense.sdk.consent import ConsentError
from momentsense.sdk.errors import InputError

if TYPE_CHECKING:
    from momentsense.sdk.sync.client import ErasureResult
    from momentsense.sdk.sync.corrections import Correction
    from momentsense.sdk.sync.uploader import DayExtras, SyncResult, Uploader

log = logging.getLogger(__name__)


class SyncAPI:
    """The sync methods of :class:`~sdk.runtime.MomentSDK` (a mixin: it reads the SDK's config,
    consent, store, lock and weekly segments)."""

    def _init_sync(self) -> None:
        self._uploader: Optional["Uploader"] = None
        self._sync_thread: Optional[threading.Thread] = None
        self._sync_stop = threading.Event()
        self._sync_lock = threading.Lock()
        self._last_sync: Optional["SyncResult"] = None

    def _sync_dir(self) -> Path:
        cfg = self.config
        if cfg.sync_dir:
            return Path(cfg.sync_dir)
        return Path(cfg.store_path).resolve().parent / "sync"  # SDKConfig checks one of the two is set

    def _get_uploader(self) -> "Uploader":
        from momentsense.sdk.sync.payload import PayloadOptions
        from momentsense.sdk.sync.uploader import Uploader

        if self.config.sync is None:
            raise InputError("uploading is not configured: pass SDKConfig(sync=SyncOptions(base_url, api_key), "
                             "sync_dir=...)")
        if self.consent is None:
            raise ConsentError("uploading needs the app's ConsentManager: MomentSDK(config, consent=...) with "
                               "grant(kind, 'sync') recorded")
        if self._uploader is None:
            self._uploader = Uploader(self._store, self.consent, self.config.sync, self._sync_dir(),
                                      self.config.payload or PayloadOptions(), self.config.tz_offset_s)  # fmt: skip
        return self._uploader

    def sync(self, extras: Optional["DayExtras"] = None) -> "SyncResult":
        """Upload what is new (aggregated day payloads, then the user's corrections) and return a
        :class:`~sdk.sync.uploader.SyncResult`.

        Only data kinds with ``sync`` consent are built and sent; with none, the queue is emptied
        and nothing is sent (``deferred="consent"``). A server that cannot be reached leaves the
        batches queued for the next call (``remaining``). Raises :class:`~sdk.errors.InputError`
        without ``SDKConfig.sync`` and :class:`~sdk.consent.ConsentError` without a consent manager.

        ``extras(day_timeline) -> {"moments": [...], "segments": {...}}`` adds fields the store does
        not hold; default: the latest weekly segments' scores on every day.
        """
        from momentsense.sdk.segments.weekly import segment_scores

        up = self._get_uploader()
        if extras is None:
            scores = segment_scores(self.weekly_segments())

            def extras(day):
                return {"segments": scores}

        with self._sync_lock:
            res = up.sync(extras)
        self._last_sync = res
        return res

    def last_sync(self) -> Optional["SyncResult"]:
        """The result of the latest :meth:`sync` (scheduled or not), or None."""
        return self._last_sync

    def schedule_sync(self, every_s: Optional[float]) -> None:
        """Run :meth:`sync` every ``every_s`` seconds on a background thread (None: stop). A failing
        run is logged and tried again at the next period; :meth:`close` stops the schedule."""
        self._stop_schedule()
        if every_s is None:
            return
        if not (isinstance(every_s, (int, float)) and every_s > 0):
            raise InputError(f"every_s must be a number of seconds > 0 or None, got {every_s!r}")
        self._get_uploader()  # configuration errors at the call, not later in the thread
        self._sync_stop = threading.Event()
        stop = self._sync_stop

        def loop() -> None:
            while not stop.wait(float(every_s)):
                try:
                    self.sync()
                except Exception:
                    log.exception("scheduled sync failed; tried again in %.0f s", every_s)

        self._sync_thread = threading.Thread(target=loop, name="momentsense-sync", daemon=True)
        self._sync_thread.start()

    def _stop_schedule(self) -> None:
        self._sync_stop.set()
        if self._sync_thread is not None:
            self._sync_thread.join(10.0)
            self._sync_thread = None

    def correct(self, item_kind: str, item_start: float, item_end: float, original_label: str,
                corrected_label: str) -> "Correction":  # fmt: skip
        """Record the user's correction of a timeline item (``event``/``trip``: the mode; ``visit``:
        the place category; times unix s). :meth:`sync` sends it when that data kind has ``sync``
        and ``training`` consent."""
        return self._get_uploader().corrections.add(item_kind, item_start, item_end, original_label, corrected_label)

    def pending_corrections(self) -> list:
        """Corrections not sent yet, oldest first."""
        return self._get_uploader().corrections.pending()

    def erase(self) -> "ErasureResult":
        """The right to erasure: stop sensing, delete the local timeline (and, with sync configured,
        the corrections, the upload queue and the salt), then ask the server to delete this
        install's data. Raises :class:`~sdk.sync.client.SyncError` when the server does not confirm
        (local data is gone already; the request is sent again at the next :meth:`sync`)."""
        from momentsense.sdk.sync.client import ErasureResult

        self.stop()

        def local() -> None:
            with self._lock:
                self._events.clear()
                self._live.reset()
                self._last_fix = None
                self._store.delete_all()

        if self.config.sync is None or self.consent is None:
            local()
            return ErasureResult(True, 0, None)
        return self._get_uploader().erase(local)

    def _close_sync(self) -> None:
        self._stop_schedule()
        if self._uploader is not None:
            self._uploader.close()
            self._uploader = None
