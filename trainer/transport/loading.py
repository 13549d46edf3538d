"""Loading what the transport workflows share: datasets from files, a trained window model (Keras or
``.tflite``) as a predictor, one row of the model comparison, and numpy-aware JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset
from momentsense.trainer.transport.train import TrainedTransport, load_trained


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


def comparison_row(name: str, n_params: int, n_bytes: int, m: dict) -> dict:
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


def to_json(o):
    """``json.dumps`` ``default=``: numpy arrays and scalars as lists and numbers."""
    if hasattr(o, "tolist"):
        return o.tolist()
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    raise TypeError(type(o).__name__)
