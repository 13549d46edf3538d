"""Schemathesis fuzzing of the server's own OpenAPI spec, in process: no request may cause a 500."""

import tempfile
import warnings

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, settings

from momentsense.trainer.server.app import ServerSettings, create_app
from momentsense.trainer.server.db import add_app

_DIR = tempfile.mkdtemp(prefix="momentsense-fuzz-")
APP = create_app(ServerSettings(db_url=f"sqlite:///{_DIR}/fuzz.db", rate_per_s=0))
KEY = add_app(APP.state.engine, "fuzz")
TOKEN = "f" * 32 + "." + "e" * 64
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# The coverage phase (hundreds of boundary cases per operation) takes minutes on a shared CI core;
# examples + random fuzzing keep the whole file well under 30 s.
schema.config.phases.update(phases=["examples", "fuzzing"])


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    """Generated requests (valid credentials, generated everything else) never get a 5xx."""
    case.headers = {**(case.headers or {}), "X-Api-Key": KEY, "X-Install-Token": TOKEN}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_with_generated_credentials(case):
    """Generated (mostly wrong) credentials give 4xx, never 5xx."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
