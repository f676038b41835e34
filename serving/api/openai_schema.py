"""OpenAI's embeddings API: ``POST /v1/embeddings`` and ``GET /v1/models``, and its error shape.

Request ``{"input": str | [str], "model": str, "dimensions": int, "encoding_format": "float" |
"base64"}``; ``model`` may be left out, else it must be the served name. Texts longer than the
model's maximum length are truncated (as sentence-transformers does; OpenAI would refuse them).
``base64`` is each vector's little-endian float32 bytes, as OpenAI sends it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np

from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.fields import choice_from, dims_from, texts_from
from ese.serving.api.service import EmbeddingService

FLOAT, BASE64 = "float", "base64"


@dataclass(frozen=True)
class OpenAIRequest:
    texts: list[str]
    model: str
    dims: int
    encoding: str


def openai_request(body: dict[str, Any], service: EmbeddingService) -> OpenAIRequest:
    served = service.options.model_name
    model = body.get("model")
    if model is not None and model != served:
        raise RequestRefused(
            Refusal.UNKNOWN_MODEL,
            f"model {model!r:.60} is not served here; this server serves {served!r}",
            "model",
        )
    return OpenAIRequest(
        texts=texts_from(body.get("input"), "input", service.options.api_max_items),
        model=served,
        dims=dims_from(
            body.get("dimensions"), "dimensions", service.default_dims, service.widest_dims
        ),
        encoding=choice_from(
            body.get("encoding_format"), "encoding_format", FLOAT, (FLOAT, BASE64)
        ),
    )


def openai_embeddings(body: dict[str, Any], service: EmbeddingService) -> dict[str, Any]:
    """The response to one ``/v1/embeddings`` request body."""
    request = openai_request(body, service)
    embedded = service.embed(request.texts, dims=request.dims, normalize=True, refuse_long=False)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encoded(v, request.encoding)}
            for i, v in enumerate(embedded.vectors)
        ],
        "model": request.model,
        "usage": {"prompt_tokens": embedded.tokens, "total_tokens": embedded.tokens},
    }


def openai_models(service: EmbeddingService) -> dict[str, Any]:
    """``GET /v1/models``: the one served model, with its default and widest width."""
    return {
        "object": "list",
        "data": [
            {
                "id": service.options.model_name,
                "object": "model",
                "created": 0,
                "owned_by": "ese",
                "dimensions": service.default_dims,
                "max_dimensions": service.widest_dims,
                "max_input_tokens": service.embedder.max_seq_length,
            }
        ],
    }


def openai_error(refused: RequestRefused) -> tuple[int, dict[str, Any]]:
    """``{"error": {"message", "type", "param", "code"}}`` with the refusal's status."""
    kind = "server_error" if refused.status >= 500 else "invalid_request_error"
    code = refused.kind.value
    error = {"message": str(refused), "type": kind, "param": refused.param, "code": code}
    return refused.status, {"error": error}


def _encoded(vector: np.ndarray, encoding: str) -> list[float] | str:
    if encoding == BASE64:
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    values: list[float] = vector.tolist()
    return values
