"""The phone source (sdk.sources.plyer_source / sdk.sources.phone.PhoneSource) against fake plyer and jnius.

The fakes record when each value was read and call the GPS callbacks from another thread, as
Android's main looper would; the tests check the 25 Hz polling on absolute deadlines, the time
stamp of each read, the GPS callback path, the pyjnius listener path, and stopping.
"""

import sys
import threading
import time
import types

import numpy as np
import pytest

from momentsense.sdk.sources import SensorUnavailableError, plyer_source

READ_COST_S = 0.008  # each fake plyer read takes this long: relative sleeping would drift to ~21 Hz


class FakeSensor:
    """plyer's accelerometer/gyroscope facade: ``enable()``, ``disable()``, and a property with the latest value."""

    def __init__(self, first_none=True, fail_enable=None):
        self.first_none, self.fail_enable = first_none, fail_enable
        self.reads: list = []  # monotonic time of each read
        self.enabled = None
        self.lock = threading.Lock()

    def enable(self):
        if self.fail_enable:
            raise self.fail_enable
        self.enabled = True

    def disable(self):
        self.enabled = False

    def read(self):
        with self.lock:
            self.reads.append(time.monotonic())
            k = len(self.reads)
        time.sleep(READ_COST_S)
        if self.first_none and k == 1:
            return (None, None, None)  # plyer before its listener's first event
        return (float(k), 0.0, 9.81)


def sensor_class(prop):
    return type(f"Fake_{prop}", (FakeSensor,), {prop: property(lambda self: self.read())})


class FakeGps:
    def __init__(self, fixes=3):
        self.calls, self.n_fixes, self.threads = [], fixes, []

    def configure(self, on_location, on_status=None):
        self.calls.append(("configure",))
        self.on_location, self.on_status = on_location, on_status

    def start(self, minTime=1000, minDistance=1):
        self.calls.append(("start", minTime, minDistance))

        def looper():  # Android's main thread delivering fixes
            self.on_status("provider-enabled", "gps")
            for i in range(self.n_fixes):
                time.sleep(0.05)
                self.on_location(lat=48.1 + i * 1e-4, lon=11.5, speed=1.5, bearing=90.0, altitude=520.0, accuracy=8.0)
            self.on_location(lat="garbage")  # a malformed callback must not raise into the looper

        th = threading.Thread(target=looper, daemon=True)
        th.start()
        self.threads.append(th)

    def stop(self):
        self.calls.append(("stop",))


@pytest.fixture
def phone(monkeypatch):
    """An 'Android' process with a fake plyer (and no jnius, so the IMU is polled through plyer)."""
    monkeypatch.setenv("ANDROID_ARGUMENT", "/data/data/org.example/files/app")
    plyer = types.ModuleType("plyer")
    plyer.accelerometer = sensor_class("acceleration")()
    plyer.gyroscope = sensor_class("rotation")(first_none=False)
    plyer.gps = FakeGps()
    monkeypatch.setitem(sys.modules, "plyer", plyer)
    monkeypatch.setitem(sys.modules, "jnius", None)
    return plyer


def collect(src, seconds):
    """Iterate the source on a thread for ``seconds``, close it, return (chunks, seconds close took)."""
    chunks = []
    th = threading.Thread(target=lambda: chunks.extend(src.chunks()), daemon=True)
    th.start()
    time.sleep(seconds)
    t0 = time.monotonic()
    src.close()
    th.join(2.0)
    assert not th.is_alive(), "chunks() must end after close()"
    return chunks, time.monotonic() - t0


def test_polls_at_25_hz_on_absolute_deadlines_and_stamps_each_read(phone):
    offset = time.time() - time.monotonic()
    src = plyer_source(imu="plyer", chunk_s=0.25)
    assert src.imu == "plyer" and src.name == "phone"
    chunks, _ = collect(src, 1.6)
    acc_t = np.concatenate([c.acc_t for c in chunks])
    acc = np.concatenate([c.acc for c in chunks])
    reads = np.asarray(phone.accelerometer.reads)
    assert len(chunks) >= 4, "a chunk every chunk_s"
    # 25 Hz although every read costs 8 ms: the poller sleeps to absolute deadlines (relative sleeps → ~21 Hz).
    rate = (len(reads) - 1) / (reads[-1] - reads[0])
    assert 23.0 <= rate <= 26.0, rate  # loose enough for a loaded CI machine, still far from ~21 Hz
    assert abs(np.median(np.diff(acc_t)) - 0.04) < 0.004
    assert np.all(np.diff(acc_t) > 0)
    # The first read had no value yet and is skipped; sample k carries the value of read k+1, stamped at that read.
    assert len(acc) == len(reads) - 1 and np.array_equal(acc[:, 0], np.arange(2, len(reads) + 1))
    lag = acc_t - (reads[1:] + offset)
    # Median, not max: a context switch on a loaded machine can delay one read; a stamp taken after
    # the 8 ms read would shift every sample.
    assert abs(np.median(lag)) < 0.003, "timestamp = time of the read, in unix seconds"
    gyro_t = np.concatenate([c.gyro_t for c in chunks])
    assert len(gyro_t) == len(phone.gyroscope.reads) and np.all(np.diff(gyro_t) > 0)


