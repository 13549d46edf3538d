"""The weekly segment job of :class:`~sdk.runtime.MomentSDK`, off the sensor path.

The pipeline calls :meth:`SegmentJobRunner.tick` with the time of each chunk; that costs one
comparison except once per day of data, when it hands the time to the job's own thread and returns.
The thread asks :class:`~sdk.segments.weekly.WeeklySegments` whether a week has passed and, if so,
recomputes the segments from the last six weeks of the local timeline (rules and the shipped
encoder's heads, encoder inference included) while sensing goes on. A failure there is logged and
counted, never raised into the pipeline.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Callable, Optional

from momentsense.sdk.errors import InputError, ModelError

log = logging.getLogger(__name__)

DAY_S = 86400.0
#: ``inputs(now) -> (timeline events, driving scores)`` of the six weeks before ``now``.
SegmentInputs = Callable[[float], tuple]


@dataclasses.dataclass(frozen=True)
class SegmentJobStatus:
    """Where the weekly segment job stands.

    Attributes:
        last_run: Unix s (data time) of the last computed result, or None.
        last_skip_reason: Why the last due run computed nothing ("" when it did).
        note: Why the job computes rule segments only ("" when the shipped encoder loaded).
        encoder_loaded: Whether the shipped encoder and heads are loaded.
        failures: Runs that raised (logged).
    """

    last_run: Optional[float]
    last_skip_reason: str
    note: str
    encoder_loaded: bool
    failures: int


class SegmentJobRunner:
    """Runs the weekly job on demand (:meth:`update`) and, from the pipeline, on its own thread (:meth:`tick`)."""

    def __init__(self, inputs: SegmentInputs):
        self._inputs = inputs
        self._job = None
        self._note = ""
        self._failures = 0
        self._next_check: Optional[float] = None
        self._run_lock = threading.Lock()  # one run at a time (thread or app)
        self._cv = threading.Condition()
        self._due: Optional[float] = None
        self._busy = False
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    # -- the job ---------------------------------------------------------------------------------
    def _ensure_job(self):
        from momentsense.sdk.segments.weekly import WeeklySegments

        if self._job is None:
            try:
                self._job = WeeklySegments.create_shipped()
                self._note = ""
            except (ModelError, InputError, OSError, ValueError) as exc:
                self._job = WeeklySegments()
                self._note = f"rule segments only: the shipped encoder did not load ({exc})"
        return self._job

    def update(self, now: float):
        """Run the job if a week has passed since its last run; the new result or None (see
        :meth:`status` for why not). Runs on the caller's thread."""
        from momentsense.sdk.segments import UserEvents

        with self._run_lock:
            job = self._ensure_job()
            if not job.due(now):
                return None
            events, scores = self._inputs(now)
            if not events:
                job.last_skip_reason = "no timeline yet: segments need at least 7 days of history"
                return None
            return job.maybe_update(UserEvents.from_events(events), now, scores or None)

    def result(self):
        """The latest :class:`~sdk.segments.embedding.SegmentsResult`, or None."""
        return None if self._job is None else self._job.last_result

    def models(self) -> tuple:
        """``(encoder, heads)`` once loaded, else ``(None, None)``."""
        return (self._job.encoder, self._job.heads) if self._job is not None else (None, None)

    def status(self) -> SegmentJobStatus:
        j = self._job
        return SegmentJobStatus(None if j is None else j.last_run, "" if j is None else j.last_skip_reason,
                                self._note, j is not None and j.encoder is not None, self._failures)  # fmt: skip

    # -- off the sensor path ---------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Called per chunk with its end time, unix s: once per day of data, wake the job's thread."""
        if self._next_check is not None and now < self._next_check:
            return
        self._next_check = now + DAY_S
        with self._cv:
            if self._closed:
                return
            self._due = now
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="momentsense-segments", daemon=True)
                self._thread.start()
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while self._due is None and not self._closed:
                    self._cv.wait()
                if self._closed:
                    return
                now, self._due, self._busy = self._due, None, True
            try:
                self.update(now)
            except Exception:
                self._failures += 1
                log.exception("the weekly segment job failed; sensing continues")
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def wait_idle(self, timeout_s: Optional[float] = None) -> bool:
        """Block until no run is pending or going on; True if idle."""
        with self._cv:
            return self._cv.wait_for(lambda: self._due is None and not self._busy, timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (a run going on finishes first; safe twice)."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
