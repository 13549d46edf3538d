"""Per-device sensor imperfections: clock, jitter, drops, bias, scale, noise, range, low-pass.

A :class:`DeviceProfile` is drawn from the device id, so every phone in a simulated population has
its own biases, noise floor, sampling behaviour and saturation range, and evaluations can hold out
whole devices. :func:`sample_device` turns the true specific force and angular rate on the regular
25 Hz simulation grid into what that phone would report.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from momentsense.sdk.records import STANDARD_GRAVITY_MPS2
from momentsense.sdk.sim.signals import IMU_RATE_HZ, child_rng

_DPS = np.pi / 180.0


@dataclasses.dataclass(frozen=True)
class DeviceProfile:
    """The imperfections of one phone's accelerometer, gyroscope and sensor clock.

    Attributes:
        device_id: Device id written into recordings.
        rate_hz: True mean sampling rate, Hz (the app asks for 25 Hz; phones deliver 24-26 Hz).
        jitter_s: Standard deviation of the sample-time jitter, s.
        late_s: Mean of the occasional late deliveries (exponential tail of the jitter), s.
        timestamp_resolution_s: Resolution of the reported timestamps, s.
        drop_prob: Probability that one sample is lost.
        gaps_per_h: Rate of short gaps (sensor service stalls), per hour.
        gap_max_s: Longest such gap, s.
        acc_range_mps2: Accelerometer full scale, ± m/s² (2, 4, 8 or 16 g).
        acc_bits: Accelerometer ADC resolution, bits.
        acc_bias_mps2: Per-axis accelerometer bias, m/s².
        acc_scale: Per-axis accelerometer scale factor (1 = perfect).
        acc_cross: Cross-axis coupling (xy, xz, yz), dimensionless.
        acc_noise_mps2: White noise standard deviation per sample, m/s².
        acc_drift_mps2: Amplitude of the slow (thermal) bias drift, m/s².
        gyro_range_rad_s: Gyroscope full scale, ± rad/s.
        gyro_bits: Gyroscope ADC resolution, bits.
        gyro_bias_rad_s: Per-axis gyroscope bias, rad/s.
        gyro_scale: Per-axis gyroscope scale factor.
        gyro_noise_rad_s: White noise standard deviation per sample, rad/s.
        gyro_drift_rad_s: Amplitude of the slow gyro bias drift, rad/s.
        drift_period_s: Period of the thermal drift, s.
        drift_phase_rad: Per-axis phases of the drift (acc xyz then gyro xyz), rad.
        lowpass_hz: Cut-off of the sensor's internal digital low-pass, Hz (0 = none).
        alias_gain: Fraction of above-Nyquist vibration (engine) that aliases into the output.
        gps_sigma_m: Standard deviation of the receiver's slowly varying position error, m.
        gps_dropouts_per_h: Rate of fix dropouts under open sky, per hour.
    """

    device_id: str
    rate_hz: float
    jitter_s: float
    late_s: float
    timestamp_resolution_s: float
    drop_prob: float
    gaps_per_h: float
    gap_max_s: float
    acc_range_mps2: float
    acc_bits: int
    acc_bias_mps2: tuple[float, float, float]
    acc_scale: tuple[float, float, float]
    acc_cross: tuple[float, float, float]
    acc_noise_mps2: float
    acc_drift_mps2: float
    gyro_range_rad_s: float
    gyro_bits: int
    gyro_bias_rad_s: tuple[float, float, float]
    gyro_scale: tuple[float, float, float]
    gyro_noise_rad_s: float
    gyro_drift_rad_s: float
    drift_period_s: float
    drift_phase_rad: tuple[float, float, float, float, float, float]
    lowpass_hz: float
    alias_gain: float
    gps_sigma_m: float
    gps_dropouts_per_h: float

    def to_dict(self) -> dict:
        """JSON-serialisable dict; :meth:`from_dict` rebuilds the profile."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DeviceProfile":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for f in dataclasses.fields(cls):
            if f.name in d and isinstance(d[f.name], list):
                d[f.name] = tuple(d[f.name])
        return cls(**d)


