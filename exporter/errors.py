"""Errors of the exporter; the roots live in ese.format.errors."""

from __future__ import annotations

from ese.format.errors import UserError


class PoolingError(UserError):
    """The model declares no pooling, or one that cannot be exported faithfully."""
