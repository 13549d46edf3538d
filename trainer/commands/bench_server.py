"""``momentsense bench server``: arguments and run (the benchmark is :mod:`trainer.bench_server`)."""

from __future__ import annotations

import json
import signal

from momentsense.trainer.bench_server import MAX_CLIENTS, MAX_SECONDS, BenchOptions, bench_server


def add_args(p) -> None:
    """Arguments of ``momentsense bench server``."""
    p.add_argument("--clients", type=int, default=50, help=f"concurrent simulated phones (1..{MAX_CLIENTS})")
    p.add_argument("--seconds", type=float, default=60.0, help=f"duration of the load, s (at most {MAX_SECONDS:g})")
    p.add_argument("--db", default=None, help="server database URL (default: SQLite in a temporary folder)")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--url", default=None, help="use a running server on http://127.0.0.1:PORT instead of starting one")
    p.add_argument("--timeout", type=float, default=15.0, help="client timeout per request, s")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kill-server-every", type=float, default=0.0, help="SIGKILL and restart the server about this often, s")
    p.add_argument("--client-abort-p", type=float, default=0.0, help="probability a client drops a request mid-flight")
    p.add_argument("--server-arg", action="append", default=[], help="extra `momentsense serve` argument (repeatable)")
    p.add_argument("--json", action="store_true", help="JSON output (the default; kept for symmetry)")


def run(args) -> int:
    """``momentsense bench server``: print :func:`bench_server`'s JSON."""
    o = BenchOptions(clients=args.clients, seconds=args.seconds, db_url=args.db, workers=args.workers, url=args.url,
                     timeout_s=args.timeout, seed=args.seed, kill_server_every_s=args.kill_server_every,
                     client_abort_p=args.client_abort_p, server_args=tuple(args.server_arg))  # fmt: skip
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(json.dumps(bench_server(o), indent=2))
    return 0


def register(cli) -> None:
    cli.command("bench server", "simulated phones upload to the sync server under load; JSON with acked/s, "
                "latency percentiles, statuses, acked_missing", add_args, run)  # fmt: skip
