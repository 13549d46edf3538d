"""Copy the SDK and its shipped models beside main.py, so buildozer packs them into the APK.

    python examples/app/stage_sdk.py          # then: cd examples/app && buildozer android debug

Copies the ``momentsense`` package as the phone needs it: its face (``momentsense/__init__.py``),
``momentsense/sdk`` (without caches), ``momentsense/edge_models/__init__.py`` and every shipped
``.tflite`` model with its ``.json`` manifest, then walks the manifests: every string value that names a file beside them
(context heads, GPS heads, segment classifier heads, whatever a later manifest adds) is copied too,
and the files those name in turn. A manifest naming a file that is not there stops the staging with
an error, because the detector would refuse the model on the phone. The training code (TensorFlow)
stays out. The copies are git-ignored.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Iterator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: File types a manifest may name that the phone needs (buildozer's ``source.include_exts`` must list them).
MODEL_SUFFIXES = (".tflite", ".json")


class StagingError(RuntimeError):
    """A manifest names a model file that the repository does not have."""


def referenced_files(value) -> Iterator[str]:
    """Every string inside a JSON value that looks like a model file name (ends in a model suffix)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from referenced_files(v)
    elif isinstance(value, list):
        for v in value:
            yield from referenced_files(v)
    elif isinstance(value, str) and value.endswith(MODEL_SUFFIXES) and "/" not in value and "\\" not in value:
        yield value


def closure(artifacts: Path, roots: list[Path]) -> list[Path]:
    """``roots`` and every file their JSON manifests name, transitively, in a stable order.

    Raises :class:`StagingError` when a named file is missing from ``artifacts``.
    """
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        f = todo.pop(0)
        if f.name in seen:
            continue
        if not f.is_file():
            raise StagingError(f"{f.name} is named by a shipped manifest but is missing from {artifacts}")
        seen[f.name] = f
        manifest = f if f.suffix == ".json" else f.with_suffix(".json")
        if manifest != f and manifest.is_file():
            todo.append(manifest)
        if f.suffix == ".json":
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise StagingError(f"{f}: not valid JSON ({exc})") from None
            todo += [artifacts / name for name in referenced_files(data) if name != f.name]
    return [seen[k] for k in sorted(seen)]


def stage(dest: Path = HERE, root: Path = ROOT) -> list[Path]:
    """Copy the SDK of the repository at ``root`` into ``dest``; returns the staged model files (all of them)."""
    artifacts = root / "edge_models" / "artifacts"
    files = closure(artifacts, sorted(artifacts.glob("*.tflite")))
    pkg = dest / "momentsense"
    shutil.rmtree(pkg, ignore_errors=True)
    pkg.mkdir(parents=True)
    shutil.copy2(root / "momentsense" / "__init__.py", pkg / "__init__.py")
    shutil.copytree(root / "sdk", pkg / "sdk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    em = pkg / "edge_models"
    (em / "artifacts").mkdir(parents=True)
    shutil.copy2(root / "edge_models" / "__init__.py", em / "__init__.py")
    out = []
    for f in files:
        shutil.copy2(f, em / "artifacts" / f.name)
        out.append(em / "artifacts" / f.name)
    return out


if __name__ == "__main__":
    for m in stage():
        print("staged", m.relative_to(HERE))
