"""Read, write and validate ``momentsense-imu-v1`` HDF5 files (``docs/formats.md``).

h5py is imported lazily: the phone has none (no python-for-android recipe), and replaying HDF5
files is a desktop feature. Writing validates first and is atomic (temp file + rename), so a crash
never leaves half a file. Every validation problem is a :class:`~sdk.errors.FormatError` naming the
file, the group and the field.

momentsense extensions (optional, ignored by readers that do not know them): ``gyro_t`` in a
recording group, for a gyroscope with its own clock (real phones, WISDM); ``/events/<id>`` with
``start_s``, ``end_s`` (float64) and ``kind`` (int16 index into the root attribute
``event_names``), for labelled intervals such as harsh-driving events.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from sdk.errors import FormatError
from sdk.records import GpsTrack, ImuDataset, ImuRecording, WindowSet

FORMAT = "momentsense-imu-v1"


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - depends on the install
        raise FormatError(
            "reading/writing momentsense-imu-v1 files needs h5py (a desktop feature): pip install h5py"
        ) from None
    return h5py


def _problems_recording(rec: ImuRecording, n_labels: int, where: str) -> list[str]:
    out = []
    t = np.asarray(rec.t)
    acc = np.asarray(rec.acc)
    if t.ndim != 1:
        out.append(f"{where}/t: must have shape (N,), got {t.shape}")
        return out
    if acc.shape != (len(t), 3):
        out.append(f"{where}/acc: must have shape ({len(t)}, 3) to match t, got {acc.shape}")
    gt = len(t) if rec.gyro_t is None else len(np.asarray(rec.gyro_t))
    if rec.gyro_t is not None and np.asarray(rec.gyro_t).ndim != 1:
        out.append(f"{where}/gyro_t: must have shape (K,), got {np.asarray(rec.gyro_t).shape}")
    if rec.gyro is not None and np.asarray(rec.gyro).shape != (gt, 3):
        what = "gyro_t" if rec.gyro_t is not None else "t"
        out.append(f"{where}/gyro: must have shape ({gt}, 3) to match {what}, got {np.asarray(rec.gyro).shape}")
    if rec.label is not None:
        lab = np.asarray(rec.label)
        if lab.shape != t.shape:
            out.append(f"{where}/label: must have shape ({len(t)},) to match t, got {lab.shape}")
        elif len(lab):
            bad = np.flatnonzero((lab < -1) | (lab >= n_labels))
            if len(bad):
                out.append(f"{where}/label: value {int(lab[bad[0]])} at index {int(bad[0])} is outside label_names (0..{n_labels - 1}, or -1)")
    if rec.gps is not None:
        g = rec.gps
        m = len(np.asarray(g.t))
        for name in ("lat", "lon", "accuracy_m", "speed_mps"):
            v = getattr(g, name)
            if v is not None and np.asarray(v).shape != (m,):
                out.append(f"{where.replace('recordings', 'gps')}/{name}: must have shape ({m},), got {np.asarray(v).shape}")
    return out


def dataset_problems(ds: ImuDataset) -> list[str]:
    """Everything wrong with an in-memory dataset (empty list = valid)."""
    out = []
    if not isinstance(ds.label_names, (list, tuple)) or not all(isinstance(x, str) for x in ds.label_names):
        out.append(f"label_names: must be a list of str, got {ds.label_names!r}")
        return out
    n = len(ds.label_names)
    ids = [r.id for r in ds.recordings]
    if len(set(ids)) != len(ids):
        out.append("recordings: ids must be unique")
    for rec in ds.recordings:
        if not rec.id or "/" in rec.id:
            out.append(f"recordings: id {rec.id!r} must be a non-empty name without '/'")
            continue
        out += _problems_recording(rec, n, f"/recordings/{rec.id}")
    if ds.windows is not None:
        w = ds.windows
        acc = np.asarray(w.acc)
        W = len(np.asarray(w.label))
        if acc.ndim != 3 or acc.shape[0] != W or acc.shape[2] != 3:
            out.append(f"/windows/acc: must have shape ({W}, L, 3), got {acc.shape}")
        if w.gyro is not None and np.asarray(w.gyro).shape != acc.shape:
            out.append(f"/windows/gyro: must have the shape of acc {acc.shape}, got {np.asarray(w.gyro).shape}")
        if np.asarray(w.subject).shape != (W,):
            out.append(f"/windows/subject: must have shape ({W},), got {np.asarray(w.subject).shape}")
        lab = np.asarray(w.label)
        if len(lab) and np.any((lab < -1) | (lab >= n)):
            out.append(f"/windows/label: values must be in 0..{n - 1} or -1")
        if not (np.isfinite(w.sampling_hz) and w.sampling_hz > 0):
            out.append(f"/windows: attribute sampling_hz must be > 0, got {w.sampling_hz!r}")
    return out


def write_imu(path: str | os.PathLike, dataset: ImuDataset, events: Optional[dict] = None) -> Path:
    """Validate ``dataset`` and write it atomically as ``momentsense-imu-v1``.

    Parameters
    ----------
    path : path
        Destination ``.h5`` file (replaced if it exists).
    dataset : ImuDataset
    events : dict, optional
        ``{"names": [...], recording_id: (start_s, end_s, kind), ...}`` labelled intervals
        (the ``/events`` extension).

    Raises
    ------
    FormatError
        The dataset breaks the format; nothing is written.
    """
    problems = dataset_problems(dataset)
    if problems:
        raise FormatError(f"{path}: not written, the dataset is invalid: " + "; ".join(problems[:5]))
    h5py = _h5py()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".h5.tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["label_names"] = json.dumps(list(dataset.label_names))
            f.attrs["source"] = dataset.source
            for k, v in dataset.attrs.items():
                f.attrs[k] = v if isinstance(v, (str, int, float)) else json.dumps(v)
            rg = f.create_group("recordings")
            for rec in dataset.recordings:
                g = rg.create_group(rec.id)
                g.create_dataset("t", data=np.asarray(rec.t, np.float64))
                g.create_dataset("acc", data=np.asarray(rec.acc, np.float32), compression="gzip", shuffle=True)
                if rec.gyro is not None:
                    g.create_dataset("gyro", data=np.asarray(rec.gyro, np.float32), compression="gzip", shuffle=True)
                if rec.gyro_t is not None:
                    g.create_dataset("gyro_t", data=np.asarray(rec.gyro_t, np.float64))
                if rec.label is not None:
                    g.create_dataset("label", data=np.asarray(rec.label, np.int16), compression="gzip")
                g.attrs["subject"] = str(rec.subject)
                g.attrs["device"] = str(rec.device)
                g.attrs["placement"] = str(rec.placement)
                if rec.gps is not None:
                    gg = f.require_group("gps").create_group(rec.id)
                    gg.create_dataset("t", data=np.asarray(rec.gps.t, np.float64))
                    gg.create_dataset("lat", data=np.asarray(rec.gps.lat, np.float64))
                    gg.create_dataset("lon", data=np.asarray(rec.gps.lon, np.float64))
                    if rec.gps.accuracy_m is not None:
                        gg.create_dataset("accuracy_m", data=np.asarray(rec.gps.accuracy_m, np.float32))
                    if rec.gps.speed_mps is not None:
                        gg.create_dataset("speed_mps", data=np.asarray(rec.gps.speed_mps, np.float32))
            if dataset.windows is not None:
                w = dataset.windows
                wg = f.create_group("windows")
                wg.attrs["sampling_hz"] = float(w.sampling_hz)
                wg.create_dataset("acc", data=np.asarray(w.acc, np.float32), compression="gzip", shuffle=True)
                if w.gyro is not None:
                    wg.create_dataset("gyro", data=np.asarray(w.gyro, np.float32), compression="gzip", shuffle=True)
                wg.create_dataset("label", data=np.asarray(w.label, np.int16))
                wg.create_dataset("subject", data=np.asarray(w.subject).astype(str).astype(object), dtype=h5py.string_dtype())
            if events:
                f.attrs["event_names"] = json.dumps(list(events["names"]))
                eg = f.create_group("events")
                for rid, (start, end, kind) in ((k, v) for k, v in events.items() if k != "names"):
                    g = eg.create_group(rid)
                    g.create_dataset("start_s", data=np.asarray(start, np.float64))
                    g.create_dataset("end_s", data=np.asarray(end, np.float64))
                    g.create_dataset("kind", data=np.asarray(kind, np.int16))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _read(f, name: str, where: str, path: Path, required: bool = True):
    if name not in f:
        if required:
            raise FormatError(f"{path}: {where}: missing dataset {name!r}")
        return None
    return f[name][()]


def read_imu(path: str | os.PathLike) -> ImuDataset:
    """Read and validate a ``momentsense-imu-v1`` file.

    Raises
    ------
    FormatError
        Not HDF5, wrong ``format`` attribute, missing or malformed datasets; the message names
        the file, the group and the field.
    FileNotFoundError
        No such file.
    """
    h5py = _h5py()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        fmt = f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != FORMAT:
            raise FormatError(f"{path}: root attribute 'format' must be {FORMAT!r}, got {fmt!r}")
        try:
            label_names = json.loads(f.attrs["label_names"])
        except KeyError:
            raise FormatError(f"{path}: root attribute 'label_names' is missing") from None
        except (TypeError, json.JSONDecodeError):
            raise FormatError(f"{path}: root attribute 'label_names' must be a JSON list of str") from None
        if not isinstance(label_names, list) or not all(isinstance(x, str) for x in label_names):
            raise FormatError(f"{path}: root attribute 'label_names' must be a JSON list of str, got {label_names!r}")
        source = str(f.attrs.get("source", ""))
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items() if k not in ("format", "label_names", "source")}
        recordings = []
        for rid, g in (f["recordings"].items() if "recordings" in f else []):
            where = f"/recordings/{rid}"
            gps = None
            if "gps" in f and rid in f["gps"]:
                gg, gw = f["gps"][rid], f"/gps/{rid}"
                gps = GpsTrack(_read(gg, "t", gw, path), _read(gg, "lat", gw, path), _read(gg, "lon", gw, path),
                               _read(gg, "accuracy_m", gw, path, False), _read(gg, "speed_mps", gw, path, False))  # fmt: skip
            rec = ImuRecording(
                id=rid, t=_read(g, "t", where, path), acc=_read(g, "acc", where, path),
                gyro=_read(g, "gyro", where, path, False), label=_read(g, "label", where, path, False),
                subject=str(g.attrs.get("subject", "")), device=str(g.attrs.get("device", "")),
                placement=str(g.attrs.get("placement", "")), gps=gps, gyro_t=_read(g, "gyro_t", where, path, False),
            )  # fmt: skip
            recordings.append(rec)
        windows = None
        if "windows" in f:
            wg = f["windows"]
            if "sampling_hz" not in wg.attrs:
                raise FormatError(f"{path}: /windows: attribute 'sampling_hz' is missing")
            subj = _read(wg, "subject", "/windows", path)
            subj = np.array([s.decode() if isinstance(s, bytes) else str(s) for s in subj], dtype=object)
            windows = WindowSet(_read(wg, "acc", "/windows", path), _read(wg, "label", "/windows", path), subj,
                                float(wg.attrs["sampling_hz"]), _read(wg, "gyro", "/windows", path, False))  # fmt: skip
        if "events" in f:
            attrs["events"] = {
                rid: {k: g[k][()].tolist() for k in ("start_s", "end_s", "kind")} for rid, g in f["events"].items()
            }
    ds = ImuDataset(label_names, source, recordings, windows, attrs)
    problems = dataset_problems(ds)
    if problems:
        raise FormatError(f"{path}: " + "; ".join(problems[:5]))
    return ds


def validate_imu(path: str | os.PathLike) -> list[str]:
    """Problems found in a file (empty list = valid); never raises for a bad file."""
    try:
        read_imu(path)
    except (FormatError, FileNotFoundError) as exc:
        return [str(exc)]
    return []
