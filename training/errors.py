"""Typed errors of ese-train; every one the user can fix derives from ``UserError``."""

from __future__ import annotations

from pathlib import Path

from ese.format.errors import InternalError, UserError


class TrainingError(UserError):
    """Root of the errors the user of ese-train can fix."""


class DataFormatError(TrainingError):
    """A training or dev file is malformed; the message names the file and the line."""

    def __init__(self, path: Path | str, line: int, message: str) -> None:
        self.path = Path(path)
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


class TrainConfigError(TrainingError):
    """An option value is out of range or inconsistent with the model."""


class OutputExistsError(TrainingError):
    """--out exists and --force was not given."""


class CheckpointError(TrainingError):
    """No checkpoint to resume from, or it does not match this run's settings."""


class ModelDirError(TrainingError):
    """The model directory cannot be loaded for training."""


class TrainingBug(InternalError):
    """A bug in ese-train itself: please report it with the message."""
