"""Model registry: the ``.tflite`` models and manifests found in a folder (recursively).

A model is ``<stem>.tflite`` with its manifest ``<stem>.json`` beside it (``momentsense-model-manifest-v1``)
and optionally a signature ``<stem>.sig`` (text, see :mod:`sdk.models.ota`). Models are keyed by the
manifest's ``(name, version)``; files whose bytes do not match the manifest's sha256 are skipped.
By default the folder is the shipped ``edge_models/artifacts``.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Optional

from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.manifest import load_verified_model

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RegistryEntry:
    name: str
    version: str
    task: str
    sha256: str
    size_bytes: int
    tflite_path: Path
    manifest: dict
    signature: Optional[str]


def _version_key(v: str) -> tuple:
    core = v.split("-")[0].split("+")[0]
    return tuple(int(x) for x in core.split("."))


class ModelRegistry:
    """Scans ``folder`` once at start (call :meth:`rescan` after adding models)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._entries: dict[tuple[str, str], RegistryEntry] = {}
        self.rescan()

    def rescan(self) -> None:
        entries = {}
        for tfl in sorted(self.folder.rglob("*.tflite")):
            man_path = tfl.with_suffix(".json")
            if not man_path.exists():
                continue
            try:
                data, man = load_verified_model(tfl, man_path)
            except ModelError as exc:
                log.warning("registry: skipping %s: %s", tfl, exc)
                continue
            sig_path = tfl.with_suffix(".sig")
            sig = sig_path.read_text().strip() if sig_path.exists() else None
            key = (man.name, man.version)
            if key in entries:
                log.warning("registry: %s %s found twice; keeping %s", man.name, man.version, entries[key].tflite_path)
                continue
            entries[key] = RegistryEntry(man.name, man.version, man.task, man.sha256, len(data), tfl, man.to_dict(), sig)
        self._entries = entries

    def list(self) -> list[RegistryEntry]:
        return sorted(self._entries.values(), key=lambda e: (e.name, _version_key(e.version)))

    def get(self, name: str, version: str) -> Optional[RegistryEntry]:
        if version == "latest":
            same = [e for e in self._entries.values() if e.name == name]
            return max(same, key=lambda e: _version_key(e.version)) if same else None
        return self._entries.get((name, version))
