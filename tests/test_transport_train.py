"""Transport trainer: honest splits, augmentation, bad input, and a tiny end-to-end run."""

import dataclasses
import json

import numpy as np
import pytest

from momentsense.sdk.dsp import PreprocessConfig
from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset, ImuRecording, WindowSet
from momentsense.sdk.sim import simulate_dataset
from momentsense.trainer.transport.augment import AugmentConfig, augment_recording
from momentsense.trainer.transport.data import config_for_dataset, dataset_windows, split_by_subject
from momentsense.trainer.transport.train import TrainOptions, prepare_split, train_transport

SMALL = PreprocessConfig(window_s=4.0, hop_s=2.0)


@pytest.fixture(scope="module")
def tiny():
    return simulate_dataset(n_subjects=4, minutes_per_subject=6, seed=3, modes=("still", "walk", "run"))


def _rec(label, n=500, subject="a", rng=None):
    rng = rng or np.random.default_rng(0)
    t = np.arange(n) * 0.04
    acc = rng.normal(0, 1, (n, 3)).astype(np.float32) + [0, 0, 9.81]
    gyro = rng.normal(0, 0.1, (n, 3)).astype(np.float32)
    return ImuRecording(f"r{subject}{label}", t, acc, gyro, np.full(n, label, np.int16), subject=subject)


class TestSplit:
    def test_split_by_subject_has_no_subject_on_both_sides(self, tiny):
        """Windows of one subject are all in train or all in test."""
        w = dataset_windows(tiny, SMALL)
        tr, te, subj = split_by_subject(w.subject, 0.25, seed=0)
        assert set(w.subject[tr]).isdisjoint(set(w.subject[te]))
        assert set(w.subject[te]) == set(subj) and len(tr) + len(te) == len(w)

    def test_validation_subjects_are_not_fit_subjects(self, tiny):
        """Early stopping uses held-out training subjects, never the fitting ones or test ones."""
        opts = TrainOptions(preprocess=SMALL, copies=1)
        _, fit, val, _, test, test_subjects = prepare_split(tiny, None, opts)
        assert set(fit.subject).isdisjoint(set(val.subject))
        assert set(fit.subject).isdisjoint(set(test.subject)) and set(val.subject).isdisjoint(set(test_subjects))

    def test_augmented_copies_come_only_from_fit_subjects(self, tiny):
        """Augmentation multiplies training windows without leaking test subjects."""
        plain = prepare_split(tiny, None, TrainOptions(preprocess=SMALL, augment=None, copies=0))[1]
        aug = prepare_split(tiny, None, TrainOptions(preprocess=SMALL, copies=2))[1]
        assert len(aug) > 2.5 * len(plain)
        assert set(aug.subject) == set(plain.subject)

    def test_split_fails_with_one_subject(self):
        with pytest.raises(InputError, match="at least 2 subjects"):
            split_by_subject(np.array(["a", "a"]))


class TestAugment:
    @pytest.mark.parametrize("group", sorted(AugmentConfig.GROUPS))
    def test_each_augmentation_changes_the_data_alone(self, group):
        """Switching on one augmentation (all others off) changes the recording; labels stay."""
        rec = _rec(1)
        only = AugmentConfig.none()
        on = {g: AugmentConfig() for g in AugmentConfig.GROUPS}[group]
        cfg = dataclasses.replace(only, **{f: getattr(on, f) for f in AugmentConfig.GROUPS[group]})
        out = augment_recording(rec, cfg, np.random.default_rng(1))
        changed_values = not np.allclose(out.acc, rec.acc)
        changed_time = not np.allclose(out.t, rec.t)
        assert changed_values or changed_time
        np.testing.assert_array_equal(out.label, rec.label)

    def test_none_is_identity(self):
        rec = _rec(0)
        out = augment_recording(rec, AugmentConfig.none(), np.random.default_rng(0))
        np.testing.assert_allclose(out.acc, rec.acc)
        np.testing.assert_allclose(out.t, rec.t)

    def test_rotation_keeps_acceleration_norms(self):
        """A rotation of the device frame changes axes, not magnitudes."""
        rec = _rec(0)
        cfg = dataclasses.replace(AugmentConfig.none(), rotation=True)
        out = augment_recording(rec, cfg, np.random.default_rng(2))
        np.testing.assert_allclose(np.linalg.norm(out.acc, axis=1), np.linalg.norm(rec.acc, axis=1), rtol=1e-5)
        assert not np.allclose(out.acc, rec.acc)

    def test_unknown_group_is_refused(self):
        with pytest.raises(ValueError, match="unknown augmentation"):
            AugmentConfig().without("colour")


