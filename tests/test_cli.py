"""The momentsense command line: help, errors, interruption, the small commands end to end."""

import pytest

from momentsense.sdk.io.imu_file import read_imu
from momentsense.trainer.cli import main


def test_help_lists_every_command(capsys):
    """`momentsense --help` names each top-level command with one line of help."""
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("demo", "simulate", "convert", "train", "eval"):
        assert f"    {cmd} " in out


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
