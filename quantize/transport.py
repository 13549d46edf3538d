"""Compress the trained transport CNN: TFLite variants, each measured as shipped, plus a report.

Every variant is evaluated by running its ``.tflite`` bytes in the SDK's interpreter on the same
held-out windows (clean windows of the test file); latency is the median over single-window,
single-thread invocations measured here, side by side in one run. The int8 model is calibrated on
training windows only.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from quantize.export import MODES, export_tflite, write_model
from sdk.errors import InputError
from sdk.interpreter import load_model
from trainer.transport.data import dataset_windows
from trainer.transport.metrics import classification_metrics
from trainer.transport.train import load_trained
from trainer.transport.workflow import load_datasets

#: Version of the shipped transport model produced by this module.
TRANSPORT_VERSION = "1.0.0"


def _latency_ms(model, x: np.ndarray, n: int = 200) -> dict:
    times = []
    for i in range(min(n, len(x))):
        t0 = time.perf_counter()
        model.run(x[i : i + 1])
        times.append((time.perf_counter() - t0) * 1e3)
    t = np.asarray(times)
    return {"median": float(np.median(t)), "p95": float(np.percentile(t, 95))}


def representative_windows(train_x_norm: np.ndarray, n: int = 500, seed: int = 0) -> np.ndarray:
    """A seeded sample of normalised *training* windows for int8 calibration."""
    if len(train_x_norm) == 0:
        raise InputError("no training windows to calibrate on")
    idx = np.random.default_rng(seed).choice(len(train_x_norm), size=min(n, len(train_x_norm)), replace=False)
    return train_x_norm[np.sort(idx)]


def quantize_transport(
    model_path: str,
    out_dir: str,
    train_data: Sequence[str],
    test_data: Sequence[str],
    modes: Sequence[str] = MODES,
    ship: Optional[str] = "int8",
    name: str = "transport_cnn",
    spot_check_recordings: int = 4,
) -> dict:
    """Export ``modes`` of a trained ``.keras`` transport model and write ``out_dir/report.json``.

    Parameters
    ----------
    model_path : str
        ``.keras`` file written by ``momentsense train transport`` (its ``.config.json`` beside it).
    out_dir : str
        Where the variants, the shipped model + manifest and ``report.json`` go.
    train_data, test_data : list of str
        ``momentsense-imu-v1`` files: calibration windows come from the first, metrics from the second.
    modes : list of str
        Subset of ``float32, float16, dynamic, int8``.
    ship : str, optional
        The variant written as ``NAME.tflite`` + ``NAME.json`` (the others as ``NAME_<mode>.tflite``).
    spot_check_recordings : int
        Each manifest records the accuracy on the clean windows of the first this-many test
        recordings, so a fast test can recompute it from the same data and catch a stale manifest.
    """
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise InputError(f"unknown modes {bad}; known: {MODES}")
    trained = load_trained(model_path)
    config, norm = trained.config, trained.normalizer
    train_w = dataset_windows(load_datasets(list(train_data)), config)
    test_ds = load_datasets(list(test_data))
    if list(test_ds.label_names) != list(trained.label_names):
        raise InputError(f"test data label_names {test_ds.label_names} differ from the model's {trained.label_names}")
    test_w = dataset_windows(test_ds, config)
    clean = test_w.purity >= 0.8
    xt, yt = norm.apply(test_w.x[clean]), test_w.y[clean]
    spot_ids = [r.id for r in test_ds.recordings[:spot_check_recordings]]
    spot = np.isin(test_w.recording[clean], np.arange(min(spot_check_recordings, len(test_ds.recordings))))
    rep = representative_windows(norm.apply(train_w.x[train_w.purity >= 0.8]))
    weights = trained.model.get_weights()
    n_params = int(sum(w.size for w in weights))
    nonzero = int(sum(np.count_nonzero(w) for w in weights))
    keras_pred = trained.model.predict(xt, verbose=0, batch_size=512).argmax(1)
    keras_m = classification_metrics(yt, keras_pred, trained.label_names)
    hmm_path = Path(model_path).with_name("transport_hmm.json")
    hmm = json.loads(hmm_path.read_text()) if hmm_path.exists() else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for mode in modes:
        data = export_tflite(trained.model, mode, rep if mode == "int8" else None)
        tfl = load_model(data, num_threads=1)
        pred = tfl.run_batch(xt).argmax(1)
        m = classification_metrics(yt, pred, trained.label_names)
        rows.append({
            "variant": mode, "params": n_params, "nonzero_params": nonzero, "tflite_bytes": len(data),
            "gzip_bytes": len(gzip.compress(data, 9)), "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "latency_ms": _latency_ms(tfl, xt), "agreement_with_keras": float(np.mean(pred == keras_pred)),
            "spot_check": {"recordings": spot_ids, "n_windows": int(spot.sum()), "min_purity": 0.8,
                           "accuracy": float(np.mean(pred[spot] == yt[spot])) if spot.any() else None},
            "_bytes": data, "_metrics": m,
        })  # fmt: skip
    report = {
        "model": str(model_path), "train_data": list(train_data), "test_data": list(test_data),
        "test_windows": int(len(yt)), "keras": {"accuracy": keras_m["accuracy"], "macro_f1": keras_m["macro_f1"]},
        "interpreter": tfl.backend if modes else None, "threads": 1,
        "variants": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
    }  # fmt: skip
    if ship:
        if ship not in modes:
            raise InputError(f"ship={ship!r} is not among the exported modes {list(modes)}")
        for r in rows:
            shipped = r["variant"] == ship
            metrics = dict(r["_metrics"], latency_ms=r["latency_ms"], measured_on=list(test_data), n_params=n_params,
                           spot_check=r["spot_check"])
            write_model(
                r["_bytes"], out, name if shipped else f"{name}_{r['variant']}", TRANSPORT_VERSION, "transport",
                trained.label_names, config.to_dict(), norm.to_dict(), source=" + ".join(train_data), metrics=metrics,
                extra={"variant": r["variant"], "hop_s": config.hop_s, "hmm": hmm},
            )  # fmt: skip
        report["shipped"] = f"{name}.tflite ({ship})"
        best = min((r for r in report["variants"]), key=lambda r: (r["macro_f1"] < report["keras"]["macro_f1"] - 0.01, r["tflite_bytes"]))
        report["recommended"] = best["variant"]
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


def format_report(report: dict) -> str:
    """The report as a table."""
    lines = [f"{'variant':<9}{'params':>8}{'nonzero':>9}{'tflite B':>10}{'gzip B':>9}{'acc':>7}{'macro-F1':>10}{'ms/win':>8}{'agree':>7}"]
    for r in report["variants"]:
        lines.append(
            f"{r['variant']:<9}{r['params']:>8,}{r['nonzero_params']:>9,}{r['tflite_bytes']:>10,}{r['gzip_bytes']:>9,}"
            f"{r['accuracy']:>7.3f}{r['macro_f1']:>10.3f}{r['latency_ms']['median']:>8.3f}{r['agreement_with_keras']:>7.3f}"
        )
    k = report["keras"]
    lines.append(f"keras float32 on the same windows: accuracy {k['accuracy']:.3f}, macro-F1 {k['macro_f1']:.3f}; "
                 f"{report['test_windows']} held-out windows; recommended for phones: {report.get('recommended')}")  # fmt: skip
    return "\n".join(lines)