def test_gps_callbacks_become_fixes(phone):
    t_start = time.time()
    src = plyer_source(imu="plyer", chunk_s=0.2, gps_min_time_ms=2000, gps_min_distance_m=5)
    chunks, _ = collect(src, 0.6)
    assert phone.gps.calls[:2] == [("configure",), ("start", 2000, 5.0)]
    fixes = [f for c in chunks for f in c.gps]
    assert [round(f.lat, 4) for f in fixes] == [48.1, 48.1001, 48.1002], "the malformed callback is dropped"
    assert all(f.lon == 11.5 and f.accuracy_m == 8.0 and f.speed_mps == 1.5 for f in fixes)
    assert all(t_start <= f.t <= time.time() for f in fixes) and np.all(np.diff([f.t for f in fixes]) > 0)
    assert ("provider-enabled", "gps") in src.gps_status
    assert src.gps_on and all(c.gps_on for c in chunks), "chunks say the receiver listened"
    src._on_status("provider-disabled", "network")
    assert src.gps_on, "the network provider alone does not matter"
    src._on_status("provider-disabled", "gps")
    assert not src.gps_on
    src._on_status("provider-enabled", "gps")
    assert src.gps_on


def test_close_stops_everything_quickly(phone):
    src = plyer_source(imu="plyer", chunk_s=10.0)
    chunks, took = collect(src, 0.5)
    assert took < 1.0
    assert len(chunks) == 1 and len(chunks[0].acc_t) >= 8, "the partial chunk is handed out at close"
    assert phone.accelerometer.enabled is False and phone.gyroscope.enabled is False
    assert ("stop",) in phone.gps.calls
    n = len(phone.accelerometer.reads)
    time.sleep(0.15)
    assert len(phone.accelerometer.reads) == n, "no polling after close()"
    src.close()  # idempotent


