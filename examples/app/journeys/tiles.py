"""Optional OpenStreetMap background tiles for the map: which tiles a view needs, and a cache (plain Python).

Off by default: fetching tiles tells the tile server which area the map shows, so the user turns it
on in Settings ("Map background"). Tiles are kept in ``<data_dir>/tiles/{z}/{x}/{y}.png`` and reused;
withdrawing consent deletes them with everything else. The map credits "© OpenStreetMap
contributors" whenever a tile is drawn. Fetching follows the OSM tile usage policy: an identifying
User-Agent, tiles cached for ``MAX_AGE_S``, one request at a time, zoom at most ``MAX_ZOOM``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from journeys.daymap import View

TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
USER_AGENT = "Journeys/0.1 (momentsense demo app; https://github.com/momentsense)"
ATTRIBUTION = "© OpenStreetMap contributors"
TILE_PX = 256
MAX_ZOOM = 18
MAX_AGE_S = 7 * 86400.0


@dataclasses.dataclass(frozen=True)
class TilePlace:
    """A tile and where it goes in the widget: bottom-left corner and side, pixels."""

    z: int
    x: int
    y: int
    left: float
    bottom: float
    size: float


def zoom_for(view: View, height: float) -> int:
    """The tile zoom whose tiles are drawn closest to 256 px at this view's scale."""
    return int(max(0, min(MAX_ZOOM, round(math.log2(max(view.scale(height) / TILE_PX, 1.0))))))


def tiles_for_view(view: View, width: float, height: float) -> list[TilePlace]:
    """Every tile that covers a ``width`` × ``height`` widget showing ``view``."""
    z = zoom_for(view, height)
    n = 2**z
    k = view.scale(height)
    x0, x1 = view.x - (width / 2) / k, view.x + (width / 2) / k
    y0, y1 = view.y - (height / 2) / k, view.y + (height / 2) / k
    out = []
    for tx in range(max(0, int(math.floor(x0 * n))), min(n - 1, int(math.floor(x1 * n))) + 1):
        for ty in range(max(0, int(math.floor(y0 * n))), min(n - 1, int(math.floor(y1 * n))) + 1):
            left = width / 2 + (tx / n - view.x) * k
            top = height / 2 - (ty / n - view.y) * k
            out.append(TilePlace(z, tx, ty, left, top - k / n, k / n))
    return out


class TileCache:
    """Tiles on disk; :meth:`request` fetches missing ones on one background thread when allowed."""

    def __init__(self, folder: os.PathLike, fetch: Optional[Callable[[str], bytes]] = None):
        """``fetch(url) -> PNG bytes`` (default: HTTP with the policy's User-Agent; tests pass a fake)."""
        self.folder = Path(folder)
        self.fetch = fetch or _http_get
        self._lock = threading.Lock()
        self._queue: list = []
        self._worker: Optional[threading.Thread] = None

    def path(self, z: int, x: int, y: int) -> Path:
        return self.folder / str(z) / str(x) / f"{y}.png"

    def get(self, z: int, x: int, y: int) -> Optional[Path]:
        """The cached tile's file, or None (also when older than ``MAX_AGE_S``: it is fetched again)."""
        p = self.path(z, x, y)
        return p if p.is_file() and time.time() - p.stat().st_mtime < MAX_AGE_S else None

    def request(self, tiles, on_ready: Callable[[], None]) -> None:
        """Fetch the missing ``tiles`` in the background; ``on_ready()`` after each one arrives."""
        with self._lock:
            for t in tiles:
                key = (t.z, t.x, t.y)
                if self.get(*key) is None and key not in self._queue:
                    self._queue.append(key)
            if self._queue and (self._worker is None or not self._worker.is_alive()):
                self._worker = threading.Thread(target=self._run, args=(on_ready,), daemon=True)
                self._worker.start()

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait until the background fetches end (tests, app exit)."""
        w = self._worker
        if w is not None:
            w.join(timeout_s)

    def _run(self, on_ready) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                z, x, y = self._queue.pop(0)
            try:
                data = self.fetch(TILE_URL.format(z=z, x=x, y=y))
            except Exception:  # offline, refused: the map works without its background
                continue
            p = self.path(z, x, y)
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, p)
            on_ready()


def _http_get(url: str) -> bytes:
    import requests

    r = requests.get(url, headers={"User-Agent": USER_AGENT}, timeout=10)
    r.raise_for_status()
    return r.content
