"""Sending the user's corrections to the sync server, behind the sync consent (plain Python).

:func:`sync_corrections` is the one function the app calls ("Sync now" in Settings, and after a
correction when sync is on). Today it posts the pending corrections with the SDK's
``SyncClient.send_feedback``; once ``MomentSDK.sync()`` sends pending feedback itself, the body of
this function becomes that call and nothing else in the app changes.

Files: ``<data_dir>/sync/`` holds the upload queue, the per-user salt (event ids are HMACs with it, so
it must be the same salt the day uploads use) and the install identity; revoking consent deletes them.
Place names never leave the phone; corrections of fields the server does not accept yet stay queued.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional

from journeys.stores import SERVER_FIELDS, CorrectionStore, feedback_items

SYNC_DIR = "sync"
#: Most items per ``POST /v1/feedback`` (the server's limit).
MAX_ITEMS = 500


@dataclasses.dataclass
class SyncResult:
    """What one sync did.

    Attributes:
        sent: Corrections the server accepted (marked synced).
        waiting: Corrections still queued afterwards (no consent, offline, or a field the server does not take yet).
        note: A sentence for the user ("" when everything went).
    """

    sent: int
    waiting: int
    note: str = ""


def salt_path(data_dir: os.PathLike) -> Path:
    return Path(data_dir) / SYNC_DIR / "salt.bin"


def load_salt(data_dir: os.PathLike) -> bytes:
    """The per-user salt (created on first use; see :func:`sdk.sync.payload.load_or_create_salt`)."""
    from momentsense.sdk.sync.payload import load_or_create_salt

    return load_or_create_salt(salt_path(data_dir))


def make_client(data_dir: os.PathLike, base_url: str, api_key: str, session=None):
    """A :class:`sdk.sync.client.SyncClient` with its queue and identity in ``<data_dir>/sync/``."""
    from momentsense.sdk.sync.client import SyncClient, SyncOptions, load_or_create_install
    from momentsense.sdk.sync.queue import UploadQueue

    folder = Path(data_dir) / SYNC_DIR
    folder.mkdir(parents=True, exist_ok=True)
    opts = SyncOptions(base_url=base_url, api_key=api_key, install=load_or_create_install(folder / "install.json"), max_attempts=2)
    return SyncClient(opts, UploadQueue(folder / "queue.sqlite"), session=session)


def sync_corrections(store: CorrectionStore, client, salt: bytes, allowed: bool, fields=SERVER_FIELDS) -> SyncResult:
    """Send pending corrections with ``client.send_feedback`` and mark the accepted ones synced.

    Parameters
    ----------
    store : CorrectionStore
    client : SyncClient or None
        None: no sync service configured (nothing is sent).
    salt : bytes
        The per-user salt the day uploads use (:func:`load_salt`).
    allowed : bool
        The user's sync consent (``Consent.sync_granted()``); False sends nothing.
    fields : set of str
        Feedback fields the server accepts; corrections of other fields stay queued.
    """
    pending = store.pending()
    if not allowed:
        return SyncResult(0, len(pending), "Sharing is off: corrections stay on this phone.")
    if client is None:
        return SyncResult(0, len(pending), "No sync service is set up in this build.")
    sendable = [c for c in pending if c.field in fields and c.item_kind in ("trip", "visit")]
    sent = 0
    note = ""
    for i in range(0, len(sendable), MAX_ITEMS):
        batch = sendable[i : i + MAX_ITEMS]
        items = feedback_items(batch, salt, fields)
        try:
            client.send_feedback(items)
        except Exception as exc:  # SyncError, or the network: keep them queued, say so
            note = "Could not reach the sync service; corrections stay queued and go next time."
            from journeys.bridge import log

            log.warning("feedback not sent: %s", exc)
            break
        sent += store.mark_synced([c.correction_id for c in batch])
    waiting = len(store.pending())
    if not note and waiting:
        note = f"{waiting} {'correction waits' if waiting == 1 else 'corrections wait'} until the sync service accepts them."
    return SyncResult(sent, waiting, note)


def describe(result: Optional[SyncResult]) -> str:
    """One line for Settings."""
    if result is None:
        return ""
    head = f"Sent {result.sent} {'correction' if result.sent == 1 else 'corrections'}." if result.sent else "Nothing sent."
    return f"{head} {result.note}".strip()
