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
