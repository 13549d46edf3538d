"""Run ``.tflite`` models on the device, whatever interpreter is installed.

Backends, tried in order: on Android the Java TFLite interpreter through pyjnius (``"java"``, see
:mod:`sdk.models.android`; it is where the GPU/NNAPI/Hexagon delegates live), then
``ai_edge_litert`` (LiteRT, XNNPACK on CPU), ``tflite_runtime`` (needs numpy < 2), and
``tensorflow.lite`` only as a last resort on desktops. TensorFlow is never imported when an earlier
backend loads. Quantized (int8/uint8) inputs and outputs are converted with the tensor's own scale
and zero point, so callers always pass and get float32.

Delegates (``delegate=``): ``"auto"`` (XNNPACK everywhere: the shipped models take ~0.01-0.3 ms
per call on a CPU core, less than a GPU or NNAPI dispatch costs, and waking an accelerator every few
seconds costs battery; ask for ``"gpu"``/``"nnapi"`` explicitly for bigger models), ``"xnnpack"`` (optimised CPU kernels, the desktop default),
``"cpu"`` (plain built-in kernels, no delegate), ``"gpu"``, ``"nnapi"``, ``"hexagon"`` (Android
only). A delegate that fails to load or to apply falls back to XNNPACK, then plain CPU; the choice is
logged and exposed as :attr:`TfliteModel.delegate`. The Python backends support only ``xnnpack`` and
``cpu``; asking them for an Android delegate logs a warning and uses XNNPACK.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Optional, Union

import numpy as np

from momentsense.sdk.android import is_android
from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.manifest import TensorSpec, check_tflite_bytes

log = logging.getLogger(__name__)

#: Python backends, in the order tried on desktops.
BACKENDS = ("ai_edge_litert", "tflite_runtime", "tensorflow")
#: The Android backend (Java ``org.tensorflow.lite.Interpreter`` through pyjnius).
JAVA_BACKEND = "java"
ALL_BACKENDS = (JAVA_BACKEND,) + BACKENDS
DELEGATES = ("auto", "xnnpack", "cpu", "gpu", "nnapi", "hexagon")
ANDROID_DELEGATES = ("gpu", "nnapi", "hexagon")
_MODULES = {
    "ai_edge_litert": "ai_edge_litert.interpreter",
    "tflite_runtime": "tflite_runtime.interpreter",
    "tensorflow": "tensorflow.lite",
}


def default_backends() -> tuple[str, ...]:
    """Backends tried when none is forced: the Java one first on Android, the Python ones elsewhere."""
    return ALL_BACKENDS if is_android() else BACKENDS


def _import_backend(name: str):
    """The backend's interpreter module; raises ImportError (or whatever a broken install raises)."""
    module = importlib.import_module(_MODULES[name])
    module.Interpreter  # noqa: B018  (tensorflow.lite is lazy: fail here, not at first use)
    return module


def _interpreter_module(backend: Optional[str]):
    names = BACKENDS if backend is None else (backend,)
    errors = []
    for name in names:
        if name not in _MODULES:
            raise ModelError(f"unknown interpreter backend {name!r}; known: {ALL_BACKENDS}")
        try:
            return name, _import_backend(name)
        except Exception as exc:  # ImportError, or a runtime built against another numpy
            errors.append(f"{name}: {exc}")
    raise ModelError("no TFLite interpreter could be loaded (" + "; ".join(errors) + "); pip install ai-edge-litert")


def interpreter_class(backend: Optional[str]):
    """(name, Interpreter class) of the first Python backend that imports (kept for callers)."""
    name, module = _interpreter_module(backend)
    return name, module.Interpreter


def _spec(detail: dict) -> TensorSpec:
    scale, zero = detail.get("quantization", (0.0, 0))
    return TensorSpec(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]).name, float(scale), int(zero))


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


