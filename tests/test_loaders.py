"""Real-data loaders (skipped when shared/data is absent), the CSV importer and ``momentsense convert``."""

import numpy as np
import pytest

from momentsense.sdk.errors import FormatError
from momentsense.sdk.io.imu_file import read_imu, write_imu
from momentsense.trainer.loaders.csv_import import CsvColumns, load_csv

WISDM_FILE = "wisdm2019_phone_subset.h5"
DRIVER_FILE = "driver_behavior_trips.h5"


def source_file(shared_data_dir, name):
    path = shared_data_dir / name
    if not path.is_file():
        pytest.skip(f"{path} not found (see shared/data/README.md)")
    return path


@pytest.fixture(scope="module")
def wisdm(shared_data_dir):
    from momentsense.trainer.loaders.wisdm import load_wisdm

    return load_wisdm(source_file(shared_data_dir, WISDM_FILE))


@pytest.fixture(scope="module")
def driver(shared_data_dir):
    from momentsense.trainer.loaders.driver import load_driver

    return load_driver(source_file(shared_data_dir, DRIVER_FILE))


class TestLoadWisdm:
    def test_subjects_labels_and_every_sample(self, wisdm):
        """21 subjects, the 5 activities, and every acc and gyro sample of the source (README counts) kept."""
        assert wisdm.label_names == ["walking", "jogging", "stairs", "sitting", "standing"]
        assert len({r.subject for r in wisdm.recordings}) == 21
        assert sum(np.bincount(r.label, minlength=5) for r in wisdm.recordings).tolist() == [75162, 76926, 75136, 75174, 75142]
        gyro = np.zeros(5, int)
        for r in wisdm.recordings:
            gyro[r.label[0]] += len(r.gyro_t)
        assert gyro.tolist() == [75082, 76563, 75067, 75082, 75069]

    def test_one_activity_of_about_3_min_per_recording(self, wisdm):
        """Each recording is one subject's block of one activity lasting ~3 min (104 = 21 x 5 - 1 missing)."""
        assert len(wisdm.recordings) == 104
        for r in wisdm.recordings:
            assert len(np.unique(r.label)) == 1
            assert 175 < r.duration_s < 185, (r.id, r.duration_s)

    def test_separate_clocks_in_seconds(self, wisdm):
        """Gyro keeps its own clock (gyro_t); times are seconds (~50 ms steps), increasing within a block."""
        for r in wisdm.recordings:
            assert r.gyro_t is not None and len(r.gyro_t) == len(r.gyro)
            assert np.all(np.diff(r.t) > 0) and np.all(np.diff(r.gyro_t) > 0)
        r = wisdm.recordings[0]
        assert not np.array_equal(r.gyro_t[:100], r.t[:100])
        assert 0.045 < np.median(np.diff(r.t)) < 0.055
        assert abs(r.gyro_t[0] - r.t[0]) < 1.0, "both streams on one clock"

    def test_provenance_is_copied(self, wisdm):
        assert "Weiss" in wisdm.attrs["citation"] and "CC BY 4.0" in wisdm.attrs["licence"]
        assert "license_as_stated" in wisdm.attrs and "WISDM" in wisdm.source

    def test_round_trips_through_the_file_format(self, wisdm, tmp_path):
        back = read_imu(write_imu(tmp_path / "w.h5", wisdm))
        assert [r.id for r in back.recordings] == [r.id for r in wisdm.recordings]
        for a, b in zip(wisdm.recordings[:5], back.recordings[:5]):
            np.testing.assert_array_equal(a.gyro_t, b.gyro_t)
            np.testing.assert_array_equal(a.acc, b.acc)
        assert back.attrs["citation"] == wisdm.attrs["citation"]


