"""The FastAPI application: :func:`create_app`.

Endpoints (all but ``/health`` and ``/openapi.json`` need ``X-Api-Key``; the ``/v1/me`` family and
ingest/feedback also ``X-Install-Token: <install_id>.<secret>``, registered on first use and pinned
for good: after ``DELETE /v1/me`` the same install id still only works with its first secret):

* ``POST /v1/ingest`` (``Idempotency-Key`` header; body ``{"days": [...]}``, gzip allowed): stores
  each day if its revision is >= the stored one, replacing that day's events. The same key with the
  same body returns the first answer again and writes nothing, also when both arrive at once; with
  another body it is a 409.
* ``POST /v1/feedback``: corrections of events of this install (``sdk.sync.schema.FEEDBACK_KINDS``).
* ``GET /v1/me/events``: this install's stored events. ``DELETE /v1/me``: erasure, with a receipt.
* ``GET /v1/models``, ``GET /v1/models/{name}/{version}`` (manifest + signature; ``latest`` allowed),
  ``GET /v1/models/{name}/{version}/file``.

Each request uses one database session (authentication included). Refusals are
``{"reason", "detail"}`` JSON; the statuses each endpoint can answer are in the OpenAPI spec.
"""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Optional

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from momentsense.sdk.errors import InputError
from momentsense.sdk.sync.schema import SchemaError, check_day
from momentsense.trainer.server import schemas as S
from momentsense.trainer.server.auth import Authenticator, RequestDB
from momentsense.trainer.server.db import Batch, Day, Erasure, Event, Feedback, make_engine
from momentsense.trainer.server.errors import Refusal, StrictJSONRoute, install_handlers
from momentsense.trainer.server.ingest import store_batch, store_feedback
from momentsense.trainer.server.limits import AdmissionGate, AdmissionMiddleware, BodyLimitMiddleware
from momentsense.trainer.server.registry import ModelRegistry

_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,64}$"
#: Most requests processed at once per worker (below the 40 threads of the worker's thread pool).
MAX_INFLIGHT = 32


@dataclasses.dataclass
class Caller:
    """An authenticated request: its one session, app id and install id (``""`` for app-only calls)."""

    s: Session
    app_id: int
    install_id: str


@dataclasses.dataclass(frozen=True)
class ServerSettings:
    """Options of :func:`create_app`.

    Attributes:
        db_url: SQLAlchemy URL; default a SQLite file in the working folder.
        models_dir: Registry folder; None = the shipped ``edge_models/artifacts``.
        max_body_bytes: Largest request body on the wire, bytes.
        max_inflated_bytes: Largest body after gzip inflation, bytes.
        rate_per_s, burst: Token bucket per install (per app key and client address for calls without
            an install token); 0 disables.
        app_rate_per_s, app_burst: Fleet-wide ceiling per app (all its installs together); 0 disables.
        auth_fail_per_s, auth_fail_burst: Failed authentications allowed per client address; beyond
            them the address gets 429 without a database lookup; 0 disables.
        workers: Worker processes sharing the database; the per-app ceiling is divided among them.
        max_inflight: Requests processed at once per worker (the database pool is sized to it).
        max_queue: Requests waiting for a slot per worker; more get 503 at once.
        max_wait_s: Longest wait for a slot, s; then 503.
        busy_timeout_s: Longest wait for the SQLite write lock, s; then 503.
        retry_after_s: ``Retry-After`` of 503 answers, s.
        segment_names: Allowed segment names (None: any name matching the pattern of
            :data:`sdk.sync.schema.SEGMENT_NAME_RE`); an allow-list also refuses free text that happens to
            match the pattern (e.g. a place's name in snake case).
        sqlite_synchronous: ``FULL`` or ``NORMAL`` (see :func:`trainer.server.db.make_engine`).
        max_day_age_days: Oldest day accepted, days before the receipt time (None: no limit; days in
            the future are always refused).
    """

    db_url: str = "sqlite:///momentsense-server.db"
    models_dir: Optional[str] = None
    max_body_bytes: int = 1 << 20
    max_inflated_bytes: int = 8 << 20
    rate_per_s: float = 2.0
    burst: float = 30.0
    app_rate_per_s: float = 0.0
    app_burst: float = 1000.0
    auth_fail_per_s: float = 1.0
    auth_fail_burst: float = 30.0
    workers: int = 1
    max_inflight: int = 8
    max_queue: int = 64
    max_wait_s: float = 2.0
    busy_timeout_s: float = 5.0
    retry_after_s: int = 1
    max_day_age_days: Optional[float] = None
    sqlite_synchronous: str = "FULL"
    segment_names: Optional[tuple] = None


