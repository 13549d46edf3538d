"""momentsense-imu-v1 files: round trip, validation with clear messages, atomic writes."""

import json

import h5py
import numpy as np
import pytest

from sdk.errors import FormatError
from sdk.imu_file import read_imu, validate_imu, write_imu
from sdk.records import GpsTrack, ImuDataset, ImuRecording, WindowSet


def dataset(n=200):
    rng = np.random.default_rng(0)
    t = np.arange(n) * 0.04 + 1.7e9
    gps = GpsTrack(t[::25], 48.0 + rng.normal(0, 1e-5, 8), 2.0 + rng.normal(0, 1e-5, 8),
                   np.full(8, 5.0, np.float32), np.ones(8, np.float32))  # fmt: skip
    r1 = ImuRecording("a", t, rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                      np.zeros(n, np.int16), "S1", "D1", "pocket", gps)  # fmt: skip
    gt = t[:150] + 0.013
    r2 = ImuRecording("b", t, rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(150, 3)).astype(np.float32),
                      np.ones(n, np.int16), "S2", "D2", "hand", None, gt)  # fmt: skip
    win = WindowSet(rng.normal(size=(3, 40, 3)).astype(np.float32), np.array([0, 1, -1], np.int16),
                    np.array(["S3", "S3", "S4"], dtype=object), 20.0, rng.normal(size=(3, 40, 3)).astype(np.float32))  # fmt: skip
    return ImuDataset(["still", "walk"], "test", [r1, r2], win, {"licence": "CC BY 4.0"})


class TestRoundTrip:
    def test_everything_survives_write_and_read(self, tmp_path):
        """Recordings, GPS, separate gyro clock, windows and extra attributes come back identical."""
        ds = dataset()
        p = write_imu(tmp_path / "x.h5", ds)
        back = read_imu(p)
        assert back.label_names == ds.label_names and back.source == "test" and back.attrs["licence"] == "CC BY 4.0"
        for a, b in zip(ds.recordings, back.recordings):
            np.testing.assert_array_equal(a.t, b.t)
            np.testing.assert_array_equal(a.acc, b.acc)
            np.testing.assert_array_equal(a.gyro, b.gyro)
            np.testing.assert_array_equal(a.label, b.label)
            assert (a.subject, a.device, a.placement) == (b.subject, b.device, b.placement)
        np.testing.assert_array_equal(back.recordings[1].gyro_t, ds.recordings[1].gyro_t)
        np.testing.assert_array_equal(back.recordings[0].gps.lat, ds.recordings[0].gps.lat)
        np.testing.assert_array_equal(back.windows.acc, ds.windows.acc)
        assert list(back.windows.subject) == ["S3", "S3", "S4"] and back.windows.sampling_hz == 20.0
        assert validate_imu(p) == []

    def test_events_extension_round_trips(self, tmp_path):
        p = write_imu(tmp_path / "e.h5", dataset(), events={"names": ["brake"], "a": ([1.0], [2.5], [0])})
        back = read_imu(p)
        assert back.attrs["events"]["a"]["end_s"] == [2.5]
        assert json.loads(back.attrs["event_names"]) == ["brake"]


class TestValidation:
    def test_write_refuses_label_outside_label_names_and_writes_nothing(self, tmp_path):
        """Invalid data is refused before anything is written (no half file)."""
        ds = dataset()
        ds.recordings[0].label[5] = 7
        with pytest.raises(FormatError, match=r"/recordings/a/label: value 7 at index 5"):
            write_imu(tmp_path / "bad.h5", ds)
        assert list(tmp_path.iterdir()) == []

    def test_write_refuses_length_mismatch(self, tmp_path):
        ds = dataset()
        ds.recordings[0].acc = ds.recordings[0].acc[:-1]
        with pytest.raises(FormatError, match=r"/recordings/a/acc: must have shape \(200, 3\)"):
            write_imu(tmp_path / "bad.h5", ds)

    def test_read_refuses_wrong_format_attribute(self, tmp_path):
        p = write_imu(tmp_path / "x.h5", dataset())
        with h5py.File(p, "a") as f:
            f.attrs["format"] = "something-else"
        with pytest.raises(FormatError, match="'format' must be 'momentsense-imu-v1'"):
            read_imu(p)

    def test_read_refuses_missing_dataset(self, tmp_path):
        p = write_imu(tmp_path / "x.h5", dataset())
        with h5py.File(p, "a") as f:
            del f["recordings/a/acc"]
        with pytest.raises(FormatError, match="/recordings/a: missing dataset 'acc'"):
            read_imu(p)

    def test_read_refuses_bad_label_names(self, tmp_path):
        p = write_imu(tmp_path / "x.h5", dataset())
        with h5py.File(p, "a") as f:
            f.attrs["label_names"] = "not json"
        with pytest.raises(FormatError, match="label_names"):
            read_imu(p)

    def test_read_refuses_a_file_that_is_not_hdf5(self, tmp_path):
        p = tmp_path / "x.h5"
        p.write_bytes(b"hello")
        with pytest.raises(FormatError, match="not a readable HDF5 file"):
            read_imu(p)
        assert validate_imu(p) and "not a readable" in validate_imu(p)[0]

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            read_imu(tmp_path / "nope.h5")
