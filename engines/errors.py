"""Errors of ese.engines; the roots (user-fixable / our bug) live in ese.format.errors."""

from __future__ import annotations

from ese.format.errors import UserError


class StaleEngineError(UserError):
    """An engine file was built for another GPU, TensorRT version, graph or shape range."""


class TimingCacheWarning(UserWarning):
    """A TensorRT timing cache was refused or could not be saved; the build goes on without it."""
