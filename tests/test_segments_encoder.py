"""Timeline encoder: the triplet loss falls, same-user windows are closer on held-out users, TFLite ≈ Keras,
the SDK runs it, and heads map embeddings of a newer encoder version."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.segments.embedding import (
    HEADS_FORMAT,
    SegmentHeads,
    TimelineEncoder,
    compute_segments,
)
from momentsense.sdk.segments.encoding import WindowConfig, encode_user_windows
from momentsense.sdk.segments.events import UserEvents, users_of
from momentsense.trainer.population import PopulationOptions, simulate_population
from momentsense.trainer.segments.encoder import (
    EncoderTrainOptions,
    augment_window,
    embed_windows,
    retrieval_metrics,
    train_encoder,
)
from momentsense.trainer.segments.fewlabel import procrustes, ridge_map

CFG = WindowConfig(max_events=160)


@pytest.fixture(scope="module")
def trained():
    tl = simulate_population(PopulationOptions(n_users=60, weeks=5, seed=3))
    users = users_of(tl)
    opts = EncoderTrainOptions(steps=120, users_per_batch=24, dim=16, width=16, learning_rate=3e-3, seed=0)
    model, history = train_encoder(users[:40], CFG, opts, log_every=20, verbose=False)
    return model, history, users


def test_triplet_loss_falls(trained):
    """The batch-hard loss of the last 20 steps is well below that of the first 20 (measured 0.30 -> 0.01)."""
    _, history, _ = trained
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_same_user_closer_on_held_out_users(trained):
    """Held-out users: a user's late window is closer to their early window than most other users' are."""
    model, _, users = trained
    r = retrieval_metrics(model, users[40:], CFG)
    assert r["same_closer_frac"] > 0.8  # chance is 0.5
    assert r["mean_dist_same"] < r["mean_dist_other"]


def test_embeddings_are_unit_norm(trained):
    model, _, users = trained
    e = embed_windows(model, encode_user_windows(users[45], CFG))
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)


def test_augment_keeps_padding_and_tokens():
    """Augmentation moves times and durations, never tokens, and leaves padded rows zero."""
    ev = UserEvents.create([0.0, 3600.0, 7200.0], [3600.0, 7200.0, 9.0 * 86400], ["home", "car", "work"])
    from momentsense.sdk.segments.encoding import encode_window

    x = encode_window(ev, 10 * 86400.0, CFG)
    y = augment_window(x, np.random.default_rng(0), 1800.0, 0.05)
    np.testing.assert_array_equal(y[:, :18], x[:, :18])
    assert np.all(y[:-3] == 0) and not np.allclose(y[-3:], x[-3:])


def test_tflite_matches_keras_and_runs_in_sdk(trained, tmp_path):
    """float16 builtin-op TFLite embeds like Keras; the SDK loads it with its manifest and embeds a user."""
    from momentsense.edge_models.timeline_encoder import build_export_model
    from momentsense.quantize.export import export_tflite, write_model
    from momentsense.quantize.recurrent import check_builtin_only

    model, _, users = trained
    data = export_tflite(build_export_model(model, 18), "float16")
    ops = check_builtin_only(data)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops
    write_model(data, tmp_path, "timeline_encoder", "1.0.0", "timeline_encoder", preprocess=CFG.to_dict())
    enc = TimelineEncoder.create_from_path(tmp_path / "timeline_encoder.tflite")
    x = encode_user_windows(users[50], CFG)
    ref = np.asarray(model(x))
    got = enc.embed_windows(x)
    assert np.max(np.abs(got - ref)) < 1e-2
    assert np.min(np.sum(got * ref, axis=1)) > 0.999
    assert enc.embed_user(users[50]).shape == (16,)
    with pytest.raises(InputError, match="at least 7 days"):
        enc.embed_user(UserEvents.create([0.0], [3600.0], ["home"]))


def _heads(dim: int, version: str, mappings: dict) -> SegmentHeads:
    rng = np.random.default_rng(0)
    head = {"coef": rng.normal(size=dim).tolist(), "intercept": 0.0, "mean": [0.0] * dim, "std": [1.0] * dim}
    return SegmentHeads({"format": HEADS_FORMAT, "encoder_version": version, "embedding": {"sporty": head}, "features": {},
                         "mappings": mappings})  # fmt: skip


def test_heads_map_a_newer_encoder_version():
    """A rotated embedding space (version 2) mapped back reproduces the version-1 decision exactly."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    old = rng.normal(size=(200, 16))
    old /= np.linalg.norm(old, axis=1, keepdims=True)
    new = old @ q.T  # the retrained space: a rotation of the old one
    w = procrustes(new, old)
    np.testing.assert_allclose(new @ w, old, atol=1e-8)
    np.testing.assert_allclose(new @ ridge_map(new, old, alpha=1e-9), old, atol=1e-5)
    heads = _heads(16, "1.0.0", {"2.0.0": w.tolist()})
    for i in range(10):
        p_old = heads.classify_embedding(old[i], "1.0.0")[0].probability
        p_new = heads.classify_embedding(new[i], "2.0.0")[0].probability
        assert p_new == pytest.approx(p_old, abs=1e-6)
    with pytest.raises(ModelError, match="no mapping for encoder 3.0.0"):
        heads.classify_embedding(new[0], "3.0.0")


