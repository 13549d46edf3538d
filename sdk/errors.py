"""Exceptions raised by momentsense.

Every error a user can cause by passing bad data, a bad file or a bad model derives from
:class:`MomentsenseError`, so an app can catch one class. The subclasses also derive from the
builtin that fits (``ValueError``), so ordinary ``except ValueError`` code keeps working.
"""

from __future__ import annotations


class MomentsenseError(Exception):
    """Base class of every momentsense error."""


class InputError(MomentsenseError, ValueError):
    """Sensor data or arguments that break the documented contract (shape, dtype, range)."""


class FormatError(MomentsenseError, ValueError):
    """A file that does not follow its documented format; the message names file, group and field."""


class ModelError(MomentsenseError, ValueError):
    """A model file that is missing, corrupted, or does not match its manifest."""


class MissingDependencyError(MomentsenseError, ImportError):
    """An optional dependency is needed for a desktop feature (h5py for HDF5 files: the phone has none)."""


def require_h5py(purpose: str = "reading or writing HDF5 files"):
    """The ``h5py`` module, imported on first use, or :class:`MissingDependencyError` saying what needs it."""
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError(f"{purpose} needs h5py, which is not installed (HDF5 files are a desktop "
                                     "feature): pip install h5py") from None
    return h5py
