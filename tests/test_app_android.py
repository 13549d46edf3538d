"""Journeys' Android path on a desktop: the staged APK tree starts the SDK without the repository,
revoking consent erases every store of the app and the service, and a correction travels from the
app to the server's training export.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app"
if str(APP) not in sys.path:
    sys.path.insert(0, str(APP))

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
import sdk, edge_models
out["sdk"] = sdk.__file__
out["models"] = edge_models.__file__
repo = sys.argv[3]
out["from_repo"] = sorted({m.__name__ for m in list(sys.modules.values()) if (getattr(m, "__file__", None) or "").startswith(repo)})
print(json.dumps(out))
"""


def test_staged_tree_runs_the_service_and_the_app_backend_without_the_repository(tmp_path):
    """The release blocker: stage into a fresh folder, then run service.py and the app's backend from it
    in a clean interpreter (-I: no PYTHONPATH), and check no module came from the repository."""
    import shutil

    import stage_sdk

    staged = tmp_path / "apk"
    shutil.copytree(APP, staged, ignore=shutil.ignore_patterns("__pycache__", "sdk", "edge_models", "bin", ".buildozer"))
    models = stage_sdk.stage(staged, ROOT)
    manifest = json.loads((ROOT / "edge_models" / "artifacts" / "transport_cnn.json").read_text())
    for head in manifest["extra"].values():  # every head the detector may load, GPS heads included
        if isinstance(head, dict) and "file" in head:
            assert (staged / "edge_models" / "artifacts" / head["file"]).exists(), head["file"]
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
    from sdk.sync.payload import build_day_payload, sync_day_from_store
    from trainer.server.app import ServerSettings, create_app
    from trainer.server.db import add_app
    from trainer.server.export import export_training

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
    payloads = [build_day_payload(sync_day_from_store(sdk.store.timeline(d, 0.0), sdk.places()), salt, revision=1) for d in backend.days()]
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
