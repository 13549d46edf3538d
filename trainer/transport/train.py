"""Training the transport CNN on any ``momentsense-imu-v1`` data, evaluated on held-out subjects.

``train_transport`` is what ``momentsense train transport`` runs: windows through the SDK pipeline,
a subject-wise split (or a separate test file), augmentation of the training recordings only,
normalisation fitted on training windows only, early stopping on held-out *training* subjects, and
metrics on the test subjects, raw and after HMM smoothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.dsp import Normalizer, PreprocessConfig
from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset
from momentsense.trainer.transport.augment import AugmentConfig
from momentsense.trainer.transport.context import DEFAULT_LAG
from momentsense.trainer.transport.data import (
    WindowData,
    check_labels,
    config_for_dataset,
    dataset_windows,
    split_by_subject,
    split_by_subject_and_device,
)


#: What early stopping may watch (:attr:`TrainOptions.monitor`).
MONITORS = ("val_loss", "val_accuracy")


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """Options of :func:`train_transport`.

    Attributes:
        epochs: Maximum training epochs (early stopping may end sooner).
        batch_size: Windows per gradient step.
        learning_rate: Adam learning rate.
        seed: Seeds the split, augmentation, initialisation and shuffling.
        augment: Augmentation of the training recordings; None = off.
        copies: Augmented passes over the training recordings, in addition to the originals.
        test_fraction: Share of subjects held out for test when no test file is given.
        holdout_devices: Without a test file, hold out whole groups of subjects that share phones,
            so the held-out subjects also carry phones never seen in training
            (:func:`~trainer.transport.data.split_by_subject_and_device`).
        test_subjects: Without a test file, exactly these subjects are held out for test (overrides
            ``test_fraction``; used by :mod:`trainer.transport.crossval`). Empty = a random split.
        exclude_subjects: Subjects left out altogether, neither trained nor tested on (the outer test
            fold during nested cross-validation).
        val_fraction: Share of *training* subjects used for early stopping.
        patience: Epochs without validation improvement before stopping.
        restore_best: Keep the weights of the best epoch by ``monitor`` (tf_keras restores them at the
            end even when training was not stopped early); False keeps the last epoch's.
        monitor: What early stopping and the learning-rate schedule watch on the early-stopping
            subjects: ``"val_loss"`` or ``"val_accuracy"``. The loss of unseen subjects can rise
            while their accuracy still climbs (the model grows overconfident on the classes it
            confuses), so the loss may stop training after an epoch or two. Default ``val_accuracy``:
            on a separate validation file (12 other subjects, other phones) it gave macro-F1 0.667
            against 0.629 for ``val_loss`` (40 training subjects, patience 10 vs 6).
        min_purity: Windows whose majority label covers less than this share are dropped.
        preprocess: Pipeline config (the window length of pre-cut data overrides it).
        model_kwargs: Extra arguments of :func:`edge_models.transport_cnn.build_transport_cnn`
            (``dropout``, ``l2``, ``batch_norm``, ``widths``...).
        threads: TensorFlow intra/inter-op threads (None = TensorFlow's default).
        context: Also fit the context head (:mod:`trainer.transport.context`) in ``run_train``
            (recordings only; pre-cut windows have no minutes of context).
        context_lag: Look-ahead of the lagged (timeline) head fitted beside it, in windows; 0 = none.
        verbose: Keras verbosity (0 silent, 2 one line per epoch).
    """

    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 2e-3
    seed: int = 0
    augment: Optional[AugmentConfig] = dataclasses.field(default_factory=AugmentConfig)
    copies: int = 2
    test_fraction: float = 0.25
    holdout_devices: bool = False
    test_subjects: tuple = ()
    exclude_subjects: tuple = ()
    val_fraction: float = 0.15
    patience: int = 10
    restore_best: bool = True
    monitor: str = "val_accuracy"
    min_purity: float = 0.8
    preprocess: PreprocessConfig = dataclasses.field(default_factory=PreprocessConfig)
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    threads: Optional[int] = None
    context: bool = True
    context_lag: int = DEFAULT_LAG
    verbose: int = 0


@dataclasses.dataclass
class TrainedTransport:
    """A trained model with everything needed to run and evaluate it.

    Attributes:
        model: The tf_keras model (float32).
        config: Pipeline config it was trained with.
        normalizer: Per-channel normalisation fitted on training windows.
        label_names: Output class names.
        train_sequences: Per-recording label sequences of the training windows (for the HMM).
        history: Keras training history (per-epoch losses).
    """

    model: object
    config: PreprocessConfig
    normalizer: Normalizer
    label_names: list
    train_sequences: list
    history: dict


def _subset_recordings(ds: ImuDataset, subjects: set) -> ImuDataset:
    return dataclasses.replace(ds, recordings=[r for r in ds.recordings if r.subject in subjects], windows=None)


def sequences_by_recording(data: WindowData) -> list[np.ndarray]:
    """Label sequences of consecutive windows, one per recording (in time order)."""
    out = []
    for r in np.unique(data.recording):
        idx = np.flatnonzero(data.recording == r)
        idx = idx[np.argsort(data.k_start[idx], kind="stable")]
        out.append(data.y[idx])
    return out


def prepare_split(train_ds: ImuDataset, test_ds: Optional[ImuDataset], opts: TrainOptions):
    """Windows for fitting (with augmented copies), validation and test, split by subject.

    Fit and validation windows keep only windows with purity ≥ ``min_purity``; test keeps every
    labelled window (so recordings stay continuous for smoothing) and carries each window's purity.
    """
    check_labels(train_ds, "training data")
    config = config_for_dataset(train_ds, opts.preprocess)
    base = dataset_windows(train_ds, config)
    if opts.exclude_subjects:
        base = base.take(np.flatnonzero(~np.isin(base.subject, [str(s) for s in opts.exclude_subjects])))
    if test_ds is not None:
        check_labels(test_ds, "test data")
        if list(test_ds.label_names) != list(train_ds.label_names):
            raise InputError(f"test data label_names {test_ds.label_names} differ from training {train_ds.label_names}")
        test = dataset_windows(test_ds, config_for_dataset(test_ds, config))
        if test.x.shape[1:] != base.x.shape[1:]:
            raise InputError(f"test windows have shape {test.x.shape[1:]}, training windows {base.x.shape[1:]} (mixed window lengths)")
        train_idx, test_subjects = np.arange(len(base)), sorted(set(test.subject.tolist()))
    elif opts.test_subjects:
        test_subjects = sorted(str(s) for s in opts.test_subjects)
        unknown = sorted(set(test_subjects) - set(base.subject.tolist()))
        if unknown:
            raise InputError(f"test subjects {unknown} are not in the training data")
        is_test = np.isin(base.subject, test_subjects)
        if is_test.all():
            raise InputError("every subject is a test subject: nothing left to train on")
        train_idx, test = np.flatnonzero(~is_test), base.take(np.flatnonzero(is_test))
    elif opts.holdout_devices:
        train_idx, test_idx, test_subjects = split_by_subject_and_device(base.subject, base.device, opts.test_fraction, opts.seed)
        test = base.take(test_idx)
    else:
        train_idx, test_idx, test_subjects = split_by_subject(base.subject, opts.test_fraction, opts.seed)
        test = base.take(test_idx)
    train_subjects = sorted(set(base.subject[train_idx].tolist()))
    if len(train_subjects) >= 3:
        tr2, val_local, _ = split_by_subject(base.subject[train_idx], opts.val_fraction, opts.seed + 1)
        val_idx, fit_idx = train_idx[val_local], train_idx[tr2]
    else:
        perm = np.random.default_rng(opts.seed).permutation(train_idx)
        n_val = max(1, len(perm) // 10)
        val_idx, fit_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    clean = base.purity >= opts.min_purity
    val_seq = base.take(val_idx)
    fit = base.take(fit_idx[clean[fit_idx]])
    val = base.take(val_idx[clean[val_idx]])
    fit_subjects = set(fit.subject.tolist())
    if opts.augment is not None and opts.copies > 0 and train_ds.recordings:
        sub = _subset_recordings(train_ds, fit_subjects)
        n_orig = sum(len(r.t) > 0 for r in sub.recordings)
        extra = dataset_windows(sub, config, augment=opts.augment, copies=opts.copies, seed=opts.seed)
        # The first pass over `sub` is the originals (already in `fit`): keep the augmented passes.
        aug = extra.take(np.flatnonzero((extra.recording >= 0) & (_pass_index(extra, n_orig) > 0) & (extra.purity >= opts.min_purity)))
        fit = WindowData.concat([fit, aug])
    return config, fit, val, val_seq, test, test_subjects


def _pass_index(data: WindowData, n_recordings: int) -> np.ndarray:
    # dataset_windows numbers windows by recording index within its pass; passes follow each other,
    # so a recording index going down marks the start of the next pass.
    starts = np.r_[0, np.flatnonzero(np.diff(data.recording) < 0) + 1]
    out = np.zeros(len(data), np.int64)
    for i, s in enumerate(starts):
        out[s:] = i
    return out


def train_transport(
    train_ds: ImuDataset, test_ds: Optional[ImuDataset] = None, options: Optional[TrainOptions] = None
) -> tuple[TrainedTransport, WindowData, WindowData, list]:
    """Train the CNN; returns the model, the validation windows (continuous, for tuning the HMM),
    the test windows and the test subjects.

    Raises
    ------
    InputError
        No labels, a single class, fewer training windows than one batch, labels outside
        ``label_names``, or windows of mixed length.
    """
    opts = options or TrainOptions()
    if opts.monitor not in MONITORS:
        raise InputError(f"monitor must be one of {list(MONITORS)}, got {opts.monitor!r}")
    config, fit, val, val_seq, test, test_subjects = prepare_split(train_ds, test_ds, opts)
    n_classes = len(train_ds.label_names)
    present = np.unique(fit.y)
    if len(present) < 2:
        raise InputError(f"training data has a single class ({train_ds.label_names[int(present[0])]!r}); a classifier needs ≥ 2")
    if len(fit) < opts.batch_size:
        raise InputError(f"only {len(fit)} training windows, fewer than one batch ({opts.batch_size}); record more or lower --batch-size")

    from momentsense.edge_models.transport_cnn import build_transport_cnn, keras

    k = keras()
    import tensorflow as tf

    if opts.threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(opts.threads)
            tf.config.threading.set_inter_op_parallelism_threads(opts.threads)
        except RuntimeError:
            pass  # already initialised in this process: keep the current setting
    k.utils.set_random_seed(opts.seed)
    normalizer = Normalizer.fit(fit.x)
    xf, xv = normalizer.apply(fit.x), normalizer.apply(val.x)
    counts = np.bincount(fit.y, minlength=n_classes).astype(float)
    weights = {c: (len(fit) / (len(present) * counts[c])) if counts[c] else 0.0 for c in range(n_classes)}
    model = build_transport_cnn(config.window_len, len(config.channels), n_classes, seed=opts.seed, **opts.model_kwargs)
    model.compile(optimizer=k.optimizers.Adam(opts.learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callbacks = [
        k.callbacks.EarlyStopping(monitor=opts.monitor, patience=opts.patience, restore_best_weights=opts.restore_best),
        k.callbacks.ReduceLROnPlateau(monitor=opts.monitor, factor=0.5, patience=max(2, opts.patience // 2)),
        k.callbacks.TerminateOnNaN(),
    ]
    t0 = time.perf_counter()
    hist = model.fit(
        xf, fit.y, validation_data=(xv, val.y), epochs=opts.epochs, batch_size=opts.batch_size,
        class_weight=weights, callbacks=callbacks, verbose=opts.verbose, shuffle=True,
    )  # fmt: skip
    history = {key: [float(v) for v in vals] for key, vals in hist.history.items()}
    history["train_seconds"] = time.perf_counter() - t0
    history["train_windows"] = int(len(fit))
    trained = TrainedTransport(model, config, normalizer, list(train_ds.label_names), sequences_by_recording(fit), history)
    return trained, val_seq, test, test_subjects


def save_trained(trained: TrainedTransport, out_dir: str | os.PathLike, name: str = "transport_cnn") -> Path:
    """Write ``NAME.keras`` and ``NAME.config.json`` (pipeline config, normaliser, labels, HMM sequences)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    trained.model.save(out / f"{name}.keras")
    meta = {
        "label_names": trained.label_names,
        "preprocess": trained.config.to_dict(),
        "normalisation": trained.normalizer.to_dict(),
        "train_label_sequences": [s.tolist() for s in trained.train_sequences],
        "history": trained.history,
    }
    (out / f"{name}.config.json").write_text(json.dumps(meta))
    return out / f"{name}.keras"


def load_trained(path: str | os.PathLike) -> TrainedTransport:
    """Load what :func:`save_trained` wrote (``path`` is the ``.keras`` file)."""
    from momentsense.edge_models.transport_cnn import keras

    path = Path(path)
    meta_path = path.with_name(path.name.replace(".keras", ".config.json"))
    if not path.exists() or not meta_path.exists():
        raise InputError(f"{path}: a trained transport model needs {path.name} and {meta_path.name} side by side")
    meta = json.loads(meta_path.read_text())
    model = keras().models.load_model(path, compile=False)
    return TrainedTransport(
        model,
        PreprocessConfig.from_dict(meta["preprocess"]),
        Normalizer.from_dict(meta["normalisation"]),
        meta["label_names"],
        [np.asarray(s, np.int64) for s in meta["train_label_sequences"]],
        meta.get("history", {}),
    )
