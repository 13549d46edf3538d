"""The app's logic, without a window: what each screen shows and what a tap does (plain Python).

Kivy widgets (:mod:`journeys.ui`) only draw these objects and forward taps; everything worth testing
lives here (and in :mod:`journeys.dayvm`, :mod:`journeys.day`, :mod:`journeys.daymap`) and is tested
without a window. Times are unix seconds; colours are RGBA tuples 0..1. Every string here is for the
person holding the phone: no ids, no dicts, no probabilities, no file paths.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Optional, Sequence

from journeys.bridge import Consent, ContextView
from journeys.datafiles import erase_all, inventory, read_state, total_rows, write_state
from journeys.day import MODE_COLORS, PLACE_COLORS, PLACE_NAMES, fmt_clock, fmt_duration, mode_name  # noqa: F401  (re-exported)
from journeys.dayvm import DayVM
from journeys.lists import NOT_AVAILABLE, ListState, describe_record, feature_state, human, places_state  # noqa: F401  (re-exported)
from journeys.stores import CorrectionStore
from journeys.sync import SyncResult, describe, load_salt, sync_corrections


#: The prominent disclosure, shown before any system permission dialog.
CONSENT_TEXT = (
    "Journeys keeps a diary of your day on this phone: where you stayed, how you travelled between places "
    "(walking, bike, car, bus, train...), and when.\n\n"
    "[b]What it collects[/b]: your location (GPS) and the phone's motion sensors, [b]also while the app is "
    "closed or not in use[/b]. While it does, Android shows a permanent notification \u201cJourneys is "
    "sensing\u201d.\n\n"
    "[b]Where it goes[/b]: it stays on this phone. Raw positions and sensor readings are never uploaded. "
    "Only if you turn on \u201cShare corrections\u201d in Settings are your corrections (a trip's mode, a "
    "place's category, times) sent, without coordinates or place names, to the momentsense team to improve "
    "the models.\n\n"
    "[b]Next[/b]: Android will ask for location, and for notifications. Nothing is collected before you agree "
    "here and grant them. You can pause sensing or withdraw at any time in Settings; withdrawing erases "
    "everything Journeys stored on this phone."
)
DECLINED_TEXT = ("Journeys needs location and motion to build your diary, so it does nothing without them. "
                 "Nothing was collected. You can change your mind any time.")  # fmt: skip
PERMISSION_DENIED_TEXT = ("Location permission was not granted, so Journeys cannot record your day. Open the "
                          "system settings to allow location for Journeys, then tap Retry.")  # fmt: skip


# -- Now ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class NowState:
    """What the Now screen shows.

    Attributes:
        mode_text: e.g. ``Walk · 93 %``.
        mode: Raw mode (None before the first window).
        place_text, trip_text: Current place / trip in progress, or "not available yet".
        status_text: Source and whether sensing runs.
        acc_lines, gyro_lines: Per axis (x, y, z) a flat list ``[x0, y0, x1, y1, ...]`` in 0..1 (x = time
            over the trace window, y = value scaled to ±``ACC_RANGE_MPS2`` / ±``GYRO_RANGE_RAD_S``).
    """

    mode_text: str = "Waiting for the first readings"
    mode: Optional[str] = None
    confidence: float = 0.0
    place_text: str = ""
    trip_text: str = ""
    status_text: str = ""
    acc_lines: list = dataclasses.field(default_factory=lambda: [[], [], []])
    gyro_lines: list = dataclasses.field(default_factory=lambda: [[], [], []])


ACC_RANGE_MPS2 = 20.0
GYRO_RANGE_RAD_S = 5.0
TRACE_S = 5.0


def trace_lines(t: Sequence[float], x: Sequence[Sequence[float]], value_range: float, window_s: float = TRACE_S) -> list:
    """Samples → three polylines in unit coordinates (newest sample at x = 1; ±``value_range`` → 0..1)."""
    lines: list = [[], [], []]
    if not len(t):
        return lines
    t_end = t[-1]
    for ti, xi in zip(t, x):
        px = 1.0 - (t_end - ti) / window_s
        if px < 0:
            continue
        for axis in range(3):
            v = xi[axis]
            v = 0.0 if not math.isfinite(v) else v
            lines[axis] += [px, min(1.0, max(0.0, 0.5 + v / (2 * value_range)))]
    return lines


SOURCE_WORDS = {"simulate": "a simulated day", "replay": "a recorded day", "phone": "this phone's sensors",
                "service": "the sensing service"}  # fmt: skip


def now_state(ctx: ContextView, samples: dict, source_name: str, error: Optional[object] = None) -> NowState:
    """The Now screen for a context and the latest raw samples."""
    st = NowState()
    st.mode, st.confidence = ctx.mode, ctx.confidence
    if ctx.mode:
        sure = "sure" if ctx.confidence >= 0.8 else "fairly sure" if ctx.confidence >= 0.5 else "not sure"
        st.mode_text = f"{mode_name(ctx.mode)} ({sure})"
    elif ctx.running:
        st.mode_text = "Listening…"
    elif ctx.events:
        st.mode_text = "Sensing finished"
    place = ctx.place
    if place is not None:
        st.place_text = "At " + (describe_record(place) if not isinstance(place, str) else PLACE_NAMES.get(place, place.capitalize()))
    elif ctx.has_place:
        st.place_text = "Not at a known place"
    trip = ctx.trip_in_progress
    if trip:
        st.trip_text = "On a trip: " + (describe_record(trip) if not isinstance(trip, str) else trip)
    state = "on" if ctx.running else "off"
    st.status_text = f"Sensing {state} · from {SOURCE_WORDS.get(source_name, source_name)}"
    if ctx.running and not ctx.mode:
        st.status_text += " · the first answer comes after 10 seconds"
    if error:
        st.status_text += " · stopped: " + str(error)
    st.acc_lines = trace_lines(samples.get("acc_t", []), samples.get("acc", []), ACC_RANGE_MPS2)
    st.gyro_lines = trace_lines(samples.get("gyro_t", []), samples.get("gyro", []), GYRO_RANGE_RAD_S)
    return st


# -- the whole app -----------------------------------------------------------------------------------


class ConsentRequired(RuntimeError):
    """Sensing was asked for before the user agreed."""


@dataclasses.dataclass
class ServiceProblem:
    """Why sensing is not running, in words, and what the user can do: ``retry`` or ``settings``."""

    text: str
    action: str


class AppModel:
    """Consent gate + backend + corrections + screen states; the Kivy app holds one of these.

    Parameters
    ----------
    backend_factory : callable
        ``() -> backend`` (:class:`~journeys.bridge.LiveBackend` or ``ServiceBackend``); called only after
        consent, so nothing touches the sensors before the user agrees.
    data_dir : path
        The app's folder (consent, corrections; on Android shared with the service).
    tz_offset_s : float
        Local time = UTC + this.
    sync_client : optional
        A :class:`sdk.sync.client.SyncClient` (None: no sync service in this build).
    """

    def __init__(self, backend_factory, data_dir: Path, tz_offset_s: float = 0.0, sync_client=None):
        self.data_dir = Path(data_dir)
        self.consent = Consent(self.data_dir)
        self.corrections = CorrectionStore(self.data_dir / "corrections.sqlite")
        self.backend_factory, self.tz_offset_s = backend_factory, tz_offset_s
        self.backend = None
        self.timeline: Optional[DayVM] = None
        self.start_error: Optional[str] = None
        self.sync_client = sync_client
        self.last_sync: Optional[SyncResult] = None
        self.declined = False
        #: Whether the backend's sensing was started in this run of the app (a paused start does not).
        self.sensing_started = False

    @property
    def needs_consent(self) -> bool:
        return not self.consent.granted()

    @property
    def paused(self) -> bool:
        return bool(read_state(self.data_dir).get("paused"))

    @property
    def map_tiles(self) -> bool:
        """Whether the map fetches OpenStreetMap tiles (off until the user turns it on)."""
        return bool(read_state(self.data_dir).get("map_tiles"))

    @map_tiles.setter
    def map_tiles(self, on: bool) -> None:
        write_state(self.data_dir, map_tiles=bool(on))

    @property
    def resume_after_boot(self) -> bool:
        """Whether, after the phone restarts, a notification offers to resume sensing (Android)."""
        return bool(read_state(self.data_dir).get("resume_after_boot"))

    @resume_after_boot.setter
    def resume_after_boot(self, on: bool) -> None:
        write_state(self.data_dir, resume_after_boot=bool(on))
        from journeys.bridge import is_android

        if is_android():
            from journeys import android

            android.set_resume_after_boot(bool(on))

    def accept(self) -> None:
        """The user agreed: remember it and start sensing (on Android: after the permission dialogs)."""
        self.consent.grant()
        self.declined = False
        self.start()

    def decline(self) -> None:
        """The user said no: nothing starts, nothing is stored."""
        self.declined = True

    def revoke(self) -> dict:
        """The user withdrew consent: stop sensing, erase every store of the app and the service
        (:func:`journeys.datafiles.erase_all`), remember the decision; returns what was erased."""
        self.consent.revoke()  # first: the service sees it within a second and stops
        self.resume_after_boot = False
        self.close(erase=True)
        erased = erase_all(self.data_dir)
        write_state(self.data_dir, paused=False, map_tiles=False)
        return erased

    def stored(self) -> dict:
        """What is stored now: ``{"rows": n, "coordinates": n}`` over every store."""
        inv = inventory(self.data_dir)
        return {"rows": total_rows(inv), "coordinates": sum(f["coordinates"] for f in inv.values())}

    def close(self, erase: bool = False) -> None:
        """Stop sensing and release the SDK (app exit; ``erase`` on revocation)."""
        if self.backend is not None:
            self.backend.close(erase=erase)
        self.backend, self.timeline = None, None
        self.sensing_started = False

    def start(self) -> bool:
        """Start sensing if consent is given and not paused; False (and ``start_error`` set) if it cannot run."""
        if self.needs_consent:
            raise ConsentRequired("sensing needs the user's consent first")
        if self.backend is None:
            try:
                self.backend = self.backend_factory()
            except Exception as exc:  # e.g. SensorUnavailableError on a desktop asked for phone sensors
                self.start_error = str(exc)
                return False
            self.timeline = DayVM(self.backend, self.corrections, self.tz_offset_s)
        if self.paused:
            return True
        try:
            self.backend.start()
        except Exception as exc:  # e.g. the Android service could not start
            self.start_error = str(exc)
            return False
        self.start_error = None
        self.sensing_started = True
        return True

    def set_paused(self, on: bool) -> None:
        """Pause sensing without erasing anything (the service stops; the desktop SDK holds its stream), or resume."""
        write_state(self.data_dir, paused=bool(on))
        if self.backend is None:
            return
        if not on and not self.sensing_started:  # the app opened paused: nothing was started yet
            self.start()
        elif hasattr(self.backend, "pause"):
            self.backend.pause(on, timeout_s=0.0)
        elif on:
            self.backend.stop()
        else:
            self.backend.start()

    def problem(self) -> Optional[ServiceProblem]:
        """Why sensing is not running (start failure or a failed service), with the action to offer."""
        if self.start_error:
            return ServiceProblem(f"Sensing could not start: {self.start_error}", "retry")
        if self.paused:
            return None
        err = getattr(self.backend, "error", None) if self.backend is not None else None
        if not err:
            return None
        if getattr(self.backend, "error_kind", "crash") == "permission":
            return ServiceProblem(PERMISSION_DENIED_TEXT, "settings")
        return ServiceProblem(f"Sensing stopped: {err}", "retry")

    def retry(self) -> bool:
        """Start again after a failure."""
        self.start_error = None
        return self.start()

    def sync(self) -> SyncResult:
        """Send pending corrections (only with the sharing consent); see :func:`journeys.sync.sync_corrections`."""
        allowed = self.consent.sync_granted()
        salt = load_salt(self.data_dir) if allowed and self.sync_client is not None else b""
        self.last_sync = sync_corrections(self.corrections, self.sync_client, salt, allowed)
        return self.last_sync

    @property
    def sync_text(self) -> str:
        n = len(self.corrections.pending())
        share = "on" if self.consent.sync_granted() else "off"
        line = f"Sharing corrections: {share} · {n} {'correction' if n == 1 else 'corrections'} waiting to be sent"
        last = describe(self.last_sync)
        return f"{line}\n{last}" if last else line

    def now(self) -> NowState:
        if self.backend is None:
            st = NowState()
            if self.start_error:
                st.status_text = f"Cannot sense here: {self.start_error}"
            return st
        st = now_state(self.backend.context(), self.backend.samples(), self.backend.source_name, getattr(self.backend, "error", None))
        if self.paused:
            st.status_text = "Sensing paused · nothing is recorded until you resume it in Settings"
        return st

    def places(self) -> ListState:
        if self.backend is None:
            return places_state(None)
        return places_state(self.backend.feature("places"), self.corrections.place_names(), self.corrections.place_categories())

    def feature(self, name: str) -> ListState:
        result = None if self.backend is None else self.backend.feature(name)
        if result is None and name == "driving" and self.timeline is not None and self.timeline.day_view.driving_scores is not None:
            result = self.timeline.day_view.driving_scores  # the day's trip scores from the day record
        return feature_state(name, result)
