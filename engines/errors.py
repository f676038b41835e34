"""Errors of ese.engines; the roots (user-fixable / our bug) live in ese.format.errors."""

from __future__ import annotations

from ese.format.errors import InternalError, UserError


class TensorRTMissingError(UserError):
    """The tensorrt Python package (or the CUDA driver) is not installed on this machine."""


class TensorRTVersionError(UserError):
    """The TensorRT here is too old, or differs from the one that built an engine."""


class ShapeRangeError(UserError, ValueError):
    """A --batch / --seq range is malformed, not increasing, or beyond the model's limits."""


class EnginePrecisionError(UserError):
    """The precision asked for cannot be built by this TensorRT from this export."""


class StaleEngineError(UserError):
    """An engine file was built for another GPU, TensorRT version, graph or shape range."""


class EngineBuildError(UserError):
    """TensorRT could not parse the graph or build an engine from it."""


class EngineRunError(InternalError):
    """An engine that loaded failed while running (a CUDA or TensorRT failure)."""


class TimingCacheWarning(UserWarning):
    """A TensorRT timing cache was refused or could not be saved; the build goes on without it."""
