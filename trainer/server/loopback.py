"""The sync server in this process: uvicorn in a daemon thread on ``127.0.0.1`` and a free port.

For the demo, the quickstart example and tests: the real server (:func:`trainer.server.app.create_app`,
FastAPI + SQLAlchemy on a SQLite file) with one app registered under a fresh API key.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

from momentsense.sdk.errors import InputError


class LoopbackServer:
    """The sync server in this process; a context manager.

    Parameters
    ----------
    db_path : Path
        SQLite file of the server's database (created).
    app_name : str
        Name the API key is registered under.
    """

    def __init__(self, db_path: Path, app_name: str = "demo"):
        try:
            import uvicorn

            from momentsense.trainer.server.app import ServerSettings, create_app
            from momentsense.trainer.server.db import add_app, make_engine
        except ImportError as exc:
            raise InputError(f"the in-process server needs fastapi, uvicorn and sqlalchemy: pip install -e '.[demo]' ({exc})") from None
        from momentsense.trainer.server.testing import free_port

        self.db_url = f"sqlite:///{db_path}"
        self.api_key = secrets.token_hex(16)
        engine = make_engine(self.db_url)
        add_app(engine, app_name, self.api_key)
        engine.dispose()
        self.port = free_port()
        app = create_app(ServerSettings(db_url=self.db_url, rate_per_s=0.0))
        self.engine = app.state.engine
        # log_config=None: uvicorn's default dictConfig would replace (and close) the process's
        # logging handlers, including ones other libraries hold on to (absl's closes its stream).
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error",
                                                     log_config=None))
        self._thread = threading.Thread(target=self._server.run, name="momentsense-loopback-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:  # noqa: PYI034
        self._thread.start()
        deadline = time.monotonic() + 20.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(10.0)
        self.engine.dispose()

    def days_held(self, install_id: str | None = None) -> list:
        """Days the server stores (for ``install_id``, or for every install)."""
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from momentsense.trainer.server.db import Day

        q = select(Day.day)
        if install_id is not None:
            q = q.where(Day.install_id == install_id)
        with Session(self.engine) as s:
            return sorted(s.scalars(q).all())

    def feedback_held(self) -> int:
        """Feedback items the server stores (every install)."""
        from sqlalchemy import func, select
        from sqlalchemy.orm import Session

        from momentsense.trainer.server.db import Feedback

        with Session(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(Feedback)) or 0)
