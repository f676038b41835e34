"""The command line's own errors, under the two roots of :mod:`ese.format.errors`."""

from __future__ import annotations

from ese.format.errors import EseError, UserError


class OutputDirError(UserError):
    """An output directory cannot be written, or is not one this toolchain may replace."""


class ServiceStoppedError(EseError):
    """A service this command runs (ese-serve's Triton server) stopped without being asked."""
