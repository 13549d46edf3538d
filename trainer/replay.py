"""``momentsense run --replay``: a recording through the SDK to a timeline and an HTML report.

The recording is a ``momentsense-imu-v1`` file or a CSV file as phone apps write them: ``time``,
``ax, ay, az``, optionally ``gx, gy, gz``, a ``label`` column (ignored: the SDK does not need
labels) and GPS columns ``lat, lon`` (or ``latitude, longitude``) with optional ``accuracy`` and
``speed``, filled only on the rows where a fix arrived. It is fed to :class:`sdk.runtime.MomentSDK`
in push mode, 10 s at a time, as a phone would; the report is the demo's without its truth sections.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from momentsense.sdk.errors import FormatError, InputError
from momentsense.sdk.records import GpsTrack, ImuDataset, ImuRecording
from momentsense.sdk.sources import SensorChunk
from momentsense.sdk.timeline.records import GpsFix

DAY_S = 86400.0
#: Seconds between recordings of one file that had to be moved apart in time.
GAP_S = 60.0
#: Accepted names of the GPS columns (first match wins).
GPS_COLUMNS = {
    "lat": ("lat", "latitude"),
    "lon": ("lon", "lng", "longitude"),
    "accuracy": ("accuracy", "accuracy_m", "horizontal_accuracy"),
    "speed": ("speed", "speed_mps"),
}


@dataclasses.dataclass(frozen=True)
class ReplayOptions:
    """Options of :func:`run_replay`.

    Attributes:
        path: The recording (``.h5``/``.hdf5`` momentsense-imu-v1, or ``.csv``).
        out: Folder for ``index.html``, ``timeline.json`` and the figures (created below an existing folder).
        model: Transport ``.tflite`` with its manifest beside it; None = the shipped model.
        time_unit, acc_unit, gyro_unit: Units of the CSV columns (see :func:`trainer.loaders.csv_import.load_csv`).
        utc_offset_h: Local time minus UTC in hours, for days and clock times.
    """

    path: str
    out: str
    model: Optional[str] = None
    time_unit: str = "s"
    acc_unit: str = "mps2"
    gyro_unit: str = "rad_s"
    utc_offset_h: float = 0.0


def read_gps_columns(path: Path, time_column: str, time_scale: float) -> Optional[GpsTrack]:
    """GPS fixes from the optional ``lat, lon[, accuracy, speed]`` columns of a CSV file (rows where
    both are filled), or None without such columns."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        col = {k: next((header.index(n) for n in names if n in header), None) for k, names in GPS_COLUMNS.items()}
        if col["lat"] is None or col["lon"] is None:
            return None
        ti = header.index(time_column.lower())
        rows = []
        for row in reader:
            try:
                lat, lon = row[col["lat"]].strip(), row[col["lon"]].strip()
            except IndexError:
                continue
            if not lat or not lon:
                continue
            try:
                get = lambda k: float(row[col[k]]) if col[k] is not None and row[col[k]].strip() else math.nan  # noqa: E731
                rows.append((float(row[ti]) * time_scale, float(lat), float(lon), get("accuracy"), get("speed")))
            except (ValueError, IndexError):
                raise FormatError(f"{path}:{reader.line_num}: GPS columns are not numbers") from None
    if not rows:
        return None
    a = np.asarray(rows, np.float64)
    if not (np.all(np.abs(a[:, 1]) <= 90) and np.all(np.abs(a[:, 2]) <= 180)):
        raise FormatError(f"{path}: latitude/longitude out of range (degrees expected)")
    return GpsTrack(a[:, 0], a[:, 1], a[:, 2], a[:, 3].astype(np.float32), a[:, 4].astype(np.float32))


def load_recording(opts: ReplayOptions) -> ImuDataset:
    """The recording as an :class:`ImuDataset` (a CSV file with its GPS columns attached)."""
    path = Path(opts.path)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        from momentsense.sdk.io.imu_file import read_imu

        return read_imu(path)
    if suffix != ".csv":
        raise InputError(f"--replay {opts.path}: expected a .csv or a momentsense-imu-v1 .h5 file")
    from momentsense.trainer.loaders.csv_import import TIME_SCALE, load_csv

    ds = load_csv(path, path.stem, time_unit=opts.time_unit, acc_unit=opts.acc_unit, gyro_unit=opts.gyro_unit)
    gps = read_gps_columns(path, "time", TIME_SCALE[opts.time_unit])
    if gps is not None:
        ds = dataclasses.replace(ds, recordings=[dataclasses.replace(ds.recordings[0], gps=gps)])
    return ds


