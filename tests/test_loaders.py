"""Real-data loaders (skipped when shared/data is absent) and the CSV importer."""

import numpy as np
import pytest

from sdk.errors import FormatError
from sdk.imu_file import read_imu, write_imu
from trainer.loaders.csv_import import load_csv


@pytest.fixture(scope="module")
def wisdm(shared_data_dir):
    from trainer.loaders.wisdm import load_wisdm

    return load_wisdm(shared_data_dir / "wisdm2019_phone_subset.h5")


@pytest.fixture(scope="module")
def driver(shared_data_dir):
    from trainer.loaders.driver import load_driver

    return load_driver(shared_data_dir / "driver_behavior_trips.h5")


class TestWisdm:
    def test_subjects_labels_and_every_sample(self, wisdm):
        """21 subjects, the 5 activities, and every accelerometer sample of the source kept."""
        assert wisdm.label_names == ["walking", "jogging", "stairs", "sitting", "standing"]
        assert len({r.subject for r in wisdm.recordings}) == 21
        counts = sum(np.bincount(r.label, minlength=5) for r in wisdm.recordings)
        assert counts.tolist() == [75162, 76926, 75136, 75174, 75142]

    def test_separate_clocks_in_seconds(self, wisdm):
        """Gyroscope keeps its own clock; timestamps are seconds at ~20 Hz; blocks last ~3 min."""
        r = wisdm.recordings[0]
        assert r.gyro_t is not None and not np.array_equal(r.gyro_t[:10], r.t[:10])
        assert 0.045 < np.median(np.diff(r.t)) < 0.055
        assert 150 < np.median([x.duration_s for x in wisdm.recordings]) < 200

    def test_round_trips_through_the_file_format(self, wisdm, tmp_path):
        back = read_imu(write_imu(tmp_path / "w.h5", wisdm))
        assert len(back.recordings) == len(wisdm.recordings)
        by_id = {r.id: r for r in back.recordings}
        for r in wisdm.recordings[:5]:
            np.testing.assert_array_equal(by_id[r.id].gyro_t, r.gyro_t)


class TestDriver:
    def test_trips_events_and_rate(self, driver):
        """3 trips at ~51 Hz with 53 labelled events, labelled inside their intervals."""
        ds = driver.dataset
        assert [r.id for r in ds.recordings] == ["trip17", "trip20", "trip21"]
        assert sum(len(v[0]) for k, v in driver.events.items() if k != "names") == 53
        r = ds.recordings[0]
        assert 0.018 < np.median(np.diff(r.t)) < 0.021
        s, e, kind = driver.events["trip17"]
        inside = (r.t >= s[0]) & (r.t <= e[0])
        assert np.all(r.label[inside] == kind[0] + 1) and ds.label_names[0] == "normal"


class TestCsv:
    def write(self, tmp_path, text):
        p = tmp_path / "rec.csv"
        p.write_text(text)
        return p

    def test_units_are_converted(self, tmp_path):
        """g → m/s², deg/s → rad/s, ms → s; string labels build label_names in order."""
        p = self.write(tmp_path, "time,ax,ay,az,gx,gy,gz,label\n0,0,0,1,180,0,0,walk\n40,0,0,1,0,90,0,bus\n80,1,0,0,0,0,0,walk\n")
        ds = load_csv(p, "me", time_unit="ms", acc_unit="g", gyro_unit="deg_s")
        r = ds.recordings[0]
        np.testing.assert_allclose(r.t, [0, 0.04, 0.08])
        np.testing.assert_allclose(r.acc[0], [0, 0, 9.80665], rtol=1e-6)
        np.testing.assert_allclose(r.gyro[:2, :2], [[np.pi, 0], [0, np.pi / 2]], rtol=1e-6)
        assert ds.label_names == ["walk", "bus"] and r.label.tolist() == [0, 1, 0]

    def test_without_gyro_or_labels(self, tmp_path):
        ds = load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,9.8\n1,0,0,9.8\n"), "me")
        assert ds.recordings[0].gyro is None and ds.recordings[0].label is None

    def test_fails_with_missing_column(self, tmp_path):
        with pytest.raises(FormatError, match=r"missing column\(s\) \['az'\]"):
            load_csv(self.write(tmp_path, "time,ax,ay\n0,0,0\n"), "me")

    def test_fails_with_non_numeric_value_and_names_the_line(self, tmp_path):
        with pytest.raises(FormatError, match=r"rec.csv:3: column 'ay' is not a number: 'oops'"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,1\n1,0,oops,1\n"), "me")

    def test_fails_with_empty_file(self, tmp_path):
        with pytest.raises(FormatError, match="empty file"):
            load_csv(self.write(tmp_path, ""), "me")

    def test_fails_with_no_rows(self, tmp_path):
        with pytest.raises(FormatError, match="no data rows"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n"), "me")

    def test_fails_with_unknown_unit(self, tmp_path):
        with pytest.raises(FormatError, match="acc_unit"):
            load_csv(self.write(tmp_path, "time,ax,ay,az\n0,0,0,1\n"), "me", acc_unit="furlongs")
