"""Helpers shared by the dataset loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sdk.errors import FormatError


def h5_text(v) -> str:
    """An HDF5 attribute as text (bytes decoded)."""
    return v.decode() if isinstance(v, bytes) else str(v)


def h5_names(v) -> list[str]:
    """An HDF5 attribute holding a list of (byte) strings, as a list of str."""
    return [x.decode() if isinstance(x, bytes) else str(x) for x in np.asarray(v).tolist()]


def open_source(path: str | Path, expected_group: str):
    """Open a public dataset's HDF5 file and check it has ``expected_group``."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file (see shared/data/README.md for the datasets)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FormatError(f"{path}: not a readable HDF5 file ({exc})") from None
    if expected_group not in f:
        f.close()
        raise FormatError(f"{path}: no group {expected_group!r}; is this the right dataset file?")
    return f


def provenance(f, keys=("original_dataset", "citation", "license_as_stated", "source_repo", "subset", "device")) -> dict:
    """Copy the provenance attributes of a source file."""
    return {k: h5_text(f.attrs[k]) for k in keys if k in f.attrs}
