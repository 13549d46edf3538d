"""Loaders of US-TM2017 (low-rate on-change IMU) and Aalto (GPS + logged legs), their repairs and errors."""

import json

import h5py
import numpy as np
import pytest

from momentsense.sdk.errors import FormatError
from momentsense.sdk.io.imu_file import read_imu, write_imu
from momentsense.sdk.records import GpsTrack
from momentsense.trainer.cli import main
from momentsense.trainer.gps_truth_file import GpsTruth, read_gps_truth, write_gps_truth
from momentsense.trainer.loaders.aalto import load_aalto
from momentsense.trainer.loaders.us_tm2017 import load_us_tm2017


def _us_tm_file(path, t, gyro_t=None):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "momentsense-imu-v1"
        f.attrs["label_names"] = json.dumps(["still", "walk", "car", "bus", "train"])
        f.attrs["source"] = "test"
        g = f.create_group("recordings/u_Car_1")
        g["t"] = np.asarray(t, np.float64)
        g["acc"] = np.tile([0.0, 0.0, 9.8], (len(t), 1)).astype(np.float32)
        g["label"] = np.full(len(t), 2, np.int16)
        g.attrs["subject"] = "u"
        if gyro_t is not None:
            g["gyro_t"] = np.asarray(gyro_t, np.float64)
            g["gyro_raw"] = np.zeros((len(gyro_t), 3), np.float32)
    return path


def test_us_tm2017_repairs_jitter_duplicates_and_clock_restarts(tmp_path):
    # 0.5 s jitter back (sorted), a duplicate (dropped), a 6 s step back (a clock restart: split).
    t = [0.0, 0.5, 1.0, 0.6, 1.5, 1.5, 2.0, 3.0, 20.0, 21.0, 14.0, 14.5, 15.0]
    ds = load_us_tm2017(_us_tm_file(tmp_path / "u.h5", t, gyro_t=[0.1, 0.7, 1.7]))
    assert [r.id for r in ds.recordings] == ["u_Car_1__c1", "u_Car_1__c2"]
    a, b = ds.recordings
    assert a.t.tolist() == [0.0, 0.5, 0.6, 1.0, 1.5, 2.0, 3.0, 20.0, 21.0] and b.t.tolist() == [14.0, 14.5, 15.0]
    assert a.label.tolist() == [2] * 9 and a.subject == "u" and a.gyro_t.tolist() == [0.1, 0.7, 1.7]
    assert b.gyro_t.tolist() == []  # the gyroscope did not restart: its samples lie in the first part
    rep = json.loads(ds.attrs["repairs"])
    assert rep["clock_restarts_split"] == 1 and rep["acc_backward_steps_sorted"] == 1
    assert rep["acc_duplicate_times_dropped"] == 1
    write_imu(tmp_path / "out.h5", ds)
    assert len(read_imu(tmp_path / "out.h5").recordings) == 2


def test_us_tm2017_without_gyro_and_wrong_file(tmp_path):
    ds = load_us_tm2017(_us_tm_file(tmp_path / "u.h5", [0.0, 1.0, 2.0]))
    assert ds.recordings[0].gyro is None and ds.recordings[0].gyro_t is None
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_group("subjects")
    with pytest.raises(FormatError, match=r"other\.h5: group /recordings"):
        load_us_tm2017(tmp_path / "other.h5")


def test_us_tm2017_shared_file(shared_data_dir):
    ds = load_us_tm2017(shared_data_dir / "us_tm2017_raw.h5")
    assert ds.label_names == ["still", "walk", "car", "bus", "train"]
    assert len(ds.recordings) == 103 and len({r.subject for r in ds.recordings}) == 9
    counts = np.bincount(np.concatenate([r.label for r in ds.recordings]), minlength=5)
    assert counts.tolist() == [119_120, 71_761, 113_016, 7_744, 25_586]  # shared/data/README.md
    assert sum(r.gyro is None for r in ds.recordings) == 21
    for r in ds.recordings:
        assert np.all(np.diff(r.t) > 0) and (r.gyro_t is None or np.all(np.diff(r.gyro_t) > 0))