def test_segment_heads_fails_with_wrong_format(tmp_path):
    p = tmp_path / "h.json"
    p.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelError, match="not a momentsense-segment-heads-v1"):
        SegmentHeads.create_from_path(p)


def test_compute_segments_without_encoder_has_rules_only(trained):
    """Without an encoder the weekly result holds the rules and no embedding."""
    _, _, users = trained
    res = compute_segments(users[41])
    assert res.embedding is None and res.embedding_segments == () and set(res.labels) == set(res.rules.active)


def test_segment_heads_fails_with_other_features():
    """Feature heads fitted on another feature list are refused (the SDK would feed them wrong columns)."""
    with pytest.raises(ModelError, match="other hand-crafted features"):
        SegmentHeads({"format": HEADS_FORMAT, "feature_names": ["a", "b"], "embedding": {}, "features": {}})


@pytest.fixture(scope="module")
def retrained(trained):
    """Two cold retrains of the fixture's encoder (new seed, fresh weights): plain, and with the compatibility loss."""
    import dataclasses

    model, _, users = trained
    opts = EncoderTrainOptions(steps=120, users_per_batch=24, dim=16, width=16, learning_rate=3e-3, seed=1)
    plain, _ = train_encoder(users[:40], CFG, opts, log_every=20, verbose=False)
    compat, history = train_encoder(users[:40], CFG, dataclasses.replace(opts, compat_weight=1.0), log_every=20, verbose=False,
                                    reference=model)  # fmt: skip
    return plain, compat, history


def test_compatible_retrain_is_linearly_mappable_to_the_old_space(trained, retrained):
    """With the compatibility loss a ridge map fitted on the training users' windows takes unseen users' new embeddings
    much closer to their old ones than for a plain retrain (measured: mean cosine 0.73 vs 0.62; 0.75 vs 0.64 after other
    test modules changed TensorFlow's state; unmapped -0.05 / -0.21), while the new space is still
    not the old one unmapped, and the triplet loss still falls."""
    model, _, users = trained
    plain, compat, history = retrained
    fit = np.concatenate([encode_user_windows(u, CFG) for u in users[:40]])  # the map's anchors
    held = np.concatenate([encode_user_windows(u, CFG) for u in users[40:]])  # users no encoder saw
    old_fit, old_held = embed_windows(model, fit), embed_windows(model, held)

    def mapped_cosine(new_model):
        w = ridge_map(embed_windows(new_model, fit), old_fit)
        m = embed_windows(new_model, held) @ w
        return float(np.mean(np.sum(m / np.linalg.norm(m, axis=1, keepdims=True) * old_held, axis=1)))

    c_plain, c_compat = mapped_cosine(plain), mapped_cosine(compat)
    assert c_compat > c_plain + 0.05, (c_plain, c_compat)
    assert float(np.mean(np.sum(embed_windows(compat, held) * old_held, axis=1))) < 0.5  # unmapped: another space
    assert history[-1]["compat"] < 0.5 * history[0]["compat"]
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]


def test_compat_weight_needs_a_matching_reference(trained):
    import dataclasses

    model, _, users = trained
    opts = EncoderTrainOptions(steps=1, users_per_batch=8, dim=16, width=16, compat_weight=1.0)
    with pytest.raises(ValueError, match="needs a reference encoder"):
        train_encoder(users[:10], CFG, opts, verbose=False)
    with pytest.raises(ValueError, match="compat_weight must be"):
        train_encoder(users[:10], CFG, dataclasses.replace(opts, compat_weight=-1.0), verbose=False, reference=model)
    with pytest.raises(ValueError, match="reference encoder takes"):
        train_encoder(users[:10], CFG, dataclasses.replace(opts, dim=8), verbose=False, reference=model)
