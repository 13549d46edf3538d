"""``momentsense bench``: speed and memory, printed as JSON."""

from __future__ import annotations

import argparse


def _runtime_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=1.0, help="simulated sensor hours to stream (ignored with --replay)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-duty-cycle", action="store_true", help="run inference on every window")
    p.add_argument("--no-context", action="store_true", help="without the transport context heads (to compare)")
    p.add_argument("--no-lagged-context", action="store_true", help="without the lagged head that settles the events (to compare)")
    p.add_argument("--no-gps-context", action="store_true", help="without the GPS head beside the lagged one (to compare)")
    p.add_argument("--chunk-s", type=float, default=10.0, help="seconds of sensor data per chunk fed to the SDK (simulated runs)")
    p.add_argument("--model", help="a .tflite (manifest beside it) to run instead of the shipped int8 model")
    p.add_argument("--record", metavar="FILE", help="write --hours of simulated chunks to FILE and exit (for --replay)")
    p.add_argument("--replay", metavar="FILE", help="stream a recording made with --record: the SDK alone in the process")
    p.add_argument("--base", metavar="REV", help="also run the same simulated hours through git revision REV "
                                                 "(e.g. a213ee1) in a subprocess, side by side")
    p.add_argument("--json", action="store_true", help="JSON output (the default; kept for symmetry)")


def _runtime_run(args: argparse.Namespace) -> int:
    import json
    import os

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.bench import bench_base, bench_runtime, record_chunks

    for flag, value in (("--hours", args.hours), ("--chunk-s", args.chunk_s)):
        if not value > 0:
            raise InputError(f"{flag} must be > 0, got {value}")
    if args.record and args.replay:
        raise InputError("--record and --replay exclude each other: record once, then replay")
    if args.record:
        print(json.dumps(record_chunks(args.record, args.hours, args.seed, args.chunk_s), indent=2))
        return 0
    if args.replay and not os.path.isfile(args.replay):
        raise InputError(f"--replay {args.replay}: no such file (make one with --record FILE)")
    if args.replay and args.base:
        raise InputError("--base runs simulated hours; use it without --replay")
    if args.model and not os.path.isfile(args.model):
        raise InputError(f"--model {args.model}: no such file")
    out = bench_runtime(args.hours, args.seed, duty_cycle=not args.no_duty_cycle, context=not args.no_context,
                        lagged_context=not args.no_lagged_context, gps=not args.no_gps_context, replay=args.replay,
                        model=args.model, chunk_s=args.chunk_s)
    if args.base:
        base = bench_base(args.base, args.hours, args.seed, args.chunk_s)
        out["base"] = base
        if "cpu_s" in base and out["cpu_s"] > 0:
            out["speedup_cpu_vs_base"] = base["cpu_s"] / out["cpu_s"]
    print(json.dumps(out, indent=2))
    return 0


def _places_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", default="1,7,28,112", help="comma-separated track lengths in days (1 Hz fixes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="timed runs per size (median reported)")
    p.add_argument("--no-trackintel", action="store_true", help="ours only (trackintel is a dev extra)")


def _places_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.bench_places import bench_places

    try:
        days = [int(d) for d in args.days.split(",") if d.strip()]
    except ValueError:
        raise InputError(f"--days must be comma-separated whole numbers, got {args.days!r}") from None
    if not days or min(days) < 1 or args.repeats < 1:
        raise InputError(f"--days must be ≥ 1 and --repeats ≥ 1, got {args.days!r}, {args.repeats}")
    print(json.dumps(bench_places(days, args.seed, args.repeats, not args.no_trackintel), indent=2))
    return 0


def register(cli) -> None:
    cli.command("bench runtime", "stream sensor chunks through the on-device runtime; JSON with CPU per day, "
                "stage shares, Python overhead and peak RSS", _runtime_args, _runtime_run)
    cli.command("bench places", "our stay points vs trackintel's on the same 1 Hz tracks at several lengths; JSON",
                _places_args, _places_run)
