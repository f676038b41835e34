"""The runtime's errors a caller catches by name, under the two roots of
:mod:`ese.format.errors` (``UserError``: the user can fix it; ``InternalError``: our bug).

Every message says what was asked, what exists, and what to do.
"""

from __future__ import annotations

from ese.format.errors import UserError


class BudgetError(UserError):
    """No (depth, dims, precision) of the export satisfies the budget."""


class ProviderError(UserError):
    """An execution provider was asked for that this onnxruntime does not have."""


class ClosedError(UserError):
    """An Embedder was used after ``close()`` (or after leaving its ``with`` block)."""


class TruncationWarning(UserWarning):
    """Some inputs were longer than the model's maximum sequence length and were cut."""


class ProviderFallbackWarning(RuntimeWarning):
    """ONNX Runtime did not activate the execution provider that was asked for."""
