"""Bad inputs, limits and erasure re-claims, in process: every refusal a 4xx with a reason, never a 5xx.

The catalogue below has one case per class of bad input found when the server was attacked (non-finite
numbers in every numeric field, lone surrogates, huge numbers, strings for numbers, free-text segment
names, days that are not dates or not the events' day, bad counts, repeated event ids, ...).
"""

import copy
import gzip
import json
import warnings

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from momentsense.sdk.sync.payload import PayloadOptions, SyncDay, build_day_payload
from momentsense.sdk.timeline.records import DrivingScore, Place, Trip, Visit
from momentsense.sdk.sync.payload import MomentSpan
from momentsense.trainer.server.app import ServerSettings, count_events, create_app
from momentsense.trainer.server.db import add_app

T0 = 1699833600.0  # 2023-11-13 00:00 UTC
SALT = bytes(range(32))
TOK = "a" * 32 + "." + "1" * 64


def full_payload(day_index: int = 0) -> dict:
    """A day with every kind of record (visits with cells, a trip, a moment, segments, a drive)."""
    t = T0 + day_index * 86400
    d = SyncDay(
        day=f"2023-11-{13 + day_index:02d}",
        visits=[Visit(t, t + 7.5 * 3600, "p0", 48.85, 2.35), Visit(t + 8 * 3600, t + 17 * 3600, "p1", 48.87, 2.39)],
        trips=[Trip(t + 7.5 * 3600, t + 8 * 3600, "p0", "p1", ("walk", "bus"), 8093.9)],
        places=[Place("p0", 48.85, 2.35, 10, 1, 1, "home"), Place("p1", 48.87, 2.39, 10, 1, 1, "work")],
        moments=[MomentSpan(t + 7.5 * 3600, t + 8 * 3600, "commute")],
        segments={"commuter": 0.91},
        driving_scores=[DrivingScore(t + 7.5 * 3600, t + 8 * 3600, 81.0, 2.5, 8000.0, {"harsh_braking": 2})],
    )
    return build_day_payload(d, SALT, PayloadOptions(coarse_grid_deg=0.01), revision=1)


NUMERIC = [("revision",), ("time_rounding_s",), ("grid_deg",), ("visits", 0, "start"), ("visits", 0, "end"),
           ("visits", 0, "duration_s"), ("visits", 0, "cell", 0), ("visits", 0, "cell", 1), ("trips", 0, "distance_m"),
           ("moments", 0, "start"), ("segments", "commuter"), ("driving", 0, "score"),
           ("driving", 0, "events_per_100km"), ("driving", 0, "counts", "harsh_braking")]  # fmt: skip
NASTY_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1", "1" + "0" * 30, '"1"']


def _set(p, path, raw):
    """Put the JSON text ``raw`` at ``path`` (a marker replaced in the serialised text)."""
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = "@@RAW@@"
    return json.dumps({"days": [p]}).replace('"@@RAW@@"', raw)


