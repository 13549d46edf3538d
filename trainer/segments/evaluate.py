"""``momentsense eval segments``: the shipped encoder, heads and rules on any timeline with planted personas.

Runs exactly what the phone runs (:mod:`sdk.segments`: TFLite encoder through the SDK interpreter,
linear heads from JSON, rules) and scores each against the planted truth. Users the encoder or
heads were trained on must not be in the file for the numbers to mean "unseen users": simulate it
with another seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from momentsense.sdk.segments.embedding import SegmentHeads, TimelineEncoder
from momentsense.sdk.segments.events import users_of
from momentsense.sdk.segments.features import timeline_features
from momentsense.sdk.io.timeline_file import read_timeline
from momentsense.trainer.population.profile import PERSONAS
from momentsense.trainer.segments.fewlabel import f1
from momentsense.trainer.segments.workflow import (
    evaluate_rule_segments,
    segment_truth,
    usable_users,
)


def run_eval(data: str, model: str | None = None, heads: str | None = None, max_users: int | None = None) -> dict:
    """Per-segment F1 of ``rules``, ``embedding`` and ``features_baseline`` (None where a method has no such segment)."""
    if model is None:
        from momentsense.edge_models import artifact_dir

        model = str(artifact_dir() / "timeline_encoder.tflite")
    heads = heads or str(Path(model).with_name("segment_classifiers.json"))
    enc = TimelineEncoder.create_from_path(model)
    hd = SegmentHeads.create_from_path(heads)
    tl = read_timeline(data)
    codes = usable_users(tl, enc.config.min_history_s / 86400.0)
    if max_users:
        codes = codes[: int(max_users)]
    if not codes:
        from momentsense.sdk.errors import InputError

        raise InputError(f"{data}: no user has {enc.config.min_history_s / 86400:g} days of history")
    users = users_of(tl, codes)
    y = segment_truth(tl, codes)
    rules = evaluate_rule_segments(users, y)
    emb = np.stack([enc.embed_user(u) for u in users])
    feats = np.stack([timeline_features(u, enc.config.utc_offset_s) for u in users])
    p_emb = {s.segment: [] for s in hd.heads["embedding"]}
    p_feat = {s.segment: [] for s in hd.heads["features"]}
    for e, f in zip(emb, feats):
        for r in hd.classify_embedding(e, enc.version):
            p_emb[r.segment].append(r.active)
        for r in hd.classify_features(f):
            p_feat[r.segment].append(r.active)
    out: dict = {}
    for s in sorted(set(PERSONAS) | {"home_worker"}):
        out[s] = {
            "rules": rules[s]["f1"] if rules.get(s, {}).get("available") else None,
            "embedding": f1(np.array(p_emb[s]), y[s]) if s in p_emb else None,
            "features_baseline": f1(np.array(p_feat[s]), y[s]) if s in p_feat else None,
        }
    mean = {k: float(np.mean([v[k] for v in out.values() if v[k] is not None])) for k in ("rules", "embedding", "features_baseline")}
    with_rule = [s for s in out if out[s]["rules"] is not None and out[s]["embedding"] is not None]
    mean_rule = {k: float(np.mean([out[s][k] for s in with_rule])) for k in ("rules", "embedding", "features_baseline")} if with_rule else {}
    return {"f1": out, "mean_f1": mean, "mean_f1_rule_segments": mean_rule, "rules_detail": rules, "n_users": len(codes),
            "encoder_version": enc.version, "interpreter": enc.backend, "data": str(data), "data_source": tl.source}  # fmt: skip
