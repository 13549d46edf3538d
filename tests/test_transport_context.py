"""The transport context head: streaming = batch, no look-ahead, resets, fitting, files, bad input."""

import dataclasses
import json

import numpy as np
import pytest

from momentsense.sdk.errors import InputError, ModelError
from momentsense.sdk.transport.heads import (
    ContextHead,
    context_flush,
    context_init,
    context_probs,
    context_push,
    context_step,
    context_summaries,
    load_head,
    save_head,
    window_vector,
    window_vectors,
)
from momentsense.trainer.transport.context import ContextOptions, fit_head

LABELS = ("a", "b", "c")


def random_head(seed=0, n_channels=2, scales=(3, 8), hidden=5, labels=LABELS, lag=0, gps=False):
    from momentsense.sdk.transport.gps import GPS_FEATURES, GpsFeatureConfig

    rng = np.random.default_rng(seed)
    n_ahead = len({s for s in scales if s < lag} | {lag}) if lag else 0
    vec = len(labels) + n_channels + (len(GPS_FEATURES) if gps else 0)
    d, k = vec * (1 + 2 * len(scales) + 2 * n_ahead), len(labels)
    return ContextHead(tuple(labels), n_channels, scales, rng.normal(size=d), rng.uniform(0.5, 2, d),
                       (rng.normal(size=(d, hidden)), rng.normal(size=(hidden, k))), (rng.normal(size=hidden), rng.normal(size=k)),
                       lag=lag, gps=GpsFeatureConfig().to_dict() if gps else None)


@pytest.mark.parametrize("lag", [0, 4])
def test_stepping_equals_the_batch_with_resets(lag):
    head = random_head(lag=lag)
    rng = np.random.default_rng(1)
    v = rng.normal(size=(30, head.vector_dim))
    reset = np.zeros(30, bool)
    reset[[0, 11, 12]] = True
    batch = context_probs(head, v, reset)
    st, steps, n_out = context_init(head), [], []
    for i in range(30):
        if reset[i]:
            p, st = context_flush(st, head)
            steps.append(p)
        p, st = context_step(v[i], st, head, reset=bool(reset[i]))
        steps.append(p)
        n_out.append(len(p))
    p, st = context_flush(st, head)
    steps.append(p)
    np.testing.assert_allclose(np.concatenate(steps), batch, rtol=1e-12)
    np.testing.assert_allclose(batch.sum(1), 1.0)
    # without lag, one output per window at once; with lag L, none during a stream's first L windows
    assert n_out[:4] == ([1, 1, 1, 1] if lag == 0 else [0, 0, 0, 0]) and n_out[4] == 1
    assert st.pending == 0 and len(context_flush(st, head)[0]) == 0


def test_lagged_head_reads_exactly_lag_windows_ahead():
    head = random_head(lag=4)
    assert head.future_scales == (3, 4) and head.input_dim == 5 * (1 + 4 + 4)
    rng = np.random.default_rng(7)
    v = rng.normal(size=(20, head.vector_dim))
    r = np.r_[True, np.zeros(19, bool)]
    w = v.copy()
    w[14:] += 5.0  # a different future from window 14 on
    a, b = context_probs(head, v, r), context_probs(head, w, r)
    np.testing.assert_array_equal(a[:10], b[:10])  # window 9 reads up to 13
    assert not np.allclose(a[10], b[10])  # window 10 reads 14
    z = context_summaries(v, r, (3,), lag=2)  # future scales (2,): the window and the next two
    np.testing.assert_allclose(z[5, -10:-5], v[5:8].mean(0))
    np.testing.assert_allclose(z[19, -10:-5], v[19])  # the stream's end: itself only
    np.testing.assert_allclose(z[18, -5:], v[18:20].std(0))


def test_a_quiet_window_gets_no_output_and_changes_no_other():
    """quiet=True (a duty-cycled window): NaN row when due, the perceptron is not run for it, and the
    other windows' outputs are those of the batch path."""
    head = random_head(lag=3)
    rng = np.random.default_rng(9)
    v = rng.normal(size=(12, head.vector_dim))
    quiet = np.zeros(12, bool)
    quiet[[2, 3, 9]] = True
    batch = context_probs(head, v, np.r_[True, np.zeros(11, bool)])
    st, rows = context_init(head), []
    for i in range(12):
        p, st = context_step(v[i], st, head, quiet=bool(quiet[i]))
        rows.append(p)
    p, st = context_flush(st, head)
    rows = np.concatenate(rows + [p])
    assert np.isnan(rows[quiet]).all() and st.quiet == ()
    np.testing.assert_allclose(rows[~quiet], batch[~quiet], rtol=1e-12)


