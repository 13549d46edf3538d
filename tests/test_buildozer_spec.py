"""examples/app/buildozer.spec: the Android build of the Journeys app (an APK cannot be built here).

Checks the keys a build needs, that the requirements cover every third-party package the SDK and the
app import at runtime (measured in a fresh interpreter running a short SDK session), that no TensorFlow
goes to the phone, the permissions, the foreground service and the Java TFLite Gradle dependency.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
SPEC = APP / "buildozer.spec"

#: Third-party distributions the desktop needs but the phone does not: TFLite runs in the Java library
#: there (sdk/models/android.py), replay from HDF5 is desktop-only.
DESKTOP_ONLY = {"ai-edge-litert", "tflite-runtime", "tensorflow", "h5py"}
#: Imported only opportunistically when installed (scipy loads Cython's pure-Python shadow module if
#: present, measured with Cython 0.29 in the venv); the phone works without it.
OPTIONAL = {"cython"}
#: Import name → python-for-android requirement where they differ.
P4A_NAMES = {"jnius": "pyjnius", "pyjnius": "pyjnius"}
#: What the phone needs in any case (issue 9).
REQUIRED = {"python3", "kivy", "plyer", "numpy", "pyjnius", "requests"}
PERMISSIONS = {"ACCESS_FINE_LOCATION", "ACCESS_BACKGROUND_LOCATION", "ACTIVITY_RECOGNITION", "HIGH_SAMPLING_RATE_SENSORS",
               "FOREGROUND_SERVICE", "FOREGROUND_SERVICE_LOCATION", "POST_NOTIFICATIONS", "INTERNET", "WAKE_LOCK"}  # fmt: skip


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def app() -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # keys are case-sensitive in buildozer
    assert cp.read(SPEC), f"{SPEC} missing"
    return cp["app"]


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _requirements(app) -> set:
    return {_norm(re.split(r"[=<>!~]", r)[0]) for r in _list(app["requirements"])}


def test_required_keys(app):
    """Everything buildozer and the app need is set, and the API level allows typed foreground services."""
    for key in ("title", "package.name", "package.domain", "source.dir", "source.include_exts", "version", "requirements",
                "android.permissions", "services", "android.gradle_dependencies", "android.api", "android.minapi", "android.archs"):  # fmt: skip
        assert app.get(key, "").strip(), f"buildozer.spec [app] lacks {key}"
    assert int(app["android.api"]) >= 34 and int(app["android.minapi"]) >= 26
    assert {"py", "kv", "tflite", "json"} <= set(_list(app["source.include_exts"]))
    assert (APP / app["source.dir"] / "main.py").exists()


def test_requirements_are_what_the_phone_needs_and_no_tensorflow(app):
    reqs = _requirements(app)
    assert REQUIRED <= reqs, f"missing: {REQUIRED - reqs}"
    assert not reqs & {"tensorflow", "tensorflow-cpu", "tf-keras", "h5py"}


def test_requirements_cover_the_runtime_imports(app):
    """Import the app and run a short SDK session in a fresh interpreter; every third-party package it
    loads (except desktop-only ones) must be in the requirements."""
    code = r"""
import json, sys, importlib.metadata as md
at_start = set(sys.modules)  # the interpreter's own (site hooks such as setuptools' _distutils_hack)
sys.path.insert(0, sys.argv[1])
import main, service, journeys.bridge, journeys.viewmodel, journeys.stores, journeys.android
import sdk, sdk.runtime, sdk.sources, edge_models
for name in ("momentsense.sdk.consent", "momentsense.sdk.timeline.store", "momentsense.sdk.sync", "momentsense.sdk.models.android", "momentsense.sdk.android"):
    try:
        __import__(name)
    except ImportError:
        pass
from momentsense.sdk.runtime import MomentSDK, SDKConfig
s = MomentSDK(SDKConfig(simulate_legs=[("still", 60), ("walk", 120)], seed=1))
s.start(); s.wait(60); getattr(s, "close", s.stop)()
dists = md.packages_distributions()
found = {}
for name, mod in list(sys.modules.items()):
    top = name.split(".")[0]
    if name in at_start or top in sys.stdlib_module_names or top in ("sdk", "edge_models", "journeys", "main", "service", "__main__"):
        continue
    f = getattr(mod, "__file__", None) or ""
    if "site-packages" in f:  # extension modules registered under a bare name: use their folder
        top = f.split("site-packages")[1].strip("/").split("/")[0].split(".")[0]
    for d in dists.get(top, []):
        found[d] = top
print(json.dumps(found))
"""
    proc = subprocess.run([sys.executable, "-c", code, str(APP)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    needed = {_norm(P4A_NAMES.get(d, d)) for d in found} - DESKTOP_ONLY - OPTIONAL - {"momentsense"}
    assert "numpy" in needed  # the measurement works
    missing = needed - _requirements(app)
    assert not missing, f"the SDK/app import {sorted(missing)} at runtime, but buildozer.spec requirements lack them"


def test_permissions(app):
    perms = {p.split(".")[-1] for p in _list(app["android.permissions"])}
    assert PERMISSIONS <= perms, f"missing permissions: {PERMISSIONS - perms}"


def test_foreground_service_matches_the_app(app):
    """The service entry names service.py as a typed location foreground service, and the class the app
    starts is the one python-for-android generates from package.domain, package.name and the name."""
    sys.path.insert(0, str(APP))
    from journeys import android

    (entry,) = _list(app["services"])
    name, path, *opts = entry.split(":")
    assert (APP / path).is_file() and "foreground" in opts and "foregroundServiceType=location" in opts
    assert name == android.SERVICE_NAME
    assert f"{app['package.domain']}.{app['package.name']}" == android.PACKAGE


def test_tflite_java_library_is_a_gradle_dependency(app):
    deps = _list(app["android.gradle_dependencies"])
    assert any(re.fullmatch(r"org\.tensorflow:tensorflow-lite:\d+\.\d+\.\d+", d) for d in deps), deps
    assert len({d.rsplit(":", 1)[1] for d in deps if d.startswith("org.tensorflow:")}) == 1, "TFLite artifacts of one version"


def test_buildozer_accepts_the_spec(tmp_path):
    """buildozer's own token check (when buildozer is installed; it needs no Android SDK for this)."""
    pytest.importorskip("buildozer", reason="buildozer not installed (pip install buildozer)")
    shutil.copy(SPEC, tmp_path / "buildozer.spec")
    (tmp_path / "main.py").write_text("")
    code = "from buildozer import Buildozer; b = Buildozer('buildozer.spec', 'android'); print(b.config.getlist('app', 'requirements'))"
    env = dict(os.environ, HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "pyjnius" in proc.stdout


def test_stage_sdk_copies_the_sdk_and_the_shipped_models(tmp_path):
    sys.path.insert(0, str(APP))
    import stage_sdk

    models = stage_sdk.stage(tmp_path, ROOT)
    assert (tmp_path / "sdk" / "runtime.py").exists() and (tmp_path / "edge_models" / "__init__.py").exists()
    assert "transport_cnn.tflite" in {m.name for m in models}
    assert all(m.with_suffix(".json").exists() for m in models)
    assert (tmp_path / "edge_models" / "artifacts" / "transport_cnn.context.json").exists()
    assert (tmp_path / "edge_models" / "artifacts" / "transport_cnn.context_lagged.json").exists()
    assert not list(tmp_path.rglob("*.keras")) and not list(tmp_path.rglob("__pycache__"))