def draw_device(device_id: str, seed: int = 0) -> DeviceProfile:
    """Draw the sensor profile of ``device_id`` (deterministic given the id and ``seed``)."""
    rng = child_rng(seed, "device", device_id)
    g = STANDARD_GRAVITY_MPS2
    u = rng.uniform
    lowpass = float(rng.choice([0.0, u(6.0, 11.0), u(4.0, 7.0)], p=[0.35, 0.45, 0.2]))
    return DeviceProfile(
        device_id=str(device_id),
        rate_hz=float(IMU_RATE_HZ * (1.0 + rng.normal(0.0, 0.008))),
        jitter_s=float(np.exp(u(np.log(0.0008), np.log(0.008)))),
        late_s=float(u(0.002, 0.012)),
        timestamp_resolution_s=float(rng.choice([1e-9, 1e-6, 1e-3])),
        drop_prob=float(np.exp(u(np.log(0.0005), np.log(0.015)))),
        gaps_per_h=float(u(0.0, 3.0)),
        gap_max_s=float(u(0.5, 4.0)),
        acc_range_mps2=float(rng.choice([2.0, 4.0, 8.0, 16.0], p=[0.15, 0.25, 0.4, 0.2]) * g),
        acc_bits=int(rng.choice([12, 14, 16])),
        acc_bias_mps2=tuple(float(x) for x in rng.normal(0.0, u(0.03, 0.25), 3)),
        acc_scale=tuple(float(x) for x in 1.0 + rng.normal(0.0, u(0.003, 0.025), 3)),
        acc_cross=tuple(float(x) for x in rng.normal(0.0, 0.006, 3)),
        acc_noise_mps2=float(np.exp(u(np.log(0.006), np.log(0.04)))),
        acc_drift_mps2=float(u(0.0, 0.05)),
        gyro_range_rad_s=float(rng.choice([500.0, 1000.0, 2000.0], p=[0.1, 0.3, 0.6]) * _DPS),
        gyro_bits=int(rng.choice([14, 16])),
        gyro_bias_rad_s=tuple(float(x) for x in rng.normal(0.0, np.exp(u(np.log(0.0005), np.log(0.02))), 3)),
        gyro_scale=tuple(float(x) for x in 1.0 + rng.normal(0.0, u(0.002, 0.02), 3)),
        gyro_noise_rad_s=float(np.exp(u(np.log(0.0015), np.log(0.012)))),
        gyro_drift_rad_s=float(u(0.0, 0.004)),
        drift_period_s=float(u(1200.0, 6000.0)),
        drift_phase_rad=tuple(float(x) for x in u(0.0, 2 * np.pi, 6)),
        lowpass_hz=lowpass,
        alias_gain=float(u(0.05, 0.3) if lowpass > 0 else u(0.5, 1.0)),
        gps_sigma_m=float(u(1.5, 4.0)),
        gps_dropouts_per_h=float(u(0.5, 4.0)),
    )


@dataclasses.dataclass
class DeviceOutput:
    """What the phone reported for one stretch of simulation grid.

    Attributes:
        t: float64 ``(K,)`` sample times, s.
        acc: float32 ``(K, 3)`` m/s², device frame, including gravity.
        gyro: float32 ``(K, 3)`` rad/s, device frame.
        grid_index: int64 ``(K,)`` index of the nearest simulation-grid sample (for labels).
        next_t: Nominal time of the next sample, s (carry to the next stretch).
    """

    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray
    grid_index: np.ndarray
    next_t: float


def _lowpass_fft(x: np.ndarray, fc_hz: float, fs_hz: float) -> np.ndarray:
    """Single-pole causal-phase low-pass, applied in the frequency domain with the trend removed."""
    n = len(x)
    if fc_hz <= 0 or n < 8:
        return x
    ramp = np.linspace(0.0, 1.0, n)[:, None]
    trend = x[:1] + (x[-1:] - x[:1]) * ramp
    f = np.fft.rfftfreq(n, 1.0 / fs_hz)
    h = 1.0 / (1.0 + 1j * f / fc_hz)
    return np.fft.irfft(np.fft.rfft(x - trend, axis=0) * h[:, None], n, axis=0) + trend


def _sensor_errors(x, t, bias, scale, cross, noise, drift, phases, period_s, rng):
    m = np.diag(scale)
    m[0, 1] = m[1, 0] = cross[0]
    m[0, 2] = m[2, 0] = cross[1]
    m[1, 2] = m[2, 1] = cross[2]
    d = drift * np.sin(2 * np.pi * t[:, None] / period_s + np.asarray(phases)[None, :])
    return x @ m.T + np.asarray(bias) + d + rng.normal(0.0, noise, x.shape)


