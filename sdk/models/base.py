"""What every interpreter backend shares: the backend and delegate names, the float32 ⇄ int8
conversion with a tensor's own scale and zero point, and the :class:`Model` interface."""

from __future__ import annotations

import numpy as np

from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.manifest import TensorSpec

#: Python backends, in the order tried on desktops.
BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")
#: The Android backend (Java ``org.tensorflow.lite.Interpreter`` through pyjnius).
JAVA_BACKEND = "java"
ALL_BACKENDS = (JAVA_BACKEND,) + BACKENDS
DELEGATES = ("auto", "xnnpack", "cpu", "gpu", "nnapi", "hexagon")
ANDROID_DELEGATES = ("gpu", "nnapi", "hexagon")


def quantize(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """float32 → the tensor's dtype (int8/uint8: ``round(x / scale + zero_point)``, clipped)."""
    dtype = np.dtype(spec.dtype)
    if dtype in (np.int8, np.uint8):
        info = np.iinfo(dtype)
        return np.clip(np.round(x / spec.scale + spec.zero_point), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def dequantize(y: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """The tensor's dtype → float32 (int8/uint8: ``(q - zero_point) * scale``)."""
    if np.dtype(spec.dtype) in (np.int8, np.uint8):
        return (y.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)
    return y.astype(np.float32)


class Model:
    """The interface every backend implements: one input, one output, float32 in and out.

    Attributes:
        backend: Which interpreter runs it (one of :data:`ALL_BACKENDS`).
        delegate: The delegate actually in use after any fallback (``xnnpack``, ``cpu``, ``gpu``...).
        input_spec, output_spec: Shapes, dtypes and quantization read from the model.
    """

    backend: str
    delegate: str
    input_spec: TensorSpec
    output_spec: TensorSpec

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run one example (shape = input shape, batch included) and return the float32 output."""
        x = np.asarray(x, np.float32)
        if x.shape != tuple(self.input_spec.shape):
            raise ModelError(f"input must have shape {tuple(self.input_spec.shape)}, got {x.shape}")
        return dequantize(self._invoke(quantize(x, self.input_spec)), self.output_spec)

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """Run ``N`` examples one by one (the shipped models have batch 1); returns ``(N, ...)``."""
        x = np.asarray(x, np.float32)
        if not len(x):
            return np.zeros((0,) + tuple(self.output_spec.shape[1:]), np.float32)
        return np.concatenate([self.run(x[i : i + 1]) for i in range(len(x))])

    def reset(self) -> None:  # pragma: no cover - interface
        """Reset variable tensors (the state a fused LSTM keeps between invocations)."""
        raise NotImplementedError

    def _invoke(self, q: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError
