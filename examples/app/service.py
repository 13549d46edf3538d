"""Journeys' sensing service: python-for-android runs this file as a foreground service.

``buildozer.spec``: ``services = Sensing:service.py:foreground:sticky:foregroundServiceType=location``.
Android stops delivering accelerometer and gyroscope data to background apps, so the SDK runs here
(with the phone's sensors) and hands everything to the app through the local store:

* transport events → ``journeys-events.sqlite`` (:class:`journeys.stores.EventStore`), and the SDK's own
  timeline store when the SDK writes one;
* once a second: the current context (``context``) and the last 5 s of raw samples (``samples``), so
  the app's Now screen can draw live traces.

The service senses only while consent is recorded (checked at start and every second); revoking
consent in the app stops it. Desktop test: ``python examples/app/service.py --source simulate --seconds 5``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if not (HERE / "sdk").is_dir() and (HERE.parent.parent / "sdk").is_dir():
    sys.path.insert(1, str(HERE.parent.parent))

log = logging.getLogger("journeys.service")


def context_dict(ctx) -> dict:
    """A :class:`~journeys.bridge.ContextView` as the JSON the app reads."""
    d = {"mode": ctx.mode, "confidence": ctx.confidence, "running": ctx.running, "events": ctx.events, "t": time.time()}
    if ctx.has_place:
        d["place"] = None if ctx.place is None else str(getattr(ctx.place, "label", ctx.place))
    if ctx.has_trip:
        d["trip_in_progress"] = None if ctx.trip_in_progress is None else str(ctx.trip_in_progress)
    return d


def run(source: str = "auto", data_dir=None, seconds: float = float("inf"), speed: float = 1.0, period_s: float = 1.0, legs=None) -> int:
    """Sense until consent is revoked, the source ends or ``seconds`` pass; returns the number of events stored."""
    from journeys.bridge import Consent, LiveBackend, SourceChoice, app_data_dir, local_tz_offset_s
    from journeys.stores import EventStore

    folder = app_data_dir(data_dir)
    consent = Consent(folder)
    if not consent.granted():
        log.warning("no consent recorded in %s: the sensing service does not start", folder)
        return 0
    store = EventStore(folder / "journeys-events.sqlite")
    backend = LiveBackend(SourceChoice(source, speed=speed, legs=legs, start_today=False), local_tz_offset_s(), folder)
    n = [0]

    def on_event(e):
        if not (hasattr(e, "mode") and hasattr(e, "start")):
            return  # driving events and scores: the app reads them from the SDK's store
        store.add_events([e])
        n[0] += 1

    backend.on_event(on_event)
    backend.start()
    t_end = time.monotonic() + seconds
    try:
        while time.monotonic() < t_end:
            ctx = backend.context()
            store.put("context", context_dict(ctx))
            store.put("samples", backend.samples())
            if not ctx.running or not consent.granted():
                break
            time.sleep(period_s)
    finally:
        backend.stop()
        store.put("context", {**context_dict(backend.context()), "running": False})
        backend.close()
        consent.close()
    return n[0]


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO)
    if "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ:
        run("auto")
        return
    ap = argparse.ArgumentParser(description="Journeys' sensing service, run on a desktop for testing.")
    ap.add_argument("--source", default="simulate", choices=("simulate", "phone"))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--speed", type=float, default=60.0)
    a = ap.parse_args(argv)
    print(f"stored {run(a.source, a.data_dir, a.seconds, a.speed)} events")


if __name__ == "__main__":
    main()
