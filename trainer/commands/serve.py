"""``momentsense serve``: the ingest / feedback / erasure / model-registry server (FastAPI + SQLAlchemy)."""

from __future__ import annotations

import argparse
import sys


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="sqlite:///momentsense-server.db",
                   help="SQLAlchemy database URL (default: a SQLite file in the current folder; "
                        "postgresql+psycopg://... in production)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--models", default=None, help="model registry folder (default: the shipped edge_models/artifacts)")
    p.add_argument("--add-app", metavar="NAME", default=None,
                   help="register an app (or replace its key), print its new API key and exit")  # fmt: skip
    p.add_argument("--app-key", metavar="NAME:KEY", action="append", default=[],
                   help="register an app with a given key before serving (development and tests); repeatable")  # fmt: skip
    p.add_argument("--rate-limit", type=float, default=50.0, help="requests per second per API key (0: off)")
    p.add_argument("--burst", type=float, default=100.0, help="rate-limit bucket size")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body on the wire")
    p.add_argument("--log-level", default="warning")


def _run(args: argparse.Namespace) -> int:
    from momentsense.sdk.errors import InputError

    try:
        import uvicorn

        from momentsense.trainer.server.app import ServerSettings, create_app
        from momentsense.trainer.server.db import add_app, make_engine
    except ImportError as exc:
        raise InputError(f"the server needs the [server] extra: pip install -e '.[server]' ({exc})") from None
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be in 1..65535, got {args.port}")
    if args.add_app:
        key = add_app(make_engine(args.db), args.add_app)
        print(key)
        return 0
    engine = make_engine(args.db)
    for spec in args.app_key:
        name, sep, key = spec.partition(":")
        if not sep or not name or len(key) < 16:
            raise InputError(f"--app-key must be NAME:KEY with a key of at least 16 characters, got {spec!r}")
        add_app(engine, name, key)
    engine.dispose()
    settings = ServerSettings(db_url=args.db, models_dir=args.models, rate_per_s=args.rate_limit, burst=args.burst,
                              max_body_bytes=args.max_body_bytes)  # fmt: skip
    app = create_app(settings)
    print(f"momentsense server on http://{args.host}:{args.port} (db {args.db})", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, timeout_graceful_shutdown=2)
    return 0


def register(cli) -> None:
    cli.command("serve", "run the sync server: ingest, feedback, erasure, model registry (FastAPI; SQLite by default)", _args, _run)
