"""MomentSDK: start/stop, callbacks on their own thread, context, timeline, sources, bad input."""

import datetime
import threading

import pytest

from sdk.errors import InputError
from sdk.runtime import MomentSDK, SDKConfig
from sdk.sources import SensorUnavailableError, plyer_source

LEGS = [("still", 120), ("walk", 240), ("still", 120)]


def test_simulated_session_emits_events_through_callbacks():
    """Events reach the callback on the dispatcher thread, not the pipeline thread; context reflects them."""
    seen, threads = [], set()

    def cb(e):
        seen.append(e)
        threads.add(threading.current_thread().name)

    with MomentSDK(SDKConfig(simulate_legs=LEGS, seed=3)) as sdk:
        sdk.on_event(cb)
        sdk.start()
        assert sdk.wait(60)
    assert seen and seen == sdk.events()
    assert threads == {"momentsense-dispatch"}
    assert "walk" in [e.mode for e in seen]
    ctx = sdk.current_context()
    assert ctx.events == len(seen) and not ctx.running and ctx.last_fix is not None
    day = datetime.datetime.fromtimestamp(seen[0].start, datetime.timezone.utc).date()
    assert sdk.timeline(day) == [e for e in seen if e.start >= seen[0].start]


def test_a_failing_callback_does_not_stop_sensing():
    """An exception in app code is counted and logged; the other callbacks still run."""
    ok = []

    def bad(e):
        raise RuntimeError("app bug")

    sdk = MomentSDK(SDKConfig(simulate_legs=LEGS, seed=3))
    sdk.on_event(bad)
    sdk.on_event(ok.append)
    sdk.start()
    sdk.wait(60)
    sdk.stop()
    assert ok and sdk.callback_errors == len(ok) and sdk.error is None


def test_stop_is_prompt_and_idempotent():
    """Stopping a real-time session returns within a second and can be called twice."""
    import time

    sdk = MomentSDK(SDKConfig(simulate_legs=[("walk", 3600)], speed=1.0))
    sdk.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    sdk.stop()
    sdk.stop()
    assert time.monotonic() - t0 < 1.5 and not sdk.current_context().running


def test_phone_source_on_a_desktop_says_what_to_use():
    with pytest.raises(SensorUnavailableError, match="simulate"):
        plyer_source()


@pytest.mark.parametrize("kwargs,msg", [({"source": "camera"}, "source must be"), ({"source": "replay"}, "replay_path"), ({"speed": -1}, "speed")])
def test_config_fails_with_bad_options(kwargs, msg):
    with pytest.raises(InputError, match=msg):
        SDKConfig(**kwargs)


def test_callback_must_be_callable():
    with pytest.raises(InputError, match="callable"):
        MomentSDK(SDKConfig(simulate_legs=LEGS)).on_event("not a function")


def test_replay_source_runs_a_file(tmp_path):
    from sdk.imu_file import write_imu
    from sdk.sim import simulate_dataset

    path = write_imu(tmp_path / "r.h5", simulate_dataset(1, 6, seed=2))
    sdk = MomentSDK(SDKConfig(source="replay", replay_path=str(path)))
    sdk.start()
    assert sdk.wait(60)
    assert sdk.events() and sdk.error is None
