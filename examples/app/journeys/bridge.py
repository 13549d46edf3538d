"""The app's only door to the SDK (plain Python, no Kivy).

The app embeds the SDK the way a customer would: ``from momentsense.sdk.runtime import MomentSDK, SDKConfig`` plus
the documented sources (``sdk.sources``). Newer SDK features are used when present and replaced by a
clear "not available yet" when not, so the app runs against older and newer SDKs:

* ``current_context()`` → ``place`` and ``trip_in_progress`` (getattr, default None);
* ``timeline(day)`` → a day record with ``events``, ``visits``, ``trips`` (or, older SDKs, a list of events);
* ``places()``, ``moments()``, ``segments()``, ``driving()`` (hasattr);
* ``sdk.consent.ConsentManager`` (import; else a JSON file).

Raw samples for the live traces: MomentSDK has no public sample hook, so :mod:`journeys.tap` wraps
the :class:`~sdk.sources.SensorSource` the app passes in ``SDKConfig(source=...)`` and copies the last
seconds of every chunk into a :class:`~journeys.tap.SampleTap` before the SDK sees it.

Two backends with the same methods: :class:`LiveBackend` (the SDK runs in this process: desktop, and
the Android service) and :class:`ServiceBackend` (Android app: the foreground service senses and
writes an :class:`~journeys.stores.EventStore`; the app reads it).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from journeys.consent import Consent  # noqa: F401  (re-exported: part of the app's SDK door)
from journeys.stores import EventStore
from journeys.tap import SampleTap, make_tapped_source

log = logging.getLogger(__name__)

DAY_S = 86400.0
#: How many days before the first day of this session the timeline looks for stored days.
HISTORY_DAYS = 14


def is_android() -> bool:
    """True inside a python-for-android app or service (same rule as ``sdk.android.is_android``)."""
    import sys

    return sys.platform == "android" or "ANDROID_ARGUMENT" in os.environ or "ANDROID_PRIVATE" in os.environ


def app_data_dir(default: Optional[os.PathLike] = None) -> Path:
    """Where the app keeps its files: ``$ANDROID_PRIVATE/journeys`` on Android (shared by the app and the
    service), else ``default`` or ``~/.local/share/journeys``."""
    if is_android() and os.environ.get("ANDROID_PRIVATE"):
        return Path(os.environ["ANDROID_PRIVATE"]) / "journeys"
    return Path(default) if default else Path.home() / ".local" / "share" / "journeys"


def day_start_s(day: datetime.date, tz_offset_s: float) -> float:
    """Unix seconds of local midnight starting ``day`` (local time = UTC + ``tz_offset_s``)."""
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc).timestamp() - tz_offset_s


def local_day(t: float, tz_offset_s: float) -> datetime.date:
    """The local calendar day of unix time ``t``."""
    return datetime.datetime.fromtimestamp(t + tz_offset_s, datetime.timezone.utc).date()


def local_tz_offset_s() -> float:
    """This machine's current UTC offset, seconds."""
    off = datetime.datetime.now().astimezone().utcoffset()
    return off.total_seconds() if off else 0.0


def day_range(times: Sequence[float], tz_offset_s: float, extra: Iterable = ()) -> list:
    """The local days of ``times`` and ``extra`` days, sorted; ``[today]`` when there are none."""
    days = {local_day(t, tz_offset_s) for t in times} | set(extra)
    return sorted(days) or [local_day(datetime.datetime.now(datetime.timezone.utc).timestamp(), tz_offset_s)]


@dataclasses.dataclass(frozen=True)
class SourceChoice:
    """What to sense from. ``kind``: ``auto`` (plyer on Android, simulator elsewhere), ``simulate``,
    ``replay`` (needs ``replay_path``) or ``phone``. ``speed``: 0 = as fast as possible, 1 = real time,
    1440 = a day a minute. ``legs``: simulator itinerary (None = a commuter's day). ``start_today``:
    shift simulated time so it starts at today's local midnight."""

    kind: str = "auto"
    replay_path: Optional[str] = None
    speed: float = 1440.0
    seed: int = 0
    legs: Optional[Sequence] = None
    start_today: bool = True

    def resolved_kind(self) -> str:
        if self.kind == "auto":
            return "phone" if is_android() else "simulate"
        return self.kind


