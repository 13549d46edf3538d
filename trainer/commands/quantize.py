"""``momentsense quantize``: pruned / quantized TFLite variants of a trained model, measured, with manifests."""

from __future__ import annotations

import argparse


def _floats(s: str) -> list:
    return [float(x) for x in s.split(",") if x.strip()]


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="trained .keras transport model (from momentsense train transport)")
    p.add_argument("--out", required=True, help="output folder (variants, shipped model + manifest, report.json, report.png)")
    p.add_argument("--train-data", required=True, help="training file(s) for int8 calibration and fine-tuning, comma-separated")
    p.add_argument("--test-data", required=True, help="held-out file(s) for the metrics, comma-separated")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--int8", action="store_const", const="int8", dest="mode", help="full integer int8 (default)")
    g.add_argument("--float16", action="store_const", const="float16", dest="mode", help="float16 weights")
    g.add_argument("--dynamic", action="store_const", const="dynamic", dest="mode", help="dynamic-range int8 weights")
    g.add_argument("--float32", action="store_const", const="float32", dest="mode", help="float32 (no quantization)")
    p.add_argument("--prune", type=float, default=0.0, metavar="SPARSITY",
                   help="magnitude pruning to this share of zero kernel weights (e.g. 0.7); shrinks only the gzip size")  # fmt: skip
    p.add_argument("--channels", type=float, default=1.0, metavar="KEEP",
                   help="structured pruning: keep this share of each conv's filters (e.g. 0.5); shrinks the .tflite")  # fmt: skip
    p.add_argument("--qat", action="store_true", help="quantization-aware fine-tuning before int8 conversion")
    p.add_argument("--lean", action="store_true", help="int8 with per-tensor weight scales and no tensor names/signatures (smaller file)")
    p.add_argument("--sweep", action="store_true", help="build and measure every sparsity × quantization (+ QAT, channel) variant")
    p.add_argument("--sweep-sparsity", type=_floats, default=[0.0, 0.5, 0.7], metavar="S,S", help="sparsities of the sweep")
    p.add_argument("--sweep-channels", type=_floats, default=[0.75, 0.5], metavar="K,K", help="channel keep shares of the sweep")
    p.add_argument("--ship", default="recommended",
                   help="variant written as NAME.tflite + NAME.json: 'recommended' (sweep default), 'none', or a name "
                        "such as ch0.5-qat-int8 (default without --sweep: the variant the flags describe)")  # fmt: skip
    p.add_argument("--version", default="1.0.0", help="semantic version written into the manifests")
    p.add_argument("--parent-version", default=None, help="version of the released model this one replaces")
    p.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs for pruning and QAT")
    p.add_argument("--seed", type=int, default=0, help="seed of fine-tuning")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def _run(args: argparse.Namespace) -> int:
    import json

    from momentsense.quantize.prune import FineTuneOptions
    from momentsense.trainer.transport.compress import (
        QuantizeOptions,
        Variant,
        default_sweep,
        format_report,
        quantize_transport,
    )

    split = lambda s: [x for x in s.split(",") if x]
    chosen = Variant(args.mode or "int8", args.prune, args.channels, args.qat, args.lean)
    if args.sweep:
        variants = list(dict.fromkeys(default_sweep(args.sweep_sparsity, args.sweep_channels) + [chosen]))
        ship = args.ship
    else:
        variants = [chosen]
        ship = chosen.name if args.ship == "recommended" else args.ship
    opts = QuantizeOptions(variants=variants, ship=None if ship == "none" else ship,
                           fine_tune=FineTuneOptions(epochs=args.epochs, seed=args.seed), version=args.version,
                           parent_version=args.parent_version)  # fmt: skip
    report = quantize_transport(args.model, args.out, split(args.train_data), split(args.test_data), opts)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def register(cli) -> None:
    cli.command("quantize", "prune / quantize a trained model to TFLite variants with manifests and a measured report", _args, _run)
