"""Import a user's own recording from a CSV file into an :class:`ImuDataset` (one recording).

Columns (names configurable with :class:`CsvColumns`): ``time, ax, ay, az`` required;
``gx, gy, gz`` optional (all three or none); ``label`` optional. Units are stated, never guessed:

========== ================================ =========================
quantity   flag values                      converted to
========== ================================ =========================
time       ``s``, ``ms``, ``ns``            seconds
acc        ``mps2`` (m/s²), ``g``           m/s² (gravity included)
gyro       ``rad_s``, ``deg_s``             rad/s
========== ================================ =========================

``g`` means standard gravity, 9.80665 m/s². Labels are either integers (indices into
``label_names``; -1 or an empty cell = unknown) or names (``label_names`` is built in order of
first appearance, or taken from the ``label_names`` argument). The recording's id is the file's
stem unless given.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Optional

import numpy as np

from momentsense.sdk.errors import FormatError
from momentsense.sdk.records import STANDARD_GRAVITY_MPS2, ImuDataset, ImuRecording

#: Factor from each time unit to seconds.
TIME_SCALE = {"s": 1.0, "ms": 1e-3, "ns": 1e-9}
#: Factor from each acceleration unit to m/s².
ACC_SCALE = {"mps2": 1.0, "g": STANDARD_GRAVITY_MPS2}
#: Factor from each angular-rate unit to rad/s.
GYRO_SCALE = {"rad_s": 1.0, "deg_s": np.pi / 180.0}


@dataclasses.dataclass(frozen=True)
class CsvColumns:
    """Column names of the CSV file.

    Attributes:
        time: Timestamp column.
        acc: The three accelerometer columns (x, y, z).
        gyro: The three gyroscope columns, or None to ignore any gyroscope.
        label: Label column, or None to ignore labels.
        label_required: If True, a missing label column is an error (otherwise it is optional).
    """

    time: str = "time"
    acc: tuple[str, str, str] = ("ax", "ay", "az")
    gyro: Optional[tuple[str, str, str]] = ("gx", "gy", "gz")
    label: Optional[str] = "label"
    label_required: bool = False


def load_csv(
    path: str | Path,
    subject: str,
    *,
    time_unit: str = "s",
    acc_unit: str = "mps2",
    gyro_unit: str = "rad_s",
    columns: CsvColumns = CsvColumns(),
    label_names: Optional[list[str]] = None,
    recording_id: Optional[str] = None,
    device: str = "",
    placement: str = "",
    delimiter: str = ",",
) -> ImuDataset:
    """Read one recording from a CSV file with a header line.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, a BOM is accepted).
    subject : str
        Who carried the phone (for subject-wise splits); non-empty.
    time_unit : {"s", "ms", "ns"}
        Unit of the time column.
    acc_unit : {"mps2", "g"}
        Unit of the accelerometer columns (m/s² or standard gravities, gravity included).
    gyro_unit : {"rad_s", "deg_s"}
        Unit of the gyroscope columns.
    columns : CsvColumns
        Column names.
    label_names : list of str, optional
        Class names. With integer labels, the labels index into it; with name labels, a name not
        in it is an error. Built from the data when not given.
    recording_id, device, placement : str, optional
        Recording id (default: the file's stem), device and placement attributes.
    delimiter : str
        Field separator.

    Returns
    -------
    dataset : ImuDataset
        One recording: ``t`` seconds (float64), ``acc`` m/s² and ``gyro`` rad/s (float32),
        ``label`` int16 or None.

    Raises
    ------
    FileNotFoundError
        No such file.
    FormatError
        Unknown unit, empty file, a missing required column, only some of the gyro columns, a
        missing or non-numeric value (with its line number), a bad label (with its line number).
    """
    for name, unit, table in (("time_unit", time_unit, TIME_SCALE), ("acc_unit", acc_unit, ACC_SCALE),
                              ("gyro_unit", gyro_unit, GYRO_SCALE)):  # fmt: skip
        if unit not in table:
            raise FormatError(f"{name} must be one of {sorted(table)}, got {unit!r}")
    if not isinstance(subject, str) or not subject:
        raise FormatError(f"subject must be a non-empty str, got {subject!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise FormatError(f"{path}: empty file (no header line; expected columns {columns.time}, "
                              f"{', '.join(columns.acc)}, ...)")  # fmt: skip
        numeric, has_gyro, label_col = _select_columns(header, columns, path)
        index = {name: header.index(name) for name in numeric + ([label_col] if label_col else [])}
        values, raw_labels = [], []
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            values.append([_number(row, index[c], c, path, line) for c in numeric])
            if label_col:
                i = index[label_col]
                raw_labels.append((row[i].strip() if i < len(row) else "", line))
    if not values:
        raise FormatError(f"{path}: no data rows after the header")
    a = np.asarray(values, np.float64)
    t = a[:, 0] * TIME_SCALE[time_unit]
    acc = (a[:, 1:4] * ACC_SCALE[acc_unit]).astype(np.float32)
    gyro = (a[:, 4:7] * GYRO_SCALE[gyro_unit]).astype(np.float32) if has_gyro else None
    names = list(label_names) if label_names is not None else None
    label = None
    if label_col:
        label, names = _labels(raw_labels, names, path, label_col)
    rec = ImuRecording(recording_id or path.stem, t, acc, gyro, label, subject=subject, device=device,
                       placement=placement)  # fmt: skip
    attrs = {"units_in_source": f"time {time_unit}, acc {acc_unit}, gyro {gyro_unit}" if has_gyro
             else f"time {time_unit}, acc {acc_unit}"}  # fmt: skip
    return ImuDataset(names or [], f"csv import of {path.name}", [rec], None, attrs)


def _select_columns(header: list[str], columns: CsvColumns, path: Path) -> tuple[list[str], bool, Optional[str]]:
    """The numeric columns to read, whether gyro is present, and the label column (or None)."""
    needed = [columns.time, *columns.acc]
    missing = [c for c in needed if c not in header]
    if columns.label_required and columns.label and columns.label not in header:
        missing.append(columns.label)
    if missing:
        raise FormatError(f"{path}: missing column(s) {missing}; the header has {header}")
    has_gyro = False
    if columns.gyro is not None:
        present = [c for c in columns.gyro if c in header]
        if present and len(present) < 3:
            absent = [c for c in columns.gyro if c not in header]
            raise FormatError(f"{path}: gyro needs all three columns {list(columns.gyro)}; missing {absent}")
        has_gyro = len(present) == 3
    label_col = columns.label if columns.label and columns.label in header else None
    return needed + (list(columns.gyro) if has_gyro else []), has_gyro, label_col


def _number(row: list[str], i: int, column: str, path: Path, line: int) -> float:
    cell = row[i].strip() if i < len(row) else ""
    if not cell:
        raise FormatError(f"{path}:{line}: column {column!r} has no value")
    try:
        return float(cell)
    except ValueError:
        raise FormatError(f"{path}:{line}: column {column!r} is not a number: {cell!r}") from None


def _is_int(s: str) -> bool:
    return s.lstrip("+-").isdigit()


def _labels(raw: list[tuple[str, int]], names: Optional[list[str]], path: Path, column: str) -> tuple[np.ndarray, list[str]]:
    """Per-row labels as int16 and the label names (-1 = unknown / empty cell)."""
    out = np.full(len(raw), -1, np.int16)
    if all(_is_int(s) for s, _ in raw if s):
        ints = [(int(s), line) for s, line in raw if s]
        top = max((v for v, _ in ints), default=-1)
        if names is None:
            names = [str(i) for i in range(top + 1)]
        for v, line in ints:
            if v < -1 or v >= len(names):
                raise FormatError(f"{path}:{line}: column {column!r}: label {v} is outside label_names "
                                  f"(0..{len(names) - 1} or -1)")  # fmt: skip
        for j, (s, _) in enumerate(raw):
            if s:
                out[j] = int(s)
        return out, names
    fixed = names is not None
    names = list(names or [])
    index = {n: i for i, n in enumerate(names)}
    for j, (s, line) in enumerate(raw):
        if not s:
            continue
        if s not in index:
            if fixed:
                raise FormatError(f"{path}:{line}: column {column!r}: label {s!r} is not in label_names {names}")
            index[s] = len(names)
            names.append(s)
        out[j] = index[s]
    return out, names
