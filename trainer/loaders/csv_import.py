"""Import a user's own recording from CSV into ``momentsense-imu-v1``.

Columns (names configurable): ``time, ax, ay, az`` required; ``gx, gy, gz`` and ``label``
optional. Units are stated, never guessed: time in s, ms or ns; acceleration in m/s² or g (with
gravity); angular rate in rad/s or deg/s. Labels may be integers (indices into ``label_names``) or
names (``label_names`` is then built in order of first appearance).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from sdk.errors import FormatError
from sdk.records import STANDARD_GRAVITY_MPS2, ImuDataset, ImuRecording

TIME_SCALE = {"s": 1.0, "ms": 1e-3, "ns": 1e-9}
ACC_SCALE = {"mps2": 1.0, "g": STANDARD_GRAVITY_MPS2}
GYRO_SCALE = {"rad_s": 1.0, "deg_s": np.pi / 180.0}


@dataclasses.dataclass(frozen=True)
class CsvColumns:
    """Column names of the CSV file."""

    time: str = "time"
    acc: tuple[str, str, str] = ("ax", "ay", "az")
    gyro: Optional[tuple[str, str, str]] = ("gx", "gy", "gz")
    label: Optional[str] = "label"


def load_csv(
    path: str | Path,
    subject: str,
    *,
    time_unit: str = "s",
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    columns: CsvColumns = CsvColumns(),
    label_names: Optional[list[str]] = None,
    device: str = "",
    placement: str = "",
) -> ImuDataset:
    """Read one recording from a CSV file.

    Raises
    ------
    FormatError
        Empty file, a missing required column, a non-numeric value (with its line number), or an
        integer label outside ``label_names``.
    """
    for name, unit, table in (("time_unit", time_unit, TIME_SCALE), ("acc_unit", acc_unit, ACC_SCALE), ("gyro_unit", gyro_unit, GYRO_SCALE)):
        if unit not in table:
            raise FormatError(f"{name} must be one of {sorted(table)}, got {unit!r}")
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if not header:
            raise FormatError(f"{path}: empty file (no header line)")
        needed = [columns.time, *columns.acc]
        missing = [c for c in needed if c not in header]
        if missing:
            raise FormatError(f"{path}: missing column(s) {missing}; the header has {header}")
        has_gyro = columns.gyro is not None and all(c in header for c in columns.gyro)
        has_label = columns.label is not None and columns.label in header
        numeric = needed + (list(columns.gyro) if has_gyro else [])
        rows, labels = [], []
        for line, row in enumerate(reader, start=2):
            try:
                rows.append([float(row[c]) for c in numeric])
            except (TypeError, ValueError):
                bad = next(c for c in numeric if not _is_float(row.get(c)))
                raise FormatError(f"{path}:{line}: column {bad!r} is not a number: {row.get(bad)!r}") from None
            if has_label:
                labels.append((row[columns.label] or "").strip())
    if not rows:
        raise FormatError(f"{path}: no data rows after the header")
    a = np.asarray(rows, np.float64)
    t = a[:, 0] * TIME_SCALE[time_unit]
    acc = (a[:, 1:4] * ACC_SCALE[acc_unit]).astype(np.float32)
    gyro = (a[:, 4:7] * GYRO_SCALE[gyro_unit]).astype(np.float32) if has_gyro else None
    names, label = list(label_names or []), None
    if has_label:
        label, names = _labels(labels, names, path)
    rec = ImuRecording(path.stem, t, acc, gyro, label, subject=subject, device=device, placement=placement)
    return ImuDataset(names or ["unknown"], f"csv import of {path.name}", [rec], None,
                      {"units_in_source": f"time {time_unit}, acc {acc_unit}, gyro {gyro_unit}"})  # fmt: skip


def _is_float(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def _labels(raw: list[str], names: list[str], path: Path) -> tuple[np.ndarray, list[str]]:
    if all(s.lstrip("-").isdigit() for s in raw if s):
        out = np.array([int(s) if s else -1 for s in raw], np.int16)
        if names and (out.max() >= len(names)):
            raise FormatError(f"{path}: label {int(out.max())} is outside the given label_names {names}")
        if not names:
            names = [str(i) for i in range(int(out.max()) + 1)] if out.max() >= 0 else []
        return out, names
    index = {n: i for i, n in enumerate(names)}
    out = np.empty(len(raw), np.int16)
    for i, s in enumerate(raw):
        if not s:
            out[i] = -1
            continue
        if s not in index:
            index[s] = len(names)
            names.append(s)
        out[i] = index[s]
    return out, names
