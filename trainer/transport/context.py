"""Fit and evaluate the context head (:mod:`sdk.transport.heads`) on top of a trained window model.

The head is fitted on the window model's outputs for the subjects the window model was fitted on
(continuous recordings, unaugmented), its HMM prior is tuned on the validation subjects the window
model only used for early stopping, and it is scored on the test subjects: the same split as the
window model, so no test subject is ever seen.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.models.manifest import read_manifest, sha256_file, write_manifest
from momentsense.sdk.records import ImuDataset
from momentsense.sdk.transport.heads import ContextHead, context_probs, context_summaries, load_head, save_head, window_vectors
from momentsense.trainer.transport.data import WindowData, dataset_windows
from momentsense.trainer.transport.evaluate import evaluate_classifier, ordered, tune_hmm

#: Context lengths in windows: 1, 3 and 6 minutes at the default 5 s hop.
DEFAULT_SCALES = (12, 36, 72)
#: Look-ahead of the lagged head in windows: 3 minutes at the default 5 s hop. Chosen on the
#: validation file behind the int8 model (macro-F1 per window, seeds 0 / 1): no lag 0.915 / 0.907,
#: 1 min 0.927 / 0.925, 3 min 0.936 / 0.939, 6 min 0.928 / 0.935.
DEFAULT_LAG = 36


def head_key(head: ContextHead) -> str:
    """Where a head goes: ``"context"`` (no lag: what the person does now) or ``"context_lagged"`` (the
    timeline's, settled with look-ahead), with ``"_gps"`` after it for a head that reads GPS; as
    manifest key, metrics key and file-name part."""
    return ("context_lagged" if head.lag else "context") + ("_gps" if head.gps is not None else "")


@dataclasses.dataclass(frozen=True)
class ContextOptions:
    """How the head is fitted.

    Attributes:
        scales: Context lengths in windows (each gives a mean and a std of the window vectors).
        hidden: Widths of the hidden layers of the perceptron.
        alpha: L2 penalty of the perceptron (scikit-learn's ``alpha``).
        seed: Seed of the perceptron's initialisation and its early-stopping split.
        min_purity: Windows whose label covers less than this share are not fitted on (they still
            feed the context of the windows after them).
        lag: Look-ahead in windows (0: none; :data:`DEFAULT_LAG` for the timeline's lagged head).
        ensemble: Perceptrons fitted with seeds ``seed, seed + 1, …`` whose logits are averaged; with
            one hidden layer that average is itself one perceptron ``ensemble`` times as wide, so
            the shipped file and the phone's code do not change.
        gps: Each window's vector also gets its GPS numbers (:mod:`sdk.transport.gps`, default
            config): a head for phones with location on. Needs data with GPS tracks.

    Chosen on the validation file behind the int8 model (macro-F1 per window / after Viterbi, three
    seeds): lagged head α 1e-3 0.939 / 0.940 / 0.932, α 1e-2 0.946 / 0.944 / 0.942, α 3e-2 0.938 /
    0.938 / 0.931, α 0.1 0.940 / 0.935 / 0.930; the three α 1e-2 ones averaged 0.949 (0.952 after
    Viterbi). Live head, α 1e-2: 0.918 / 0.910 / 0.907, averaged 0.916 (0.924 after Viterbi; a
    single α 1e-3 one: 0.915, 0.917).
    """

    scales: tuple = DEFAULT_SCALES
    hidden: tuple = (128,)
    alpha: float = 1e-2
    seed: int = 0
    min_purity: float = 0.8
    lag: int = 0
    ensemble: int = 3
    gps: bool = False


def stream_vectors(probs: np.ndarray, data: WindowData, gps: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window vectors of ``data`` in stream order: ``(order, reset, vectors)``.

    ``probs``: the window model's class probabilities of ``data``'s windows, in ``data``'s order.
    ``gps``: append the windows' GPS numbers (``data.gps``; :class:`InputError` where a recording has none).
    """
    order, reset = ordered(data)
    g = None
    if gps:
        g = data.gps[order]
        if not np.all(np.isfinite(g)):
            raise InputError("a head with GPS needs GPS tracks: some recordings of this data have none")
    return order, reset, window_vectors(np.asarray(probs)[order], data.x[order], g)


def fit_head(summaries: np.ndarray, y: np.ndarray, label_names: Sequence[str], n_channels: int,
             opts: ContextOptions) -> ContextHead:
    """Fit standardisation and perceptron on summary vectors (:func:`sdk.transport.heads.context_summaries`)."""
    from sklearn.neural_network import MLPClassifier

    from momentsense.sdk.transport.gps import GpsFeatureConfig

    y = np.asarray(y, np.int64)
    k = len(label_names)
    if len(np.unique(y)) < 2:
        raise InputError("the context head needs windows of at least 2 classes")
    if opts.ensemble < 1 or (opts.ensemble > 1 and len(opts.hidden) != 1):
        raise InputError(f"ensemble must be >= 1, and > 1 only with one hidden layer; got {opts.ensemble} with {opts.hidden}")
    mean = summaries.mean(axis=0)
    scale = np.maximum(summaries.std(axis=0), 1e-6)
    members = []
    for i in range(opts.ensemble):
        clf = MLPClassifier(tuple(opts.hidden), alpha=opts.alpha, max_iter=200, early_stopping=True, random_state=opts.seed + i)
        clf.fit((summaries - mean) / scale, y)
        weights = [np.asarray(w, np.float64) for w in clf.coefs_]
        biases = [np.asarray(b, np.float64) for b in clf.intercepts_]
        # Classes absent from the fit windows get a constant logit far below the others.
        w_out = np.zeros((weights[-1].shape[0], k))
        b_out = np.full(k, -30.0)
        cls = np.asarray(clf.classes_, np.int64)
        if len(cls) == 2:  # scikit-learn fits one logistic unit for two classes: logit of class 1 vs 0
            w_out[:, cls[1]], b_out[cls[1]], b_out[cls[0]] = weights[-1][:, 0], biases[-1][0], 0.0
        else:
            w_out[:, cls], b_out[cls] = weights[-1], biases[-1]
        weights[-1], biases[-1] = w_out, b_out
        members.append((weights, biases))
    if len(members) == 1:
        weights, biases = members[0]
    else:  # mean of the members' logits = one layer of all their hidden units, output weights / n
        n = len(members)
        weights = [np.hstack([w[0] for w, _ in members]), np.vstack([w[1] for w, _ in members]) / n]
        biases = [np.concatenate([b[0] for _, b in members]), np.mean([b[1] for _, b in members], axis=0)]
    head = ContextHead(tuple(label_names), int(n_channels), tuple(int(s) for s in opts.scales), mean, scale,
                       tuple(weights), tuple(biases), lag=int(opts.lag),
                       gps=GpsFeatureConfig().to_dict() if opts.gps else None)
    return ContextHead.from_dict(head.to_dict())  # the numbers as stored, so what is measured is what ships


def head_predict(probs: np.ndarray, head: ContextHead, data: WindowData) -> np.ndarray:
    """Head probabilities ``(W, K)`` of ``data``'s windows (in ``data``'s order), each from its own
    stream's past only; ``probs``: the window model's, in the same order."""
    o, r, v = stream_vectors(probs, data, gps=head.gps is not None)
    p = np.empty((len(data), len(head.label_names)))
    p[o] = context_probs(head, v, r)
    return p


def evaluate_head(probs: np.ndarray, head: ContextHead, test: WindowData, label_names: Sequence[str],
                  hop_s: float) -> dict:
    """Window and smoothing metrics of window model + head on ``test`` (the head's own HMM, if it has
    one); ``probs``: the window model's probabilities of ``test``'s windows."""
    from momentsense.sdk.transport.hmm import TransitionModel

    if list(head.label_names) != list(label_names):
        raise InputError(f"the context head's labels {list(head.label_names)} differ from the model's {list(label_names)}")
    hmm = TransitionModel.from_dict(head.hmm) if head.hmm else None
    q = head_predict(probs, head, test)
    return evaluate_classifier(lambda _x: q, test, label_names, hmm, hop_s)


#: The heads :func:`head_options` knows, by name.
HEAD_NAMES = ("live", "lagged", "live_gps", "lagged_gps")


def head_options(seed: int = 0, lag: int = DEFAULT_LAG, heads: Sequence[str] = ("live", "lagged")) -> list[ContextOptions]:
    """The heads a run fits, in order, from ``heads`` (:data:`HEAD_NAMES`): ``"live"`` (no lag),
    ``"lagged"`` (``lag`` windows of look-ahead), and ``"live_gps"`` / ``"lagged_gps"`` (the same,
    reading GPS too); the lagged ones only with ``lag`` > 0."""
    bad = [h for h in heads if h not in HEAD_NAMES]
    if bad:
        raise InputError(f"unknown context heads {bad}; choose from {list(HEAD_NAMES)}")
    if lag < 0:
        raise InputError(f"lag must be >= 0 windows, got {lag}")
    make = {"live": ContextOptions(seed=seed), "lagged": ContextOptions(seed=seed, lag=lag),
            "live_gps": ContextOptions(seed=seed, gps=True), "lagged_gps": ContextOptions(seed=seed, lag=lag, gps=True)}  # fmt: skip
    return [make[h] for h in HEAD_NAMES if h in heads and (h.startswith("live") or lag)]


def fit_and_evaluate(
    predict: Callable[[np.ndarray], np.ndarray],
    train_ds: ImuDataset,
    config,
    label_names: Sequence[str],
    train_sequences: Optional[list],
    val: WindowData,
    test: WindowData,
    exclude: Sequence[str] = (),
    options: Optional[Sequence[ContextOptions]] = None,
    val_probs: Optional[np.ndarray] = None,
    test_probs: Optional[np.ndarray] = None,
) -> list[tuple[ContextHead, dict]]:
    """Fit a head for each of ``options`` (None: :func:`head_options`) on the non-validation, non-test
    subjects of ``train_ds``; tune its HMM on ``val``; score it on ``test``. Returns ``(head, test
    metrics)`` per option, each head with its HMM; the window model runs once for all of them.

    ``predict`` must be the model the head will run behind on the phone (the shipped int8 model: the
    head reads its probabilities, and a pruned, quantized model's differ from the float original's).
    ``train_sequences``: label sequences for the HMM's transitions; None = the fit subjects' recordings.
    ``val_probs``, ``test_probs``: ``predict`` of ``val`` and ``test`` windows when the caller has them
    already (None: computed here).

    Raises
    ------
    InputError
        ``train_ds`` has no continuous recordings (pre-cut windows carry no minutes of context).
    """
    options = head_options() if options is None else options
    if not options:
        raise InputError("no context head options given")
    if not train_ds.recordings:
        raise InputError("the context head needs continuous recordings; this dataset has only pre-cut windows")
    if all(r.label is None or len(np.unique(r.label[r.label >= 0])) <= 1 for r in train_ds.recordings):
        # WISDM: one 3-minute block per activity. A head would learn that a recording never changes
        # mode and score that, not context.
        raise InputError("every training recording holds a single label: minutes of context would only learn that "
                         "a recording never changes mode")
    base = dataset_windows(train_ds, config)
    held = set(test.subject.tolist()) | {str(s) for s in exclude}
    fit = base.take(np.flatnonzero(~np.isin(base.subject, sorted(held | set(val.subject.tolist())))))
    shared_val = not len(fit)  # < 3 training subjects: validation windows came from the fit subjects
    if shared_val:
        fit = base.take(np.flatnonzero(~np.isin(base.subject, sorted(held))))
    if not len(fit):
        raise InputError("no training subjects left for the context head")
    fit_probs = predict(fit.x)
    order, reset = ordered(fit)
    # Window vectors without and with GPS numbers, each only if a head needs it.
    vecs = {g: stream_vectors(fit_probs, fit, gps=g)[2] for g in {o.gps for o in options}}
    if train_sequences is None:
        from momentsense.trainer.transport.train import sequences_by_recording

        train_sequences = sequences_by_recording(fit)
    n_cls, hop_s = len(label_names), config.hop_s
    val_probs = predict(val.x) if val_probs is None else val_probs
    test_probs = predict(test.x) if test_probs is None else test_probs
    out = []
    for opts in options:
        z = context_summaries(vecs[opts.gps], reset, opts.scales, opts.lag)
        keep = fit.purity[order] >= opts.min_purity
        head = fit_head(z[keep], fit.y[order][keep], label_names, len(config.channels), opts)
        hmm, hmm_info = tune_hmm(head_predict(val_probs, head, val), val, train_sequences, n_cls, hop_s, label_names)
        head = dataclasses.replace(head, hmm=hmm.to_dict())
        metrics = evaluate_head(test_probs, head, test, label_names, hop_s)
        metrics.update(hmm=hmm_info, n_params=head.n_params, fit_windows=int(keep.sum()), validation_shares_subjects=shared_val,
                       lag_windows=head.lag, lag_seconds=head.lag * hop_s,
                       options={"scales": list(opts.scales), "hidden": list(opts.hidden), "alpha": opts.alpha, "seed": opts.seed,
                                "lag": opts.lag, "ensemble": opts.ensemble, "gps": opts.gps})  # fmt: skip
        out.append((dataclasses.replace(head, metrics={k: metrics[k] for k in ("accuracy", "macro_f1")}), metrics))
    return out


def add_to_run(metrics: dict, out_dir, predict, train_ds: ImuDataset, trained, val: WindowData, test: WindowData,
               keras_bytes: int, exclude: Sequence[str] = (), seed: int = 0, val_probs: Optional[np.ndarray] = None,
               test_probs: Optional[np.ndarray] = None, lag: int = DEFAULT_LAG) -> list[ContextHead]:
    """Part of ``momentsense train transport``: fit the live head and (``lag`` > 0) the lagged one on the
    run's split, write ``out_dir/transport_context.json`` (and ``transport_context_lagged.json``), add
    ``metrics["context"]`` (and ``metrics["context_lagged"]``) and their rows to ``metrics["compare"]``.
    Datasets of pre-cut windows have no context: the reason goes to ``metrics["context"]`` and no head
    is returned. ``val_probs``, ``test_probs``: the run's own window-model probabilities of ``val`` and
    ``test`` (see :func:`fit_and_evaluate`)."""
    from momentsense.trainer.transport.workflow import _row

    try:
        fitted = fit_and_evaluate(predict, train_ds, trained.config, trained.label_names, trained.train_sequences, val, test,
                                  exclude=exclude, options=head_options(seed, lag), val_probs=val_probs, test_probs=test_probs)  # fmt: skip
    except InputError as e:  # the window model is still worth its report
        metrics["context"] = {"skipped": str(e)}
        return []
    for head, cm in fitted:
        key = head_key(head)
        path = save_head(head, Path(out_dir) / f"transport_{key}.json")
        metrics[key] = cm
        metrics["compare"].append(_row(f"cnn+{key}", metrics["n_params"] + head.n_params, keras_bytes + path.stat().st_size, cm))
    return [h for h, _ in fitted]


def ship_head(head_path, model_path) -> Path:
    """Copy a head beside ``model_path`` (a ``.tflite`` with its manifest) as ``NAME.context.json`` (a
    lagged head: ``NAME.context_lagged.json``) and name it (file, sha256) in that manifest under the
    same key. Only that model gets it: a head is fitted to one model's outputs."""
    head_path, model_path = Path(head_path), Path(model_path)
    head = load_head(head_path)  # refuse to ship a file that is not a head
    mpath = model_path.with_suffix(".json")
    m = read_manifest(mpath)
    if list(m.label_names) != list(head.label_names):
        raise InputError(f"{mpath}: labels {m.label_names} differ from the head's {head.label_names}")
    key = head_key(head)
    dst = model_path.with_name(f"{model_path.stem}.{key}.json")
    if head_path.resolve() != dst.resolve():
        shutil.copyfile(head_path, dst)
    ref = {"file": dst.name, "sha256": sha256_file(dst), "scales": list(head.scales), "lag": head.lag}
    write_manifest(dataclasses.replace(m, extra={**m.extra, key: ref}), mpath)
    return mpath


def run_context(model_path: str, data: Sequence[str], out_dir: str, test_data: Optional[str] = None,
                seed: int = 0, ship: bool = False, metrics_path: Optional[str] = None, lag: int = DEFAULT_LAG,
                heads: Sequence[str] = ("live", "lagged")) -> dict:
    """``momentsense train transport-context``: fit ``heads`` (see :func:`head_options`: the live
    head, and with ``lag`` > 0 the lagged one and the lagged one that reads GPS) for an already trained
    window model. Returns the first head's metrics, with the others' under their key
    (``["context_lagged"]``, ``["context_lagged_gps"]``).

    ``model_path``: the ``.tflite`` model the head will run behind (with its manifest), or a
    ``.keras`` one. The split is rebuilt exactly as ``train transport`` made it with the same
    ``--seed`` and data (validation subjects, test subjects), so the head never sees a subject the
    window model was tested on. ``ship``: copy the head beside a ``.tflite`` model and name it in its
    manifest; ``metrics_path``: a training run's ``metrics.json`` whose comparison table gets a row.
    """
    from momentsense.trainer.transport.train import TrainOptions, prepare_split
    from momentsense.trainer.transport.workflow import _json, load_datasets, load_window_model

    if lag < 0:
        raise InputError(f"--lag must be >= 0 windows, got {lag}")
    options = head_options(seed, lag, heads)
    if not options:
        raise InputError(f"no head to fit: {list(heads)} with lag {lag} (the lagged heads need --lag > 0)")
    path = Path(model_path)
    predict, config, label_names = load_window_model(path)
    if ship and path.suffix != ".tflite":
        raise InputError("--ship names the head in a .tflite model's manifest: pass the shipped .tflite")
    train_ds = load_datasets(list(data))
    if list(train_ds.label_names) != list(label_names):
        raise InputError(f"data label_names {train_ds.label_names} do not match the model's {label_names}")
    test_ds = load_datasets([test_data]) if test_data else None
    opts = TrainOptions(augment=None, copies=0, seed=seed, preprocess=config)
    _, _, _, val, test, test_subjects = prepare_split(train_ds, test_ds, opts)
    fitted = fit_and_evaluate(predict, train_ds, config, label_names, None, val, test, options=options)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    for head, m in fitted:
        key = head_key(head)
        head_path = save_head(head, out / f"transport_{key}.json")
        m.update(model=str(model_path), data=list(data), test_data=test_data, test_subjects=test_subjects)
        if ship:
            m["shipped_to"] = str(ship_head(head_path, path))
        if metrics_path:
            _add_compare_row(Path(metrics_path), path, head, head_path, m)
        if not report:
            report.update(m)
        else:
            report[key] = m
    (out / "context_metrics.json").write_text(json.dumps(report, indent=2, default=_json))
    return report


def _add_compare_row(metrics_path: Path, model_path: Path, head: ContextHead, head_path: Path, m: dict) -> None:
    """Put (or replace) the window model + head row in a training run's comparison table: ``cnn+context``
    (``cnn+context_lagged``) for a ``.keras`` model, ``cnn int8 tflite+context`` (its input dtype) for a
    ``.tflite`` one (its manifest's parameter count; ``bytes``: the model file + the head file)."""
    from momentsense.trainer.transport.workflow import _row

    if not metrics_path.exists():
        raise InputError(f"{metrics_path}: no such metrics.json")
    shipped = json.loads(metrics_path.read_text())
    if model_path.suffix == ".tflite":
        manifest = read_manifest(model_path.with_suffix(".json"))
        name = f"cnn {manifest.input.dtype} tflite+{head_key(head)}"
        n_model = int(manifest.metrics.get("n_params", 0))
    else:
        name = f"cnn+{head_key(head)}"
        n_model = next((int(r["params"]) for r in shipped.get("compare", []) if r["model"] == "cnn"), 0)
    rows = [r for r in shipped.get("compare", []) if r["model"] != name]
    at = max((i + 1 for i, r in enumerate(rows) if r["model"].startswith("cnn")), default=0)
    rows.insert(at, _row(name, n_model + head.n_params, model_path.stat().st_size + head_path.stat().st_size, m))
    shipped["compare"] = rows
    metrics_path.write_text(json.dumps(shipped, indent=2))