def _cases():
    out = []
    for path in NUMERIC:
        for raw in NASTY_NUMBERS:
            if raw == "-1" and "cell" in path:  # a valid coordinate
                continue
            out.append((f"{'.'.join(map(str, path))}={raw[:12]}", lambda p, path=path, raw=raw: _set(p, path, raw)))

    def mut(fn):
        def go(p):
            fn(p)
            return json.dumps({"days": [p]})
        return go

    extra = {
        "cell_1e308": lambda p: _set(p, ("visits", 0, "cell"), "[1e308, 0]"),
        "lone_surrogate_segment": lambda p: json.dumps({"days": [p]}).replace('"commuter"', '"\\ud800"'),
        "lone_surrogate_place": lambda p: _set(p, ("visits", 0, "place"), '"\\udc00abc"'),
        "lone_surrogate_day": lambda p: _set(p, ("day",), '"2023-11-1\\ud800"'),
        "free_text_segment": mut(lambda p: p["segments"].update({"John Smith, 5th Ave HIV clinic": 0.5})),
        "segment_upper": mut(lambda p: p["segments"].update(Commuter=0.5)),
        "segment_too_long": mut(lambda p: p["segments"].update({"a" * 33: 0.5})),
        "segment_unicode": mut(lambda p: p["segments"].update({"caf\u00e9": 0.5})),
        "day_9999_99_99": mut(lambda p: p.update(day="9999-99-99")),
        "day_feb_30": mut(lambda p: p.update(day="2023-02-30")),
        "day_arabic_digits": mut(lambda p: p.update(day="\u0662\u0660\u0662\u0663-\u0661\u0661-\u0661\u0663")),
        "day_not_events_day": mut(lambda p: p.update(day="2023-11-20")),
        "day_year_1970": mut(lambda p: p.update(day="1970-01-01")),
        "day_future": mut(lambda p: p.update(day="2999-01-01")),
        "day_int": mut(lambda p: p.update(day=20231113)),
        "count_negative": mut(lambda p: p["driving"][0]["counts"].update(harsh_braking=-5)),
        "count_huge": mut(lambda p: p["driving"][0]["counts"].update(harsh_braking=10**30)),
        "count_unknown_kind": mut(lambda p: p["driving"][0]["counts"].update(free_text=1)),
        "count_string": mut(lambda p: p["driving"][0]["counts"].update(harsh_braking="1")),
        "revision_string": mut(lambda p: p.update(revision="1")),
        "revision_bool": mut(lambda p: p.update(revision=True)),
        "start_float": mut(lambda p: p["visits"][0].update(start=p["visits"][0]["start"] + 0.5)),
        "end_before_start": mut(lambda p: p["visits"][0].update(end=p["visits"][0]["start"] - 900)),
        "event_id_upper": mut(lambda p: p["visits"][0].update(id="E_" + "A" * 20)),
        "category_free_text": mut(lambda p: p["visits"][0].update(category="Dr Smith's clinic")),
        "unknown_field": mut(lambda p: p.update(lat=48.85)),
        "duplicate_id_in_day": mut(lambda p: p["visits"][1].update(id=p["visits"][0]["id"])),
        "visits_not_list": mut(lambda p: p.update(visits={"a": 1})),
        "segments_list": mut(lambda p: p.update(segments=[["commuter", 0.5]])),
        "cell_off_grid": mut(lambda p: p["visits"][0].update(cell=[48.853, 2.35])),
        "cell_lat_200": mut(lambda p: p["visits"][0].update(cell=[200.0, 2.35])),
        "duplicate_json_key": lambda p: json.dumps({"days": [p]}).replace('"revision": 1', '"revision": 1, "revision": 2'),
        "deep_nesting": lambda p: '{"days": [' + "[" * 5000 + "]" * 5000 + "]}",
        "huge_int_digits": lambda p: _set(p, ("revision",), "9" * 5000),
        "not_json": lambda p: "{days: [}",
        "not_utf8": lambda p: b"\xff\xfe{}",
    }
    out += list(extra.items())
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('attack')}/server.db"
    app = create_app(ServerSettings(db_url=url, rate_per_s=0, auth_fail_per_s=0))
    key = add_app(app.state.engine, "attack")
    return TestClient(app), key, app


