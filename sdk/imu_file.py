"""Read, write and validate ``momentsense-imu-v1`` HDF5 files (``docs/formats.md``).

h5py is imported lazily, inside the functions: the phone has none (no python-for-android recipe)
and replaying HDF5 files is a desktop feature. Without it the functions raise
:class:`MissingDependencyError` saying ``pip install h5py``.

Writing validates first and is atomic (a temporary file in the destination folder, then a rename),
so a crash or Ctrl-C never leaves half a file. Reading checks every group against the format and
raises one :class:`~sdk.errors.FormatError` listing the problems, each naming the file, the group
and the field (and the index for a bad value). :func:`validate_imu` returns the same problems
as a list instead of raising.

momentsense extensions (optional; a reader that does not know them can ignore them):

* ``/recordings/<id>/gyro_t`` float64 ``(K,)`` seconds: the gyroscope's own timestamps when it
  does not share the accelerometer's clock (real phones, WISDM); ``gyro`` then has shape ``(K, 3)``.
* ``/events/<id>`` with ``start_s``, ``end_s`` (float64 ``(E,)`` seconds, same clock as the
  recording ``<id>``) and ``label`` (int16 ``(E,)``, index into ``label_names``): labelled
  intervals such as harsh-driving events (``ImuRecording.events``).
* Extra root attributes (licence, citation, ...; ``ImuDataset.attrs``): strings and numbers are
  stored as plain attributes, anything else as JSON text; the root attribute ``json_attrs`` (a JSON
  list) names the ones stored as JSON so that they read back as the original lists/dicts.
* Recording groups are written with creation order tracked, so they read back in written order.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import FormatError, MomentsenseError
from momentsense.sdk.io.imu_validate import (  # noqa: F401 (validate_* are part of this module's public API)
    EVENT_FIELDS,
    RESERVED_ATTRS,
    _is_plain,
    _json_default,
    validate_dataset,
    validate_recording,
    validate_windows,
)
from momentsense.sdk.records import GpsTrack, ImuDataset, ImuRecording, WindowSet

FORMAT = "momentsense-imu-v1"

#: Maximum number of problems quoted in one exception message.
MAX_PROBLEMS_IN_MESSAGE = 8


class MissingDependencyError(MomentsenseError, ImportError):
    """An optional dependency (h5py) is needed for this desktop feature."""


def _h5py():
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError(
            "reading or writing momentsense-imu-v1 HDF5 files needs h5py, which is not installed "
            "(replay from HDF5 is a desktop feature): pip install h5py"
        ) from None
    return h5py


# --------------------------------------------------------------------------------------------
# Validation of in-memory records (used before writing and after reading)
# --------------------------------------------------------------------------------------------


def _message(path, problems: list[str], prefix: str = "") -> str:
    shown = problems[:MAX_PROBLEMS_IN_MESSAGE]
    more = len(problems) - len(shown)
    return f"{path}: {prefix}" + "; ".join(shown) + (f"; and {more} more problem(s)" if more > 0 else "")


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _put(group, name: str, data, dtype, compress: bool = False) -> None:
    a = np.asarray(data, dtype)
    kw = dict(compression="gzip", shuffle=True) if compress and a.size else {}
    group.create_dataset(name, data=a, **kw)


def _write_content(f, dataset: ImuDataset, h5py) -> None:
    f.attrs["format"] = FORMAT
    f.attrs["label_names"] = json.dumps(list(dataset.label_names))
    f.attrs["source"] = dataset.source
    json_keys = []
    for key, value in dataset.attrs.items():
        if _is_plain(value):
            f.attrs[key] = value.item() if isinstance(value, np.generic) else value
        else:
            f.attrs[key] = json.dumps(value, default=_json_default)
            json_keys.append(key)
    if json_keys:
        f.attrs["json_attrs"] = json.dumps(json_keys)
    rg = f.create_group("recordings", track_order=True)
    for rec in dataset.recordings:
        g = rg.create_group(rec.id)
        _put(g, "t", rec.t, np.float64)
        _put(g, "acc", rec.acc, np.float32, compress=True)
        if rec.gyro is not None:
            _put(g, "gyro", rec.gyro, np.float32, compress=True)
        if rec.gyro_t is not None:
            _put(g, "gyro_t", rec.gyro_t, np.float64)
        if rec.label is not None:
            _put(g, "label", rec.label, np.int16, compress=True)
        g.attrs["subject"] = rec.subject
        if rec.device:
            g.attrs["device"] = rec.device
        if rec.placement:
            g.attrs["placement"] = rec.placement
        if rec.gps is not None:
            gg = f.require_group("gps").create_group(rec.id)
            _put(gg, "t", rec.gps.t, np.float64)
            _put(gg, "lat", rec.gps.lat, np.float64)
            _put(gg, "lon", rec.gps.lon, np.float64)
            for name in ("accuracy_m", "speed_mps"):
                if getattr(rec.gps, name) is not None:
                    _put(gg, name, getattr(rec.gps, name), np.float32)
        if rec.events is not None:
            eg = f.require_group("events").create_group(rec.id)
            _put(eg, "start_s", rec.events["start_s"], np.float64)
            _put(eg, "end_s", rec.events["end_s"], np.float64)
            _put(eg, "label", rec.events["label"], np.int16)
    if dataset.windows is not None:
        w = dataset.windows
        wg = f.create_group("windows")
        wg.attrs["sampling_hz"] = float(w.sampling_hz)
        _put(wg, "acc", w.acc, np.float32, compress=True)
        if w.gyro is not None:
            _put(wg, "gyro", w.gyro, np.float32, compress=True)
        _put(wg, "label", w.label, np.int16)
        subj = np.asarray(w.subject)
        if subj.dtype.kind in "iu":
            wg.create_dataset("subject", data=subj.astype(np.int64))
        else:
            wg.create_dataset("subject", data=[str(s) for s in subj.tolist()], dtype=h5py.string_dtype())


def write_imu(path: str | os.PathLike, dataset: ImuDataset) -> Path:
    """Validate ``dataset`` and write it atomically as a ``momentsense-imu-v1`` HDF5 file.

    Parameters
    ----------
    path : str or path-like
        Destination ``.h5`` file; replaced if it exists, its folder created if missing.
    dataset : ImuDataset
        Times in seconds, acceleration in m/s² (with gravity), angular rate in rad/s. Arrays are
        cast to the file's dtypes (float64 times, float32 signals, int16 labels).

    Returns
    -------
    path : Path
        The file written.

    Raises
    ------
    FormatError
        The dataset breaks the format (the message lists the problems); nothing is written.
    MissingDependencyError
        h5py is not installed.

    Notes
    -----
    The file is written to a temporary name in the destination folder, flushed to disk and then
    renamed over ``path``; on any error (including Ctrl-C) the temporary file is removed and an
    existing ``path`` is left untouched.
    """
    path = Path(path)
    problems = validate_dataset(dataset)
    if problems:
        raise FormatError(_message(path, problems, "not written, the dataset is invalid: "))
    h5py = _h5py()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w", track_order=True) as f:
            _write_content(f, dataset, h5py)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

#: (dataset name, exact dtype, required) for each group type.
_RECORDING_FIELDS = (("t", np.float64, True), ("acc", np.float32, True), ("gyro", np.float32, False),
                     ("gyro_t", np.float64, False), ("label", np.int16, False))  # fmt: skip
_GPS_FIELDS = (("t", np.float64, True), ("lat", np.float64, True), ("lon", np.float64, True),
               ("accuracy_m", np.float32, False), ("speed_mps", np.float32, False))  # fmt: skip
_EVENT_FIELDS = (("start_s", np.float64, True), ("end_s", np.float64, True), ("label", np.int16, True))
_WINDOW_FIELDS = (("acc", np.float32, True), ("gyro", np.float32, False), ("label", np.int16, True))


def _text(v) -> str:
    if isinstance(v, (bytes, np.bytes_)):
        return v.decode("utf-8", "replace")
    return str(v)


def _read_fields(group, fields, where: str, problems: list[str], h5py) -> dict:
    """Read the datasets of one group, checking presence and exact dtype."""
    out = {}
    for name, dtype, required in fields:
        if name not in group:
            if required:
                problems.append(f"{where}: missing dataset {name!r}")
            continue
        node = group[name]
        if not isinstance(node, h5py.Dataset):
            problems.append(f"{where}/{name}: must be a dataset, got a group")
            continue
        if node.dtype != np.dtype(dtype):
            problems.append(f"{where}/{name}: dtype must be {np.dtype(dtype)}, got {node.dtype}")
            continue
        out[name] = node[()]
    return out


def _read_attrs(f, problems: list[str]) -> tuple[Optional[list], str, dict]:
    fmt = f.attrs.get("format")
    if fmt is None:
        problems.append(f"/: root attribute 'format' is missing (must be {FORMAT!r})")
        return None, "", {}
    if _text(fmt) != FORMAT:
        problems.append(f"/: root attribute 'format' must be {FORMAT!r}, got {_text(fmt)!r}")
        return None, "", {}
    label_names = None
    if "label_names" not in f.attrs:
        problems.append("/: root attribute 'label_names' is missing")
    else:
        raw = _text(f.attrs["label_names"])
        try:
            label_names = json.loads(raw)
        except json.JSONDecodeError:
            label_names = None
        if not isinstance(label_names, list) or not all(isinstance(x, str) for x in label_names):
            problems.append(f"/: root attribute 'label_names' must be a JSON list of str, got {raw[:80]!r}")
            label_names = None
    if "source" not in f.attrs:
        problems.append("/: root attribute 'source' is missing")
    source = _text(f.attrs.get("source", ""))
    json_keys = []
    if "json_attrs" in f.attrs:
        try:
            json_keys = json.loads(_text(f.attrs["json_attrs"]))
        except json.JSONDecodeError:
            problems.append("/: root attribute 'json_attrs' must be a JSON list of attribute names")
    attrs = {}
    for key, value in f.attrs.items():
        if key in RESERVED_ATTRS:
            continue
        if key in json_keys:
            try:
                attrs[key] = json.loads(_text(value))
            except json.JSONDecodeError:
                problems.append(f"/: root attribute {key!r} is listed in 'json_attrs' but is not JSON")
        elif isinstance(value, (bytes, np.bytes_, str)):
            attrs[key] = _text(value)
        elif isinstance(value, np.generic):
            attrs[key] = value.item()
        elif isinstance(value, np.ndarray):
            attrs[key] = [_text(x) if isinstance(x, bytes) else x for x in value.tolist()]
        else:
            attrs[key] = value
    return label_names, source, attrs


def _read_recording(f, rid: str, group, problems: list[str], h5py) -> Optional[ImuRecording]:
    where = f"/recordings/{rid}"
    if not isinstance(group, h5py.Group):
        problems.append(f"{where}: must be a group, got a dataset")
        return None
    n0 = len(problems)
    d = _read_fields(group, _RECORDING_FIELDS, where, problems, h5py)
    gps = events = None
    if "gps" in f and rid in f["gps"]:
        g = _read_fields(f["gps"][rid], _GPS_FIELDS, f"/gps/{rid}", problems, h5py)
        if all(k in g for k in ("t", "lat", "lon")):
            gps = GpsTrack(g["t"], g["lat"], g["lon"], g.get("accuracy_m"), g.get("speed_mps"))
    if "events" in f and rid in f["events"]:
        e = _read_fields(f["events"][rid], _EVENT_FIELDS, f"/events/{rid}", problems, h5py)
        if len(e) == len(_EVENT_FIELDS):
            events = e
    if len(problems) > n0 or "t" not in d or "acc" not in d:
        return None
    return ImuRecording(
        id=rid, t=d["t"], acc=d["acc"], gyro=d.get("gyro"), label=d.get("label"),
        subject=_text(group.attrs.get("subject", "")), device=_text(group.attrs.get("device", "")),
        placement=_text(group.attrs.get("placement", "")), gps=gps, gyro_t=d.get("gyro_t"), events=events,
    )  # fmt: skip


def _read_windows(wg, problems: list[str], h5py) -> Optional[WindowSet]:
    n0 = len(problems)
    d = _read_fields(wg, _WINDOW_FIELDS, "/windows", problems, h5py)
    subj = None
    if "subject" not in wg:
        problems.append("/windows: missing dataset 'subject'")
    else:
        raw = wg["subject"][()]
        if raw.dtype.kind in "iu":
            subj = np.array([str(s) for s in raw.tolist()], dtype=object)
        elif raw.dtype.kind in "OSU":
            subj = np.array([_text(s) for s in raw.tolist()], dtype=object)
        else:
            problems.append(f"/windows/subject: must be str or int, got dtype {raw.dtype}")
    hz = wg.attrs.get("sampling_hz")
    if hz is None:
        problems.append("/windows: attribute 'sampling_hz' is missing")
    if len(problems) > n0:
        return None
    return WindowSet(d["acc"], d["label"], subj, float(hz), d.get("gyro"))


def _load(path: Path) -> tuple[Optional[ImuDataset], list[str]]:
    """Read what can be read and collect every problem (without the file prefix)."""
    h5py = _h5py()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        return None, [f"not a readable HDF5 file ({exc})"]
    problems: list[str] = []
    with f:
        label_names, source, attrs = _read_attrs(f, problems)
        if label_names is None:
            return None, problems
        recordings = []
        if "recordings" in f:
            for rid, g in f["recordings"].items():
                rec = _read_recording(f, rid, g, problems, h5py)
                if rec is not None:
                    recordings.append(rec)
        for extra in ("gps", "events"):
            for rid in f[extra].keys() if extra in f else []:
                if "recordings" not in f or rid not in f["recordings"]:
                    problems.append(f"/{extra}/{rid}: no recording /recordings/{rid} with this id")
        windows = _read_windows(f["windows"], problems, h5py) if "windows" in f else None
    ds = ImuDataset(label_names, source, recordings, windows, attrs)
    problems += validate_dataset(ds)
    return ds, problems


def read_imu(path: str | os.PathLike) -> ImuDataset:
    """Read and validate a ``momentsense-imu-v1`` file.

    Parameters
    ----------
    path : str or path-like
        The ``.h5`` file.

    Returns
    -------
    dataset : ImuDataset
        Recordings in the order they were written (alphabetical for files written without
        creation order), with GPS tracks, ``gyro_t`` and events attached to their recording.

    Raises
    ------
    FileNotFoundError
        No such file.
    FormatError
        Not HDF5, wrong or missing ``format``/``label_names`` attribute, a missing dataset, a
        wrong dtype or shape, a label outside ``label_names``; the message names the file, the
        group and the field.
    MissingDependencyError
        h5py is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    ds, problems = _load(path)
    if problems:
        raise FormatError(_message(path, problems))
    return ds


def validate_imu(path: str | os.PathLike) -> list[str]:
    """Problems found in a ``momentsense-imu-v1`` file; an empty list means valid.

    Each problem is one line naming the file, the group and the field, e.g.
    ``data.h5: /recordings/a/label: value 7 at index 5 is outside label_names (0..1 or -1); 1 such value(s)``.
    Never raises for a bad or missing file (only :class:`MissingDependencyError` without h5py).
    """
    path = Path(path)
    if not path.is_file():
        return [f"{path}: no such file"]
    _, problems = _load(path)
    return [f"{path}: {p}" for p in problems]
