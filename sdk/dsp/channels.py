"""Model input channels computed from acceleration, its gravity estimate and angular rate.

All inputs are on the same grid. ``acc`` is raw acceleration with gravity (m/s²), ``gravity`` its
low-pass estimate (m/s²), ``lin`` the band-passed dynamic acceleration (m/s²), ``gyro`` angular rate
(rad/s). "vert" means projected on the unit gravity direction, "horiz" the magnitude of what is left:
both are independent of how the phone is oriented.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import InputError
from momentsense.sdk.records import STANDARD_GRAVITY_MPS2

#: Every channel the pipeline can compute, with its unit.
CHANNELS: dict[str, str] = {
    "acc_x": "m/s²", "acc_y": "m/s²", "acc_z": "m/s²",
    "grav_x": "m/s²", "grav_y": "m/s²", "grav_z": "m/s²",
    "lin_x": "m/s²", "lin_y": "m/s²", "lin_z": "m/s²",
    "acc_norm": "m/s² (|acc| − g)", "lin_vert": "m/s²", "lin_horiz": "m/s²",
    "gyro_x": "rad/s", "gyro_y": "rad/s", "gyro_z": "rad/s",
    "gyro_norm": "rad/s", "gyro_vert": "rad/s",
}  # fmt: skip
GYRO_CHANNELS = frozenset({"gyro_x", "gyro_y", "gyro_z", "gyro_norm", "gyro_vert"})


def compute_channels(
    names: Sequence[str],
    acc: np.ndarray,
    gravity: np.ndarray,
    lin: np.ndarray,
    gyro: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Stack the named channels, shape ``(M, len(names))`` float32.

    Parameters
    ----------
    names : sequence of str
        Channel names from :data:`CHANNELS`.
    acc, gravity, lin : ndarray ``(M, 3)``
        Raw acceleration, gravity estimate and band-passed acceleration, m/s², device frame.
    gyro : ndarray ``(M, 3)``, optional
        Angular rate in rad/s; required by the gyro channels.
    """
    needs_gyro = [n for n in names if n in GYRO_CHANNELS]
    if needs_gyro and gyro is None:
        raise InputError(f"channels {needs_gyro} need a gyroscope stream, and none was given")
    g_norm = np.linalg.norm(gravity, axis=1, keepdims=True)
    g_unit = gravity / np.maximum(g_norm, 1e-6)
    cache: dict[str, np.ndarray] = {}

    def lin_vert() -> np.ndarray:
        if "lin_vert" not in cache:
            cache["lin_vert"] = np.einsum("ij,ij->i", lin, g_unit)
        return cache["lin_vert"]

    out = np.empty((len(acc), len(names)), dtype=np.float32)
    for i, name in enumerate(names):
        if name[:-1] in ("acc_", "grav_", "lin_", "gyro_") and name[-1] in "xyz":
            src = {"acc_": acc, "grav_": gravity, "lin_": lin, "gyro_": gyro}[name[:-1]]
            out[:, i] = src[:, "xyz".index(name[-1])]
        elif name == "acc_norm":
            out[:, i] = np.linalg.norm(acc, axis=1) - STANDARD_GRAVITY_MPS2
        elif name == "lin_vert":
            out[:, i] = lin_vert()
        elif name == "lin_horiz":
            out[:, i] = np.linalg.norm(lin - lin_vert()[:, None] * g_unit, axis=1)
        elif name == "gyro_norm":
            out[:, i] = np.linalg.norm(gyro, axis=1)
        elif name == "gyro_vert":
            out[:, i] = np.einsum("ij,ij->i", gyro, g_unit)
        else:
            raise InputError(f"unknown channel {name!r}; known: {sorted(CHANNELS)}")
    return out
