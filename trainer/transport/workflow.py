"""``momentsense train transport`` and ``eval transport``: files in, model + metrics.json out."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset
from momentsense.trainer.transport.data import WindowData, dataset_windows
from momentsense.trainer.transport.evaluate import evaluate_classifier, tune_hmm
from momentsense.trainer.transport.train import TrainOptions, TrainedTransport, load_trained, save_trained, train_transport


def load_datasets(paths: Sequence[str]) -> ImuDataset:
    """Read one or more ``momentsense-imu-v1`` files as one dataset (same ``label_names`` required)."""
    from momentsense.sdk.io.imu_file import read_imu

    if not paths:
        raise InputError("no data file given")
    parts = [read_imu(p) for p in paths]
    first = parts[0]
    for p, ds in zip(paths[1:], parts[1:]):
        if list(ds.label_names) != list(first.label_names):
            raise InputError(f"{p}: label_names {ds.label_names} differ from {paths[0]}'s {first.label_names}")
    recordings = [r for ds in parts for r in ds.recordings]
    windows = [ds.windows for ds in parts if ds.windows is not None]
    if len(windows) > 1:
        raise InputError("several files with pre-cut windows: merge them into one file first")
    return ImuDataset(list(first.label_names), " + ".join(ds.source for ds in parts), recordings, windows[0] if windows else None)


def keras_predictor(trained: TrainedTransport):
    """Raw windows → probabilities with a trained Keras model (normalisation included)."""
    return lambda x: trained.model.predict(trained.normalizer.apply(x), verbose=0, batch_size=512)


def load_window_model(path: str | Path):
    """``(predict, config, label_names)`` of a saved window model: a ``.tflite`` (with its manifest,
    sha256 checked) or a ``.keras`` (with its ``.config.json``)."""
    path = Path(path)
    if path.suffix == ".tflite":
        from momentsense.trainer.transport.tflite_eval import tflite_predictor

        return tflite_predictor(path)
    if path.suffix == ".keras":
        trained = load_trained(path)
        return keras_predictor(trained), trained.config, trained.label_names
    raise InputError(f"{path}: expected a .tflite or .keras transport model")


def _row(name: str, n_params: int, n_bytes: int, m: dict) -> dict:
    s = m.get("smoothing", {})
    return {
        "model": name,
        "params": int(n_params),
        "bytes": int(n_bytes),
        "window_accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"],
        "segment_accuracy_raw": s.get("raw", {}).get("segment_accuracy"),
        "segment_accuracy_hmm": s.get("forward", {}).get("segment_accuracy"),
        "segment_accuracy_viterbi": s.get("viterbi", {}).get("segment_accuracy"),
        "switches_per_hour_raw": s.get("raw", {}).get("switches_per_hour"),
        "switches_per_hour_hmm": s.get("forward", {}).get("switches_per_hour"),
        "true_switches_per_hour": s.get("true_switches_per_hour"),
    }


def run_train(
    data: Sequence[str],
    out_dir: str,
    test_data: Optional[str] = None,
    options: Optional[TrainOptions] = None,
    baselines: bool = False,
    ablate: bool = False,
    progress: bool = True,
    ablate_on: str = "validation",
    dataset: Optional[ImuDataset] = None,
) -> dict:
    """Train, evaluate on held-out subjects and write ``out_dir/metrics.json``, ``confusion.png`` and the model.

    With ``ablate``, :func:`trainer.transport.ablation.run_ablation` retrains once per augmentation
    variant, scored on ``ablate_on`` (``"validation"``: held-out training subjects, never the test
    subjects; ``"test"``: the test subjects). ``dataset``: ``data`` already read (cross-validation
    reads its file once for all folds); None reads ``data``.
    """
    from momentsense.trainer.transport.metrics import plot_confusion

    opts = options or TrainOptions()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_ds = dataset if dataset is not None else load_datasets(list(data))
    test_ds = load_datasets([test_data]) if test_data else None
    t0 = time.perf_counter()
    trained, val, test, test_subjects = train_transport(train_ds, test_ds, opts)
    n_cls = len(trained.label_names)
    hop_s = trained.config.hop_s
    predict = keras_predictor(trained)
    p_val, p_test = predict(val.x), predict(test.x)  # once: the context head reuses them
    hmm, hmm_info = tune_hmm(p_val, val, trained.train_sequences, n_cls, hop_s, trained.label_names)
    metrics = evaluate_classifier(lambda _x: p_test, test, trained.label_names, hmm, hop_s)
    model_path = save_trained(trained, out)
    (out / "transport_hmm.json").write_text(json.dumps(hmm.to_dict()))
    metrics.update(
        n_params=int(trained.model.count_params()),
        keras_bytes=model_path.stat().st_size,
        test_subjects=test_subjects,
        test_devices=sorted(set(test.device.tolist())),
        train_windows=trained.history["train_windows"],
        train_seconds=trained.history["train_seconds"],
        epochs_run=len(trained.history.get("loss", [])),
        hmm=hmm_info,
        preprocess=trained.config.to_dict(),
        options={"epochs": opts.epochs, "seed": opts.seed, "copies": opts.copies, "patience": opts.patience,
                 "weights": f"best {opts.monitor}" if opts.restore_best else "last epoch", "model": opts.model_kwargs,
                 "augment": opts.augment.to_dict() if opts.augment else None},
        data=list(data),
        test_data=test_data,
        split="test file" if test_data else "by subject",
    )  # fmt: skip
    metrics["compare"] = [_row("cnn", metrics["n_params"], metrics["keras_bytes"], metrics)]
    if opts.context:
        from momentsense.trainer.transport.context import add_to_run

        add_to_run(metrics, out, predict, train_ds, trained, val, test, metrics["keras_bytes"], opts.exclude_subjects, opts.seed,
                   val_probs=p_val, test_probs=p_test, lag=opts.context_lag)
    if baselines:
        metrics["compare"] += run_baselines(train_ds, trained, test, hmm, exclude=opts.exclude_subjects)
    if ablate:
        from momentsense.trainer.transport.ablation import run_ablation

        exclude = [] if test_data else test_subjects
        metrics["augmentation_ablation"] = run_ablation(train_ds, test_ds, opts, on=ablate_on, exclude_subjects=exclude).to_dict()
    metrics["wall_seconds"] = time.perf_counter() - t0
    plot_confusion(metrics, out / "confusion.png", title=f"transport CNN, held-out subjects ({metrics['macro_f1']:.3f} macro-F1)")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_json))
    return metrics


def run_baselines(train_ds: ImuDataset, trained: TrainedTransport, test: WindowData, hmm, exclude: Sequence[str] = ()) -> list:
    """Feature + forest and feature + boosted-trees baselines: every non-test subject (except ``exclude``)
    for training, the same test windows."""
    from momentsense.trainer.transport.baselines import GradientBoostingBaseline, RandomForestBaseline

    base = dataset_windows(train_ds, trained.config)
    test_subjects = set(test.subject.tolist())
    keep = (base.purity >= 0.8) & ~np.isin(base.subject, list(test_subjects) + [str(s) for s in exclude])
    rows = []
    for name, cls in (("features+forest", RandomForestBaseline), ("features+boosting", GradientBoostingBaseline)):
        kw = {"n_jobs": 2} if cls is RandomForestBaseline else {}
        model = cls(trained.config.fs_hz, trained.config.channels, seed=0, **kw).fit(base.x[keep], base.y[keep], len(trained.label_names))
        m = evaluate_classifier(model.predict_proba, test, trained.label_names, hmm, trained.config.hop_s)
        rows.append(_row(name, model.n_params, model.bytes_on_disk, m))
    return rows


def run_eval(model: str, data: Sequence[str], hmm_path: Optional[str] = None, context: bool = True,
             label_map: Optional[dict] = None, dataset: Optional[ImuDataset] = None) -> dict:
    """Evaluate a saved Keras model (``.keras``) or a ``.tflite`` model (with its manifest) on data files.

    With ``context`` and a context head (named in the ``.tflite`` manifest, or ``transport_context.json``
    beside a ``.keras`` model), ``["context"]`` holds the same metrics for window model + head, and
    ``["context_lagged"]`` those of the lagged head (manifest or ``transport_context_lagged.json``),
    and ``["context_gps"]`` / ``["context_lagged_gps"]`` those of the live and lagged heads that read
    GPS (skipped, saying why, on data without GPS tracks).

    The data's labels are matched to the model's classes by :func:`trainer.transport.label_map.resolve_label_map`
    (same name, the default table, then ``label_map`` overrides); unmapped labels count as unknown.
    Recordings without a gyroscope, when the model needs one, are left out and listed in
    ``["skipped_recordings"]``.
    ``dataset``: ``data`` already read (None reads it).
    """
    from momentsense.sdk.transport.hmm import TransitionModel
    from momentsense.trainer.transport.label_map import remap_dataset, resolve_label_map

    ds = dataset if dataset is not None else load_datasets(list(data))
    path = Path(model)
    predict, config, label_names = load_window_model(path)
    skipped = {}
    if config.needs_gyro and any(r.gyro is None for r in ds.recordings):
        # Real logs without a gyroscope (US-TM2017 has 21): scored without them, and said so.
        import dataclasses

        skipped = {r.id: "no gyroscope (the model's channels need it)" for r in ds.recordings if r.gyro is None}
        kept = [r for r in ds.recordings if r.gyro is not None]
        if not kept and ds.windows is None:
            raise InputError(f"no recording of the data has a gyroscope, which the model's channels {list(config.channels)} need")
        ds = dataclasses.replace(ds, recordings=kept)
    mapping = None
    if list(ds.label_names) != list(label_names) or label_map:
        mapping = resolve_label_map(list(ds.label_names), list(label_names), label_map)
        ds = remap_dataset(ds, label_names, mapping)
    hmm_file = Path(hmm_path) if hmm_path else path.with_name("transport_hmm.json")
    hmm = TransitionModel.from_dict(json.loads(hmm_file.read_text())) if hmm_file.exists() else None
    test = dataset_windows(ds, config)
    probs = predict(test.x)  # once: the context head reads them too
    m = evaluate_classifier(lambda _x: probs, test, label_names, hmm, config.hop_s)
    for key in ("context", "context_lagged", "context_gps", "context_lagged_gps") if context else ():
        head = _context_head(path, key)
        if head is not None and head.gps is not None and not np.all(np.isfinite(test.gps)):
            m[key] = {"skipped": "the head reads GPS and some recordings of the data carry no GPS track"}
        elif head is not None:
            from momentsense.trainer.transport.context import evaluate_head

            m[key] = evaluate_head(probs, head, test, label_names, config.hop_s)
    m["model"] = str(model)
    m["data"] = list(data)
    if mapping is not None:
        m["label_map"] = mapping
    if skipped:
        m["skipped_recordings"] = skipped
    m["subjects"] = sorted(set(test.subject.tolist()))
    return m


def _context_head(path: Path, key: str = "context"):
    from momentsense.sdk.transport.heads import load_head

    if path.suffix == ".tflite":
        from momentsense.sdk.models.manifest import read_manifest
        from momentsense.sdk.transport.detector import load_context_head

        return load_context_head(path, read_manifest(path.with_suffix(".json")), key)
    beside = path.with_name(f"transport_{key}.json")
    return load_head(beside) if beside.exists() else None


def format_compare(rows: list) -> str:
    """The comparison table printed by ``momentsense eval transport --compare``."""

    def f(v, fmt):
        return "—" if v is None else format(v, fmt)

    w = max([20] + [len(r["model"]) + 2 for r in rows])
    head = f"{'model':<{w}}{'params':>11}{'bytes':>13}{'win acc':>9}{'macro-F1':>10}{'seg acc':>9}{'seg acc+HMM':>13}{'sw/h':>7}{'sw/h+HMM':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['model']:<{w}}{r['params']:>11,}{r['bytes']:>13,}{f(r['window_accuracy'], '.3f'):>9}{f(r['macro_f1'], '.3f'):>10}"
            f"{f(r['segment_accuracy_raw'], '.3f'):>9}{f(r['segment_accuracy_hmm'], '.3f'):>13}"
            f"{f(r['switches_per_hour_raw'], '.1f'):>7}{f(r['switches_per_hour_hmm'], '.1f'):>10}"
        )
    if rows and rows[0].get("true_switches_per_hour") is not None:
        lines.append(f"(true mode switches per hour on this data: {rows[0]['true_switches_per_hour']:.1f})")
    return "\n".join(lines)


def _json(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    raise TypeError(type(o).__name__)
