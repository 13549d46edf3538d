"""Export a fixed-batch-1 LSTM to a builtin-ops-only ``.tflite`` and write its manifest.

tf_keras LSTMs with a dynamic batch do not convert to builtins (``tf.TensorListReserve``); a model
whose input is ``Input(..., batch_size=1)`` converts to one fused ``UNIDIRECTIONAL_SEQUENCE_LSTM``
(``docs/platform-notes.md``). :func:`check_builtin_only` refuses a flatbuffer that contains Flex
(Select TF) or custom ops, so a model that the phone's runtime cannot run never ships.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from momentsense.sdk.errors import InputError, ModelError

MODES = ("float32", "float16", "dynamic")


def export_lstm_tflite(model, mode: str = "dynamic") -> bytes:
    """Convert a fixed-batch-1 tf_keras model to TFLite bytes with builtin ops only.

    Parameters
    ----------
    model : tf_keras.Model
        Input shape ``(1, T, F)`` (see :func:`edge_models.next_event.build_export_model`).
    mode : str
        ``float32``, ``float16`` (float16 weights) or ``dynamic`` (int8 weights, float activations).
        Full int8 is not offered: the fused int8 LSTM measured ~7x slower on x86 (platform notes).

    Returns
    -------
    bytes
    """
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, got {mode!r}")
    shape = tuple(model.input_shape)
    if shape[0] != 1 or any(d is None for d in shape):
        raise InputError(f"export needs a fixed (1, T, F) input, got {shape}; use build_export_model")
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if mode in ("float16", "dynamic"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    data = converter.convert()
    check_builtin_only(data)
    return data


def op_names(model_bytes: bytes) -> list[str]:
    """Names of the operators in a flatbuffer (builtin names, or ``CUSTOM:<name>``)."""
    from tensorflow.lite.python import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    builtin = {v: k for k, v in schema.BuiltinOperator.__dict__.items() if not k.startswith("_")}
    names = []
    for sg in m.subgraphs:
        for op in sg.operators:
            code = m.operatorCodes[op.opcodeIndex]
            b = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
            name = builtin.get(b, str(b))
            if name == "CUSTOM":
                cc = code.customCode
                name = "CUSTOM:" + (cc.decode() if isinstance(cc, bytes) else str(cc))
            names.append(name)
    return names


def check_builtin_only(model_bytes: bytes) -> list[str]:
    """Raise :class:`ModelError` if the model has Flex/custom ops; return its op names."""
    names = op_names(model_bytes)
    bad = sorted({n for n in names if n.startswith("CUSTOM") or n.startswith("Flex")})
    if bad:
        raise ModelError(f"the model needs non-builtin ops {bad}; the SDK's runtimes only have builtins")
    return names


def write_lstm_model(model_bytes: bytes, out_dir: str | Path, name: str, version: str, label_names: Sequence[str],
                     preprocess: dict, source: str, metrics: dict, extra: Optional[dict] = None):  # fmt: skip
    """Write ``NAME.tflite`` and its ``sdk.models.manifest`` (task ``next_event``); return (path, manifest)."""
    from momentsense.quantize.export import write_model

    return write_model(model_bytes, out_dir, name, version, "next_event", label_names=label_names, preprocess=preprocess,
                       source=source, metrics=metrics, extra=extra)  # fmt: skip