def _quantise(x: np.ndarray, full_scale: float, bits: int) -> np.ndarray:
    lsb = 2.0 * full_scale / 2**bits
    return np.clip(np.round(x / lsb) * lsb, -full_scale, full_scale - lsb)


def sample_device(
    grid_t0: float,
    acc_grid: np.ndarray,
    gyro_grid: np.ndarray,
    profile: DeviceProfile,
    rng: np.random.Generator,
    next_t: float | None = None,
    grid_hz: float = IMU_RATE_HZ,
) -> DeviceOutput:
    """Sample the true signals the way ``profile``'s phone would.

    Parameters
    ----------
    grid_t0 : float
        Time of the first grid sample, s.
    acc_grid : ndarray, shape ``(n, 3)``
        True specific force (including gravity) in the device frame on the regular grid, m/s².
    gyro_grid : ndarray, shape ``(n, 3)``
        True angular rate in the device frame on the same grid, rad/s.
    profile : DeviceProfile
    rng : numpy.random.Generator
    next_t : float, optional
        Nominal time of the first sample (from the previous stretch's ``next_t``); default ``grid_t0``.
    grid_hz : float
        Rate of the grid, Hz.

    Returns
    -------
    DeviceOutput
        Samples with times in ``[next_t, grid_t0 + n / grid_hz)``.

    Notes
    -----
    Order of effects: internal low-pass → sampling at jittered instants (linear interpolation of the
    grid) → scale, cross-axis, bias, thermal drift, white noise → quantisation and saturation →
    dropped samples and short gaps → timestamp rounding.
    """
    n = len(acc_grid)
    t_end = grid_t0 + n / grid_hz
    base = grid_t0 if next_t is None else float(next_t)
    dt = 1.0 / profile.rate_hz
    k = int(max(0.0, np.ceil((t_end - base) / dt)))
    next_nominal = base + k * dt
    if k == 0 or n < 2:
        e3 = np.zeros((0, 3), np.float32)
        return DeviceOutput(np.zeros(0), e3, e3.copy(), np.zeros(0, np.int64), next_nominal)
    jit = rng.normal(0.0, profile.jitter_s, k) + rng.exponential(profile.late_s, k) * (rng.random(k) < 0.05)
    t = base + np.arange(k) * dt + np.clip(jit, -0.4 * dt, 0.45 * dt)
    t = t[(t >= grid_t0) & (t < grid_t0 + (n - 1) / grid_hz)]
    pos = (t - grid_t0) * grid_hz
    i0 = np.minimum(pos.astype(np.int64), n - 2)
    w = (pos - i0)[:, None]
    both = np.concatenate([acc_grid, gyro_grid], axis=1)
    both = _lowpass_fft(both, profile.lowpass_hz, grid_hz)
    vals = both[i0] * (1.0 - w) + both[i0 + 1] * w
    p = profile
    acc = _sensor_errors(vals[:, :3], t, p.acc_bias_mps2, p.acc_scale, p.acc_cross, p.acc_noise_mps2,
                         p.acc_drift_mps2, p.drift_phase_rad[:3], p.drift_period_s, rng)
    gyro = _sensor_errors(vals[:, 3:], t, p.gyro_bias_rad_s, p.gyro_scale, (0.0, 0.0, 0.0), p.gyro_noise_rad_s,
                          p.gyro_drift_rad_s, p.drift_phase_rad[3:], p.drift_period_s, rng)
    acc = _quantise(acc, p.acc_range_mps2, p.acc_bits)
    gyro = _quantise(gyro, p.gyro_range_rad_s, p.gyro_bits)
    keep = rng.random(len(t)) >= p.drop_prob
    span_s = len(t) * dt
    for tg in rng.uniform(t[0], t[-1], rng.poisson(p.gaps_per_h * span_s / 3600.0)) if len(t) else []:
        keep &= ~((t >= tg) & (t < tg + rng.uniform(0.2, p.gap_max_s)))
    t = t[keep]
    if p.timestamp_resolution_s > 1e-9:
        t = np.round(t / p.timestamp_resolution_s) * p.timestamp_resolution_s
    idx = np.minimum(np.round(pos[keep]).astype(np.int64), n - 1)
    return DeviceOutput(t, acc[keep].astype(np.float32), gyro[keep].astype(np.float32), idx, next_nominal)
