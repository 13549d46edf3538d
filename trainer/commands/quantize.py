"""``momentsense quantize``: TFLite variants of a trained model, measured, with manifests."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="trained .keras transport model (from momentsense train transport)")
    p.add_argument("--out", required=True, help="output folder (variants, shipped model + manifest, report.json)")
    p.add_argument("--train-data", required=True, help="training file(s) for int8 calibration, comma-separated")
    p.add_argument("--test-data", required=True, help="held-out file(s) for the metrics, comma-separated")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--int8", action="store_const", const="int8", dest="mode", help="full integer int8 (default)")
    g.add_argument("--float16", action="store_const", const="float16", dest="mode", help="float16 weights")
    g.add_argument("--dynamic", action="store_const", const="dynamic", dest="mode", help="dynamic-range int8 weights")
    g.add_argument("--sweep", action="store_true", help="export and measure every variant")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _run(args: argparse.Namespace) -> int:
    import json

    from quantize.transport import format_report, quantize_transport

    split = lambda s: [x for x in s.split(",") if x]  # noqa: E731
    mode = args.mode or "int8"
    modes = ["float32", "float16", "dynamic", "int8"] if args.sweep else sorted({"float32", mode})
    report = quantize_transport(args.model, args.out, split(args.train_data), split(args.test_data), modes, ship=mode)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def register(cli) -> None:
    cli.command("quantize", "export a trained model to TFLite (float32/float16/dynamic/int8) with manifests and a report", _args, _run)