def build_source(choice: SourceChoice, tap: SampleTap, tz_offset_s: float):
    """The wrapped :class:`~sdk.sources.SensorSource` for ``choice``; raises the SDK's errors as they come."""
    from momentsense.sdk import sources

    kind = choice.resolved_kind()
    shift = 0.0
    if kind == "simulate":
        legs = choice.legs
        if legs is None:
            from momentsense.sdk.sim.day import commuter_day

            legs = commuter_day(np.random.default_rng(choice.seed))
        inner = sources.SimulatorSource(legs, choice.seed, choice.speed)
        if choice.start_today:
            from momentsense.sdk.sim.simulate import SimulatorOptions

            t0 = float(SimulatorOptions().t0)
            shift = day_start_s(datetime.datetime.now(datetime.timezone.utc).date(), tz_offset_s) - t0
    elif kind == "replay":
        if not choice.replay_path:
            raise ValueError("--source replay needs a FILE (a momentsense-imu-v1 .h5 file)")
        inner = sources.ReplaySource(choice.replay_path, choice.speed)
    elif kind == "phone":
        inner = sources.plyer_source()
    else:
        raise ValueError(f"source must be auto, simulate, replay or phone; got {choice.kind!r}")
    return make_tapped_source(inner, tap, shift)


# -- what the app shows ---------------------------------------------------------------------------


@dataclasses.dataclass
class ContextView:
    """The SDK's context, normalised: attributes an older SDK lacks are None."""

    mode: Optional[str]
    confidence: float
    running: bool
    events: int
    place: Any = None
    trip_in_progress: Any = None
    last_fix: Any = None
    has_place: bool = False
    has_trip: bool = False


@dataclasses.dataclass
class DayView:
    """One day: transport events, visits and trips (empty lists where the SDK has none).

    ``has_visits``/``has_trips`` say whether the SDK provides them at all (False: "not available yet").
    """

    events: list
    visits: list
    trips: list
    has_visits: bool
    has_trips: bool
    driving_scores: Optional[list] = None


def _as_event(e):
    if isinstance(e, dict):
        from momentsense.sdk.timeline.records import TransportEvent

        return TransportEvent(float(e["start"]), float(e["end"]), str(e["mode"]), float(e["confidence"]))
    return e


def normalise_day(record) -> DayView:
    """A day record from any SDK version → :class:`DayView` (list = events only; object = its fields)."""
    if record is None:
        return DayView([], [], [], False, False)
    if isinstance(record, (list, tuple)):
        return DayView([_as_event(e) for e in record], [], [], False, False)
    events = list(getattr(record, "events", []) or [])
    visits = getattr(record, "visits", None)
    trips = getattr(record, "trips", None)
    scores = getattr(record, "driving_scores", None)
    return DayView(events, list(visits or []), list(trips or []), visits is not None, trips is not None,
                   None if scores is None else list(scores))  # fmt: skip


def _call_optional(obj, name: str, *args, **kwargs):
    """``obj.name(*args)`` if the SDK has it, else None (logged once per name)."""
    fn = getattr(obj, name, None)
    if not callable(fn):
        return None
    return fn(*args, **kwargs)


