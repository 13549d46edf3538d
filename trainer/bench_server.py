"""``momentsense bench server``: simulated phones upload day payloads to the sync server; JSON out.

The server is started on a free loopback port (``momentsense serve`` in a subprocess, SQLite in a
temporary folder unless ``db_url`` names a database) or an existing one on ``127.0.0.1`` is used.
``clients`` concurrent simulated phones each upload one day per request (gzip JSON built by the
SDK's :func:`sdk.sync.payload.build_day_payload` from commuter days, :func:`commuter_week`), each install its
week of days, then the next install; like the SDK's client they retry the same batch (same
idempotency key) after a timeout, a 503/429 (``Retry-After``, with jitter) or a lost connection.

Afterwards every acknowledged batch is looked up in the database (its ``batches`` row and its
day row): ``acked_missing`` counts those not there. A tiny HTTP/1.1 client on asyncio streams keeps
the load generator's own CPU low (it shares the machine with the server).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as _dt
import gzip
import json
import os
import random
import resource
import secrets
import tempfile
import time
from pathlib import Path
from typing import Optional

from momentsense.sdk.errors import InputError

MAX_CLIENTS = 2000
MAX_SECONDS = 900.0
DAYS_PER_INSTALL = 7


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    """What :func:`bench_server` drives.

    Attributes:
        clients: Concurrent simulated phones.
        seconds: Duration of the load, s.
        db_url: Server database (None: a SQLite file in a temporary folder).
        workers: Server worker processes.
        url: An already running server on loopback (then ``db_url`` is where it stores, for the count).
        timeout_s: Client timeout per request, s (the SDK's default).
        seed: Jitter and payload seed.
        kill_server_every_s: SIGKILL and restart the spawned server at random times about this often
            (0: never); clients also abandon a request at random with probability ``client_abort_p``.
        client_abort_p: Probability that a client drops a request mid-flight (a killed app) and sends
            it again later with the same idempotency key.
        server_args: Extra ``momentsense serve`` arguments.
    """

    clients: int = 50
    seconds: float = 60.0
    db_url: Optional[str] = None
    workers: int = 1
    url: Optional[str] = None
    timeout_s: float = 15.0
    seed: int = 0
    kill_server_every_s: float = 0.0
    client_abort_p: float = 0.0
    server_args: tuple = ()

    def __post_init__(self) -> None:
        if not 1 <= self.clients <= MAX_CLIENTS:
            raise InputError(f"--clients must be in 1..{MAX_CLIENTS}, got {self.clients}")
        if not 0 < self.seconds <= MAX_SECONDS:
            raise InputError(f"--seconds must be in (0, {MAX_SECONDS:g}], got {self.seconds}")
        if self.workers < 1:
            raise InputError(f"--workers must be >= 1, got {self.workers}")
        if self.url is not None and not self.url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise InputError(f"--url must be a loopback http://127.0.0.1:PORT server, got {self.url!r}")
        if self.url is not None and self.kill_server_every_s:
            raise InputError("--kill-server-every needs a server this command starts (no --url)")


def commuter_week(t0: float, seed: int) -> list:
    """A week of one commuter's typed records (:class:`sdk.sync.payload.SyncDay`), from ``t0`` (Monday
    00:00 UTC): weekdays home → work (car, bus or bike) → café → work → shop → home, weekends home →
    shop → home; times drawn around those of :func:`trainer.eval_places.simulate_days` (which replays
    the sensors and takes a minute per week on a busy machine, too slow to drive a load test)."""
    from momentsense.sdk.sync.payload import MomentSpan, SyncDay
    from momentsense.sdk.timeline.records import DrivingScore, Place, Trip, Visit

    rng = random.Random(seed)
    coords = {"home": (48.85, 2.35), "work": (48.87, 2.39), "cafe": (48.871, 2.392), "shop": (48.852, 2.352)}
    labels = {"home": "home", "work": "work", "cafe": "restaurant", "shop": "shop"}
    places = [Place(k, lat, lon, 10, 1, 1, labels[k]) for k, (lat, lon) in coords.items()]
    days = []
    for d in range(DAYS_PER_INSTALL):
        day_t = t0 + d * 86400.0
        h = 3600.0
        plan = ([("home", 7.4), ("work", 12.0), ("cafe", 12.8), ("work", 17.5), ("shop", 17.9), ("home", 24.0)]
                if d < 5 else [("home", 10.5), ("shop", 11.2), ("home", 24.0)])  # fmt: skip
        mode = rng.choice(["car", "bus", "bike"])
        visits, trips, moments, drives = [], [], [], []
        t = day_t
        for k, (place, until) in enumerate(plan):
            end = day_t + (until + rng.uniform(-0.2, 0.2)) * h if until < 24 else day_t + 86399.0
            end = max(end, t + 600.0)
            visits.append(Visit(t, end, place, *coords[place]))
            if k + 1 < len(plan):
                nxt = plan[k + 1][0]
                far = {place, nxt} == {"home", "work"}
                dur = rng.uniform(1500, 2700) if far else rng.uniform(300, 900)
                modes = ("walk", mode, "walk") if far else ("walk",)
                trips.append(Trip(end, end + dur, place, nxt, modes, rng.uniform(6000, 11000) if far else rng.uniform(200, 900)))
                moments.append(MomentSpan(end, end + dur, "commute" if far else ("shopping" if nxt == "shop" else "errand")))
                if far and mode == "car":
                    drives.append(DrivingScore(end, end + dur, rng.uniform(60, 95), rng.uniform(0, 8), rng.uniform(6000, 11000),
                                               {"harsh_braking": rng.randint(0, 3)}))  # fmt: skip
                t = end + dur
        day = time.strftime("%Y-%m-%d", time.gmtime(day_t))
        days.append(SyncDay(day, tuple(visits), tuple(trips), tuple(places), moments=tuple(moments),
                            segments={"commuter": round(rng.uniform(0.6, 0.95), 2)}, driving_scores=tuple(drives)))  # fmt: skip
    return days


def _day_bodies(n_salts: int, seed: int) -> list[list[tuple[str, bytes]]]:
    """``[salt][day] -> (day string, gzip body)``: each salt a commuter week ending a week ago."""
    from momentsense.sdk.sync.payload import build_day_payload

    today = _dt.datetime.now(_dt.timezone.utc).date()
    monday = today - _dt.timedelta(days=today.weekday() + 14)
    t0 = _dt.datetime(monday.year, monday.month, monday.day, tzinfo=_dt.timezone.utc).timestamp()
    out = []
    for k in range(n_salts):
        salt = bytes([k + 1]) * 32
        out.append([(d.day, gzip.compress(json.dumps({"days": [build_day_payload(d, salt, revision=1)]},
                                                     separators=(",", ":")).encode()))
                    for d in commuter_week(t0, seed * 1000 + k)])  # fmt: skip
    return out


async def _http(host: str, port: int, method: str, path: str, headers: dict, body: bytes,
                conn: list, timeout_s: float) -> tuple[int, dict]:  # fmt: skip
    """One HTTP/1.1 request on the keep-alive connection ``conn[0]`` (opened if None); (status, headers)."""
    async def go():
        if conn[0] is None:
            conn[0] = await asyncio.open_connection(host, port)
        reader, writer = conn[0]
        head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(head.encode() + b"\r\n" + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        h = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            h[k.strip().lower()] = v.strip()
        await reader.readexactly(int(h.get("content-length", "0")))
        if h.get("connection", "").lower() == "close":
            _close(conn)
        return status, h

    try:
        return await asyncio.wait_for(go(), timeout_s)
    except BaseException:
        _close(conn)
        raise


def _close(conn: list) -> None:
    if conn[0] is not None:
        try:
            conn[0][1].close()
        except Exception:  # already broken
            pass
        conn[0] = None


def _pct(xs: list, q: float) -> Optional[float]:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))], 1)


def _cpu_s(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live children, s (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            f = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(p.name) == pid or int(f[1]) == pid:
            total += (int(f[11]) + int(f[12])) / tick
    return total


class _Load:
    def __init__(self, o: BenchOptions, host: str, port: int, key: str, bodies: list):
        self.o, self.host, self.port, self.key, self.bodies = o, host, port, key, bodies
        self.status: dict = {}
        self.lat_ms: list = []
        self.ack_ms: list = []
        self.acked: list = []  # (install_id, day, key)
        self.aborted = 0
        self.health_ms: list = []
        self.health_fail = 0
        self.stop_t = 0.0
        # installs and keys unique to this run, so a reused database never answers with old receipts
        self.run_id = secrets.randbits(32)

    def count(self, k) -> None:
        self.status[str(k)] = self.status.get(str(k), 0) + 1

    async def phone(self, i: int, rng: random.Random) -> None:
        conn: list = [None]
        seq = 0
        while time.monotonic() < self.stop_t:
            inst = f"{self.run_id:08x}{i:08x}{seq // DAYS_PER_INSTALL:016x}"
            token = f"{inst}.{(inst * 2)}"
            day, body = self.bodies[i % len(self.bodies)][seq % DAYS_PER_INSTALL]
            key = f"bench-{self.run_id:08x}-{i}-{seq}"
            headers = {"X-Api-Key": self.key, "X-Install-Token": token, "Idempotency-Key": key,
                       "Content-Encoding": "gzip", "Content-Type": "application/json"}  # fmt: skip
            first, attempt = time.monotonic(), 0
            while time.monotonic() < self.stop_t:
                t = time.monotonic()
                wait = None
                if self.o.client_abort_p and rng.random() < self.o.client_abort_p:
                    try:  # a killed app: the request goes out, the answer is never read; sent again later
                        await _http(self.host, self.port, "POST", "/v1/ingest", headers, body, conn, rng.uniform(0.001, 0.05))
                    except (asyncio.TimeoutError, OSError, ConnectionError, ValueError, IndexError,
                            asyncio.IncompleteReadError):  # fmt: skip
                        pass
                    _close(conn)
                    self.aborted += 1
                try:
                    status, h = await _http(self.host, self.port, "POST", "/v1/ingest", headers, body, conn, self.o.timeout_s)
                except asyncio.TimeoutError:
                    self.count("timeout")
                except (OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
                    self.count("connection_error")
                    wait = rng.uniform(0.05, 0.5)
                else:
                    self.count(status)
                    self.lat_ms.append((time.monotonic() - t) * 1000)
                    if status == 200:
                        self.acked.append((inst, day, key))
                        self.ack_ms.append((time.monotonic() - first) * 1000)
                        break
                    if status in (429, 503, 409):
                        wait = float(h.get("retry-after", "1")) * rng.uniform(1.0, 1.5)
                    elif status >= 500:
                        wait = rng.uniform(0.1, 1.0)
                    else:
                        break  # a refusal for good (4xx): the SDK drops the batch
                attempt += 1
                await asyncio.sleep(wait if wait is not None else rng.uniform(0, min(2.0, 0.25 * 2**attempt)))
            seq += 1
        _close(conn)

    async def health(self) -> None:
        while time.monotonic() < self.stop_t:
            t = time.monotonic()
            conn: list = [None]
            try:
                status, _ = await _http(self.host, self.port, "GET", "/health", {}, b"", conn, 1.0)
                ok = status == 200
            except (asyncio.TimeoutError, OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
                ok = False
            _close(conn)
            self.health_ms.append((time.monotonic() - t) * 1000)
            self.health_fail += 0 if ok else 1
            await asyncio.sleep(0.5)

    async def run(self, killer=None) -> None:
        self.stop_t = time.monotonic() + self.o.seconds
        tasks = [self.phone(i, random.Random(self.o.seed * 100_003 + i)) for i in range(self.o.clients)]
        tasks.append(self.health())
        if killer is not None:
            tasks.append(killer(self))
        await asyncio.gather(*tasks)


def _missing(db_url: str, acked: list) -> int:
    """Acknowledged batches whose ``batches`` row or day row is not in the database."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from momentsense.trainer.server.db import Batch, Day

    engine = create_engine(db_url)
    with Session(engine) as s:
        keys = set(s.scalars(select(Batch.key)))
        days = set(s.execute(select(Day.install_id, Day.day)).all())
    engine.dispose()
    return sum(1 for inst, day, key in acked if key not in keys or (inst, day) not in days)


