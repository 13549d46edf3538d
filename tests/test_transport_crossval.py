"""Subject-wise cross-validation: folds partition the subjects, each fold tests only its subjects."""

import json

import numpy as np
import pytest

from momentsense.sdk.dsp import PreprocessConfig
from momentsense.sdk.errors import InputError
from momentsense.sdk.sim import simulate_dataset
from momentsense.trainer.transport.crossval import dataset_subjects, pooled_metrics, subject_folds
from momentsense.trainer.transport.metrics import classification_metrics
from momentsense.trainer.transport.train import TrainOptions, prepare_split

SMALL = PreprocessConfig(window_s=4.0, hop_s=2.0)


@pytest.fixture(scope="module")
def tiny():
    return simulate_dataset(n_subjects=4, minutes_per_subject=4, seed=5, modes=("still", "walk", "run"))


class TestFolds:
    def test_every_subject_is_tested_exactly_once(self):
        subjects = [f"s{i}" for i in range(21)]
        folds = subject_folds(subjects, 5, seed=0)
        flat = [s for f in folds for s in f]
        assert sorted(flat) == sorted(subjects)
        assert {len(f) for f in folds} == {4, 5}

    def test_seeded_and_shuffled(self):
        subjects = [f"s{i:02d}" for i in range(20)]
        assert subject_folds(subjects, 4, seed=1) == subject_folds(subjects, 4, seed=1)
        assert subject_folds(subjects, 4, seed=1) != subject_folds(subjects, 4, seed=2)
        assert subject_folds(subjects, 4, seed=1)[0] != subjects[:5]

    @pytest.mark.parametrize("k, n", [(1, 10), (5, 5)])
    def test_bad_fold_counts_are_refused(self, k, n):
        with pytest.raises(InputError, match="fold|subjects"):
            subject_folds([f"s{i}" for i in range(n)], k)


class TestExplicitTestSubjects:
    def test_only_the_named_subjects_are_tested(self, tiny):
        subjects = dataset_subjects(tiny)
        opts = TrainOptions(preprocess=SMALL, copies=0, augment=None, test_subjects=(subjects[1],))
        _, fit, val, _, test, test_subjects = prepare_split(tiny, None, opts)
        assert test_subjects == [subjects[1]]
        assert set(test.subject.tolist()) == {subjects[1]}
        assert subjects[1] not in set(fit.subject.tolist()) | set(val.subject.tolist())

    def test_unknown_subject_is_an_error(self, tiny):
        opts = TrainOptions(preprocess=SMALL, copies=0, augment=None, test_subjects=("nobody",))
        with pytest.raises(InputError, match="nobody"):
            prepare_split(tiny, None, opts)

    def test_all_subjects_held_out_is_an_error(self, tiny):
        opts = TrainOptions(preprocess=SMALL, copies=0, augment=None, test_subjects=tuple(dataset_subjects(tiny)))
        with pytest.raises(InputError, match="nothing left to train"):
            prepare_split(tiny, None, opts)


def test_pooled_metrics_equal_metrics_of_the_pooled_labels():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    direct = classification_metrics(y, p, ["a", "b", "c"])
    pooled = pooled_metrics(np.asarray(direct["confusion_matrix"]), ["a", "b", "c"])
    assert pooled["macro_f1"] == pytest.approx(direct["macro_f1"])
    assert pooled["confusion_matrix"] == direct["confusion_matrix"]


def test_tiny_cross_validation_tests_each_subject_once(tmp_path, tiny, monkeypatch):
    from momentsense.trainer.transport import crossval, workflow

    monkeypatch.setattr(workflow, "load_datasets", lambda paths: tiny)
    opts = TrainOptions(epochs=2, preprocess=SMALL, copies=0, augment=None, batch_size=32, threads=1)
    cv = crossval.run_cross_validation(["tiny.h5"], str(tmp_path), folds=2, options=opts, progress=False)
    saved = json.loads((tmp_path / "cv.json").read_text())
    tested = [s for f in saved["folds"] for s in f["test_subjects"]]
    assert sorted(tested) == dataset_subjects(tiny)
    f1s = [f["models"]["cnn"]["macro_f1"] for f in cv["folds"]]
    assert cv["models"]["cnn"]["mean_macro_f1"] == pytest.approx(np.mean(f1s))
    n_test = sum(json.loads((tmp_path / f"fold{i}" / "metrics.json").read_text())["n_windows"] for i in range(2))
    assert np.sum(cv["models"]["cnn"]["pooled"]["confusion_matrix"]) == n_test