class TestBadInput:
    def test_fails_with_no_labels(self):
        rec = dataclasses.replace(_rec(0), label=None)
        with pytest.raises(InputError, match="no labels"):
            train_transport(ImuDataset(["a", "b"], "t", [rec]))

    def test_fails_with_label_outside_label_names(self):
        with pytest.raises(InputError, match="outside label_names"):
            train_transport(ImuDataset(["a", "b"], "t", [_rec(5)]))

    def test_fails_with_single_class(self):
        recs = [_rec(0, 3000, s) for s in "abcd"]
        with pytest.raises(InputError, match="single class"):
            train_transport(ImuDataset(["a", "b"], "t", recs), options=TrainOptions(preprocess=SMALL, augment=None, copies=0))

    def test_fails_with_fewer_windows_than_a_batch(self):
        recs = [_rec(lab, 150, s) for s in "abcd" for lab in (0, 1)]
        with pytest.raises(InputError, match="fewer than one batch"):
            train_transport(ImuDataset(["a", "b"], "t", recs), options=TrainOptions(preprocess=SMALL, augment=None, copies=0))

    def test_fails_with_windows_of_mixed_length(self, tiny):
        ws = WindowSet(np.zeros((4, 60, 3), np.float32), np.array([0, 1, 0, 1], np.int16), np.array(list("abcd")), 20.0,
                       np.zeros((4, 60, 3), np.float32))  # fmt: skip
        test = ImuDataset(list(tiny.label_names), "t", [], ws)
        with pytest.raises(InputError, match="mixed window lengths"):
            prepare_split(tiny, test, TrainOptions(preprocess=SMALL))

    def test_fails_with_an_unknown_monitor(self, tiny):
        with pytest.raises(InputError, match="monitor must be one of"):
            train_transport(tiny, None, TrainOptions(preprocess=SMALL, monitor="val_f1"))


def test_precut_windows_follow_the_dataset_length():
    """Pre-cut 20 Hz windows of 3 s become 25 Hz windows of floor(59/20·25)+1 = 74 samples."""
    rng = np.random.default_rng(0)
    acc = rng.normal(0, 1, (6, 60, 3)).astype(np.float32) + [0, 0, 9.81]
    ds = ImuDataset(["x", "y"], "t", [], WindowSet(acc, np.array([0, 1] * 3, np.int16), np.array(list("aabbcc")), 20.0,
                                                       rng.normal(0, 0.1, (6, 60, 3)).astype(np.float32)))  # fmt: skip
    cfg = config_for_dataset(ds)
    assert cfg.window_len == 74
    w = dataset_windows(ds, cfg)
    assert w.x.shape == (6, 74, 14)


