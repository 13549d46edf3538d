"""What each augmentation buys: retrain with all, without each one, and with none, and score each run.

By default the runs are scored on **validation** subjects: whole groups of *training* subjects (and
the phones they carried) held out from fitting, so choosing augmentation settings from the table
never looks at the test set. ``on="test"`` scores on the test file (or the main run's test subjects)
instead; that is for reporting a configuration already chosen, not for choosing one.
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset
from momentsense.trainer.transport.augment import AugmentConfig
from momentsense.trainer.transport.train import TrainOptions, train_transport

#: Where an ablation is scored.
ABLATE_ON = ("validation", "test")


@dataclasses.dataclass(frozen=True)
class AblationResult:
    """Scores of one ablation.

    Attributes:
        scored_on: ``"validation"`` (held-out training subjects) or ``"test"``.
        split: How the scored subjects were held out (``"by subject and device"``, ``"by subject"``, ``"test file"``).
        subjects: The scored subjects.
        devices: Their phones (none of them used for fitting when ``split`` is by subject and device).
        rows: One dict per variant: ``variant``, ``augment`` (its config, or None), ``accuracy``,
            ``macro_f1``, ``per_class_f1``, ``epochs_run``, ``best_epoch`` (lowest validation loss on the early-stopping subjects), ``weights`` (which epoch's were scored).
    """

    scored_on: str
    split: str
    subjects: list
    devices: list
    rows: list

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_variants(base: Optional[AugmentConfig] = None) -> list[tuple[str, Optional[AugmentConfig]]]:
    """``all``, ``without <group>`` for each group, and ``none`` (no augmented copies at all)."""
    base = base or AugmentConfig()
    out: list[tuple[str, Optional[AugmentConfig]]] = [("all", base)]
    out += [(f"without {g}", base.without(g)) for g in AugmentConfig.GROUPS]
    out.append(("none", None))
    return out


def without_subjects(ds: ImuDataset, subjects: Sequence[str]) -> ImuDataset:
    """``ds`` without the recordings and pre-cut windows of ``subjects``."""
    drop = set(subjects)
    windows = ds.windows
    if windows is not None and len(windows):
        keep = ~np.isin(np.asarray(windows.subject).astype(str), list(drop))
        windows = dataclasses.replace(
            windows, acc=windows.acc[keep], label=windows.label[keep], subject=np.asarray(windows.subject)[keep],
            gyro=None if windows.gyro is None else windows.gyro[keep],
        )  # fmt: skip
    return dataclasses.replace(ds, recordings=[r for r in ds.recordings if r.subject not in drop], windows=windows)


def run_ablation(
    train_ds: ImuDataset,
    test_ds: Optional[ImuDataset],
    opts: TrainOptions,
    on: str = "validation",
    variants: Optional[Sequence[tuple[str, Optional[AugmentConfig]]]] = None,
    exclude_subjects: Sequence[str] = (),
    progress=None,
) -> AblationResult:
    """Train once per variant (same seed, same split) and score macro-F1 per window (no smoothing).

    Parameters
    ----------
    train_ds, test_ds : ImuDataset
        The training data and the test file (or None).
    opts : TrainOptions
        Options of every run; each variant replaces ``augment`` (``copies`` = 0 for ``None``).
    on : {"validation", "test"}
        ``validation``: score on held-out *training* subjects, whole subject–phone groups when the
        data allows it (else by subject); ``test_ds`` is not touched. ``test``: score on ``test_ds``,
        or on the held-out subjects of a subject-wise split of ``train_ds`` when there is none.
    variants : list of (name, AugmentConfig or None), optional
        Default :func:`default_variants` of ``opts.augment``.
    exclude_subjects : list of str
        Subjects never used here (the main run's test subjects when it split ``train_ds``).
    progress : callable, optional
        Called with each finished row.
    """
    from momentsense.trainer.transport.evaluate import evaluate_classifier
    from momentsense.trainer.transport.workflow import keras_predictor

    if on not in ABLATE_ON:
        raise InputError(f"ablation scored on {on!r}; choose one of {list(ABLATE_ON)}")
    variants = list(variants) if variants is not None else default_variants(opts.augment)
    if on == "validation":
        data = without_subjects(train_ds, exclude_subjects) if exclude_subjects else train_ds
        test_arg = None
        split = "by subject and device"
        run_opts = dataclasses.replace(opts, holdout_devices=True)
        try:
            from momentsense.trainer.transport.train import prepare_split

            prepare_split(data, None, dataclasses.replace(run_opts, augment=None, copies=0))
        except InputError as e:
            if "subject+device split" not in str(e):
                raise
            split, run_opts = "by subject", dataclasses.replace(opts, holdout_devices=False)
    else:
        data, test_arg, run_opts = train_ds, test_ds, opts
        split = "test file" if test_ds is not None else "by subject"
    rows, subjects, devices = [], [], []
    for name, aug in variants:
        o = dataclasses.replace(run_opts, augment=aug, copies=run_opts.copies if aug is not None else 0)
        trained, _, test, test_subjects = train_transport(data, test_arg, o)
        m = evaluate_classifier(keras_predictor(trained), test, trained.label_names, None, trained.config.hop_s)
        subjects, devices = list(test_subjects), sorted(set(test.device.tolist()))
        row = {
            "variant": name, "augment": aug.to_dict() if aug is not None else None, "accuracy": m["accuracy"],
            "macro_f1": m["macro_f1"], "per_class_f1": {k: v["f1"] for k, v in m["per_class"].items()},
            "epochs_run": len(trained.history.get("loss", [])),
            "best_epoch": int(np.argmin(trained.history["val_loss"])) + 1 if trained.history.get("val_loss") else None,
            "weights": f"best {o.monitor}" if o.restore_best else "last epoch",
        }  # fmt: skip
        rows.append(row)
        if progress:
            progress(row)
    return AblationResult(on, split, subjects, devices, rows)


def format_ablation(result: AblationResult) -> str:
    """The ablation as a small text table (macro-F1 and the change from ``all``)."""
    ref = next((r["macro_f1"] for r in result.rows if r["variant"] == "all"), None)
    lines = [f"augmentation ablation, scored on {result.scored_on} subjects ({result.split}): {', '.join(result.subjects)}",
             f"{'variant':<22}{'accuracy':>10}{'macro-F1':>10}{'vs all':>9}"]  # fmt: skip
    for r in result.rows:
        delta = "" if ref is None else f"{r['macro_f1'] - ref:+.3f}"
        lines.append(f"{r['variant']:<22}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}{delta:>9}")
    return "\n".join(lines)
