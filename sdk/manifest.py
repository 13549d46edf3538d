"""Model manifests: the JSON file that ships beside every ``.tflite`` model.

A manifest says what the model is (name, semantic version, task, labels), exactly how its input is
made (shape, dtype, the preprocessing parameters it was trained with, normalisation, quantization),
what it outputs, the sha256 of the model bytes, where its training data came from and the metrics
measured on held-out data. The SDK reads preprocessing parameters from here, never from constants of
its own, and refuses a model whose bytes or input spec do not match (:func:`load_verified_model`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Optional

from momentsense.sdk.errors import ModelError

_SEMVER = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
#: FlatBuffer file identifier of TFLite models, at byte offset 4.
TFLITE_IDENTIFIER = b"TFL3"


@dataclasses.dataclass(frozen=True)
class TensorSpec:
    """Shape, dtype and (for int8/uint8 tensors) the affine quantization of one model tensor.

    Attributes:
        shape: Tensor shape, batch first (the shipped models use batch 1).
        dtype: numpy dtype name: ``float32``, ``int8``, ``uint8``, ``float16``.
        scale: Quantization scale (real = scale * (q - zero_point)); 0.0 when not quantized.
        zero_point: Quantization zero point; 0 when not quantized.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    scale: float = 0.0
    zero_point: int = 0

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}

    @classmethod
    def from_dict(cls, d: dict) -> "TensorSpec":
        return cls(
            shape=tuple(int(v) for v in d["shape"]),
            dtype=str(d.get("dtype", "float32")),
            scale=float(d.get("scale", 0.0)),
            zero_point=int(d.get("zero_point", 0)),
        )


@dataclasses.dataclass(frozen=True)
class Manifest:
    """Everything the runtime must know about a shipped model.

    Attributes:
        name: Model name, also the file stem (``transport_cnn`` -> ``transport_cnn.tflite``).
        version: Semantic version ``MAJOR.MINOR.PATCH``.
        task: ``transport``, ``next_event``, ``timeline_encoder``, ...
        label_names: Output class names in output order (empty for embedding models).
        input: Input tensor spec.
        output: Output tensor spec.
        sha256: Hex sha256 of the ``.tflite`` bytes.
        preprocess: Parameters of the signal pipeline the model was trained with
            (``sdk.dsp.PreprocessConfig.to_dict()`` for sensor models); the SDK builds its pipeline from this.
        normalisation: ``{"mean": [...], "std": [...]}`` per input channel, applied before quantization.
        source: Training data provenance (simulator version and seed, dataset names).
        metrics: Metrics measured on held-out data (never on training windows or users).
        parent_version: Version of the model this one was derived from (pruned/quantized/retrained), or None.
        extra: Task-specific fields (e.g. embedding mapping between encoder versions).
    """

    name: str
    version: str
    task: str
    input: TensorSpec
    output: TensorSpec
    sha256: str
    label_names: tuple[str, ...] = ()
    preprocess: dict = dataclasses.field(default_factory=dict)
    normalisation: dict = dataclasses.field(default_factory=dict)
    source: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)
    parent_version: Optional[str] = None
    extra: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not re.match(r"^[A-Za-z0-9_.-]+$", self.name):
            raise ModelError(f"manifest name must be a plain file stem, got {self.name!r}")
        if not _SEMVER.match(self.version):
            raise ModelError(f"manifest version must be semantic (MAJOR.MINOR.PATCH), got {self.version!r}")
        if not re.match(r"^[0-9a-f]{64}$", self.sha256):
            raise ModelError(f"manifest sha256 must be 64 lowercase hex digits, got {self.sha256!r}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["input"] = self.input.to_dict()
        d["output"] = self.output.to_dict()
        d["label_names"] = list(self.label_names)
        d["format"] = "momentsense-model-manifest-v1"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Manifest":
        try:
            return cls(
                name=str(d["name"]),
                version=str(d["version"]),
                task=str(d["task"]),
                input=TensorSpec.from_dict(d["input"]),
                output=TensorSpec.from_dict(d["output"]),
                sha256=str(d["sha256"]),
                label_names=tuple(str(x) for x in d.get("label_names", ())),
                preprocess=dict(d.get("preprocess", {})),
                normalisation=dict(d.get("normalisation", {})),
                source=str(d.get("source", "")),
                metrics=dict(d.get("metrics", {})),
                parent_version=d.get("parent_version"),
                extra=dict(d.get("extra", {})),
            )
        except KeyError as exc:
            raise ModelError(f"manifest lacks the required field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ModelError):
                raise
            raise ModelError(f"manifest has a malformed field: {exc}") from None


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(manifest: Manifest, path: str | Path) -> Path:
    """Write ``manifest`` as indented JSON to ``path`` and return the path."""
    path = Path(path)
    path.write_text(json.dumps(manifest.to_dict(), indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def read_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file; :class:`ModelError` names the file and the problem."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{path}: manifest not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: manifest is not valid JSON ({exc})") from None
    if not isinstance(d, dict):
        raise ModelError(f"{path}: manifest must be a JSON object, got {type(d).__name__}")
    try:
        return Manifest.from_dict(d)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def check_tflite_bytes(data: bytes, where: str = "model") -> None:
    """Refuse bytes that cannot be a TFLite flatbuffer (empty, truncated, or another file type)."""
    if len(data) < 16:
        raise ModelError(f"{where}: {len(data)} bytes is too short to be a TFLite model (truncated?)")
    if data[4:8] != TFLITE_IDENTIFIER:
        raise ModelError(
            f"{where}: not a TFLite flatbuffer (expected identifier {TFLITE_IDENTIFIER!r} at byte 4, "
            f"found {bytes(data[4:8])!r})"
        )


def load_verified_model(tflite_path: str | Path, manifest_path: str | Path | None = None) -> tuple[bytes, Manifest]:
    """Read a ``.tflite`` file and its manifest and check that they belong together.

    Parameters
    ----------
    tflite_path : path
        The model file.
    manifest_path : path, optional
        Its manifest; default: the same path with ``.json``.

    Returns
    -------
    model_bytes : bytes
    manifest : Manifest

    Raises
    ------
    ModelError
        Missing file, not a flatbuffer, or sha256 different from the manifest's.
    """
    tflite_path = Path(tflite_path)
    manifest_path = Path(manifest_path) if manifest_path else tflite_path.with_suffix(".json")
    manifest = read_manifest(manifest_path)
    try:
        data = tflite_path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{tflite_path}: model file not found") from None
    check_tflite_bytes(data, str(tflite_path))
    digest = sha256_bytes(data)
    if digest != manifest.sha256:
        raise ModelError(
            f"{tflite_path}: sha256 {digest[:12]}… does not match its manifest {manifest_path.name} "
            f"({manifest.sha256[:12]}…); the file is corrupted or the manifest is stale"
        )
    return data, manifest


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays end up in metrics; make them plain JSON.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
