"""``momentsense demo``."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24: one day)")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (same seed, same day)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run(args: argparse.Namespace) -> int:
    import json

    from sdk.errors import InputError
    from trainer.demo.run import format_summary, run_demo

    if not args.hours > 0:
        raise InputError(f"--hours must be > 0, got {args.hours}")
    summary = run_demo(args.hours, args.seed, progress=not args.no_progress)
    print(json.dumps(summary.to_dict(), indent=2) if args.json else format_summary(summary))
    return 0


def register(cli) -> None:
    cli.command("demo", "simulate a day of phone sensors and run the SDK pipeline over it", _args, _run)
