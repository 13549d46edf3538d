"""The momentsense command line: help, errors, interruption, the small commands end to end."""

import pytest

from momentsense.sdk.io.imu_file import read_imu
from momentsense.trainer.cli import main


def test_help_lists_every_command_by_section_with_demo_first(capsys):
    """`momentsense --help` lists every command once, in sections (main job first, demo first in it)."""
    from momentsense.trainer.cli import build_cli

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    titles = ["main job:", "data:", "train:", "evaluate:", "serve:", "benchmark:"]
    at = [out.index("\n" + t + "\n") for t in titles]
    assert at == sorted(at)
    commands = [line.split("  ")[1] for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")
                and not line.lstrip().startswith("-")]
    assert commands[0] == "demo"
    assert sorted(c.strip() for c in commands) == sorted(build_cli().commands)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == "momentsense 0.1.0"


def test_every_option_has_help_and_shows_its_default():
    """Each option of each command says what it does; a non-empty default appears in its help."""
    from momentsense.trainer.cli import HelpFormatter, build_cli

    for path, parser in build_cli().commands.items():
        formatter = HelpFormatter(parser.prog)
        for action in parser._actions:
            if not action.option_strings:
                continue
            assert action.help, (path, action.option_strings)
            d = action.default
            if isinstance(d, (int, float, str)) and not isinstance(d, bool) and d != "" and action.nargs != 0:
                assert "default" in formatter._get_help_string(action), (path, action.option_strings)


def test_bare_group_prints_its_help(capsys):
    assert main(["simulate"]) == 2
    assert "sensors" in capsys.readouterr().out


def test_demo_prints_a_summary(tmp_path, capsys):
    """A short demo runs the pipeline over simulated data and reports it."""
    assert main(["demo", "--hours", "0.05", "--out", str(tmp_path / "demo"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "simulated hours" in out and "windows" in out and "synced: 1 day payloads" in out
    assert (tmp_path / "demo" / "index.html").exists()


def test_simulate_sensors_writes_a_valid_file(tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["simulate", "sensors", "--minutes", "3", "--subjects", "2", "--out", str(out), "--no-progress"]) == 0
    ds = read_imu(out)
    assert len(ds.recordings) == 4 and ds.label_names[0] == "still"


def test_bad_input_is_a_clear_error_with_exit_code_2(tmp_path, capsys):
    """A broken CSV gives exit code 2 and a message naming file, line and column (no traceback)."""
    bad = tmp_path / "bad.csv"
    bad.write_text("time,ax,ay,az\n0,0,x,1\n")
    assert main(["convert", "csv", str(bad), "--out", str(tmp_path / "o.h5")]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:2: column 'ay' is not a number" in err and "Traceback" not in err
    assert not (tmp_path / "o.h5").exists()


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "transport", "--data", str(tmp_path / "nope.h5"), "--out", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_ctrl_c_stops_cleanly(monkeypatch, capsys):
    """An interrupted command exits 130 with a one-line note instead of a traceback."""
    import momentsense.trainer.demo.run as demo_run

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_run, "run_demo", interrupted)
    assert main(["demo", "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_docs_cli_md_is_generated_from_the_parsers():
    """docs/cli.md equals what `python -m momentsense.trainer.cli_docs` prints (regenerate it after changing a parser)."""
    from momentsense.trainer.cli_docs import DOC, generate

    assert DOC.read_text(encoding="utf-8") == generate(), "run: python -m momentsense.trainer.cli_docs > docs/cli.md"


NOISY = r'''
import os, sys
from momentsense.trainer.cli_quiet import StderrFilter
with StderrFilter():
    for line in (b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
                 b"I0000 00:00:1796690960.901827    8091 port.cc:153] oneDNN custom operations are on.\n",
                 b"E0000 00:00:1796690965.241113    8091 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n",
                 b"keep: a real message\n", b"\rprogress 10%", b"\rprogress 20%\n",
                 b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n", b"E0000 00:00:1.2 1 other.cc:1] a real error\n"):
        os.write(2, line)
    print("momentsense x: error: last words", file=sys.stderr)
'''


def test_library_log_noise_is_filtered_and_the_rest_passes():
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", NOISY], capture_output=True, env={"PYTHONPATH": str(repo)}, timeout=60)
    assert r.returncode == 0
    assert r.stderr.decode() == ("keep: a real message\n\rprogress 10%\rprogress 20%\n"
                                 "E0000 00:00:1.2 1 other.cc:1] a real error\nmomentsense x: error: last words\n")


def test_quantize_report_does_not_claim_a_model_shipped_that_was_only_written():
    """The model to ship is written to --out; the report says so instead of "shipped"."""
    from momentsense.quantize.measure import format_report

    report = {"variants": [], "keras": {"accuracy": 0.9, "macro_f1": 0.8}, "test_windows": 10,
              "latency": {"backend": "litert"}, "recommended": "int8", "recommended_why": "smallest"}  # fmt: skip
    assert "ship" not in format_report(report)
    text = format_report({**report, "shipped": "transport_cnn.tflite (int8)"})
    assert "shipped" not in text and "ready to ship (in the --out folder, not yet in edge_models/artifacts/)" in text
