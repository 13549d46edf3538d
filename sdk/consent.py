"""Consent per data kind and purpose, logged on the device with timestamps.

Nothing may be sensed or stored for a data kind before the app has recorded consent for it
(:meth:`ConsentManager.require`). Every grant and revoke is appended to a local SQLite log in its own
file, so the current state and its history survive restarts. Revoking calls the registered hooks
(the runtime stops that kind's sensors and erases that kind's local data there); a hook that raises
is logged and reported in the result, never raised into the app.

Data kinds: ``motion`` (accelerometer/gyroscope and what is derived from them: transport modes,
driving) and ``location`` (GPS and what is derived from it: visits, places, trips). Purposes are
short identifiers chosen by the app; the SDK uses ``sensing`` (on-device sensing and the local
timeline), ``sync`` (uploading the aggregated timeline) and ``training`` (feedback used to retrain).

Example
-------
>>> import tempfile, os
>>> cm = ConsentManager(os.path.join(tempfile.mkdtemp(), "consent.sqlite"))
>>> cm.allowed("motion", "sensing")
False
>>> _ = cm.grant("motion", "sensing")
>>> cm.allowed("motion", "sensing")
True
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from momentsense.sdk.errors import InputError, MomentsenseError

log = logging.getLogger(__name__)

#: Data kinds consent is recorded for.
DATA_KINDS = ("motion", "location")
#: Purposes the SDK itself asks for (apps may use other identifiers).
SDK_PURPOSES = ("sensing", "sync", "training")
_PURPOSE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: ``hook(kind, purpose)`` called after a revoke is logged.
RevokeHook = Callable[[str, str], None]


class ConsentError(MomentsenseError, PermissionError):
    """An operation needs a consent that has not been given (or was revoked)."""


@dataclasses.dataclass(frozen=True)
class ConsentRecord:
    """One entry of the consent log.

    Attributes:
        t: Unix seconds when it was recorded.
        kind: ``motion`` or ``location``.
        purpose: The purpose identifier.
        action: ``grant`` or ``revoke``.
        source: Who recorded it (``app``, ``erasure``...), free text.
    """

    t: float
    kind: str
    purpose: str
    action: str
    source: str = "app"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RevokeResult:
    """What a revoke did.

    Attributes:
        revoked: ``(kind, purpose)`` pairs that were granted and are now revoked.
        hooks_called: Number of hook calls made.
        hook_errors: ``"hook: error"`` strings for hooks that raised (logged, not raised).
        elapsed_s: Seconds from the call to the last hook's return.
    """

    revoked: tuple
    hooks_called: int
    hook_errors: tuple
    elapsed_s: float


def _check_kind(kind: str) -> str:
    if kind not in DATA_KINDS:
        raise InputError(f"consent kind must be one of {DATA_KINDS}, got {kind!r}")
    return kind


def _check_purpose(purpose: str) -> str:
    if not isinstance(purpose, str) or not _PURPOSE_RE.match(purpose):
        raise InputError(f"consent purpose must match {_PURPOSE_RE.pattern} (e.g. 'sensing', 'sync'), got {purpose!r}")
    return purpose


def store_erasure_hook(store, purposes: tuple = ("sensing", "*")) -> RevokeHook:
    """A revoke hook that erases ``kind``'s local data through ``store.delete_all(kind)``.

    Only revoking a purpose in ``purposes`` erases (default: on-device ``sensing`` and blanket revokes);
    revoking ``sync`` alone stops uploads but keeps the user's own timeline on the phone.
    """
    if not callable(getattr(store, "delete_all", None)):
        raise InputError(f"store must have a delete_all(kind) method, got {type(store).__name__}")

    def erase(kind: str, purpose: str) -> None:
        if purpose in purposes:
            store.delete_all(kind)

    return erase


class ConsentManager:
    """Grants, revokes and checks consent; the log lives in its own SQLite file.

    Parameters
    ----------
    path : str or Path
        SQLite file of the log (created with its folder if missing).
    clock : callable, optional
        Returns unix seconds; default :func:`time.time` (tests pass a fake clock).
    """

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._hooks: list[RevokeHook] = []
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS consent_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, t REAL NOT NULL, "
            "kind TEXT NOT NULL, purpose TEXT NOT NULL, action TEXT NOT NULL CHECK(action IN ('grant','revoke')), "
            "source TEXT NOT NULL DEFAULT 'app')"
        )

    # -- hooks -------------------------------------------------------------------------------
    def add_revoke_hook(self, hook: RevokeHook) -> None:
        """Call ``hook(kind, purpose)`` after every revoke (e.g. stop sensors, ``store.delete_all(kind)``)."""
        if not callable(hook):
            raise InputError(f"revoke hook must be callable, got {type(hook).__name__}")
        with self._lock:
            self._hooks.append(hook)

    def remove_revoke_hook(self, hook: RevokeHook) -> None:
        with self._lock:
            self._hooks = [h for h in self._hooks if h is not hook]

    # -- state -------------------------------------------------------------------------------
    def _append(self, kind: str, purpose: str, action: str, source: str) -> ConsentRecord:
        rec = ConsentRecord(float(self._clock()), kind, purpose, action, source)
        self._db.execute(
            "INSERT INTO consent_log (t, kind, purpose, action, source) VALUES (?,?,?,?,?)",
            (rec.t, rec.kind, rec.purpose, rec.action, rec.source),
        )
        return rec

    def _state(self) -> dict:
        rows = self._db.execute(
            "SELECT kind, purpose, action FROM consent_log WHERE seq IN "
            "(SELECT MAX(seq) FROM consent_log GROUP BY kind, purpose)"
        ).fetchall()
        return {(k, p): a == "grant" for k, p, a in rows}

    def grant(self, kind: str, purpose: str, source: str = "app") -> ConsentRecord:
        """Record consent for ``kind`` and ``purpose``; returns the logged record."""
        _check_kind(kind), _check_purpose(purpose)
        with self._lock:
            return self._append(kind, purpose, "grant", source)

    def revoke(self, kind: str, purpose: Optional[str] = None, source: str = "app") -> RevokeResult:
        """Revoke ``kind`` for ``purpose`` (None: every purpose), log it, then call the hooks.

        Hooks run synchronously on the caller's thread, once per revoked ``(kind, purpose)``, so when
        this returns the runtime has stopped the sensors and erased the data (see ``elapsed_s``).
        Revoking what was not granted is logged too (the user's wish is recorded) but calls no hook
        unless ``purpose`` is None (a blanket revoke always calls hooks with purpose ``"*"``).
        """
        _check_kind(kind)
        if purpose is not None:
            _check_purpose(purpose)
        t0 = time.perf_counter()
        with self._lock:
            state = self._state()
            if purpose is None:
                targets = [p for (k, p), on in state.items() if k == kind and on]
                for p in targets:
                    self._append(kind, p, "revoke", source)
                calls = [(kind, p) for p in targets] or [(kind, "*")]
                if not targets:
                    self._append(kind, "all", "revoke", source)
            else:
                was_on = state.get((kind, purpose), False)
                self._append(kind, purpose, "revoke", source)
                targets = [purpose] if was_on else []
                calls = [(kind, purpose)] if was_on else []
            hooks = list(self._hooks)
        errors = []
        n = 0
        for k, p in calls:
            for hook in hooks:
                n += 1
                try:
                    hook(k, p)
                except Exception as exc:  # app/runtime code: log and report, never raise into the app
                    log.exception("consent revoke hook %r failed for %s/%s", hook, k, p)
                    errors.append(f"{getattr(hook, '__name__', repr(hook))}: {exc!r}")
        return RevokeResult(tuple((kind, p) for p in targets), n, tuple(errors), time.perf_counter() - t0)

    def allowed(self, kind: str, purpose: str) -> bool:
        """True if the latest log entry for ``(kind, purpose)`` is a grant."""
        _check_kind(kind), _check_purpose(purpose)
        with self._lock:
            return self._state().get((kind, purpose), False)

    def require(self, kind: str, purpose: str) -> None:
        """Raise :class:`ConsentError` unless ``allowed(kind, purpose)``."""
        if not self.allowed(kind, purpose):
            raise ConsentError(f"no consent recorded for {kind!r} data for purpose {purpose!r}; call grant() first")

    def granted(self) -> list[tuple[str, str]]:
        """Every ``(kind, purpose)`` currently granted, sorted."""
        with self._lock:
            return sorted(k for k, on in self._state().items() if on)

    def history(self, kind: Optional[str] = None) -> list[ConsentRecord]:
        """The log in recording order (optionally one kind's only)."""
        if kind is not None:
            _check_kind(kind)
        with self._lock:
            rows = self._db.execute(
                "SELECT t, kind, purpose, action, source FROM consent_log "
                + ("WHERE kind = ? " if kind else "")
                + "ORDER BY seq",
                (kind,) if kind else (),
            ).fetchall()
        return [ConsentRecord(*r) for r in rows]

    def close(self) -> None:
        """Close the log file; safe to call twice."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    def __enter__(self) -> "ConsentManager":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
