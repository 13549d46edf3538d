"""The FastAPI application: :func:`create_app`.

Endpoints (all but ``/health`` and ``/openapi.json`` need ``X-Api-Key``; the ``/v1/me`` family and
ingest/feedback also ``X-Install-Token: <install_id>.<secret>``, registered on first use):

* ``POST /v1/ingest`` (``Idempotency-Key`` header; body ``{"days": [...]}``, gzip allowed): stores
  each day if its revision is >= the stored one, replacing that day's events. The same key with the
  same body returns the first answer again and writes nothing; with another body it is a 422.
* ``POST /v1/feedback``: label corrections for events of this install.
* ``GET /v1/me/events``: this install's stored events. ``DELETE /v1/me``: erasure, with a receipt.
* ``GET /v1/models``, ``GET /v1/models/{name}/{version}`` (manifest + signature; ``latest`` allowed),
  ``GET /v1/models/{name}/{version}/file``.
"""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from pathlib import Path
from typing import Optional

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from momentsense.trainer.server import schemas as S
from momentsense.trainer.server.db import App, Batch, Day, Erasure, Event, Feedback, Install, hash_secret, make_engine
from momentsense.trainer.server.limits import BodyLimitMiddleware, RateLimitMiddleware
from momentsense.trainer.server.registry import ModelRegistry

