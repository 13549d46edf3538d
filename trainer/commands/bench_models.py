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
    register_profile(cli)


def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="flame graph SVG to write")
    p.add_argument("--hours", type=float, default=24.0, help="simulated sensor hours")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second")


def _profile_run(args: argparse.Namespace) -> int:
    import json

    from trainer.profile import profile_demo

    if not args.hours > 0:
        raise InputError(f"--hours must be > 0, got {args.hours}")
    print(json.dumps(profile_demo(args.out, args.hours, args.seed, args.rate), indent=2))
    return 0


def register_profile(cli) -> None:
    cli.command("profile demo", "flame graph (py-spy) of the on-device runtime on a simulated day; top costs as JSON",
                _profile_args, _profile_run)
