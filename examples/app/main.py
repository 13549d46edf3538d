"""Journeys: the momentsense demo app (Kivy).

Desktop:
    python examples/app/main.py --source simulate                 # a simulated commuter's day, a day a minute
    python examples/app/main.py --source replay FILE.h5 --speed 1440
    python examples/app/main.py --source simulate --speed 1       # real time

On Android (built with buildozer, see examples/app/buildozer.spec) the app starts the foreground
service ``service.py`` (the SDK with the phone's sensors) once the user agrees, and shows what the
service writes to the local store. Elsewhere the SDK runs in the app's process.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The SDK: beside this file in an APK (staged by stage_sdk.py), the repository root on a desktop checkout.
sys.path.insert(0, str(HERE))
if not (HERE / "momentsense").is_dir() and (HERE.parent.parent / "momentsense").is_dir():
    sys.path.insert(1, str(HERE.parent.parent))


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="journeys", description="Journeys: what the momentsense SDK knows, with feedback.")
    ap.add_argument("--source", choices=("auto", "simulate", "replay", "phone"), default="auto",
                    help="sensor source: auto = phone sensors on Android, the simulator elsewhere")  # fmt: skip
    ap.add_argument("file", nargs="?", help="momentsense-imu-v1 .h5 file for --source replay")
    ap.add_argument("--speed", type=float, default=1440.0, help="replay/simulation speed: 1 = real time, 1440 = a day a minute, 0 = flat out")
    ap.add_argument("--seed", type=int, default=0, help="simulation seed")
    ap.add_argument("--legs", default=None, help="simulated itinerary instead of a commuter day, e.g. still:600,walk:300,car:900")
    ap.add_argument("--keep-sim-time", action="store_true", help="keep the simulator's own clock instead of starting today at midnight")
    ap.add_argument("--data-dir", default=None, help="where consent and corrections are kept (default ~/.local/share/journeys)")
    ap.add_argument("--tz-offset-s", type=float, default=None, help="local time minus UTC, s (default: this machine's)")
    ap.add_argument("--size", default="480x860", help="window size WxH on a desktop")
    args = ap.parse_args(argv)
    if args.source == "replay" and not args.file:
        ap.error("--source replay needs a FILE (a momentsense-imu-v1 .h5 file)")
    if args.speed < 0:
        ap.error(f"--speed must be >= 0, got {args.speed}")
    return args


def parse_legs(text):
    """``"still:600,walk:300"`` → ``[("still", 600.0), ("walk", 300.0)]``."""
    if not text:
        return None
    legs = []
    for part in text.split(","):
        mode, _, sec = part.partition(":")
        try:
            legs.append((mode.strip(), float(sec)))
        except ValueError:
            raise SystemExit(f"--legs: expected MODE:SECONDS items separated by commas, got {part!r}") from None
    return legs


def build_model(args):
    """The :class:`~journeys.viewmodel.AppModel` for the parsed arguments (no window needed)."""
    from journeys.bridge import LiveBackend, SourceChoice, app_data_dir, is_android, local_tz_offset_s
    from journeys.viewmodel import AppModel

    data_dir = app_data_dir(args.data_dir)
    tz = local_tz_offset_s() if args.tz_offset_s is None else args.tz_offset_s
    if is_android() and args.source in ("auto", "phone"):
        def factory():
            return android_backend(data_dir, tz)
    else:
        choice = SourceChoice(args.source, args.file, args.speed, args.seed, parse_legs(args.legs), not args.keep_sim_time)

        def factory():
            return LiveBackend(choice, tz, data_dir)

    return AppModel(factory, data_dir, tz)


def android_backend(data_dir, tz: float):
    """The phone's backend: starting it shows the permission dialogs, and the service starts from
    their callback once location is granted; a refusal is written as the service's status, which the
    app shows with a button to the system settings."""
    import time

    from journeys import android
    from journeys.service_backend import ServiceBackend
    from journeys.stores import EventStore

    store = EventStore(data_dir / "journeys-events.sqlite")

    def on_result(granted: bool) -> None:
        if granted:
            store.put("status", {"state": "starting", "t": time.time()})  # the heartbeat clock starts now
            android.start_service()
        else:
            store.put("status", {"state": "failed", "kind": "permission", "error": "location permission not granted", "t": time.time()})

    def ask() -> None:
        store.put("status", {"state": "asking", "t": time.time()})  # the dialogs may stay open: not a silent service
        android.request_permissions(on_result)

    return ServiceBackend(store, tz, data_dir / "timeline.db", starter=ask)


def main(argv=None) -> None:
    args = parse_args(argv if argv is not None else ([] if "ANDROID_ARGUMENT" in os.environ else None))
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # Kivy must not parse our arguments
    from kivy.config import Config

    if "ANDROID_ARGUMENT" not in os.environ:
        w, _, h = args.size.partition("x")
        Config.set("graphics", "width", w)
        Config.set("graphics", "height", h)
    from journeys.ui import JourneysApp

    JourneysApp(build_model(args)).run()


if __name__ == "__main__":
    main()
