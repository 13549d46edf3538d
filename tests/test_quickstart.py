"""``examples/quickstart.py`` runs as a new user would run it, within a minute."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def test_quickstart_senses_stores_uploads_reads_and_revokes():
    """The example's own output: a day with a bus trip between two visits, uploaded once, nothing after revoking."""
    out = subprocess.run([sys.executable, str(REPO / "examples" / "quickstart.py")], cwd=REPO, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["visits"] >= 2 and res["trips"] and "bus" in res["trips"][0] and "walk" in res["modes"]
    assert res["callbacks"] >= len(res["modes"]) - 1
    assert "7 days" in res["segments_reason"]  # less than a week: empty, with the reason
    assert res["uploaded_days"] == res["server_days"] == [res["day"]]
    assert res["after_revoke"] == {"sent": 0, "deferred": "consent"}
