"""Journeys' Android path on a desktop: the staged APK tree starts the SDK without the repository,
revoking consent erases every store of the app and the service, a correction travels from the app
to the server's training export, the service's loop and status, and the permission flow (fake
``jnius``/``android`` modules).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

from journeys import bridge, viewmodel  # noqa: E402
from journeys.stores import EventStore  # noqa: E402

LEGS = [("still", 400), ("walk", 240), ("car", 900), ("walk", 200), ("still", 600)]

STAGED_RUN = r"""
import json, sys
staged, data = sys.argv[1], sys.argv[2]
sys.path.insert(0, staged)
import service
from journeys.bridge import Consent
Consent(data).grant()
n = service.run("simulate", data, seconds=120, speed=0, period_s=0.05, legs=[("still", 400), ("walk", 240), ("car", 900), ("still", 400)])
import main
from journeys.service_backend import ServiceBackend
from journeys.stores import EventStore
from journeys.viewmodel import AppModel
from pathlib import Path
store = EventStore(Path(data) / "journeys-events.sqlite")
model = AppModel(lambda: ServiceBackend(store, 0.0, Path(data) / "timeline.db", starter=lambda: None, stopper=lambda: None), Path(data))
model.start()
tl = model.timeline
tl.swipe(-1) if not tl.refresh() else None
out = {"events": n, "cards": [c.title for c in tl.cards], "places": model.places().rows,
       "insights": {k: model.feature(k).rows for k in ("moments", "segments", "driving")},
       "now": model.now().mode_text, "problem": None if model.problem() is None else model.problem().text}
import momentsense.sdk, momentsense.edge_models
out["sdk"] = momentsense.sdk.__file__
out["models"] = momentsense.edge_models.__file__
repo = sys.argv[3]
# Installed packages may live inside the repository (CI's .venv): only the repository's own code counts.
out["from_repo"] = sorted({m.__name__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(repo)
                           and "site-packages" not in (m.__file__ or "")})
print(json.dumps(out))
"""


def test_staged_tree_runs_the_service_and_the_app_backend_without_the_repository(tmp_path):
    """The release blocker: stage into a fresh folder, then run service.py and the app's backend from it
    in a clean interpreter (-I: no PYTHONPATH), and check no module came from the repository."""
    import shutil

    import stage_sdk

    staged = tmp_path / "apk"
    shutil.copytree(APP, staged, ignore=shutil.ignore_patterns("__pycache__", "momentsense", "bin", ".buildozer"))
    models = stage_sdk.stage(staged, ROOT)
    manifest = json.loads((ROOT / "edge_models" / "artifacts" / "transport_cnn.json").read_text())
    for head in manifest["extra"].values():  # every head the detector may load, GPS heads included
        if isinstance(head, dict) and "file" in head:
            assert (staged / "momentsense" / "edge_models" / "artifacts" / head["file"]).exists(), head["file"]
    assert "segment_classifiers.json" in {m.name for m in models}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run([sys.executable, "-I", "-c", STAGED_RUN, str(staged), str(tmp_path / "data"), str(ROOT)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["sdk"].startswith(str(staged)) and out["models"].startswith(str(staged))
    assert out["from_repo"] == [], f"imported from the repository: {out['from_repo']}"
    assert out["events"] > 0 and out["cards"] and out["places"] and out["problem"] is None
    assert all(out["insights"][k] for k in ("moments", "segments", "driving")), out["insights"]


def test_stage_refuses_a_manifest_naming_a_missing_file(tmp_path):
    import stage_sdk

    art = tmp_path / "edge_models" / "artifacts"
    art.mkdir(parents=True)
    (art / "m.tflite").write_bytes(b"x")
    (art / "m.json").write_text(json.dumps({"extra": {"head": {"file": "m.head_gps.json"}}}))
    with pytest.raises(stage_sdk.StagingError, match="m.head_gps.json"):
        stage_sdk.closure(art, [art / "m.tflite"])
    (art / "m.head_gps.json").write_text(json.dumps({"heads": "m.heads.json"}))
    (art / "m.heads.json").write_text("{}")
    assert [p.name for p in stage_sdk.closure(art, [art / "m.tflite"])] == ["m.head_gps.json", "m.heads.json", "m.json", "m.tflite"]


def test_revoke_erases_every_store_of_the_app_and_the_service(tmp_path):
    """Service running (in a thread, as on the phone in its own process), app reading, a correction,
    the sync salt: list every file's rows and coordinates before and after revoking."""
    import service
    from journeys.datafiles import inventory, total_rows
    from journeys.service_backend import ServiceBackend
    from journeys.stores import EventStore
    from journeys.sync import load_salt
    from journeys.viewmodel import AppModel

    data = tmp_path / "data"
    threads = []

    def starter():
        t = threading.Thread(target=service.run, args=("simulate", data, 120, 0, 0.05, LEGS + [("still", 3600 * 4)]))
        t.start()
        threads.append(t)

    store = EventStore(data / "journeys-events.sqlite")
    model = AppModel(lambda: ServiceBackend(store, 0.0, data / "timeline.db", starter=starter, stopper=lambda: None), data)
    model.accept()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (store.fixes() and store.events() and (data / "timeline.db").exists()):
        time.sleep(0.1)
    time.sleep(0.5)
    cards = model.timeline.refresh() or (model.timeline.swipe(-1) and model.timeline.cards)
    assert cards, "no stays or trips while the service runs"
    model.timeline.change_label(cards[0], cards[0].label)  # a correction in the app's store
    load_salt(data)
    before = inventory(data)
    assert total_rows(before) > 0 and sum(f["coordinates"] for f in before.values()) > 0
    assert {"timeline.db", "journeys-events.sqlite", "corrections.sqlite"} <= set(before)
    erased = model.revoke()
    for t in threads:
        t.join(30)
    after = inventory(data)
    assert set(after) >= {"timeline.db", "journeys-events.sqlite", "corrections.sqlite"}
    assert total_rows(after) == 0, after
    assert all(f["coordinates"] == 0 for f in after.values()), after
    assert not (data / "sync" / "salt.bin").exists() and "sync/salt.bin" in erased
    for p in data.rglob("*"):
        if p.is_file() and not p.name.startswith("consent"):
            assert b"48.8" not in p.read_bytes(), f"{p.name} still holds a latitude"  # the simulator's Paris
    assert model.needs_consent and model.stored() == {"rows": 0, "coordinates": 0}


