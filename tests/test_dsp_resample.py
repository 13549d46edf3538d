"""Resampling onto the 25 Hz grid: recovery, repairs, gaps, stream == batch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentsense.sdk.dsp import resample, resampler_init, segment_starts
from momentsense.sdk.errors import InputError


def jittered(n, rng, jitter_s=0.006, dt=0.04):
    return np.cumsum(rng.uniform(dt - jitter_s, dt + jitter_s, n)) + 1.7e9


class TestResample:
    def test_recovers_sine_from_jittered_timestamps(self):
        """A 1.5 Hz sine sampled at irregular times comes back on the grid within the linear-interpolation bound."""
        rng = np.random.default_rng(0)
        t = jittered(2000, rng)
        f = 1.5
        out, _ = resample(t, np.sin(2 * np.pi * f * t)[:, None])
        truth = np.sin(2 * np.pi * f * out.t)
        # Linear interpolation error ≤ h²/8 · max|x''| with h the largest sample spacing.
        h = np.diff(t).max()
        bound = h**2 / 8 * (2 * np.pi * f) ** 2
        assert np.abs(out.x[:, 0] - truth).max() <= bound * 1.01
        assert np.all(np.diff(out.k) == 1)
        assert out.t[0] >= t[0] and out.t[-1] <= t[-1]

    def test_grid_is_absolute_multiples_of_step(self):
        """Grid times are k / fs, so two clocks land on the same points."""
        rng = np.random.default_rng(1)
        out, _ = resample(jittered(100, rng), np.zeros((100, 1)))
        np.testing.assert_allclose(out.t * 25.0, np.round(out.t * 25.0), atol=1e-6)

    def test_unsorted_and_duplicate_timestamps_are_repaired_and_counted(self):
        """Shuffled input gives the sorted result; a duplicate keeps the first sample received."""
        rng = np.random.default_rng(2)
        t = jittered(500, rng)
        x = np.sin(t)[:, None]
        ref, _ = resample(t, x)
        perm = rng.permutation(500)
        t2 = np.concatenate([t[perm], [t[10]]])
        x2 = np.concatenate([x[perm], [[99.0]]])
        out, _ = resample(t2, x2)
        np.testing.assert_array_equal(out.k, ref.k)
        np.testing.assert_allclose(out.x, ref.x)
        assert out.report.reordered > 0
        assert out.report.duplicates == 1

    def test_nan_and_impossible_samples_are_dropped_and_counted(self):
        """NaN/inf and physically impossible values are removed, counted, and bridged when the hole is short."""
        t = np.arange(100) * 0.04
        x = np.ones((100, 3))
        x[10] = np.nan
        x[20, 1] = np.inf
        x[30, 2] = 1e6
        out, _ = resample(t, x, impossible_abs=200.0)
        assert out.report.dropped_nonfinite == 2
        assert out.report.dropped_impossible == 1
        assert np.all(np.isfinite(out.x))
        np.testing.assert_allclose(out.x, 1.0)
        assert len(out.gaps) == 0

    def test_non_finite_timestamps_are_dropped(self):
        """A NaN timestamp cannot be placed on the grid: the sample is dropped and counted."""
        t = np.arange(50) * 0.04
        t[5] = np.nan
        out, _ = resample(t, np.zeros((50, 1)))
        assert out.report.dropped_bad_time == 1

    def test_gap_longer_than_limit_splits_and_is_reported(self):
        """A 3 s hole is not interpolated: grid indices jump and the gap is reported with its times."""
        t = np.concatenate([np.arange(0, 10, 0.04), np.arange(13, 20, 0.04)])
        out, _ = resample(t, np.zeros((len(t), 1)), resampler_init(25.0, 1.0))
        assert len(out.gaps) == 1
        assert out.gaps[0].start_s == pytest.approx(t[249]) and out.gaps[0].end_s == pytest.approx(13.0)
        starts = segment_starts(out.k)
        assert len(starts) == 2
        assert not np.any((out.t > 10.0) & (out.t < 13.0 - 1e-9))

    def test_gap_shorter_than_limit_is_bridged(self):
        """A 0.5 s hole is interpolated with the default 1 s limit."""
        t = np.concatenate([np.arange(0, 10, 0.04), np.arange(10.5, 20, 0.04)])
        out, _ = resample(t, np.zeros((len(t), 1)))
        assert out.gaps == [] and len(segment_starts(out.k)) == 1

    def test_labels_take_the_nearer_sample(self):
        """Labels are not interpolated: each grid point takes the nearer sample's label."""
        t = np.array([0.0, 0.031, 0.062, 0.1])
        out, _ = resample(t, np.zeros((4, 1)), labels=np.array([0, 1, 2, 3]))
        # grid 0, .04, .08: nearest samples 0.0, 0.031, 0.062 (0.08 is closer to 0.062 than to 0.1)
        assert out.label.tolist() == [0, 1, 2]

    def test_empty_input_gives_empty_typed_result(self):
        """No samples is a normal outcome."""
        out, state = resample(np.zeros(0), np.zeros((0, 3)))
        assert len(out) == 0 and out.x.shape == (0, 3) and state.last_t is None

    @pytest.mark.parametrize(
        "t,x,msg",
        [
            (np.zeros((3, 2)), np.zeros((3, 3)), "timestamps must have shape"),
            (np.zeros(3), np.zeros((4, 3)), "3 timestamps but 4 samples"),
            (np.zeros(3), np.zeros((3, 3, 1)), "samples must have shape"),
            (np.zeros(3), [["a", "b", "c"]] * 3, "numeric"),
        ],
    )
    def test_fails_with_wrong_shapes(self, t, x, msg):
        """Wrong shapes are an InputError that states the rule and the shapes."""
        with pytest.raises(InputError, match=msg):
            resample(t, x)

    def test_fails_with_channel_count_change_mid_stream(self):
        """A stream cannot change its number of channels between chunks."""
        _, s = resample(np.arange(10) * 0.04, np.zeros((10, 3)))
        with pytest.raises(InputError, match="channels"):
            resample(np.arange(10, 20) * 0.04, np.zeros((10, 2)), s)

    def test_fails_with_bad_parameters(self):
        """Rate and gap limit are checked at the door."""
        with pytest.raises(InputError, match="fs_hz"):
            resampler_init(0.0)
        with pytest.raises(InputError, match="max_gap_s"):
            resampler_init(25.0, 0.01)

    def test_late_samples_in_a_stream_are_dropped_and_counted(self):
        """A chunk whose samples go back in time drops those samples instead of rewriting the past."""
        _, s = resample(np.arange(0, 50) * 0.04, np.zeros((50, 1)))
        out, _ = resample(np.array([1.0, 1.5, 2.1, 2.2]), np.zeros((4, 1)), s)
        assert out.report.late == 2


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_cuts=st.integers(0, 30),
    gap_at=st.one_of(st.none(), st.integers(10, 390)),
)
def test_stream_equals_batch_for_random_chunkings(seed, n_cuts, gap_at):
    """Any chunking of the input gives the same grid and values as one batch call (to 1e-5)."""
    rng = np.random.default_rng(seed)
    n = 400
    t = jittered(n, rng)
    if gap_at is not None:
        t[gap_at:] += 2.5
    x = rng.normal(size=(n, 3))
    lab = rng.integers(-1, 4, n)
    ref, _ = resample(t, x, labels=lab)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n_cuts, n - 1), replace=False))
    state = resampler_init()
    ks, xs, ls, gaps = [], [], [], []
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, n]):
        out, state = resample(t[a:b], x[a:b], state, labels=lab[a:b])
        ks.append(out.k)
        xs.append(out.x)
        ls.append(out.label)
        gaps += out.gaps
    np.testing.assert_array_equal(np.concatenate(ks), ref.k)
    np.testing.assert_allclose(np.concatenate(xs), ref.x, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate(ls), ref.label)
    assert gaps == ref.gaps
