"""40 mistakes a user makes on the command line: each ends in exit code 2 and one line on stderr
naming the problem, never a traceback, and before any work is done.

Missing extras are simulated in one subprocess whose import system refuses TensorFlow, the server
and demo packages, h5py and tqdm (as in the base install); the other mistakes run in-process.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from momentsense.trainer.cli import main

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "edge_models" / "artifacts" / "transport_cnn.tflite"

#: (argv, text the one error line must contain). Paths under /nope do not exist; "T/" is tmp_path.
WRONG_PATHS = [
    (["eval", "transport", "--model", "/nope.tflite", "--data", "T/ok.h5"], "--model /nope.tflite: no such file"),
    (["eval", "transport", "--model", str(SHIPPED), "--data", "T/ok.h5,/nope.h5"], "--data /nope.h5: no such file"),
    (["eval", "transport", "--compare", "--metrics", "/nope/metrics.json"], "/nope/metrics.json: no such file"),
    (["train", "transport", "--data", "/nope.h5", "--out", "T/o"], "--data /nope.h5: no such file"),
    (["train", "transport-context", "--model", "/nope.keras", "--data", "T/ok.h5", "--out", "T/o"], "/nope.keras"),
    (["eval", "next-event", "--model", "/nope.tflite", "--data", "T/ok.h5"], "--model /nope.tflite"),
    (["eval", "segments", "--data", "/nope.h5"], "--data /nope.h5"),
    (["eval", "moments", "--data", "/nope.h5"], "--data /nope.h5"),
    (["convert", "csv", "/nope.csv", "--out", "T/x.h5"], "convert: error: /nope.csv: no such file"),
    (["serve", "--models", "/nope_models"], "--models /nope_models"),
    (["run", "--replay", "/nope.csv", "--out", "T/r"], "--replay /nope.csv: no such file"),
    (["run", "--replay", "T/ok.h5", "--out", "T/r"], "ok.h5"),  # not an HDF5 file
    (["run", "--replay", "T/notes.txt", "--out", "T/r"], "expected a .csv or a momentsense-imu-v1 .h5 file"),
    (["export-training", "--db", "sqlite:////nope/server.db", "--out", "T/x.jsonl"], "/nope/server.db not found"),
    (["train", "distributed", "--shards", "/nope_shards", "--out", "T/o"], "--shards /nope_shards"),
]
WRONG_VALUES = [
    (["demo", "--days", "abc"], "argument --days: invalid int value: 'abc'"),
    (["demo", "--days", "0"], "--days must be"),
    (["demo", "--persona", "astronaut"], "unknown persona 'astronaut'"),
    (["demo", "--hours", "-1"], "--hours must be"),
    (["simulate", "sensors", "--minutes", "-1", "--out", "T/s.h5"], "--minutes must be > 0"),
    (["simulate", "sensors", "--minutes", "ten", "--out", "T/s.h5"], "invalid float value: 'ten'"),
    (["bench", "runtime", "--hours", "0"], "--hours must be > 0"),
    (["serve", "--port", "70000"], "--port must be in 1..65535"),
    (["convert", "xyz", "T/ok.h5", "--out", "T/x.h5"], "invalid choice: 'xyz'"),
    (["train", "transport", "--data", "T/ok.h5", "--out", "T/o", "--epochs", "0"], "--epochs must be >= 1"),
    (["eval", "places", "--days", "0"], "--days and --people must be >= 1"),
    (["run", "--replay", "T/bad.csv", "--out", "T/r"], "bad.csv:3: column 'ay' is not a number"),
    (["run", "--replay", "T/bad.csv", "--out", "T/r", "--utc-offset", "30"], "--utc-offset must be in -14..14"),
    (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
]
UNWRITABLE = [
    (["train", "transport", "--data", "T/ok.h5", "--out", "/nonexistent_dir/x.h5"], "folder /nonexistent_dir does not exist"),
    (["simulate", "sensors", "--minutes", "1", "--out", "T/notes.txt/s.h5"], "is a file, not a folder"),
    (["demo", "--out", "/proc/momentsense-demo"], "cannot write in folder /proc"),
    (["convert", "csv", "T/bad.csv", "--out", "/nonexistent_dir/x.h5"], "folder /nonexistent_dir does not exist"),
    (["run", "--replay", "T/bad.csv", "--out", "/nonexistent_dir/deeper/r"], "folder /nonexistent_dir/deeper does not exist"),
    (["profile", "demo", "--out", "/nonexistent_dir/flame.svg"], "folder /nonexistent_dir does not exist"),
]
#: Run with tensorflow, tf_keras, fastapi, uvicorn, sqlalchemy, matplotlib, h5py and tqdm missing.
MISSING_EXTRAS = [
    (["train", "transport", "--data", "x.h5", "--out", "o"], "pip install 'momentsense[train]'"),
    (["train", "next-event", "--data", "x.h5", "--out", "o"], "pip install 'momentsense[train]'"),
    (["quantize", "m.keras", "--out", "o", "--train-data", "a.h5", "--test-data", "b.h5"], "pip install 'momentsense[train]'"),
    (["bench", "models"], "pip install 'momentsense[train]'"),
    (["serve"], "pip install 'momentsense[server]'"),
    (["demo", "--days", "1"], "pip install 'momentsense[demo]'"),
    (["convert", "csv", "x.csv", "--out", "x.h5"], "needs h5py"),
    (["run", "--replay", "x.csv"], "needs matplotlib"),
]
assert len(WRONG_PATHS) + len(WRONG_VALUES) + len(UNWRITABLE) + len(MISSING_EXTRAS) >= 40


@pytest.fixture
def files(tmp_path):
    """T/ok.h5 (exists, not HDF5), T/notes.txt, T/bad.csv (a non-number on line 3)."""
    (tmp_path / "ok.h5").write_bytes(b"not really hdf5")
    (tmp_path / "notes.txt").write_text("notes")
    (tmp_path / "bad.csv").write_text("time,ax,ay,az\n0,0,0,9.8\n0.04,0,x,9.8\n")
    return tmp_path


def _run(argv, tmp_path, capsys):
    argv = [a.replace("T/", f"{tmp_path}/") for a in argv]
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("argv, expected", WRONG_PATHS + WRONG_VALUES + UNWRITABLE, ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_a_mistake_is_one_line_and_exit_2(argv, expected, files, capsys):
    before = sorted(p.name for p in files.iterdir())
    rc, err = _run(argv, files, capsys)
    lines = err.strip().splitlines()
    assert rc == 2, err
    assert "Traceback" not in err and len(lines) == 1, err
    assert expected.replace("T/", f"{files}/") in lines[0] and "error:" in lines[0], lines[0]
    assert sorted(p.name for p in files.iterdir()) == before  # nothing written


BLOCKER = textwrap.dedent(
    """
    import contextlib, importlib.abc, io, json, sys
    BLOCKED = {"tensorflow", "tf_keras", "fastapi", "uvicorn", "sqlalchemy", "matplotlib", "h5py", "tqdm"}

    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    from momentsense.trainer.cli import main
    out = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code
        out.append([rc, err.getvalue(), sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)])
    print(json.dumps(out))
    """
)


def test_a_missing_extra_is_named_before_any_work(tmp_path):
    """Without TensorFlow, the server or h5py, each command names the package and its pip extra at
    once (its inputs need not even exist: nothing is read first)."""
    argvs = [a for a, _ in MISSING_EXTRAS]
    r = subprocess.run([sys.executable, "-c", BLOCKER, json.dumps(argvs)], cwd=tmp_path, capture_output=True, text=True,
                       env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    for (argv, expected), (rc, err, imported) in zip(MISSING_EXTRAS, json.loads(r.stdout)):
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and "Traceback" not in err, (argv, err)
        assert expected in lines[0] and lines[0].startswith(f"momentsense {argv[0]}"), (argv, lines[0])
        assert imported == [], (argv, imported)


def test_an_import_failing_while_running_names_the_extra(monkeypatch, capsys):
    """A module a command did not declare: still one line with the extra to install, exit 2."""
    import momentsense.trainer.commands.bench as bench

    def needs_tf(args):
        raise ModuleNotFoundError("No module named 'tf_keras'", name="tf_keras")

    from momentsense.trainer.cli import build_cli

    cli = build_cli()
    args = cli.parser.parse_args(["bench", "runtime"])
    monkeypatch.setattr(args, "_run", needs_tf)
    from momentsense.trainer.cli import run_command

    assert run_command(args) == 2
    assert capsys.readouterr().err.strip() == (
        "momentsense bench runtime: error: needs the Python package 'tf_keras', not installed: pip install 'momentsense[train]'")
    del bench
