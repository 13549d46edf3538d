"""The Java TFLite interpreter on Android (``org.tensorflow.lite.Interpreter``), called through pyjnius.

Why: python-for-android's ``tflite-runtime`` recipe builds an old TFLite and is reported to fail, LiteRT
has no Android wheel, and the Java library (Gradle ``org.tensorflow:tensorflow-lite``, plus
``tensorflow-lite-gpu`` for the GPU delegate, ``tensorflow-lite-hexagon`` for Hexagon) is where the
delegates live. Same interface as :class:`sdk.models.interpreter.TfliteModel`; load it with
``sdk.models.interpreter.load_model(..., backend="java")`` (the default on Android).

How data crosses the bridge (each point is a requirement of the Java API or of pyjnius):

- The model goes in as a **direct** ``ByteBuffer`` in ``ByteOrder.nativeOrder()`` (the Java constructor
  accepts only that or a ``MappedByteBuffer``); it is kept alive as long as the interpreter.
- The input is one direct native-order ``ByteBuffer`` of exactly ``Tensor.numBytes()`` bytes (the size
  Java checks), reused for every call: Java reads it without a copy. numpy writes the values in the
  byte order Java reports, so float models are right on either endianness.
- The output is a heap ``ByteBuffer`` of ``numBytes()`` bytes, rewound before each run; its
  ``array()`` comes back from pyjnius as a ``jnius.ByteArray``, whose ``tostring()`` copies the bytes
  out in one call (it has no buffer protocol; indexing it goes element by element).
- Shapes, dtypes and quantization come from ``getInputTensor(0)`` / ``getOutputTensor(0)``:
  ``shape()``, ``dataType().name()``, ``quantizationParams().getScale()/getZeroPoint()``, ``numBytes()``.

Delegates: see :mod:`sdk.models.interpreter`. A delegate that cannot be created (class missing from the
APK, device not supported, constructor throws) or applied (the ``Interpreter`` constructor throws),
or that fails at the first run, is closed and the next choice is tried: XNNPACK, then plain CPU.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.interpreter import JAVA_BACKEND, Model
from momentsense.sdk.models.manifest import TensorSpec

log = logging.getLogger(__name__)

INTERPRETER = "org.tensorflow.lite.Interpreter"
OPTIONS = "org.tensorflow.lite.Interpreter$Options"
GPU_DELEGATE = "org.tensorflow.lite.gpu.GpuDelegate"
GPU_COMPATIBILITY = "org.tensorflow.lite.gpu.CompatibilityList"
NNAPI_DELEGATE = "org.tensorflow.lite.nnapi.NnApiDelegate"
HEXAGON_DELEGATE = "org.tensorflow.lite.HexagonDelegate"
BYTE_BUFFER = "java.nio.ByteBuffer"
BYTE_ORDER = "java.nio.ByteOrder"

#: org.tensorflow.lite.DataType names → numpy dtype names.
JAVA_DTYPES = {"FLOAT32": "float32", "FLOAT16": "float16", "INT32": "int32", "UINT8": "uint8", "INT64": "int64",
               "BOOL": "bool", "INT16": "int16", "INT8": "int8"}  # fmt: skip


class _DelegateUnavailable(Exception):
    pass


def java_available() -> bool:
    """True when pyjnius imports and the APK contains ``org.tensorflow.lite.Interpreter``."""
    try:
        from jnius import autoclass

        autoclass(INTERPRETER)
        return True
    except Exception:
        return False


def _bytes_of(java_bytes) -> bytes:
    """Bytes of a Java ``byte[]`` as pyjnius returns it (``jnius.ByteArray``: ``tostring()``)."""
    tostring = getattr(java_bytes, "tostring", None)
    return tostring() if tostring is not None else bytes(java_bytes)


def _tensor_spec(tensor, where: str) -> tuple[TensorSpec, int]:
    name = str(tensor.dataType().name())
    if name not in JAVA_DTYPES:
        raise ModelError(f"{where}: tensor dtype {name} is not supported")
    dtype = JAVA_DTYPES[name]
    try:
        q = tensor.quantizationParams()
        scale, zero = float(q.getScale()), int(q.getZeroPoint())
    except Exception:  # TFLite Java < 2.3 has no quantizationParams()
        scale, zero = 0.0, 0
    if dtype in ("int8", "uint8") and scale == 0.0:
        raise ModelError(f"{where}: quantized {dtype} tensor without a scale (TFLite Java >= 2.3 reports it)")
    return TensorSpec(tuple(int(d) for d in tensor.shape()), dtype, scale, zero), int(tensor.numBytes())


def attempts(delegate: str) -> list[str]:
    """The delegates tried, in order, for a requested ``delegate`` (the last ones are the fallbacks)."""
    first = {"auto": ["xnnpack"], "cpu": ["cpu"]}.get(delegate, [delegate])  # why auto = XNNPACK: sdk.models.interpreter
    return first + [d for d in ("xnnpack", "cpu") if d not in first and "cpu" not in first]


class JavaTfliteModel(Model):
    """A ``.tflite`` model run by the Java interpreter. Create with :meth:`load`.

    Attributes:
        backend: ``"java"``.
        delegate: The delegate in use after fallback: ``gpu``, ``nnapi``, ``hexagon``, ``xnnpack``, ``cpu``.
        requested_delegate: What the caller asked for.
        fallbacks: ``(delegate, reason)`` for each delegate that failed, in order.
    """

    backend = JAVA_BACKEND

    def __init__(self, model: bytes, num_threads: int, delegate: str, where: str):
        from jnius import autoclass

        self._autoclass = autoclass
        self._where = where
        self._num_threads = int(num_threads)
        self._lock = threading.Lock()
        self._it = None
        self._delegate_obj = None
        self.requested_delegate = delegate
        self.fallbacks: list[tuple[str, str]] = []
        byte_buffer, byte_order = autoclass(BYTE_BUFFER), autoclass(BYTE_ORDER)
        self._native_order = byte_order.nativeOrder()
        self._endian = ">" if "BIG" in str(self._native_order.toString()).upper() else "<"
        self._byte_buffer = byte_buffer
        self._model_buf = self._direct(len(model))
        self._model_buf.put(bytes(model))
        self._model_buf.rewind()
        self._pending = attempts(delegate)
        self._open_next()
        n_in, n_out = int(self._it.getInputTensorCount()), int(self._it.getOutputTensorCount())
        if n_in != 1 or n_out != 1:
            self.close()
            raise ModelError(f"{where}: expected a model with one input and one output, got {n_in} and {n_out}")
        self.input_spec, in_bytes = _tensor_spec(self._it.getInputTensor(0), where)
        self.output_spec, out_bytes = _tensor_spec(self._it.getOutputTensor(0), where)
        self._in_buf = self._direct(in_bytes)
        self._out_buf = byte_buffer.allocate(out_bytes)
        self._out_buf.order(self._native_order)
        log.info("loaded %s with the Java TFLite interpreter (delegate %s, %d thread(s))", where, self.delegate, self._num_threads)

    @classmethod
    def load(cls, model: bytes, num_threads: int = 1, delegate: str = "auto", where: str = "model bytes") -> "JavaTfliteModel":
        """Load ``model`` (bytes of a ``.tflite``); raises :class:`ModelError` when pyjnius, the Java
        library or every delegate (CPU included) fails."""
        try:
            import jnius  # noqa: F401
        except ImportError:
            raise ModelError("the java backend needs pyjnius (python-for-android: requirements = pyjnius)") from None
        return cls(model, num_threads, delegate, where)

    # -- building ------------------------------------------------------------------------------

    def _direct(self, n: int):
        buf = self._byte_buffer.allocateDirect(int(n))
        buf.order(self._native_order)
        return buf

    def _make_delegate(self, kind: str):
        if kind == "gpu":
            compat = self._autoclass(GPU_COMPATIBILITY)()
            try:
                supported = bool(compat.isDelegateSupportedOnThisDevice())
            finally:
                compat.close()
            if not supported:
                raise _DelegateUnavailable("the GPU compatibility list does not support this device")
            return self._autoclass(GPU_DELEGATE)()
        if kind == "nnapi":
            return self._autoclass(NNAPI_DELEGATE)()
        if kind == "hexagon":
            from momentsense.sdk.android import android_context

            return self._autoclass(HEXAGON_DELEGATE)(android_context())
        raise ModelError(f"unknown delegate {kind!r}")  # pragma: no cover - guarded by attempts()

    def _options(self, kind: str):
        opts = self._autoclass(OPTIONS)()
        opts.setNumThreads(self._num_threads)
        delegate_obj = None
        if kind in ("cpu", "xnnpack"):
            try:
                opts.setUseXNNPACK(kind == "xnnpack")
            except Exception as exc:  # TFLite Java < 2.3: no XNNPACK switch
                if kind == "xnnpack":
                    raise _DelegateUnavailable(f"this TFLite Java library has no setUseXNNPACK ({exc})") from None
        else:
            delegate_obj = self._make_delegate(kind)
            opts.addDelegate(delegate_obj)
        return opts, delegate_obj

    def _open_next(self) -> None:
        """Build an interpreter with the next delegate in line; raise ModelError when none is left."""
        interpreter = self._autoclass(INTERPRETER)
        while self._pending:
            kind = self._pending.pop(0)
            delegate_obj = None
            try:
                opts, delegate_obj = self._options(kind)
                it = interpreter(self._model_buf, opts)
            except Exception as exc:  # jnius.JavaException, class not found, unsupported device
                self._close_delegate(delegate_obj)
                reason = f"{type(exc).__name__}: {exc}"
                self.fallbacks.append((kind, reason))
                if self._pending:
                    # "auto" probing the GPU is routine; a delegate the caller named is worth a warning.
                    level = logging.INFO if self.requested_delegate == "auto" and kind == "gpu" else logging.WARNING
                    log.log(level, "%s: delegate %s failed (%s); falling back to %s", self._where, kind, reason, self._pending[0])
                continue
            self._it, self._delegate_obj, self.delegate = it, delegate_obj, kind
            return
        tried = "; ".join(f"{k}: {r}" for k, r in self.fallbacks)
        raise ModelError(f"{self._where}: the Java TFLite interpreter refused the model ({tried})")

    @staticmethod
    def _close_delegate(delegate_obj) -> None:
        if delegate_obj is not None:
            try:
                delegate_obj.close()
            except Exception:  # pragma: no cover - best effort
                pass

    # -- running -------------------------------------------------------------------------------

    def _invoke(self, q: np.ndarray) -> np.ndarray:
        raw = np.ascontiguousarray(q, dtype=q.dtype.newbyteorder(self._endian)).tobytes()
        out_dtype = np.dtype(self.output_spec.dtype)
        with self._lock:
            while True:
                try:
                    self._in_buf.rewind()
                    self._in_buf.put(raw)
                    self._in_buf.rewind()
                    self._out_buf.rewind()
                    self._it.run(self._in_buf, self._out_buf)
                    data = _bytes_of(self._out_buf.array())
                    break
                except Exception as exc:
                    if not self._pending:
                        raise ModelError(f"{self._where}: inference failed with delegate {self.delegate} ({exc})") from None
                    log.warning("%s: inference with delegate %s failed (%s); falling back to %s", self._where, self.delegate, exc, self._pending[0])
                    self.fallbacks.append((self.delegate, f"run: {type(exc).__name__}: {exc}"))
                    self._close_interpreter()
                    self._open_next()
        y = np.frombuffer(data, dtype=out_dtype.newbyteorder(self._endian))
        return y.astype(out_dtype).reshape(self.output_spec.shape)

    def reset(self) -> None:
        """Reset variable tensors (the state a fused LSTM keeps between invocations)."""
        with self._lock:
            try:
                self._it.resetVariableTensors()
            except Exception as exc:  # old library without it: a fresh interpreter has fresh state
                log.info("%s: resetVariableTensors unavailable (%s); rebuilding the interpreter", self._where, exc)
                self._pending.insert(0, self.delegate)
                self._close_interpreter()
                self._open_next()

    def _close_interpreter(self) -> None:
        it, self._it = self._it, None
        if it is not None:
            try:
                it.close()
            except Exception:  # pragma: no cover - best effort
                pass
        self._close_delegate(self._delegate_obj)
        self._delegate_obj = None

    def close(self) -> None:
        """Free the native interpreter and delegate (safe to call twice)."""
        self._close_interpreter()

    def __enter__(self) -> "JavaTfliteModel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

