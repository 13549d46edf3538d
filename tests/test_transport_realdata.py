"""Real recordings in the model's classes, and cross-validation with simulated subjects always in training."""

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.io.imu_file import write_imu
from momentsense.sdk.records import TRANSPORT_MODES, ImuDataset, ImuRecording
from momentsense.trainer.transport.realdata import WISDM_TO_MODES, relabel

WISDM_NAMES = ["walking", "jogging", "stairs", "sitting", "standing"]


def recording(rid: str, subject: str, labels) -> ImuRecording:
    n = len(labels)
    return ImuRecording(rid, np.arange(n) / 20.0, np.zeros((n, 3), np.float32), np.zeros((n, 3), np.float32),
                        np.asarray(labels, np.int16), subject, "d", "pocket")


def test_wisdm_labels_map_to_modes_sample_by_sample():
    ds = ImuDataset(WISDM_NAMES, "w", [recording("a", "1", [0, 1, 2, 3, 4, -1])])
    out = relabel(ds, WISDM_TO_MODES)
    assert out.label_names == list(TRANSPORT_MODES)
    want = [TRANSPORT_MODES.index(m) for m in ("walk", "run", "walk", "still", "still")] + [-1]
    assert out.recordings[0].label.tolist() == want
    assert out.attrs["relabelled"]["jogging"] == "run"


def test_a_label_without_a_class_is_an_error_naming_it():
    ds = ImuDataset(WISDM_NAMES + ["lying"], "w", [recording("a", "1", [5])])
    with pytest.raises(InputError, match="lying"):
        relabel(ds, WISDM_TO_MODES)
    with pytest.raises(InputError, match="flying"):
        relabel(ImuDataset(["x"], "w", []), {"x": "flying"})


def test_train_also_refuses_other_labels_and_shared_subjects(tmp_path):
    from momentsense.trainer.transport.crossval import run_cross_validation

    modes = list(TRANSPORT_MODES)
    real = tmp_path / "real.h5"
    write_imu(real, ImuDataset(modes, "r", [recording(f"r{i}", str(i), [0] * 40) for i in range(4)]))
    other = tmp_path / "other.h5"
    write_imu(other, ImuDataset(WISDM_NAMES, "o", [recording("o", "s1", [0] * 40)]))
    with pytest.raises(InputError, match="label_names"):
        run_cross_validation([str(real)], str(tmp_path / "cv"), 3, train_also=[str(other)], progress=False)
    same = tmp_path / "same.h5"
    write_imu(same, ImuDataset(modes, "s", [recording("s", "2", [0] * 40)]))
    with pytest.raises(InputError, match="shares subjects"):
        run_cross_validation([str(real)], str(tmp_path / "cv"), 3, train_also=[str(same)], progress=False)
