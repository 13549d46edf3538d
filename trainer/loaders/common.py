"""Helpers shared by the dataset loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from momentsense.sdk.errors import FormatError

#: Provenance attributes copied from a source file's root into ``ImuDataset.attrs`` when present.
PROVENANCE_KEYS = ("original_dataset", "source_repo", "subset", "citation", "license_as_stated", "device")


def h5_text(v) -> str:
    """An HDF5 attribute as text (bytes decoded)."""
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def h5_names(v) -> list[str]:
    """An HDF5 attribute holding a list of (byte) strings, as a list of str."""
    return [h5_text(x) for x in np.asarray(v).tolist()]


def open_h5(path: str | Path, purpose: str, missing_hint: str = ""):
    """``h5py.File(path, "r")``, with the errors a user can act on: :class:`FileNotFoundError` naming
    the file (``missing_hint`` appended), :class:`FormatError` when it is not readable HDF5, and
    :class:`MissingDependencyError` saying ``purpose`` needs h5py."""
    from momentsense.sdk.errors import require_h5py

    h5py = require_h5py(purpose)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file{missing_hint}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None


def open_source(path: str | Path, expected_group: str, required_attrs: tuple[str, ...] = ()):
    """Open a public dataset's HDF5 file and check it has ``expected_group`` and ``required_attrs``.

    Raises
    ------
    FileNotFoundError
        No such file.
    FormatError
        Not HDF5, or not the expected dataset (group or attribute missing).
    MissingDependencyError
        h5py is not installed.
    """
    f = open_h5(path, "reading the public datasets", " (see docs/real-data.md for the datasets)")
    missing = [f"group /{expected_group}"] if expected_group not in f else []
    missing += [f"root attribute {a!r}" for a in required_attrs if a not in f.attrs]
    if missing:
        f.close()
        raise FormatError(f"{path}: {', '.join(missing)} missing; is this the right dataset file?")
    return f


def require(group, names: tuple[str, ...], path: Path, where: str) -> None:
    """Raise :class:`FormatError` naming the file and group if a dataset in ``names`` is missing."""
    missing = [n for n in names if n not in group]
    if missing:
        raise FormatError(f"{path}: {where}: missing dataset(s) {missing}")


def provenance(f, keys: tuple[str, ...] = PROVENANCE_KEYS) -> dict:
    """Copy the provenance attributes (text) of a source file."""
    return {k: h5_text(f.attrs[k]) for k in keys if k in f.attrs}
