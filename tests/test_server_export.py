"""export-training: ingested days + feedback → a timeline for the trainer and corrected labels."""

import gzip
import json
import warnings

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from momentsense.sdk.sync.payload import SyncDay, MomentSpan, build_day_payload
from momentsense.sdk.timeline.records import Place, Trip, Visit
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.cli import main
from momentsense.trainer.server.app import ServerSettings, create_app
from momentsense.trainer.server.db import add_app

T0 = 1699833600.0
TOKS = ["a" * 32 + "." + "1" * 64, "b" * 32 + "." + "2" * 64]


def payload(i, salt):
    t = T0 + i * 86400
    d = SyncDay(
        day=f"2023-11-{13 + i:02d}",
        visits=[Visit(t, t + 7.5 * 3600, "p0", 0, 0), Visit(t + 8 * 3600, t + 17 * 3600, "p1", 0, 0),
                Visit(t + 17.5 * 3600, t + 23 * 3600, "p0", 0, 0)],
        trips=[Trip(t + 7.5 * 3600, t + 8 * 3600, "p0", "p1", ("walk", "bus"), 8000.0),
               Trip(t + 17 * 3600, t + 17.5 * 3600, "p1", "p0", ("car",), 8000.0)],
        places=[Place("p0", 0, 0, 10, 1, 1, "home"), Place("p1", 0, 0, 10, 1, 1, "work")],
        moments=[MomentSpan(t + 7.5 * 3600, t + 8 * 3600, "commute")],
    )  # fmt: skip
    return build_day_payload(d, salt, revision=1)


@pytest.fixture
def db(server_db_url, tmp_path):
    url = server_db_url
    app = create_app(ServerSettings(db_url=url, rate_per_s=0))
    key = add_app(app.state.engine, "app")
    c = TestClient(app)
    for u, tok in enumerate(TOKS):
        salt = bytes([u]) * 32
        days = [payload(i, salt) for i in range(3)]
        body = gzip.compress(json.dumps({"days": days}).encode())
        r = c.post("/v1/ingest", content=body, headers={"X-Api-Key": key, "X-Install-Token": tok, "Idempotency-Key": f"batch-{u}-xx",
                                                          "Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip
        assert r.status_code == 200, r.text
    h = {"X-Api-Key": key, "X-Install-Token": TOKS[0]}
    ev = c.get("/v1/me/events", headers=h).json()
    trip = next(e for e in ev if e["kind"] == "trip" and e["data"]["modes"] == ["walk", "bus"])
    visit = next(e for e in ev if e["kind"] == "visit" and e["data"]["category"] == "work")
    r = c.post("/v1/feedback", headers=h, json={"items": [{"event_id": trip["event_id"], "field": "mode", "value": "train"},
                                                       {"event_id": visit["event_id"], "field": "category", "value": "school"}]})  # fmt: skip
    assert r.json()["accepted"] == 2
    return url, tmp_path


class TestExportTraining:
    def test_export_writes_timeline_and_corrections(self, db, capsys):
        """Two installs × 3 days → a valid timeline; feedback applied and listed as evaluation labels."""
        url, tmp = db
        out = tmp / "export" / "train.jsonl"
        assert main(["export-training", "--db", url, "--out", str(out)]) == 0
        summary = json.loads(capsys.readouterr().out)
        tl = read_timeline(out)
        assert len(tl.users) == 2 == summary["users"] and summary["days"] == 6
        # per user-day: 3 visits + walk, bus + car = 6 events; one trip corrected to a single train event
        assert len(tl) == 2 * 3 * 6 - 1 == summary["events"]
        events = [e for u in range(2) for e in tl.events(u)]
        assert sum(e.label == "train" for e in events) == 1 and sum(e.label == "school" for e in events) == 1
        assert sum(e.moment == "commute" for e in events) == 2 * 3 * 2 - 1
        assert all(e.place_id.startswith("p_") for e in events if e.kind == "visit")
        rows = [json.loads(line) for line in open(tmp / "export" / "train.feedback.jsonl")]
        assert sorted((r["field"], r["predicted"], r["corrected"]) for r in rows) == [
            ("category", "work", "school"), ("mode", "walk+bus", "train")]

    def test_export_fails_with_missing_database(self, tmp_path, capsys):
        """A SQLite URL to a missing file is a clear error (exit 2)."""
        assert main(["export-training", "--db", f"sqlite:///{tmp_path}/nope.db", "--out", str(tmp_path / "x.jsonl")]) == 2
        assert "not found" in capsys.readouterr().err


def test_population_events_become_day_payloads():
    """A simulated user's timeline events → payloads: visits, trips with their modes, moments."""
    from momentsense.sdk.io.timeline_file import Event
    from momentsense.trainer.server.retrain_round import user_payloads

    t = T0
    ev = [Event(t, t + 7 * 3600, "visit", "home", "home"), Event(t + 7 * 3600, t + 7.2 * 3600, "transport", "walk", moment="commute"),
          Event(t + 7.2 * 3600, t + 7.8 * 3600, "transport", "bus", moment="commute"),
          Event(t + 7.8 * 3600, t + 17 * 3600, "visit", "work", "office"), Event(t + 17 * 3600, t + 30 * 3600, "visit", "gym", "gym1")]  # fmt: skip
    (p,) = user_payloads(ev, bytes(32))
    assert [v["category"] for v in p["visits"]] == ["home", "work", "gym"]
    assert [t["modes"] for t in p["trips"]] == [["walk", "bus"]] and p["moments"][0]["moment"] == "commute"
