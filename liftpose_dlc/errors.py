"""Exceptions raised by liftpose-dlc.

Every error the package raises on bad input derives from :class:`LiftPoseError`, so
callers can catch one class. Each subclass also derives from the matching built-in
exception (``FileNotFoundError``, ``ValueError``, ``ImportError``) so that code written
against the standard library keeps working.
"""

from __future__ import annotations

__all__ = [
    "LiftPoseError",
    "MissingFileError",
    "FileFormatError",
    "ConfigError",
    "KeypointError",
    "CalibrationError",
    "ModelFileError",
    "MissingDependencyError",
    "OutputExistsError",
    "PosesValidationError",
    "FileAccessError",
    "WriteError",
]


class LiftPoseError(Exception):
    """Base class of every error raised by liftpose-dlc on bad input."""


class MissingFileError(LiftPoseError, FileNotFoundError):
    """A file or folder the caller named does not exist."""


class FileFormatError(LiftPoseError, ValueError):
    """A file exists but its content is not what the reader expects."""


class ConfigError(LiftPoseError, ValueError):
    """A configuration (DLC ``config.yaml``, ``param.yaml``, options) is invalid."""


class KeypointError(LiftPoseError, ValueError):
    """Keypoint (or individual) names asked for are not present, or do not match."""


class CalibrationError(FileFormatError):
    """A camera calibration is missing fields or holds invalid matrices."""


class ModelFileError(FileFormatError):
    """A lifter model file is wrong, truncated or from a newer version."""


class MissingDependencyError(LiftPoseError, ImportError):
    """An optional dependency needed for this operation is not installed."""


class OutputExistsError(LiftPoseError, FileExistsError):
    """An output file exists and ``overwrite=False`` was requested."""


class PosesValidationError(LiftPoseError, ValueError):
    """A :class:`~liftpose_dlc.Poses` was built from arrays or names that do not agree."""


class FileAccessError(LiftPoseError, PermissionError):
    """A file or folder exists but this user may not read (or write) it."""


class WriteError(LiftPoseError, OSError):
    """An output could not be written (disk full, no permission, ...) or read back as written.

    The message names the output file (never the hidden temporary file); a previous file
    under that name is left untouched and no partial file is left behind.
    """

    def __str__(self) -> str:  # the message, not OSError's "[Errno n] strerror: filename"
        return str(self.args[0]) if self.args else ""
