"""Server in process (FastAPI TestClient): idempotent ingest, isolation, limits, feedback, erasure, registry."""

import copy
import gzip
import json
import shutil
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from momentsense.sdk.sync.payload import SyncDay, build_day_payload
from momentsense.sdk.timeline.records import Place, Trip, Visit
from momentsense.trainer.server.app import ServerSettings, count_events, create_app
from momentsense.trainer.server.db import App, Install, add_app

T0 = 1699833600.0
SALT = bytes(range(32))
TOK_A = "a" * 32 + "." + "1" * 64
TOK_B = "b" * 32 + "." + "2" * 64


def day_payload(day_index=0, revision=1, salt=SALT):
    t = T0 + day_index * 86400
    d = SyncDay(
        day=f"2023-11-{13 + day_index:02d}",
        visits=[Visit(t, t + 7.5 * 3600, "p0", 48.85, 2.35), Visit(t + 8 * 3600, t + 17 * 3600, "p1", 48.87, 2.39)],
        trips=[Trip(t + 7.5 * 3600, t + 8 * 3600, "p0", "p1", ("walk", "bus"), 8093.9)],
        places=[Place("p0", 48.85, 2.35, 10, 1, 1, "home"), Place("p1", 48.87, 2.39, 10, 1, 1, "work")],
        segments={"commuter": 0.91},
    )
    return build_day_payload(d, salt, revision=revision)


@pytest.fixture
def server(server_db_url):
    app = create_app(ServerSettings(db_url=server_db_url, rate_per_s=0))
    keys = {"a": add_app(app.state.engine, "app-a"), "b": add_app(app.state.engine, "app-b")}
    return TestClient(app), keys, app


def h(key, tok=TOK_A, idem=None, gz=False):
    out = {"X-Api-Key": key, "X-Install-Token": tok}
    if idem:
        out["Idempotency-Key"] = idem
    if gz:
        out["Content-Encoding"] = "gzip"
        out["Content-Type"] = "application/json"
    return out


def post_days(c, key, days, idem, tok=TOK_A):
    return c.post("/v1/ingest", content=gzip.compress(json.dumps({"days": days}).encode()), headers=h(key, tok, idem, gz=True))


class TestIngest:
    def test_same_key_same_answer_no_duplicates(self, server):
        """Posting one batch three times stores its events once and answers identically."""
        c, keys, app = server
        days = [day_payload(0), day_payload(1)]
        answers = [post_days(c, keys["a"], days, "batch-0001") for _ in range(3)]
        assert all(r.status_code == 200 for r in answers)
        assert answers[0].json() == answers[1].json() == answers[2].json()
        assert answers[0].json()["events"] == 6
        events = c.get("/v1/me/events", headers=h(keys["a"])).json()
        assert len(events) == 6 and len({e["event_id"] for e in events}) == 6

    def test_same_key_other_body_is_refused(self, server):
        """Reusing a key for a different body is a 422, and nothing changes."""
        c, keys, _ = server
        assert post_days(c, keys["a"], [day_payload(0)], "batch-0002").status_code == 200
        r = post_days(c, keys["a"], [day_payload(1)], "batch-0002")
        assert r.status_code == 422 and "different body" in r.text
        assert len(c.get("/v1/me/events", headers=h(keys["a"])).json()) == 3

    def test_new_key_same_day_replaces_instead_of_duplicating(self, server):
        """A re-upload of a day (new batch, higher revision) replaces that day's events."""
        c, keys, app = server
        post_days(c, keys["a"], [day_payload(0, revision=1)], "batch-r1")
        r = post_days(c, keys["a"], [day_payload(0, revision=2)], "batch-r2")
        assert r.json()["days_stored"] == 1
        stale = post_days(c, keys["a"], [day_payload(0, revision=1)], "batch-r1-late")
        assert stale.json()["days_stale"] == 1
        assert count_events(app.state.engine) == 3

    @pytest.mark.parametrize("mutate", [
        lambda p: p["visits"][0].update(lat=48.85661),
        lambda p: p["visits"][0].update(start=p["visits"][0]["start"] + 17),
        lambda p: p["visits"][0].update(place="p0"),
        lambda p: p["trips"][0].update(distance_m=8093),
        lambda p: p["trips"][0].update(modes=["teleport"]),
        lambda p: p["segments"].update(commuter=0.9123),
        lambda p: p["visits"][0].update(cell=[48.85, 2.35]),
    ])  # fmt: skip
    def test_fine_or_unknown_fields_are_refused(self, server, mutate):
        """The server refuses payloads finer than the SDK builds (422)."""
        c, keys, _ = server
        p = copy.deepcopy(day_payload(0))
        mutate(p)
        assert post_days(c, keys["a"], [p], "batch-bad1").status_code == 422

    def test_ingest_fails_without_key_token_or_idempotency_key(self, server):
        """Missing/unknown API key → 401; bad install token → 401; no Idempotency-Key → 422."""
        c, keys, _ = server
        body = gzip.compress(json.dumps({"days": [day_payload(0)]}).encode())
        assert c.post("/v1/ingest", content=body, headers={"Idempotency-Key": "k" * 10, "Content-Encoding": "gzip"}).status_code == 401
        assert c.post("/v1/ingest", content=body, headers=h("nope-nope-nope", idem="k" * 10, gz=True)).status_code == 401
        assert c.post("/v1/ingest", content=body, headers=h(keys["a"], "zz", "k" * 10, gz=True)).status_code == 401
        assert c.post("/v1/ingest", content=body, headers=h(keys["a"], gz=True)).status_code == 422

    def test_install_token_secret_is_pinned_on_first_use(self, server):
        """Another secret for a known install id is refused."""
        c, keys, _ = server
        assert c.get("/v1/me/events", headers=h(keys["a"], TOK_A)).status_code == 200
        assert c.get("/v1/me/events", headers=h(keys["a"], "a" * 32 + "." + "9" * 64)).status_code == 401


