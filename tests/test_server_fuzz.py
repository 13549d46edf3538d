"""Fuzzing the server in process: hypothesis on the raw JSON text (NaN, infinities, lone surrogates, huge
numbers, anywhere in a valid day payload), and schemathesis with every check on the app's OpenAPI spec.

Example counts are kept small for the test suite; a heavier run of both is in ``docs/server.md``.
"""

import gzip
import json
import tempfile
import warnings

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from test_server_attack import full_payload
from momentsense.trainer.server.app import ServerSettings, create_app
from momentsense.trainer.server.db import add_app

_DIR = tempfile.mkdtemp(prefix="momentsense-fuzz-")
APP = create_app(ServerSettings(db_url=f"sqlite:///{_DIR}/fuzz.db", rate_per_s=0, auth_fail_per_s=0))
KEY = add_app(APP.state.engine, "fuzz")
TOKEN = "f" * 32 + "." + "e" * 64
CLIENT = TestClient(APP)

# -- hypothesis on raw JSON text ---------------------------------------------------------------
NASTY = st.one_of(
    st.sampled_from(["NaN", "-NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1e308", "-0", "0.1e-400", "1E+2",
                     '"\\ud800"', '"\\udfff"', '"x\\ud800y"', '"\\ud83d\\ude00"', '"\\u0000"', '"1"', '"1e3"', "true",
                     "false", "null", "[]", "{}", '""', '"\\u0662\\u0660\\u0662\\u0663-11-13"']),  # fmt: skip
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.integers(min_value=310, max_value=4400).map(lambda n: "9" * n),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=40).map(lambda s: json.dumps(s, ensure_ascii=True)),
)


def _leaf_paths(x, path=()):
    if isinstance(x, dict):
        out = [path] if path else []
        for k, v in x.items():
            out += _leaf_paths(v, (*path, k))
        return out
    if isinstance(x, list):
        out = [path]
        for i, v in enumerate(x):
            out += _leaf_paths(v, (*path, i))
        return out
    return [path]


BASE = full_payload()
PATHS = _leaf_paths(BASE)


def _with_raw(path: tuple, raw: str) -> str:
    p = json.loads(json.dumps(BASE))
    obj = p
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = "@@RAW@@"
    return json.dumps({"days": [p]}).replace('"@@RAW@@"', raw, 1)


def _post_text(text: str, n: int):
    return CLIENT.post("/v1/ingest", content=gzip.compress(text.encode("utf-8", "surrogatepass")), headers={
        "X-Api-Key": KEY, "X-Install-Token": TOKEN, "Idempotency-Key": f"fuzz-{n:012d}",
        "Content-Encoding": "gzip", "Content-Type": "application/json"})  # fmt: skip


_counter = iter(range(10**9))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(PATHS), raw=NASTY)
def test_nasty_json_anywhere_in_a_day_is_never_a_5xx(path, raw):
    """Any leaf of a valid day replaced by a nasty JSON literal: 200 or a 4xx with a reason, never 5xx."""
    r = _post_text(_with_raw(path, raw), next(_counter))
    assert r.status_code == 200 or (400 <= r.status_code < 500 and r.json()["reason"]), (path, raw[:60], r.status_code, r.text[:200])


JSON_TEXT = st.recursive(
    NASTY,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.dictionaries(st.sampled_from(['"days"', '"day"', '"visits"', '"segments"', '"items"', '"\\ud800"', '"x"']),
                        inner, max_size=4).map(lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"),
    ),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=JSON_TEXT)
def test_random_json_text_on_every_body_endpoint_is_never_a_5xx(text):
    """Random JSON texts (with the nasty literals inside) to ingest and feedback: 4xx with a reason, never 5xx."""
    r = _post_text(text, next(_counter))
    assert 400 <= r.status_code < 500 and r.json()["reason"], (text[:80], r.status_code, r.text[:200])
    f = CLIENT.post("/v1/feedback", content=text.encode("utf-8", "surrogatepass"), headers={
        "X-Api-Key": KEY, "X-Install-Token": TOKEN, "Content-Type": "application/json"})  # fmt: skip
    assert 400 <= f.status_code < 500 and f.json()["reason"], (text[:80], f.status_code, f.text[:200])


# -- schemathesis, every check ----------------------------------------------------------------
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# The coverage phase (hundreds of boundary cases per operation) takes minutes on a shared CI core;
# examples + random fuzzing keep the whole file well under 30 s.
schema.config.phases.update(phases=["examples", "fuzzing"])
schema.config.checks.update(included_check_names=["all"])
# Schema-valid bodies can still break rules JSON Schema cannot state (a day's events on that day, times
# on the payload's rounding, days around the receipt time, ids unique across days): those are 422.
schema.config.checks.positive_data_acceptance.expected_statuses = ["2xx", "401", "403", "404", "409", "422", "429"]


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_with_valid_credentials(case):
    """Generated requests with valid credentials pass every schemathesis check (no 5xx, documented statuses
    and bodies, ...)."""
    case.headers = {**(case.headers or {}), "X-Api-Key": KEY, "X-Install-Token": TOKEN}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.call_and_validate()


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_with_generated_credentials(case):
    """Generated (mostly wrong) credentials pass every check too."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        case.call_and_validate()
