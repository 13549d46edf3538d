"""Predict with a shipped ``.tflite`` transport model, exactly as the SDK would (manifest-driven)."""

from __future__ import annotations

from pathlib import Path

from momentsense.sdk.dsp import Normalizer, PreprocessConfig
from momentsense.sdk.models.interpreter import load_model
from momentsense.sdk.models.manifest import load_verified_model


def tflite_predictor(path: str | Path):
    """``(predict, config, label_names)`` for a ``.tflite`` model with its manifest beside it.

    The manifest's sha256 is checked; the pipeline config and normalisation come from it.
    """
    data, manifest = load_verified_model(path)
    model = load_model(data, num_threads=1)
    config = PreprocessConfig.from_dict(manifest.preprocess)
    norm = Normalizer.from_dict(manifest.normalisation)
    return (lambda x: model.run_batch(norm.apply(x))), config, list(manifest.label_names)