async def _recovery_s(host: str, port: int, key: str, bodies: list, timeout_s: float = 30.0) -> Optional[float]:
    """Seconds after the load until ``/health`` and a fresh ingest both answer 200."""
    t0 = time.monotonic()
    day, body = bodies[0][0]
    inst = secrets.token_hex(16)
    h = {"X-Api-Key": key, "X-Install-Token": f"{inst}.{inst * 2}", "Idempotency-Key": "bench-recovery-" + inst,
         "Content-Encoding": "gzip", "Content-Type": "application/json"}  # fmt: skip
    while time.monotonic() - t0 < timeout_s:
        conn: list = [None]
        try:
            a, _ = await _http(host, port, "GET", "/health", {}, b"", conn, 1.0)
            b, _ = await _http(host, port, "POST", "/v1/ingest", h, body, conn, 2.0)
            if a == 200 and b == 200:
                return round(time.monotonic() - t0, 2)
        except (asyncio.TimeoutError, OSError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError):
            pass
        finally:
            _close(conn)
        await asyncio.sleep(0.1)
    return None


def bench_server(o: BenchOptions) -> dict:
    """Run the load (see the module docstring) and return the JSON record."""
    from momentsense.trainer.server.testing import ServerProcess

    bodies = _day_bodies(16, o.seed)
    tmp = tempfile.TemporaryDirectory(prefix="momentsense-bench-server-")
    db_url = o.db_url or f"sqlite:///{tmp.name}/bench.db"
    key = "bench-" + secrets.token_hex(16)
    server = None
    if o.url is None:
        args = ("--workers", str(o.workers), "--max-day-age-days", "400", *o.server_args)
        server = ServerProcess(db_url, {"bench": key}, extra_args=args).start(timeout_s=60.0)
        url = server.url
    else:
        url = o.url
        from momentsense.trainer.server.db import add_app, make_engine

        engine = make_engine(db_url)
        add_app(engine, "bench", key)
        engine.dispose()
    host, port = url.split("//")[1].split(":")
    port = int(port)
    rng = random.Random(o.seed)

    async def killer(load: _Load):
        while time.monotonic() < load.stop_t - 2.0:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * o.kill_server_every_s)
            if time.monotonic() >= load.stop_t - 2.0:
                break
            server.kill()
            await asyncio.get_running_loop().run_in_executor(None, server.start, 60.0)

    load = _Load(o, host, port, key, bodies)
    cpu0 = _cpu_s(server.proc.pid) if server else None
    gen0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    try:
        asyncio.run(load.run(killer if o.kill_server_every_s and server else None))
        wall = time.monotonic() - t0
        cpu1 = _cpu_s(server.proc.pid) if server else None
        gen1 = resource.getrusage(resource.RUSAGE_SELF)
        recovery = asyncio.run(_recovery_s(host, port, key, bodies))
    finally:
        if server is not None:
            server.stop()
    missing = _missing(db_url, load.acked)
    tmp.cleanup()
    n_acked = len(load.acked)
    server_cpu = None if cpu0 is None or server.kills else round(cpu1 - cpu0, 2)
    return {
        "clients": o.clients, "seconds": o.seconds, "wall_s": round(wall, 2), "workers": o.workers,
        "db": db_url.split(":")[0].split("+")[0], "acked": n_acked, "acked_per_s": round(n_acked / o.seconds, 1),
        "p50_ms": _pct(load.lat_ms, 50), "p95_ms": _pct(load.lat_ms, 95), "p99_ms": _pct(load.lat_ms, 99),
        "ack_p99_ms": _pct(load.ack_ms, 99),
        "status_counts": dict(sorted(load.status.items())),
        "server_errors_5xx": sum(v for k, v in load.status.items() if k.isdigit() and int(k) >= 500 and int(k) != 503),
        "acked_missing": missing,
        "health_max_ms": _pct(load.health_ms, 100), "health_failures": load.health_fail,
        "recovery_s": recovery,
        "server_kills": server.kills if server else 0, "client_aborts": load.aborted,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_ack": round(1000 * server_cpu / n_acked, 2) if server_cpu and n_acked else None,
        "loadgen_cpu_s": round(gen1.ru_utime + gen1.ru_stime - gen0.ru_utime - gen0.ru_stime, 2),
        "cpu_count": os.cpu_count(), "loadavg_1min_end": round(os.getloadavg()[0], 2),
    }  # fmt: skip
