"""Server tables (SQLAlchemy 2) and the engine.

Every row that holds user data carries ``app_id`` and ``install_id``; every query filters on both, so
apps cannot see each other's installs and installs cannot see each other's data. API keys and
install secrets are stored as SHA-256 hashes only (they are 256-bit random tokens, so a plain hash
cannot be brute-forced; a leaked table does not reveal a usable key).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import (
    JSON, Float, ForeignKey, Integer, String, UniqueConstraint, create_engine, event, select,
)  # fmt: skip
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a key or token (what is stored at rest)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Base(DeclarativeBase):
    pass


class App(Base):
    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_t: Mapped[float] = mapped_column(Float, default=time.time)


class Install(Base):
    __tablename__ = "installs"
    __table_args__ = (UniqueConstraint("app_id", "install_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    install_id: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_t: Mapped[float] = mapped_column(Float, default=time.time)


class Day(Base):
    """One install's day payload; replaced only by a higher or equal revision."""

    __tablename__ = "days"
    __table_args__ = (UniqueConstraint("app_id", "install_id", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(Integer, index=True)
    install_id: Mapped[str] = mapped_column(String(32), index=True)
    day: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    updated_t: Mapped[float] = mapped_column(Float, default=time.time)


class Event(Base):
    """One visit, trip, moment or driving score of a day (rewritten with its day)."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("app_id", "install_id", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(Integer, index=True)
    install_id: Mapped[str] = mapped_column(String(32), index=True)
    day: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)


class Batch(Base):
    """A processed ingest request: its idempotency key, body hash and the exact answer given."""

    __tablename__ = "batches"
    __table_args__ = (UniqueConstraint("app_id", "install_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(Integer, index=True)
    install_id: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(64))
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)
    created_t: Mapped[float] = mapped_column(Float, default=time.time)


class Feedback(Base):
    """A user's correction of an event's label (transport mode, place category, moment)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(Integer, index=True)
    install_id: Mapped[str] = mapped_column(String(32), index=True)
    event_id: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(32))
    created_t: Mapped[float] = mapped_column(Float, default=time.time)


class Erasure(Base):
    """Receipt of an erasure; holds no user data (only counts and time)."""

    __tablename__ = "erasures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    app_id: Mapped[int] = mapped_column(Integer, index=True)
    receipt: Mapped[str] = mapped_column(String(32), unique=True)
    counts: Mapped[dict] = mapped_column(JSON)
    created_t: Mapped[float] = mapped_column(Float, default=time.time)


def make_engine(url: str, pool_size: int = 5, busy_timeout_s: float = 5.0, sqlite_synchronous: str = "FULL") -> Engine:
    """Engine for ``url``; creates the tables.

    ``pool_size``: connections kept (the server sizes it to its admission limit, so a request never
    waits for a connection); ``busy_timeout_s``: how long a SQLite writer waits for the file lock, s
    (then the request is answered 503); ``sqlite_synchronous``: ``FULL`` (each commit is on disk before
    it is acknowledged, also across a power loss) or ``NORMAL`` (WAL synced at checkpoints: a commit
    survives the process being killed but not a power loss or OS crash). SQLite gets WAL, thread sharing and ``BEGIN
    IMMEDIATE`` transactions (a writer takes the lock up front and waits for it, instead of failing at
    once when another process wrote between its read and its write).
    """
    kw: dict = {"pool_size": int(pool_size), "max_overflow": 2, "pool_timeout": 5.0}
    sqlite = url.startswith("sqlite")
    sync = str(sqlite_synchronous).upper()
    if sync not in ("FULL", "NORMAL"):
        raise ValueError(f"sqlite_synchronous must be FULL or NORMAL, got {sqlite_synchronous!r}")
    if sqlite:
        kw["connect_args"] = {"check_same_thread": False, "timeout": float(busy_timeout_s)}
        if ":memory:" in url or url.rstrip("/") == "sqlite:":
            kw = {"connect_args": kw["connect_args"]}
    else:
        kw["pool_pre_ping"] = True
    engine = create_engine(url, **kw)
    if sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # pragma: no cover - trivial
            conn.isolation_level = None  # transactions are begun below, not by the driver
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - trivial
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    Base.metadata.create_all(engine)
    return engine


def add_app(engine: Engine, name: str, key: str | None = None) -> str:
    """Register an app; returns its API key (a new random one unless ``key`` is given). Only the hash is stored."""
    key = key or "msk_" + secrets.token_urlsafe(32)
    with Session(engine) as s, s.begin():
        existing = s.scalar(select(App).where(App.name == name))
        if existing is not None:
            existing.key_hash = hash_secret(key)
        else:
            s.add(App(name=name, key_hash=hash_secret(key)))
    return key
