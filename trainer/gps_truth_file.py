"""GPS tracks with ground truth for the GPS stages: ``/gps/<id>`` + ``/truth/<id>`` (``stays``, ``legs``).

The layout of ``shared/docs/formats.md`` (``momentsense-imu-v1`` root attributes), for files that
carry GPS and its truth but no IMU recordings (the converted Aalto dataset, simulated days)::

    /gps/<id>/t, lat, lon [, accuracy_m, speed_mps]      unix s, WGS84 degrees, m, m/s
    /truth/<id>/stays/start, stays/end                   s, same clock as /gps/<id>/t
    /truth/<id>/legs/start, legs/end, legs/mode          s, s, str (the source's mode names)

Group attributes of ``/gps/<id>``: ``subject``, ``device`` (optional). Time outside every stay and
leg is unlabelled. :func:`read_gps_truth` reads any file with this layout (recordings, if any,
are ignored); :func:`write_gps_truth` writes one atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import GpsTrack

FORMAT = "momentsense-imu-v1"


def _h5py():
    from momentsense.sdk.errors import require_h5py

    return require_h5py("reading or writing GPS truth files")


@dataclasses.dataclass
class GpsTruth:
    """One person's (device's) GPS track and what really happened.

    Attributes:
        id: Track id (``/gps/<id>``).
        gps: The fixes.
        stay_start, stay_end: float64 ``(S,)`` s: when the person stayed at one place (may be empty).
        leg_start, leg_end: float64 ``(K,)`` s: legs of a trip with one mode.
        leg_mode: ``(K,)`` mode names as the source names them (``subway``, ``tram``, ...).
        subject, device: Who and which phone, or "".
    """

    id: str
    gps: GpsTrack
    stay_start: np.ndarray
    stay_end: np.ndarray
    leg_start: np.ndarray
    leg_end: np.ndarray
    leg_mode: list
    subject: str = ""
    device: str = ""


def write_gps_truth(path: str | os.PathLike, items: Sequence[GpsTruth], source: str, attrs: Optional[dict] = None) -> Path:
    """Write ``items`` to ``path`` (via a temporary file, renamed at the end). ``label_names`` = the
    legs' modes, sorted. ``attrs``: extra root attributes (str values)."""
    h5py = _h5py()
    path = Path(path)
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids) or not all(ids):
        raise FormatError(f"{path}: not written: track ids must be unique and non-empty, got {ids}")
    tmp = path.with_name(path.name + ".tmp")
    modes = sorted({m for it in items for m in it.leg_mode})
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        f.attrs["label_names"] = json.dumps(modes)
        f.attrs["source"] = source
        for k, v in (attrs or {}).items():
            f.attrs[k] = str(v)
        str_dt = h5py.string_dtype()
        for it in items:
            g = f.create_group(f"gps/{it.id}")
            g["t"] = np.asarray(it.gps.t, np.float64)
            g["lat"] = np.asarray(it.gps.lat, np.float64)
            g["lon"] = np.asarray(it.gps.lon, np.float64)
            if it.gps.accuracy_m is not None:
                g["accuracy_m"] = np.asarray(it.gps.accuracy_m, np.float32)
            if it.gps.speed_mps is not None:
                g["speed_mps"] = np.asarray(it.gps.speed_mps, np.float32)
            g.attrs["subject"] = it.subject
            g.attrs["device"] = it.device
            tr = f.create_group(f"truth/{it.id}")
            tr["stays/start"] = np.asarray(it.stay_start, np.float64)
            tr["stays/end"] = np.asarray(it.stay_end, np.float64)
            tr["legs/start"] = np.asarray(it.leg_start, np.float64)
            tr["legs/end"] = np.asarray(it.leg_end, np.float64)
            tr.create_dataset("legs/mode", data=np.asarray(list(it.leg_mode), dtype=object), dtype=str_dt)
    os.replace(tmp, path)
    return path


def _arr(g, name: str, path: Path, where: str) -> np.ndarray:
    if name not in g:
        raise FormatError(f"{path}: {where}: missing dataset {name!r}")
    return g[name][()]


def read_gps_truth(path: str | os.PathLike) -> list[GpsTruth]:
    """Every ``/gps/<id>`` that has a ``/truth/<id>``, checked.

    Raises
    ------
    FileNotFoundError
        No such file.
    FormatError
        Not HDF5, no ``/gps`` or ``/truth`` group, no track with truth, a missing dataset, lengths
        that differ, fix times that are not finite and increasing, a leg or stay ending before it
        starts (the message names the file and group).
    """
    from momentsense.trainer.loaders.common import open_h5

    path = Path(path)
    f = open_h5(path, "reading or writing GPS truth files")
    out = []
    with f:
        if "gps" not in f or "truth" not in f:
            raise FormatError(f"{path}: needs /gps/<id> and /truth/<id> groups (see shared/docs/formats.md); "
                              f"it has {sorted(f.keys())}")  # fmt: skip
        ids = sorted((k for k in f["gps"] if k in f["truth"]), key=lambda s: (len(s), s))
        if not ids:
            raise FormatError(f"{path}: no /gps/<id> has a /truth/<id>")
        for rid in ids:
            g, tr = f["gps"][rid], f["truth"][rid]
            where = f"/gps/{rid}"
            t, lat, lon = (np.asarray(_arr(g, k, path, where), np.float64) for k in ("t", "lat", "lon"))
            acc = np.asarray(g["accuracy_m"][()], np.float32) if "accuracy_m" in g else None
            spd = np.asarray(g["speed_mps"][()], np.float32) if "speed_mps" in g else None
            if not (len(lat) == len(lon) == len(t)) or any(a is not None and len(a) != len(t) for a in (acc, spd)):
                raise FormatError(f"{path}: {where}: t, lat, lon (and accuracy_m, speed_mps) must have the same length")
            if len(t) and (not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0)):
                raise FormatError(f"{path}: {where}/t: must be finite and strictly increasing")
            parts = {}
            for name in ("stays/start", "stays/end", "legs/start", "legs/end"):
                parts[name] = np.asarray(_arr(tr, name, path, f"/truth/{rid}"), np.float64)
            modes = [m.decode() if isinstance(m, bytes) else str(m) for m in _arr(tr, "legs/mode", path, f"/truth/{rid}")]
            for kind in ("stays", "legs"):
                s, e = parts[f"{kind}/start"], parts[f"{kind}/end"]
                if len(s) != len(e) or (kind == "legs" and len(modes) != len(s)):
                    raise FormatError(f"{path}: /truth/{rid}/{kind}: start, end (and mode) must have the same length")
                if np.any(~np.isfinite(s) | ~np.isfinite(e) | (e < s)):
                    raise FormatError(f"{path}: /truth/{rid}/{kind}: every interval needs finite start <= end")
            out.append(GpsTruth(rid, GpsTrack(t, lat, lon, acc, spd), parts["stays/start"], parts["stays/end"],
                                parts["legs/start"], parts["legs/end"], modes,
                                str(g.attrs.get("subject", "")), str(g.attrs.get("device", ""))))  # fmt: skip
    return out
