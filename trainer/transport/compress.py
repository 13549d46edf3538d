"""Compress the trained transport CNN: pruning × quantization variants, each measured as shipped.

A :class:`Variant` is a recipe: optional structured (channel) pruning, optional magnitude pruning to a
sparsity, optional quantization-aware training, then a TFLite mode (float32, float16, dynamic, int8).
Every variant is evaluated by running its ``.tflite`` bytes in the SDK's interpreter on the same
held-out windows (clean windows of the test file); latencies are medians measured here, batch 1,
1 thread, all variants interleaved in one run (:mod:`quantize.measure`). Calibration (int8) and
fine-tuning (pruning, QAT) use training windows only.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.quantize.export import MODES, export_tflite, write_model
from momentsense.quantize.measure import (
    format_report,
    gzip_bytes,
    latency_side_by_side,
    plot_report,
)
from momentsense.quantize.prune import (
    FineTuneOptions,
    channel_prune,
    magnitude_prune,
    qat_fine_tune,
    weight_sparsity,
)
from momentsense.sdk.errors import InputError
from momentsense.sdk.models.interpreter import load_model
from momentsense.sdk.models.manifest import sha256_file
from momentsense.trainer.transport.data import dataset_windows
from momentsense.trainer.transport.metrics import classification_metrics
from momentsense.trainer.transport.train import load_trained
from momentsense.trainer.transport.loading import load_datasets

__all__ = ["TRANSPORT_VERSION", "QuantizeOptions", "Variant", "default_sweep", "format_report", "quantize_transport"]

#: Default release version written into every manifest of a run (all variants are encodings of one release).
TRANSPORT_VERSION = "1.0.0"
#: Targets of the shipped int8 model: share of the float32 .tflite bytes, absolute bytes, F1 drop.
TARGET_RATIO, TARGET_BYTES, TARGET_F1_DROP = 0.25, 64 * 1024, 0.01


@dataclasses.dataclass(frozen=True)
class Variant:
    """One compression recipe.

    Attributes:
        mode: TFLite mode, one of ``float32, float16, dynamic, int8``.
        sparsity: Magnitude-pruning target (share of zero kernel weights), 0 = none.
        keep: Share of each convolution's filters kept by channel pruning, 1 = none.
        qat: Quantization-aware fine-tuning before conversion (int8 only, not with sparsity).
        lean: int8 with per-tensor (not per-channel) weight scales and no tensor names or
            signatures in the flatbuffer (see :func:`quantize.export.export_tflite`).
    """

    mode: str = "int8"
    sparsity: float = 0.0
    keep: float = 1.0
    qat: bool = False
    lean: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.sparsity < 1.0:
            raise InputError(f"sparsity must be in [0, 1), got {self.sparsity!r}")
        if not 0.0 < self.keep <= 1.0:
            raise InputError(f"channel keep share must be in (0, 1], got {self.keep!r}")
        if self.qat and self.mode != "int8":
            raise InputError("QAT is for full-integer int8 export; use --int8 with --qat")
        if self.qat and self.sparsity:
            raise InputError("QAT after magnitude pruning would refill the zeros; combine QAT with channel pruning instead")
        if self.lean and self.mode != "int8":
            raise InputError("lean export (per-tensor scales, stripped names) is for int8 only")
        if self.lean and self.qat:
            raise InputError("lean export uses per-tensor scales, QAT trains per-channel ones: choose one")

    @property
    def name(self) -> str:
        """``[ch<keep>-][s<sparsity>-][qat-]<mode>[-lean]``, e.g. ``ch0.5-qat-int8``."""
        parts = ([f"ch{self.keep:g}"] if self.keep < 1 else []) + ([f"s{self.sparsity:g}"] if self.sparsity else [])
        return "-".join(parts + (["qat"] if self.qat else []) + [self.mode] + (["lean"] if self.lean else []))

    @property
    def derived(self) -> bool:
        """True when the weights differ from the trained model's (pruned or QAT)."""
        return self.keep < 1 or self.sparsity > 0 or self.qat

    @classmethod
    def parse(cls, name: str) -> "Variant":
        """Inverse of :attr:`name`."""
        m = re.fullmatch(r"(?:ch([0-9.]+)-)?(?:s([0-9.]+)-)?(qat-)?(float32|float16|dynamic|int8)(-lean)?", name.strip())
        if not m:
            raise InputError(f"cannot read variant {name!r}; expected e.g. int8, s0.7-int8, ch0.5-qat-int8, int8-lean")
        return cls(m.group(4), float(m.group(2) or 0), float(m.group(1) or 1), bool(m.group(3)), bool(m.group(5)))