def shift_recording(rec: ImuRecording, dt: float) -> ImuRecording:
    """The recording with every time stamp (IMU, gyroscope, GPS) moved by ``dt`` seconds."""
    gps = dataclasses.replace(rec.gps, t=rec.gps.t + dt) if rec.gps is not None else None
    gyro_t = rec.gyro_t + dt if rec.gyro_t is not None else None
    return dataclasses.replace(rec, t=rec.t + dt, gyro_t=gyro_t, gps=gps)


def in_time_order(recs: list) -> tuple[list, int]:
    """Recordings sorted by start; one that overlaps the previous one is moved to start
    :data:`GAP_S` after it. Returns the recordings and how many were moved."""
    out, moved = [], 0
    for rec in sorted(recs, key=lambda r: float(r.t[0])):
        if out and rec.t[0] <= out[-1].t[-1]:
            rec = shift_recording(rec, float(out[-1].t[-1]) + GAP_S - float(rec.t[0]))
            moved += 1
        out.append(rec)
    return out, moved


def iter_chunks(rec: ImuRecording, chunk_s: float, gps_on: bool) -> Iterator[SensorChunk]:
    """The recording as :class:`SensorChunk` objects of ``chunk_s`` seconds (labels dropped)."""
    t = np.asarray(rec.t, np.float64)
    if not len(t):
        return
    g = rec.gps
    for a in np.arange(t[0], t[-1] + chunk_s, chunk_s):
        b = a + chunk_s
        sel = (t >= a) & (t < b)
        gyro_t = None
        if rec.gyro is None:
            gyro = np.zeros((int(sel.sum()), 3), np.float32)
        elif rec.gyro_t is not None:  # the gyroscope on its own clock
            gsel = (rec.gyro_t >= a) & (rec.gyro_t < b)
            gyro_t, gyro = rec.gyro_t[gsel], rec.gyro[gsel]
        else:
            gyro = rec.gyro[sel]
        fixes = []
        if g is not None:
            for i in np.flatnonzero((g.t >= a) & (g.t < b)):
                acc = float(g.accuracy_m[i]) if g.accuracy_m is not None else math.nan
                spd = float(g.speed_mps[i]) if g.speed_mps is not None else math.nan
                fixes.append(GpsFix(float(g.t[i]), float(g.lat[i]), float(g.lon[i]), acc, spd))
        yield SensorChunk(t[sel], rec.acc[sel], gyro_t, gyro, fixes, None, gps_on)


def run_replay(opts: ReplayOptions) -> dict:
    """Feed the recording to the SDK, write the report into ``opts.out``; returns the summary."""
    from momentsense.sdk.runtime import MomentSDK, SDKConfig
    from momentsense.sdk.transport.options import ModelOptions
    from momentsense.trainer.demo.learned import learn
    from momentsense.trainer.demo.score import annotate_main_modes

    ds = load_recording(opts)
    recs = [r for r in ds.recordings if len(r.t)]
    if not recs:
        raise InputError(f"--replay {opts.path}: no samples in the recording")
    recs, shifted = in_time_order(recs)
    tz = opts.utc_offset_h * 3600.0
    gps_on = any(r.gps is not None for r in recs)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="momentsense-run-") as tmp:
        sdk = MomentSDK(SDKConfig(store_path=str(Path(tmp) / "timeline.db"), tz_offset_s=tz,
                                  model=ModelOptions(path=opts.model) if opts.model else ModelOptions()))  # fmt: skip
        try:
            for rec in recs:
                for chunk in iter_chunks(rec, 10.0, gps_on):
                    sdk.feed(chunk)
            sdk.finish()
            t0, t1 = min(float(r.t[0]) for r in recs), max(float(r.t[-1]) for r in recs)
            day0 = math.floor((t0 + tz) / DAY_S) * DAY_S - tz
            learned = learn(sdk, t0, t1, day0)
            events = sdk.events()
            stats = sdk.stats()
        finally:
            sdk.close()
    annotate_main_modes(learned.days, events)
    hours = (t1 - t0) / 3600.0
    notes = []
    if all(r.gyro is None for r in recs):
        notes.append("the recording has no gyroscope columns; the transport model reads the gyroscope too, so the modes "
                     "detected here are unreliable")  # fmt: skip
    if not gps_on:
        notes.append("the recording has no GPS columns: no places, visits or trips, only transport modes")
    if shifted:
        notes.append(f"{shifted} of its {len(recs)} recordings overlapped an earlier one in time and were moved to "
                     f"start {GAP_S:.0f} s after it (the SDK reads one phone's sensors in time order)")
    first = datetime.datetime.fromtimestamp(t0 + tz, datetime.timezone.utc)
    length = f"{hours * 60:.0f} min" if hours < 1 else f"{hours:.1f} h"
    samples, fixes = sum(len(r.t) for r in recs), sum(len(r.gps.t) for r in recs if r.gps is not None)
    model = f"model {opts.model}" if opts.model else "the shipped model"
    intro = (f"{length} recorded from {first:%A %d %B %Y %H:%M}, {samples:,} IMU samples, {fixes:,} GPS fixes, run through "
             f"the SDK ({model}) in {time.perf_counter() - t_start:.1f} s." + "".join(f" Note: {n}." for n in notes))
    data = {
        "title": f"momentsense run: {Path(opts.path).name}", "intro": intro,
        "notes": notes, "source": str(opts.path), "hours": round(hours, 3), "tz_offset_s": tz,
        "tz_name": "UTC" if not tz else f"UTC{opts.utc_offset_h:+g} h", "windows": stats["windows"],
        "timeline": learned.days, "places": learned.places, "segments": learned.segments,
        "events": [{"start_s": e.start, "end_s": e.end, "mode": e.mode, "confidence": round(float(e.confidence), 3)} for e in events],
    }  # fmt: skip
    write_report(Path(opts.out), data, events, recs, learned)
    return data


def write_report(out: Path, data: dict, events: list, recs: list, learned) -> Path:
    """``index.html``, ``timeline.json`` and figures in ``out`` (created below an existing folder)."""
    from momentsense.trainer.demo.report import write_html
    from momentsense.trainer.demo.report_plots import plot_driving, plot_map, plot_trip_strips

    out.mkdir(exist_ok=True)
    tracks = [r.gps for r in recs if r.gps is not None]
    track = (np.concatenate([g.lat for g in tracks]), np.concatenate([g.lon for g in tracks])) if tracks else None
    images = {"map": "map.png"}
    plot_map(out / "map.png", data["places"], data["timeline"], track)
    for d in data["timeline"]:
        if d["trips"]:
            images[f"strip:{d['date']}"] = f"trips_{d['date']}.png"
            plot_trip_strips(out / images[f"strip:{d['date']}"], d["trips"], events, None, data["tz_offset_s"])
    drives = [s for tl in learned.day_timelines for s in tl.driving_scores]
    if drives and tracks:
        best = max(drives, key=lambda s: s.distance_m)
        t = np.concatenate([g.t for g in tracks])
        v = np.concatenate([g.speed_mps if g.speed_mps is not None else np.full(len(g.t), np.nan) for g in tracks])
        plot_driving(out / "driving.png", t, v, [best], [], (), data["tz_offset_s"])
        images["driving"] = "driving.png"
    write_html(out / "index.html", data, images)
    (out / "timeline.json").write_text(json.dumps(data, indent=1, default=str))
    return (out / "index.html").resolve()


def format_replay(data: dict, out: str) -> str:
    """A few lines for the terminal: per day its visits and trips."""
    lines = [data["intro"]]
    for d in data["timeline"]:
        modes = ", ".join(f"{k} {v:.0f} min" for k, v in d["minutes_per_mode_on_trips"].items() if v >= 1) or "no travel"
        lines.append(f"  {d['weekday']} {d['date']}: {len(d['visits'])} visits, {len(d['trips'])} trips; {modes}")
    lines.append(f"  report: {Path(out).resolve() / 'index.html'}; timeline: {Path(out).resolve() / 'timeline.json'}")
    return "\n".join(lines)