def _aalto_file(path, legs):
    dt = np.dtype([("start", "<f8"), ("end", "<f8"), ("mode", "S6"), ("label", "<i2")])
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "momentsense-imu-v1"
        f.attrs["label_names"] = json.dumps(["car", "bus", "train", "subway", "tram"])
        g = f.create_group("gps/1")
        g["t"] = np.array([100.0, 130.0, 130.0, 160.0, 170.0])
        g["lat"] = np.array([60.1, 60.1, 60.1, np.nan, 60.2])
        g["lon"] = np.full(5, 24.9)
        g["accuracy_m"] = np.full(5, 10.0, np.float32)
        g.attrs["subject"] = "p1"
        f["legs/1"] = np.array(legs, dt)
    return path


def test_aalto_repairs_and_round_trip(tmp_path):
    tracks, attrs = load_aalto(_aalto_file(tmp_path / "a.h5", [(140.0, 150.0, b"tram", 4), (120.0, 110.0, b"bus", 1),
                                                               (101.0, 125.0, b"subway", 3)]))  # fmt: skip
    (tr,) = tracks
    assert tr.gps.t.tolist() == [100.0, 130.0, 170.0] and tr.leg_mode == ["subway", "tram"]
    assert tr.leg_start.tolist() == [101.0, 140.0] and len(tr.stay_start) == 0 and tr.subject == "p1"
    rep = json.loads(attrs["repairs"])
    assert rep == {"fixes_nonfinite_dropped": 1, "fixes_backward_sorted": 0, "fixes_duplicate_time_dropped": 1,
                   "legs_invalid_dropped": 1}  # fmt: skip
    write_gps_truth(tmp_path / "out.h5", tracks, "test", attrs)
    (back,) = read_gps_truth(tmp_path / "out.h5")
    assert back.leg_mode == ["subway", "tram"] and back.gps.t.tolist() == [100.0, 130.0, 170.0]


def test_gps_truth_reader_names_the_problem(tmp_path):
    bad = GpsTruth("x", GpsTrack(np.array([2.0, 1.0]), np.zeros(2), np.zeros(2)), np.zeros(0), np.zeros(0),
                   np.zeros(0), np.zeros(0), [])  # fmt: skip
    write_gps_truth(tmp_path / "bad.h5", [bad], "test")
    with pytest.raises(FormatError, match=r"bad\.h5: /gps/x/t: must be finite and strictly increasing"):
        read_gps_truth(tmp_path / "bad.h5")
    with h5py.File(tmp_path / "nogps.h5", "w") as f:
        f.create_group("recordings")
    with pytest.raises(FormatError, match="needs /gps/<id> and /truth/<id>"):
        read_gps_truth(tmp_path / "nogps.h5")


def test_aalto_shared_file_and_convert(shared_data_dir, tmp_path, capsys):
    out = tmp_path / "aalto.h5"
    assert main(["convert", "aalto", str(shared_data_dir / "aalto_public_transport.h5"), "--out", str(out)]) == 0
    tracks = read_gps_truth(out)
    assert len(tracks) == 8 and sum(len(t.gps.t) for t in tracks) == 6030
    minutes = {}
    for t in tracks:
        for s, e, m in zip(t.leg_start, t.leg_end, t.leg_mode):
            minutes[m] = minutes.get(m, 0.0) + (e - s) / 60
    assert {m: round(v, 1) for m, v in minutes.items()} == {"subway": 402.0, "bus": 180.9, "tram": 100.4,
                                                            "train": 92.7, "car": 105.1}  # fmt: skip
    assert main(["convert", "us-tm2017", str(shared_data_dir / "aalto_public_transport.h5"), "--out", str(tmp_path / "x.h5")]) == 2
    assert "group /recordings" in capsys.readouterr().err
