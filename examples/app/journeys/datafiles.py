"""Every file Journeys and its sensing service keep, what is in them, and erasing them (plain Python).

One list, so the Settings screen, the revoke path and the tests agree on what "everything" is:

========================== ============================ ================================================
file                        written by                   holds
========================== ============================ ================================================
``timeline.db``             the SDK (app or service)      transport events, visits, places, trips, driving
``journeys-events.sqlite``  the service / desktop backend events, current context, 5 s of raw samples, GPS track
``corrections.sqlite``      the app                       the user's corrections and place names
``sync/``                   the app's sync                upload queue, per-user salt, install identity
``tiles/``                  the app's map (if turned on)  cached OpenStreetMap tiles of the areas shown
``consent.sqlite``          the app                       the consent decisions (kept: it records the revocation)
``state.json``              the app                       whether sensing is paused (no personal data)
========================== ============================ ================================================
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

TIMELINE = "timeline.db"
EVENTS = "journeys-events.sqlite"
CORRECTIONS = "corrections.sqlite"
SYNC_DIR = "sync"
TILES_DIR = "tiles"
CONSENT_FILES = ("consent.sqlite", "consent.json")
STATE = "state.json"
#: Tables that describe a file's layout rather than hold data.
_META_TABLES = ("schema_version", "upload_meta")


def _sqlite_files(data_dir: Path) -> list[Path]:
    out = []
    for p in sorted(data_dir.rglob("*")):
        if p.is_file() and p.name not in CONSENT_FILES and not p.name.endswith(("-wal", "-shm", "-journal")):
            with open(p, "rb") as f:
                if f.read(16) == b"SQLite format 3\x00":
                    out.append(p)
    return out


def inventory(data_dir: os.PathLike) -> dict:
    """``{relative file: {table: rows}}`` for every SQLite file in ``data_dir`` (consent log excluded),
    plus ``{"coordinates": n}`` per file: rows whose columns or JSON hold a latitude."""
    data_dir = Path(data_dir)
    out: dict = {}
    for p in _sqlite_files(data_dir):
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=5.0)
        try:
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
            rows, coords = {}, 0
            for t in tables:
                if t in _META_TABLES:
                    continue
                rows[t] = con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]
                cols = [r[1] for r in con.execute(f'PRAGMA table_info("{t}")')]
                if "lat" in cols:
                    coords += rows[t]
                elif "data" in cols:
                    coords += con.execute(f'SELECT COUNT(*) FROM "{t}" WHERE data LIKE \'%"lat"%\'').fetchone()[0]
                elif "value" in cols:
                    coords += con.execute(f'SELECT COUNT(*) FROM "{t}" WHERE value LIKE \'%"lat"%\'').fetchone()[0]
            out[str(p.relative_to(data_dir))] = {"rows": rows, "coordinates": coords}
        finally:
            con.close()
    return out


def total_rows(inv: dict) -> int:
    """Data rows over every file of an :func:`inventory`."""
    return sum(sum(f["rows"].values()) for f in inv.values())


def _vacuum(path: Path) -> None:
    """Rewrite the file so erased rows leave no bytes behind (free pages, WAL)."""
    con = sqlite3.connect(str(path), timeout=5.0)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
    except sqlite3.OperationalError as exc:  # another process holds it: rows are gone, bytes go at its next write
        log.warning("could not compact %s: %s", path, exc)
    finally:
        con.close()


def erase_all(data_dir: os.PathLike) -> dict:
    """Erase every row of every data store in ``data_dir`` and the sync salt and identity; returns
    ``{file: rows deleted}``. Safe to call twice, and while the service still has a file open."""
    from journeys.stores import CorrectionStore, EventStore

    data_dir = Path(data_dir)
    out: dict = {}
    if (data_dir / CORRECTIONS).exists():
        out[CORRECTIONS] = CorrectionStore(data_dir / CORRECTIONS).delete_all()
    if (data_dir / EVENTS).exists():
        out[EVENTS] = sum(EventStore(data_dir / EVENTS).delete_all().values())
    if (data_dir / TIMELINE).exists():
        from momentsense.sdk.timeline.store import TimelineStore

        ts = TimelineStore(data_dir / TIMELINE)
        try:
            out[TIMELINE] = sum(ts.delete_all().values())
        finally:
            ts.close()
    sync = data_dir / SYNC_DIR
    if sync.is_dir():
        for p in sorted(sync.iterdir()):
            if p.is_file():
                p.unlink()
                out[f"{SYNC_DIR}/{p.name}"] = "deleted"
    tiles = data_dir / TILES_DIR
    if tiles.is_dir():  # map tiles tell which area the person was in
        import shutil

        out[TILES_DIR] = sum(1 for p in tiles.rglob("*.png"))
        shutil.rmtree(tiles, ignore_errors=True)
    for p in _sqlite_files(data_dir):
        _vacuum(p)
    return out


def read_state(data_dir: os.PathLike) -> dict:
    """The app's small state file (``{"paused": bool}``); empty when absent or unreadable."""
    try:
        return json.loads((Path(data_dir) / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_state(data_dir: os.PathLike, **values) -> None:
    """Update keys of the state file (atomic replace)."""
    d = {**read_state(data_dir), **values}
    path = Path(data_dir) / STATE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(d), encoding="utf-8")
    os.replace(tmp, path)