def test_lagged_head_refuses_losing_pending_windows():
    head = random_head(lag=3)
    st = context_init(head)
    vec = np.zeros(head.vector_dim)
    for _ in range(2):
        p, st = context_step(vec, st, head)
        assert len(p) == 0
    with pytest.raises(InputError, match="context_flush"):
        context_step(vec, st, head, reset=True)
    with pytest.raises(InputError, match="without lag"):
        context_push(vec, st, head)
    p, st = context_flush(st, head)
    assert len(p) == 2
    p, st = context_step(vec, st, head, reset=True)
    assert len(p) == 0 and st.n == 1


def test_no_look_ahead_and_a_reset_forgets_the_past():
    head = random_head()
    rng = np.random.default_rng(2)
    v = rng.normal(size=(20, head.vector_dim))
    w = v.copy()
    w[10:] += 5.0  # a different future
    r = np.zeros(20, bool)
    r[0] = True
    a, b = context_probs(head, v, r), context_probs(head, w, r)
    np.testing.assert_array_equal(a[:10], b[:10])
    assert not np.allclose(a[10:], b[10:])
    p, st = context_step(v[0], context_init(head), head)
    np.testing.assert_array_equal(context_push(v[0], context_init(head), head).buffer, st.buffer)
    assert p.shape == (1, 3)
    # after a reset at 10, the output is that of a fresh stream starting there
    r2 = r.copy()
    r2[10] = True
    np.testing.assert_allclose(context_probs(head, v, r2)[10:], context_probs(head, v[10:], r[:10])[:10])


def test_summary_is_mean_and_std_of_the_recent_windows():
    v = np.arange(10, dtype=float)[:, None] * np.ones((1, 5))
    z = context_summaries(v, np.r_[True, np.zeros(9, bool)], (3,))
    assert z.shape == (10, 15)
    np.testing.assert_allclose(z[9, :5], 9.0)  # the newest vector
    np.testing.assert_allclose(z[9, 5:10], 8.0)  # mean of 7, 8, 9
    np.testing.assert_allclose(z[9, 10:], np.std([7.0, 8.0, 9.0]))
    np.testing.assert_allclose(z[0, 5:10], 0.0)  # a stream's first window: its own mean, std 0
    np.testing.assert_allclose(z[1, 5:10], 0.5)


def test_window_vector_is_log_probs_and_log_channel_std():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(250, 2)) * [0.5, 2.0]
    v = window_vector(np.array([0.7, 0.3, 0.0]), x)
    np.testing.assert_allclose(v[:3], np.log([0.7, 0.3, 1e-4]))
    np.testing.assert_allclose(v[3:], np.log(x.std(0) + 1e-3))
    np.testing.assert_allclose(window_vectors(np.array([[0.7, 0.3, 0.0]]), x[None])[0], v)


