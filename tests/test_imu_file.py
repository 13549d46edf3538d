"""momentsense-imu-v1 files: round trip, validation with clear messages, atomic writes, lazy h5py."""

import dataclasses
import re
import sys

import h5py
import numpy as np
import pytest

from momentsense.sdk.errors import FormatError, MomentsenseError
from momentsense.sdk.io.imu_file import (
    MissingDependencyError,
    read_imu,
    validate_dataset,
    validate_imu,
    validate_recording,
    write_imu,
)
from momentsense.sdk.records import GpsTrack, ImuDataset, ImuRecording, WindowSet


def make_dataset(n=200):
    """Two recordings (one with GPS and events, one with its own gyro clock), windows and extra attrs."""
    rng = np.random.default_rng(0)
    t = np.arange(n) * 0.04 + 1.7e9
    gps = GpsTrack(t[::25], 48.0 + rng.normal(0, 1e-5, 8), 2.0 + rng.normal(0, 1e-5, 8),
                   np.full(8, 5.0, np.float32), np.ones(8, np.float32))  # fmt: skip
    events = {"start_s": np.array([t[10], t[50]]), "end_s": np.array([t[20], t[60]]), "label": np.array([1, 0], np.int16)}
    r1 = ImuRecording("r10", t, rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                      np.zeros(n, np.int16), "S1", "D1", "pocket", gps, events=events)  # fmt: skip
    gt = t[:150] + 0.013
    r2 = ImuRecording("r2", t, rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(150, 3)).astype(np.float32),
                      np.ones(n, np.int16), "S2", "D2", "hand", None, gt)  # fmt: skip
    win = WindowSet(rng.normal(size=(3, 40, 3)).astype(np.float32), np.array([0, 1, -1], np.int16),
                    np.array(["S3", "S3", "S4"], dtype=object), 20.0, rng.normal(size=(3, 40, 3)).astype(np.float32))  # fmt: skip
    attrs = {"licence": "CC BY 4.0", "seed": 7, "ratio": 0.5, "options": {"a": [1, 2], "b": "x"}}
    return ImuDataset(["still", "walk"], "test", [r1, r2], win, attrs)


def written(tmp_path, ds=None):
    return write_imu(tmp_path / "x.h5", ds or make_dataset())


class TestRoundTrip:
    def test_everything_survives_write_and_read(self, tmp_path):
        """Recordings, GPS, gyro_t, events, windows and extra attributes come back identical."""
        ds = make_dataset()
        back = read_imu(write_imu(tmp_path / "x.h5", ds))
        assert back.label_names == ds.label_names and back.source == "test"
        assert back.attrs == ds.attrs
        assert [r.id for r in back.recordings] == ["r10", "r2"], "written order, not alphabetical"
        for a, b in zip(ds.recordings, back.recordings):
            for field in ("t", "acc", "gyro", "label"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
            assert (a.subject, a.device, a.placement) == (b.subject, b.device, b.placement)
        assert back.recordings[0].gyro_t is None
        np.testing.assert_array_equal(back.recordings[1].gyro_t, ds.recordings[1].gyro_t)
        for field in ("t", "lat", "lon", "accuracy_m", "speed_mps"):
            np.testing.assert_array_equal(getattr(back.recordings[0].gps, field), getattr(ds.recordings[0].gps, field))
        assert back.recordings[1].gps is None and back.recordings[1].events is None
        for field in ("start_s", "end_s", "label"):
            np.testing.assert_array_equal(back.recordings[0].events[field], ds.recordings[0].events[field])
        np.testing.assert_array_equal(back.windows.acc, ds.windows.acc)
        np.testing.assert_array_equal(back.windows.gyro, ds.windows.gyro)
        assert list(back.windows.subject) == ["S3", "S3", "S4"] and back.windows.sampling_hz == 20.0

    def test_file_has_the_documented_dtypes(self, tmp_path):
        """float64 times, float32 signals, int16 labels, whatever dtypes came in."""
        ds = make_dataset()
        ds.recordings[0].acc = ds.recordings[0].acc.astype(np.float64)
        ds.recordings[0].label = ds.recordings[0].label.astype(np.int64)
        with h5py.File(written(tmp_path, ds)) as f:
            g = f["recordings/r10"]
            assert (g["t"].dtype, g["acc"].dtype, g["label"].dtype) == (np.float64, np.float32, np.int16)
            assert f["recordings/r2/gyro_t"].dtype == np.float64 and f.attrs["format"] == "momentsense-imu-v1"

    def test_empty_recording_and_empty_dataset(self, tmp_path):
        """Zero samples and zero recordings are valid and round-trip."""
        rec = ImuRecording("e", np.zeros(0), np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), np.zeros(0, np.int16))
        back = read_imu(write_imu(tmp_path / "e.h5", ImuDataset(["a"], "s", [rec])))
        assert back.recordings[0].acc.shape == (0, 3)
        assert read_imu(write_imu(tmp_path / "n.h5", ImuDataset([], "s"))).recordings == []

    def test_validate_imu_is_empty_for_a_valid_file(self, tmp_path):
        assert validate_imu(written(tmp_path)) == []


