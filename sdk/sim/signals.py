"""Numerical building blocks of the sensor simulator (numpy only).

Spectrally shaped noise, slow Ornstein-Uhlenbeck processes, rotations (Rodrigues) and
deterministic seeding. Everything is vectorised: one simulated hour at 25 Hz is 90,000 samples
and must be produced in a fraction of a second.
"""

from __future__ import annotations

import zlib
from typing import Callable

import numpy as np

#: Nominal output rate of the accelerometer and gyroscope, Hz.
IMU_RATE_HZ = 25.0


def stable_seed(*parts: object) -> int:
    """A 32-bit seed that depends only on ``parts`` (not on Python's salted ``hash``)."""
    text = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return zlib.crc32(text) & 0xFFFFFFFF


def child_rng(seed: int, *parts: object) -> np.random.Generator:
    """An independent generator for one named stream of a simulation (device, person, leg...)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, stable_seed(*parts)])


def resonance_gain(f_hz: np.ndarray, f0_hz: float, q: float) -> np.ndarray:
    """Magnitude response of a second-order resonator (peak ≈ ``q`` at ``f0_hz``, 1 at DC)."""
    r = f_hz / max(f0_hz, 1e-6)
    return 1.0 / np.sqrt((1.0 - r * r) ** 2 + (r / q) ** 2)


def lowpass_gain(f_hz: np.ndarray, fc_hz: float, order: int = 1) -> np.ndarray:
    """Magnitude response of an ``order``-pole low-pass with cut-off ``fc_hz``."""
    return (1.0 + (f_hz / max(fc_hz, 1e-6)) ** 2) ** (-0.5 * order)


def shaped_noise(
    rng: np.random.Generator,
    n: int,
    gain: Callable[[np.ndarray], np.ndarray],
    fs_hz: float = IMU_RATE_HZ,
    n_channels: int = 1,
) -> np.ndarray:
    """Gaussian noise with the power spectrum ``|gain(f)|²``, normalised to unit RMS per channel.

    Parameters
    ----------
    rng : numpy.random.Generator
    n : int
        Number of samples.
    gain : callable
        ``gain(f_hz)`` with ``f_hz`` of shape ``(F,)`` returns the amplitude response, shape
        ``(F,)`` or ``(F, n_channels)``.
    fs_hz : float
        Sampling rate in Hz.
    n_channels : int

    Returns
    -------
    x : ndarray, shape ``(n, n_channels)``, float64, unit RMS per channel (zeros when ``n < 4``).

    Notes
    -----
    Synthesised in the frequency domain, so the sequence is circular (its end joins its start).
    """
    if n < 4:
        return np.zeros((max(n, 0), n_channels))
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    g = np.asarray(gain(f), dtype=float)
    if g.ndim == 1:
        g = g[:, None]
    spec = (rng.standard_normal((len(f), n_channels)) + 1j * rng.standard_normal((len(f), n_channels))) * g
    spec[0] = 0.0
    x = np.fft.irfft(spec, n, axis=0)
    rms = np.sqrt(np.mean(x * x, axis=0))
    return x / np.where(rms > 0, rms, 1.0)


def ou_process(
    rng: np.random.Generator,
    n: int,
    tau_s: float,
    sigma: float | np.ndarray,
    fs_hz: float = IMU_RATE_HZ,
    step_s: float = 0.5,
    x0: np.ndarray | None = None,
    n_channels: int = 1,
) -> np.ndarray:
    """A slow Ornstein-Uhlenbeck process (stationary std ``sigma``, correlation time ``tau_s``).

    Integrated exactly on a coarse ``step_s`` grid and linearly interpolated to ``fs_hz``, so its
    cost is ``n / (fs_hz * step_s)`` loop iterations. Returns shape ``(n, n_channels)``.
    """
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (n_channels,))
    m = int(np.ceil(n / fs_hz / step_s)) + 2
    a = float(np.exp(-step_s / max(tau_s, 1e-6)))
    e = rng.standard_normal((m, n_channels)) * sigma * np.sqrt(1.0 - a * a)
    x = np.empty((m, n_channels))
    x[0] = rng.standard_normal(n_channels) * sigma if x0 is None else x0
    for k in range(1, m):
        x[k] = a * x[k - 1] + e[k]
    tc = np.arange(m) * step_s
    t = np.arange(n) / fs_hz
    return np.stack([np.interp(t, tc, x[:, c]) for c in range(n_channels)], axis=1)


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average along axis 0 with edge padding (same length). ``width <= 1`` is a no-op."""
    if width <= 1 or len(x) == 0:
        return x
    k = np.ones(width) / width
    pad = width // 2
    if x.ndim == 1:
        xp = np.pad(x, (pad, width - 1 - pad), mode="edge")
        return np.convolve(xp, k, mode="valid")
    return np.stack([smooth(x[:, c], width) for c in range(x.shape[1])], axis=1)


def rotate(v: np.ndarray, rotvec: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (``(N, 3)``) by rotation vectors ``rotvec`` (``(N, 3)`` or ``(3,)``, rad).

    Rodrigues' formula, vectorised. A rotation vector is axis × angle (right-hand rule).
    """
    rotvec = np.broadcast_to(rotvec, v.shape)
    theta = np.sqrt(np.sum(rotvec * rotvec, axis=-1, keepdims=True))
    k = rotvec / np.where(theta > 0, theta, 1.0)
    c, s = np.cos(theta), np.sin(theta)
    kxv = np.cross(k, v)
    kdv = np.sum(k * v, axis=-1, keepdims=True)
    return v * c + kxv * s + k * kdv * (1.0 - c)


def rotvec_matrix(rotvec: np.ndarray) -> np.ndarray:
    """The ``3×3`` rotation matrix of one rotation vector (rad)."""
    return rotate(np.eye(3), np.asarray(rotvec, dtype=float)).T


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed random ``3×3`` rotation matrix."""
    q = rng.standard_normal(4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def event_times(rng: np.random.Generator, duration_s: float, rate_per_s: float) -> np.ndarray:
    """Times of a Poisson process of rate ``rate_per_s`` on ``[0, duration_s)``, sorted."""
    if rate_per_s <= 0 or duration_s <= 0:
        return np.zeros(0)
    k = rng.poisson(rate_per_s * duration_s)
    return np.sort(rng.uniform(0.0, duration_s, k))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a C¹ cosine ramp in between."""
    x = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * x)