class TestLoadDriver:
    def test_trips_rate_and_clocks(self, driver):
        """3 trips at ~51 Hz; acc and gyro have equal counts but different timestamps, so gyro_t is set."""
        assert [r.id for r in driver.recordings] == ["trip17", "trip20", "trip21"]
        assert [len(r.t) for r in driver.recordings] == [20675, 30014, 41178]
        for r in driver.recordings:
            assert 50 < 1 / np.median(np.diff(r.t)) < 52
            assert r.gyro_t is not None and len(r.gyro_t) == len(r.t) and not np.array_equal(r.gyro_t, r.t)
            assert np.abs(r.gyro_t - r.t).max() < 0.05

    def test_53_events_as_intervals_and_labels(self, driver):
        """53 events kept as sorted intervals; samples inside an event carry its label, others 'normal'."""
        assert driver.label_names[0] == "normal" and len(driver.label_names) == 8
        assert sum(len(r.events["start_s"]) for r in driver.recordings) == 53
        counts = dict(zip(driver.label_names, sum(np.bincount(r.events["label"], minlength=8) for r in driver.recordings)))
        assert counts["aggressive_braking"] == 12 and counts["aggressive_right_lane_change"] == 2
        for r in driver.recordings:
            ev = r.events
            assert np.all(np.diff(ev["start_s"]) >= 0) and np.all(ev["start_s"] >= r.t[0]) and np.all(ev["end_s"] <= r.t[-1])
            inside = np.zeros(len(r.t), bool)
            for s, e, k in zip(ev["start_s"], ev["end_s"], ev["label"]):
                sel = (r.t >= s) & (r.t <= e)
                assert sel.any() and np.all(r.label[sel] == k)
                inside |= sel
            assert np.all(r.label[~inside] == 0)

    def test_gravity_is_included(self, driver):
        """acc includes gravity (|acc| ~ 9.8 m/s² on average); z is up (the 'terra' earth frame)."""
        acc = driver.recordings[0].acc
        assert 9.3 < np.median(np.linalg.norm(acc, axis=1)) < 10.3 and np.median(acc[:, 2]) > 9.0
        assert "terra" in driver.attrs["frame_note"] and "PLOS ONE" in driver.attrs["citation"]

    def test_events_round_trip_through_the_file_format(self, driver, tmp_path):
        back = read_imu(write_imu(tmp_path / "d.h5", driver))
        for a, b in zip(driver.recordings, back.recordings):
            for field in ("start_s", "end_s", "label"):
                np.testing.assert_array_equal(a.events[field], b.events[field])
            np.testing.assert_array_equal(a.gyro_t, b.gyro_t)