def _post(c, key, body, idem="attack-0001"):
    body = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    return c.post("/v1/ingest", content=gzip.compress(body), headers={
        "X-Api-Key": key, "X-Install-Token": TOK, "Idempotency-Key": idem,
        "Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip


def test_the_catalogue_is_the_attack_size():
    """The catalogue covers at least the 87 classes of the attack report."""
    assert len(CASES) >= 87 and len({n for n, _ in CASES}) == len(CASES)


@pytest.mark.parametrize("name,make", CASES, ids=[n for n, _ in CASES])
def test_bad_input_is_a_4xx_with_a_reason_and_stores_nothing(client, name, make):
    c, key, app = client
    before = count_events(app.state.engine)
    r = _post(c, key, make(copy.deepcopy(full_payload())), idem=f"attack-{[n for n, _ in CASES].index(name):06d}")
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
    body = r.json()
    assert isinstance(body["reason"], str) and body["reason"] and body["detail"]
    assert count_events(app.state.engine) == before


def test_the_valid_payload_is_accepted(client):
    """The control: the unmutated payload is stored (so the refusals above are about the mutation)."""
    c, key, app = client
    r = _post(c, key, json.dumps({"days": [full_payload()]}), idem="attack-valid-0001")
    assert r.status_code == 200, r.text
    assert r.json()["events"] == 5
    # clean up so the module's other tests see an empty store
    assert c.delete("/v1/me", headers={"X-Api-Key": key, "X-Install-Token": TOK}).status_code == 200


def test_repeated_event_ids_across_days_are_refused(client):
    """A batch repeating event ids across two days is refused instead of reporting more than it stores."""
    c, key, app = client
    a, b = full_payload(0), full_payload(1)
    b["visits"][0]["id"] = a["visits"][0]["id"]
    r = _post(c, key, json.dumps({"days": [a, b]}), idem="attack-dup-days1")
    assert r.status_code == 422 and r.json()["reason"] == "duplicate_event_id"
    assert count_events(app.state.engine) == 0


def test_segment_allow_list_refuses_pattern_valid_free_text(tmp_path):
    """The name pattern cannot tell a segment from free text such as a clinic's name in snake case;
    an operator's allow-list (segment_names) can."""
    app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/s.db", rate_per_s=0, segment_names=("commuter",)))
    key = add_app(app.state.engine, "s")
    c = TestClient(app)
    p = full_payload()
    p["segments"]["john_smith_5th_ave_hiv_clinic"] = 0.5
    r = _post(c, key, json.dumps({"days": [p]}), idem="segment-0001")
    assert r.status_code == 422 and r.json()["reason"] == "segment_unknown"
    assert _post(c, key, json.dumps({"days": [full_payload()]}), idem="segment-0002").status_code == 200


def test_window_around_receipt_time(tmp_path):
    """With max_day_age_days, old days are refused with reason day_window; recent days pass."""
    import time

    from momentsense.sdk.sync.schema import check_day

    app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/w.db", rate_per_s=0, max_day_age_days=30))
    key = add_app(app.state.engine, "w")
    r = _post(TestClient(app), key, json.dumps({"days": [full_payload()]}), idem="window-0001")
    assert r.status_code == 422 and r.json()["reason"] == "day_window"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert check_day(today, time.time(), 30) > 0


class TestLimits:
    def test_per_install_buckets_are_separate(self, tmp_path):
        """One install over its bucket gets 429 + Retry-After; another install of the same app does not."""
        app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/l.db", rate_per_s=0.5, burst=2))
        key = add_app(app.state.engine, "l")
        c = TestClient(app)
        h1 = {"X-Api-Key": key, "X-Install-Token": "1" * 32 + "." + "1" * 64}
        h2 = {"X-Api-Key": key, "X-Install-Token": "2" * 32 + "." + "2" * 64}
        codes = [c.get("/v1/me/events", headers=h1).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = c.get("/v1/me/events", headers=h1)
        assert r.status_code == 429 and r.json()["reason"] == "rate_limited" and int(r.headers["Retry-After"]) >= 1
        assert c.get("/v1/me/events", headers=h2).status_code == 200

    def test_failed_authentication_is_limited_per_address(self, tmp_path):
        """Random keys get 401 until the address's failure bucket is empty, then 429 (no lookups)."""
        app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/f.db", auth_fail_per_s=0.1, auth_fail_burst=5))
        key = add_app(app.state.engine, "f")
        c = TestClient(app)
        codes = [c.get("/v1/models", headers={"X-Api-Key": f"random-key-{i:04d}"}).status_code for i in range(8)]
        assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
        r = c.get("/v1/models", headers={"X-Api-Key": key})
        assert r.status_code == 429 and r.json()["reason"] == "auth_rate_limited"  # the address is blocked
        assert c.get("/health").status_code == 200

    def test_fleet_ceiling_per_app_is_divided_among_workers(self, tmp_path):
        """Per-process limits: with workers=2 each process allows half the app's ceiling (documented)."""
        url = f"sqlite:///{tmp_path}/c.db"
        apps = [create_app(ServerSettings(db_url=url, rate_per_s=0, app_rate_per_s=0.01, app_burst=6, workers=2))
                for _ in range(2)]  # fmt: skip
        key = add_app(apps[0].state.engine, "c")
        for app in apps:  # each "worker" has its own bucket of 6 / 2 = 3
            c = TestClient(app)
            toks = [f"{i:032x}." + "3" * 64 for i in range(5)]
            codes = [c.get("/v1/me/events", headers={"X-Api-Key": key, "X-Install-Token": t}).status_code for t in toks]
            assert codes == [200, 200, 200, 429, 429]


def test_install_id_cannot_be_reclaimed_after_erasure(tmp_path):
    """After DELETE /v1/me the install id keeps its secret: another secret is refused, the owner goes on."""
    app = create_app(ServerSettings(db_url=f"sqlite:///{tmp_path}/e.db", rate_per_s=0))
    key = add_app(app.state.engine, "e")
    c = TestClient(app)
    owner = {"X-Api-Key": key, "X-Install-Token": "e" * 32 + "." + "1" * 64}
    thief = {"X-Api-Key": key, "X-Install-Token": "e" * 32 + "." + "2" * 64}
    assert c.get("/v1/me/events", headers=owner).status_code == 200
    assert c.delete("/v1/me", headers=owner).json()["erased"] is True
    assert c.get("/v1/me/events", headers=thief).status_code == 401
    assert c.get("/v1/me/events", headers=owner).status_code == 200


def test_openapi_documents_every_status_the_server_answers(client):
    """Each operation lists the refusals it can give (401, 422, 429, 503; ingest also 400/409/413/415)."""
    c, _, _ = client
    spec = c.get("/openapi.json").json()
    ingest = spec["paths"]["/v1/ingest"]["post"]["responses"]
    assert {"200", "400", "401", "409", "413", "415", "422", "429", "503"} <= set(ingest)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path != "/health" and not path.startswith("/openapi"):
                assert {"401", "429", "503"} <= set(op["responses"]), (method, path)
            for code, resp in op["responses"].items():
                if code.startswith(("4", "5")):
                    ref = resp["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/ErrorOut"), (path, code)
