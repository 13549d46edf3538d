"""``momentsense eval places``: stay points, places, home/work and trips against planted truth (and trackintel)."""

from __future__ import annotations

import argparse

from momentsense.sdk.errors import InputError


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", help="score the GPS stages on a file with /gps/<id> and /truth/<id> (e.g. `convert aalto`) "
                                  "instead of simulated days")
    p.add_argument("--json", action="store_true", help="with --data: print JSON (the simulated-days report is always JSON)")
    p.add_argument("--days", type=int, default=5, help="simulated days per person")
    p.add_argument("--people", type=int, default=3, help="simulated people (each with their own places and device)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-trackintel", action="store_true", help="skip the comparison even if trackintel is installed")


def _run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.eval_places import evaluate

    if args.data:
        from momentsense.trainer.eval_places_file import format_report, score_tracks
        from momentsense.trainer.gps_truth_file import read_gps_truth

        result = score_tracks(read_gps_truth(args.data))
        result["data"] = args.data
        print(json.dumps(result, indent=1) if args.json else format_report(result))
        return 0
    if args.days < 1 or args.people < 1:
        raise InputError(f"--days and --people must be >= 1, got {args.days}, {args.people}")
    print(json.dumps(evaluate(args.days, args.people, args.seed, not args.no_trackintel), indent=1, default=str))
    return 0


def register(cli) -> None:
    cli.command("eval places", "GPS timeline (stay points, places, home/work, trips) on simulated days with planted "
                "truth, side by side with trackintel when installed; JSON. With --data: stays, legs and the motorised split "
                "on a GPS + truth file", _args, _run)
