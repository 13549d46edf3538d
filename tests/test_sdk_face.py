"""The SDK's face: ``import sdk`` gives what an app needs, lazily, without TensorFlow or scipy."""

import subprocess
import sys
from pathlib import Path

import pytest

import sdk

REPO = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves():
    """Each name in ``sdk.__all__`` imports (a typo in the export table fails here)."""
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None, name


def test_the_face_has_what_an_app_needs():
    need = {"MomentSDK", "SDKConfig", "ConsentManager", "RunningMode", "SensorChunk", "GpsFix", "DayTimeline",
            "Place", "Trip", "Drive", "Insight", "Insights", "SyncOptions", "SyncResult", "TimelineReader",
            "MomentsenseError", "InputError", "ModelError", "ConsentError", "MODES"}  # fmt: skip
    assert need <= set(sdk.__all__)


def test_an_unknown_name_fails_with_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'detector'"):
        sdk.detector  # noqa: B018


def _heavy_modules_after(code: str) -> list:
    code = f"import sys; {code}; print(sorted(k for k in ('tensorflow', 'scipy', 'keras') if k in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return eval(out.stdout.strip().splitlines()[-1])


def test_importing_every_public_name_loads_no_tensorflow_or_scipy():
    assert _heavy_modules_after("import sdk; [getattr(sdk, n) for n in sdk.__all__]") == []


def test_creating_the_sdk_loads_no_tensorflow():
    assert "tensorflow" not in _heavy_modules_after("from momentsense.sdk import MomentSDK, SDKConfig; MomentSDK(SDKConfig()).close()")


def test_the_runtime_keeps_its_internals_private():
    """No public attribute hands out the store, the detector or the live stages."""
    from momentsense.sdk import MomentSDK, SDKConfig

    with MomentSDK(SDKConfig()) as m:
        public = {n for n in dir(m) if not n.startswith("_")}
        assert not public & {"detector", "store", "live", "live_driving", "segment_job", "segment_job_note"}
        with pytest.raises(AttributeError):
            m.config = SDKConfig()  # read-only
        reader = m.reader()
        assert not hasattr(reader, "write") and not hasattr(reader, "delete_all")


def test_the_top_level_package_is_the_same_face():
    """``import momentsense`` gives the SDK's public names (the same objects), loaded lazily, without TensorFlow."""
    code = ("import sys, json, momentsense\n"
            "before = sorted(m for m in sys.modules if m.startswith('momentsense.sdk.'))\n"
            "from momentsense import MomentSDK, SDKConfig, ConsentManager\n"
            "import momentsense.sdk as s\n"
            "same = all(getattr(momentsense, n) is getattr(s, n) for n in s.__all__)\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'scipy'))\n"
            "print(json.dumps([before, same, heavy, sorted(momentsense.__all__) == sorted(s.__all__)]))")
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    before, same, heavy, all_equal = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == [], f"import momentsense loaded SDK modules eagerly: {before}"
    assert same and all_equal and heavy == []
