"""``momentsense train transport`` and ``momentsense eval transport``."""

from __future__ import annotations

import argparse


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="momentsense-imu-v1 file(s), comma-separated")
    p.add_argument("--test-data", help="held-out test file (default: a subject-wise split of --data)")
    p.add_argument("--out", required=True, help="output folder (model, metrics.json, confusion.png)")
    p.add_argument("--epochs", type=int, default=40, help="maximum epochs (early stopping on validation subjects)")
    p.add_argument("--seed", type=int, default=0, help="seed of split, augmentation, initialisation")
    p.add_argument("--patience", type=int, default=10,
                   help="epochs without improvement of --monitor before stopping (>= --epochs: train all epochs, keep the last)")
    p.add_argument("--keep", choices=("best", "last"), default="best",
                   help="weights kept: the best epoch by --monitor (default) or the last epoch")
    p.add_argument("--monitor", choices=("val_loss", "val_accuracy"), default="val_accuracy",
                   help="what early stopping and the learning-rate schedule watch on the early-stopping subjects")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--copies", type=int, default=2, help="augmented passes over the training recordings")
    p.add_argument("--no-augment", nargs="?", const="all", default="",
                   help="switch augmentation off: all, or a comma list of noise,scale,rotation,bias,warp")  # fmt: skip
    p.add_argument("--window-s", type=float, help="window length in seconds (recordings only)")
    p.add_argument("--hop-s", type=float, help="window hop in seconds (recordings only)")
    p.add_argument("--channels", help="comma-separated input channels (default: sdk.dsp.DEFAULT_CHANNELS)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="architecture option of build_transport_cnn, e.g. batch_norm=true, l2=0, dropout=0.2, pooling=avg")
    p.add_argument("--baselines", action="store_true", help="also train the feature + forest / boosting baselines")
    p.add_argument("--folds", type=int, default=0,
                   help="subject-wise k-fold cross-validation instead of one split: every subject tested once, "
                        "DIR/fold<i>/ and DIR/cv.json (not with --test-data)")
    p.add_argument("--train-also", default="", metavar="FILES",
                   help="with --folds: file(s), comma-separated, added to every fold's training set and never tested "
                        "(e.g. simulated subjects beside a real cross-validated set; same label names)")
    p.add_argument("--choose-augment", metavar="KEY=V1,V2,...",
                   help="with --folds: nested selection of one augmentation setting, e.g. rotation_deg=45,180; each "
                        "outer fold picks the value by inner cross-validation on its training subjects only")
    p.add_argument("--ablate-augment", action="store_true", help="retrain without each augmentation and report macro-F1")
    p.add_argument("--ablate-on", choices=("validation", "test"), default="validation",
                   help="score the ablation on held-out training subjects and phones (default; safe for choosing "
                        "settings) or on the test subjects (reporting only)")
    p.add_argument("--augment-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="augmentation strength, a field of AugmentConfig, e.g. noise_acc_mps2=0.01, time_warp=0")
    p.add_argument("--threads", type=int, default=None, help="TensorFlow threads")
    p.add_argument("--no-context", action="store_true",
                   help="skip the context heads (minutes of window outputs → mode; recordings only)")
    p.add_argument("--context-lag", type=int, default=36, metavar="WINDOWS",
                   help="look-ahead of the timeline's lagged context head, in windows (default 36 = 3 min at a 5 s hop; 0 = none)")


def _train_run(args: argparse.Namespace) -> int:
    import dataclasses

    from momentsense.sdk.dsp import PreprocessConfig
    from momentsense.sdk.errors import InputError
    from momentsense.trainer.transport.train import TrainOptions
    from momentsense.trainer.transport.workflow import format_compare, run_train

    if args.epochs < 1:
        raise InputError(f"--epochs must be >= 1, got {args.epochs}")
    if args.context_lag < 0:
        raise InputError(f"--context-lag must be >= 0 windows, got {args.context_lag}")
    aug = augment_config(args.augment_arg)
    if args.no_augment == "all":
        aug = None
    elif args.no_augment:
        aug = aug.without(*[g.strip() for g in args.no_augment.split(",") if g.strip()])
    pre = PreprocessConfig()
    if args.window_s or args.hop_s:
        pre = dataclasses.replace(pre, window_s=args.window_s or pre.window_s, hop_s=args.hop_s or pre.hop_s)
    if args.channels:
        pre = dataclasses.replace(pre, channels=tuple(c.strip() for c in args.channels.split(",") if c.strip()))
    opts = TrainOptions(epochs=args.epochs, seed=args.seed, patience=args.patience, restore_best=args.keep == "best", monitor=args.monitor,
                        batch_size=args.batch_size, augment=aug, copies=args.copies if aug else 0, preprocess=pre, threads=args.threads, verbose=2,
                        context=not args.no_context, context_lag=args.context_lag,
                        model_kwargs=parse_model_args(args.model_arg))  # fmt: skip
    if args.folds:
        from momentsense.trainer.transport.crossval import format_cv, run_cross_validation

        if args.test_data or args.ablate_augment:
            raise InputError("--folds tests every subject of --data in turn: drop --test-data and --ablate-augment")
        candidates = choose_candidates(args.choose_augment, opts) if args.choose_augment else None
        cv = run_cross_validation([p for p in args.data.split(",") if p], args.out, args.folds, opts, args.baselines,
                                  candidates=candidates, train_also=[p for p in args.train_also.split(",") if p])  # fmt: skip
        print(format_cv(cv))
        print(f"wrote {args.out}/cv.json")
        return 0
    if args.train_also:
        raise InputError("--train-also needs --folds (without it, pass every training file to --data)")
    if args.choose_augment:
        raise InputError("--choose-augment needs --folds (the choice is made inside each fold)")
    m = run_train([p for p in args.data.split(",") if p], args.out, args.test_data, opts, args.baselines, args.ablate_augment,
                  ablate_on=args.ablate_on)  # fmt: skip
    print(f"held-out subjects {m['test_subjects']}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f}, "
          f"{m['n_params']:,} parameters; wrote {args.out}/metrics.json")  # fmt: skip
    print(format_compare(m["compare"]))
    if "augmentation_ablation" in m:
        from momentsense.trainer.transport.ablation import AblationResult, format_ablation

        print(format_ablation(AblationResult(**m["augmentation_ablation"])))
    return 0


def augment_config(items: list):
    """``["noise_acc_mps2=0.01", "rotation=false"]`` → an :class:`AugmentConfig` with those fields changed."""
    import dataclasses

    from momentsense.sdk.errors import InputError
    from momentsense.trainer.transport.augment import AugmentConfig

    fields = {f.name: f.type for f in dataclasses.fields(AugmentConfig)}
    changes = {}
    for key, value in parse_model_args(items).items():
        if key not in fields:
            raise InputError(f"--augment-arg: unknown field {key!r}; known: {sorted(fields)}")
        if isinstance(value, tuple) or isinstance(value, str):
            raise InputError(f"--augment-arg {key}: expected a number or true/false, got {value!r}")
        changes[key] = bool(value) if key == "rotation" else float(value)
    return dataclasses.replace(AugmentConfig(), **changes)


def choose_candidates(spec: str, opts) -> dict:
    """``"rotation_deg=45,180"`` → ``{"rotation_deg=45": opts with that augmentation, ...}``."""
    import dataclasses

    from momentsense.sdk.errors import InputError

    key, sep, values = spec.partition("=")
    vals = [v.strip() for v in values.split(",") if v.strip()]
    if not sep or len(vals) < 2:
        raise InputError(f"--choose-augment takes KEY=V1,V2[,...] (at least two values), got {spec!r}")
    if opts.augment is None:
        raise InputError("--choose-augment needs augmentation on (drop --no-augment)")
    out = {}
    for v in vals:
        aug = augment_config([f"{key}={v}"])
        out[f"{key}={v}"] = dataclasses.replace(opts, augment=dataclasses.replace(opts.augment, **{key: getattr(aug, key)}))
    return out


def parse_model_args(items: list) -> dict:
    """``["batch_norm=true", "l2=0.001", "widths=16,32"]`` → typed keyword arguments."""
    from momentsense.sdk.errors import InputError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--model-arg takes KEY=VALUE, got {item!r}")
        low = value.lower()
        if low in ("true", "false"):
            out[key] = low == "true"
        elif "," in value:
            out[key] = tuple(int(v) for v in value.split(","))
        else:
            try:
                out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
            except ValueError:
                out[key] = value
    return out


def _eval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="a .keras or .tflite transport model")
    p.add_argument("--data", help="momentsense-imu-v1 file(s), comma-separated")
    p.add_argument("--json", action="store_true", help="print metrics as JSON")
    p.add_argument("--compare", action="store_true", help="print the model comparison table of a training run")
    p.add_argument("--metrics", help="metrics.json of a training run, for --compare (default: the shipped model's)")
    p.add_argument("--no-context", action="store_true", help="evaluate the window model alone, without its context heads")
    p.add_argument("--stream", action="store_true",
                   help="also stream each recording through the SDK (MomentSDK.feed in 10 s chunks: heads, HMM, duty "
                        "cycling, GPS-stay prior) and score per second: JSON 'stream' (the timeline's events) and "
                        "'stream_live' (current_context()); .tflite models only")  # fmt: skip
    gps = p.add_mutually_exclusive_group()
    gps.add_argument("--gps", dest="gps", action="store_true", default=None,
                     help="with --stream: feed the recordings' GPS fixes, location on (default: when the data has GPS tracks)")
    gps.add_argument("--no-gps", dest="gps", action="store_false", help="with --stream: location off, GPS heads never run")
    p.add_argument("--label-map", metavar="A=B,C=D",
                   help="match the data's labels to model classes: FILE_LABEL=MODEL_CLASS pairs, or '*=CLASS' for all "
                        "(default: same name, then the table in docs/real-data.md: jogging=run, sitting=still, ...)")  # fmt: skip
    p.add_argument("--chunk-s", type=float, default=10.0, help="with --stream: seconds of sensor data per chunk (default 10)")


def _eval_run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.errors import InputError
    from momentsense.trainer.transport.loading import to_json
    from momentsense.trainer.transport.workflow import format_compare, run_eval

    if args.compare:
        path = Path(args.metrics) if args.metrics else artifact_dir() / "transport_cnn.metrics.json"
        if not path.exists():
            raise InputError(f"{path}: no metrics of a training run (train with --baselines first)")
        rows = json.loads(path.read_text()).get("compare")
        if not rows:
            raise InputError(f"{path}: has no comparison table (train with --baselines)")
        print(json.dumps(rows, indent=2) if args.json else format_compare(rows))
        return 0
    if not args.model or not args.data:
        raise InputError("eval transport needs --model and --data (or --compare)")
    from momentsense.trainer.transport.label_map import parse_label_map
    from momentsense.trainer.transport.workflow import load_datasets

    if args.stream and not args.model.endswith(".tflite"):
        raise InputError(f"--stream runs the SDK, which runs .tflite models; got {args.model}")
    if args.chunk_s <= 0:
        raise InputError(f"--chunk-s must be > 0 seconds, got {args.chunk_s}")
    if not args.stream and args.gps is not None:
        raise InputError("--gps / --no-gps choose what the streamed SDK reads: add --stream")
    files = [p for p in args.data.split(",") if p]
    label_map = parse_label_map(args.label_map)
    ds = load_datasets(files)
    m = run_eval(args.model, files, context=not args.no_context, label_map=label_map, dataset=ds)
    if args.stream:
        from momentsense.trainer.transport.stream_eval import evaluate_stream

        m.update(evaluate_stream(ds, args.model, args.gps, label_map, args.chunk_s))
    if args.json:
        print(json.dumps(m, indent=2, default=to_json))
    else:
        print(f"{args.model} on {args.data}: accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} "
              f"(all classes {m['macro_f1_all']:.3f}; {m['test_windows_clean']} clean windows)")  # fmt: skip
        for key, name in (("context", "context head"), ("context_lagged", "lagged context head (timeline)"),
                          ("context_gps", "live GPS context head (location on)"),
                          ("context_lagged_gps", "lagged GPS context head (timeline, location on)")):
            if key in m and "skipped" in m[key]:
                print(f"its {name}: skipped ({m[key]['skipped']})")
            elif key in m:
                sm = m[key]["smoothing"]
                print(f"with its {name}: accuracy {m[key]['accuracy']:.3f}, macro-F1 {m[key]['macro_f1']:.3f}; after the HMM "
                      f"macro-F1 {sm['forward']['macro_f1']:.3f} (forward), {sm['viterbi']['macro_f1']:.3f} (Viterbi)")
        if args.stream:
            from momentsense.trainer.transport.stream_format import format_stream

            print(format_stream(m))
    return 0


def register(cli) -> None:
    cli.command("train transport", "train the transport-mode CNN and evaluate it on held-out subjects", _train_args, _train_run, needs="train")
    cli.command("eval transport", "evaluate a transport model on any imu file, or print the model comparison", _eval_args, _eval_run, needs="train")
