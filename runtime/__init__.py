"""ese.runtime: a torch-free runtime for ese exports (numpy, onnxruntime and tokenizers only).

>>> from ese.runtime import Budget, Embedder
>>> emb = Embedder("exports/minilm", budget=Budget(latency_ms=5, batch_size=8, seq_len=64))
>>> vectors = emb.encode(["first sentence", "second"])
>>> print(emb.choice)

This module is the user API. Besides it, only ``ese.runtime.format`` (the export format),
``ese.runtime.cli`` (the command-line layer) and ``ese.runtime.errors`` are public to the
other ese packages; every other runtime module is private (import-linter, pyproject.toml).

Its names are imported on first use (PEP 562), so that ``import ese.runtime`` itself loads
nothing: the console scripts' launcher (:mod:`ese.runtime.launch`) installs its signal
handlers before numpy, onnxruntime and tokenizers load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_ERRORS = "ese.runtime.errors"
# Each public name: (module, name in that module).
_WHERE = {
    "resolve_providers": ("ese.runtime.backends.providers", "resolve"),
    "Budget": ("ese.runtime.choice.budget", "Budget"),
    "Choice": ("ese.runtime.choice.chosen", "Choice"),
    "select": ("ese.runtime.choice.select", "select"),
    "device_id": ("ese.runtime.device", "device_id"),
    "Embedder": ("ese.runtime.embedder", "Embedder"),
    "sliced_unit": ("ese.runtime.encode", "sliced_unit"),
    "Precision": ("ese.runtime.format.contract", "Precision"),
    "TextTokenizer": ("ese.runtime.tokens", "TextTokenizer"),
    **{
        name: (_ERRORS, name)
        for name in (
            "BudgetError",
            "BudgetValueError",
            "EseError",
            "ExportDirError",
            "IntegrityError",
            "InternalError",
            "ManifestError",
            "ProfileError",
            "ProviderError",
            "ProviderFallbackWarning",
            "TextInputError",
            "ThreadCountError",
            "TruncationWarning",
            "UserError",
        )
    },
}

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept here)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'ese.runtime' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
