"""Segments on the device: business rules and learned-embedding segments (numpy + a TFLite interpreter only).

Weekly on the phone (:class:`WeeklySegments`): ``compute_segments(UserEvents.from_events(timeline),
encoder, heads)`` gives the rule segments (with evidence and a sentence each) and, with the shipped
encoder (``timeline_encoder.tflite``) and heads (``segment_classifiers.json``), the embedding
segments. Only the segment labels (and, if the app allows, the embedding) belong in the upload.
"""

from momentsense.sdk.segments.embedding import EmbeddingSegment, SegmentHeads, SegmentsResult, TimelineEncoder, compute_segments
from momentsense.sdk.segments.encoding import WindowConfig
from momentsense.sdk.segments.events import UserEvents
from momentsense.sdk.segments.features import FEATURE_NAMES, timeline_features
from momentsense.sdk.segments.rules import RULE_SEGMENTS, RuleOptions, RuleReport, RuleSegment, evaluate_rules
from momentsense.sdk.segments.weekly import WeeklySegments, segment_scores, upload_payload

__all__ = [
    "FEATURE_NAMES", "RULE_SEGMENTS", "EmbeddingSegment", "RuleOptions", "RuleReport", "RuleSegment", "SegmentHeads",
    "SegmentsResult", "TimelineEncoder", "UserEvents", "WeeklySegments", "WindowConfig", "compute_segments",
    "evaluate_rules", "segment_scores", "timeline_features", "upload_payload",
]  # fmt: skip