class TestValidateRecording:
    def test_valid_recording_has_no_problems(self):
        assert validate_recording(make_dataset().recordings[1], ["still", "walk"]) == []

    def test_fails_with_label_outside_label_names(self):
        rec = make_dataset().recordings[0]
        rec.label[5] = 7
        (p,) = validate_recording(rec, ["still", "walk"])
        assert p.startswith("/recordings/r10/label: value 7 at index 5 is outside label_names (0..1 or -1)")

    def test_minus_one_means_unknown(self):
        rec = make_dataset().recordings[0]
        rec.label[:] = -1
        assert validate_recording(rec, ["still", "walk"]) == []

    @pytest.mark.parametrize(
        "change, expected",
        [
            (dict(acc=np.zeros((199, 3), np.float32)), r"/recordings/r10/acc: must have shape \(200, 3\) to match t, got \(199, 3\)"),
            (dict(gyro=np.zeros((200, 2), np.float32)), r"/recordings/r10/gyro: must have shape \(200, 3\) to match t"),
            (dict(label=np.zeros(10, np.int16)), r"/recordings/r10/label: must have shape \(200,\) to match t"),
            (dict(label=np.zeros(200)), r"/recordings/r10/label: must be integer, got dtype float64"),
            (dict(t=np.zeros((200, 1))), r"/recordings/r10/t: must have shape \(N,\)"),
            (dict(acc=np.full((200, 3), "x")), r"/recordings/r10/acc: must be numeric, got dtype <U1"),
            (dict(gyro_t=np.zeros(5)), r"/recordings/r10/gyro: must have shape \(5, 3\) to match gyro_t"),
            (dict(id="a/b"), r"id 'a/b' must be a non-empty str without '/'"),
            (dict(subject=3), r"attribute subject must be a str"),
            (dict(gps=GpsTrack(np.zeros(3), np.zeros(3), np.zeros(2))), r"/gps/r10/lon: must have shape \(3,\)"),
            (dict(gps=GpsTrack(np.zeros(1), np.array([91.0]), np.zeros(1))), r"/gps/r10/lat: value 91.0 at index 0 is not WGS84"),
            (dict(events={"start_s": [0.0]}), r"/events/r10: must have exactly the keys"),
            (dict(events={"start_s": [2.0], "end_s": [1.0], "label": [0]}), r"/events/r10/end_s: value 1.0 at index 0 is before"),
            (dict(events={"start_s": [0.0], "end_s": [1.0], "label": [-1]}), r"/events/r10/label: value -1 at index 0"),
        ],
    )  # fmt: skip
    def test_fails_with_named_field(self, change, expected):
        """Each broken field is reported with its group and field name."""
        rec = dataclasses.replace(make_dataset().recordings[0], **change)
        problems = validate_recording(rec, ["still", "walk"])
        assert any(re.search(expected, p) for p in problems), problems


class TestValidateDataset:
    def test_fails_with_duplicate_ids(self):
        ds = make_dataset()
        ds.recordings[1].id = "r10"
        assert any("id used by more than one recording" in p for p in validate_dataset(ds))

    def test_fails_with_reserved_or_unserialisable_attrs(self):
        ds = make_dataset()
        ds.attrs = {"format": "x", "obj": object()}
        problems = validate_dataset(ds)
        assert any("key 'format' must be a str other than" in p for p in problems)
        assert any("attrs['obj']: must be a str, number or JSON-serialisable" in p for p in problems)

    def test_fails_with_bad_windows(self):
        ds = make_dataset()
        ds.windows.label = np.array([0, 5, 1], np.int16)
        ds.windows.sampling_hz = 0.0
        problems = validate_dataset(ds)
        assert any(p.startswith("/windows/label: value 5 at index 1") for p in problems)
        assert any("sampling_hz must be a number > 0" in p for p in problems)

    def test_fails_with_label_names_not_strings(self):
        ds = make_dataset()
        ds.label_names = ["a", 2]
        assert validate_dataset(ds)[0].startswith("label_names: must be a list of str")