class TfliteModel(Model):
    """A model run by a Python interpreter (``ai_edge_litert``, ``tflite_runtime``, ``tensorflow``)."""

    def __init__(self, interpreter, backend: str, delegate: str = "xnnpack"):
        self._it = interpreter
        self.backend = backend
        self.delegate = delegate
        ins, outs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(ins) != 1 or len(outs) != 1:
            raise ModelError(f"expected a model with one input and one output, got {len(ins)} and {len(outs)}")
        self._in, self._out = ins[0], outs[0]
        self.input_spec, self.output_spec = _spec(self._in), _spec(self._out)

    def _invoke(self, q: np.ndarray) -> np.ndarray:
        self._it.set_tensor(self._in["index"], q)
        self._it.invoke()
        return self._it.get_tensor(self._out["index"])

    def reset(self) -> None:
        """Reset variable tensors (the state a fused LSTM keeps between invocations)."""
        self._it.reset_all_variables()


def _check_delegate(delegate: str) -> str:
    if delegate not in DELEGATES:
        raise ModelError(f"unknown delegate {delegate!r}; known: {DELEGATES}")
    return delegate


def _load_python(model: bytes, num_threads: int, name: str, module, delegate: str, where: str) -> TfliteModel:
    if delegate in ANDROID_DELEGATES:
        log.warning("delegate %r is not available in the %s backend (Android only); using xnnpack", delegate, name)
    kwargs = {}
    used = "xnnpack"
    if delegate == "cpu":
        resolver = getattr(module, "OpResolverType", None) or getattr(getattr(module, "experimental", None), "OpResolverType", None)
        if resolver is not None and hasattr(resolver, "BUILTIN_WITHOUT_DEFAULT_DELEGATES"):
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            used = "cpu"
        else:
            log.warning("the %s backend cannot turn XNNPACK off; using xnnpack", name)
    try:
        it = module.Interpreter(model_content=bytes(model), num_threads=int(num_threads), **kwargs)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{where}: the {name} interpreter refused the model ({exc})") from None
    log.info("loaded %s with %s (delegate %s, %d thread(s))", where, name, used, num_threads)
    return TfliteModel(it, name, used)


def load_model(
    model: Union[str, Path, bytes],
    num_threads: int = 1,
    backend: Optional[str] = None,
    delegate: str = "auto",
) -> Model:
    """Load a ``.tflite`` model from a path or bytes.

    Parameters
    ----------
    model : path or bytes
    num_threads : int
        Interpreter threads (≥ 1).
    backend : str, optional
        Force one of :data:`ALL_BACKENDS`; default: the first of :func:`default_backends` that loads.
    delegate : str
        One of :data:`DELEGATES` (see the module docstring); a delegate that fails falls back to CPU.

    Raises
    ------
    ModelError
        Missing, truncated or non-TFLite file, a model the interpreter refuses, an unknown backend or
        delegate, or no interpreter installed.
    """
    if int(num_threads) < 1:
        raise ModelError(f"num_threads must be >= 1, got {num_threads!r}")
    _check_delegate(delegate)
    where = "model bytes"
    if isinstance(model, (str, Path)):
        where = str(model)
        try:
            model = Path(model).read_bytes()
        except FileNotFoundError:
            raise ModelError(f"{where}: model file not found") from None
    check_tflite_bytes(model, where)
    if backend is not None and backend not in ALL_BACKENDS:
        raise ModelError(f"unknown interpreter backend {backend!r}; known: {ALL_BACKENDS}")
    names = default_backends() if backend is None else (backend,)
    errors = []
    for name in names:
        if name == JAVA_BACKEND:
            from momentsense.sdk.models.android import JavaTfliteModel, java_available

            if backend is None and not java_available():
                errors.append("java: pyjnius or org.tensorflow.lite.Interpreter not available")
                continue
            return JavaTfliteModel.load(bytes(model), int(num_threads), delegate, where)
        try:
            module = _import_backend(name)
        except Exception as exc:  # ImportError, or a runtime built against another numpy
            errors.append(f"{name}: {exc}")
            continue
        return _load_python(model, int(num_threads), name, module, delegate, where)
    raise ModelError("no TFLite interpreter could be loaded (" + "; ".join(errors) + "); pip install ai-edge-litert")
