"""The code in README.md and docs/*.md works as written.

Every ```python block runs in a fresh interpreter in an empty folder (blocks of one file run in order,
each on its own). Every ``momentsense ...`` line of a ```bash block is parsed by the real command
line parser (commands and options must exist; long jobs are not run here, their own tests run them).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.M | re.S)


def _blocks(lang: str) -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for i, m in enumerate(b for b in FENCE.finditer(text) if b.group(1) == lang):
            line = text[: m.start()].count("\n") + 1
            found.append((f"{path.relative_to(REPO)}:{line}", m.group(2)))
    return found


def _commands(block: str) -> list[str]:
    """The ``momentsense ...`` invocations of a shell block (continuation lines joined, comments cut)."""
    text = block.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line.split(" #", 1)[0]):
            part = part.strip().removesuffix("&").strip()  # a command started in the background
            if part.startswith("momentsense "):
                out.append(part)
    return out


PYTHON = _blocks("python")
SHELL = [(where, cmd) for where, block in _blocks("bash") for cmd in _commands(block)]


def test_the_docs_have_examples():
    """The README carries runnable Python and command examples (so the checks below check something)."""
    assert any(w.startswith("README.md") for w, _ in PYTHON)
    assert any(w.startswith("README.md") for w, _ in SHELL)


@pytest.mark.parametrize("where, code", PYTHON, ids=[w for w, _ in PYTHON])
def test_python_block_runs(where, code, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, f"{where} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("where, command", SHELL, ids=[f"{w} {c[:40]}" for w, c in SHELL])
def test_shell_command_parses(where, command):
    from momentsense.trainer.cli import build_cli

    argv = shlex.split(command)[1:]
    if argv in (["--help"], ["--version"]) or argv[-1:] == ["--help"]:
        return
    parser = build_cli().parser
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's exit on an unknown command or option
        pytest.fail(f"{where}: '{command}' does not parse (exit {exc.code})")
    assert getattr(args, "_run", None) is not None, f"{where}: '{command}' names a group, not a command"
