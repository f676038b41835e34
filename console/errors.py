"""The command line's own errors, under the two roots of :mod:`ese.format.errors`."""

from __future__ import annotations

from ese.format.errors import EseError, UserError


class UsageError(UserError):
    """A command-line argument is unknown, missing, or of a bad value (exit 2, one line)."""


class OutputDirError(UserError):
    """An output directory cannot be written, or is not one this toolchain may replace."""


class ServiceStoppedError(EseError):
    """A service this command runs (ese-serve's Triton server) stopped without being asked."""
