"""Butterworth filters as second-order sections with explicit state (stream == batch).

Design is separate from application: design once (:func:`design_lowpass`, :func:`design_bandpass`),
then apply chunk by chunk with :func:`filter_chunk`, passing the state along. A phone feeding one
second at a time and the trainer filtering a whole day call the same function and get the same
output. ``scipy.signal`` is imported lazily: it costs ~100 MB of memory (platform-notes.md).
"""

from __future__ import annotations

import numpy as np

from momentsense.sdk.errors import InputError


def _signal():
    import scipy.signal  # lazy: heavy import, only where filtering is needed

    return scipy.signal


def _check_cutoff(name: str, f_hz: float, fs_hz: float) -> None:
    if not (np.isfinite(f_hz) and 0 < f_hz < fs_hz / 2):
        raise InputError(f"{name} must be in (0, {fs_hz / 2:g}) Hz (below Nyquist at fs={fs_hz:g} Hz), got {f_hz!r}")


def design_lowpass(cutoff_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass, second-order sections of shape ``(n_sections, 6)``.

    Parameters
    ----------
    cutoff_hz : float
        -3 dB frequency in Hz.
    fs_hz : float
        Sampling rate in Hz.
    order : int
        Filter order (≥ 1).
    """
    _check_cutoff("cutoff_hz", cutoff_hz, fs_hz)
    if int(order) < 1:
        raise InputError(f"order must be >= 1, got {order!r}")
    return _signal().butter(int(order), cutoff_hz, btype="lowpass", fs=fs_hz, output="sos")


def design_bandpass(low_hz: float, high_hz: float, fs_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth band-pass, second-order sections of shape ``(n_sections, 6)``.

    Parameters
    ----------
    low_hz, high_hz : float
        -3 dB edges in Hz, ``0 < low_hz < high_hz < fs_hz / 2``.
    fs_hz : float
        Sampling rate in Hz.
    order : int
        Order of each edge (the band-pass has ``2 * order`` poles).
    """
    _check_cutoff("low_hz", low_hz, fs_hz)
    _check_cutoff("high_hz", high_hz, fs_hz)
    if not low_hz < high_hz:
        raise InputError(f"low_hz must be below high_hz, got {low_hz!r} >= {high_hz!r}")
    if int(order) < 1:
        raise InputError(f"order must be >= 1, got {order!r}")
    return _signal().butter(int(order), [low_hz, high_hz], btype="bandpass", fs=fs_hz, output="sos")


def filter_init(sos: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Steady-state filter state for a signal that has been at ``x0`` forever.

    Starting from this state, a constant input passes without a transient (no fake ramp of gravity
    from 0 to 9.8 m/s² at the start of every recording).

    Parameters
    ----------
    sos : ndarray ``(n_sections, 6)``
    x0 : ndarray ``(C,)``
        First sample of each channel.

    Returns
    -------
    state : ndarray ``(n_sections, 2, C)``
    """
    sos = np.asarray(sos, dtype=np.float64)
    x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    if x0.ndim != 1:
        raise InputError(f"x0 must have shape (channels,), got {x0.shape}")
    zi = _signal().sosfilt_zi(sos)  # (n_sections, 2)
    return zi[:, :, None] * x0[None, None, :]


def filter_chunk(sos: np.ndarray, x: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filter one chunk along axis 0.

    Parameters
    ----------
    sos : ndarray, shape ``(n_sections, 6)``
    x : ndarray, shape ``(n_samples, n_channels)``
        Samples on the regular grid (m/s² or rad/s).
    state : ndarray, shape ``(n_sections, 2, n_channels)``
        From :func:`filter_init` or the previous call. Not modified.

    Returns
    -------
    y : ndarray, same shape as ``x``
    state : ndarray
        Pass it to the next call.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"x must have shape (n_samples, n_channels), got {x.shape}")
    expected = (len(sos), 2, x.shape[1])
    if np.shape(state) != expected:
        raise InputError(f"state must have shape {expected} for {x.shape[1]} channels, got {np.shape(state)}")
    if len(x) == 0:
        return x.copy(), np.array(state, dtype=np.float64, copy=True)
    y, zf = _signal().sosfilt(sos, x, axis=0, zi=np.array(state, dtype=np.float64, copy=True))
    return y, zf


def frequency_response(sos: np.ndarray, f_hz: np.ndarray, fs_hz: float) -> np.ndarray:
    """Magnitude of the filter's frequency response at ``f_hz`` (linear gain, not dB)."""
    _, h = _signal().sosfreqz(sos, worN=np.asarray(f_hz, dtype=np.float64), fs=fs_hz)
    return np.abs(h)
