"""Errors of the native TensorRT backend; the roots (user-fixable / our bug) live in
ese.format.errors."""

from __future__ import annotations

from ese.format.errors import UserError


class StaleEngineError(UserError):
    """An engine file is missing, or was built for another GPU, TensorRT version, graph or
    shape range."""
