"""momentsense edge models: Keras architectures (imported lazily) and the shipped ``.tflite`` artifacts.

Importing this package does not import TensorFlow; :func:`artifact_dir` tells where the shipped
models and their manifests are.
"""

from __future__ import annotations

from pathlib import Path


def artifact_dir() -> Path:
    """Folder holding the shipped ``.tflite`` models and their ``.json`` manifests."""
    return Path(__file__).resolve().parent / "artifacts"
