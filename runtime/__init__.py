"""ese.runtime: a torch-free runtime for ese exports (numpy, onnxruntime and tokenizers only).

>>> from ese.runtime import Budget, Embedder
>>> emb = Embedder("exports/minilm", budget=Budget(latency_ms=5, batch_size=8, seq_len=64))
>>> vectors = emb.encode(["first sentence", "second"])
>>> print(emb.choice)
"""

from __future__ import annotations

from .budget import Budget
from .choice import Choice
from .contract import Precision
from .device import device_id
from .embedder import Embedder
from .errors import (
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
    TruncationWarning,
    UserError,
)
from .selection import select

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
    "TruncationWarning",
    "UserError",
    "device_id",
    "select",
]
