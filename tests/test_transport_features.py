"""Hand-crafted window features for the tree baselines (trainer.transport.features)."""

import time

import numpy as np
import pytest

from momentsense.sdk.dsp import DEFAULT_CHANNELS
from momentsense.sdk.errors import InputError
from momentsense.trainer.transport.features import DEFAULT_BANDS_HZ, feature_names, window_features

FS_HZ = 25.0
L = 250
T_S = np.arange(L) / FS_HZ


def column(features, names, name):
    return features[:, names.index(name)]


def band_columns(features, names, channel):
    return features[:, [i for i, n in enumerate(names) if n.startswith(f"{channel}.band_")]]


class TestWindowFeatures:
    @pytest.mark.parametrize("f_hz", [0.7, 1.8, 2.3, 6.1, 11.0])
    def test_pure_sine_dominant_frequency_is_found(self, f_hz):
        """A sine at f Hz (plus an offset) has its dominant frequency at f and its power in f's band."""
        x = (4.0 + 2.0 * np.sin(2 * np.pi * f_hz * T_S + 0.3))[None, :, None]
        feats, names = window_features(x, FS_HZ, ["lin_vert"])
        assert column(feats, names, "lin_vert.dom_freq_hz")[0] == pytest.approx(f_hz, abs=0.051)
        band = next(j for j, (lo, hi) in enumerate(DEFAULT_BANDS_HZ) if lo <= f_hz < hi)
        assert band_columns(feats, names, "lin_vert")[0, band] > 0.8
        assert column(feats, names, "lin_vert.mean")[0] == pytest.approx(4.0, abs=0.02)
        assert column(feats, names, "lin_vert.std")[0] == pytest.approx(2.0 / np.sqrt(2), rel=0.02)
        assert column(feats, names, "lin_vert.zcr_hz")[0] == pytest.approx(2 * f_hz, rel=0.1, abs=0.1)

    def test_band_energies_sum_to_one(self):
        """On random windows the relative band energies of every channel sum to 1 and lie in [0, 1]."""
        x = np.random.default_rng(0).normal(size=(20, L, 3)).astype(np.float32)
        feats, names = window_features(x, FS_HZ, ["lin_x", "lin_y", "lin_z"])
        for ch in ("lin_x", "lin_y", "lin_z"):
            bands = band_columns(feats, names, ch)
            assert bands.shape == (20, len(DEFAULT_BANDS_HZ))
            np.testing.assert_allclose(bands.sum(axis=1), 1.0, atol=1e-5)
            assert bands.min() >= 0 and bands.max() <= 1

    def test_shapes_and_names(self):
        """(W, L, C) → (W, F) float32 with F names; percentiles are ordered; empty input → (0, F)."""
        x = np.random.default_rng(1).normal(size=(7, L, len(DEFAULT_CHANNELS))).astype(np.float32)
        feats, names = window_features(x, FS_HZ, DEFAULT_CHANNELS)
        assert feats.dtype == np.float32 and feats.shape == (7, len(names))
        assert names == feature_names(DEFAULT_CHANNELS) and len(set(names)) == len(names)
        assert sum(n.startswith("corr.") for n in names) == 6  # every default pair is present
        pct = feats[:, [names.index(f"gyro_z.{q}") for q in ("min", "p10", "p25", "p50", "p75", "p90", "max")]]
        assert np.all(np.diff(pct, axis=1) >= 0)
        np.testing.assert_allclose(column(feats, names, "gyro_z.p50"), np.median(x[:, :, 5], axis=1), rtol=1e-5)
        empty, names0 = window_features(np.zeros((0, L, len(DEFAULT_CHANNELS))), FS_HZ, DEFAULT_CHANNELS)
        assert empty.shape == (0, len(names)) and names0 == names

    def test_windows_are_independent_of_batching(self):
        """Features of a window do not depend on which other windows share the batch (chunking included)."""
        x = np.random.default_rng(2).normal(size=(2100, 50, 2)).astype(np.float32)
        feats, _ = window_features(x, FS_HZ, ["lin_vert", "lin_horiz"])
        one, _ = window_features(x[2090:2091], FS_HZ, ["lin_vert", "lin_horiz"])
        np.testing.assert_allclose(feats[2090:2091], one, rtol=1e-6)

    @pytest.mark.parametrize("value", [0.0, 9.81, -3.0])
    def test_constant_and_zero_windows_are_finite(self, value):
        """A constant window has finite features: its value as stats, 0 for spread, spectrum and correlations."""
        x = np.full((3, L, len(DEFAULT_CHANNELS)), value, np.float32)
        feats, names = window_features(x, FS_HZ, DEFAULT_CHANNELS)
        assert np.all(np.isfinite(feats))
        assert np.all(column(feats, names, "acc_norm.p75") == pytest.approx(value))
        spread = [i for i, n in enumerate(names) if not n.split(".")[-1] in ("mean", "min", "max", "p10", "p25", "p50", "p75", "p90")]
        np.testing.assert_allclose(feats[:, spread], 0.0, atol=1e-6)

    def test_correlation_sign(self):
        """Correlation of a channel with its negative is -1, with a scaled copy +1."""
        s = np.sin(2 * np.pi * 1.3 * T_S) + 0.1 * np.random.default_rng(3).normal(size=L)
        x = np.stack([s, 2 * s, -s], axis=1)[None]
        feats, names = window_features(x, FS_HZ, ["lin_x", "lin_y", "lin_z"])
        assert column(feats, names, "corr.lin_x.lin_y")[0] == pytest.approx(1.0, abs=1e-5)
        assert column(feats, names, "corr.lin_x.lin_z")[0] == pytest.approx(-1.0, abs=1e-5)

    def test_fast_on_ten_thousand_windows(self):
        """10,000 windows × 250 samples × 11 channels take under a few seconds."""
        x = np.random.default_rng(4).normal(size=(10_000, L, len(DEFAULT_CHANNELS))).astype(np.float32)
        start = time.perf_counter()
        feats, _ = window_features(x, FS_HZ, DEFAULT_CHANNELS)
        assert time.perf_counter() - start < 6.0
        assert np.all(np.isfinite(feats))


class TestWindowFeaturesErrors:
    def test_window_features_fails_with_nan(self):
        """A NaN sample raises InputError naming the window, sample and channel."""
        x = np.zeros((2, L, 2), np.float32)
        x[1, 17, 1] = np.nan
        with pytest.raises(InputError, match=r"window 1, sample 17, channel 'lin_y'"):
            window_features(x, FS_HZ, ["lin_x", "lin_y"])

    @pytest.mark.parametrize(
        "shape,channels,fs_hz",
        [((L, 2), ["a", "b"], FS_HZ), ((2, L, 3), ["a", "b"], FS_HZ), ((2, 1, 2), ["a", "b"], FS_HZ),
         ((2, L, 2), ["a", "a"], FS_HZ), ((2, L, 2), ["a", "b"], 0.0)],
    )  # fmt: skip
    def test_window_features_fails_with_bad_shape_or_rate(self, shape, channels, fs_hz):
        """Wrong rank, channel count, length < 2, duplicate names or fs_hz ≤ 0 raise InputError."""
        with pytest.raises(InputError):
            window_features(np.zeros(shape, np.float32), fs_hz, channels)
