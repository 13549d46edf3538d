"""Hand-crafted time- and frequency-domain features of IMU windows, for the tree baselines.

:func:`window_features` turns ``(W, L, C)`` windows into ``(W, F)`` features, vectorised over
windows (10,000 windows of 250 × 11 in about a second). Per channel, in this order:

==================  ===========================================================================
name                meaning (unit: the channel's, e.g. m/s² or rad/s, unless stated)
==================  ===========================================================================
``mean, std``       mean and population standard deviation
``min, max``        extremes
``p10 .. p90``      percentiles 10, 25, 50, 75, 90 (linear interpolation)
``mad_deriv``       mean absolute first difference × ``fs_hz`` (unit per second)
``zcr_hz``          crossings of the window's mean per second
``band_A_B_hz``     fraction of the spectral power in ``[A, B)`` Hz (the last band includes B)
``dom_freq_hz``     frequency of the strongest spectral bin (Hz)
``dom_power_frac``  fraction of the spectral power in that bin
``spec_entropy``    Shannon entropy of the normalised power spectrum / log(number of bins), in [0, 1]
==================  ===========================================================================

then one Pearson correlation per channel pair in :data:`DEFAULT_PAIRS` whose both channels exist
(``corr.A.B``).

The spectrum is ``|rfft(hann * (x - mean))|²`` over bins ``0 < f ≤ fs_hz / 2`` (DC is removed).
A window with no power (constant or zero) gets 0 for every spectral feature and correlation.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from momentsense.sdk.errors import InputError

#: Frequency bands (Hz) whose share of the spectral power is a feature. They tile 0–12.5 Hz, the
#: whole spectrum at 25 Hz: walking ~1.5–2.5 Hz steps, running ~2.5–3.5 Hz, cycling cadence
#: ~1–1.7 Hz, vehicles' engine and road vibration above 5 Hz.
DEFAULT_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (0.0, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, 8.0), (8.0, 12.5),
)  # fmt: skip

#: Channel pairs whose correlation is a feature (pairs with a missing channel are skipped).
DEFAULT_PAIRS: tuple[tuple[str, str], ...] = (
    ("lin_x", "lin_y"), ("lin_x", "lin_z"), ("lin_y", "lin_z"),
    ("lin_vert", "lin_horiz"), ("acc_norm", "gyro_norm"), ("lin_vert", "gyro_vert"),
)  # fmt: skip

PERCENTILES = (10, 25, 50, 75, 90)

#: Rows processed at once: bounds the float64 work arrays to ~50 MB for 250 × 11 windows.
_CHUNK_WINDOWS = 2048


def _band_name(lo: float, hi: float) -> str:
    return f"band_{lo:g}_{hi:g}_hz"


def feature_names(
    channel_names: Sequence[str],
    bands_hz: Sequence[tuple[float, float]] = DEFAULT_BANDS_HZ,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
) -> list[str]:
    """Names of the columns :func:`window_features` returns, ``"<channel>.<feature>"`` then ``"corr.<a>.<b>"``."""
    per_channel = (
        ["mean", "std", "min", "max"]
        + [f"p{q}" for q in PERCENTILES]
        + ["mad_deriv", "zcr_hz"]
        + [_band_name(lo, hi) for lo, hi in bands_hz]
        + ["dom_freq_hz", "dom_power_frac", "spec_entropy"]
    )
    names = [f"{ch}.{f}" for ch in channel_names for f in per_channel]
    names += [f"corr.{a}.{b}" for a, b in _present_pairs(channel_names, pairs)]
    return names


def _present_pairs(channel_names: Sequence[str], pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    have = set(channel_names)
    return [(a, b) for a, b in pairs if a in have and b in have]


def _check_inputs(x: np.ndarray, fs_hz: float, channel_names: Sequence[str], bands_hz) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 3:
        raise InputError(f"windows must have shape (W, L, C), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise InputError(f"windows must be numeric, got dtype {x.dtype}")
    if x.shape[2] != len(channel_names):
        raise InputError(f"windows have {x.shape[2]} channels but {len(channel_names)} channel names were given")
    if len(set(channel_names)) != len(channel_names):
        raise InputError(f"channel names must be unique, got {list(channel_names)}")
    if x.shape[1] < 2:
        raise InputError(f"windows must be at least 2 samples long, got L={x.shape[1]}")
    if not (np.isfinite(fs_hz) and fs_hz > 0):
        raise InputError(f"fs_hz must be > 0, got {fs_hz!r}")
    for lo, hi in bands_hz:
        if not 0 <= lo < hi:
            raise InputError(f"each band must satisfy 0 ≤ low_hz < high_hz, got ({lo!r}, {hi!r})")
    bad = ~np.isfinite(x)
    if bad.any():
        w, k, c = np.argwhere(bad)[0].tolist()
        raise InputError(f"windows must be finite; NaN or inf in window {w}, sample {k}, channel {channel_names[c]!r}")
    return x


def window_features(
    x: np.ndarray,
    fs_hz: float,
    channel_names: Sequence[str],
    bands_hz: Sequence[tuple[float, float]] = DEFAULT_BANDS_HZ,
    pairs: Sequence[tuple[str, str]] = DEFAULT_PAIRS,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix of a batch of windows.

    Parameters
    ----------
    x : ndarray ``(W, L, C)``
        Windows, ``L`` samples at ``fs_hz``, channels named by `channel_names` (m/s², rad/s).
        Must be finite.
    fs_hz : float
        Sampling rate in Hz (25 on the momentsense grid).
    channel_names : sequence of str, length ``C``
    bands_hz : sequence of (low_hz, high_hz), optional
        Bands whose power share is a feature; parts above ``fs_hz / 2`` are empty.
    pairs : sequence of (str, str), optional
        Channel pairs whose correlation is a feature.

    Returns
    -------
    features : ndarray float32 ``(W, F)``
        All finite. ``W = 0`` gives ``(0, F)``.
    names : list of str, length ``F``
        See :func:`feature_names` and the module docstring.

    Examples
    --------
    >>> t = np.arange(250) / 25.0
    >>> f, names = window_features(np.sin(2 * np.pi * 2.0 * t)[None, :, None], 25.0, ["lin_vert"])
    >>> float(f[0, names.index("lin_vert.dom_freq_hz")])
    2.0
    """
    channel_names = list(channel_names)
    x = _check_inputs(x, fs_hz, channel_names, bands_hz)
    names = feature_names(channel_names, bands_hz, pairs)
    n_w, n_l, _ = x.shape
    out = np.zeros((n_w, len(names)), np.float32)
    freqs_hz = np.fft.rfftfreq(n_l, d=1.0 / fs_hz)[1:]
    band_matrix = np.zeros((len(freqs_hz), len(bands_hz)))
    for j, (lo, hi) in enumerate(bands_hz):
        in_band = (freqs_hz >= lo) & ((freqs_hz < hi) | ((j == len(bands_hz) - 1) & (freqs_hz <= hi)))
        band_matrix[in_band, j] = 1.0
    hann = np.hanning(n_l + 2)[1:-1]  # no zero end points: every sample counts
    pair_idx = [(channel_names.index(a), channel_names.index(b)) for a, b in _present_pairs(channel_names, pairs)]
    for s in range(0, n_w, _CHUNK_WINDOWS):
        chunk = np.ascontiguousarray(np.transpose(x[s : s + _CHUNK_WINDOWS], (0, 2, 1)), dtype=np.float64)
        out[s : s + len(chunk)] = _chunk_features(chunk, fs_hz, freqs_hz, band_matrix, hann, pair_idx)
    return out, names


