"""``eval transport --stream``: label mapping, per-second scoring, the SDK stream end to end, the CLI."""

import json

import numpy as np
import pytest

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import ImuDataset, ImuRecording
from momentsense.trainer.cli import main
from momentsense.trainer.transport.label_map import parse_label_map, remap_dataset, resolve_label_map
from momentsense.trainer.transport.metrics import classification_metrics
from momentsense.trainer.transport.stream_eval import evaluate_stream, score_seconds, truth_per_second

MODEL = ["still", "walk", "run", "bike", "car", "bus", "train", "subway"]


def test_default_table_maps_wisdm_and_keeps_same_names():
    m = resolve_label_map(["walking", "jogging", "stairs", "sitting", "standing", "car", "tram"], MODEL)
    assert m == {"walking": "walk", "jogging": "run", "stairs": "walk", "sitting": "still", "standing": "still",
                 "car": "car", "tram": None}  # fmt: skip


def test_overrides_and_star():
    assert resolve_label_map(["normal", "aggressive_braking"], MODEL, parse_label_map("*=car")) == {
        "normal": "car", "aggressive_braking": "car"}
    m = resolve_label_map(["tram", "sitting"], MODEL, parse_label_map("tram=train, *=walk"))
    assert m == {"tram": "train", "sitting": "walk"}


@pytest.mark.parametrize("text, msg", [("tram", "FILE_LABEL=MODEL_CLASS"), ("a=", "FILE_LABEL=MODEL_CLASS")])
def test_bad_label_map_text(text, msg):
    with pytest.raises(InputError, match=msg):
        parse_label_map(text)


def test_label_map_names_unknown_label_or_class():
    with pytest.raises(InputError, match="not a class of the model"):
        resolve_label_map(["tram"], MODEL, {"tram": "tramway"})
    with pytest.raises(InputError, match="the data has no label 'ferry'"):
        resolve_label_map(["tram"], MODEL, {"ferry": "bus"})


def test_remap_dataset_rewrites_labels_and_keeps_unknown():
    rec = ImuRecording("r", np.arange(4.0), np.zeros((4, 3), np.float32), label=np.array([0, 1, -1, 2], np.int16))
    ds = remap_dataset(ImuDataset(["sitting", "jogging", "tram"], "x", [rec]), MODEL,
                       resolve_label_map(["sitting", "jogging", "tram"], MODEL))  # fmt: skip
    assert ds.label_names == MODEL and ds.recordings[0].label.tolist() == [0, 2, -1, -1]


def test_truth_per_second_nearest_sample_within_tolerance():
    t = np.array([0.1, 0.6, 1.2, 9.0])
    lab = np.array([0, 0, 1, 2])
    out = truth_per_second(t, lab, np.arange(10) + 0.5, tol_s=2.5)
    assert out.tolist() == [0, 1, 1, 1, -1, -1, 2, 2, 2, 2]


def test_score_seconds_columns_span_every_model_class():
    names = ["sitting", "standing", "jogging"]
    mapping = resolve_label_map(names, MODEL)
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2, -1])
    pred = np.array([0, 4, 6, -1, 0, 0, 2, 1, 3])  # sitting: still, car, train, unanswered
    s = score_seconds(truth, pred, names, MODEL, mapping)
    assert np.array(s["confusion_seconds"]).shape == (3, 8)
    assert s["confusion_seconds"][0] == [1, 0, 0, 0, 1, 0, 1, 0]
    assert s["recall"] == {"sitting": pytest.approx(1 / 3), "standing": 1.0, "jogging": 0.5}
    assert s["as_vehicle"]["sitting"] == pytest.approx(2 / 3) and s["as_vehicle"]["jogging"] == 0.0
    assert s["recall_by_class"]["still"] == pytest.approx(3 / 5)
    assert s["as_vehicle_by_class"]["still"] == pytest.approx(2 / 5)
    assert s["unanswered_seconds"] == {"sitting": 1, "standing": 0, "jogging": 0}
    assert s["seconds"] == 7 and s["label_names"] == MODEL and s["file_label_names"] == names


def test_macro_f1_all_charges_predictions_of_absent_classes():
    m = classification_metrics(np.array([0, 0, 0, 0]), np.array([0, 0, 4, 4]), MODEL)
    assert m["macro_f1"] == pytest.approx(2 / 3)  # only still is present
    assert m["macro_f1_all"] == pytest.approx((2 / 3 + 0.0) / 2)  # car was predicted, F1 0