class _Session:
    """FastAPI's TestClient behind the requests-style calls SyncClient makes (raw bodies as ``content``)."""

    def __init__(self, client):
        self.client = client

    def request(self, method, url, timeout=None, data=None, **kw):
        if data is not None:
            kw["content"] = data
        return self.client.request(method, url, **kw)

    def close(self):
        pass


def test_a_correction_reaches_the_training_export(tmp_path):
    """Sense a day, upload it as the SDK's day payload, correct a trip's mode in the app, sync with
    sharing on: the server's export has the corrected training row, and nothing waits any more."""
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from momentsense.sdk.sync.payload import build_day_payload, sync_day_from_store
    from momentsense.trainer.server.app import ServerSettings, create_app
    from momentsense.trainer.server.db import add_app
    from momentsense.trainer.server.export import export_training

    from journeys.bridge import LiveBackend, SourceChoice
    from journeys.sync import load_salt, make_client
    from journeys.viewmodel import AppModel

    data = tmp_path / "data"
    backend = LiveBackend(SourceChoice("simulate", speed=0.0, legs=LEGS, seed=2, start_today=False), 0.0, data)
    backend.start()
    assert backend.sdk.wait(90)
    db_url = f"sqlite:///{tmp_path}/server.db"
    server = create_app(ServerSettings(db_url=db_url, rate_per_s=0))
    key = add_app(server.state.engine, "journeys")
    client = make_client(data, "http://testserver", key, session=_Session(TestClient(server)))
    model = AppModel(lambda: backend, data, 0.0, client)
    model.accept()
    model.consent.set_sync(True)
    salt = load_salt(data)
    sdk = backend.sdk
    payloads = [build_day_payload(sync_day_from_store(sdk.reader().timeline(d, 0.0), sdk.places()), salt, revision=1) for d in backend.days()]
    client.enqueue_days(payloads)
    assert client.flush().remaining == 0
    tl = model.timeline
    trips = []
    for i in range(len(backend.days())):
        tl.index = i
        tl.refresh()
        trips += [c for c in tl.cards if c.kind == "trip" and not c.ongoing]
    assert trips, "the simulated day has no trip"
    trip = trips[0]
    new_mode = "train" if trip.label != "train" else "bus"
    tl.change_label(trip, new_mode)
    assert len(model.corrections.pending()) == 1
    res = model.sync()
    assert res.sent == 1 and len(model.corrections.pending()) == 0
    out = export_training(db_url, tmp_path / "export" / "timeline.json")
    rows = [json.loads(line) for line in out.feedback_path.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["field"] == "mode" and rows[0]["corrected"] == new_mode and rows[0]["kind"] == "trip"
    model.close()


# -- the service loop and the Android glue (fake jnius/android modules) -------------------------------


def test_service_senses_only_with_consent_and_writes_the_store(tmp_path):
    """The foreground service's loop on a desktop: no consent → nothing; paused → nothing; consent →
    events, context, the track and its status stored, and the app's backend reads every screen from them."""
    import service
    from journeys.datafiles import write_state
    from journeys.service_backend import ServiceBackend

    legs = [("still", 400), ("walk", 240), ("car", 900), ("still", 400)]
    assert service.run("simulate", tmp_path, seconds=5, speed=0, period_s=0.05, legs=legs) == 0
    bridge.Consent(tmp_path).grant()
    write_state(tmp_path, paused=True)
    assert service.run("simulate", tmp_path, seconds=5, speed=0, period_s=0.05, legs=legs) == 0
    write_state(tmp_path, paused=False)
    n = service.run("simulate", tmp_path, seconds=60, speed=0, period_s=0.05, legs=legs)
    store = EventStore(tmp_path / "journeys-events.sqlite")
    assert n > 0 and len(store.events()) == n and "walk" in [e["mode"] for e in store.events()]
    assert store.get("context")["running"] is False and len(store.get("samples")["acc_t"]) > 0
    assert store.get("status")["state"] == "stopped" and len(store.fixes()) > 10
    be = ServiceBackend(store, 0.0, tmp_path / "timeline.db", starter=lambda: None)
    d = bridge.local_day(store.events()[0]["start"], 0.0)
    assert len(be.day(d).events) == n and be.context().events == n and be.error is None
    for name in ("moments", "segments", "driving"):
        rows = viewmodel.feature_state(name, be.feature(name)).rows
        assert rows and all(isinstance(r, str) and "{" not in r and "=" not in r for r in rows), (name, rows)
    assert be.feature("places")
    be.close()


def test_service_backend_reports_failures_and_silence(tmp_path):
    """A failed service and a service that stopped answering are errors the app shows (not "waiting")."""
    from journeys.service_backend import ServiceBackend

    now = [1000.0]
    store = EventStore(tmp_path / "e.sqlite")
    be = ServiceBackend(store, 0.0, None, starter=lambda: None, clock=lambda: now[0])
    be.start()
    assert be.error is None
    now[0] += ServiceBackend.STALE_S + 1
    assert be.error == "the sensing service is not responding" and be.error_kind == "crash"
    store.put("status", {"state": "failed", "error": "location permission not granted", "kind": "permission", "t": now[0]})
    assert be.error == "location permission not granted" and be.error_kind == "permission"


def test_service_failure_is_written_for_the_app(tmp_path, monkeypatch):
    import service

    bridge.Consent(tmp_path).grant()

    def boom(*a, **k):
        raise PermissionError("ACCESS_FINE_LOCATION denied")

    monkeypatch.setattr(bridge, "LiveBackend", boom)
    assert service.run("simulate", tmp_path, seconds=1, speed=0) == 0
    st = EventStore(tmp_path / "journeys-events.sqlite").get("status")
    assert st["state"] == "failed" and st["kind"] == "permission" and "denied" in st["error"]


def test_android_glue_with_fake_modules(monkeypatch, tmp_path):
    """Permissions are asked after the disclosure and the service starts only from their callback, once
    location is granted; a refusal starts nothing; the boot marker follows the user's choice."""
    from journeys import android

    calls = []

    class Service:
        @staticmethod
        def start(*a):
            calls.append(("start", a))

        @staticmethod
        def stop(*a):
            calls.append(("stop", a))

    activity = object()
    classes = {"org.kivy.android.PythonActivity": types.SimpleNamespace(mActivity=activity), android.SERVICE_CLASS: Service}
    monkeypatch.setitem(sys.modules, "jnius", types.SimpleNamespace(autoclass=classes.__getitem__))
    granted, answer = set(), {"yes": True}

    def ask(ps, cb=None):
        calls.append(("ask", tuple(ps)))
        if answer["yes"]:
            granted.update(ps)
        cb(ps, [answer["yes"]] * len(ps))

    perms = types.SimpleNamespace(check_permission=lambda p: p in granted, request_permissions=ask)
    monkeypatch.setitem(sys.modules, "android", types.SimpleNamespace(permissions=perms))
    monkeypatch.setitem(sys.modules, "android.permissions", perms)
    results = []
    answer["yes"] = False
    android.request_permissions(results.append)
    assert results == [False] and calls == [("ask", android.FOREGROUND_PERMISSIONS)]
    answer["yes"] = True
    android.request_permissions(lambda ok: (results.append(ok), ok and android.start_service()))
    assert results == [False, True] and calls[-1][0] == "start" and calls[-1][1][0] is activity
    assert not any("BACKGROUND" in p or "ACTIVITY_RECOGNITION" in p for p in android.FOREGROUND_PERMISSIONS)
    android.stop_service()
    assert calls[-1] == ("stop", (activity,))
    locks = []

    class Lock:
        def acquire(self):
            locks.append("on")

        def release(self):
            locks.append("off")

    pm = types.SimpleNamespace(newWakeLock=lambda kind, tag: (locks.append((kind, tag)), Lock())[1])
    classes.update({"org.kivy.android.PythonService": types.SimpleNamespace(mService=types.SimpleNamespace(getSystemService=lambda name: pm)),
                    "android.content.Context": types.SimpleNamespace(POWER_SERVICE="power"),
                    "android.os.PowerManager": types.SimpleNamespace(PARTIAL_WAKE_LOCK=1)})  # fmt: skip
    sys.modules["jnius"].cast = lambda cls, obj: obj
    android.acquire_wake_lock().release()
    assert locks == [(1, "journeys:sensing"), "on", "off"]
    android.set_resume_after_boot(True, str(tmp_path))
    assert (tmp_path / android.BOOT_MARKER).exists()
    android.set_resume_after_boot(False, str(tmp_path))
    assert not (tmp_path / android.BOOT_MARKER).exists()


def test_phone_backend_starts_the_service_only_after_the_grant(monkeypatch, tmp_path):
    """main.android_backend: start() asks; the service starts from the callback; a refusal becomes a
    permission problem with the fix-it action."""
    import main as app_main
    from journeys import android

    started, answer, pending = [], {"yes": False}, []
    monkeypatch.setattr(android, "request_permissions", pending.append)  # the dialog is open until cb runs
    monkeypatch.setattr(android, "start_service", lambda: started.append(1))
    be = app_main.android_backend(tmp_path, 0.0)
    be.start()
    be._clock = lambda: time.time() + 600  # the person reads the dialog for ten minutes: not an error
    assert started == [] and be.error is None
    pending.pop()(False)
    assert started == [] and be.error == "location permission not granted" and be.error_kind == "permission"
    be.start()
    pending.pop()(True)
    assert started == [1] and be.error is not None  # started, but no heartbeat for ten minutes
    be._clock = time.time
    assert be.error is None


def test_resume_after_restart_follows_the_user_and_withdrawal(monkeypatch, tmp_path):
    """The boot marker exists only while the user wants it, and withdrawing removes it."""
    from journeys import android
    from journeys.viewmodel import AppModel

    files = tmp_path / "files"
    files.mkdir()
    monkeypatch.setenv("ANDROID_PRIVATE", str(tmp_path))
    real = android.set_resume_after_boot
    monkeypatch.setattr(android, "set_resume_after_boot", lambda on: real(on, str(files)))
    m = AppModel(lambda: None, tmp_path / "journeys")
    m.consent.grant()
    m.resume_after_boot = True
    assert (files / android.BOOT_MARKER).exists() and m.resume_after_boot
    m.revoke()
    assert not (files / android.BOOT_MARKER).exists() and not m.resume_after_boot
