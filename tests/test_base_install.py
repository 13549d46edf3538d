"""The phone's base install runs the whole runtime without TensorFlow (or h5py).

A fresh virtual environment (no ``--system-site-packages``) gets ``pip install -e <repo>``, i.e. the
package and exactly its ``install_requires`` (numpy, scipy, plyer, requests, ai-edge-litert). A
recorded sensor stream (simulated here, saved as ``.npz``: numpy is all the replay needs) is replayed
through ``MomentSDK`` there and in the development environment; the events must be identical, and
neither TensorFlow, Keras nor h5py may be importable or imported in the fresh one.

Needs a reachable package index (the wheels are cached by pip after the first run). When pip cannot
reach any index the test is skipped, saying so; any other install failure fails it.
"""

import json
import os
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]

# Runs in both environments; prints JSON. ArraySource replays the .npz chunk by chunk.
SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import numpy as np
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.sdk.sources import SensorChunk, SensorSource
    from momentsense.sdk.timeline.records import GpsFix

    class ArraySource(SensorSource):
        name = "replay-npz"

        def __init__(self, path, chunk_s=10.0):
            self.d, self.chunk_s = dict(np.load(path)), chunk_s

        def chunks(self):
            d = self.d
            t = d["acc_t"]
            for a in np.arange(t[0], t[-1], self.chunk_s):
                b = a + self.chunk_s
                s, g, f = (t >= a) & (t < b), (d["gyro_t"] >= a) & (d["gyro_t"] < b), (d["gps"][:, 0] >= a) & (d["gps"][:, 0] < b)
                fixes = [GpsFix(*map(float, row)) for row in d["gps"][f]]
                yield SensorChunk(t[s], d["acc"][s], d["gyro_t"][g], d["gyro"][g], fixes)

    sdk = MomentSDK(SDKConfig(source=ArraySource(sys.argv[1])))
    sdk.start()
    finished = sdk.wait(120)
    sdk.stop()
    try:
        from momentsense.sdk.sources import ReplaySource
        ReplaySource(sys.argv[1] + ".h5")
        replay_error = None
    except Exception as exc:
        replay_error = f"{type(exc).__name__}: {exc}"
    print(json.dumps({
        "finished": finished,
        "error": repr(sdk.error) if getattr(sdk, "error", None) else None,
        "events": [e.to_dict() for e in sdk.events()],
        "backend": sdk.detector.backend,
        "imported": sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "h5py")),
        "installed": sorted(m for m in ("tensorflow", "keras", "tf_keras", "h5py") if importlib.util.find_spec(m)),
        "replay_h5_error": replay_error,
    }))
    """
)


def _pip_reachable(python: str, tmp: Path) -> bool:
    """Can pip fetch a tiny wheel from any configured index (cache bypassed)?"""
    proc = subprocess.run([python, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "-q", "-d", str(tmp / "probe"), "plyer"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    return proc.returncode == 0


@pytest.fixture(scope="module")
def base_env(tmp_path_factory):
    """A fresh venv with ``pip install -e <repo>``: the package and only its base dependencies."""
    tmp = tmp_path_factory.mktemp("base_install")
    env_dir = tmp / "venv"
    # No pip inside (ensurepip costs ~10 s); this interpreter's pip installs into it with --python.
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(env_dir)
    python = str(env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    cmd = [sys.executable, "-m", "pip", "--python", python, "install", "-q", "-e", str(REPO)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        if not _pip_reachable(sys.executable, tmp):
            pytest.skip(f"no package index reachable, cannot build the base environment: {proc.stderr[-400:]}")
        pytest.fail(f"pip install -e . failed in a fresh venv:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return python


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """12 simulated minutes (still, walk, car) as arrays: what a replay file holds."""
    from momentsense.sdk.sources import SimulatorSource

    chunks = list(SimulatorSource([("still", 120), ("walk", 300), ("car", 300)], seed=5, chunk_s=30.0).chunks())
    acc_t = np.concatenate([c.acc_t for c in chunks])
    gyro_t = np.concatenate([c.acc_t if c.gyro_t is None else c.gyro_t for c in chunks])
    gps = np.array([[f.t, f.lat, f.lon, f.accuracy_m, f.speed_mps] for c in chunks for f in c.gps]).reshape(-1, 5)
    path = tmp_path_factory.mktemp("recording") / "day.npz"
    np.savez(path, acc_t=acc_t, acc=np.concatenate([c.acc for c in chunks]), gyro_t=gyro_t,
             gyro=np.concatenate([c.gyro for c in chunks]), gps=gps)  # fmt: skip
    Path(str(path) + ".h5").write_bytes(b"\x89HDF\r\n\x1a\n")  # an HDF5 file the base install cannot open
    return path


def _run(python: str, npz: Path, cwd: Path) -> dict:
    script = cwd / "replay.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run([python, str(script), str(npz)], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_base_install_has_no_tensorflow(base_env):
    out = subprocess.run([base_env, "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    if out.returncode != 0:  # no pip inside the venv (by design): ask importlib instead
        out = subprocess.run([base_env, "-c", "import importlib.metadata as m, json; print(json.dumps([{'name': d.metadata['Name']} for d in m.distributions()]))"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    names = {d["name"].lower().replace("_", "-") for d in json.loads(out.stdout)}
    assert {"numpy", "scipy", "plyer", "requests", "ai-edge-litert", "momentsense"} <= names
    assert not names & {"tensorflow", "tensorflow-cpu", "tf-keras", "keras", "h5py", "tflite-runtime"}, names


def test_replay_pipeline_runs_in_the_base_install(base_env, recording, tmp_path):
    """Same events from the base install as from the development environment; nothing heavy imported."""
    base = _run(base_env, recording, tmp_path)
    full = _run(sys.executable, recording, tmp_path)
    assert base["finished"] and base["error"] is None, base
    assert base["backend"] == "ai_edge_litert"
    assert base["installed"] == [] and base["imported"] == []
    assert "h5py" in (base["replay_h5_error"] or ""), "replaying an HDF5 file says h5py is needed"
    assert len(base["events"]) >= 2, "a still/walk/car day gives several transport events"
    assert base["events"] == full["events"]
