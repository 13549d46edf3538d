"""``momentsense train segments`` and ``momentsense eval segments``."""

from __future__ import annotations

import argparse


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file with planted personas")
    p.add_argument("--out", required=True, help="output folder (metrics.json, timeline_encoder.tflite + .json, segment_classifiers.json, plot)")
    p.add_argument("--steps", type=int, default=600, help="encoder training steps (default 600)")
    p.add_argument("--users-per-batch", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seed of encoder training")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the encoder/label-pool/test user split")
    p.add_argument("--repeats", type=int, default=5, help="random labelled-user draws per label count")
    p.add_argument("--label-counts", default="10,30,100", help="comma-separated labelled-user counts")
    p.add_argument("--finetune-epochs", type=int, default=30, help="0 = skip the fine-tuning comparison")
    p.add_argument("--retrain-seed", type=int, default=1, help="seed of the second encoder (mapping experiment); -1 = skip")
    p.add_argument("--compat-weight", type=float, default=1.0,
                   help="weight of the compatibility loss of the mapping experiment's compatible retrains (default 1; 0 = plain retrains only)")
    p.add_argument("--tflite-mode", choices=("float16", "float32"), default="float16")
    p.add_argument("--version", default="1.0.0", help="semantic version of the encoder")
    p.add_argument("--ship", default=None, help="also copy the encoder, heads and metrics into this folder (edge_models/artifacts)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")


def _train_run(args: argparse.Namespace) -> int:
    import dataclasses
    import math

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.segments.encoder import EncoderTrainOptions
    from momentsense.trainer.segments.workflow import SegmentsTrainOptions, run_train

    try:
        counts = tuple(int(c) for c in args.label_counts.split(","))
    except ValueError:
        raise InputError(f"--label-counts must be comma-separated integers, got {args.label_counts!r}") from None
    if args.steps < 1 or min(counts) < 2:
        raise InputError(f"--steps must be >= 1 and label counts >= 2, got {args.steps}, {counts}")
    if not (math.isfinite(args.compat_weight) and args.compat_weight >= 0):
        raise InputError(f"--compat-weight must be a finite number >= 0, got {args.compat_weight}")
    enc = dataclasses.replace(EncoderTrainOptions(), steps=args.steps, users_per_batch=args.users_per_batch, seed=args.seed, threads=args.threads)
    o = SegmentsTrainOptions(encoder=enc, label_counts=counts, repeats=args.repeats, split_seed=args.split_seed,
                             finetune_epochs=args.finetune_epochs, retrain_seed=None if args.retrain_seed < 0 else args.retrain_seed,
                             compat_weight=args.compat_weight,
                             tflite_mode=args.tflite_mode, version=args.version)  # fmt: skip
    m = run_train(args.data, args.out, o, ship=args.ship, verbose=not args.quiet)
    print(f"test users: {m['n_test_users']}; same-user retrieval top-1 {m['retrieval_test']['retrieval_top1']:.3f}")
    for n, v in m["few_label_f1"]["embedding"]["mean"].items():
        print(f"{n:>4} labels: mean F1 embedding {v:.3f}, features {m['few_label_f1']['features_baseline']['mean'][n]:.3f}")
    print(f"wrote {args.out}/metrics.json")
    return 0


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file with planted personas")
    p.add_argument("--model", default=None, help="timeline_encoder.tflite (default: the shipped one)")
    p.add_argument("--heads", default=None, help="segment_classifiers.json (default: beside the model)")
    p.add_argument("--max-users", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _eval_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.segments.evaluate import run_eval

    m = run_eval(args.data, args.model, args.heads, args.max_users)
    if args.json:
        print(json.dumps(m, indent=2, sort_keys=True))
    else:
        for s, v in sorted(m["f1"].items()):
            print(f"{s:18s} " + "  ".join(f"{k} {x:.3f}" if x is not None else f"{k}   -  " for k, x in sorted(v.items())))
    return 0


def register(cli) -> None:
    """Declare the segments commands."""
    cli.command("train segments", help="Train the timeline encoder (triplet loss), few-label classifiers and rules evaluation.",
                add_args=_train_args, run=_train_run)  # fmt: skip
    cli.command("eval segments", help="Per-segment F1 of rules, embedding heads and the feature baseline on a timeline file.",
                add_args=_eval_args, run=_eval_run)  # fmt: skip
