"""``momentsense report``: docs/results.md is what the committed metrics files generate."""

import json
import shutil
from pathlib import Path

import pytest

from momentsense.sdk.errors import InputError
from momentsense.trainer import report
from momentsense.trainer.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_committed_results_page_is_current():
    """The committed page equals the generated one (``momentsense report --check``)."""
    assert main(["report", "--check"]) == 0


def test_check_fails_on_a_stale_page(tmp_path, capsys):
    stale = tmp_path / "results.md"
    stale.write_text(report.render().replace("0.", "9.", 1), encoding="utf-8")
    assert main(["report", "--check", "--out", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err


def _repo_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "edge_models" / "artifacts", root / "edge_models" / "artifacts",
                    ignore=shutil.ignore_patterns("*.tflite", "*.keras", "*.png", "*.weights.h5"))
    (root / "docs" / "results").mkdir(parents=True)
    return root


def test_a_result_file_becomes_a_table_real_data_first(tmp_path, monkeypatch):
    root = _repo_copy(tmp_path)
    monkeypatch.setattr(report, "REPO", root)
    (root / "docs" / "results" / "demo.json").write_text(json.dumps({
        "format": report.RESULT_FORMAT, "title": "Still on a table", "data": "real", "command": "momentsense x",
        "measured": "2026-01-02", "columns": ["class", "recall"], "rows": [["still", 0.987654]]}))
    text = report.render(root)
    assert "### Still on a table" in text and "| still | 0.988 |" in text and "measured 2026-01-02" in text
    assert text.index("## On real recordings") < text.index("## On the simulator")
    assert text.index("Still on a table") < text.index("## On the simulator")


@pytest.mark.parametrize("body, message", [
    ({"format": "other"}, "not a momentsense-result-v1"),
    ({"format": report.RESULT_FORMAT, "title": "t"}, "missing data, command, columns, rows"),
    ({"format": report.RESULT_FORMAT, "title": "t", "data": "guessed", "command": "c", "columns": ["a"], "rows": []}, "real' or 'simulated"),
    ({"format": report.RESULT_FORMAT, "title": "t", "data": "real", "command": "c", "columns": ["a", "b"], "rows": [[1]]}, "needs 2 values"),
])
def test_bad_result_files_are_named(tmp_path, body, message):
    root = _repo_copy(tmp_path)
    bad = root / "docs" / "results" / "bad.json"
    bad.write_text(json.dumps(body))
    with pytest.raises(InputError, match=message) as err:
        report.render(root)
    assert "bad.json" in str(err.value)


def test_unreadable_result_file_is_named(tmp_path):
    root = _repo_copy(tmp_path)
    (root / "docs" / "results" / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match="broken.json"):
        report.render(root)
