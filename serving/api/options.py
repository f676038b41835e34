"""Where the API listens, what it accepts, and how it batches (``ese-serve``'s --api-* flags)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ese.format.errors import UserError

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_MAX_ITEMS = 2048  # OpenAI's own limit of inputs per request
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_PENDING_TEXTS = 4 * DEFAULT_MAX_ITEMS


@dataclass(frozen=True)
class ApiOptions:
    """The API's address, request limits, batching, served model name and encode threads.

    ``api_port`` 0 takes a free port (read it back from ``ApiServer.port``). Requests of up to
    ``api_max_items`` texts and ``api_max_request_bytes`` bytes of body are served; concurrent
    ones are encoded together, up to ``max_batch_size`` texts per graph run, waiting at most
    ``max_queue_delay_us`` for more once one has come; a request that would take the texts
    queued or being encoded past ``api_max_pending_texts`` is refused (503) at once.
    """

    api_host: str = LOOPBACK
    api_port: int = DEFAULT_PORT
    model_name: str = "ese"
    api_max_items: int = DEFAULT_MAX_ITEMS
    api_max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    api_max_pending_texts: int = DEFAULT_MAX_PENDING_TEXTS
    max_batch_size: int = 32
    max_queue_delay_us: int = 1000
    workers: int = 1

    def __post_init__(self) -> None:
        try:
            ipaddress.IPv4Address(self.api_host)
        except ValueError:
            raise UserError(
                f"--api-host {self.api_host!r} is not an IPv4 address; give one such as "
                f"{LOOPBACK} (this machine only) or 0.0.0.0 (every interface)"
            ) from None
        if isinstance(self.api_port, bool) or not 0 <= self.api_port < 65536:
            raise UserError(f"--api-port {self.api_port!r} must be in 0..65535")
        limits = ("api_max_items", "api_max_request_bytes", "api_max_pending_texts")
        for name in (*limits, "max_batch_size", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{name}={value!r} must be a whole number >= 1")
        if self.api_max_pending_texts < self.api_max_items:
            raise UserError(
                f"--api-max-pending-texts {self.api_max_pending_texts} is below --api-max-items "
                f"{self.api_max_items}: a request of that many texts could never be served; "
                "raise it or lower --api-max-items"
            )
        delay = self.max_queue_delay_us
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise UserError(f"max_queue_delay_us={delay!r} must be a whole number >= 0")
        if not self.model_name:
            raise UserError("the served model name must not be empty")
