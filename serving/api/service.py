"""What both APIs do with a checked request: count its tokens, queue its texts, wait for them.

service = EmbeddingService(embedder, options)
embedded = service.embed(["a text"], dims=64, normalize=True, refuse_long=False)
embedded.vectors, embedded.tokens       # float32 [1, 64], tokens counted by our tokenizer
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np

from ese.runtime import Embedder
from ese.serving.api.batcher import EncodeBatcher
from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.metrics import ApiMetrics
from ese.serving.api.options import ApiOptions

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Embedded:
    """One request's vectors, in its input order, and its token count."""

    vectors: np.ndarray
    tokens: int


class EmbeddingService:
    """The embedder, the batcher and the metrics behind every route."""

    def __init__(self, embedder: Embedder, options: ApiOptions) -> None:
        self.embedder = embedder
        self.options = options
        self.metrics = ApiMetrics()
        self.batcher = EncodeBatcher(
            embedder,
            self.metrics,
            max_batch_size=options.max_batch_size,
            max_queue_delay_us=options.max_queue_delay_us,
            max_pending_texts=options.api_max_pending_texts,
            workers=options.workers,
        )

    @property
    def default_dims(self) -> int:
        return self.embedder.dims

    @property
    def widest_dims(self) -> int:
        return self.embedder.max_dims

    def embed(self, texts: list[str], *, dims: int, normalize: bool, refuse_long: bool) -> Embedded:
        """The texts' vectors at ``dims``; texts longer than the model's maximum length are
        truncated, or refused when ``refuse_long``."""
        encodings, cut = self.embedder.tokenizer.encode(texts)
        if cut and refuse_long:
            first = next(i for i, e in enumerate(encodings) if e.overflowing)
            raise RequestRefused(
                Refusal.TOO_LONG,
                f"input {first} is longer than the model's {self.embedder.max_seq_length} "
                f"tokens ({cut} of {len(texts)} are): send 'truncate': true to cut them, or "
                "shorten them",
                "inputs",
            )
        self.metrics.inputs(len(texts), cut)
        future = self.batcher.submit(texts, dims, normalize)
        try:
            vectors = future.result()
        except Exception:  # logged by the batcher with its traceback; the client gets a line
            raise RequestRefused(
                Refusal.INTERNAL, "the server failed to encode this request; see its log"
            ) from None
        return Embedded(vectors, sum(len(e.ids) for e in encodings))

    def close(self) -> None:
        self.batcher.stop()


def json_object(body: bytes) -> dict[str, object]:
    """The request body as a JSON object; malformed JSON, or any other JSON value, is refused."""
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestRefused(Refusal.MALFORMED_JSON, "the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise RequestRefused(
            Refusal.MALFORMED_JSON,
            f"the body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
        ) from None
    except RecursionError:
        raise RequestRefused(Refusal.MALFORMED_JSON, "the body's JSON nests too deep") from None
    if not isinstance(value, dict):
        raise RequestRefused(
            Refusal.MALFORMED_JSON,
            f"the body is a JSON {type(value).__name__}, not an object: send {{...}}",
        )
    return value
