"""Run ``.tflite`` models on the device, whatever interpreter is installed.

Backends, tried in order: ``ai_edge_litert`` (LiteRT, XNNPACK on CPU), ``tflite_runtime`` (needs
numpy < 2), and ``tensorflow.lite`` only as a last resort on desktops. TensorFlow is never imported
when one of the first two is present. Quantized (int8/uint8) inputs and outputs are converted with
the tensor's own scale and zero point, so callers always pass and get float32.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Optional, Union

import numpy as np

from sdk.errors import ModelError
from sdk.manifest import TensorSpec, check_tflite_bytes

log = logging.getLogger(__name__)

BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")
_MODULES = {
    "ai_edge_litert": "ai_edge_litert.interpreter",
    "tflite_runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite",
}


def _interpreter_class(backend: Optional[str]):
    names = BACKENDS if backend is None else (backend,)
    errors = []
    for name in names:
        if name not in _MODULES:
            raise ModelError(f"unknown interpreter backend {name!r}; known: {BACKENDS}")
        try:
            module = importlib.import_module(_MODULES[name])
            return name, module.Interpreter
        except Exception as exc:  # ImportError, or a runtime built against another numpy
            errors.append(f"{name}: {exc}")
    raise ModelError("no TFLite interpreter could be loaded (" + "; ".join(errors) + "); pip install ai-edge-litert")


def _spec(detail: dict) -> TensorSpec:
    scale, zero = detail.get("quantization", (0.0, 0))
    return TensorSpec(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]).name, float(scale), int(zero))


class TfliteModel:
    """One loaded model with a single input and a single output.

    Attributes:
        backend: Which interpreter runs it.
        input_spec, output_spec: Shapes, dtypes and quantization read from the model.
    """

    def __init__(self, interpreter, backend: str):
        self._it = interpreter
        self.backend = backend
        ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise ModelError(f"expected a model with one input and one output, got {len(ins)} and {len(outs)}")
        self._in, self._out = ins[0], outs[0]
        self.input_spec, self.output_spec = _spec(self._in), _spec(self._out)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run one example (shape = input shape, batch included) and return the float32 output."""
        x = np.asarray(x, np.float32)
        shape = tuple(int(d) for d in self._in["shape"])
        if x.shape != shape:
            raise ModelError(f"input must have shape {shape}, got {x.shape}")
        self._it.set_tensor(self._in["index"], self._quantize(x))
        self._it.invoke()
        return self._dequantize(self._it.get_tensor(self._out["index"]))

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """Run ``N`` examples one by one (the shipped models have batch 1); returns ``(N, ...)``."""
        x = np.asarray(x, np.float32)
        return np.concatenate([self.run(x[i : i + 1]) for i in range(len(x))]) if len(x) else np.zeros((0,) + tuple(self._out["shape"][1:]), np.float32)

    def reset(self) -> None:
        """Reset variable tensors (the state a fused LSTM keeps between invocations)."""
        self._it.reset_all_variables()

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        dtype = np.dtype(self._in["dtype"])
        if dtype in (np.int8, np.uint8):
            s = self.input_spec
            info = np.iinfo(dtype)
            return np.clip(np.round(x / s.scale + s.zero_point), info.min, info.max).astype(dtype)
        return x.astype(dtype)

    def _dequantize(self, y: np.ndarray) -> np.ndarray:
        if np.dtype(self._out["dtype"]) in (np.int8, np.uint8):
            s = self.output_spec
            return (y.astype(np.float32) - s.zero_point) * np.float32(s.scale)
        return y.astype(np.float32)


def load_model(model: Union[str, Path, bytes], num_threads: int = 1, backend: Optional[str] = None) -> TfliteModel:
    """Load a ``.tflite`` model from a path or bytes.

    Parameters
    ----------
    model : path or bytes
    num_threads : int
        Interpreter threads (≥ 1).
    backend : str, optional
        Force one of :data:`BACKENDS`; default: the first that loads.

    Raises
    ------
    ModelError
        Missing, truncated or non-TFLite file, or a model the interpreter refuses.
    """
    if int(num_threads) < 1:
        raise ModelError(f"num_threads must be >= 1, got {num_threads!r}")
    where = "model bytes"
    if isinstance(model, (str, Path)):
        where = str(model)
        try:
            model = Path(model).read_bytes()
        except FileNotFoundError:
            raise ModelError(f"{where}: model file not found") from None
    check_tflite_bytes(model, where)
    name, cls = _interpreter_class(backend)
    try:
        it = cls(model_content=bytes(model), num_threads=int(num_threads))
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{where}: the {name} interpreter refused the model ({exc})") from None
    log.debug("loaded %s with %s", where, name)
    return TfliteModel(it, name)
