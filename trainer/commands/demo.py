"""``momentsense demo``: simulate a persona, run the whole SDK over it, score it, write an HTML report."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    from momentsense.trainer.demo.personas import PERSONAS

    p.add_argument("--days", type=int, default=7, help="simulated days from a Monday (default 7: a week; 1..28)")
    p.add_argument("--persona", default="commuter",
                   help="whose week: " + ", ".join(f"{k} ({v.description})" for k, v in PERSONAS.items()))  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="simulation seed (same seed, same week)")
    p.add_argument("--hours", type=float, default=None, help="simulate only the first HOURS hours (quick checks)")
    p.add_argument("--out", default="momentsense-demo", help="folder for the HTML report (default ./momentsense-demo)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--no-context", action="store_true", help="transport without its context heads (to compare)")
    p.add_argument("--no-lagged-context", action="store_true",
                   help="events from the live context head, not settled by the lagged one (to compare)")
    p.add_argument("--no-gps-context", action="store_true",
                   help="events settled by the lagged head without GPS, not the GPS one (to compare)")


def _run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.demo.run import DemoOptions, format_summary, run_demo

    opts = DemoOptions(days=args.days, persona=args.persona, seed=args.seed, hours=args.hours, out=args.out,
                       progress=not args.no_progress, transport_context=not args.no_context,
                       transport_lagged_context=not args.no_lagged_context, transport_gps=not args.no_gps_context)  # fmt: skip
    summary = run_demo(opts)
    print(json.dumps(summary.to_dict(), indent=2, default=str) if args.json else format_summary(summary))
    return 0


def register(cli) -> None:
    cli.command("demo", "simulate a persona's week of phone sensors, run the whole SDK over it, sync, score, report",
                _args, _run)  # fmt: skip
