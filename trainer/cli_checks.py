"""Checks the ``momentsense`` CLI runs before a command does any work.

* :func:`missing_extra`: the optional packages a command needs (``needs="train"``) are importable,
  found without importing them (so the check costs milliseconds, not TensorFlow's import time);
* :func:`check_paths`: every input option (``--data``, ``--model``, ...) names an existing path and
  every output option (``--out``, ...) lies below an existing, writable folder; messages name the
  option and the path exactly as the user typed them.

Every failure raises :class:`UsageError`, which the CLI prints as one line with exit code 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Iterable, Optional, Sequence

from momentsense.sdk.errors import InputError


class UsageError(InputError):
    """A mistake in the command line or its environment, reported in one line with exit code 2."""


#: Import names each pip extra of ``setup.py`` provides (the ones commands import).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "train": ("tensorflow", "tf_keras", "tensorflow_model_optimization", "h5py", "sklearn", "matplotlib", "tqdm"),
    "demo": ("tqdm", "h5py", "matplotlib", "fastapi", "uvicorn", "sqlalchemy"),
    "server": ("fastapi", "uvicorn", "sqlalchemy"),
    "app": ("kivy",),
    "dev": ("pytest", "hypothesis", "trackintel"),
}
#: The extra named for a module a command failed to import (the smallest one that provides it).
MODULE_EXTRA: dict[str, str] = {}
for _extra in ("dev", "app", "train", "demo", "server"):
    for _mod in EXTRA_MODULES[_extra]:
        MODULE_EXTRA[_mod] = _extra
MODULE_EXTRA.update({"keras": "train", "py_spy": "dev", "psycopg": "server", "httpx": "server", "ai_edge_litert": "the base install"})

#: Options whose value is an input path (comma-separated lists allowed) and options whose value is
#: an output path (a file or a folder the command creates).
INPUT_OPTIONS = ("data", "test_data", "train_data", "model", "src", "replay", "metrics", "markov_population",
                 "shards", "add_to_metrics", "models")  # fmt: skip
OUTPUT_OPTIONS = ("out", "ship", "backup_dir")
#: Values of input options that are names, not paths.
NOT_PATHS = {"recommended", "none", "shipped"}


def install_hint(extra: str) -> str:
    """``pip install 'momentsense[EXTRA]'`` (or how to repair the base install)."""
    if extra == "the base install":
        return "pip install momentsense"
    return f"pip install 'momentsense[{extra}]'"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra(needs: Optional[Sequence[str]]) -> Optional[str]:
    """The message for the first declared extra (or module) that is not installed, else None.

    ``needs`` holds extra names (``"train"``: all its modules must import) or module names.
    """
    for need in needs or ():
        modules = EXTRA_MODULES.get(need, (need,))
        missing = [m for m in modules if not _importable(m)]
        if missing:
            extra = need if need in EXTRA_MODULES else MODULE_EXTRA.get(need, need)
            return f"needs {', '.join(missing)}, not installed: {install_hint(extra)}"
    return None


def module_error_message(exc: ModuleNotFoundError) -> str:
    """One line for a module a command could not import: which module and which extra to install."""
    top = (exc.name or str(exc)).split(".")[0]
    extra = MODULE_EXTRA.get(top)
    hint = install_hint(extra) if extra else f"pip install {top.replace('_', '-')}"
    return f"needs the Python package {top!r}, not installed: {hint}"


def _paths(value: str) -> list[str]:
    """The paths of an option value: itself if it exists, else its comma-separated parts."""
    if os.path.exists(value) or "," not in value:
        return [value]
    return [v for v in (p.strip() for p in value.split(",")) if v]


def _flag(args: argparse.Namespace, dest: str) -> str:
    """How the user wrote the argument: ``--test-data`` for an option, nothing for a positional."""
    return "" if dest in getattr(args, "_positionals", ()) else f"--{dest.replace('_', '-')} "


def check_inputs(args: argparse.Namespace, options: Iterable[str] = INPUT_OPTIONS) -> None:
    """Every input option given names an existing file or folder; raises :class:`UsageError` naming it."""
    for dest in options:
        value = getattr(args, dest, None)
        if not isinstance(value, str) or not value or value in NOT_PATHS or "://" in value:
            continue
        for path in _paths(value):
            if not os.path.exists(path):
                raise UsageError(f"{_flag(args, dest)}{path}: no such file or folder")


def check_output(flag: str, value: str) -> None:
    """``value`` (given as ``flag``, e.g. ``"--out "``) can be written: its parent folder exists, is a
    folder and is writable."""
    path = Path(value).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    flag = f"{flag}{value}"
    if not parent.exists():
        raise UsageError(f"{flag}: folder {parent} does not exist (create it first; only the last part is created)")
    if not parent.is_dir():
        raise UsageError(f"{flag}: {parent} is a file, not a folder")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".momentsense-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write in folder {parent} ({exc.strerror or exc})") from None


def check_outputs(args: argparse.Namespace, options: Iterable[str] = OUTPUT_OPTIONS) -> None:
    """Every output option given (a str) lies below an existing, writable folder."""
    for dest in options:
        value = getattr(args, dest, None)
        if isinstance(value, str) and value and value not in NOT_PATHS:
            check_output(_flag(args, dest), value)


def check_paths(args: argparse.Namespace) -> None:
    """:func:`check_inputs` then :func:`check_outputs`."""
    check_inputs(args)
    check_outputs(args)