class TestWriteImu:
    def test_fails_with_invalid_dataset_and_writes_nothing(self, tmp_path):
        """Invalid data is refused before anything is written; the message names the file and field."""
        ds = make_dataset()
        ds.recordings[0].label[5] = 7
        with pytest.raises(FormatError, match=r"bad.h5: not written.*/recordings/r10/label: value 7 at index 5"):
            write_imu(tmp_path / "bad.h5", ds)
        assert list(tmp_path.iterdir()) == []

    def test_crash_while_writing_leaves_no_file_and_keeps_the_old_one(self, tmp_path, monkeypatch):
        """An error in the middle of writing removes the temp file and leaves an existing file intact."""
        import momentsense.sdk.io.imu_file as imu_file

        target = written(tmp_path)
        before = target.read_bytes()

        def crash(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(imu_file, "_put", crash)
        with pytest.raises(KeyboardInterrupt):
            write_imu(target, make_dataset())
        with pytest.raises(KeyboardInterrupt):
            write_imu(tmp_path / "new.h5", make_dataset())
        assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5"]
        assert target.read_bytes() == before

    def test_format_error_is_a_value_error(self, tmp_path):
        with pytest.raises(ValueError):
            write_imu(tmp_path / "x.h5", ImuDataset("not a list", "s"))


class TestReadImu:
    def edit(self, tmp_path, fn):
        p = written(tmp_path)
        with h5py.File(p, "a") as f:
            fn(f)
        return p

    def test_fails_with_wrong_format_attribute(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f.attrs.__setitem__("format", "something-else"))
        with pytest.raises(FormatError, match=r"x.h5: /: root attribute 'format' must be 'momentsense-imu-v1', got 'something-else'"):
            read_imu(p)

    def test_fails_with_missing_format_attribute(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f.attrs.__delitem__("format"))
        with pytest.raises(FormatError, match="root attribute 'format' is missing"):
            read_imu(p)

    def test_fails_with_missing_dataset(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f.__delitem__("recordings/r2/acc"))
        with pytest.raises(FormatError, match=r"x.h5: /recordings/r2: missing dataset 'acc'"):
            read_imu(p)

    def test_fails_with_label_names_not_a_json_list(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f.attrs.__setitem__("label_names", "not json"))
        with pytest.raises(FormatError, match=r"root attribute 'label_names' must be a JSON list of str, got 'not json'"):
            read_imu(p)

    def test_fails_with_wrong_dtype(self, tmp_path):
        def to_float64(f):
            acc = f["recordings/r10/acc"][()]
            del f["recordings/r10/acc"]
            f["recordings/r10/acc"] = acc.astype(np.float64)

        with pytest.raises(FormatError, match=r"/recordings/r10/acc: dtype must be float32, got float64"):
            read_imu(self.edit(tmp_path, to_float64))

    def test_fails_with_length_mismatch(self, tmp_path):
        def shorten(f):
            lab = f["recordings/r2/label"][()]
            del f["recordings/r2/label"]
            f["recordings/r2/label"] = lab[:-3]

        with pytest.raises(FormatError, match=r"/recordings/r2/label: must have shape \(200,\) to match t, got \(197,\)"):
            read_imu(self.edit(tmp_path, shorten))

    def test_fails_with_label_outside_label_names(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f["recordings/r2/label"].__setitem__(3, 9))
        with pytest.raises(FormatError, match=r"/recordings/r2/label: value 9 at index 3 is outside label_names"):
            read_imu(p)

    def test_fails_with_gps_without_recording(self, tmp_path):
        p = self.edit(tmp_path, lambda f: f["gps"].copy("r10", "ghost"))
        with pytest.raises(FormatError, match=r"/gps/ghost: no recording /recordings/ghost"):
            read_imu(p)

    def test_validate_imu_lists_every_problem_with_the_file_name(self, tmp_path):
        def two_faults(f):
            del f["recordings/r2/acc"]
            f["recordings/r10/label"][0] = 5

        problems = validate_imu(self.edit(tmp_path, two_faults))
        assert len(problems) == 2 and all(p.startswith(str(tmp_path / "x.h5")) for p in problems)

    def test_fails_with_a_file_that_is_not_hdf5(self, tmp_path):
        p = tmp_path / "x.h5"
        p.write_bytes(b"hello")
        with pytest.raises(FormatError, match="not a readable HDF5 file"):
            read_imu(p)
        assert "not a readable HDF5 file" in validate_imu(p)[0]

    def test_fails_with_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            read_imu(tmp_path / "nope.h5")
        assert validate_imu(tmp_path / "nope.h5") == [f"{tmp_path / 'nope.h5'}: no such file"]


class TestWithoutH5py:
    def test_read_and_write_say_pip_install_h5py(self, tmp_path, monkeypatch):
        """Without h5py (a phone) both directions fail with a clear momentsense error."""
        monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
        with pytest.raises(MissingDependencyError, match="pip install h5py") as exc:
            write_imu(tmp_path / "x.h5", make_dataset())
        assert isinstance(exc.value, MomentsenseError) and isinstance(exc.value, ImportError)
        (tmp_path / "y.h5").write_bytes(b"x")
        with pytest.raises(MissingDependencyError, match="pip install h5py"):
            read_imu(tmp_path / "y.h5")
        assert list(p.name for p in tmp_path.iterdir()) == ["y.h5"]
