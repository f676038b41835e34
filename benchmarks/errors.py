"""Typed errors of ese-bench, under the toolchain's two roots (user-fixable / our bug)."""

from __future__ import annotations

from ese.format.errors import InternalError, UserError


class BenchError(UserError):
    """A benchmark was asked for something the export, the data or this machine cannot give."""


class GridError(BenchError, ValueError):
    """A --batch / --seq / --dims list is empty, not whole numbers, or out of range."""


class DataError(BenchError):
    """An evaluation data set is missing or malformed (see ../shared/data/README.md)."""


class BackendError(BenchError):
    """A backend (torch, CUDA, sentence-transformers, Chromium) is not installed or usable."""


class BenchBug(InternalError):
    """An inconsistency inside ese-bench itself."""