def test_cli_refuses_folds_with_a_test_file(tmp_path, capsys):
    from momentsense.trainer.cli import main

    args = ["train", "transport", "--data", "a.h5", "--test-data", "b.h5", "--out", str(tmp_path), "--folds", "3"]
    assert main(args) == 2
    assert "--folds" in capsys.readouterr().err


def test_nested_selection_never_trains_or_chooses_on_the_outer_test_subjects(tmp_path, monkeypatch):
    """Each outer fold chooses its recipe by inner CV on its training subjects only (runs are faked)."""
    import dataclasses

    from momentsense.trainer.transport import crossval, workflow
    from momentsense.trainer.transport.augment import AugmentConfig

    subjects = [f"s{i}" for i in range(9)]
    ds = simulate_dataset(n_subjects=1, minutes_per_subject=1, seed=0, modes=("still", "walk"))
    ds = dataclasses.replace(ds, recordings=[dataclasses.replace(ds.recordings[0], subject=s) for s in subjects])
    monkeypatch.setattr(workflow, "load_datasets", lambda paths: ds)
    calls = []

    def fake_run_train(data, out, test_data, opts, baselines=False, progress=True, dataset=None):
        calls.append(opts)
        # Inner scores favour 45°; the outer score tells which recipe was trained.
        f1 = 0.9 if opts.augment.rotation_deg == 45 else 0.5
        return {"macro_f1": f1, "compare": [{"model": "cnn", "macro_f1": f1, "window_accuracy": f1}],
                "confusion_matrix": [[1, 0], [0, 1]], "label_names": ["still", "walk"], "options": {}}  # fmt: skip

    monkeypatch.setattr(workflow, "run_train", fake_run_train)
    base = TrainOptions()
    cands = {f"rotation_deg={d}": dataclasses.replace(base, augment=AugmentConfig(rotation_deg=d)) for d in (45, 180)}
    cv = crossval.run_cross_validation(["x.h5"], str(tmp_path), folds=3, options=base, candidates=cands, inner_folds=2, progress=False)
    assert cv["nested_selection"]["chosen_per_fold"] == ["rotation_deg=45"] * 3
    assert len(calls) == 3 * (2 * 2 + 1)
    outer = [set(f["test_subjects"]) for f in cv["folds"]]
    for fold, test in enumerate(outer):
        inner_calls = calls[fold * 5 : fold * 5 + 4]
        for o in inner_calls:
            assert set(o.exclude_subjects) == test and not set(o.test_subjects) & test
        assert set(calls[fold * 5 + 4].test_subjects) == test and not calls[fold * 5 + 4].exclude_subjects
    assert cv["models"]["cnn"]["mean_macro_f1"] == pytest.approx(0.9)


def test_excluded_subjects_are_neither_trained_nor_tested(tiny):
    subjects = dataset_subjects(tiny)
    opts = TrainOptions(preprocess=SMALL, copies=0, augment=None, test_subjects=(subjects[0],), exclude_subjects=(subjects[1],))
    _, fit, val, _, test, _ = prepare_split(tiny, None, opts)
    seen = set(fit.subject.tolist()) | set(val.subject.tolist()) | set(test.subject.tolist())
    assert subjects[1] not in seen and subjects[0] in seen


@pytest.mark.parametrize("extra, message", [(["--choose-augment", "rotation_deg=45,180"], "needs --folds"),
                                            (["--folds", "3", "--choose-augment", "rotation_deg=45"], "at least two"),
                                            (["--folds", "3", "--choose-augment", "nonsense=1,2"], "unknown field")])  # fmt: skip
def test_cli_choose_augment_errors(tmp_path, capsys, extra, message):
    from momentsense.sdk.io.imu_file import write_imu
    from momentsense.trainer.cli import main

    path = tmp_path / "d.h5"
    write_imu(path, simulate_dataset(n_subjects=4, minutes_per_subject=1, seed=0, modes=("still", "walk")))
    assert main(["train", "transport", "--data", str(path), "--out", str(tmp_path / "o"), *extra]) == 2
    assert message in capsys.readouterr().err
