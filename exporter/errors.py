"""Errors of the exporter; the roots live in ese.format.errors."""

from __future__ import annotations

from ese.format.errors import InternalError, UserError


class ModelLoadError(UserError):
    """The model path is missing, is not a model directory, or its files cannot be read."""


class UnsupportedArchitectureError(UserError):
    """The model is not an encoder this exporter can cut by depth."""


class PoolingError(UserError):
    """The model declares no pooling, or one that cannot be exported faithfully."""


class PaddingSideError(UserError):
    """The model is declared to pad on the left; the graphs take right-padded batches."""


class DepthError(UserError):
    """The requested depths are empty, duplicated or outside the model's layers."""


class CalibrationError(UserError):
    """The calibration corpus is unreadable or too small to fit the projection."""


class QualitySetError(UserError):
    """A --quality-set file is unreadable, of no stated format, or malformed."""


class ParityError(UserError):
    """An exported graph does not reproduce the PyTorch model within tolerance."""


class ExportBug(InternalError):
    """An export step produced something the next step cannot use."""


class RemoteCodeError(ModelLoadError):
    """The model directory needs its own Python code to load, and --trust-remote-code is off."""


class WeightsMismatchError(ModelLoadError):
    """The checkpoint lacks weights the model needs, or holds tensors the model does not use."""


class TokenizerMismatchError(ModelLoadError):
    """The tokenizer yields ids the model's embeddings do not have."""
