"""Shared fixtures."""

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The real public datasets (``shared/data`` beside the repository, or $MOMENTSENSE_SHARED_DATA); skip if absent."""
    env = os.environ.get("MOMENTSENSE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for c in candidates:
        if (c / "wisdm2019_phone_subset.h5").exists() and (c / "driver_behavior_trips.h5").exists():
            return c
    pytest.skip(f"real datasets not found (looked in {[str(c) for c in candidates]}); see shared/data/README.md")
