"""Build-only warnings of ese-engines; the engine errors live in ese.runtime.backends.tensorrt."""

from __future__ import annotations


class TimingCacheWarning(UserWarning):
    """A TensorRT timing cache was refused or could not be saved; the build goes on without it."""
