"""The Android (Java TFLite through pyjnius) interpreter backend, run against a fake ``jnius``.

The fake's Java classes record every call they get and compute outputs with the real LiteRT
interpreter underneath, reading and writing the raw bytes of the ByteBuffers in the byte order the
fake "JVM" reports; so wrong buffer sizes, a wrong byte order, a heap model buffer or a forgotten
rewind fail here as they would on a phone.
"""

import logging
import sys
import types

import numpy as np
import pytest

from momentsense.edge_models import artifact_dir
from momentsense.sdk.errors import ModelError
from momentsense.sdk.models.interpreter import load_model

INT8 = (artifact_dir() / "transport_cnn.tflite").read_bytes()
FLOAT32 = (artifact_dir() / "transport_cnn_float32.tflite").read_bytes()
DTYPES = {np.dtype("float32"): "FLOAT32", np.dtype("int8"): "INT8", np.dtype("uint8"): "UINT8", np.dtype("int32"): "INT32"}


# -- the fake jnius ------------------------------------------------------------------------------


class JavaException(Exception):
    def __init__(self, message, classname="java.lang.IllegalArgumentException"):
        super().__init__(f"{classname}: {message}")
        self.classname = classname


def make_jnius(native="LITTLE_ENDIAN", missing=(), ctor_fails=(), apply_fails=(), run_fails=(), gpu_supported=True):
    """A fake ``jnius`` module. ``missing``: class names absent from the APK; ``ctor_fails``/``apply_fails``/
    ``run_fails``: delegate kinds whose constructor / application / inference throws."""
    from ai_edge_litert.interpreter import Interpreter as LiteRT
    from ai_edge_litert.interpreter import OpResolverType

    calls = []
    endian = "<" if native == "LITTLE_ENDIAN" else ">"

    class Order:
        def __init__(self, name):
            self.name = name

        def toString(self):
            return self.name

    BIG, LITTLE = Order("BIG_ENDIAN"), Order("LITTLE_ENDIAN")

    class ByteOrder:
        BIG_ENDIAN, LITTLE_ENDIAN = BIG, LITTLE

        @staticmethod
        def nativeOrder():
            return LITTLE if native == "LITTLE_ENDIAN" else BIG

    class ByteArray:  # what pyjnius returns for byte[]: tostring(), no buffer protocol
        def __init__(self, data):
            self._data = bytes(data)

        def tostring(self):
            return self._data

        def __len__(self):
            return len(self._data)

    class ByteBuffer:
        def __init__(self, n, direct):
            self.data, self.pos, self.direct, self._order = bytearray(n), 0, direct, BIG  # Java's default is BIG_ENDIAN

        @staticmethod
        def allocateDirect(n):
            calls.append(("ByteBuffer.allocateDirect", n))
            return ByteBuffer(n, True)

        @staticmethod
        def allocate(n):
            calls.append(("ByteBuffer.allocate", n))
            return ByteBuffer(n, False)

        def order(self, order=None):
            if order is None:
                return self._order
            assert isinstance(order, Order)
            self._order = order
            return self

        def put(self, src):
            if not isinstance(src, (bytes, bytearray)):  # pyjnius also takes lists; the backend must not
                raise JavaException(f"put wants byte[], got {type(src).__name__}")
            if self.pos + len(src) > len(self.data):
                raise JavaException("", "java.nio.BufferOverflowException")
            self.data[self.pos : self.pos + len(src)] = src
            self.pos += len(src)
            return self

        def rewind(self):
            self.pos = 0
            return self

        def capacity(self):
            return len(self.data)

        def isDirect(self):
            return self.direct

        def array(self):
            if self.direct:
                raise JavaException("", "java.lang.UnsupportedOperationException")
            return ByteArray(self.data)

    class Delegate:
        kind = "?"

        def __init__(self, *args):
            calls.append((f"{type(self).__name__}.<init>", args))
            if self.kind in ctor_fails:
                raise JavaException(f"cannot create the {self.kind} delegate", "java.lang.UnsatisfiedLinkError")
            self.closed = False

        def close(self):
            calls.append((f"{type(self).__name__}.close",))
            self.closed = True

    class GpuDelegate(Delegate):
        kind = "gpu"

    class NnApiDelegate(Delegate):
        kind = "nnapi"

    class HexagonDelegate(Delegate):
        kind = "hexagon"

        def __init__(self, context):
            assert context == "fake-context", "HexagonDelegate needs the app Context"
            super().__init__(context)

    class CompatibilityList:
        def isDelegateSupportedOnThisDevice(self):
            calls.append(("CompatibilityList.isDelegateSupportedOnThisDevice",))
            return gpu_supported

        def close(self):
            calls.append(("CompatibilityList.close",))

    class Options:
        def __init__(self):
            self.threads, self.xnnpack, self.delegates = -1, None, []
            calls.append(("Options.<init>",))

        def setNumThreads(self, n):
            calls.append(("Options.setNumThreads", n))
            self.threads = n
            return self

        def setUseXNNPACK(self, on):
            calls.append(("Options.setUseXNNPACK", on))
            self.xnnpack = on
            return self

        def setUseNNAPI(self, on):
            calls.append(("Options.setUseNNAPI", on))
            return self

        def addDelegate(self, d):
            calls.append(("Options.addDelegate", type(d).__name__))
            if not isinstance(d, Delegate):
                raise JavaException("not a Delegate")
            self.delegates.append(d)
            return self

    class DataType:
        def __init__(self, name):
            self._name = name

        def name(self):
            return self._name

    class QuantizationParams:
        def __init__(self, scale, zero):
            self.scale, self.zero = scale, zero

        def getScale(self):
            return self.scale

        def getZeroPoint(self):
            return self.zero

    class Tensor:
        def __init__(self, detail):
            self.d = detail

        def shape(self):
            return [int(v) for v in self.d["shape"]]

        def dataType(self):
            return DataType(DTYPES[np.dtype(self.d["dtype"])])

        def quantizationParams(self):
            s, z = self.d["quantization"]
            return QuantizationParams(float(s), int(z))

        def numBytes(self):
            return int(np.prod(self.d["shape"])) * np.dtype(self.d["dtype"]).itemsize

    class Interpreter:
        def __init__(self, model_buffer, options):
            calls.append(("Interpreter.<init>", options.threads, options.xnnpack, [d.kind for d in options.delegates]))
            if not (isinstance(model_buffer, ByteBuffer) and model_buffer.direct and model_buffer.order() is ByteOrder.nativeOrder()):
                raise JavaException("Model ByteBuffer should be either a MappedByteBuffer of the model file, or a direct ByteBuffer using ByteOrder.nativeOrder()")
            for d in options.delegates:
                if d.kind in apply_fails:
                    raise JavaException(f"Internal error: Failed to apply delegate: {d.kind} rejected the graph")
            self.delegates = [d.kind for d in options.delegates]
            resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if options.xnnpack is False else OpResolverType.AUTO
            try:
                self.it = LiteRT(model_content=bytes(model_buffer.data), num_threads=max(options.threads, 1), experimental_op_resolver_type=resolver)
                self.it.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise JavaException(f"Internal error: Cannot create interpreter: {exc}") from None
            self.closed = False
            instances.append(self)

        def getInputTensorCount(self):
            return len(self.it.get_input_details())

        def getOutputTensorCount(self):
            return len(self.it.get_output_details())

        def getInputTensor(self, i):
            return Tensor(self.it.get_input_details()[i])

        def getOutputTensor(self, i):
            return Tensor(self.it.get_output_details()[i])

        def run(self, src, dst):
            assert not self.closed
            calls.append(("Interpreter.run",))
            if any(k in run_fails for k in self.delegates):
                raise JavaException("Internal error: Failed to run on the given Interpreter: delegate error", "java.lang.IllegalStateException")
            din, dout = self.it.get_input_details()[0], self.it.get_output_details()[0]
            n_in = Tensor(din).numBytes()
            if src.capacity() != n_in or dst.capacity() != Tensor(dout).numBytes():
                raise JavaException(f"Cannot convert between a TensorFlowLite buffer with {n_in} bytes and a ByteBuffer with {src.capacity()} bytes.")
            # Direct native-order input: Java reads the whole buffer in place; otherwise it copies from the position.
            raw = bytes(src.data) if (src.direct and src.order() is ByteOrder.nativeOrder()) else bytes(src.data[src.pos :])
            if len(raw) != n_in:
                raise JavaException("", "java.nio.BufferUnderflowException")
            x = np.frombuffer(raw, np.dtype(din["dtype"]).newbyteorder(endian)).astype(din["dtype"]).reshape(din["shape"])
            self.it.set_tensor(din["index"], x)
            self.it.invoke()
            y = self.it.get_tensor(dout["index"])
            dst.put(np.ascontiguousarray(y, y.dtype.newbyteorder(endian)).tobytes())

        def resetVariableTensors(self):
            calls.append(("Interpreter.resetVariableTensors",))
            self.it.reset_all_variables()

        def close(self):
            calls.append(("Interpreter.close",))
            self.closed = True

    class PythonActivity:
        mActivity = "fake-context"

    classes = {
        "java.nio.ByteBuffer": ByteBuffer,
        "java.nio.ByteOrder": ByteOrder,
        "org.tensorflow.lite.Interpreter": Interpreter,
        "org.tensorflow.lite.Interpreter$Options": Options,
        "org.tensorflow.lite.gpu.GpuDelegate": GpuDelegate,
        "org.tensorflow.lite.gpu.CompatibilityList": CompatibilityList,
        "org.tensorflow.lite.nnapi.NnApiDelegate": NnApiDelegate,
        "org.tensorflow.lite.HexagonDelegate": HexagonDelegate,
        "org.kivy.android.PythonActivity": PythonActivity,
    }
    instances = []

    def autoclass(name):
        calls.append(("autoclass", name))
        if name not in classes or name in missing:
            raise JavaException(f"Class not found {name!r}", "java.lang.ClassNotFoundException")
        return classes[name]

    module = types.ModuleType("jnius")
    module.autoclass, module.JavaException, module.calls, module.instances = autoclass, JavaException, calls, instances
    module.detach = lambda: None
    return module