class LiveBackend:
    """The SDK in this process (desktop; the Android service).

    ``data_dir``: where the SDK keeps its timeline (``timeline.db``) when it has a local store
    (``SDKConfig.store_path``); None keeps it in memory.
    """

    def __init__(self, choice: SourceChoice, tz_offset_s: float = 0.0, data_dir: Optional[os.PathLike] = None, model=None):
        from momentsense.sdk.runtime import MomentSDK, SDKConfig

        self.choice, self.tz_offset_s = choice, tz_offset_s
        self.tap = SampleTap()
        self.source = build_source(choice, self.tap, tz_offset_s)
        fields = {f.name for f in dataclasses.fields(SDKConfig)}
        kwargs: dict = {"source": self.source}
        if model is not None:
            kwargs["model"] = model
        if "store_path" in fields and data_dir is not None:
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            kwargs["store_path"] = str(Path(data_dir) / "timeline.db")
        if "tz_offset_s" in fields:
            kwargs["tz_offset_s"] = tz_offset_s
        self.sdk = MomentSDK(SDKConfig(**kwargs))
        self.source_name = choice.resolved_kind()
        self._stored_days: Optional[list] = None

    def start(self) -> None:
        self.sdk.start()

    def stop(self) -> None:
        self.sdk.stop()

    def pause(self, on: bool, timeout_s: float = 5.0) -> bool:
        """Hold (``on``) or release the sensor stream; when holding, True once the SDK waits for data."""
        if not on:
            self.source.paused.clear()
            return True
        self.source.paused.set()
        return self.source.idle.wait(timeout_s)

    def close(self, erase: bool = False) -> None:
        """Stop sensing and release the store; ``erase``: delete the local timeline first (consent revoked)."""
        self.sdk.stop()
        store = getattr(self.sdk, "store", None)
        if erase and store is not None and hasattr(store, "delete_all"):
            store.delete_all()
        if hasattr(self.sdk, "close"):
            self.sdk.close()

    def on_event(self, callback: Callable) -> None:
        self.sdk.on_event(callback)

    @property
    def error(self) -> Optional[BaseException]:
        return getattr(self.sdk, "error", None)

    def context(self) -> ContextView:
        c = self.sdk.current_context()
        return ContextView(getattr(c, "mode", None), float(getattr(c, "confidence", 0.0) or 0.0), bool(getattr(c, "running", False)),
                           int(getattr(c, "events", 0) or 0), getattr(c, "place", None), getattr(c, "trip_in_progress", None),
                           getattr(c, "last_fix", None), hasattr(c, "place"), hasattr(c, "trip_in_progress"))  # fmt: skip

    def samples(self) -> dict:
        return self.tap.snapshot()

    def day(self, day: datetime.date) -> DayView:
        try:
            rec = self.sdk.timeline(day, tz_offset_s=self.tz_offset_s)
        except TypeError:  # a newer signature without tz_offset_s
            rec = self.sdk.timeline(day)
        return normalise_day(rec)

    def days(self) -> list:
        """Days to swipe through: days with events in this session, and days of the last two weeks
        before them that the SDK's store already holds (earlier sessions)."""
        times = [t for e in self.sdk.events() for t in (e.start, e.end)] if hasattr(self.sdk, "events") else []
        if self._stored_days is None:
            first = min(day_range(times, self.tz_offset_s))
            self._stored_days = [d for d in (first - datetime.timedelta(days=k) for k in range(1, HISTORY_DAYS + 1)) if self._has_items(d)]
        return day_range(times, self.tz_offset_s, self._stored_days)

    def _has_items(self, day: datetime.date) -> bool:
        try:
            v = self.day(day)
        except Exception:
            return False
        return bool(v.events or v.visits or v.trips)

    def feature(self, name: str):
        """Result of the SDK's ``name()`` (places, moments, segments, driving), or None when it has none.

        The SDK refuses with an error when there is too little data (segments need a week): that is
        shown as the one row, not raised into the UI.
        """
        from momentsense.sdk.errors import MomentsenseError

        try:
            return _call_optional(self.sdk, name)
        except MomentsenseError as exc:
            return [f"Not enough data yet: {exc}"]


class ServiceBackend:
    """Android app side: the foreground service senses; this reads what it wrote.

    Days, places: the SDK's timeline store (``timeline.db``) when the SDK has one, else the app's
    event store. Context and raw samples: the event store (the service writes them once a second).
    """

    source_name = "service"
    error = None

    def __init__(self, store: EventStore, tz_offset_s: float = 0.0, timeline_path: Optional[os.PathLike] = None):
        self.store, self.tz_offset_s = store, tz_offset_s
        self.timeline_path = Path(timeline_path) if timeline_path else None
        self._timeline = None

    def _sdk_store(self):
        if self._timeline is None and self.timeline_path is not None and self.timeline_path.exists():
            try:
                from momentsense.sdk.timeline.store import TimelineStore
            except ImportError:
                return None
            self._timeline = TimelineStore(self.timeline_path)
        return self._timeline

    def start(self) -> None:
        from journeys import android

        android.start_service()

    def stop(self) -> None:
        from journeys import android

        android.stop_service()

    def close(self, erase: bool = False) -> None:
        self.stop()
        ts = self._sdk_store()
        if erase and ts is not None:
            ts.delete_all()
        if ts is not None:
            ts.close()
            self._timeline = None

    def on_event(self, callback: Callable) -> None:  # events arrive through the store
        pass

    def context(self) -> ContextView:
        c = self.store.get("context", {}) or {}
        return ContextView(c.get("mode"), float(c.get("confidence", 0.0)), bool(c.get("running", False)), int(c.get("events", 0)),
                           c.get("place"), c.get("trip_in_progress"), None, "place" in c, "trip_in_progress" in c)  # fmt: skip

    def samples(self) -> dict:
        return self.store.get("samples", {}) or {}

    def day(self, day: datetime.date) -> DayView:
        ts = self._sdk_store()
        if ts is not None:
            return normalise_day(ts.timeline(day, self.tz_offset_s))
        a = day_start_s(day, self.tz_offset_s)
        return normalise_day(self.store.events(a, a + DAY_S))

    def days(self) -> list:
        return day_range([t for e in self.store.events() for t in (e["start"], e["end"])], self.tz_offset_s)

    def feature(self, name: str):
        ts = self._sdk_store()
        if name == "places" and ts is not None:
            return ts.places()
        return None