def test_fit_head_learns_what_only_minutes_of_context_show():
    """Classes whose single windows look alike (same distribution) but differ in how they alternate over
    time: a per-window classifier is at chance, the head is not."""
    rng = np.random.default_rng(4)
    vecs, ys, resets = [], [], []
    for i in range(60):
        c = i % 2
        n = 40
        if c == 0:  # alternates every window
            s = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
        else:  # long runs of the same value
            s = np.where((np.arange(n) // 20) % 2 == 0, 1.0, -1.0) * rng.choice([-1, 1])
        v = np.stack([s + 0.1 * rng.normal(size=n), 0.1 * rng.normal(size=n), rng.normal(size=n)], 1)
        vecs.append(v)
        ys.append(np.full(n, c))
        resets.append(np.r_[True, np.zeros(n - 1, bool)])
    v, y, r = np.concatenate(vecs), np.concatenate(ys), np.concatenate(resets)
    opts = ContextOptions(scales=(4, 8), hidden=(16,), seed=0)
    z = context_summaries(v, r, opts.scales)
    head = fit_head(z[: len(z) // 2], y[: len(y) // 2], ("alt", "runs"), 1, opts)
    held = slice(len(z) // 2, None)
    pred = context_probs(head, v[held], r[held]).argmax(1)
    warm = np.concatenate([np.arange(n) >= 8 for n in [40] * 30])  # once 8 windows of context exist
    assert np.mean(pred[warm] == y[held][warm]) > 0.9
    # one window alone: its first coordinate is ±1 in both classes
    assert abs(np.mean(v[y == 0, 0] > 0) - np.mean(v[y == 1, 0] > 0)) < 0.15


def test_fit_head_keeps_every_label_even_if_absent():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(200, 5 * 3))
    y = (z[:, 0] > 0).astype(int) * 2  # classes 0 and 2; class 1 never seen
    head = fit_head(z, y, LABELS, 2, ContextOptions(scales=(2,), hidden=(4,)))
    p = context_probs(head, rng.normal(size=(10, 5)), np.r_[True, np.zeros(9, bool)])
    assert p.shape == (10, 3) and np.all(p[:, 1] < 1e-6)


def test_an_ensemble_head_is_the_mean_of_its_members_logits():
    """ensemble=2 ships one perceptron twice as wide whose output is softmax of the members' mean logits."""
    rng = np.random.default_rng(8)
    z = rng.normal(size=(300, 5 * 3))
    y = (z[:, 0] + 0.5 * z[:, 1] > 0).astype(int) + (z[:, 2] > 1)
    opts = ContextOptions(scales=(2,), hidden=(6,), seed=3, ensemble=2)
    ens = fit_head(z, y, LABELS, 2, opts)
    a = fit_head(z, y, LABELS, 2, dataclasses.replace(opts, ensemble=1))
    b = fit_head(z, y, LABELS, 2, dataclasses.replace(opts, ensemble=1, seed=4))
    assert ens.weights[0].shape == (15, 12) and a.weights[0].shape == (15, 6)
    v, r = rng.normal(size=(20, 5)), np.r_[True, np.zeros(19, bool)]
    la, lb = np.log(context_probs(a, v, r)), np.log(context_probs(b, v, r))
    m = (la + lb) / 2
    want = np.exp(m - m.max(1, keepdims=True))
    np.testing.assert_allclose(context_probs(ens, v, r), want / want.sum(1, keepdims=True), rtol=1e-4, atol=1e-9)
    assert not np.allclose(la, lb)  # the members differ
    with pytest.raises(InputError, match="ensemble"):
        fit_head(z, y, LABELS, 2, ContextOptions(scales=(2,), hidden=(4, 4), ensemble=2))


def test_save_load_round_trip_and_bad_files(tmp_path):
    head = random_head()
    path = save_head(head, tmp_path / "h.json")
    back = load_head(path)
    v = np.random.default_rng(6).normal(size=(5, head.vector_dim))
    r = np.r_[True, np.zeros(4, bool)]
    np.testing.assert_allclose(context_probs(back, v, r), context_probs(head, v, r), rtol=1e-5)  # 7 digits stored
    np.testing.assert_array_equal(context_probs(load_head(save_head(back, tmp_path / "h2.json")), v, r), context_probs(back, v, r))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        load_head(tmp_path / "bad.json")
    d = head.to_dict()
    d["format"] = "other"
    (tmp_path / "fmt.json").write_text(json.dumps(d))
    with pytest.raises(ModelError, match="format"):
        load_head(tmp_path / "fmt.json")
    d = head.to_dict()
    d["weights"][1] = d["weights"][1][:-1]
    (tmp_path / "shape.json").write_text(json.dumps(d))
    with pytest.raises(ModelError, match="do not chain"):
        load_head(tmp_path / "shape.json")
    with pytest.raises(ModelError, match="non-finite"):
        dataclasses.replace(head, mean=np.full_like(head.mean, np.nan))
    # a lagged head keeps its lag; a file without "lag" (written before lags existed) has none
    lagged = random_head(lag=4)
    assert load_head(save_head(lagged, tmp_path / "lag.json")).lag == 4
    d = head.to_dict()
    del d["lag"]
    (tmp_path / "old.json").write_text(json.dumps(d))
    assert load_head(tmp_path / "old.json").lag == 0
    for bad in (-1, 2.5, "3", True):
        d = lagged.to_dict()
        d["lag"] = bad
        (tmp_path / "badlag.json").write_text(json.dumps(d))
        with pytest.raises(ModelError):
            load_head(tmp_path / "badlag.json")


def test_bad_input_gets_a_clear_error():
    head = random_head()
    st = context_init(head)
    with pytest.raises(InputError, match="length"):
        context_step(np.zeros(3), st, head)
    bad = np.zeros(head.vector_dim)
    bad[0] = np.nan
    with pytest.raises(InputError, match="finite"):
        context_step(bad, st, head)
    with pytest.raises(InputError, match="finite"):
        window_vector(np.array([np.nan, 0.5, 0.5]), np.zeros((10, 2)))
    with pytest.raises(InputError, match="need vectors"):
        context_summaries(np.zeros((4, 5)), np.zeros(3, bool), (2,))


def test_ship_head_names_it_in_that_models_manifest_only(tmp_path):
    import shutil

    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.models.manifest import read_manifest, sha256_file
    from momentsense.sdk.records import TRANSPORT_MODES
    from momentsense.sdk.transport.detector import load_context_head
    from momentsense.trainer.transport.context import _add_compare_row, ship_head

    for name in ("transport_cnn", "transport_cnn_float32"):
        for ext in (".tflite", ".json"):
            shutil.copyfile(artifact_dir() / f"{name}{ext}", tmp_path / f"{name}{ext}")
    head = random_head(n_channels=14, labels=TRANSPORT_MODES)
    src = save_head(head, tmp_path / "fitted.json")
    mpath = ship_head(src, tmp_path / "transport_cnn.tflite")
    ref = read_manifest(mpath).extra["context"]
    assert ref["file"] == "transport_cnn.context.json" and ref["sha256"] == sha256_file(tmp_path / ref["file"])
    loaded = load_context_head(tmp_path / "transport_cnn.tflite", read_manifest(mpath))
    np.testing.assert_array_equal(loaded.mean, load_head(src).mean)
    # the other model's head reference is untouched (whatever it was)
    before = json.loads((artifact_dir() / "transport_cnn_float32.json").read_text())["extra"].get("context")
    assert read_manifest(tmp_path / "transport_cnn_float32.json").extra.get("context") == before
    with pytest.raises(ModelError):
        ship_head(tmp_path / "transport_cnn.tflite", tmp_path / "transport_cnn.tflite")  # not a head
    # a comparison row for the int8 model + head, replacing an older one of the same name
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"compare": [{"model": "cnn", "params": 10}, {"model": "cnn int8 tflite+context"}]}))
    m = {"accuracy": 0.5, "macro_f1": 0.4}
    _add_compare_row(metrics, tmp_path / "transport_cnn.tflite", head, src, m)
    rows = json.loads(metrics.read_text())["compare"]
    assert [r["model"] for r in rows] == ["cnn", "cnn int8 tflite+context"] and rows[1]["macro_f1"] == 0.4
    n_int8 = read_manifest(tmp_path / "transport_cnn.json").metrics["n_params"]
    assert rows[1]["params"] == n_int8 + head.n_params
    # a lagged head goes beside it under its own key and file, and gets its own row
    lagged = random_head(n_channels=14, labels=TRANSPORT_MODES, lag=6)
    lsrc = save_head(lagged, tmp_path / "lagged.json")
    manifest = read_manifest(ship_head(lsrc, tmp_path / "transport_cnn.tflite"))
    assert manifest.extra["context"] == ref and manifest.extra["context_lagged"]["file"] == "transport_cnn.context_lagged.json"
    assert load_context_head(tmp_path / "transport_cnn.tflite", manifest, "context_lagged").lag == 6
    _add_compare_row(metrics, tmp_path / "transport_cnn.tflite", lagged, lsrc, {"accuracy": 0.6, "macro_f1": 0.5})
    rows = json.loads(metrics.read_text())["compare"]
    assert [r["model"] for r in rows] == ["cnn", "cnn int8 tflite+context", "cnn int8 tflite+context_lagged"]
