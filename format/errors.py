"""Typed errors with two roots: what the user can fix, and what is our bug.

Every ``ese`` package raises subclasses of these two roots; the export directory's own errors
(the directory, its manifest, the files it lists, a device profile in it) are here too, beside
the format they check. Every message says what was asked, what exists, and what to do.
"""

from __future__ import annotations


class EseError(Exception):
    """Root of every error this toolchain raises on purpose."""


class UserError(EseError):
    """The input, the files or the environment are wrong; the message says how to fix it."""


class InternalError(EseError):
    """A bug in this toolchain: please report it with the message."""


class BadInputError(UserError, ValueError):
    """A value given is invalid: a command-line argument, a Budget field, a thread count, a
    shape range, an option of a provider, or an input text that cannot be tokenised."""


class ExportDirError(UserError):
    """The export directory is missing, incomplete, or not an export directory."""


class ManifestError(ExportDirError):
    """manifest.json is unreadable, of an unknown schema version, or inconsistent."""


class IntegrityError(ExportDirError):
    """A file listed in the manifest is missing, or its size or sha256 does not match."""


class ProfileError(UserError):
    """A device profile is unreadable or does not cover what the choice needs."""