_TOKEN_RE = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{64})$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Options of :func:`create_app`.

    Attributes:
        db_url: SQLAlchemy URL; default a SQLite file in the working folder.
        models_dir: Registry folder; None = the shipped ``edge_models/artifacts``.
        max_body_bytes: Largest request body on the wire, bytes.
        max_inflated_bytes: Largest body after gzip inflation, bytes.
        rate_per_s, burst: Token bucket per API key (0 disables).
    """

    db_url: str = "sqlite:///momentsense-server.db"
    models_dir: Optional[str] = None
    max_body_bytes: int = 1 << 20
    max_inflated_bytes: int = 8 << 20
    rate_per_s: float = 50.0
    burst: float = 100.0


def create_app(settings: ServerSettings = ServerSettings()) -> FastAPI:
    """Build the application (creates the tables if missing)."""
    engine = make_engine(settings.db_url)
    if settings.models_dir is None:
        from momentsense.edge_models import artifact_dir

        models_dir = artifact_dir()
    else:
        models_dir = Path(settings.models_dir)
    registry = ModelRegistry(models_dir)
    api = FastAPI(title="momentsense server", version="1.0.0",
                  description="Ingest of aggregated timelines, feedback, erasure and the model registry.")  # fmt: skip
    api.state.engine = engine
    api.state.registry = registry

    def session():
        with Session(engine) as s:
            yield s

    def app_of(x_api_key: Optional[str] = Header(default=None), s: Session = Depends(session)) -> App:
        if not x_api_key:
            raise HTTPException(401, "X-Api-Key header required")
        app = s.scalar(select(App).where(App.key_hash == hash_secret(x_api_key)))
        if app is None:
            raise HTTPException(401, "unknown API key")
        return app

    def install_of(x_install_token: Optional[str] = Header(default=None), app: App = Depends(app_of),
                   s: Session = Depends(session)) -> tuple[int, str]:  # fmt: skip
        m = _TOKEN_RE.match(x_install_token or "")
        if not m:
            raise HTTPException(401, "X-Install-Token '<32 hex install id>.<64 hex secret>' required")
        install_id, secret = m.groups()
        row = s.scalar(select(Install).where(Install.app_id == app.id, Install.install_id == install_id))
        if row is None:
            try:
                s.add(Install(app_id=app.id, install_id=install_id, secret_hash=hash_secret(secret)))
                s.commit()
            except IntegrityError:  # registered concurrently
                s.rollback()
                row = s.scalar(select(Install).where(Install.app_id == app.id, Install.install_id == install_id))
        if row is not None and row.secret_hash != hash_secret(secret):
            raise HTTPException(401, "install token does not match this install")
        return app.id, install_id

    @api.get("/health", tags=["health"])
    def health() -> dict:
        with Session(engine) as s:
            s.execute(select(1))
        return {"status": "ok", "models": len(registry.list())}

    @api.post("/v1/ingest", response_model=S.IngestOut, tags=["sync"])
    def ingest(body: S.IngestIn, request: Request,
               idempotency_key: str = Header(..., pattern=_KEY_RE.pattern),
               who: tuple = Depends(install_of)) -> dict:  # fmt: skip
        app_id, install_id = who
        digest = request.scope.get("momentsense.body_sha256", "")
        with Session(engine) as s:
            prev = s.scalar(select(Batch).where(Batch.app_id == app_id, Batch.install_id == install_id,
                                                Batch.key == idempotency_key))  # fmt: skip
            if prev is not None:
                return _replay(prev, digest)
            stored = stale = n_events = 0
            for d in body.days:
                row = s.scalar(select(Day).where(Day.app_id == app_id, Day.install_id == install_id, Day.day == d.day))
                if row is not None and row.revision > d.revision:
                    stale += 1
                    continue
                payload = d.model_dump(mode="json")
                if row is None:
                    s.add(Day(app_id=app_id, install_id=install_id, day=d.day, revision=d.revision, payload=payload))
                else:
                    row.revision, row.payload, row.updated_t = d.revision, payload, time.time()
                ids = [r.id for r in (*d.visits, *d.trips, *d.moments, *d.driving)]
                # the day's old events, and events that moved here from another day (time zone change)
                s.execute(delete(Event).where(Event.app_id == app_id, Event.install_id == install_id,
                                              (Event.day == d.day) | Event.event_id.in_(ids)))  # fmt: skip
                s.flush()
                for kind, recs in (("visit", d.visits), ("trip", d.trips), ("moment", d.moments)):
                    for r in recs:
                        s.add(Event(app_id=app_id, install_id=install_id, day=d.day, event_id=r.id, kind=kind,
                                    start=r.start, end=r.end, data=r.model_dump(mode="json")))  # fmt: skip
                        n_events += 1
                for r in d.driving:
                    s.add(Event(app_id=app_id, install_id=install_id, day=d.day, event_id=r.id, kind="driving",
                                start=r.trip_start, end=r.trip_end, data=r.model_dump(mode="json")))  # fmt: skip
                    n_events += 1
                stored += 1
            answer = {"batch": idempotency_key, "days_stored": stored, "days_stale": stale, "events": n_events}
            s.add(Batch(app_id=app_id, install_id=install_id, key=idempotency_key, body_sha256=digest, response=answer))
            try:
                s.commit()
            except IntegrityError:  # the same key committed concurrently (a retry racing the original)
                s.rollback()
                prev = s.scalar(select(Batch).where(Batch.app_id == app_id, Batch.install_id == install_id,
                                                    Batch.key == idempotency_key))  # fmt: skip
                if prev is None:
                    raise HTTPException(409, "conflicting events; retry") from None
                return _replay(prev, digest)
        return answer

    def _replay(prev: Batch, digest: str) -> dict:
        if prev.body_sha256 != digest:
            raise HTTPException(422, "Idempotency-Key reused with a different body")
        return prev.response

    @api.post("/v1/feedback", response_model=S.FeedbackOut, tags=["sync"])
    def feedback(body: S.FeedbackIn, who: tuple = Depends(install_of)) -> dict:
        app_id, install_id = who
        with Session(engine) as s:
            ids = [it.event_id for it in body.items]
            known = set(s.scalars(select(Event.event_id).where(Event.app_id == app_id, Event.install_id == install_id,
                                                               Event.event_id.in_(ids))))  # fmt: skip
            n = 0
            for it in body.items:
                if it.event_id in known:
                    s.add(Feedback(app_id=app_id, install_id=install_id, event_id=it.event_id, field=it.field, value=it.value))
                    n += 1
            s.commit()
        return {"accepted": n, "unknown_event_ids": sorted(set(ids) - known)}

    @api.get("/v1/me/events", response_model=list[S.EventOut], tags=["sync"])
    def my_events(who: tuple = Depends(install_of)) -> list:
        app_id, install_id = who
        with Session(engine) as s:
            rows = s.scalars(select(Event).where(Event.app_id == app_id, Event.install_id == install_id)
                             .order_by(Event.start, Event.id)).all()  # fmt: skip
            return [{"event_id": r.event_id, "kind": r.kind, "day": r.day, "start": r.start, "end": r.end, "data": r.data}
                    for r in rows]  # fmt: skip

    @api.delete("/v1/me", response_model=S.ErasureOut, tags=["sync"])
    def erase(who: tuple = Depends(install_of)) -> dict:
        app_id, install_id = who
        counts = {}
        with Session(engine) as s:
            for name, table in (("events", Event), ("days", Day), ("feedback", Feedback), ("batches", Batch)):
                counts[name] = s.execute(delete(table).where(table.app_id == app_id, table.install_id == install_id)).rowcount
            s.execute(delete(Install).where(Install.app_id == app_id, Install.install_id == install_id))
            receipt = uuid.uuid4().hex
            s.add(Erasure(app_id=app_id, receipt=receipt, counts=counts))
            s.commit()
        return {"erased": True, "receipt": receipt, "deleted": counts}

    @api.get("/v1/models", response_model=list[S.ModelInfo], tags=["models"])
    def models(app: App = Depends(app_of)) -> list:
        return [{"name": e.name, "version": e.version, "task": e.task, "sha256": e.sha256, "size_bytes": e.size_bytes,
                 "signed": e.signature is not None} for e in registry.list()]  # fmt: skip

    def _entry(name: str, version: str):
        e = registry.get(name, version)
        if e is None:
            raise HTTPException(404, f"no model {name!r} version {version!r}")
        return e

    @api.get("/v1/models/{name}/{version}", response_model=S.ModelOut, tags=["models"])
    def model(name: str, version: str, app: App = Depends(app_of)) -> dict:
        e = _entry(name, version)
        return {"manifest": e.manifest, "signature": e.signature, "download": f"/v1/models/{e.name}/{e.version}/file"}

    @api.get("/v1/models/{name}/{version}/file", tags=["models"],
             responses={200: {"content": {"application/octet-stream": {}}}})  # fmt: skip
    def model_file(name: str, version: str, app: App = Depends(app_of)):
        e = _entry(name, version)
        return FileResponse(e.tflite_path, media_type="application/octet-stream", filename=e.tflite_path.name)

    api.add_middleware(RateLimitMiddleware, rate_per_s=settings.rate_per_s, burst=settings.burst)
    api.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_inflated_bytes=settings.max_inflated_bytes)  # fmt: skip
    return api


def count_events(engine, app_id: int | None = None) -> int:
    """Number of stored events (tests and admin)."""
    with Session(engine) as s:
        q = select(func.count(Event.id))
        if app_id is not None:
            q = q.where(Event.app_id == app_id)
        return int(s.scalar(q))
