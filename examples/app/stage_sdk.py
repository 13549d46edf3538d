"""Copy the SDK and its shipped models beside main.py, so buildozer packs them into the APK.

    python examples/app/stage_sdk.py          # then: cd examples/app && buildozer android debug

Copies ``sdk/`` (without caches) and ``edge_models/__init__.py`` with the shipped ``.tflite`` models,
their ``.json`` manifests and the files a manifest names (the transport context heads); the training
code (TensorFlow) stays out. The copies are git-ignored.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def stage(dest: Path = HERE, root: Path = ROOT) -> list[Path]:
    """Copy the SDK of the repository at ``root`` into ``dest``; returns the copied model files."""
    shutil.rmtree(dest / "sdk", ignore_errors=True)
    shutil.copytree(root / "sdk", dest / "sdk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    em = dest / "edge_models"
    shutil.rmtree(em, ignore_errors=True)
    (em / "artifacts").mkdir(parents=True)
    shutil.copy2(root / "edge_models" / "__init__.py", em / "__init__.py")
    models = []
    for f in sorted((root / "edge_models" / "artifacts").glob("*.tflite")):
        manifest = f.with_suffix(".json")
        files = [f]
        if manifest.exists():
            files.append(manifest)
            extra = json.loads(manifest.read_text()).get("extra", {})
            for key in ("context", "context_lagged"):  # the detector refuses a model whose named head is missing
                if extra.get(key):
                    files.append(f.with_name(extra[key]["file"]))
        for g in files:
            shutil.copy2(g, em / "artifacts" / g.name)
        models.append(em / "artifacts" / f.name)
    return models


if __name__ == "__main__":
    for m in stage():
        print("staged", m.relative_to(HERE))