def default_sweep(sparsities: Sequence[float] = (0.0, 0.5, 0.7), keeps: Sequence[float] = (0.75, 0.5)) -> list[Variant]:
    """Sparsity × every mode, QAT int8, lean int8, and for each channel share: float32, int8, lean int8 and QAT int8."""
    out = [Variant(m, s) for s in sparsities for m in MODES] + [Variant("int8", qat=True), Variant("int8", lean=True)]
    for k in keeps:
        out += [Variant("float32", keep=k), Variant("int8", keep=k), Variant("int8", keep=k, lean=True), Variant("int8", keep=k, qat=True)]
    return out


@dataclasses.dataclass(frozen=True)
class QuantizeOptions:
    """Options of :func:`quantize_transport`.

    Attributes:
        variants: Recipes to build and measure (the unpruned float32 reference is always added).
        ship: Variant name written as ``NAME.tflite`` + ``NAME.json``; ``"recommended"`` = the report's
            recommendation; None = ship nothing (the variants are still written as ``NAME_<variant>``).
        name: Model name in file names and manifests.
        spot_check_recordings: Each manifest records the accuracy on the clean windows of the first
            this-many test recordings, so a fast test can recompute it and catch a stale manifest.
        fine_tune: Fine-tuning of pruned and QAT models (on training windows).
        latency_rounds: Interleaved timing rounds (50 invocations of every variant each).
        version: Semantic version written into every manifest of this run (bump it for a new release).
        parent_version: Version of the previously released model this one replaces (None for the first).
        augment_copies: Augmented passes over the training recordings added to the fine-tuning windows
            (the same augmentation as training: without it, fine-tuning overfits the training phones;
            measured: QAT int8 macro-F1 0.606 without, 0.650 with).
    """

    variants: Sequence[Variant] = dataclasses.field(default_factory=lambda: [Variant("int8")])
    ship: Optional[str] = "recommended"
    name: str = "transport_cnn"
    spot_check_recordings: int = 4
    fine_tune: FineTuneOptions = dataclasses.field(default_factory=FineTuneOptions)
    latency_rounds: int = 40
    augment_copies: int = 1
    version: str = TRANSPORT_VERSION
    parent_version: Optional[str] = None


def _base_models(trained, variants: Sequence[Variant], windows, ft: FineTuneOptions) -> dict:
    """Keras model per (keep, sparsity, qat), built once each: channel pruning → magnitude pruning → QAT.

    ``windows()`` returns the normalised fine-tuning windows and labels (computed only when needed)."""
    models = {(1.0, 0.0, False): trained.model}
    if all(not v.derived for v in variants):
        return models
    x, y = windows()
    for v in variants:
        key = (v.keep, v.sparsity, v.qat)
        if key in models:
            continue
        narrow = models.get((v.keep, 0.0, False))
        if narrow is None:
            narrow = models[(v.keep, 0.0, False)] = channel_prune(trained.model, x, y, v.keep, ft)
        if v.sparsity:
            models[key] = magnitude_prune(narrow, x, y, v.sparsity, ft)
        elif v.qat:
            models[key] = qat_fine_tune(narrow, x, y, ft)
    return models


def _targets(row: dict, ref: dict, float_f1: float) -> dict:
    return {
        "size_le_quarter_float32": row["tflite_bytes"] <= TARGET_RATIO * ref["tflite_bytes"],
        "size_le_64kb": row["tflite_bytes"] <= TARGET_BYTES,
        "f1_within_1pt": row["macro_f1"] >= float_f1 - TARGET_F1_DROP,
        "not_slower_than_float32": row["latency_ms"]["invoke_median"] <= ref["latency_ms"]["invoke_median"],
    }


