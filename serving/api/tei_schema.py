"""Hugging Face text-embeddings-inference's ``POST /embed`` and its error shape.

Request ``{"inputs": str | [str], "normalize": true, "truncate": false, "dimensions": int}``;
the response is a list of vectors (one per input, also for a single string). ``normalize``
false gives the raw leading ``dimensions`` values of the graph's output, not unit length.
``truncate`` false (TEI's default) refuses a text longer than the model's maximum length
(413); true cuts it there.
"""

from __future__ import annotations

from typing import Any

from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.fields import dims_from, flag_from, texts_from
from ese.serving.api.service import EmbeddingService

# TEI answers a request it understood but cannot take with 422, as its router does.
_UNPROCESSABLE = {Refusal.EMPTY_INPUT, Refusal.BAD_ITEM, Refusal.BAD_FIELD, Refusal.BAD_DIMENSIONS}
_ERROR_TYPES = {
    Refusal.EMPTY_INPUT: "Empty",
    Refusal.OVERLOADED: "Overloaded",
    Refusal.INTERNAL: "Backend",
}


def tei_embed(body: dict[str, Any], service: EmbeddingService) -> list[list[float]]:
    """The response to one ``/embed`` request body."""
    texts = texts_from(body.get("inputs"), "inputs", service.options.api_max_items)
    widest = service.widest_dims
    dims = dims_from(body.get("dimensions"), "dimensions", service.default_dims, widest)
    normalize = flag_from(body.get("normalize"), "normalize", True)
    truncate = flag_from(body.get("truncate"), "truncate", False)
    embedded = service.embed(texts, dims=dims, normalize=normalize, refuse_long=not truncate)
    vectors: list[list[float]] = embedded.vectors.tolist()
    return vectors


def tei_error(refused: RequestRefused) -> tuple[int, dict[str, Any]]:
    """``{"error": message, "error_type": ...}`` with TEI's status for the refusal."""
    status = 422 if refused.kind in _UNPROCESSABLE else refused.status
    error_type = _ERROR_TYPES.get(refused.kind, "Validation")
    return status, {"error": str(refused), "error_type": error_type}
