"""Typed serving errors, under the runtime's two roots (the user can fix it / our bug)."""

from __future__ import annotations

from ese.format.errors import UserError


class ServeExtraError(UserError):
    """The ``serve`` extra (nvidia-pytriton, tritonclient) is not installed or cannot run."""


class BadRequestError(UserError):
    """One inference request is malformed (its text is not UTF-8); it alone is refused."""