def recommend(rows: list, float_f1: float) -> tuple[str, str]:
    """The phone variant: full-integer int8 (runs on integer-only NPUs/DSPs and old runtimes) that meets the
    size and F1 targets, smallest first; else the smallest variant within 1 F1 point; else float32."""
    ok = [r for r in rows if r["mode"] == "int8" and r["targets"]["f1_within_1pt"] and r["targets"]["size_le_quarter_float32"] and r["targets"]["size_le_64kb"]]
    if ok:
        best = min(ok, key=lambda r: (not r["targets"]["not_slower_than_float32"], r["tflite_bytes"]))
        return best["variant"], "smallest int8 meeting the size and macro-F1 targets"
    close = [r for r in rows if r["targets"]["f1_within_1pt"]]
    if close:
        return min(close, key=lambda r: r["tflite_bytes"])["variant"], "no int8 variant meets every target; smallest within 1 F1 point"
    return "float32", "no variant keeps macro-F1 within 1 point"


def quantize_transport(model_path: str, out_dir: str, train_data: Sequence[str], test_data: Sequence[str],
                       options: Optional[QuantizeOptions] = None) -> dict:  # fmt: skip
    """Build, export and measure ``options.variants`` of a trained ``.keras`` transport model.

    Writes ``out_dir/NAME_<variant>.tflite`` + manifest for every variant, ``NAME.tflite`` + ``NAME.json``
    for the shipped one, ``NAME_float32`` (the unpruned reference), ``report.json`` and ``report.png``.

    Parameters
    ----------
    model_path : str
        ``.keras`` file written by ``momentsense train transport`` (its ``.config.json`` beside it).
    train_data, test_data : list of str
        ``momentsense-imu-v1`` files: calibration and fine-tuning windows from the first, metrics from the second.
    """
    opts = options or QuantizeOptions()
    variants = list(dict.fromkeys([Variant("float32"), *opts.variants]))
    names = [v.name for v in variants]
    if opts.ship not in (None, "recommended") and opts.ship not in names:
        raise InputError(f"ship={opts.ship!r} is not among the variants {names}")
    trained = load_trained(model_path)
    keras_sha = sha256_file(model_path)
    config, norm = trained.config, trained.normalizer
    train_w = dataset_windows(load_datasets(list(train_data)), config)
    test_ds = load_datasets(list(test_data))
    if list(test_ds.label_names) != list(trained.label_names):
        raise InputError(f"test data label_names {test_ds.label_names} differ from the model's {trained.label_names}")
    test_w = dataset_windows(test_ds, config)
    clean = test_w.purity >= 0.8
    xt, yt = norm.apply(test_w.x[clean]).astype(np.float32), test_w.y[clean]
    n_spot = min(opts.spot_check_recordings, len(test_ds.recordings))
    spot_ids = [r.id for r in test_ds.recordings[:n_spot]]
    spot = np.isin(test_w.recording[clean], np.arange(n_spot))
    xtr = norm.apply(train_w.x[train_w.purity >= 0.8]).astype(np.float32)
    idx = np.random.default_rng(0).choice(len(xtr), size=min(500, len(xtr)), replace=False) if len(xtr) else np.zeros(0, int)
    rep = xtr[np.sort(idx)]
    keras_pred = trained.model.predict(xt, verbose=0, batch_size=512).argmax(1)
    keras_m = classification_metrics(yt, keras_pred, trained.label_names)

    def fine_tune_windows():
        from momentsense.trainer.transport.augment import AugmentConfig

        aug = dataset_windows(load_datasets(list(train_data)), config, augment=AugmentConfig(), copies=opts.augment_copies,
                              seed=opts.fine_tune.seed, min_purity=0.8)  # fmt: skip
        return norm.apply(aug.x).astype(np.float32), aug.y

    models = _base_models(trained, variants, fine_tune_windows, opts.fine_tune)
    rows, blobs = [], {}
    for v in variants:
        km = models[(v.keep, v.sparsity, v.qat)]
        sp = weight_sparsity(km)
        data = blobs[v.name] = export_tflite(km, v.mode, rep if v.mode == "int8" else None, per_tensor=v.lean, strip=v.lean)
        pred = load_model(data, num_threads=1).run_batch(xt).argmax(1)
        m = classification_metrics(yt, pred, trained.label_names)
        rows.append({
            "variant": v.name, "mode": v.mode, "sparsity_target": v.sparsity, "channel_keep": v.keep, "qat": v.qat,
            "lean": v.lean, "params": sp.params, "nonzero_params": sp.nonzero, "kernel_sparsity": round(sp.kernel_sparsity, 4),
            "tflite_bytes": len(data), "gzip_bytes": gzip_bytes(data), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "agreement_with_keras": float(np.mean(pred == keras_pred)),
            "spot_check": {"recordings": spot_ids, "n_windows": int(spot.sum()), "min_purity": 0.8,
                           "accuracy": float(np.mean(pred[spot] == yt[spot])) if spot.any() else None,
                           "source": test_ds.source},
            "_metrics": m,
        })  # fmt: skip
    lat = latency_side_by_side(blobs, xt[:64], rounds=opts.latency_rounds)
    ref = rows[0]
    for r in rows:
        r["latency_ms"] = lat["variants"][r["variant"]]
    f32 = {(v.keep, v.sparsity): r["macro_f1"] for r, v in zip(rows, variants) if v.mode == "float32" and not v.qat}
    for r, v in zip(rows, variants):
        r["targets"] = _targets(r, ref, keras_m["macro_f1"])
        # The float32 model this variant was quantized from (same pruning): its quantization loss alone.
        r["parent_float32_macro_f1"] = f32.get((v.keep, v.sparsity))
    rec, why = recommend(rows, keras_m["macro_f1"])
    report = {
        "model": str(model_path), "train_data": list(train_data), "test_data": list(test_data),
        "test_windows": int(len(yt)), "keras": {"accuracy": keras_m["accuracy"], "macro_f1": keras_m["macro_f1"]},
        "float32_reference_bytes": ref["tflite_bytes"], "fine_tune": dataclasses.asdict(opts.fine_tune),
        "fine_tune_augment_copies": opts.augment_copies,
        "latency": {k: v for k, v in lat.items() if k != "variants"},
        "targets": {"tflite_share_of_float32": TARGET_RATIO, "tflite_bytes": TARGET_BYTES, "macro_f1_drop": TARGET_F1_DROP},
        "variants": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
        "recommended": rec, "recommended_why": why,
    }  # fmt: skip
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hmm_path = Path(model_path).with_name("transport_hmm.json")
    hmm = json.loads(hmm_path.read_text()) if hmm_path.exists() else None
    ship = rec if opts.ship == "recommended" else opts.ship
    for r, v in zip(rows, variants):
        metrics = dict(r["_metrics"], latency_ms=r["latency_ms"], measured_on=list(test_data), n_params=r["params"],
                       nonzero_params=r["nonzero_params"], spot_check=r["spot_check"])  # fmt: skip
        extra = {"variant": v.name, "hop_s": config.hop_s, "hmm": hmm, "kernel_sparsity": r["kernel_sparsity"], "channel_keep": v.keep,
                 "qat": v.qat, "lean": v.lean, "derived_from": {"model": Path(model_path).name, "sha256": keras_sha}}  # fmt: skip
        files = [f"{opts.name}_{v.name}"] + ([opts.name] if v.name == ship else [])
        for fname in files:
            write_model(
                blobs[v.name], out, fname, opts.version, "transport", trained.label_names,
                config.to_dict(), norm.to_dict(), source=" + ".join(train_data), metrics=metrics,
                parent_version=opts.parent_version, extra=extra,
            )  # fmt: skip
    if ship:
        report["shipped"] = f"{opts.name}.tflite ({ship})"
    (out / "report.json").write_text(json.dumps(report, indent=2))
    if len(rows) > 1:
        plot_report(report, out / "report.png")
    return report
