"""Build the day payloads the SDK would upload and sync them to an in-process server on loopback.

The server is the real one (:func:`trainer.server.app.create_app`, FastAPI + SQLAlchemy on a SQLite
file) run by uvicorn in a thread on ``127.0.0.1`` and a free port; the client is the SDK's
:class:`~sdk.sync.client.SyncClient` with its on-disk :class:`~sdk.sync.queue.UploadQueue`.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import secrets
import threading
import time
from pathlib import Path

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync.payload import (
    build_day_payload,
    day_of,
    load_or_create_salt,
    sync_day_from_store,
)


def build_payloads(learned, places: list, salt: bytes) -> list:
    """One ``momentsense-sync-day-v1`` payload per simulated day (moments of the day, fired segments,
    the scores of drives on trips)."""
    from momentsense.trainer.demo.learned import in_visits

    seg = {s["segment"]: 1.0 for s in learned.segments.get("rules", []) if s["active"]}
    seg.update({s["segment"]: s["probability"] for s in learned.segments.get("embedding", []) if s["active"]})
    out = []
    for tl in learned.day_timelines:
        day = tl.day.isoformat()
        moments = [m for m in learned.moments if day_of(m.start) == day]
        day_rec = sync_day_from_store(tl, places, moments=moments, segments=seg)
        # drives scored while GPS says the phone stayed at a place are the IMU model misreading it
        drives = tuple(x for x in day_rec.driving_scores if in_visits(x.trip_start, x.trip_end, tl.visits) <= 0.5)
        out.append(build_day_payload(dataclasses.replace(day_rec, driving_scores=drives), salt, revision=1))
    return out


def gzip_bytes(payloads: list) -> int:
    """Bytes of the payloads as the client sends them (compact JSON, gzip), one body per day."""
    return sum(len(gzip.compress(json.dumps({"days": [p]}, separators=(",", ":")).encode())) for p in payloads)


class LoopbackServer:
    """The sync server in this process (uvicorn in a daemon thread); a context manager."""

    def __init__(self, db_path: Path):
        try:
            import uvicorn

            from momentsense.trainer.server.app import ServerSettings, create_app
            from momentsense.trainer.server.db import add_app, make_engine
        except ImportError as exc:
            raise InputError(f"the demo's server needs fastapi, uvicorn and sqlalchemy: pip install -e '.[demo]' ({exc})") from None
        from momentsense.trainer.server.testing import free_port

        self.db_url = f"sqlite:///{db_path}"
        self.api_key = secrets.token_hex(16)
        engine = make_engine(self.db_url)
        add_app(engine, "demo", self.api_key)
        engine.dispose()
        self.port = free_port()
        app = create_app(ServerSettings(db_url=self.db_url, rate_per_s=0.0))
        self.engine = app.state.engine
        # log_config=None: uvicorn's default dictConfig would replace (and close) the process's
        # logging handlers, including ones other libraries hold on to (absl's closes its stream).
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                     log_config=None))
        self._thread = threading.Thread(target=self._server.run, name="momentsense-demo-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:  # noqa: PYI034
        self._thread.start()
        deadline = time.monotonic() + 20.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's loopback server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10.0)
        self.engine.dispose()

    def days_held(self, install_id: str) -> list:
        """Days the server stores for ``install_id``."""
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from momentsense.trainer.server.db import Day

        with Session(self.engine) as s:
            return sorted(s.scalars(select(Day.day).where(Day.install_id == install_id)).all())


def sync_days(learned, places: list, work: Path) -> dict:
    """Build, queue and upload the days; what was sent and what the server holds afterwards."""
    from momentsense.sdk.sync.client import SyncClient, SyncOptions, load_or_create_install
    from momentsense.sdk.sync.queue import UploadQueue

    salt = load_or_create_salt(work / "salt.bin")
    payloads = build_payloads(learned, places, salt)
    with LoopbackServer(work / "server.db") as server:
        install = load_or_create_install(work / "install.json")
        client = SyncClient(SyncOptions(server.url, server.api_key, install, timeout_s=10.0, max_attempts=3),
                            UploadQueue(work / "upload_queue.sqlite"))  # fmt: skip
        try:
            client.enqueue_days(payloads)
            res = client.flush()
        finally:
            client.queue.close()
        held = server.days_held(install.install_id)
    return {
        "server": server.url, "days_built": len(payloads), "days_held_by_server": held,
        "batches_sent": len(res.sent), "remaining": res.remaining, "errors": res.errors,
        "payload_json_bytes": sum(len(json.dumps(p, separators=(",", ":")).encode()) for p in payloads),
        "payload_gzip_bytes": gzip_bytes(payloads), "payloads": payloads,
    }  # fmt: skip
