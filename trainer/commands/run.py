"""``momentsense run --replay FILE``: your own recording through the SDK to a timeline and a report."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replay", required=True, metavar="FILE",
                   help="a recording: momentsense-imu-v1 .h5 or a .csv with time, ax, ay, az [, gx, gy, gz] [, lat, lon, "
                        "accuracy, speed] columns (labels are not needed)")  # fmt: skip
    p.add_argument("--model", default=None, help="transport .tflite model with its manifest beside it (default: the shipped one)")
    p.add_argument("--out", default="momentsense-run", help="folder for index.html, timeline.json and figures")
    p.add_argument("--time-unit", default="s", choices=["s", "ms", "ns"], help="CSV: unit of the time column")
    p.add_argument("--acc-unit", default="mps2", choices=["mps2", "g"], help="CSV: unit of ax, ay, az (gravity included)")
    p.add_argument("--gyro-unit", default="rad_s", choices=["rad_s", "deg_s"], help="CSV: unit of gx, gy, gz")
    p.add_argument("--utc-offset", type=float, default=0.0, metavar="HOURS",
                   help="local time minus UTC in hours, for days and clock times (e.g. 1 for CET)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the timeline as JSON")


def _run(args: argparse.Namespace) -> int:
    import json

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.replay import ReplayOptions, format_replay, run_replay

    if not -14 <= args.utc_offset <= 14:
        raise InputError(f"--utc-offset must be in -14..14 hours, got {args.utc_offset}")
    opts = ReplayOptions(path=args.replay, out=args.out, model=args.model, time_unit=args.time_unit, acc_unit=args.acc_unit,
                         gyro_unit=args.gyro_unit, utc_offset_h=args.utc_offset)  # fmt: skip
    data = run_replay(opts)
    print(json.dumps(data["timeline"], indent=1, default=str) if args.json else format_replay(data, args.out))
    return 0


def register(cli) -> None:
    cli.command("run", "run your own recording (CSV or momentsense-imu-v1) through the SDK: timeline and HTML report",
                _args, _run, needs="matplotlib")  # fmt: skip
