"""Tokens, Markov baseline, LSTM training/export (tiny), and the shift transform."""

import numpy as np
import pytest

from momentsense.sdk.moments.tokens import N_FEATURES, N_TOKENS, EncodingConfig, encode_events, window_for
from momentsense.trainer.nextevent.data import eval_mask, shift_week, split_users, user_sequences
from momentsense.trainer.nextevent.evaluate import evaluate, fit_population_markov, markov_predictor, topk
from momentsense.trainer.population import PopulationOptions, simulate_population


@pytest.fixture(scope="module")
def seqs():
    tl = simulate_population(PopulationOptions(30, 4, seed=5))
    return tl, user_sequences(tl)


def test_split_users_is_disjoint_and_seeded():
    a = split_users(100, 0)
    assert len(set(a[0]) & set(a[2])) == 0 and len(set(a[1]) & set(a[2])) == 0
    assert sum(len(x) for x in a) == 100
    np.testing.assert_array_equal(split_users(100, 0)[2], a[2])


def test_features_never_include_the_current_duration(seqs):
    """Changing an event's own end leaves its feature row unchanged (only the next row sees it)."""
    _, ss = seqs
    s = ss[0]
    prev = np.concatenate([[0.0], (s.end - s.start)[:-1]])
    f1 = encode_events(s.start, s.tokens, prev)
    prev2 = prev.copy()
    prev2[11] += 600.0  # event 10 lasted 10 minutes longer
    f2 = encode_events(s.start, s.tokens, prev2)
    assert np.array_equal(f1[10], f2[10]) and not np.array_equal(f1[11], f2[11])


def test_window_is_left_padded_and_capped():
    cfg = EncodingConfig(max_events=8)
    start = np.arange(20) * 3600.0
    f = encode_events(start, np.zeros(20, int), np.zeros(20))
    w = window_for(f, start, 3, cfg)
    assert w.shape == (8, N_FEATURES) and np.all(w[:4] == 0) and np.all(w[4:, 0] == 1)
    assert np.all(window_for(f, start, 19, cfg)[:, 0] == 1)


def test_shift_week_moves_only_that_week(seqs):
    _, ss = seqs
    s = ss[1]
    sh = shift_week(s, 3)
    wk = np.floor((s.start - s.origin) / 604800).astype(int)
    np.testing.assert_allclose(sh.start[wk == 3], s.start[wk == 3] + 3600)
    np.testing.assert_array_equal(sh.start[wk < 3], s.start[wk < 3])
    assert np.all(sh.end >= sh.start) and np.all(np.diff(sh.start) >= 0)


def test_markov_beats_chance_and_topk_is_consistent(seqs):
    tl, ss = seqs
    pop = fit_population_markov(ss[:20])
    m = evaluate(ss[20:], tl.truth, {"markov": markov_predictor(pop)}, progress=False)
    assert m["n_events"] > 100 and m["markov_top1"] > 3.0 / N_TOKENS
    assert m["markov_top3"] >= m["markov_top1"]
    P = np.eye(3)[[0, 1, 2]]
    assert topk(P, np.array([0, 1, 0])) == (pytest.approx(2 / 3), 1.0)


def test_eval_mask_skips_history_and_last(seqs):
    _, ss = seqs
    m = eval_mask(ss[0], 3)
    assert not m[-1] and np.all(ss[0].start[m] >= ss[0].origin + 3 * 604800)


@pytest.mark.parametrize("recall_heads", [0, 2])
def test_train_export_and_tflite_match_keras(seqs, tmp_path, recall_heads):
    """One tiny epoch; the exported builtin-only TFLite model gives the Keras probabilities."""
    from momentsense.edge_models.next_event import build_export_model
    from momentsense.quantize.recurrent import check_builtin_only, export_lstm_tflite
    from momentsense.sdk.models.interpreter import load_model
    from momentsense.trainer.nextevent.evaluate import keras_predictor, tflite_predictor
    from momentsense.trainer.nextevent.train import TrainOptions, train_next_event

    tl, ss = seqs
    cfg = EncodingConfig(max_events=48)
    model, hist = train_next_event(ss[:20], ss[20:24], cfg, TrainOptions(epochs=1, crops_per_user=2, units=16, embed=8, threads=1,
                                                                              recall_heads=recall_heads), progress=False)  # fmt: skip
    assert len(hist) == 1
    assert any(layer.name == "recall" for layer in model.layers) == bool(recall_heads)
    data = export_lstm_tflite(build_export_model(model, cfg.max_events), "float32")
    ops = check_builtin_only(data)
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in ops and "WHILE" not in ops
    tfl = load_model(data)
    assert tfl.input_spec.shape == (1, 48, N_FEATURES) and tfl.output_spec.shape == (1, N_TOKENS + 1)
    m = eval_mask(ss[25], 3)
    m[np.flatnonzero(m)[10:]] = False
    pk = keras_predictor(model, cfg)(ss[25], m)
    pt = tflite_predictor(tfl, cfg)(ss[25], m)
    np.testing.assert_allclose(pt, pk, atol=1e-4)