#: Refusals every authenticated endpoint may answer (documented in the OpenAPI spec).
_AUTH_ERRORS = {code: {"model": S.ErrorOut} for code in (401, 422, 429, 503)}
_BODY_ERRORS = {code: {"model": S.ErrorOut} for code in (400, 409, 413, 415)}


def create_app(settings: ServerSettings = ServerSettings()) -> FastAPI:
    """Build the application (creates the tables if missing)."""
    if not 1 <= settings.max_inflight <= MAX_INFLIGHT:
        # each request in flight may hold a worker thread while it waits for the SQLite lock; the
        # holder needs one more thread of the pool (40) to finish, so the pool must never run dry
        raise InputError(f"max_inflight must be in 1..{MAX_INFLIGHT}, got {settings.max_inflight}")
    engine = make_engine(settings.db_url, pool_size=settings.max_inflight + 2, busy_timeout_s=settings.busy_timeout_s,
                         sqlite_synchronous=settings.sqlite_synchronous)  # fmt: skip
    if settings.models_dir is None:
        from momentsense.edge_models import artifact_dir

        models_dir = artifact_dir()
    else:
        models_dir = Path(settings.models_dir)
    registry = ModelRegistry(models_dir)
    api = FastAPI(title="momentsense server", version="1.1.0",
                  description="Ingest of aggregated timelines, feedback, erasure and the model registry.",
                  responses={404: {"model": S.ErrorOut}, 405: {"model": S.ErrorOut}})  # fmt: skip
    api.router.route_class = StrictJSONRoute
    api.state.engine = engine
    api.state.registry = registry
    db = RequestDB(engine)
    auth = Authenticator(settings)
    api.state.auth = auth
    install_handlers(api, settings.retry_after_s)

    def as_install(request: Request, x_api_key: Optional[str] = Header(None),
                   x_install_token: Optional[str] = Header(None)):  # fmt: skip
        """The request's one session, authenticated as an install (before the body is looked at)."""
        with db.session() as s:
            app_id, install_id = auth.install(s, request, x_api_key, x_install_token)
            yield Caller(s, app_id, install_id)

    def as_app(request: Request, x_api_key: Optional[str] = Header(None)):
        with db.session() as s:
            yield Caller(s, auth.app(s, request, x_api_key), "")

    @api.get("/health", tags=["health"], responses={503: {"model": S.ErrorOut}})
    async def health():
        """Answers within about a second even when the server is saturated (it skips the admission queue)."""
        ok = await db.ping(timeout_s=0.8)
        if not ok:
            return JSONResponse({"reason": "database_unavailable", "detail": "database did not answer"}, 503,
                                headers={"Retry-After": str(settings.retry_after_s)})  # fmt: skip
        return {"status": "ok", "models": len(registry.list()), "inflight": gate.inflight}

    @api.post("/v1/ingest", response_model=S.IngestOut, tags=["sync"], responses={**_AUTH_ERRORS, **_BODY_ERRORS})
    def ingest(body: S.IngestIn, request: Request, idempotency_key: str = Header(..., pattern=_KEY_PATTERN),
               who: Caller = Depends(as_install)) -> dict:  # fmt: skip
        now = request.scope.get("momentsense.received_t")
        for i, d in enumerate(body.days):
            try:
                check_day(d.day, now, settings.max_day_age_days)
            except SchemaError as exc:
                raise Refusal(422, exc.reason, f"days[{i}]: {exc}") from None
            if settings.segment_names is not None:
                unknown = sorted(set(d.segments) - set(settings.segment_names))
                if unknown:
                    raise Refusal(422, "segment_unknown", f"days[{i}]: segment names not allowed: {unknown[:5]}")
        digest = request.scope.get("momentsense.body_sha256", "")
        return store_batch(who.s, body, who.app_id, who.install_id, idempotency_key, digest)

    @api.post("/v1/feedback", response_model=S.FeedbackOut, tags=["sync"], responses={**_AUTH_ERRORS, **_BODY_ERRORS})
    def feedback(body: S.FeedbackIn, who: Caller = Depends(as_install)) -> dict:
        return store_feedback(who.s, body, who.app_id, who.install_id)

    @api.get("/v1/me/events", response_model=list[S.EventOut], tags=["sync"], responses=_AUTH_ERRORS)
    def my_events(who: Caller = Depends(as_install)) -> list:
        rows = who.s.scalars(select(Event).where(Event.app_id == who.app_id, Event.install_id == who.install_id)
                             .order_by(Event.start, Event.id)).all()  # fmt: skip
        return [{"event_id": r.event_id, "kind": r.kind, "day": r.day, "start": r.start, "end": r.end, "data": r.data}
                    for r in rows]  # fmt: skip

    @api.delete("/v1/me", response_model=S.ErasureOut, tags=["sync"], responses=_AUTH_ERRORS)
    def erase(who: Caller = Depends(as_install)) -> dict:
        """Deletes every event, day, correction and batch of the install. The install's registration
        (its random id and the hash of its secret, no user data) stays, so nobody else can claim the id."""
        s, counts = who.s, {}
        for name, table in (("events", Event), ("days", Day), ("feedback", Feedback), ("batches", Batch)):
            counts[name] = s.execute(delete(table).where(table.app_id == who.app_id,
                                                         table.install_id == who.install_id)).rowcount  # fmt: skip
        receipt = uuid.uuid4().hex
        s.add(Erasure(app_id=who.app_id, receipt=receipt, counts=counts))
        s.commit()
        return {"erased": True, "receipt": receipt, "deleted": counts}

    @api.get("/v1/models", response_model=list[S.ModelInfo], tags=["models"], responses=_AUTH_ERRORS)
    def models(who: Caller = Depends(as_app)) -> list:
        return [{"name": e.name, "version": e.version, "task": e.task, "sha256": e.sha256, "size_bytes": e.size_bytes,
                 "signed": e.signature is not None} for e in registry.list()]  # fmt: skip

    def _entry(name: str, version: str):
        e = registry.get(name, version)
        if e is None:
            raise Refusal(404, "no_such_model", f"no model {name[:64]!r} version {version[:64]!r}")
        return e

    @api.get("/v1/models/{name}/{version}", response_model=S.ModelOut, tags=["models"],
             responses={**_AUTH_ERRORS, 404: {"model": S.ErrorOut}})  # fmt: skip
    def model(name: str, version: str, who: Caller = Depends(as_app)) -> dict:
        e = _entry(name, version)
        return {"manifest": e.manifest, "signature": e.signature, "download": f"/v1/models/{e.name}/{e.version}/file"}

    @api.get("/v1/models/{name}/{version}/file", tags=["models"],
             responses={200: {"content": {"application/octet-stream": {}}}, **_AUTH_ERRORS, 404: {"model": S.ErrorOut}})  # fmt: skip
    def model_file(name: str, version: str, who: Caller = Depends(as_app)):
        e = _entry(name, version)
        return FileResponse(e.tflite_path, media_type="application/octet-stream", filename=e.tflite_path.name)

    gate = AdmissionGate(settings.max_inflight, settings.max_queue, settings.max_wait_s)
    api.state.gate = gate
    api.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_inflated_bytes=settings.max_inflated_bytes)  # fmt: skip
    api.add_middleware(AdmissionMiddleware, gate=gate, retry_after_s=settings.retry_after_s)
    return api


def count_events(engine, app_id: int | None = None) -> int:
    """Number of stored events (tests and admin)."""
    with Session(engine) as s:
        q = select(func.count(Event.id))
        if app_id is not None:
            q = q.where(Event.app_id == app_id)
        return int(s.scalar(q))
