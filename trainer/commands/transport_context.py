"""``momentsense train transport-context``: fit the context head for an already trained window model."""

from __future__ import annotations

import argparse


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True,
                   help="the window model the head will run behind: the shipped .tflite (with its manifest), or a .keras")
    p.add_argument("--data", required=True, help="the momentsense-imu-v1 file(s) it was trained on, comma-separated")
    p.add_argument("--test-data", help="the held-out test file it was scored on (default: the same subject split as training)")
    p.add_argument("--out", required=True, help="output folder (transport_context.json, transport_context_lagged.json, context_metrics.json)")
    p.add_argument("--seed", type=int, default=0, help="the --seed the window model was trained with (same split)")
    p.add_argument("--ship", action="store_true", help="copy the head beside the .tflite model and name it in its manifest")
    p.add_argument("--lag", type=int, default=36, metavar="WINDOWS",
                   help="also fit the timeline's lagged head with this look-ahead (default 36 = 3 min at a 5 s hop; 0 = none)")
    p.add_argument("--heads", default="live,lagged", metavar="NAMES",
                   help="which heads to fit, comma-separated: live, lagged, live_gps, lagged_gps (the _gps ones read "
                        "GPS too; they need data with GPS tracks) (default live,lagged)")
    p.add_argument("--add-to-metrics", metavar="METRICS_JSON", help="add the model + head row to this training run's comparison table")


def _run(args: argparse.Namespace) -> int:
    from momentsense.trainer.transport.context import run_context

    m = run_context(args.model, [p for p in args.data.split(",") if p], args.out, args.test_data, args.seed, args.ship,
                    args.add_to_metrics, lag=args.lag, heads=[h.strip() for h in args.heads.split(",") if h.strip()])  # fmt: skip
    for r in [m] + [v for k, v in m.items() if k.startswith("context") and isinstance(v, dict)]:
        name = {0: "live", 1: "lagged"}[int(bool(r["lag_windows"]))] + (" GPS" if r["options"]["gps"] else "") + " context head"
        sm = r["smoothing"]
        print(f"{name} on held-out subjects {r['test_subjects']}: window accuracy {r['accuracy']:.3f}, macro-F1 "
              f"{r['macro_f1']:.3f}; after the HMM macro-F1 {sm['forward']['macro_f1']:.3f} forward, "
              f"{sm['viterbi']['macro_f1']:.3f} Viterbi; segment accuracy raw {sm['raw']['segment_accuracy']:.3f} → "
              f"forward {sm['forward']['segment_accuracy']:.3f}; {r['n_params']:,} parameters")  # fmt: skip
        if "shipped_to" in r:
            print(f"shipped: {r['shipped_to']} names it")
    print(f"wrote {args.out}/context_metrics.json")
    return 0


def register(cli) -> None:
    cli.command("train transport-context", "fit the context head (minutes of window outputs → transport mode) behind a trained window model",
                _args, _run)  # fmt: skip
