"""``momentsense bench models`` and ``momentsense bench training`` (JSON)."""

from __future__ import annotations

import argparse

from sdk.errors import InputError


def _models_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=500, help="timed calls per model")
    p.add_argument("--no-keras", action="store_true", help="skip the Keras (TensorFlow) timings")
    p.add_argument("--json", action="store_true", help="JSON output (the default)")


def _models_run(args: argparse.Namespace) -> int:
    import json

    from trainer.bench_models import bench_models

    if args.repeats < 10:
        raise InputError(f"--repeats must be >= 10, got {args.repeats}")
    print(json.dumps(bench_models(args.repeats, keras_too=not args.no_keras), indent=2))
    return 0


def _training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seconds", type=float, default=10.0, help="timed seconds per model")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true", help="JSON output (the default)")


def _training_run(args: argparse.Namespace) -> int:
    import json

    from trainer.bench_models import bench_training

    if not args.seconds > 0 or args.threads < 1:
        raise InputError(f"need --seconds > 0 and --threads >= 1, got {args.seconds}, {args.threads}")
    print(json.dumps(bench_training(args.seconds, threads=args.threads), indent=2))
    return 0


def register(cli) -> None:
    cli.command("bench models", "inference per window of every shipped model: Keras vs float32 vs int8 TFLite (JSON)",
                _models_args, _models_run)
    cli.command("bench training", "training throughput: transport CNN windows/s, next-event LSTM timelines/s (JSON)",
                _training_args, _training_run)
