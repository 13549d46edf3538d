"""Embedding segments on the device: the timeline encoder (.tflite) and linear segment heads (JSON).

numpy and the TFLite interpreter only. The encoder's manifest gives the window encoding
(:class:`~sdk.segments.encoding.WindowConfig`) and its version; the heads file
(``segment_classifiers.json``) names the encoder version its heads were fitted on, and carries
mappings ``{encoder version: matrix}`` so that heads fitted on an older encoder keep working with a
newer one (the new embedding is multiplied by the matrix that maps it into the old space, then
re-normalised). A heads file without a mapping for the loaded encoder's version is refused.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.segments.encoding import (
    N_FEATURES,
    WindowConfig,
    encode_user_windows,
    l2_normalise,
)
from momentsense.sdk.segments.events import UserEvents
from momentsense.sdk.segments.features import FEATURE_NAMES, timeline_features

HEADS_FORMAT = "momentsense-segment-heads-v1"


class TimelineEncoder:
    """Runs the shipped encoder on a user's history.

    Example
    -------
    >>> enc = TimelineEncoder.create_from_path("edge_models/artifacts/timeline_encoder.tflite")  # doctest: +SKIP
    >>> enc.embed_user(events).shape  # doctest: +SKIP
    (50,)
    """

    def __init__(self, model, config: WindowConfig, version: str = "0.0.0"):
        self._model = model
        self.config = config
        self.version = version
        self.backend = getattr(model, "backend", "?")
        shape = tuple(model.input_spec.shape)
        if shape != (1, int(config.max_events), N_FEATURES):
            raise ModelError(f"the encoder input is {shape}; this SDK encodes (1, {config.max_events}, {N_FEATURES})")
        self.dim = int(model.output_spec.shape[-1])

    @classmethod
    def create_from_path(cls, tflite_path: str | Path, num_threads: int = 1) -> TimelineEncoder:
        """Load a verified ``.tflite`` + manifest (task ``timeline_encoder``)."""
        from momentsense.sdk.models.interpreter import load_model
        from momentsense.sdk.models.manifest import load_verified_model

        data, manifest = load_verified_model(tflite_path)
        if manifest.task != "timeline_encoder":
            raise ModelError(f"{tflite_path}: manifest task is {manifest.task!r}, expected 'timeline_encoder'")
        return cls(load_model(data, num_threads), WindowConfig.from_dict(manifest.preprocess), manifest.version)

    def embed_windows(self, x: np.ndarray) -> np.ndarray:
        """Embeddings ``(N, dim)`` of encoded windows ``(N, max_events, N_FEATURES)``."""
        return self._model.run_batch(np.asarray(x, np.float32))

    def embed_user(self, events: UserEvents) -> np.ndarray:
        """The user's embedding ``(dim,)``: normalised mean over the windows of the history.

        Raises
        ------
        InputError
            Empty history or shorter than ``config.min_history_s``.
        """
        return l2_normalise(self.embed_windows(encode_user_windows(events, self.config)).mean(axis=0))


@dataclasses.dataclass(frozen=True)
class Head:
    """One linear head: ``p = sigmoid(((x - mean) / std) · coef + intercept)``, fires at ``p >= threshold``."""

    segment: str
    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    std: np.ndarray
    threshold: float = 0.5

    def proba(self, x: np.ndarray) -> float:
        z = float(((np.asarray(x, np.float64) - self.mean) / self.std) @ self.coef + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))


@dataclasses.dataclass(frozen=True)
class EmbeddingSegment:
    """A segment from a linear head: name, probability, and whether it fired."""

    segment: str
    probability: float
    active: bool


class SegmentHeads:
    """Linear heads over the embedding (``embedding``) and over hand-crafted features (``features``)."""

    def __init__(self, d: dict, where: str = "segment heads"):
        if d.get("format") != HEADS_FORMAT:
            raise ModelError(f"{where}: not a {HEADS_FORMAT} file (format={d.get('format')!r})")
        names = d.get("feature_names")
        if names is not None and list(names) != list(FEATURE_NAMES):
            raise ModelError(f"{where}: feature heads were fitted on other hand-crafted features than this SDK computes")
        self.encoder_version = str(d.get("encoder_version", ""))
        self.mappings = {str(k): np.asarray(v, np.float64) for k, v in (d.get("mappings") or {}).items()}
        try:
            self.heads = {kind: [Head(s, np.asarray(h["coef"], np.float64), float(h["intercept"]), np.asarray(h["mean"], np.float64),
                                      np.asarray(h["std"], np.float64), float(h.get("threshold", 0.5)))
                                 for s, h in (d.get(kind) or {}).items()] for kind in ("embedding", "features")}  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where}: malformed head ({exc})") from None

    @classmethod
    def create_from_path(cls, path: str | Path) -> SegmentHeads:
        try:
            return cls(json.loads(Path(path).read_text()), str(path))
        except FileNotFoundError:
            raise ModelError(f"{path}: segment heads file not found") from None
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: not valid JSON ({exc})") from None

    def mapping_for(self, encoder_version: str) -> np.ndarray | None:
        """Matrix mapping ``encoder_version`` embeddings into the heads' space (None: same version)."""
        if encoder_version == self.encoder_version:
            return None
        if encoder_version in self.mappings:
            return self.mappings[encoder_version]
        raise ModelError(f"heads fitted on encoder {self.encoder_version} have no mapping for encoder {encoder_version}; "
                         f"known mappings: {sorted(self.mappings)}")  # fmt: skip

    def classify_embedding(self, embedding: np.ndarray, encoder_version: str | None = None) -> tuple:
        """:class:`EmbeddingSegment` per head for one user embedding (mapped when versions differ)."""
        x = np.asarray(embedding, np.float64)
        w = self.mapping_for(encoder_version) if encoder_version is not None else None
        if w is not None:
            x = l2_normalise(x @ w)
        return tuple(EmbeddingSegment(h.segment, p, p >= h.threshold) for h in self.heads["embedding"] for p in [h.proba(x)])

    def classify_features(self, features: np.ndarray) -> tuple:
        """:class:`EmbeddingSegment` per hand-crafted-feature head (the baseline)."""
        return tuple(EmbeddingSegment(h.segment, p, p >= h.threshold) for h in self.heads["features"] for p in [h.proba(features)])


