"""Errors of the variant step (int8 / fp16 graphs); the roots live in ese.format.errors."""

from __future__ import annotations

from ese.format.errors import UserError


class PrecisionError(UserError):
    """An unknown precision was asked for, or one whose gate lacks its data."""


class VariantGateError(UserError):
    """A variant graph does not agree with its fp32 graph closely enough; nothing was written."""
