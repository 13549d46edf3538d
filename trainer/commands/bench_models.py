"""``momentsense bench models`` and ``momentsense bench training`` (JSON)."""

from __future__ import annotations

import argparse

from momentsense.sdk.errors import InputError


def _models_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeats", type=int, default=500, help="timed calls per model")
    p.add_argument("--no-keras", action="store_true", help="skip the Keras (TensorFlow) timings")
    p.add_argument("--json", action="store_true", help="JSON output (the default)")


def _models_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.bench_models import bench_models

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

    from momentsense.trainer.bench_models import bench_training

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

    from momentsense.trainer.profile import profile_demo

    if not args.hours > 0:
        raise InputError(f"--hours must be > 0, got {args.hours}")
    print(json.dumps(profile_demo(args.out, args.hours, args.seed, args.rate), indent=2))
    return 0


def _all_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours for the runtime benchmark")
    p.add_argument("--training-seconds", type=float, default=8.0, help="timed seconds per model in the training benchmark")
    p.add_argument("--repeats", type=int, default=300, help="timed calls per model in the inference benchmark")
    p.add_argument("--payload-days", type=int, default=2, help="simulated days for the sync payload measurement")
    p.add_argument("--json", action="store_true", help="JSON output (the default)")


def _all_run(args: argparse.Namespace) -> int:
    import json
    import platform
    import time

    from momentsense.trainer.bench import bench_runtime
    from momentsense.trainer.bench_models import bench_models, bench_training

    if not args.hours > 0 or not args.training_seconds > 0 or args.repeats < 10 or args.payload_days < 1:
        raise InputError("need --hours > 0, --training-seconds > 0, --repeats >= 10 and --payload-days >= 1")
    t0 = time.time()
    out = {"machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()}}
    bench_runtime(0.05, 0)  # warm-up: imports and model loading must not count against the first run
    out["runtime_duty_cycled"] = bench_runtime(args.hours, 0, duty_cycle=True)
    out["runtime_every_window"] = bench_runtime(args.hours, 0, duty_cycle=False)
    out["runtime_duty_cycle_speedup"] = round(out["runtime_duty_cycled"]["realtime_factor"]
                                              / out["runtime_every_window"]["realtime_factor"], 3)
    out["models"] = bench_models(args.repeats)
    out["training"] = bench_training(args.training_seconds)
    try:
        from momentsense.trainer.server.payload_size import measure

        out["sync_payload"] = measure(args.payload_days, 1, 0)
    except ImportError as exc:  # the server extra is not installed
        out["sync_payload"] = f"not measured: {exc}"
    out["wall_s"] = round(time.time() - t0, 1)
    print(json.dumps(out, indent=2))
    return 0


def register_profile(cli) -> None:
    cli.command("bench all", "every benchmark side by side in one run: runtime with and without duty cycling, "
                "inference per model, training throughput, sync payload per day (JSON)", _all_args, _all_run)
    cli.command("profile demo", "flame graph (py-spy) of the on-device runtime on a simulated day; top costs as JSON",
                _profile_args, _profile_run)
