"""Where the SDK finds the models it ships with, without importing anything but the standard library.

In every layout the SDK runs in (a source checkout, an install, the staged Android tree), the
package ``edge_models`` sits beside ``sdk``: its ``artifacts/`` folder holds the shipped ``.tflite``
models and their manifests.
"""

from __future__ import annotations

from pathlib import Path


def artifact_dir() -> Path:
    """Folder holding the shipped ``.tflite`` models and their ``.json`` manifests."""
    return Path(__file__).resolve().parents[2] / "edge_models" / "artifacts"


def shipped_model(name: str) -> Path:
    """The shipped file ``name`` (e.g. ``"transport_cnn.tflite"``); it may not exist in a stripped build."""
    return artifact_dir() / name
