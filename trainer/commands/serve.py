"""``momentsense serve``: the ingest / feedback / erasure / model-registry server (FastAPI + SQLAlchemy)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

#: Environment variable that carries the settings to worker processes.
SETTINGS_ENV = "MOMENTSENSE_SERVE_SETTINGS"


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default="sqlite:///momentsense-server.db",
                   help="SQLAlchemy database URL (default: a SQLite file in the current folder; "
                        "postgresql+psycopg://... in production)")  # fmt: skip
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--models", default=None, help="model registry folder (default: the shipped edge_models/artifacts)")
    p.add_argument("--add-app", metavar="NAME", default=None,
                   help="register an app (or replace its key), print its new API key and exit")  # fmt: skip
    p.add_argument("--app-key", metavar="NAME:KEY", action="append", default=[],
                   help="register an app with a given key before serving (development and tests); repeatable")  # fmt: skip
    p.add_argument("--rate-limit", type=float, default=2.0,
                   help="requests per second per install (per app key and address without an install token; 0: off)")
    p.add_argument("--burst", type=float, default=30.0, help="per-install bucket size, requests")
    p.add_argument("--app-rate-limit", type=float, default=0.0,
                   help="fleet-wide requests per second per app, all its installs together (0: off)")
    p.add_argument("--app-burst", type=float, default=1000.0, help="per-app bucket size, requests")
    p.add_argument("--auth-fail-limit", type=float, default=1.0,
                   help="failed authentications per second per client address before 429 (0: off)")
    p.add_argument("--auth-fail-burst", type=float, default=30.0, help="failed-authentication bucket size")
    p.add_argument("--workers", type=int, default=1, help="worker processes (use 1 with SQLite)")
    p.add_argument("--max-inflight", type=int, default=8, help="requests processed at once per worker")
    p.add_argument("--max-queue", type=int, default=64, help="requests waiting per worker; beyond: 503")
    p.add_argument("--max-wait", type=float, default=2.0, help="longest wait for a slot, s; then 503")
    p.add_argument("--sqlite-sync", choices=["full", "normal"], default="full",
                   help="SQLite commits: full = on disk before acknowledged (survives power loss); "
                        "normal = WAL synced at checkpoints (survives a killed server, not a power loss)")
    p.add_argument("--segment-names", default=None,
                   help="comma-separated allow-list of segment names (default: any name matching ^[a-z][a-z0-9_]{0,31}$)")
    p.add_argument("--max-day-age-days", type=float, default=400.0,
                   help="refuse days older than this many days before receipt (0: no limit)")
    p.add_argument("--max-body-bytes", type=int, default=1 << 20, help="largest request body on the wire")
    p.add_argument("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug", "trace"),
                   help="uvicorn's log level")


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
    for name in ("workers", "max_inflight"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    settings = ServerSettings(db_url=args.db, models_dir=args.models, rate_per_s=args.rate_limit, burst=args.burst,
                              app_rate_per_s=args.app_rate_limit, app_burst=args.app_burst,
                              auth_fail_per_s=args.auth_fail_limit, auth_fail_burst=args.auth_fail_burst,
                              workers=args.workers, max_inflight=args.max_inflight, max_queue=args.max_queue,
                              max_wait_s=args.max_wait, max_body_bytes=args.max_body_bytes,
                              max_day_age_days=args.max_day_age_days or None,
                              sqlite_synchronous=args.sqlite_sync.upper(),
                              segment_names=tuple(n for n in args.segment_names.split(",") if n) if args.segment_names else None)  # fmt: skip
    print(f"momentsense server on http://{args.host}:{args.port} (db {args.db}, {args.workers} worker(s))",
          file=sys.stderr, flush=True)  # fmt: skip
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                    timeout_graceful_shutdown=2)  # fmt: skip
        return 0
    # several processes: each imports the app factory and reads the settings from the environment
    os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings))
    uvicorn.run("momentsense.trainer.commands.serve:app_from_env", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, timeout_graceful_shutdown=2)  # fmt: skip
    return 0


def app_from_env():
    """The app of a worker process (``--workers`` > 1): settings from :data:`SETTINGS_ENV`."""
    from momentsense.trainer.server.app import ServerSettings, create_app

    return create_app(ServerSettings(**json.loads(os.environ[SETTINGS_ENV])))


def register(cli) -> None:
    cli.command("serve", "run the sync server: ingest, feedback, erasure, model registry (FastAPI; SQLite by default)", _args, _run, needs="server")
