"""Journeys' sensing service: python-for-android runs this file as a foreground service.

``buildozer.spec``: ``services = Sensing:service.py:foreground:sticky:foregroundServiceType=location``.
Android stops delivering accelerometer and gyroscope data to background apps, so the SDK runs here
(with the phone's sensors) and hands everything to the app through the local store:

* transport events → ``journeys-events.sqlite`` (:class:`journeys.stores.EventStore`), and the SDK's own
  timeline store when the SDK writes one;
* once a second: the current context with the ongoing stay or trip (``context``), the last 5 s of
  raw samples (``samples``) for the Now screen's live traces, and the new GPS fixes (the map's track).

The service senses only while consent is recorded and sensing is not paused (checked at start and
every second); revoking consent in the app stops it and it erases what it wrote. Its state
(``status``: starting, running, stopped, failed with the reason) goes to the store too, so the app
can show a failure with a retry. Desktop test: ``python examples/app/service.py --source simulate --seconds 5``.
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
if not (HERE / "momentsense").is_dir() and (HERE.parent.parent / "momentsense").is_dir():
    sys.path.insert(1, str(HERE.parent.parent))

log = logging.getLogger("journeys.service")


def context_dict(ctx, ongoing=None) -> dict:
    """A :class:`~journeys.bridge.ContextView` (and what is going on now) as the JSON the app reads."""
    from journeys.bridge import ongoing_to_dict

    d = {"mode": ctx.mode, "confidence": ctx.confidence, "running": ctx.running, "events": ctx.events, "t": time.time(),
         "ongoing": ongoing_to_dict(ongoing)}  # fmt: skip
    if ctx.has_place:
        d["place"] = None if ctx.place is None else str(getattr(ctx.place, "label", ctx.place))
    if ctx.has_trip:
        d["trip_in_progress"] = None if ctx.trip_in_progress is None else " + ".join(getattr(ctx.trip_in_progress, "modes", ()))
    return d


def failure_kind(exc: BaseException) -> str:
    """``permission`` when the sensors or GPS were refused (the fix is a setting), else ``crash``."""
    text = f"{type(exc).__name__} {exc}".lower()
    return "permission" if isinstance(exc, PermissionError) or "permission" in text or "securityexception" in text else "crash"


def run(source: str = "auto", data_dir=None, seconds: float = float("inf"), speed: float = 1.0, period_s: float = 1.0, legs=None) -> int:
    """Sense until consent is revoked, sensing is paused, the source ends or ``seconds`` pass; returns
    the number of events stored. Failures are written to the store's ``status`` for the app to show.
    When it stops because consent was revoked, it erases every store it writes (the app does too)."""
    from journeys.bridge import Consent, LiveBackend, SourceChoice, app_data_dir, local_tz_offset_s
    from journeys.datafiles import erase_all, read_state
    from journeys.stores import EventStore

    folder = app_data_dir(data_dir)
    consent = Consent(folder)
    if not consent.granted():
        log.warning("no consent recorded in %s: the sensing service does not start", folder)
        return 0
    if read_state(folder).get("paused"):
        log.info("sensing is paused by the user: the service does not start")
        return 0
    store = EventStore(folder / "journeys-events.sqlite")
    try:
        backend = LiveBackend(SourceChoice(source, speed=speed, legs=legs, start_today=False), local_tz_offset_s(), folder)
        n = [0]

        def on_event(e):
            if not (hasattr(e, "mode") and hasattr(e, "start")):
                return  # driving events and scores: the app reads them from the SDK's store
            store.add_events([e])
            n[0] += 1

        backend.on_event(on_event)
        backend.start()
    except Exception as exc:  # a sensor or model that cannot start: tell the app, which offers a retry
        log.exception("the sensing service could not start")
        store.put("status", {"state": "failed", "error": str(exc) or type(exc).__name__, "kind": failure_kind(exc), "t": time.time()})
        consent.close()
        return 0
    store.put("status", {"state": "running", "t": time.time()})
    t_end = time.monotonic() + seconds
    revoked = False
    try:
        while time.monotonic() < t_end:
            ctx = backend.context()
            store.put("context", context_dict(ctx, backend.ongoing()))
            store.put("samples", backend.samples())
            backend.flush_track()
            if backend.error is not None:
                raise backend.error
            revoked = not consent.granted()
            if not ctx.running or revoked or read_state(folder).get("paused"):
                break
            time.sleep(period_s)
    except Exception as exc:
        log.exception("sensing stopped")
        store.put("status", {"state": "failed", "error": str(exc) or type(exc).__name__, "kind": failure_kind(exc), "t": time.time()})
    else:
        store.put("status", {"state": "stopped", "t": time.time()})
    finally:
        backend.stop()
        revoked = revoked or not consent.granted()
        if revoked:
            backend.close(erase=True)
            erase_all(folder)
        else:
            store.put("context", {**context_dict(backend.context(), backend.ongoing()), "running": False})
            backend.close()
        consent.close()
    return n[0]


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO)
    if "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ:
        from journeys import android

        lock = android.acquire_wake_lock()
        try:
            run("auto")
        finally:
            lock.release()
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