def _phone_on_table(seconds: float, seed: int = 0) -> ImuRecording:
    """A phone lying still (gravity on z plus sensor noise) at 50 Hz, labelled ``sitting``."""
    rng = np.random.default_rng(seed)
    t = 1000.0 + np.arange(0, seconds, 0.02)
    acc = (np.array([0.0, 0.0, 9.81]) + rng.normal(0, 0.01, (len(t), 3))).astype(np.float32)
    gyro = rng.normal(0, 0.002, (len(t), 3)).astype(np.float32)
    return ImuRecording("table", t, acc, gyro, np.zeros(len(t), np.int16), subject="s1")


def test_stream_of_a_still_phone_through_the_shipped_sdk():
    """Two minutes of a phone on a table: every labelled second is scored or counted as unanswered,
    the timeline's events and current_context() both read it as still, duty cycling runs."""
    ds = ImuDataset(["sitting"], "test", [_phone_on_table(120.0)])
    r = evaluate_stream(ds, gps=False)
    for key in ("stream", "stream_live"):
        s = r[key]
        assert s["seconds"] + s["unanswered_seconds"]["sitting"] == 120
        assert s["recall"]["sitting"] > 0.9 and s["as_vehicle"]["sitting"] < 0.1
    assert r["stream_live"]["unanswered_seconds"]["sitting"] >= 10  # no answer before the first chunk ends
    assert r["windows"] > 0 and r["windows_skipped"] > 0


def test_recording_without_gyro_is_reported_not_streamed():
    rec = _phone_on_table(30.0)
    bare = ImuRecording("nogyro", rec.t, rec.acc, None, rec.label, subject="s2")
    r = evaluate_stream(ImuDataset(["sitting"], "test", [rec, bare]), gps=False)
    assert r["recordings"] == 1 and "no gyroscope" in r["skipped_recordings"]["nogyro"]


def test_cli_stream_json(tmp_path, capsys):
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.io.imu_file import write_imu

    path = write_imu(tmp_path / "still.h5", ImuDataset(["sitting"], "test", [_phone_on_table(60.0)]))
    model = str(artifact_dir() / "transport_cnn.tflite")
    assert main(["eval", "transport", "--model", model, "--data", str(path), "--stream", "--no-gps", "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["stream"]["file_label_names"] == ["sitting"] and len(m["stream"]["confusion_seconds"][0]) == 8
    assert "macro_f1_all" in m and m["label_map"] == {"sitting": "still"} and m["gps"] is False
    assert main(["eval", "transport", "--model", model, "--data", str(path), "--gps"]) == 2
    assert "add --stream" in capsys.readouterr().err
    assert main(["eval", "transport", "--model", model, "--data", str(path), "--label-map", "sitting=sofa"]) == 2
    assert "not a class of the model" in capsys.readouterr().err


def test_cli_leaves_out_recordings_without_gyro_and_says_so(tmp_path, capsys):
    from momentsense.edge_models import artifact_dir
    from momentsense.sdk.io.imu_file import write_imu

    rec = _phone_on_table(60.0)
    bare = ImuRecording("nogyro", rec.t, rec.acc, None, rec.label, subject="s2")
    path = write_imu(tmp_path / "mixed.h5", ImuDataset(["sitting"], "test", [rec, bare]))
    model = str(artifact_dir() / "transport_cnn.tflite")
    assert main(["eval", "transport", "--model", model, "--data", str(path), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert list(m["skipped_recordings"]) == ["nogyro"] and m["subjects"] == ["s1"]


def test_stream_with_gps_on_a_simulated_file(tmp_path, capsys):
    """A simulated recording with a 1 Hz GPS track streams with location on (GPS heads) and off."""
    from momentsense.sdk.io.imu_file import read_imu

    out = tmp_path / "sim.h5"
    assert main(["simulate", "sensors", "--minutes", "6", "--subjects", "1", "--recordings-per-subject", "1",
                 "--out", str(out), "--no-progress"]) == 0  # fmt: skip
    ds = read_imu(out)
    on, off = evaluate_stream(ds), evaluate_stream(ds, gps=False)
    assert on["gps"] is True and off["gps"] is False
    for r in (on, off):
        assert r["windows"] > 50 and r["stream"]["seconds"] > 300
        assert np.array(r["stream"]["confusion_seconds"]).shape == (len(ds.label_names), 8)
