"""Weekly segment job on the phone: recompute once a week from the local timeline, upload labels only.

:class:`WeeklySegments` keeps the time of its last run; :meth:`WeeklySegments.maybe_update` runs
:func:`~sdk.segments.embedding.compute_segments` on the last ``history_s`` of the timeline when a
``period_s`` has passed. A new user with less than a week of history is normal: the job skips and
says why (``last_skip_reason``) instead of raising. :func:`upload_payload` is what the aggregated
upload carries: the fired segment names, the encoder version and, only if the app allows, the
embedding; never events, places or times of day.
"""

from __future__ import annotations

from typing import Optional

from momentsense.sdk.errors import InputError
from momentsense.sdk.segments.embedding import (
    SegmentHeads,
    SegmentsResult,
    TimelineEncoder,
    compute_segments,
)
from momentsense.sdk.segments.events import DAY_S, UserEvents


class WeeklySegments:
    """Once-a-week segment computation.

    Attributes:
        period_s: Seconds between runs (a week).
        history_s: How much of the timeline a run reads (six weeks).
        last_run: Unix time of the last run, or None.
        last_result: The last :class:`~sdk.segments.embedding.SegmentsResult`, or None.
        last_skip_reason: Why the last due run produced nothing ("" if it ran).
    """

    def __init__(self, encoder: Optional[TimelineEncoder] = None, heads: Optional[SegmentHeads] = None, rule_options=None,
                 period_s: float = 7 * DAY_S, history_s: float = 42 * DAY_S):  # fmt: skip
        if period_s <= 0 or history_s <= 0:
            raise InputError(f"period_s and history_s must be > 0, got {period_s!r}, {history_s!r}")
        self.encoder, self.heads, self.rule_options = encoder, heads, rule_options
        self.period_s, self.history_s = float(period_s), float(history_s)
        self.last_run: Optional[float] = None
        self.last_result: Optional[SegmentsResult] = None
        self.last_skip_reason = ""

    @classmethod
    def create_shipped(cls, **kwargs) -> "WeeklySegments":
        """With the shipped ``timeline_encoder.tflite`` and ``segment_classifiers.json``."""
        from momentsense.edge_models import artifact_dir

        art = artifact_dir()
        return cls(TimelineEncoder.create_from_path(art / "timeline_encoder.tflite"),
                   SegmentHeads.create_from_path(art / "segment_classifiers.json"), **kwargs)  # fmt: skip

    def due(self, now: float) -> bool:
        """True when no run happened yet or ``period_s`` has passed since the last one."""
        return self.last_run is None or now - self.last_run >= self.period_s

    def maybe_update(self, events: UserEvents, now: float, driving_scores=None) -> Optional[SegmentsResult]:
        """Run if due; return the new result, or None (not due, or history too short: see ``last_skip_reason``).

        ``driving_scores``: per-drive scores 0..100 of the same weeks (the aggressive-driver rule; None:
        that rule reports itself unavailable).

        Raises
        ------
        InputError
            ``now`` before the last run (time going backwards).
        """
        if self.last_run is not None and now < self.last_run:
            raise InputError(f"now ({now!r}) is before the last run ({self.last_run!r}); time must not go backwards")
        if not self.due(now):
            return None
        recent = events.between(now - self.history_s, now + 1.0)
        try:
            res = compute_segments(recent, self.encoder, self.heads, self.rule_options, driving_scores)
        except InputError as exc:  # a new user: too little history yet
            self.last_skip_reason = str(exc)
            return None
        self.last_run, self.last_result, self.last_skip_reason = float(now), res, ""
        return res


def segment_scores(result: Optional[SegmentsResult]) -> dict:
    """Fired segments as ``name -> score`` for the day payloads (:class:`sdk.sync.payload.SyncDay`'s
    ``segments``): 1.0 for a rule, the head's probability for an embedding segment no rule fired;
    ``{}`` for None (no weekly result yet)."""
    if result is None:
        return {}
    out = {name: 1.0 for name in result.rules.active}
    for s in result.embedding_segments:
        if s.active and s.segment not in out:
            out[s.segment] = float(s.probability)
    return out


def upload_payload(result: SegmentsResult, include_embedding: bool = False) -> dict:
    """The aggregated-upload record of one weekly result: labels, encoder version, optional embedding."""
    d = {"segments": list(result.labels), "encoder_version": result.encoder_version}
    if include_embedding and result.embedding is not None:
        d["embedding"] = [round(float(v), 5) for v in result.embedding]
    return d
