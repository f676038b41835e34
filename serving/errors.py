"""Typed serving errors, under the runtime's two roots (the user can fix it / our bug)."""

from __future__ import annotations

from ese.format.errors import InternalError, UserError


class ServingError(UserError):
    """Serving was asked for something the export, the options or this machine cannot give."""


class RepositoryError(ServingError):
    """A Triton model repository cannot be written as asked (output exists, bad option...)."""


class ServeExtraError(ServingError):
    """The ``serve`` extra (nvidia-pytriton, tritonclient) is not installed or cannot run."""


class ServerStartError(ServingError):
    """The local Triton server did not become ready (port taken, binary cannot run...)."""


class BadRequestError(ServingError):
    """One inference request is malformed (its text is not UTF-8); it alone is refused."""


class ServerBugError(InternalError):
    """The serving layer broke its own contract: please report it with the message."""
