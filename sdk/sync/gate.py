"""The consent gate of the upload path: which data kinds may leave the phone now.

Every upload step asks here, just before it acts: the queue before it stores a batch, the client
before it sends each batch or feedback, the uploader before it builds a day. The answer is read from
the :class:`~sdk.consent.ConsentManager` each time (no caching), so a revoke takes effect at the
next step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from momentsense.sdk.consent import DATA_KINDS, ConsentError

if TYPE_CHECKING:
    from momentsense.sdk.consent import ConsentManager

#: The consent purpose of uploading.
SYNC_PURPOSE = "sync"


def sync_kinds(consent: Optional["ConsentManager"]) -> tuple[str, ...]:
    """Data kinds with ``sync`` consent now (``()`` when none). ``consent`` None: no gate (every kind),
    for server-side tools and tests that drive the client directly; the SDK always passes one."""
    if consent is None:
        return DATA_KINDS
    return tuple(k for k in DATA_KINDS if consent.allowed(k, SYNC_PURPOSE))


def require_sync(consent: Optional["ConsentManager"]) -> None:
    """Raise :class:`~sdk.consent.ConsentError` unless at least one data kind has ``sync`` consent."""
    if not sync_kinds(consent):
        raise ConsentError("nothing may be uploaded: no data kind has 'sync' consent "
                           "(grant('location', 'sync') and/or grant('motion', 'sync'))")
