"""Export Keras models to ``.tflite`` (float32, float16, dynamic range, full int8) with a manifest.

Symmetric with training: :func:`export_tflite` takes a tf_keras model and returns the flatbuffer
bytes; :func:`write_model` writes ``NAME.tflite`` and its manifest ``NAME.json`` (sha256, input spec
with the preprocessing parameters and quantization scale/zero-point, metrics on held-out data).
Full-integer int8 is calibrated on a representative set drawn from *training* windows; an empty or
wrongly shaped representative set is refused before conversion starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.models.manifest import Manifest, TensorSpec, sha256_bytes, write_manifest

MODES = ("float32", "float16", "dynamic", "int8")


def check_representative(windows: Optional[np.ndarray], input_shape: Sequence[int]) -> np.ndarray:
    """Refuse an empty or wrongly shaped representative set (before any conversion work)."""
    if windows is None:
        raise InputError("int8 quantization needs a representative set of training windows; none was given")
    x = np.asarray(windows, np.float32)
    expected = tuple(int(d) for d in input_shape[1:])
    if x.ndim != len(expected) + 1 or x.shape[1:] != expected:
        raise InputError(f"representative windows must have shape (N, {', '.join(map(str, expected))}), got {x.shape}")
    if len(x) == 0:
        raise InputError("the representative set is empty; draw a few hundred training windows")
    if not np.all(np.isfinite(x)):
        raise InputError("the representative set contains NaN or inf")
    return x


def export_tflite(
    model,
    mode: str = "float32",
    representative: Optional[np.ndarray] = None,
    max_calibration: int = 500,
    fixed_batch: bool = True,
    per_tensor: bool = False,
    strip: bool = False,
) -> bytes:
    """Convert a tf_keras model to TFLite bytes.

    Parameters
    ----------
    model : tf_keras.Model
        Input ``(batch, ...)`` float32 (already normalised windows).
    mode : str
        ``float32``, ``float16`` (weights), ``dynamic`` (int8 weights, float activations) or ``int8``
        (full integer: int8 weights, activations, input and output).
    representative : ndarray, optional
        Normalised training windows for int8 calibration (required for ``int8``).
    max_calibration : int
        At most this many windows are used for calibration (evenly spaced).
    fixed_batch : bool
        Convert a ``[1, ...]`` input signature (the phones run one window at a time): the graph then
        has no ``SHAPE``/``STRIDED_SLICE``/``PACK`` ops to rebuild the reshape for a dynamic batch
        (measured on the transport CNN: 1,136 bytes less for float32 and int8, the same outputs).
    per_tensor : bool
        One int8 scale per weight tensor instead of one per output channel (``int8``/``dynamic``):
        each channel costs a float32 scale and an int64 zero point in the flatbuffer (measured on the
        transport CNN: 3,928 bytes less, macro-F1 unchanged); per-channel is the safer default.
    strip : bool
        Remove tensor names and signature definitions from the flatbuffer (measured: 1,776 bytes less
        on the transport CNN). The SDK addresses tensors by index, so nothing it does changes.
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, got {mode!r}")
    rep = check_representative(representative, model.input_shape) if mode == "int8" else None
    import tensorflow as tf

    if fixed_batch:
        spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32, name=model.input_names[0])
        fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], model)
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] if mode != "int8" else [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if mode in ("float16", "dynamic", "int8"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode == "int8":
        idx = np.linspace(0, len(rep) - 1, min(max_calibration, len(rep))).astype(int)

        def gen():
            for i in idx:
                yield [rep[i : i + 1]]

        converter.representative_dataset = gen
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if per_tensor and mode in ("int8", "dynamic"):
        converter._experimental_disable_per_channel = True
    data = converter.convert()
    return strip_strings(data) if strip else data


def strip_strings(model_bytes: bytes) -> bytes:
    """The flatbuffer without tensor/subgraph names, signature definitions and conversion metadata."""
    from tensorflow.lite.tools import flatbuffer_utils as fu

    m = fu.read_model_from_bytearray(bytearray(model_bytes))
    fu.strip_strings(m)
    if m.metadata:
        m.metadata = [md for md in m.metadata if md.name != b"CONVERSION_METADATA"]
    return bytes(fu.convert_object_to_bytearray(m))


def tensor_specs(model_bytes: bytes) -> tuple[TensorSpec, TensorSpec]:
    """Input and output spec (shape, dtype, quantization) read from the flatbuffer itself."""
    from momentsense.sdk.models.interpreter import load_model

    m = load_model(model_bytes)
    return m.input_spec, m.output_spec


def write_model(
    model_bytes: bytes,
    out_dir: str | Path,
    name: str,
    version: str,
    task: str,
    label_names: Sequence[str] = (),
    preprocess: Optional[dict] = None,
    normalisation: Optional[dict] = None,
    source: str = "",
    metrics: Optional[dict] = None,
    parent_version: Optional[str] = None,
    extra: Optional[dict] = None,
) -> tuple[Path, Manifest]:
    """Write ``out_dir/NAME.tflite`` and ``out_dir/NAME.json``; return the model path and manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    inp, outp = tensor_specs(model_bytes)
    manifest = Manifest(
        name=name, version=version, task=task, input=inp, output=outp, sha256=sha256_bytes(model_bytes),
        label_names=tuple(label_names), preprocess=dict(preprocess or {}), normalisation=dict(normalisation or {}),
        source=source, metrics=dict(metrics or {}), parent_version=parent_version, extra=dict(extra or {}),
    )  # fmt: skip
    path = out / f"{name}.tflite"
    path.write_bytes(model_bytes)
    write_manifest(manifest, out / f"{name}.json")
    return path, manifest