@dataclasses.dataclass(frozen=True)
class SegmentsResult:
    """Weekly segment result on the device.

    Attributes:
        rules: :class:`~sdk.segments.rules.RuleReport`.
        embedding_segments: One :class:`EmbeddingSegment` per embedding head (empty without an encoder).
        embedding: The user embedding (uploaded only if the app allows), or None.
        encoder_version: Version of the encoder that produced it ("" without one).
    """

    rules: object
    embedding_segments: tuple
    embedding: np.ndarray | None
    encoder_version: str

    @property
    def labels(self) -> tuple:
        """Names of every fired segment (rules and heads), for the aggregated upload."""
        return tuple(sorted(set(self.rules.active) | {s.segment for s in self.embedding_segments if s.active}))


def compute_segments(events: UserEvents, encoder: TimelineEncoder | None = None, heads: SegmentHeads | None = None,
                     rule_options=None, driving_scores=None) -> SegmentsResult:  # fmt: skip
    """Rules, and with an encoder and heads, embedding segments, for one user's local timeline.

    Raises
    ------
    InputError
        Empty or too short history (see :class:`~sdk.segments.rules.RuleOptions.min_days`).
    """
    from momentsense.sdk.segments.rules import evaluate_rules

    if not isinstance(events, UserEvents):
        raise InputError(f"events must be sdk.segments.UserEvents, got {type(events).__name__}")
    rules = evaluate_rules(events, rule_options, driving_scores)
    if encoder is None:
        return SegmentsResult(rules, (), None, "")
    emb = encoder.embed_user(events)
    segs = heads.classify_embedding(emb, encoder.version) if heads is not None else ()
    return SegmentsResult(rules, segs, emb, encoder.version)


__all__ = ["EmbeddingSegment", "SegmentHeads", "SegmentsResult", "TimelineEncoder", "compute_segments", "timeline_features"]