@pytest.fixture
def jnius(monkeypatch):
    """Install a fake jnius; ``jnius(**cfg)`` reinstalls one with another configuration."""

    def install(**cfg):
        module = make_jnius(**cfg)
        monkeypatch.setitem(sys.modules, "jnius", module)
        return module

    install.default = install()
    return install


def windows(spec_shape, n=12, seed=0):
    """Inputs in the range the normalised windows have (float32, mean 0, std 0.1-3 so the classes
    differ: white noise of one strength is all one class, a few outliers)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (n,) + tuple(spec_shape[1:])) * np.logspace(-1, 0.5, n)[:, None, None]
    x = x.astype(np.float32)
    x[0, :5] = 20.0  # beyond the int8 range: must be clipped the same way
    return x


def names(calls, prefix):
    return [c for c in calls if c[0].startswith(prefix)]


# -- outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("delegate", ["cpu", "xnnpack"])
def test_int8_outputs_equal_litert(jnius, delegate):
    """The shipped int8 transport model gives the same outputs through the Java path as in ai_edge_litert."""
    java = load_model(INT8, backend="java", delegate=delegate)
    ref = load_model(INT8, backend="ai_edge_litert", delegate=delegate)
    assert (java.backend, java.delegate, ref.delegate) == ("java", delegate, delegate)
    assert java.input_spec == ref.input_spec and java.output_spec == ref.output_spec
    assert java.input_spec.dtype == "int8" and java.input_spec.scale > 0
    x = windows(java.input_spec.shape)
    y_java, y_ref = java.run_batch(x), ref.run_batch(x)
    assert y_java.shape == (len(x), 8) and y_java.dtype == np.float32
    np.testing.assert_array_equal(y_java, y_ref)
    assert len({tuple(r) for r in y_java.round(4)}) > 1, "outputs must depend on the input"


@pytest.mark.parametrize("native", ["LITTLE_ENDIAN", "BIG_ENDIAN"])
def test_float_inputs_are_written_in_the_native_byte_order(jnius, native):
    """A float32 model is right whatever byte order the JVM reports (a wrong order gives garbage)."""
    jnius(native=native)
    java = load_model(FLOAT32, backend="java", delegate="cpu")
    ref = load_model(FLOAT32, backend="ai_edge_litert", delegate="cpu")
    x = windows(java.input_spec.shape, n=5, seed=1)
    np.testing.assert_allclose(java.run_batch(x), ref.run_batch(x), rtol=0, atol=1e-6)


def test_buffers_classes_and_options(jnius):
    """Model in a direct native-order buffer of its size, input direct of numBytes, output heap of numBytes;
    the documented classes and options; threads passed through; reset goes to resetVariableTensors."""
    fake = jnius(native="BIG_ENDIAN")
    m = load_model(INT8, num_threads=3, backend="java", delegate="xnnpack")
    m.run(np.zeros(m.input_spec.shape, np.float32))
    m.run(np.ones(m.input_spec.shape, np.float32))  # a second run: buffers were rewound
    m.reset()
    n_in, n_out = int(np.prod(m.input_spec.shape)), int(np.prod(m.output_spec.shape))
    assert ("ByteBuffer.allocateDirect", len(INT8)) in fake.calls
    assert ("ByteBuffer.allocateDirect", n_in) in fake.calls and ("ByteBuffer.allocate", n_out) in fake.calls
    loaded = {c[1] for c in names(fake.calls, "autoclass")}
    assert {"org.tensorflow.lite.Interpreter", "org.tensorflow.lite.Interpreter$Options", "java.nio.ByteBuffer", "java.nio.ByteOrder"} <= loaded
    assert not any("gpu" in c or "nnapi" in c for c in loaded), "xnnpack must not touch the accelerator delegates"
    assert ("Options.setNumThreads", 3) in fake.calls and ("Options.setUseXNNPACK", True) in fake.calls
    assert ("Interpreter.<init>", 3, True, []) in fake.calls
    assert len(names(fake.calls, "Interpreter.run")) == 2 and ("Interpreter.resetVariableTensors",) in fake.calls
    m.close()
    m.close()
    assert fake.instances[-1].closed


def test_a_fused_lstm_state_is_reset(jnius):
    """The shipped next-event LSTM (float16 weights) through the Java path: reset() restores the first output."""
    data = (artifact_dir() / "next_event.tflite").read_bytes()
    java = load_model(data, backend="java", delegate="cpu")
    ref = load_model(data, backend="ai_edge_litert", delegate="cpu")
    x = windows(java.input_spec.shape, n=1, seed=2)[:1]
    first = java.run(x)
    java.reset()
    np.testing.assert_allclose(java.run(x), first, atol=1e-6)
    ref.reset()
    np.testing.assert_allclose(ref.run(x), first, atol=1e-5)


# -- delegates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("delegate,cls", [("gpu", "GpuDelegate"), ("nnapi", "NnApiDelegate"), ("hexagon", "HexagonDelegate")])
def test_accelerator_delegates_are_added(jnius, delegate, cls):
    fake = jnius.default
    m = load_model(INT8, backend="java", delegate=delegate)
    assert m.delegate == delegate and m.fallbacks == []
    assert ("Options.addDelegate", cls) in fake.calls
    assert ("Interpreter.<init>", 1, None, [delegate]) in fake.calls
    m.close()
    assert (f"{cls}.close",) in fake.calls, "the delegate is freed with the interpreter"


def test_auto_stays_on_the_cpu_and_gpu_is_explicit(jnius):
    """Tiny models: "auto" is XNNPACK (no accelerator woken); "gpu" checks the compatibility list."""
    fake = jnius()
    m = load_model(INT8, backend="java")
    assert m.delegate == "xnnpack" and not m.fallbacks and not names(fake.calls, "GpuDelegate.<init>")
    assert load_model(INT8, backend="java", delegate="gpu").delegate == "gpu"
    fake = jnius(gpu_supported=False)
    m = load_model(INT8, backend="java", delegate="gpu")
    assert m.delegate == "xnnpack" and "compatibility list" in m.fallbacks[0][1]
    assert not names(fake.calls, "GpuDelegate.<init>") and ("CompatibilityList.close",) in fake.calls


@pytest.mark.parametrize(
    "cfg,reason",
    [
        ({"missing": ("org.tensorflow.lite.gpu.GpuDelegate",)}, "ClassNotFoundException"),
        ({"ctor_fails": ("gpu",)}, "UnsatisfiedLinkError"),
        ({"apply_fails": ("gpu",)}, "Failed to apply delegate"),
    ],
)
def test_a_failing_delegate_falls_back_to_cpu_and_says_so(jnius, caplog, cfg, reason):
    """Missing class, constructor failure or graph rejection: the delegate is closed, XNNPACK used, a warning logged."""
    fake = jnius(**cfg)
    x = windows((1, 250, 14), n=3, seed=3)
    with caplog.at_level(logging.WARNING, logger="momentsense.sdk.models.android"):
        m = load_model(INT8, backend="java", delegate="gpu")
    assert m.delegate == "xnnpack" and m.requested_delegate == "gpu"
    assert m.fallbacks[0][0] == "gpu" and reason in m.fallbacks[0][1]
    assert any("delegate gpu failed" in r.message and "falling back to xnnpack" in r.message for r in caplog.records)
    if "apply_fails" in cfg:
        assert ("GpuDelegate.close",) in fake.calls
    np.testing.assert_array_equal(m.run_batch(x), load_model(INT8, backend="ai_edge_litert").run_batch(x))


def test_a_delegate_failing_at_run_time_falls_back(jnius, caplog):
    fake = jnius(run_fails=("nnapi",))
    x = windows((1, 250, 14), n=2, seed=4)
    m = load_model(INT8, backend="java", delegate="nnapi")
    assert m.delegate == "nnapi"
    with caplog.at_level(logging.WARNING, logger="momentsense.sdk.models.android"):
        y = m.run_batch(x)
    assert m.delegate == "xnnpack" and ("NnApiDelegate.close",) in fake.calls
    assert any("inference with delegate nnapi failed" in r.message for r in caplog.records)
    np.testing.assert_array_equal(y, load_model(INT8, backend="ai_edge_litert").run_batch(x))


def test_without_xnnpack_switch_it_ends_on_plain_cpu(jnius):
    """An old library whose Options lacks setUseXNNPACK: gpu fails → xnnpack unavailable → cpu."""
    fake = jnius(apply_fails=("gpu",))
    Options = fake.autoclass("org.tensorflow.lite.Interpreter$Options")
    del Options.setUseXNNPACK
    m = load_model(INT8, backend="java", delegate="gpu")
    assert m.delegate == "cpu" and [k for k, _ in m.fallbacks] == ["gpu", "xnnpack"]


# -- errors and selection ------------------------------------------------------------------------


def test_a_corrupted_model_is_a_model_error(jnius):
    """Bytes with a valid header but a broken body: every delegate is refused, one ModelError names them."""
    bad = bytearray(INT8)
    bad[64:4096] = b"\xff" * (4096 - 64)
    with pytest.raises(ModelError, match="Java TFLite interpreter refused the model") as err:
        load_model(bytes(bad), backend="java", delegate="gpu")
    assert "gpu:" in str(err.value) and "cpu:" in str(err.value)
    with pytest.raises(ModelError, match="not a TFLite flatbuffer"):
        load_model(b"PK\x03\x04" + bytes(100), backend="java")


def test_bad_arguments(jnius):
    with pytest.raises(ModelError, match="unknown delegate"):
        load_model(INT8, backend="java", delegate="tpu")
    with pytest.raises(ModelError, match="unknown interpreter backend"):
        load_model(INT8, backend="jvm")
    m = load_model(INT8, backend="java")
    with pytest.raises(ModelError, match="input must have shape"):
        m.run(np.zeros((1, 10, 14)))


def test_java_backend_without_pyjnius(monkeypatch):
    monkeypatch.setitem(sys.modules, "jnius", None)  # import jnius → ImportError
    with pytest.raises(ModelError, match="pyjnius"):
        load_model(INT8, backend="java")


def test_android_prefers_java_and_falls_back_to_litert(jnius, monkeypatch):
    monkeypatch.setenv("ANDROID_ARGUMENT", "/data/data/org.example/files/app")
    assert load_model(INT8).backend == "java"
    jnius(missing=("org.tensorflow.lite.Interpreter",))  # APK without the Gradle dependency
    assert load_model(INT8).backend == "ai_edge_litert"


def test_desktop_default_never_touches_jnius(jnius, monkeypatch):
    for var in ("ANDROID_ARGUMENT", "ANDROID_PRIVATE"):
        monkeypatch.delenv(var, raising=False)
    m = load_model(INT8)
    assert m.backend == "ai_edge_litert" and m.delegate == "xnnpack" and jnius.default.calls == []


def test_desktop_backends_log_and_use_xnnpack_for_android_delegates(caplog):
    with caplog.at_level(logging.WARNING, logger="momentsense.sdk.models.interpreter"):
        m = load_model(INT8, backend="ai_edge_litert", delegate="gpu")
    assert m.delegate == "xnnpack" and any("Android only" in r.message for r in caplog.records)
    assert load_model(INT8, backend="ai_edge_litert", delegate="cpu").delegate == "cpu"


def test_model_options_carry_the_delegate_to_the_detector():
    from momentsense.sdk.errors import InputError
    from momentsense.sdk.transport.detector import ModelOptions, TransportDetector, TransportDetectorOptions

    det = TransportDetector.create_from_options(TransportDetectorOptions(model=ModelOptions(delegate="cpu")))
    assert det.delegate == "cpu" and det.backend == "ai_edge_litert"
    assert ModelOptions().delegate == "auto"
    with pytest.raises(InputError, match="delegate"):
        ModelOptions(delegate="npu")
