"""The API's routes: which method and path answers what, and in which API's error shape.

Paths under ``/v1/`` are OpenAI's (errors ``{"error": {...}}``); the others are TEI's
(``{"error": ..., "error_type": ...}``), also for an unknown path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.openai_schema import openai_embeddings, openai_error, openai_models
from ese.serving.api.service import EmbeddingService
from ese.serving.api.tei_schema import tei_embed, tei_error

JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"

ErrorShape = Callable[[RequestRefused], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Route:
    """One endpoint: its name in the metrics, whether it takes a JSON body, what it answers."""

    name: str
    method: str
    takes_body: bool
    answer: Callable[[dict[str, Any], EmbeddingService], Reply]
    error: ErrorShape


def _json(payload: Any, status: int = 200) -> Reply:
    return Reply(status, JSON, json.dumps(payload, separators=(",", ":")).encode())


def _health(body: dict[str, Any], service: EmbeddingService) -> Reply:
    if not service.batcher.is_alive():
        raise RequestRefused(Refusal.OVERLOADED, "the encode workers are not running")
    return _json({"status": "ok"})


def _metrics(body: dict[str, Any], service: EmbeddingService) -> Reply:
    return Reply(200, PROMETHEUS, service.metrics.text().encode())


ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        Route(
            "/v1/embeddings",
            "POST",
            True,
            lambda body, service: _json(openai_embeddings(body, service)),
            openai_error,
        ),
        Route("/v1/models", "GET", False, lambda _, s: _json(openai_models(s)), openai_error),
        Route("/embed", "POST", True, lambda b, s: _json(tei_embed(b, s)), tei_error),
        Route("/health", "GET", False, _health, tei_error),
        Route("/metrics", "GET", False, _metrics, tei_error),
    )
}


def route_for(method: str, path: str) -> Route:
    """The route of ``method path``; ``RequestRefused`` (404 or 405) when there is none."""
    route = ROUTES.get(path)
    if route is None:
        raise RequestRefused(
            Refusal.NOT_FOUND,
            f"no route {path!r:.80}; this server answers "
            + ", ".join(f"{r.method} {r.name}" for r in ROUTES.values()),
        )
    if route.method != method:
        raise RequestRefused(Refusal.METHOD, f"{path} takes {route.method}, not {method:.10}")
    return route


def error_shape_for(path: str) -> ErrorShape:
    """The error shape of a path that has no route: OpenAI's under /v1/, else TEI's."""
    return openai_error if path.startswith("/v1/") else tei_error


def refusal_reply(shape: ErrorShape, refused: RequestRefused) -> Reply:
    status, payload = shape(refused)
    return _json(payload, status)
