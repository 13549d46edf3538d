"""Augmentation ablation: scored on held-out training subjects and phones, never on the test file."""

import dataclasses

import numpy as np
import pytest

from momentsense.sdk.dsp import PreprocessConfig
from momentsense.sdk.errors import InputError
from momentsense.sdk.sim import simulate_dataset
from momentsense.trainer.transport.ablation import default_variants, format_ablation, run_ablation, without_subjects
from momentsense.trainer.transport.augment import AugmentConfig
from momentsense.trainer.transport.data import split_by_subject_and_device
from momentsense.trainer.transport.train import TrainOptions

SMALL = PreprocessConfig(window_s=4.0, hop_s=2.0)
MODES = ("still", "walk", "run")


@pytest.fixture(scope="module")
def tiny():
    """6 subjects, one recording each, on 3 phones: subjects s and s+3 share phone s."""
    return simulate_dataset(n_subjects=6, minutes_per_subject=5, seed=5, n_devices=3, recordings_per_subject=1, modes=MODES)


class _Untouchable:
    """A stand-in test file: any use of it fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the test data was touched ({name})")


def _opts(**kw):
    return TrainOptions(epochs=1, preprocess=SMALL, copies=1, batch_size=32, threads=1, **kw)


class TestSplitBySubjectAndDevice:
    def test_no_subject_and_no_phone_on_both_sides(self):
        subjects = np.array(["a", "a", "b", "c", "c", "d", "e", "f"])
        devices = np.array(["p1", "p2", "p2", "p3", "p3", "p4", "p4", "p5"])  # groups {a,b}, {c}, {d,e}, {f}
        for seed in range(6):
            tr, te, held = split_by_subject_and_device(subjects, devices, 0.3, seed)
            assert set(subjects[tr]).isdisjoint(subjects[te]) and set(devices[tr]).isdisjoint(devices[te])
            assert set(subjects[te]) == set(held) and len(tr) + len(te) == len(subjects)
            assert len(tr) and len(te)

    def test_subjects_sharing_a_phone_stay_together(self):
        subjects = np.array(["a", "b", "c", "d"])
        devices = np.array(["p1", "p1", "p2", "p2"])
        _, _, held = split_by_subject_and_device(subjects, devices, 0.25, 0)
        assert held in (["a", "b"], ["c", "d"])

    def test_unknown_devices_link_by_subject_only(self):
        _, _, held = split_by_subject_and_device(np.array(["a", "b", "c", "d"]), np.array(["", "", "", ""]), 0.25, 0)
        assert len(held) == 1

    def test_one_group_is_refused(self):
        with pytest.raises(InputError, match="at least 2 groups"):
            split_by_subject_and_device(np.array(["a", "b", "c"]), np.array(["p", "p", "p"]))


class TestAblationOnValidation:
    def test_scores_on_training_subjects_with_unseen_phones_and_never_touches_the_test_file(self, tiny):
        variants = [("all", AugmentConfig()), ("none", None)]
        res = run_ablation(tiny, _Untouchable(), _opts(), on="validation", variants=variants)
        assert res.scored_on == "validation" and res.split == "by subject and device"
        assert [r["variant"] for r in res.rows] == ["all", "none"]
        train_subjects = {r.subject for r in tiny.recordings}
        assert res.subjects and set(res.subjects) < train_subjects
        fit_phones = {r.device for r in tiny.recordings if r.subject not in res.subjects}
        assert res.devices and fit_phones.isdisjoint(res.devices)
        for r in res.rows:
            assert 0.0 <= r["macro_f1"] <= 1.0 and r["epochs_run"] == 1
        assert res.rows[0]["augment"] == AugmentConfig().to_dict() and res.rows[1]["augment"] is None
        assert "scored on validation subjects" in format_ablation(res)

    def test_excluded_subjects_are_neither_fitted_nor_scored(self, tiny, monkeypatch):
        """The main run's test subjects (split off --data) stay out of the ablation entirely."""
        from momentsense.trainer.transport import ablation

        seen = []
        real = ablation.train_transport

        def spy(ds, test_ds, opts):
            seen.append({r.subject for r in ds.recordings})
            assert test_ds is None
            return real(ds, test_ds, opts)

        monkeypatch.setattr(ablation, "train_transport", spy)
        excluded = ["s5-S000", "s5-S003"]  # both carried phone 0
        res = run_ablation(tiny, None, _opts(), on="validation", variants=[("none", None)], exclude_subjects=excluded)
        assert seen and all(s.isdisjoint(excluded) for s in seen)
        assert set(res.subjects).isdisjoint(excluded)

    def test_all_subjects_on_one_phone_falls_back_to_a_subject_split(self, tiny):
        one_phone = dataclasses.replace(tiny, recordings=[dataclasses.replace(r, device="p") for r in tiny.recordings])
        res = run_ablation(one_phone, None, _opts(), on="validation", variants=[("none", None)])
        assert res.split == "by subject" and res.subjects

    def test_unknown_target_is_refused(self, tiny):
        with pytest.raises(InputError, match="choose one of"):
            run_ablation(tiny, None, _opts(), on="train")


def test_default_variants_switch_off_one_group_each():
    names = [n for n, _ in default_variants()]
    assert names == ["all"] + [f"without {g}" for g in AugmentConfig.GROUPS] + ["none"]
    warp_off = dict(default_variants())["without warp"]
    assert warp_off.time_warp == 0 and warp_off.jitter_s == 0 and warp_off.noise_acc_mps2 == AugmentConfig().noise_acc_mps2


def test_without_subjects_drops_their_recordings(tiny):
    out = without_subjects(tiny, ["s5-S001"])
    assert {r.subject for r in out.recordings} == {r.subject for r in tiny.recordings} - {"s5-S001"}


def test_augment_arg_sets_strengths_and_refuses_unknown_fields():
    from momentsense.trainer.commands.transport import augment_config

    cfg = augment_config(["noise_acc_mps2=0.01", "time_warp=0", "rotation=false"])
    assert cfg.noise_acc_mps2 == 0.01 and cfg.time_warp == 0.0 and cfg.rotation is False
    assert cfg.scale_sigma == AugmentConfig().scale_sigma
    with pytest.raises(InputError, match="unknown field"):
        augment_config(["colour=1"])