def test_end_to_end_tiny_run_writes_metrics(tmp_path, tiny, monkeypatch):
    """A tiny train → eval run writes metrics.json with the required keys, on held-out subjects only."""
    from momentsense.trainer.transport import workflow

    monkeypatch.setattr(workflow, "load_datasets", lambda paths: tiny)
    opts = TrainOptions(epochs=6, preprocess=SMALL, copies=1, batch_size=32, threads=1)
    m = workflow.run_train(["tiny.h5"], str(tmp_path), None, opts)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("accuracy", "macro_f1", "per_class", "confusion_matrix", "label_names", "n_params", "test_subjects"):
        assert key in saved
    assert saved["n_params"] < 50_000
    assert (tmp_path / "confusion.png").stat().st_size > 1000
    train_subjects = {r.subject for r in tiny.recordings} - set(m["test_subjects"])
    assert train_subjects and not train_subjects & set(m["test_subjects"])
    # Chance on 3 balanced-ish classes is ~0.33; a few epochs on a tiny set must beat it clearly.
    assert m["accuracy"] > 0.5
    # The context head is fitted on the same split and reported beside the CNN.
    ctx = saved["context"]
    assert 0 <= ctx["macro_f1"] <= 1 and ctx["test_windows_clean"] == saved["test_windows_clean"]
    assert [r["model"] for r in saved["compare"]] == ["cnn", "cnn+context", "cnn+context_lagged"]
    from momentsense.sdk.transport.heads import load_head

    head = load_head(tmp_path / "transport_context.json")
    assert list(head.label_names) == list(tiny.label_names) and head.hmm is not None and head.lag == 0
    lagged = load_head(tmp_path / "transport_context_lagged.json")
    assert lagged.lag == opts.context_lag == 36 and lagged.hmm is not None
    assert saved["context_lagged"]["lag_windows"] == 36 and saved["context_lagged"]["test_windows_clean"] == saved["test_windows_clean"]
    # train transport-context on the saved model rebuilds the same split and replaces the row
    from momentsense.trainer.transport.context import run_context

    c = run_context(str(tmp_path / "transport_cnn.keras"), ["tiny.h5"], str(tmp_path / "ctx"),
                    metrics_path=str(tmp_path / "metrics.json"))  # fmt: skip
    assert c["test_subjects"] == m["test_subjects"] and c["test_windows_clean"] == saved["test_windows_clean"]
    assert c["context_lagged"]["test_subjects"] == m["test_subjects"]
    assert (tmp_path / "ctx" / "context_metrics.json").exists() and (tmp_path / "ctx" / "transport_context_lagged.json").exists()
    rows = json.loads((tmp_path / "metrics.json").read_text())["compare"]
    assert [r["model"] for r in rows] == ["cnn", "cnn+context", "cnn+context_lagged"] and rows[1]["macro_f1"] == c["macro_f1"]
    assert rows[2]["macro_f1"] == c["context_lagged"]["macro_f1"]
    # the lagged head that reads GPS, beside the plain one (the simulated file has GPS tracks)
    cg = run_context(str(tmp_path / "transport_cnn.keras"), ["tiny.h5"], str(tmp_path / "ctxg"), heads=["lagged", "lagged_gps"])
    assert not cg["options"]["gps"] and cg["context_lagged_gps"]["options"]["gps"]
    assert cg["context_lagged_gps"]["test_subjects"] == m["test_subjects"] and cg["macro_f1"] == c["context_lagged"]["macro_f1"]
    assert load_head(tmp_path / "ctxg" / "transport_context_lagged_gps.json").gps is not None
    # --lag 0: the live head only
    c0 = run_context(str(tmp_path / "transport_cnn.keras"), ["tiny.h5"], str(tmp_path / "ctx0"), lag=0)
    assert "context_lagged" not in c0 and not (tmp_path / "ctx0" / "transport_context_lagged.json").exists()
    with pytest.raises(InputError, match="--ship"):
        run_context(str(tmp_path / "transport_cnn.keras"), ["tiny.h5"], str(tmp_path / "ctx2"), ship=True)


def test_context_head_is_skipped_with_a_reason_for_precut_windows(tmp_path):
    """Pre-cut windows (WISDM) have no minutes of context: the run says so and goes on."""
    from momentsense.trainer.transport import context

    rng = np.random.default_rng(0)
    ds = ImuDataset(["x", "y"], "t", [], WindowSet(rng.normal(size=(4, 60, 3)), np.array([0, 1, 0, 1], np.int16),
                                                   np.array(list("aabb")), 20.0))  # fmt: skip
    m = {"compare": []}
    trained = dataclasses.make_dataclass("T", ["config", "label_names", "train_sequences"])(SMALL, ["x", "y"], [])
    assert context.add_to_run(m, tmp_path, None, ds, trained, None, None, 0) == []
    assert "pre-cut" in m["context"]["skipped"] and m["compare"] == []
    with pytest.raises(InputError, match="continuous recordings"):
        context.fit_and_evaluate(None, ds, SMALL, ["x", "y"], None, None, None)


def test_context_head_refuses_recordings_that_never_change_label(tmp_path):
    """WISDM's recordings are one activity each: context would learn 'a recording never changes'."""
    from momentsense.trainer.transport import context

    rng = np.random.default_rng(1)
    ds = ImuDataset(["x", "y"], "t", [_rec(0, subject="a", rng=rng), _rec(1, subject="b", rng=rng)])
    with pytest.raises(InputError, match="single label"):
        context.fit_and_evaluate(None, ds, SMALL, ["x", "y"], None, None, None)
    m = {"compare": []}
    trained = dataclasses.make_dataclass("T", ["config", "label_names", "train_sequences"])(SMALL, ["x", "y"], [])
    assert context.add_to_run(m, tmp_path, None, ds, trained, None, None, 0) == []
    assert "single label" in m["context"]["skipped"]


def test_run_context_refuses_an_unknown_model_format(tmp_path):
    from momentsense.trainer.transport.context import run_context

    with pytest.raises(InputError, match="expected a .tflite or .keras"):
        run_context(str(tmp_path / "m.h5"), ["x.h5"], str(tmp_path))
