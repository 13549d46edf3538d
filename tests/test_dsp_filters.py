"""Second-order-section filters with explicit state."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momentsense.sdk.dsp import design_bandpass, design_lowpass, filter_chunk, filter_init
from momentsense.sdk.dsp.filters import frequency_response
from momentsense.sdk.errors import InputError

FS = 25.0


def steady_amplitude(y, settle=250):
    return np.abs(y[settle:]).max()


class TestFrequencyBehaviour:
    @pytest.mark.parametrize("f_hz,passes", [(0.05, True), (2.0, False), (5.0, False)])
    def test_lowpass_passes_or_attenuates_sines(self, f_hz, passes):
        """Gravity low-pass at 0.3 Hz keeps a 0.05 Hz tilt and removes gait-band sines (≥ 2 Hz)."""
        sos = design_lowpass(0.3, FS, 2)
        t = np.arange(0, 200, 1 / FS)
        x = np.sin(2 * np.pi * f_hz * t)[:, None]
        y, _ = filter_chunk(sos, x, filter_init(sos, x[0]))
        amp = steady_amplitude(y, settle=int(60 * FS))
        if passes:
            assert amp > 0.95
        else:
            expected = frequency_response(sos, [f_hz], FS)[0]
            assert amp < 0.05 and amp == pytest.approx(expected, rel=0.1, abs=1e-3)

    @pytest.mark.parametrize("f_hz,min_gain,max_gain", [(0.02, 0, 0.01), (2.0, 0.9, 1.05), (12.0, 0, 0.25)])
    def test_bandpass_gain_matches_design(self, f_hz, min_gain, max_gain):
        """The 0.3–10 Hz band-pass keeps gait frequencies and removes DC drift and near-Nyquist noise."""
        sos = design_bandpass(0.3, 10.0, FS, 2)
        t = np.arange(0, 400, 1 / FS)
        x = np.sin(2 * np.pi * f_hz * t)[:, None]
        y, _ = filter_chunk(sos, x, filter_init(sos, x[0]))
        amp = steady_amplitude(y, settle=int(200 * FS))
        assert min_gain <= amp <= max_gain

    def test_constant_input_from_steady_state_stays_flat(self):
        """filter_init gives the steady state: gravity does not ramp up from zero."""
        sos = design_lowpass(0.3, FS)
        x = np.tile([0.1, -0.2, 9.8], (500, 1))
        y, _ = filter_chunk(sos, x, filter_init(sos, x[0]))
        np.testing.assert_allclose(y, x, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 9999), cuts=st.lists(st.integers(0, 300), max_size=12))
def test_split_equals_whole(seed, cuts):
    """Filtering in chunks of any size equals filtering the whole signal (to 1e-10)."""
    rng = np.random.default_rng(seed)
    sos = design_bandpass(0.3, 10.0, FS)
    x = rng.normal(size=(300, 4))
    s0 = filter_init(sos, x[0])
    whole, _ = filter_chunk(sos, x, s0)
    parts, s = [], s0
    for a, b in zip([0] + sorted(cuts), sorted(cuts) + [300]):
        y, s = filter_chunk(sos, x[a:b], s)
        parts.append(y)
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-10)


class TestErrors:
    def test_fails_with_cutoff_above_nyquist(self):
        """A cut-off at or above fs/2 names the limit."""
        with pytest.raises(InputError, match="Nyquist"):
            design_lowpass(13.0, FS)

    def test_fails_with_inverted_band(self):
        with pytest.raises(InputError, match="below high_hz"):
            design_bandpass(5.0, 1.0, FS)

    def test_fails_with_state_of_wrong_shape(self):
        """The message gives the expected and the received state shape."""
        sos = design_lowpass(1.0, FS)
        with pytest.raises(InputError, match=r"state must have shape \(1, 2, 3\)"):
            filter_chunk(sos, np.zeros((10, 3)), np.zeros((1, 2, 2)))

    def test_state_is_not_modified(self):
        """The caller's state array is copied, never written."""
        sos = design_lowpass(1.0, FS)
        s = filter_init(sos, np.ones(2))
        before = s.copy()
        filter_chunk(sos, np.random.default_rng(0).normal(size=(20, 2)), s)
        np.testing.assert_array_equal(s, before)
