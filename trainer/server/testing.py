"""Helpers for tests and demos: ``momentsense serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``momentsense serve`` on ``127.0.0.1:port`` with ``db_path``; restartable on the same port and database.

    Parameters
    ----------
    db_path : Path
        SQLite file.
    api_keys : dict
        App name → API key registered at each start (``--app-key``).
    models_dir : path, optional
        Registry folder (default: the shipped artifacts).
    port : int, optional
        Default: a free port.
    """

    def __init__(self, db_path: Path, api_keys: dict, models_dir: Optional[Path] = None, port: Optional[int] = None,
                 extra_args: tuple = ("--rate-limit", "0")):  # fmt: skip
        self.db_url = f"sqlite:///{db_path}"
        self.api_keys = dict(api_keys)
        self.models_dir = models_dir
        self.port = port or free_port()
        self.extra_args = tuple(extra_args)
        self.proc: Optional[subprocess.Popen] = None
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> "ServerProcess":
        cmd = [sys.executable, "-m", "momentsense.trainer.cli", "serve", "--db", self.db_url, "--port", str(self.port), *self.extra_args]
        for name, key in self.api_keys.items():
            cmd += ["--app-key", f"{name}:{key}"]
        if self.models_dir is not None:
            cmd += ["--models", str(self.models_dir)]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if requests.get(self.url + "/health", timeout=0.5).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start in time")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL (a crash: no graceful shutdown)."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
