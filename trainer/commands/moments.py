"""``momentsense simulate population``, ``train next-event`` and ``eval next-event``."""

from __future__ import annotations

import argparse

from momentsense.sdk.errors import InputError


def _sim_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--users", type=int, required=True, help="number of users")
    p.add_argument("--weeks", type=int, required=True, help="simulated weeks per user")
    p.add_argument("--out", required=True, help="output timeline (.h5 or .jsonl, momentsense-timeline-v1)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same file (default 0)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (results do not depend on it; default 2)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _sim_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from momentsense.sdk.io.timeline_file import write_timeline
    from momentsense.trainer.population import PopulationOptions, simulate_population

    opts = PopulationOptions(args.users, args.weeks, args.seed, n_jobs=args.jobs)
    with tqdm(total=args.users, unit="user", desc="simulating", disable=args.no_progress) as bar:
        tl = simulate_population(opts, progress=bar.update)
    path = write_timeline(args.out, tl)
    print(f"wrote {path}: {len(tl.users)} users, {len(tl)} events, {args.weeks} weeks ({tl.source})")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file")
    p.add_argument("--out", required=True, help="output folder (metrics.json, next_event.tflite + .json, .keras)")
    p.add_argument("--epochs", type=int, default=14)
    p.add_argument("--seed", type=int, default=0, help="seed of training (crops, augmentation, initialisation)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the user-wise train/validation/test split")
    p.add_argument("--max-train-users", type=int, default=None, help="use at most this many training users")
    p.add_argument("--eval-users", type=int, default=400, help="held-out users evaluated (default 400; 0 = all)")
    p.add_argument("--tflite-eval-users", type=int, default=60, help="held-out users for the TFLite vs Keras check")
    p.add_argument("--crops-per-user", type=int, default=4)
    p.add_argument("--units", type=int, default=64)
    p.add_argument("--recall-heads", type=int, default=4,
                   help="heads of the recall branch beside the LSTM (default 4, as shipped; 0 = the plain LSTM of model 1.0)")
    p.add_argument("--no-shift-augment", action="store_true", help="switch off the random day-shift augmentation")
    p.add_argument("--ship", default=None, help="also write next_event.tflite + .json into this folder (edge_models/artifacts)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-progress", action="store_true")


def _train_run(args: argparse.Namespace) -> int:
    from momentsense.sdk.errors import InputError
    from momentsense.trainer.nextevent.evaluate import fmt_table
    from momentsense.trainer.nextevent.train import TrainOptions
    from momentsense.trainer.nextevent.workflow import run_train

    if args.epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {args.epochs}")
    if args.recall_heads < 0:
        raise InputError(f"--recall-heads must be >= 0, got {args.recall_heads}")
    opts = TrainOptions(epochs=args.epochs, seed=args.seed, crops_per_user=args.crops_per_user, units=args.units,
                        recall_heads=args.recall_heads,
                        shift_augment_p=0.0 if args.no_shift_augment else TrainOptions.shift_augment_p, threads=args.threads)  # fmt: skip
    m = run_train(args.data, args.out, opts, split_seed=args.split_seed, max_train_users=args.max_train_users,
                  eval_users=args.eval_users or None, tflite_eval_users=args.tflite_eval_users, ship=args.ship,
                  progress=not args.no_progress)  # fmt: skip
    print(f"held-out users: {m['n_users']}, events: {m['n_events']}")
    print(fmt_table(m))
    print(f"TFLite ({m['tflite_mode']}) top-1 {m['tflite_top1']:.3f} vs Keras {m['keras_top1_same_events']:.3f} on the same "
          f"{m['tflite_n_events']} events; {m['latency_ms_mean']:.2f} ms per prediction ({m['interpreter']})")  # fmt: skip
    print(f"wrote {args.out}/metrics.json")
    return 0


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="next_event.tflite (manifest beside it) or next_event_seq.keras")
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file (users evaluated after 3 weeks of history)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--shift-hours", type=float, default=0.0, help="move each user's fourth week by this many hours")
    p.add_argument("--markov-population", default=None, help="population tables (default: markov_population.json.gz beside the model)")
    p.add_argument("--max-users", type=int, default=None)
    p.add_argument("--first-week", action="store_true",
                   help="score each user's first week instead (the cold start: a new user with no history yet)")


def _eval_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.trainer.nextevent.workflow import run_eval

    if args.first_week and args.shift_hours:
        raise InputError("--first-week and --shift-hours are separate scenarios: pass one")
    m = run_eval(args.model, args.data, args.shift_hours, args.markov_population, args.max_users, first_week=args.first_week)
    if args.json:
        print(json.dumps(m, indent=2, sort_keys=True))
    else:
        for k, v in sorted(m.items()):
            print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")
    return 0


def _moments_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-timeline-v1 file with ground-truth moments (users unseen in training)")
    p.add_argument("--model", default=None, help="next_event.tflite with its manifest (default: the shipped one)")
    p.add_argument("--users", type=int, default=40, help="evaluate the first N users of the file")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")


def _moments_run(args: argparse.Namespace) -> int:
    import json

    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.io.timeline_file import read_timeline
    from momentsense.trainer.nextevent.moments_eval import evaluate_moments

    if args.users < 1:
        raise InputError(f"--users must be >= 1, got {args.users}")
    tl = read_timeline(args.data)
    if not (tl.moment >= 0).any():
        raise InputError(f"{args.data}: no ground-truth moments in this file (simulate it with `momentsense simulate population`)")
    model = args.model or str(artifact_dir() / "next_event.tflite")
    m = evaluate_moments(tl, model, list(range(min(args.users, len(tl.users)))))
    if args.json:
        print(json.dumps(m, indent=2, sort_keys=True))
    else:
        print(f"moment accuracy {m['moment_accuracy']:.3f} on {m['n_transport_events']} transport events of {m['n_users']} users")
        for name, r in m["moments"].items():
            print(f"  {name:14s} precision {r['precision']:.2f} recall {r['recall']:.2f} support {r['support']}")
        print(f"notifications: {m['notify_suggestions']} planned, {m['notify_planned_in_transit']:.1%} planned inside a trip; "
              f"delivered inside a trip after the is_good_moment gate: {m['notify_delivered_in_transit']}")
    return 0


def register(cli) -> None:
    """Declare the population simulator and next-event commands."""
    cli.command("simulate population", help="Simulate users' weeks as momentsense-timeline-v1 with ground-truth moments and personas.",
                add_args=_sim_args, run=_sim_run)  # fmt: skip
    cli.command("train next-event", help="Train the global next-event LSTM; held-out users' metrics vs the Markov baseline.",
                add_args=_train_args, run=_train_run)  # fmt: skip
    cli.command("eval next-event", help="Evaluate a next-event LSTM (.tflite or .keras) against the Markov baseline.",
                add_args=_eval_args, run=_eval_run)  # fmt: skip
    cli.command("eval moments", help="Moment precision/recall and notification timing on a timeline file with ground truth.",
                add_args=_moments_args, run=_moments_run)  # fmt: skip
