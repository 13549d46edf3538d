"""Shared fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real public datasets: $MOMENTSENSE_SHARED_DATA, else ``shared/data`` beside the repository.

    Skips the test with a clear message when the folder is absent (a fresh clone without the data).
    """
    env = os.environ.get("MOMENTSENSE_SHARED_DATA")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set MOMENTSENSE_SHARED_DATA or put shared/data "
                    "beside the repository; see shared/data/README.md)")  # fmt: skip
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def server_db_url(request, tmp_path):
    """A fresh, empty database for the server: SQLite in ``tmp_path``, and PostgreSQL when
    ``$MOMENTSENSE_TEST_POSTGRES`` names a server (``.ci/run`` starts one with
    ``scripts/start_test_postgres.sh``); the PostgreSQL run is skipped otherwise."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/server.db"
        return
    base = os.environ.get("MOMENTSENSE_TEST_POSTGRES")
    if not base:
        pytest.skip("no PostgreSQL server: set MOMENTSENSE_TEST_POSTGRES (see scripts/start_test_postgres.sh)")
    import uuid

    sqlalchemy = pytest.importorskip("sqlalchemy")
    name = f"ms_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
