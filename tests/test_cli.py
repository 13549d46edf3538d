"""The momentsense command line: help, errors, interruption, the small commands end to end."""

import pytest

from sdk.imu_file import read_imu
from trainer.cli import main


def test_help_lists_every_command_by_section_with_demo_first(capsys):
    """`momentsense --help` lists every command once, in sections (main job first, demo first in it)."""
    from trainer.cli import build_cli

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
    from trainer.cli import HelpFormatter, build_cli

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
    import trainer.demo.run as demo_run

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo_run, "run_demo", interrupted)
    assert main(["demo", "--no-progress"]) == 130
    assert "interrupted" in capsys.readouterr().err
