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
    g_norm = _norm(gravity)[:, None]
    g_unit = gravity / np.maximum(g_norm, 1e-6)
    cache: dict[str, np.ndarray] = {}

    def lin_vert() -> np.ndarray:
        if "lin_vert" not in cache:
            cache["lin_vert"] = np.einsum("ij,ij->i", lin, g_unit)
        return cache["lin_vert"]

    out = np.empty((len(acc), len(names)), dtype=np.float32)
    sources = {"acc_": acc, "grav_": gravity, "lin_": lin, "gyro_": gyro}
    for i, name, width in _plan(tuple(names)):
        if width == 3:  # x, y, z of one source side by side: one copy
            out[:, i:i + 3] = sources[name[:-1]]
        elif name[:-1] in sources and name[-1] in "xyz":
            out[:, i] = sources[name[:-1]][:, "xyz".index(name[-1])]
        elif name == "acc_norm":
            out[:, i] = _norm(acc) - STANDARD_GRAVITY_MPS2
        elif name == "lin_vert":
            out[:, i] = lin_vert()
        elif name == "lin_horiz":
            out[:, i] = _norm(lin - lin_vert()[:, None] * g_unit)
        elif name == "gyro_norm":
            out[:, i] = _norm(gyro)
        elif name == "gyro_vert":
            out[:, i] = np.einsum("ij,ij->i", gyro, g_unit)
        else:
            raise InputError(f"unknown channel {name!r}; known: {sorted(CHANNELS)}")
    return out


def _norm(x: np.ndarray) -> np.ndarray:
    """Row norms: ``np.linalg.norm(x, axis=1)`` by its own arithmetic (sqrt of the summed squares),
    without its generic dispatch."""
    return np.sqrt(np.add.reduce(x * x, axis=1))


_PLANS: dict = {}


def _plan(names: tuple) -> list:
    """``(column, name, width)`` per output: width 3 where ``<src>_x, <src>_y, <src>_z`` follow each other."""
    plan = _PLANS.get(names)
    if plan is None:
        plan, i = [], 0
        while i < len(names):
            n = names[i]
            if n.endswith("_x") and names[i + 1:i + 3] == (n[:-1] + "y", n[:-1] + "z") and n[:-1] in ("acc_", "grav_", "lin_", "gyro_"):
                plan.append((i, n, 3))
                i += 3
            else:
                plan.append((i, n, 1))
                i += 1
        _PLANS[names] = plan
    return plan
