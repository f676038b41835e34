"""ese.runtime: a torch-free runtime for ese exports (numpy, onnxruntime and tokenizers only).

>>> from ese.runtime import Budget, Embedder
>>> emb = Embedder("exports/minilm", budget=Budget(latency_ms=5, batch_size=8, seq_len=64))
>>> vectors = emb.encode(["first sentence", "second"])
>>> print(emb.choice)

This module is the user API: ``Embedder``, ``Budget``, the ``Choice`` it makes, the graph
``Precision`` and the two error roots (``UserError``: the input, the files or the environment
are wrong; ``InternalError``: our bug), both under ``EseError``. The errors a caller catches by
name (``BudgetError``, ``ProviderError``, ``ClosedError``, ...) are in :mod:`ese.runtime.errors`,
the export's own (``ManifestError``, ``IntegrityError``, ...) in :mod:`ese.format.errors`.

Its names are imported on first use (PEP 562), so that ``import ese.runtime`` itself loads
nothing: the console scripts' launcher (:mod:`ese.console.launch`) installs its signal
handlers before numpy, onnxruntime and tokenizers load.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ese.format.contract import Precision
    from ese.format.errors import EseError, InternalError, UserError
    from ese.runtime.choice.budget import Budget
    from ese.runtime.choice.chosen import Choice
    from ese.runtime.embedder import Embedder

# Each public name: (module, name in that module).
_WHERE = {
    "Embedder": ("ese.runtime.embedder", "Embedder"),
    "Budget": ("ese.runtime.choice.budget", "Budget"),
    "Choice": ("ese.runtime.choice.chosen", "Choice"),
    "Precision": ("ese.format.contract", "Precision"),
    "EseError": ("ese.format.errors", "EseError"),
    "UserError": ("ese.format.errors", "UserError"),
    "InternalError": ("ese.format.errors", "InternalError"),
}

__all__ = ["Budget", "Choice", "Embedder", "EseError", "InternalError", "Precision", "UserError"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'ese.runtime' has no attribute {name!r}")
    module, attribute = _WHERE[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
