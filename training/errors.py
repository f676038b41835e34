"""Typed errors of ese-train; every one the user can fix derives from ``UserError``."""

from __future__ import annotations

from pathlib import Path

from ese.format.errors import UserError


def malformed(path: Path | str, line: int, message: str) -> UserError:
    """A training or dev file is malformed: the error names the file and the line."""
    return UserError(f"{path}:{line}: {message}")
