"""Measure the upload size: gzip day payloads of simulated people vs their raw sensor bytes.

    python -m momentsense.trainer.server.payload_size [--days 5] [--people 3] [--seed 0]

Each person's days go through the real timeline stages (stay points, places, home/work, trips;
:func:`trainer.eval_places.simulate_days`), then :func:`sdk.sync.payload.build_day_payload`. Raw
bytes per day are what ``momentsense-imu-v1`` stores (docs/formats.md): 25 Hz IMU, each sample t
float64 + acc and gyro 3×float32 (32 B), for 24 h, plus the day's 1 Hz GPS fixes (t, lat, lon float64
+ accuracy, speed float32: 32 B each). Prints JSON.
"""

from __future__ import annotations

import argparse
import gzip
import json

import numpy as np

IMU_SAMPLE_BYTES = 8 + 3 * 4 + 3 * 4
GPS_FIX_BYTES = 3 * 8 + 2 * 4


def measure(n_days: int = 5, n_people: int = 3, seed: int = 0, installs: int = 0) -> dict:
    from momentsense.sdk.sync.payload import MomentSpan, build_day_payload, day_of, split_days
    from momentsense.sdk.timeline.places import cluster_places, label_home_work
    from momentsense.sdk.timeline.stay_points import detect_stay_points
    from momentsense.sdk.timeline.trips import build_trips
    from momentsense.trainer.eval_places import simulate_days

    per_day, raw_per_day, batch_bytes, json_bytes, n_days_total = [], [], [], [], 0
    all_payloads: list = []
    for k in range(n_people):
        sim = simulate_days(n_days, seed=seed * 1000 + k)
        stays, _ = detect_stay_points(sim.fixes)
        places, visits = cluster_places(stays)
        places = label_home_work(places, visits)
        trips = build_trips(visits, sim.fixes, sim.transport_events())
        moments = [MomentSpan(t.start, t.end, "commute") for t in trips]
        salt = bytes([k]) * 32
        days = split_days(visits, trips, moments, places=places, segments={"commuter": 0.8})
        payloads = [build_day_payload(d, salt, revision=1) for d in days]
        fix_days = np.array([day_of(t) for t in sim.fixes["t"]])
        for p in payloads:
            body = json.dumps(p, separators=(",", ":")).encode()
            per_day.append(len(gzip.compress(body)))
            json_bytes.append(len(body))
            raw_per_day.append(86400 * 25 * IMU_SAMPLE_BYTES + int(np.sum(fix_days == p["day"])) * GPS_FIX_BYTES)
        batch_bytes.append(len(gzip.compress(json.dumps({"days": payloads}, separators=(",", ":")).encode())))
        n_days_total += len(payloads)
        all_payloads.append((salt, days))
    per_day, raw = np.array(per_day), np.array(raw_per_day)
    server = server_bytes_per_day(all_payloads, installs) if installs else {}
    return {**server,
        "people": n_people, "days_per_person": n_days, "day_payloads": int(len(per_day)),
        "json_bytes_per_day_median": float(np.median(json_bytes)),
        "gzip_bytes_per_day_median": float(np.median(per_day)), "gzip_bytes_per_day_max": int(per_day.max()),
        "gzip_bytes_per_day_in_batches": float(sum(batch_bytes) / n_days_total),
        "raw_bytes_per_day_median": float(np.median(raw)),
        "ratio_median": float(np.median(per_day / raw)),
    }  # fmt: skip


def server_bytes_per_day(people_days: list, installs: int) -> dict:
    """Server storage per stored user-day: ingest the simulated days as ``installs`` installs (each a
    different user salt, so place tokens differ) into a fresh SQLite server, then divide the file size."""
    import tempfile
    import warnings
    from pathlib import Path

    from momentsense.sdk.sync.payload import build_day_payload
    from momentsense.trainer.server.app import ServerSettings, create_app
    from momentsense.trainer.server.db import add_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "server.db"
        app = create_app(ServerSettings(db_url=f"sqlite:///{db}", rate_per_s=0))
        key = add_app(app.state.engine, "size")
        c = TestClient(app)
        n = 0
        for i in range(installs):
            _, days = people_days[i % len(people_days)]
            salt = i.to_bytes(4, "big") * 8
            tok = f"{i:032x}." + f"{i:064x}"
            body = gzip.compress(json.dumps({"days": [build_day_payload(d, salt, revision=1) for d in days]}).encode())
            r = c.post("/v1/ingest", content=body, headers={"X-Api-Key": key, "X-Install-Token": tok,
                                                           "Idempotency-Key": f"size-{i:08d}", "Content-Encoding": "gzip",
                                                           "Content-Type": "application/json"})  # fmt: skip
            r.raise_for_status()
            n += len(days)
        app.state.engine.dispose()
        size = db.stat().st_size + sum(p.stat().st_size for p in Path(tmp).glob("server.db-*"))
    return {"server_installs": installs, "server_days_stored": n, "server_bytes_per_day": round(size / n, 1)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=5)
    ap.add_argument("--people", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--installs", type=int, default=0, help="also measure server storage with this many installs")
    a = ap.parse_args(argv)
    print(json.dumps(measure(a.days, a.people, a.seed, a.installs), indent=2))


if __name__ == "__main__":
    main()
