"""``momentsense bench``: speed and memory, printed as JSON."""

from __future__ import annotations

import argparse


def _runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=1.0, help="simulated sensor hours to replay")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-duty-cycle", action="store_true", help="run inference on every window")
    p.add_argument("--no-context", action="store_true", help="without the transport context heads (to compare)")
    p.add_argument("--no-lagged-context", action="store_true", help="without the lagged head that settles the events (to compare)")
    p.add_argument("--no-gps-context", action="store_true", help="without the GPS head beside the lagged one (to compare)")
    p.add_argument("--json", action="store_true", help="JSON output (the default; kept for symmetry)")


def _runtime_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.bench import bench_runtime

    if not args.hours > 0:
        raise InputError(f"--hours must be > 0, got {args.hours}")
    print(json.dumps(bench_runtime(args.hours, args.seed, duty_cycle=not args.no_duty_cycle, context=not args.no_context,
                                   lagged_context=not args.no_lagged_context, gps=not args.no_gps_context), indent=2))
    return 0


def register(cli) -> None:
    cli.command("bench runtime", "replay simulated sensor hours through the on-device runtime; JSON with realtime factor and peak RSS", _runtime_args, _runtime_run)
