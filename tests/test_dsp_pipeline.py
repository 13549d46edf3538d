"""The whole preprocessing pipeline: stream == batch, physics of the channels, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentsense.sdk.dsp import (
    Normalizer,
    PreprocessConfig,
    Windows,
    make_windows,
    pipeline_init,
    preprocess,
    recording_windows,
    windower_init,
)
from momentsense.sdk.errors import InputError

G = 9.80665


def random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def walking(rng, seconds=120.0, rot=None, step_hz=1.8):
    t = np.cumsum(rng.uniform(0.035, 0.045, int(seconds * 25))) + 1.7e9
    vert = 2.5 * np.sin(2 * np.pi * step_hz * t) + 0.8 * np.sin(4 * np.pi * step_hz * t + 0.5)
    fwd = 1.0 * np.sin(2 * np.pi * step_hz * t + 1.0)
    acc = np.stack([fwd, 0.3 * np.sin(np.pi * step_hz * t), G + vert], axis=1)
    gyro = np.stack([0.4 * np.sin(np.pi * step_hz * t), 0.2 * np.cos(2 * np.pi * step_hz * t), 0.05 * np.ones_like(t)], 1)
    if rot is not None:
        acc, gyro = acc @ rot.T, gyro @ rot.T
    return t, acc, gyro


class TestRecordingWindows:
    def test_window_shape_and_count_follow_config(self):
        """120 s at 10 s windows and 5 s hop gives 23 windows of (250, 14)."""
        rng = np.random.default_rng(0)
        t, acc, gyro = walking(rng)
        w, chunk = recording_windows(t, acc, gyro=gyro)
        assert w.x.shape[1:] == (250, 14)
        assert len(w) == (len(chunk) - 250) // 125 + 1
        assert np.all(np.diff(w.k_start) == 125)

    def test_orientation_free_channels_do_not_depend_on_phone_orientation(self):
        """acc_norm, lin_vert, lin_horiz, gyro_norm, gyro_vert are the same whatever the rotation."""
        cfg = PreprocessConfig(channels=("acc_norm", "lin_vert", "lin_horiz", "gyro_norm", "gyro_vert"))
        t, acc, gyro = walking(np.random.default_rng(1))
        rot = random_rotation(np.random.default_rng(2))
        w0, _ = recording_windows(t, acc, cfg, gyro=gyro)
        w1, _ = recording_windows(t, acc @ rot.T, cfg, gyro=gyro @ rot.T)
        np.testing.assert_allclose(w0.x, w1.x, atol=1e-3)

    def test_device_frame_channels_do_depend_on_orientation(self):
        """lin_x changes under rotation (it is a device-frame channel): the invariance test above can fail."""
        cfg = PreprocessConfig(channels=("lin_x",))
        t, acc, gyro = walking(np.random.default_rng(1))
        rot = random_rotation(np.random.default_rng(2))
        w0, _ = recording_windows(t, acc, cfg)
        w1, _ = recording_windows(t, acc @ rot.T, cfg)
        assert np.abs(w0.x - w1.x).max() > 0.5

    def test_gravity_estimate_points_along_gravity(self):
        """For a tilted phone at rest, the gravity channels equal the measured constant vector."""
        cfg = PreprocessConfig(channels=("grav_x", "grav_y", "grav_z", "lin_vert"))
        rot = random_rotation(np.random.default_rng(3))
        t = np.arange(0, 60, 0.04)
        acc = np.tile(rot @ [0, 0, G], (len(t), 1)) + np.random.default_rng(4).normal(0, 0.02, (len(t), 3))
        w, _ = recording_windows(t, acc, cfg)
        np.testing.assert_allclose(w.x[:, :, :3].mean(axis=(0, 1)), rot @ [0, 0, G], atol=0.02)
        assert np.abs(w.x[:, :, 3]).max() < 0.2

    def test_step_frequency_survives_the_pipeline(self):
        """The dominant frequency of lin_vert is the simulated step frequency."""
        cfg = PreprocessConfig(channels=("lin_vert",))
        t, acc, gyro = walking(np.random.default_rng(5), step_hz=1.9, rot=random_rotation(np.random.default_rng(6)))
        w, _ = recording_windows(t, acc, cfg)
        spec = np.abs(np.fft.rfft(w.x[5, :, 0])) ** 2
        f = np.fft.rfftfreq(250, 1 / 25)
        assert f[spec.argmax()] == pytest.approx(1.9, abs=0.1)

    def test_no_window_crosses_a_gap(self):
        """A 5 s hole splits the stream: windows restart after it, and none spans it."""
        rng = np.random.default_rng(7)
        t, acc, gyro = walking(rng, seconds=60)
        t[700:] += 5.0
        w, chunk = recording_windows(t, acc, gyro=gyro)
        gap_k = t[699] * 25, t[700] * 25
        ends = w.k_start + 249
        assert not np.any((w.k_start < gap_k[1]) & (ends > gap_k[0]))
        assert len(chunk.gaps) == 2  # reported for acc and for gyro

    def test_labels_majority_and_purity(self):
        """Window label is the majority sample label; purity is its share of the window."""
        rng = np.random.default_rng(8)
        t, acc, gyro = walking(rng, seconds=30)
        lab = np.where(t < t[0] + 12.0, 1, 2)
        w, _ = recording_windows(t, acc, gyro=gyro, labels=lab)
        assert w.label.tolist()[0] == 1 and w.label.tolist()[-1] == 2
        assert 0.5 <= w.purity.min() < 1.0 and w.purity.max() == 1.0

    def test_separate_gyro_clock(self):
        """A gyroscope on its own clock (offset timestamps) is aligned on the same grid."""
        rng = np.random.default_rng(9)
        t, acc, gyro = walking(rng, seconds=40)
        gt = t + 0.011
        w, chunk = recording_windows(t, acc, gyro_t=gt, gyro=gyro)
        assert len(w) > 0 and np.all(np.isfinite(w.x))

    def test_nan_burst_is_repaired_not_propagated(self):
        """NaN samples inside the stream are dropped and bridged; no NaN reaches a window."""
        rng = np.random.default_rng(10)
        t, acc, gyro = walking(rng, seconds=40)
        acc[100:105] = np.nan
        gyro[300] = np.inf
        w, chunk = recording_windows(t, acc, gyro=gyro)
        assert np.all(np.isfinite(w.x))
        assert chunk.acc_report.dropped_nonfinite == 5 and chunk.gyro_report.dropped_nonfinite == 1

    def test_fails_without_gyro_when_channels_need_it(self):
        """The default channels need the gyroscope; leaving it out is a clear error."""
        t, acc, _ = walking(np.random.default_rng(0), seconds=20)
        with pytest.raises(InputError, match="gyro"):
            recording_windows(t, acc)

    def test_fails_with_acc_of_wrong_shape(self):
        with pytest.raises(InputError, match=r"acc must have shape \(N, 3\)"):
            recording_windows(np.arange(10.0), np.zeros((10, 2)), PreprocessConfig(channels=("acc_norm",)))

    def test_empty_recording_gives_empty_windows(self):
        """No data → zero windows of the right shape."""
        w, _ = recording_windows(np.zeros(0), np.zeros((0, 3)), gyro=np.zeros((0, 3)))
        assert w.x.shape == (0, 250, 14)


class TestConfig:
    def test_round_trip(self):
        cfg = PreprocessConfig(window_s=5.0, hop_s=2.5, channels=("acc_norm", "gyro_norm"))
        assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg

    @pytest.mark.parametrize(
        "kwargs,msg",
        [
            ({"channels": ("nope",)}, "unknown channel"),
            ({"band_high_hz": 20.0}, "band_high_hz"),
            ({"hop_s": 20.0}, "hop_s"),
            ({"gravity_cutoff_hz": 0.0}, "gravity_cutoff_hz"),
        ],
    )
    def test_fails_with_bad_parameters(self, kwargs, msg):
        with pytest.raises(InputError, match=msg):
            PreprocessConfig(**kwargs)

    def test_from_dict_fails_with_unknown_key(self):
        with pytest.raises(InputError, match="unknown preprocessing parameters"):
            PreprocessConfig.from_dict({"fs_hz": 25.0, "bogus": 1})


class TestNormalizer:
    def test_fit_apply_standardises_and_round_trips(self):
        x = np.random.default_rng(0).normal(3.0, 2.0, size=(50, 10, 2))
        n = Normalizer.fit(x)
        z = n.apply(x)
        np.testing.assert_allclose(z.reshape(-1, 2).mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(z.reshape(-1, 2).std(0), 1, atol=1e-4)
        assert Normalizer.from_dict(n.to_dict()) == n

    def test_fails_with_wrong_channel_count(self):
        n = Normalizer((0.0,), (1.0,))
        with pytest.raises(InputError, match="1 channels"):
            n.apply(np.zeros((2, 3)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 9999), n_cuts=st.integers(0, 25), gap=st.booleans(), nan=st.booleans())
def test_stream_equals_batch_through_windows(seed, n_cuts, gap, nan):
    """Chunked preprocessing + windowing equals the batch path (to 1e-5), gaps and NaNs included."""
    rng = np.random.default_rng(seed)
    t, acc, gyro = walking(rng, seconds=50, rot=random_rotation(rng))
    gt = t + rng.uniform(-0.02, 0.02)
    if gap:
        t[600:] += 3.0
        gt[600:] += 3.0
    if nan:
        acc[rng.integers(0, len(t), 5)] = np.nan
    lab = (np.arange(len(t)) // 300).astype(int)
    cfg = PreprocessConfig()
    ref_w, ref = recording_windows(t, acc, cfg, gyro_t=gt, gyro=gyro, labels=lab)
    n = len(t)
    cuts = np.sort(rng.choice(np.arange(1, n), size=n_cuts, replace=False))
    st_, ws = pipeline_init(cfg), windower_init(cfg.window_len, cfg.hop_len, len(cfg.channels))
    ks, xs, wins = [], [], []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
        c, st_ = preprocess(t[a:b], acc[a:b], st_, gyro_t=gt[a:b], gyro=gyro[a:b], labels=lab[a:b])
        w, ws = make_windows(c.k, c.x, ws, c.label)
        ks.append(c.k)
        xs.append(c.x)
        wins.append(w)
    np.testing.assert_array_equal(np.concatenate(ks), ref.k)
    np.testing.assert_allclose(np.concatenate(xs), ref.x, atol=1e-5)
    w = Windows.concat(wins, 250, 14)
    np.testing.assert_array_equal(w.k_start, ref_w.k_start)
    np.testing.assert_allclose(w.x, ref_w.x, atol=1e-5)
    np.testing.assert_array_equal(w.label, ref_w.label)
