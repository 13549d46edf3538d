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