def _chunk_features(xc, fs_hz, freqs_hz, band_matrix, hann, pair_idx) -> np.ndarray:
    """Features of ``xc`` shaped ``(W, C, L)`` float64 → ``(W, F)``."""
    n_w, n_c, n_l = xc.shape
    mean = xc.mean(axis=2)
    centred = xc - mean[..., None]
    std = np.sqrt(np.mean(centred**2, axis=2))
    srt = np.sort(xc, axis=2)
    pos = np.asarray(PERCENTILES, np.float64) / 100.0 * (n_l - 1)
    lo_i = np.floor(pos).astype(np.int64)
    hi_i = np.minimum(lo_i + 1, n_l - 1)
    frac = pos - lo_i
    pct = srt[..., lo_i] * (1 - frac) + srt[..., hi_i] * frac  # (W, C, 5)
    mad_deriv = np.mean(np.abs(np.diff(xc, axis=2)), axis=2) * fs_hz
    # Samples exactly at the mean count with the side they came from (sign 0 → previous sign).
    sign = centred > 0
    zcr_hz = np.count_nonzero(sign[..., 1:] != sign[..., :-1], axis=2) / ((n_l - 1) / fs_hz)
    # A constant window would cross its mean on float round-off alone: no crossings without spread.
    zcr_hz = np.where(std > 1e-9 * (1 + np.abs(mean)), zcr_hz, 0.0)

    power = np.abs(np.fft.rfft(centred * hann, axis=2)[..., 1:]) ** 2  # (W, C, K)
    total = power.sum(axis=2)
    has_power = total > 1e-20 * n_l * (1 + mean**2)
    safe_total = np.where(has_power, total, 1.0)
    rel = power / safe_total[..., None]
    bands = (rel @ band_matrix) * has_power[..., None]
    dom = np.argmax(power, axis=2)
    dom_freq_hz = np.where(has_power, freqs_hz[dom], 0.0)
    dom_frac = np.where(has_power, np.take_along_axis(rel, dom[..., None], axis=2)[..., 0], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(rel > 0, rel * np.log(rel), 0.0)
    n_bins = power.shape[2]
    entropy = np.where(has_power, -plogp.sum(axis=2) / np.log(max(n_bins, 2)), 0.0)

    per_channel = np.concatenate(
        [
            mean[..., None], std[..., None], srt[..., :1], srt[..., -1:], pct,
            mad_deriv[..., None], zcr_hz[..., None], bands,
            dom_freq_hz[..., None], dom_frac[..., None], entropy[..., None],
        ],
        axis=2,
    )  # fmt: skip
    cols = [per_channel.reshape(n_w, -1)]
    if pair_idx:
        a = np.array([i for i, _ in pair_idx])
        b = np.array([j for _, j in pair_idx])
        cov = np.mean(centred[:, a] * centred[:, b], axis=2)
        denom = std[:, a] * std[:, b]
        ok = (std[:, a] > 1e-9 * (1 + np.abs(mean[:, a]))) & (std[:, b] > 1e-9 * (1 + np.abs(mean[:, b])))
        corr = np.where(ok, cov / np.where(ok, denom, 1.0), 0.0)
        cols.append(np.clip(corr, -1.0, 1.0))
    return np.concatenate(cols, axis=1)
