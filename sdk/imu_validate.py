"""Validation of in-memory ``momentsense-imu-v1`` records (shapes, dtypes, labels, GPS, events).

Used by :mod:`sdk.io.imu_file` before writing and after reading, and usable on its own: each function
returns the list of problems found (empty = valid), every problem naming the group and the field.
"""

from __future__ import annotations

import json
import numbers
from typing import Optional

import numpy as np

from momentsense.sdk.records import GpsTrack, ImuDataset, ImuRecording, WindowSet

#: Keys of ``ImuRecording.events``.
EVENT_FIELDS = ("start_s", "end_s", "label")
#: Root attributes with a meaning in the format; ``ImuDataset.attrs`` may not use these names.
RESERVED_ATTRS = ("format", "label_names", "source", "json_attrs")


def _is_plain(value) -> bool:
    """Stored as a plain HDF5 attribute (str, bool, int, float) rather than JSON text."""
    return isinstance(value, (str, bool, np.bool_)) or (isinstance(value, numbers.Real) and not isinstance(value, np.ndarray))


def _json_default(value):
    """numpy arrays and scalars inside attribute values are stored as JSON lists and numbers."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

def _numeric(x, where: str, kinds: str = "fiu") -> tuple[Optional[np.ndarray], list[str]]:
    """``x`` as an array if its dtype kind is one of ``kinds``, else a problem."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:
        return None, [f"{where}: not an array ({exc})"]
    if a.dtype.kind not in kinds:
        want = "integer" if kinds == "iu" else "numeric"
        return None, [f"{where}: must be {want}, got dtype {a.dtype}"]
    return a, []


def _check_labels(lab: np.ndarray, n_labels: int, where: str, allow_unknown: bool = True) -> list[str]:
    low = -1 if allow_unknown else 0
    bad = np.flatnonzero((lab < low) | (lab >= n_labels))
    if not len(bad):
        return []
    allowed = f"0..{n_labels - 1}" + (" or -1" if allow_unknown else "")
    return [f"{where}: value {int(lab[bad[0]])} at index {int(bad[0])} is outside label_names ({allowed}); "
            f"{len(bad)} such value(s)"]  # fmt: skip


def _check_gps(gps: GpsTrack, where: str) -> list[str]:
    t, out = _numeric(gps.t, f"{where}/t")
    if t is None:
        return out
    if t.ndim != 1:
        return [f"{where}/t: must have shape (M,), got {t.shape}"]
    m = len(t)
    for name, required in (("lat", True), ("lon", True), ("accuracy_m", False), ("speed_mps", False)):
        v = getattr(gps, name)
        if v is None:
            if required:
                out.append(f"{where}/{name}: missing")
            continue
        a, probs = _numeric(v, f"{where}/{name}")
        out += probs
        if a is not None and a.shape != (m,):
            out.append(f"{where}/{name}: must have shape ({m},) to match t, got {a.shape}")
        elif a is not None and name in ("lat", "lon"):
            limit = 90.0 if name == "lat" else 180.0
            bad = np.flatnonzero(np.abs(a) > limit)
            if len(bad):
                out.append(f"{where}/{name}: value {float(a[bad[0]])} at index {int(bad[0])} is not WGS84 degrees "
                           f"(|{name}| <= {limit:g})")  # fmt: skip
    return out


def _check_events(events, n_labels: int, where: str) -> list[str]:
    if not isinstance(events, dict):
        return [f"{where}: must be a dict with keys {list(EVENT_FIELDS)}, got {type(events).__name__}"]
    if sorted(events) != sorted(EVENT_FIELDS):
        return [f"{where}: must have exactly the keys {list(EVENT_FIELDS)}, got {sorted(events)}"]
    out, arrays = [], {}
    for name in EVENT_FIELDS:
        a, probs = _numeric(events[name], f"{where}/{name}", "iu" if name == "label" else "fiu")
        out += probs
        if a is not None and a.ndim != 1:
            out.append(f"{where}/{name}: must have shape (E,), got {a.shape}")
        elif a is not None:
            arrays[name] = a
    if out:
        return out
    e = len(arrays["start_s"])
    for name in ("end_s", "label"):
        if len(arrays[name]) != e:
            out.append(f"{where}/{name}: must have shape ({e},) to match start_s, got {arrays[name].shape}")
    if out:
        return out
    bad = np.flatnonzero(~(arrays["end_s"] >= arrays["start_s"]))
    if len(bad):
        i = int(bad[0])
        out.append(f"{where}/end_s: value {arrays['end_s'][i]} at index {i} is before start_s {arrays['start_s'][i]}")
    return out + _check_labels(arrays["label"], n_labels, f"{where}/label", allow_unknown=False)


