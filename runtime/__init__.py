"""ese.runtime: a torch-free runtime for ese exports (numpy, onnxruntime and tokenizers only).

>>> from ese.runtime import Budget, Embedder
>>> emb = Embedder("exports/minilm", budget=Budget(latency_ms=5, batch_size=8, seq_len=64))
>>> vectors = emb.encode(["first sentence", "second"])
>>> print(emb.choice)

This module is the user API. Besides it, only ``ese.runtime.format`` (the export format),
``ese.runtime.cli`` (the command-line layer) and ``ese.runtime.errors`` are public to the
other ese packages; every other runtime module is private (import-linter, pyproject.toml).
"""

from __future__ import annotations

from ese.runtime.backends.providers import resolve as resolve_providers
from ese.runtime.choice.budget import Budget
from ese.runtime.choice.chosen import Choice
from ese.runtime.choice.select import select
from ese.runtime.device import device_id
from ese.runtime.embedder import Embedder
from ese.runtime.encode import sliced_unit
from ese.runtime.errors import (
    BudgetError,
    BudgetValueError,
    EseError,
    ExportDirError,
    IntegrityError,
    InternalError,
    ManifestError,
    ProfileError,
    ProviderError,
    ProviderFallbackWarning,
    TextInputError,
    ThreadCountError,
    TruncationWarning,
    UserError,
)
from ese.runtime.format.contract import Precision
from ese.runtime.tokens import TextTokenizer

__all__ = [
    "Budget",
    "BudgetError",
    "BudgetValueError",
    "Choice",
    "Embedder",
    "EseError",
    "ExportDirError",
    "IntegrityError",
    "InternalError",
    "ManifestError",
    "Precision",
    "ProfileError",
    "ProviderError",
    "ProviderFallbackWarning",
    "TextInputError",
    "TextTokenizer",
    "ThreadCountError",
    "TruncationWarning",
    "UserError",
    "device_id",
    "resolve_providers",
    "select",
    "sliced_unit",
]
