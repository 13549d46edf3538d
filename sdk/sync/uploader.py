"""The uploader: day payloads from the local timeline, the offline queue, the client, the feedback.

What :meth:`Uploader.sync` does, in order, each step behind the consent gate (:mod:`sdk.sync.gate`):

1. decides which data kinds may leave the phone now (``sync`` consent per kind); with none, it drops
   whatever is queued and returns without a request;
2. builds one ``momentsense-sync-day-v1`` payload (:mod:`sdk.sync.payload`) per local day from the
   last synced day to the newest data, carrying only what every kind it derives from may upload:
   visits need ``location``; trips, driving scores, moments and segments need ``location`` and
   ``motion``;
3. queues them (durable, gzip, idempotency keys) and flushes the queue to the server;
4. sends the pending corrections whose kind has both ``sync`` and ``training`` consent as feedback,
   and marks them sent.

Revoking ``sync`` for any kind drops every queued batch at once (a revoke hook); the next sync
rebuilds the days with what may still be uploaded. Erasure deletes the local data, the queue and the
corrections, then asks the server to erase (``DELETE /v1/me``), and is sent even without consent.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Optional, Sequence

from momentsense.sdk.errors import InputError
from momentsense.sdk.insights import in_visits
from momentsense.sdk.sync.client import ErasureResult, SyncClient, SyncOptions, load_or_create_install
from momentsense.sdk.sync.corrections import ITEM_KINDS, CorrectionLog
from momentsense.sdk.sync.gate import SYNC_PURPOSE, sync_kinds
from momentsense.sdk.sync.payload import PayloadOptions, build_day_payload, event_id, load_or_create_salt, sync_day_from_store
from momentsense.sdk.sync.queue import UploadQueue

if TYPE_CHECKING:
    from momentsense.sdk.consent import ConsentManager
    from momentsense.sdk.timeline.store import DayTimeline, TimelineStore

log = logging.getLogger(__name__)

#: Correction kind → (event kind of :func:`sdk.sync.payload.event_id`, feedback field of
#: :data:`sdk.sync.schema.FEEDBACK_KINDS`). The day
#: payload carries no single transport events (trips carry the modes), so ``event`` corrections get
#: ids of kind ``transport`` that the server reports as unknown until it learns them.
CORRECTION_FIELDS = {"event": ("transport", "mode"), "visit": ("visit", "category"), "trip": ("trip", "mode")}
#: Purpose a correction needs beside ``sync``: feedback is used to retrain the models.
TRAINING_PURPOSE = "training"
#: Drives that lie more than this fraction inside GPS stays are a still phone misread as a car: not uploaded.
MAX_DRIVE_IN_VISITS = 0.5

#: ``extras(day_timeline) -> {"moments": [...], "segments": {...}}``: fields of a day the store does not hold.
DayExtras = Callable[["DayTimeline"], Mapping]


@dataclasses.dataclass(frozen=True)
class SyncResult:
    """What one :meth:`Uploader.sync` did.

    Attributes:
        kinds: Data kinds that had ``sync`` consent (``()``: nothing was built or sent).
        days_built: Local days (``YYYY-MM-DD``) whose payloads were queued.
        batches_sent: Batches the server accepted.
        remaining: Batches still queued (retried at the next sync).
        dropped: Batches dropped from the queue for want of consent.
        corrections_sent: Corrections the server accepted.
        deferred: Why the upload stopped early (``consent``, ``unreachable``, ``auth``, ``wifi``...) or None.
        errors: One line per failed request.
        payload_bytes: Compact-JSON bytes of the payloads built.
    """

    kinds: tuple = ()
    days_built: tuple = ()
    batches_sent: int = 0
    remaining: int = 0
    dropped: int = 0
    corrections_sent: int = 0
    deferred: Optional[str] = None
    errors: tuple = ()
    payload_bytes: int = 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def filter_day(day, kinds: Sequence[str]):
    """``day`` (:class:`~sdk.sync.payload.SyncDay`) with only what ``kinds`` may upload (see the module docstring)."""
    loc, both = "location" in kinds, "location" in kinds and "motion" in kinds
    return dataclasses.replace(
        day, visits=day.visits if loc else (), trips=day.trips if both else (),
        driving_scores=day.driving_scores if both else (), moments=day.moments if both else (),
        segments=day.segments if both else {}, places=day.places if loc else ())  # fmt: skip


class Uploader:
    """Uploads the local timeline and the user's corrections; see the module docstring.

    Parameters
    ----------
    store : TimelineStore or TimelineReader
        The local timeline (only read: ``timeline``, ``places``, ``last``, ``query``).
    consent : ConsentManager
        Asked before every step; required (an uploader without a consent gate does not exist).
    options : SyncOptions
        Server, API key, batching, retries; ``install`` None loads or creates ``state_dir/install.json``.
    state_dir : str or Path
        Folder of the uploader's files: ``salt.bin`` (never leaves the phone), ``install.json``,
        ``upload_queue.sqlite``, ``corrections.sqlite``, ``sync_state.json``.
    payload_options : PayloadOptions
        Time/distance rounding and the coarse-location opt-in.
    tz_offset_s : float
        Local time minus UTC, s: days are local days.
    session, sleep :
        Passed to :class:`~sdk.sync.client.SyncClient` (tests pass fakes).
    """

    def __init__(self, store: "TimelineStore", consent: "ConsentManager", options: SyncOptions,
                 state_dir: str | Path, payload_options: PayloadOptions = PayloadOptions(),
                 tz_offset_s: float = 0.0, session=None, sleep=None):  # fmt: skip
        if consent is None:
            raise InputError("the uploader needs the app's ConsentManager: nothing is uploaded without 'sync' consent")
        if not isinstance(options, SyncOptions):
            raise InputError(f"options must be a SyncOptions, got {type(options).__name__}")
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._store, self._consent, self._payload_options = store, consent, payload_options
        self._tz = float(tz_offset_s)
        self._salt = load_or_create_salt(self.state_dir / "salt.bin")
        if options.install is None:
            options = dataclasses.replace(options, install=load_or_create_install(self.state_dir / "install.json"))
        self.queue = UploadQueue(self.state_dir / "upload_queue.sqlite", consent=consent)
        kw = {} if sleep is None else {"sleep": sleep}
        self.client = SyncClient(options, self.queue, session=session, consent=consent, **kw)
        self.corrections = CorrectionLog(self.state_dir / "corrections.sqlite")
        #: The payloads the latest :meth:`sync` built (JSON-ready dicts), for inspection.
        self.last_payloads: list[dict] = []
        self._hook = self._on_revoke
        consent.add_revoke_hook(self._hook)

    # -- consent ---------------------------------------------------------------------------------
    def _on_revoke(self, kind: str, purpose: str) -> None:
        if purpose in (SYNC_PURPOSE, "*"):
            n = self.queue.clear()
            log.info("sync consent for %s revoked: %d queued batches dropped", kind, n)

    # -- state -----------------------------------------------------------------------------------
    def _state_path(self) -> Path:
        return self.state_dir / "sync_state.json"

    def _last_day(self) -> Optional[datetime.date]:
        try:
            return datetime.date.fromisoformat(json.loads(self._state_path().read_text())["last_day"])
        except (FileNotFoundError, KeyError, ValueError):
            return None

    def _save_last_day(self, day: datetime.date) -> None:
        tmp = self._state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps({"last_day": day.isoformat()}))
        tmp.replace(self._state_path())

    def _local_day(self, t: float) -> datetime.date:
        return datetime.datetime.fromtimestamp(float(t) + self._tz, datetime.timezone.utc).date()

    def days_to_sync(self) -> list[datetime.date]:
        """Local days from the last synced one (sent again: it may have grown) to the newest data."""
        last = [r for r in (self._store.last(k) for k in ("event", "visit", "trip")) if r is not None]
        if not last:
            return []
        newest = self._local_day(max(r.end for r in last))
        first = self._last_day()
        if first is None:
            starts = [rs[0].start for rs in (self._store.query(k) for k in ("event", "visit", "trip")) if rs]
            first = self._local_day(min(starts))
        n = (newest - first).days
        return [first + datetime.timedelta(days=i) for i in range(max(n, 0) + 1)]

    # -- building --------------------------------------------------------------------------------
    def build_payloads(self, kinds: Sequence[str], extras: Optional[DayExtras] = None,
                       days: Optional[Sequence[datetime.date]] = None) -> list[dict]:  # fmt: skip
        """Day payloads for ``days`` (default :meth:`days_to_sync`) holding only what ``kinds`` may upload.

        Drives lying mostly inside GPS stays (a still phone misread as a car) are left out.
        """
        places = self._store.places()
        out = []
        for day in self.days_to_sync() if days is None else days:
            tl = self._store.timeline(day, self._tz)
            fields = dict(extras(tl)) if extras is not None else {}
            rec = sync_day_from_store(tl, places, **fields)
            drives = tuple(s for s in rec.driving_scores
                           if in_visits(s.trip_start, s.trip_end, tl.visits) <= MAX_DRIVE_IN_VISITS)  # fmt: skip
            rec = filter_day(dataclasses.replace(rec, driving_scores=drives), kinds)
            if rec.visits or rec.trips or rec.driving_scores:
                out.append(build_day_payload(rec, self._salt, self._payload_options, revision=self.queue.next_revision()))
        return out

    # -- syncing ---------------------------------------------------------------------------------
    def feedback_items(self, corrections: Sequence) -> list[dict]:
        """Corrections as ``send_feedback`` items ``{"event_id", "field", "value"}`` (ids as in the payloads)."""
        out = []
        for c in corrections:
            kind, field = CORRECTION_FIELDS[c.item_kind]
            out.append({"event_id": event_id(self._salt, kind, c.item_start, c.item_end), "field": field,
                        "value": c.corrected_label})  # fmt: skip
        return out

    def sync(self, extras: Optional[DayExtras] = None, days: Optional[Sequence[datetime.date]] = None) -> SyncResult:
        """Build, queue and send the new days (or ``days``), then the pending corrections; see the
        module docstring."""
        kinds = sync_kinds(self._consent)
        if not kinds:
            dropped = self.queue.clear()
            return SyncResult(deferred="consent", dropped=dropped)
        days = self.days_to_sync() if days is None else list(days)
        payloads = self.build_payloads(kinds, extras, days)
        self.last_payloads = payloads
        self.client.enqueue_days(payloads)
        res = self.client.flush()
        if days and res.deferred is None:
            self._save_last_day(days[-1])
        sent_corr, errors = 0, list(res.errors)
        allowed = [k for k, data_kind in ITEM_KINDS.items()
                   if data_kind in sync_kinds(self._consent) and self._consent.allowed(data_kind, TRAINING_PURPOSE)]  # fmt: skip
        pending = self.corrections.pending(allowed) if res.deferred is None else []
        for i in range(0, len(pending), 500):  # the server takes at most 500 items per request
            part = pending[i : i + 500]
            try:
                self.client.send_feedback(self.feedback_items(part))
            except Exception as exc:  # noqa: BLE001 - kept for the next sync, reported here
                errors.append(f"feedback: {exc}")
                break
            sent_corr += self.corrections.mark_sent(c.correction_id for c in part)
        size = sum(len(json.dumps(p, separators=(",", ":")).encode()) for p in payloads)
        return SyncResult(kinds, tuple(p["day"] for p in payloads), len(res.sent), res.remaining,
                          0 if res.deferred != "consent" else len(payloads), sent_corr, res.deferred,
                          tuple(errors), size)  # fmt: skip

    def erase(self, erase_local: Optional[Callable[[], None]] = None) -> ErasureResult:
        """Erase here (``erase_local()``, the corrections, the queue, the sync state), then ask the
        server to erase; see :meth:`SyncClient.erase` (raises :class:`~sdk.sync.client.SyncError`
        when the server does not confirm; the request is sent again at the next sync)."""

        def local() -> None:
            if erase_local is not None:
                erase_local()
            self.corrections.delete_all()
            self._state_path().unlink(missing_ok=True)
            # a new salt makes every place and event id sent before unlinkable to what comes after
            (self.state_dir / "salt.bin").unlink(missing_ok=True)
            self._salt = load_or_create_salt(self.state_dir / "salt.bin")

        return self.client.erase(local)

    def close(self) -> None:
        """Stop listening to consent changes and close the files (safe twice)."""
        self._consent.remove_revoke_hook(self._hook)
        self.queue.close()
        self.client.close()
