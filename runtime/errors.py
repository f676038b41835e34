"""Typed errors with two roots: what the user can fix, and what is our bug.

Every message says what was asked, what exists, and what to do.
"""

from __future__ import annotations


class EseError(Exception):
    """Root of every error this toolchain raises on purpose."""


class UserError(EseError):
    """The input, the files or the environment are wrong; the message says how to fix it."""


class InternalError(EseError):
    """A bug in this toolchain: please report it with the message."""


class ExportDirError(UserError):
    """The export directory is missing, incomplete, or not an export directory."""


class ManifestError(ExportDirError):
    """manifest.json is unreadable, of an unknown schema version, or inconsistent."""


class IntegrityError(ExportDirError):
    """A file listed in the manifest is missing, or its size or sha256 does not match."""


class OutputDirError(UserError):
    """An output directory cannot be written, or is not one this toolchain may replace."""


class BudgetError(UserError):
    """No (depth, dims, precision) of the export satisfies the budget."""


class ProviderError(UserError):
    """An execution provider was asked for that this onnxruntime does not have."""


class ProfileError(UserError):
    """A device profile is unreadable or does not cover what the choice needs."""


class ClosedError(UserError):
    """An Embedder was used after ``close()`` (or after leaving its ``with`` block)."""


class UsageError(UserError):
    """A command-line argument is unknown, missing, or of a bad value (exit 2, one line)."""


class ServiceStoppedError(EseError):
    """A service this command runs (ese-serve's Triton server) stopped without being asked."""


class BudgetValueError(UserError, ValueError):
    """A Budget field has an invalid value (not positive, not finite, or of the wrong type)."""


class ThreadCountError(UserError, ValueError):
    """A CPU thread count is not a whole number >= 1, or far above this machine's CPU count."""


class TextInputError(UserError, ValueError):
    """An input text cannot be tokenised (a lone surrogate, which is not Unicode text)."""


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model's maximum sequence length and were cut."""


class ProviderFallbackWarning(RuntimeWarning):
    """ONNX Runtime did not activate the execution provider that was asked for."""