class TestLoadCsv:
    def write(self, tmp_path, text, name="rec.csv"):
        p = tmp_path / name
        p.write_text(text)
        return p

    def test_units_are_converted(self, tmp_path):
        """g → m/s², deg/s → rad/s, ms → s; string labels build label_names in order of appearance."""
        p = self.write(tmp_path, "time,ax,ay,az,gx,gy,gz,label\n0,0,0,1,180,0,0,walk\n40,0,0,1,0,90,0,bus\n80,1,0,0,0,0,-45,walk\n")
        ds = load_csv(p, "me", time_unit="ms", acc_unit="g", gyro_unit="deg_s")
        r = ds.recordings[0]
        np.testing.assert_allclose(r.t, [0, 0.04, 0.08])
        np.testing.assert_allclose(r.acc[[0, 2]], [[0, 0, 9.80665], [9.80665, 0, 0]], rtol=1e-6)
        np.testing.assert_allclose(r.gyro, [[np.pi, 0, 0], [0, np.pi / 2, 0], [0, 0, -np.pi / 4]], rtol=1e-6)
        assert ds.label_names == ["walk", "bus"] and r.label.tolist() == [0, 1, 0]
        assert (r.id, r.subject) == ("rec", "me") and r.t.dtype == np.float64 and r.acc.dtype == np.float32

    def test_ns_and_si_units_pass_through(self, tmp_path):
        """ns → s; m/s² and rad/s are not scaled."""
        ds = load_csv(self.write(tmp_path, "time,ax,ay,az,gx,gy,gz\n1000000000,1,2,3,0.5,0,0\n1020000000,1,2,3,0,0,0\n"), "me", time_unit="ns")
        r = ds.recordings[0]
        np.testing.assert_allclose(r.t, [1.0, 1.02])
        np.testing.assert_allclose(r.acc[0], [1, 2, 3]) and np.testing.assert_allclose(r.gyro[0], [0.5, 0, 0])

    def test_integer_labels_and_configured_columns(self, tmp_path):
        """Custom column names; integer labels index label_names; an empty cell is -1 (unknown)."""
        p = self.write(tmp_path, "ts;x;y;z;cls\n0;0;0;9.8;1\n1;0;0;9.8;\n2;0;0;9.8;0\n")
        cols = CsvColumns(time="ts", acc=("x", "y", "z"), gyro=None, label="cls")
        ds = load_csv(p, "me", columns=cols, label_names=["still", "walk"], delimiter=";")
        assert ds.label_names == ["still", "walk"] and ds.recordings[0].label.tolist() == [1, -1, 0]

    def test_result_is_a_valid_file(self, tmp_path):
        ds = load_csv(self.write(tmp_path, "time,ax,ay,az,label\n0,0,0,1,a\n1,0,0,1,b\n"), "me")
        assert read_imu(write_imu(tmp_path / "o.h5", ds)).label_names == ["a", "b"]

    def test_without_gyro_or_labels(self, tmp_path):
        ds = load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,9.8\n1,0,0,9.8\n"), "me")
        assert ds.recordings[0].gyro is None and ds.recordings[0].label is None and ds.label_names == []

    def test_fails_with_missing_column(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv: missing column\(s\) \['az'\]; the header has"):
            load_csv(self.write(tmp_path, "time,ax,ay\n0,0,0\n"), "me")

    def test_fails_with_required_label_column_missing(self, tmp_path):
        with pytest.raises(FormatError, match=r"missing column\(s\) \['mode'\]"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,1\n"), "me", columns=CsvColumns(label="mode", label_required=True))

    def test_fails_with_partial_gyro(self, tmp_path):
        with pytest.raises(FormatError, match=r"gyro needs all three columns.*missing \['gz'\]"):
            load_csv(self.write(tmp_path, "time,ax,ay,az,gx,gy\n0,0,0,1,0,0\n"), "me")

    def test_fails_with_non_numeric_value_and_names_the_line(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv:3: column 'ay' is not a number: 'oops'"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,1\n1,0,oops,1\n"), "me")

    def test_fails_with_missing_value_and_names_the_line(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv:2: column 'az' has no value"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0\n"), "me")

    def test_fails_with_integer_label_outside_label_names(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv:3: column 'label': label 2 is outside label_names"):
            load_csv(self.write(tmp_path, "time,ax,ay,az,label\n0,0,0,1,0\n1,0,0,1,2\n"), "me", label_names=["a", "b"])

    def test_fails_with_label_name_not_in_given_label_names(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv:2: column 'label': label 'car' is not in label_names"):
            load_csv(self.write(tmp_path, "time,ax,ay,az,label\n0,0,0,1,car\n"), "me", label_names=["walk"])

    def test_fails_with_empty_file(self, tmp_path):
        with pytest.raises(FormatError, match="rec.csv: empty file"):
            load_csv(self.write(tmp_path, ""), "me")

    def test_fails_with_no_rows(self, tmp_path):
        with pytest.raises(FormatError, match="no data rows"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n"), "me")

    def test_fails_with_unknown_unit(self, tmp_path):
        with pytest.raises(FormatError, match=r"acc_unit must be one of \['g', 'mps2'\], got 'furlongs'"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,1\n"), "me", acc_unit="furlongs")


class TestConvertCommand:
    def test_csv_with_flags_writes_a_file_and_a_summary(self, tmp_path, capsys):
        """`momentsense convert csv` applies the unit flags and prints recordings, samples and label counts."""
        from momentsense.trainer.cli import main

        src = tmp_path / "walk.csv"
        src.write_text("t,ax,ay,az,gx,gy,gz,mode\n0,0,0,1,90,0,0,walk\n40,0,0,1,0,0,0,walk\n80,0,0,1,0,0,0,bus\n")
        out = tmp_path / "o.h5"
        argv = ["convert", "csv", str(src), "--out", str(out), "--subject", "u1", "--time-column", "t", "--time-unit", "ms",
                "--acc-unit", "g", "--gyro-unit", "deg_s", "--label-column", "mode"]  # fmt: skip
        assert main(argv) == 0
        text = capsys.readouterr().out
        assert "1 recordings" in text and "3 samples" in text and "walk" in text
        r = read_imu(out).recordings[0]
        assert r.subject == "u1" and abs(r.acc[0, 2] - 9.80665) < 1e-5 and abs(r.gyro[0, 0] - np.pi / 2) < 1e-6
        np.testing.assert_allclose(r.t, [0, 0.04, 0.08])

    def test_driver(self, shared_data_dir, tmp_path, capsys):
        from momentsense.trainer.cli import main

        src = source_file(shared_data_dir, DRIVER_FILE)
        assert main(["convert", "driver", str(src), "--out", str(tmp_path / "d.h5")]) == 0
        assert "3 recordings" in capsys.readouterr().out
        assert sum(len(r.events["label"]) for r in read_imu(tmp_path / "d.h5").recordings) == 53