def test_off_android_the_error_names_the_replacement(monkeypatch):
    for var in ("ANDROID_ARGUMENT", "ANDROID_PRIVATE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SensorUnavailableError, match="source='simulate'.*source='replay'"):
        plyer_source()


def test_a_sensor_that_cannot_start_is_a_clear_error(phone):
    phone.accelerometer.fail_enable = Exception("Could not enable accelerometer!")
    with pytest.raises(SensorUnavailableError, match="Could not enable accelerometer.*simulate"):
        plyer_source(imu="plyer")
    phone.accelerometer.fail_enable = None
    phone.gyroscope.fail_enable = NotImplementedError()
    src = plyer_source(imu="plyer", gps=False)  # no gyroscope: still runs, gyro stays empty
    chunks, _ = collect(src, 0.3)
    assert len(chunks[0].acc_t) > 0 and len(chunks[0].gyro_t) == 0 and phone.gps.calls == []


def test_bad_options():
    from momentsense.sdk.errors import InputError
    from momentsense.sdk.sources.phone import PhoneSource

    with pytest.raises(InputError, match="imu"):
        PhoneSource(imu="camera")
    with pytest.raises(InputError, match="rate_hz"):
        PhoneSource(imu="plyer", rate_hz=0)


# -- the pyjnius SensorEventListener --------------------------------------------------------------


def make_jnius(boot_ns):
    calls = []

    class PythonJavaClass:
        pass

    def java_method(signature):
        def deco(f):
            f.__javasignature__ = signature
            return f

        return deco

    class Sensor:
        TYPE_ACCELEROMETER, TYPE_GYROSCOPE = 1, 4

        def __init__(self, kind):
            self.kind = kind

        def getType(self):
            return self.kind

    class SensorManager:
        def getDefaultSensor(self, kind):
            return Sensor(kind)

        def registerListener(self, listener, sensor, period_us):
            calls.append(("registerListener", sensor.kind, period_us, listener))
            return True

        def unregisterListener(self, listener, sensor):
            calls.append(("unregisterListener", sensor.kind, listener))

    class Activity:
        def getSystemService(self, name):
            calls.append(("getSystemService", name))
            return SensorManager()

    classes = {
        "android.os.SystemClock": type("SystemClock", (), {"elapsedRealtimeNanos": staticmethod(lambda: boot_ns)}),
        "android.content.Context": type("Context", (), {"SENSOR_SERVICE": "sensor"}),
        "android.hardware.Sensor": Sensor,
        "org.kivy.android.PythonActivity": type("PythonActivity", (), {"mActivity": Activity()}),
    }
    module = types.ModuleType("jnius")
    module.PythonJavaClass, module.java_method, module.calls, module.Sensor = PythonJavaClass, java_method, calls, Sensor

    def autoclass(name):
        if name not in classes:
            raise Exception(f"Class not found {name}")
        return classes[name]

    module.autoclass = autoclass
    return module


@pytest.mark.parametrize("event_clock_lag_s", [0, 120], ids=["boottime", "monotonic"])
def test_listener_keeps_each_event_timestamp(monkeypatch, event_clock_lag_s):
    """On Android the IMU comes from the SDK's own listener at a 40 ms period, stamped with event.timestamp."""
    monkeypatch.setenv("ANDROID_ARGUMENT", "/app")
    boot_ns = 3_600 * 10**9  # the phone booted an hour ago
    fake = make_jnius(boot_ns)
    monkeypatch.setitem(sys.modules, "jnius", fake)
    gps_module = types.ModuleType("plyer")
    gps_module.gps = FakeGps(fixes=0)
    monkeypatch.setitem(sys.modules, "plyer", gps_module)
    wall = time.time()
    src = plyer_source(chunk_s=0.1)
    assert src.imu == "listener"
    regs = [c for c in fake.calls if c[0] == "registerListener"]
    assert [(c[1], c[2]) for c in regs] == [(1, 40000), (4, 40000)]
    listener = regs[0][3]
    assert listener.__javainterfaces__ == ["android/hardware/SensorEventListener"]
    assert listener.onSensorChanged.__javasignature__ == "(Landroid/hardware/SensorEvent;)V"

    def event(kind, ts_ns, values):  # a phone whose sensor clock lags the boot clock (deep sleep not counted)
        return types.SimpleNamespace(sensor=fake.Sensor(kind), timestamp=ts_ns - event_clock_lag_s * 10**9, values=values)

    def deliver():  # the sensor thread: events 20 ms apart (the OS may deliver faster than asked)
        for i in range(10):
            listener.onSensorChanged(event(1, boot_ns + i * 20_000_000, [0.1 * i, 0.0, 9.81]))
            listener.onSensorChanged(event(4, boot_ns + i * 20_000_000 + 1_000_000, [0.0, 0.0, 0.01 * i]))
        listener.onSensorChanged(event(1, boot_ns + 10**9, [None, 0.0, 0.0]))  # ignored
        listener.onAccuracyChanged(fake.Sensor(1), 3)

    th = threading.Thread(target=deliver)
    th.start()
    th.join()
    chunks, _ = collect(src, 0.25)
    acc_t = np.concatenate([c.acc_t for c in chunks])
    gyro_t = np.concatenate([c.gyro_t for c in chunks])
    assert len(acc_t) == 10 and len(gyro_t) == 10
    np.testing.assert_allclose(np.diff(acc_t), 0.02, atol=1e-6)
    assert abs(acc_t[0] - wall) < 0.5, "event.timestamp (boot clock) mapped to unix seconds"
    np.testing.assert_allclose(gyro_t - acc_t, 0.001, atol=1e-6)
    np.testing.assert_allclose(np.concatenate([c.acc for c in chunks])[:, 0], 0.1 * np.arange(10))
    assert ("unregisterListener", 1, listener) in fake.calls and ("unregisterListener", 4, listener) in fake.calls


def test_phone_chunks_feed_the_detector(phone):
    """Chunks from the phone source have the shapes and units the transport detector takes."""
    from momentsense.sdk.transport.detector import TransportDetector

    src = plyer_source(imu="plyer", chunk_s=0.2)
    chunks, _ = collect(src, 0.5)
    det = TransportDetector.create()
    for c in chunks:
        det.process(c.acc_t, c.acc, gyro_t=c.gyro_t, gyro=c.gyro)
    assert det.stats.windows == 0  # half a second is less than one window, but was accepted