class TestIsolation:
    def test_apps_cannot_read_or_erase_each_others_data(self, server):
        """App B with A's install token sees nothing and its erasure leaves A's data intact."""
        c, keys, app = server
        post_days(c, keys["a"], [day_payload(0)], "batch-iso1")
        assert len(c.get("/v1/me/events", headers=h(keys["b"], TOK_A)).json()) == 0
        assert c.delete("/v1/me", headers=h(keys["b"], TOK_A)).json()["deleted"]["events"] == 0
        assert len(c.get("/v1/me/events", headers=h(keys["a"], TOK_A)).json()) == 3

    def test_apps_cannot_write_feedback_on_each_others_events(self, server):
        """App B cannot attach feedback to app A's events, even knowing the event id and install token."""
        c, keys, _ = server
        post_days(c, keys["a"], [day_payload(0)], "batch-iso3")
        eid = c.get("/v1/me/events", headers=h(keys["a"])).json()[0]["event_id"]
        r = c.post("/v1/feedback", json={"items": [{"event_id": eid, "field": "category", "value": "gym"}]},
                   headers=h(keys["b"], TOK_A))  # fmt: skip
        assert r.json() == {"accepted": 0, "unknown_event_ids": [eid]}

    def test_installs_of_one_app_are_isolated(self, server):
        """Another install of the same app sees none of the first one's events."""
        c, keys, _ = server
        post_days(c, keys["a"], [day_payload(0)], "batch-iso2")
        assert c.get("/v1/me/events", headers=h(keys["a"], TOK_B)).json() == []

    def test_idempotency_keys_are_per_install(self, server):
        """The same key from two installs is two batches."""
        c, keys, app = server
        post_days(c, keys["a"], [day_payload(0)], "batch-same")
        post_days(c, keys["a"], [day_payload(0, salt=bytes(32))], "batch-same", tok=TOK_B)
        assert count_events(app.state.engine) == 6

    def test_keys_and_secrets_are_hashed_at_rest(self, server):
        """No API key or install secret appears in the database."""
        c, keys, app = server
        post_days(c, keys["a"], [day_payload(0)], "batch-hash")
        with Session(app.state.engine) as s:
            stored = [a.key_hash for a in s.scalars(select(App))] + [i.secret_hash for i in s.scalars(select(Install))]
            dump = "\n".join(str(r) for t in ("apps", "installs") for r in s.execute(text(f"SELECT * FROM {t}")))
        assert keys["a"] not in dump and keys["b"] not in dump and "1" * 64 not in dump
        assert all(len(x) == 64 for x in stored)


class TestLimits:
    def test_body_over_limit_is_413(self, server_db_url):
        """A body over max_body_bytes and a gzip bomb are refused with 413."""
        app = create_app(ServerSettings(db_url=server_db_url, max_body_bytes=10_000,
                                        max_inflated_bytes=100_000, rate_per_s=0))  # fmt: skip
        key = add_app(app.state.engine, "a")
        c = TestClient(app)
        assert c.post("/v1/ingest", content=b"x" * 20_000, headers=h(key, idem="k" * 10)).status_code == 413
        bomb = gzip.compress(b" " * 5_000_000)
        assert len(bomb) < 10_000
        assert c.post("/v1/ingest", content=bomb, headers=h(key, idem="k" * 10, gz=True)).status_code == 413
        assert c.post("/v1/ingest", content=b"notgzip", headers=h(key, idem="k" * 10, gz=True)).status_code == 400

    def test_rate_limit_answers_429_with_retry_after(self, server_db_url):
        """Past the burst the server answers 429 and a Retry-After in seconds; /health is exempt."""
        app = create_app(ServerSettings(db_url=server_db_url, rate_per_s=1, burst=3))
        key = add_app(app.state.engine, "a")
        c = TestClient(app)
        codes = [c.get("/v1/models", headers={"X-Api-Key": key}).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3] == 429
        r = c.get("/v1/models", headers={"X-Api-Key": key})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        assert all(c.get("/health").status_code == 200 for _ in range(10))