def validate_recording(rec: ImuRecording, label_names: list[str], where: Optional[str] = None) -> list[str]:
    """Everything wrong with one recording (empty list = valid).

    Parameters
    ----------
    rec : ImuRecording
        ``t`` seconds ``(N,)``, ``acc`` m/s² ``(N, 3)``, ``gyro`` rad/s ``(N, 3)`` or ``(K, 3)``
        with ``gyro_t`` seconds ``(K,)``, ``label`` integer ``(N,)``, optional GPS and events.
    label_names : list of str
        The file's class names; labels must index into it (or be -1 = unknown).
    where : str, optional
        Group named in the messages; default ``/recordings/<id>``.

    Returns
    -------
    problems : list of str
        One line per problem: ``<group>/<field>: <rule>, got <value>``. Shapes and value ranges
        are checked; dtypes only for kind (numeric, integer labels): writing casts to the file's
        dtypes, reading checks them exactly (see :func:`read_imu`).
    """
    rid = rec.id if isinstance(rec.id, str) else None
    where = where or f"/recordings/{rec.id}"
    out = []
    if not rid or "/" in rid or rid in (".", ".."):
        out.append(f"{where}: id {rec.id!r} must be a non-empty str without '/'")
    for name in ("subject", "device", "placement"):
        if not isinstance(getattr(rec, name), str):
            out.append(f"{where}: attribute {name} must be a str, got {type(getattr(rec, name)).__name__}")
    t, probs = _numeric(rec.t, f"{where}/t")
    if t is None:
        return out + probs
    if t.ndim != 1:
        return out + [f"{where}/t: must have shape (N,), got {t.shape}"]
    n = len(t)
    acc, probs = _numeric(rec.acc, f"{where}/acc")
    out += probs
    if acc is not None and acc.shape != (n, 3):
        out.append(f"{where}/acc: must have shape ({n}, 3) to match t, got {acc.shape}")
    k, clock = n, "t"
    if rec.gyro_t is not None:
        gt, probs = _numeric(rec.gyro_t, f"{where}/gyro_t")
        out += probs
        if gt is not None and gt.ndim != 1:
            out.append(f"{where}/gyro_t: must have shape (K,), got {gt.shape}")
        elif gt is not None:
            k, clock = len(gt), "gyro_t"
        if rec.gyro is None:
            out.append(f"{where}/gyro_t: is set but gyro is None")
    if rec.gyro is not None:
        gyro, probs = _numeric(rec.gyro, f"{where}/gyro")
        out += probs
        if gyro is not None and gyro.shape != (k, 3):
            out.append(f"{where}/gyro: must have shape ({k}, 3) to match {clock}, got {gyro.shape}")
    if rec.label is not None:
        lab, probs = _numeric(rec.label, f"{where}/label", "iu")
        out += probs
        if lab is not None and lab.shape != (n,):
            out.append(f"{where}/label: must have shape ({n},) to match t, got {lab.shape}")
        elif lab is not None:
            out += _check_labels(lab, len(label_names), f"{where}/label")
    if rec.gps is not None:
        out += _check_gps(rec.gps, where.replace("/recordings/", "/gps/", 1))
    if rec.events is not None:
        out += _check_events(rec.events, len(label_names), where.replace("/recordings/", "/events/", 1))
    return out


def validate_windows(w: WindowSet, label_names: list[str], where: str = "/windows") -> list[str]:
    """Everything wrong with a window set (empty list = valid); see :func:`validate_recording`."""
    out = []
    lab, probs = _numeric(w.label, f"{where}/label", "iu")
    out += probs
    if lab is None or lab.ndim != 1:
        return out + ([] if lab is None else [f"{where}/label: must have shape (W,), got {lab.shape}"])
    n = len(lab)
    acc, probs = _numeric(w.acc, f"{where}/acc")
    out += probs
    if acc is not None and (acc.ndim != 3 or acc.shape[0] != n or acc.shape[2] != 3):
        out.append(f"{where}/acc: must have shape ({n}, L, 3) to match label, got {acc.shape}")
    if w.gyro is not None:
        gyro, probs = _numeric(w.gyro, f"{where}/gyro")
        out += probs
        if gyro is not None and acc is not None and gyro.shape != acc.shape:
            out.append(f"{where}/gyro: must have the shape of acc {acc.shape}, got {gyro.shape}")
    subj = np.asarray(w.subject)
    if subj.shape != (n,):
        out.append(f"{where}/subject: must have shape ({n},), got {subj.shape}")
    out += _check_labels(lab, len(label_names), f"{where}/label")
    if not isinstance(w.sampling_hz, numbers.Real) or not (np.isfinite(w.sampling_hz) and w.sampling_hz > 0):
        out.append(f"{where}: attribute sampling_hz must be a number > 0, got {w.sampling_hz!r}")
    return out


def validate_dataset(ds: ImuDataset) -> list[str]:
    """Everything wrong with an in-memory dataset (empty list = valid)."""
    names = ds.label_names
    if not isinstance(names, (list, tuple)) or not all(isinstance(x, str) for x in names):
        return [f"label_names: must be a list of str, got {names!r}"]
    out = []
    if len(set(names)) != len(names):
        out.append(f"label_names: must be unique, got {list(names)}")
    if not isinstance(ds.source, str):
        out.append(f"source: must be a str, got {type(ds.source).__name__}")
    if not isinstance(ds.attrs, dict):
        out.append(f"attrs: must be a dict, got {type(ds.attrs).__name__}")
    else:
        for key, value in ds.attrs.items():
            if not isinstance(key, str) or key in RESERVED_ATTRS:
                out.append(f"attrs: key {key!r} must be a str other than {list(RESERVED_ATTRS)}")
            elif not _is_plain(value):
                try:
                    json.dumps(value, default=_json_default)
                except (TypeError, ValueError) as exc:
                    out.append(f"attrs[{key!r}]: must be a str, number or JSON-serialisable value ({exc})")
    seen = set()
    for i, rec in enumerate(ds.recordings):
        if not isinstance(rec, ImuRecording):
            out.append(f"recordings[{i}]: must be an ImuRecording, got {type(rec).__name__}")
            continue
        if rec.id in seen:
            out.append(f"/recordings/{rec.id}: id used by more than one recording (index {i})")
        seen.add(rec.id)
        out += validate_recording(rec, list(names))
    if ds.windows is not None:
        out += validate_windows(ds.windows, list(names))
    return out