def test_first_week_scenario_scores_only_each_users_first_week(seqs):
    """The cold start: events of week 0 only, from the first one, with the same predictors."""
    tl, ss = seqs
    pop = fit_population_markov(ss[:20])
    seen = []

    def spy(seq, mask):
        seen.append((seq, mask.copy()))
        return markov_predictor(pop)(seq, mask)

    m = evaluate(ss[20:], tl.truth, {"markov": spy}, progress=False, scenarios=("first_week",))
    assert m["n_users"] == 10 and m["n_events_first_week"] == sum(int(k.sum()) for _, k in seen) > 50
    for seq, mask in seen:
        assert np.all(seq.start[mask] < seq.origin + 604800)
        assert mask[np.argmax(seq.start >= seq.origin)]  # the very first event is scored
    assert 3.0 / N_TOKENS < m["markov_top1_first_week"] <= m["markov_top3_first_week"]
    assert "n_events" not in m and "markov_top1" not in m  # "all" was not asked for: no key, not a NaN


def test_cli_first_week_and_shift_are_exclusive(tmp_path, capsys):
    from momentsense.trainer.cli import main

    args = ["eval", "next-event", "--model", "m.tflite", "--data", "d.h5", "--first-week", "--shift-hours", "1"]
    assert main(args) == 2
    assert "--first-week" in capsys.readouterr().err


def test_cli_refuses_negative_recall_heads(tmp_path, capsys):
    from momentsense.trainer.cli import main

    assert main(["train", "next-event", "--data", "d.h5", "--out", str(tmp_path), "--recall-heads", "-1"]) == 2
    assert "--recall-heads" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_recall_branch_is_causal_and_skips_padding():
    """The recall branch never reads an event at or after the one it predicts from; padding is ignored."""
    from momentsense.edge_models.next_event import build_next_event_model, recall_layer_class

    T = 24
    model = build_next_event_model(N_FEATURES, N_TOKENS, units=8, embed=8, seq_len=T, recall_heads=2)
    rng = np.random.default_rng(1)
    tok = rng.integers(0, N_TOKENS, T)
    x = encode_events(1767571200.0 + np.cumsum(rng.uniform(600, 7200, T)), tok, np.full(T, 600.0))[None]
    x[0, :5] = 0.0  # left padding
    base = model.predict(x, verbose=0)["next"][0]
    for t in (8, 15, T - 1):
        x2 = x.copy()
        x2[0, t, :N_TOKENS] = 0.0
        x2[0, t, (tok[t] + 3) % N_TOKENS] = 1.0
        changed = np.abs(model.predict(x2, verbose=0)["next"][0] - base).max(axis=1) > 1e-7
        assert not changed[:t].any() and changed[t]
    recall = model.get_layer("recall")
    assert isinstance(recall, recall_layer_class())
    r = recall(x).numpy()[0].reshape(T, 2, N_TOKENS)
    assert np.all(r[:6] == 0.0)  # nothing before the first event's successor is known
    np.testing.assert_allclose(r[6:].sum(-1), 1.0, rtol=1e-5)  # a mixture of next tokens, per head
    x3 = x.copy()
    x3[0, :5, N_TOKENS:] = rng.normal(size=(5, N_FEATURES - N_TOKENS))  # junk in padding rows' other columns
    np.testing.assert_allclose(recall(x3).numpy(), recall(x).numpy(), atol=1e-6)


def test_recall_model_saves_and_loads(tmp_path):
    from momentsense.edge_models.next_event import build_next_event_model, load_keras_model

    model = build_next_event_model(N_FEATURES, N_TOKENS, units=8, embed=8, seq_len=12, recall_heads=2)
    model.save(tmp_path / "m.keras")
    back = load_keras_model(tmp_path / "m.keras")
    x = np.random.default_rng(2).random((2, 12, N_FEATURES)).astype(np.float32)
    np.testing.assert_allclose(back.predict(x, verbose=0)["next"], model.predict(x, verbose=0)["next"], atol=1e-6)
    with pytest.raises(ValueError, match="seq_len"):
        build_next_event_model(N_FEATURES, N_TOKENS, recall_heads=2)