class TestFeedbackAndErasure:
    def test_feedback_on_known_events_only(self, server):
        """Corrections of stored events are accepted; unknown ids are listed; bad values are 422."""
        c, keys, _ = server
        post_days(c, keys["a"], [day_payload(0)], "batch-fb")
        trip = next(e for e in c.get("/v1/me/events", headers=h(keys["a"])).json() if e["kind"] == "trip")
        r = c.post("/v1/feedback", json={"items": [{"event_id": trip["event_id"], "field": "mode", "value": "train"},
                                                   {"event_id": "e_" + "0" * 20, "field": "mode", "value": "car"}]},
                   headers=h(keys["a"]))  # fmt: skip
        assert r.json() == {"accepted": 1, "unknown_event_ids": ["e_" + "0" * 20]}
        bad = c.post("/v1/feedback", json={"items": [{"event_id": trip["event_id"], "field": "mode", "value": "rocket"}]},
                     headers=h(keys["a"]))  # fmt: skip
        assert bad.status_code == 422

    def test_erasure_deletes_everything_and_confirms(self, server):
        """DELETE /v1/me removes the install's events, days, feedback and batches, with a receipt."""
        c, keys, app = server
        post_days(c, keys["a"], [day_payload(0), day_payload(1)], "batch-er")
        post_days(c, keys["a"], [day_payload(0)], "batch-er-b", tok=TOK_B)
        r = c.delete("/v1/me", headers=h(keys["a"]))
        assert r.status_code == 200
        conf = r.json()
        assert conf["erased"] and conf["deleted"]["events"] == 6 and conf["deleted"]["days"] == 2 and len(conf["receipt"]) == 32
        assert c.get("/v1/me/events", headers=h(keys["a"])).json() == []
        assert count_events(app.state.engine) == 3  # the other install keeps its data


class TestRegistry:
    def test_health_and_openapi_need_no_key(self, server):
        """/health and /openapi.json answer without a key; /v1/models needs one."""
        c, keys, _ = server
        assert c.get("/health").json()["status"] == "ok"
        assert "/v1/ingest" in c.get("/openapi.json").json()["paths"]
        assert c.get("/v1/models").status_code == 401

    def test_list_and_download_shipped_models(self, server):
        """Every shipped model is listed and downloads with bytes matching its manifest sha256."""
        import hashlib

        c, keys, _ = server
        hk = {"X-Api-Key": keys["a"]}
        listed = c.get("/v1/models", headers=hk).json()
        assert {"next_event", "transport_cnn"} <= {m["name"] for m in listed}
        m = c.get("/v1/models/transport_cnn/latest", headers=hk).json()
        data = c.get(m["download"], headers=hk).content
        assert hashlib.sha256(data).hexdigest() == m["manifest"]["sha256"]
        assert c.get("/v1/models/transport_cnn/9.9.9", headers=hk).status_code == 404

    def test_corrupt_model_is_not_served(self, tmp_path, server_db_url):
        """A model whose bytes do not match its manifest is left out of the registry."""
        from momentsense.edge_models import artifact_dir

        d = tmp_path / "models"
        d.mkdir()
        for ext in (".tflite", ".json"):
            shutil.copy(artifact_dir() / f"next_event{ext}", d / f"next_event{ext}")
        raw = bytearray((d / "next_event.tflite").read_bytes())
        raw[-1] ^= 0xFF
        (d / "next_event.tflite").write_bytes(bytes(raw))
        app = create_app(ServerSettings(db_url=server_db_url, models_dir=str(d), rate_per_s=0))
        key = add_app(app.state.engine, "a")
        assert TestClient(app).get("/v1/models", headers={"X-Api-Key": key}).json() == []


class TestServeCommand:
    def test_add_app_prints_a_key_that_works(self, tmp_path, capsys):
        """`momentsense serve --add-app NAME` prints a new key (stored hashed) and exits 0."""
        from momentsense.trainer.cli import main

        url = f"sqlite:///{tmp_path}/cli.db"
        assert main(["serve", "--db", url, "--add-app", "demo"]) == 0
        key = capsys.readouterr().out.strip()
        app = create_app(ServerSettings(db_url=url, rate_per_s=0))
        assert len(key) > 30 and TestClient(app).get("/v1/models", headers={"X-Api-Key": key}).status_code == 200

    def test_serve_fails_with_bad_port_or_app_key(self, tmp_path, capsys):
        """A port out of range and a short --app-key are clear errors (exit 2)."""
        from momentsense.trainer.cli import main

        url = f"sqlite:///{tmp_path}/cli.db"
        assert main(["serve", "--db", url, "--port", "70000"]) == 2
        assert main(["serve", "--db", url, "--app-key", "demo:short"]) == 2
        assert "--app-key" in capsys.readouterr().err
