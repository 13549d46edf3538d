"""Parameters of the signal pipeline; they travel in every sensor model's manifest."""

from __future__ import annotations

import dataclasses

from momentsense.sdk.dsp.channels import CHANNELS, GYRO_CHANNELS
from momentsense.sdk.errors import InputError

#: Default model input: device-frame dynamic acceleration and angular rate, the gravity direction
#: in the device frame (how the phone, and the thigh it sits on, is tilted: sitting vs standing),
#: plus orientation-free channels (norms and the vertical/horizontal split along the gravity
#: estimate) that stay meaningful whatever way the phone sits in a pocket or bag.
DEFAULT_CHANNELS: tuple[str, ...] = (
    "lin_x", "lin_y", "lin_z", "gyro_x", "gyro_y", "gyro_z", "grav_x", "grav_y", "grav_z",
    "acc_norm", "lin_vert", "lin_horiz", "gyro_norm", "gyro_vert",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Signal-pipeline parameters. Defaults are chosen for transport-mode detection.

    Attributes:
        fs_hz: Grid rate in Hz. 25 Hz holds gait harmonics up to 12.5 Hz at a fraction of the
            battery cost of 50–100 Hz sensing.
        max_gap_s: Holes longer than this (seconds) are not interpolated; the stream is split.
            1 s: longer than any phone's scheduling hiccup, shorter than a step pattern changes.
        gravity_cutoff_hz: Low-pass cut-off (Hz) of the gravity estimate. 0.3 Hz sits below the
            slowest stride (~0.8 Hz) and above how fast a phone's orientation usually drifts.
        band_low_hz, band_high_hz: Band-pass (Hz) of the dynamic acceleration ("lin_*" channels).
            10 Hz keeps the 5th gait harmonic and stays clear of Nyquist (12.5 Hz).
        filter_order: Butterworth order of each filter.
        channels: Names of the model's input channels, in order (see :data:`sdk.dsp.channels.CHANNELS`).
        window_s: Window length in seconds. 10 s spans ≥ 16 steps, ≥ 10 pedal strokes and
            several vehicle body oscillations, enough to tell gait from ride.
        hop_s: Window hop in seconds: a decision every 5 s ("every few seconds"), 50 % overlap.
    """

    fs_hz: float = 25.0
    max_gap_s: float = 1.0
    gravity_cutoff_hz: float = 0.3
    band_low_hz: float = 0.3
    band_high_hz: float = 10.0
    filter_order: int = 2
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    window_s: float = 10.0
    hop_s: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.fs_hz <= 0:
            raise InputError(f"fs_hz must be > 0, got {self.fs_hz!r}")
        unknown = [c for c in self.channels if c not in CHANNELS]
        if unknown or not self.channels:
            raise InputError(f"unknown channel names {unknown}; known: {sorted(CHANNELS)}")
        nyq = self.fs_hz / 2
        if not 0 < self.gravity_cutoff_hz < nyq:
            raise InputError(f"gravity_cutoff_hz must be in (0, {nyq:g}) Hz, got {self.gravity_cutoff_hz!r}")
        if not 0 < self.band_low_hz < self.band_high_hz < nyq:
            raise InputError(
                f"need 0 < band_low_hz < band_high_hz < {nyq:g} Hz, got {self.band_low_hz!r}, {self.band_high_hz!r}"
            )
        if self.window_len < 2 or self.hop_len < 1 or self.hop_len > self.window_len:
            raise InputError(
                f"need window_s ≥ 2 samples and 1 sample ≤ hop_s ≤ window_s, got window_s={self.window_s!r}, hop_s={self.hop_s!r}"
            )
        if self.max_gap_s < 2 / self.fs_hz:
            raise InputError(f"max_gap_s must be ≥ two grid steps ({2 / self.fs_hz:g} s), got {self.max_gap_s!r}")

    @property
    def window_len(self) -> int:
        """Window length in samples."""
        return int(round(self.window_s * self.fs_hz))

    @property
    def hop_len(self) -> int:
        """Hop in samples."""
        return int(round(self.hop_s * self.fs_hz))

    @property
    def needs_gyro(self) -> bool:
        """Whether any channel is computed from the gyroscope."""
        return any(c in GYRO_CHANNELS for c in self.channels)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PreprocessConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InputError(f"unknown preprocessing parameters {unknown}; known: {sorted(names)}")
        return cls(**d)
