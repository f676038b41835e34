"""``ese-serve``'s flags of the embedding HTTP API (the batching flags are Triton's, shared)."""

from __future__ import annotations

import argparse

from ese.console import non_negative_int, positive_int
from ese.serving.api.options import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_PENDING_TEXTS,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_PORT,
    LOOPBACK,
)


def add_api_flags(parser: argparse.ArgumentParser) -> None:
    """``--api-port``, ``--api-host``, ``--no-api``, ``--no-triton`` and the request limits."""
    api = parser.add_argument_group("embedding API (OpenAI /v1/embeddings, TEI /embed)")
    api.add_argument(
        "--api-port",
        type=non_negative_int,
        default=DEFAULT_PORT,
        help=f"port of the HTTP API (default {DEFAULT_PORT}; 0: any free port)",
    )
    api.add_argument(
        "--api-host",
        default=LOOPBACK,
        help=f"IPv4 address the API listens on (default {LOOPBACK}, this machine only; 0.0.0.0 "
        "opens it to the network: the API has no authentication of its own)",
    )
    api.add_argument(
        "--api-max-items",
        type=positive_int,
        default=DEFAULT_MAX_ITEMS,
        help=f"texts per API request at most (default {DEFAULT_MAX_ITEMS})",
    )
    api.add_argument(
        "--api-max-request-bytes",
        type=positive_int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        help=f"bytes of body per API request at most (default {DEFAULT_MAX_REQUEST_BYTES})",
    )
    api.add_argument(
        "--api-max-pending-texts",
        type=positive_int,
        default=DEFAULT_MAX_PENDING_TEXTS,
        help="texts queued or being encoded at most; a request past it is refused with 503 "
        f"(default {DEFAULT_MAX_PENDING_TEXTS})",
    )
    which = api.add_mutually_exclusive_group()
    which.add_argument("--no-api", action="store_true", help="serve Triton's protocols only")
    which.add_argument(
        "--no-triton",
        action="store_true",
        help="serve the HTTP API alone, without Triton (needs no serve extra)",
    )
