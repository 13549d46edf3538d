"""Sync the demo's days through the SDK's uploader to the real server running in this process.

The server is :class:`trainer.server.loopback.LoopbackServer` (FastAPI + SQLAlchemy on a SQLite
file, uvicorn in a thread on loopback); the client side is the SDK's
:class:`~sdk.sync.uploader.Uploader` reading the SDK's timeline, behind a consent log in which the
simulated person granted ``sync`` for both data kinds. The demo adds what the store does not hold:
the moments it assigned to the trips and the segments it computed.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from momentsense.sdk.sync.payload import day_of
from momentsense.trainer.server.loopback import LoopbackServer  # noqa: F401  (re-exported: the demo's server)


def day_extras(learned):
    """``extras(day_timeline)`` for the uploader: the day's moments and the fired segments' scores."""
    seg = {s["segment"]: 1.0 for s in learned.segments.get("rules", []) if s["active"]}
    seg.update({s["segment"]: s["probability"] for s in learned.segments.get("embedding", []) if s["active"]})

    def extras(tl) -> dict:
        day = tl.day.isoformat()
        return {"moments": [m for m in learned.moments if day_of(m.start, tl.tz_offset_s) == day], "segments": seg}

    return extras


def gzip_bytes(payloads: list) -> int:
    """Bytes of the payloads as the client sends them (compact JSON, gzip), one body per day."""
    return sum(len(gzip.compress(json.dumps({"days": [p]}, separators=(",", ":")).encode())) for p in payloads)


def sync_days(sdk, learned, work: Path) -> dict:
    """Build, queue and upload the days of ``sdk``'s timeline; what was sent and what the server holds."""
    from momentsense.sdk.consent import ConsentManager
    from momentsense.sdk.sync.client import SyncOptions
    from momentsense.sdk.sync.uploader import Uploader

    with LoopbackServer(work / "server.db") as server, ConsentManager(work / "consent.sqlite") as consent:
        for kind in ("motion", "location"):
            consent.grant(kind, "sync")
        up = Uploader(sdk.reader(), consent, SyncOptions(server.url, server.api_key, timeout_s=10.0, max_attempts=3),
                      work / "sync", tz_offset_s=sdk.config.tz_offset_s)  # fmt: skip
        try:
            # Every day the timeline touches: a visit belongs to the day it starts on (the first evening at home
            # is the simulation's first day, before the first full day the report shows).
            res = up.sync(day_extras(learned), days=sdk.days())
            install = up.client.options.install.install_id
        finally:
            up.close()
        held = server.days_held(install)
    payloads = up.last_payloads
    return {
        "server": server.url, "days_built": len(payloads), "days_held_by_server": held,
        "batches_sent": res.batches_sent, "remaining": res.remaining, "errors": list(res.errors),
        "payload_json_bytes": res.payload_bytes, "payload_gzip_bytes": gzip_bytes(payloads), "payloads": payloads,
    }  # fmt: skip
