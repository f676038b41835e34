"""The API over HTTP/1.1: the standard library's threading server, one thread per connection.

    with ApiServer(embedder, ApiOptions(api_port=0)) as api:
        print(api.url)              # http://127.0.0.1:<a free port>

Each request is checked at the transport first (a JSON content type, a Content-Length within
``api_max_request_bytes``), then by its route. A refusal is answered in the route's error shape
with its 4xx status and one line; an unexpected failure is logged with its traceback and
answered 500 with a line that names none of it. The server has no authentication.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ese.format.errors import UserError
from ese.runtime import Embedder
from ese.serving.api.errors import Refusal, RequestRefused
from ese.serving.api.options import ApiOptions
from ese.serving.api.routes import (
    JSON,
    Reply,
    Route,
    error_shape_for,
    refusal_reply,
    route_for,
)
from ese.serving.api.service import EmbeddingService, json_object

LOG = logging.getLogger(__name__)
READ_TIMEOUT_S = 60.0  # a client that stops sending mid-request is dropped after this
# Connections the kernel holds for accept(): socketserver's default of 5 resets clients when
# more than that connect at once (64 concurrent clients do); the kernel caps it at somaxconn.
LISTEN_BACKLOG = 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG
    service: EmbeddingService


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ese-serve"
    sys_version = ""
    timeout = READ_TIMEOUT_S
    # The head and the body go out in two writes: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the head (about 40 ms on Linux) on every keep-alive reply.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        path = urlsplit(self.path).path
        service = self.server.service
        shape = error_shape_for(path)
        try:
            route: Route | None = route_for(method, path)
        except RequestRefused as refused:
            route = None
            reply = refusal_reply(shape, refused)
            service.metrics.error(refused.kind.value)
            self.close_connection = self.close_connection or method == "POST"
        if route is not None:
            service.metrics.request(route.name)
            reply = self._answer(route, service)
        self._send(reply)

    def _answer(self, route: Route, service: EmbeddingService) -> Reply:
        try:
            body = (
                self._json_body(service.options.api_max_request_bytes) if route.takes_body else {}
            )
            return route.answer(body, service)
        except RequestRefused as refused:
            service.metrics.error(refused.kind.value)
            return refusal_reply(route.error, refused)
        except Exception:  # our bug: logged whole, answered with one line and no traceback
            LOG.exception("%s %s failed", route.method, route.name)
            service.metrics.error(Refusal.INTERNAL.value)
            bug = RequestRefused(Refusal.INTERNAL, "internal error; see the server's log")
            return refusal_reply(route.error, bug)

    def _json_body(self, limit: int) -> dict[str, Any]:
        """The body as a JSON object; on a refusal before it is read, the connection closes."""
        content_type = self.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != JSON:
            self.close_connection = True
            raise RequestRefused(
                Refusal.MEDIA_TYPE,
                f"Content-Type is {content_type or 'missing'!r}: send the body as "
                f"{JSON} (curl: -H 'Content-Type: {JSON}')",
            )
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            raise RequestRefused(
                Refusal.NO_LENGTH, "Content-Length is missing: send the body with its length"
            )
        try:
            length = int(length_header)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise RequestRefused(
                Refusal.MALFORMED_JSON, f"Content-Length {length_header!r:.20} is not a size"
            )
        if length > limit:
            self.close_connection = True
            raise RequestRefused(
                Refusal.TOO_LARGE,
                f"the body has {length} bytes; this server takes at most {limit} per request "
                "(--api-max-request-bytes): split it into smaller requests",
            )
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise RequestRefused(
                Refusal.MALFORMED_JSON, f"the body ended after {len(body)} of {length} bytes"
            )
        return json_object(body)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client went away: nothing to answer
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)


class ApiServer:
    """The API on ``options.api_host:api_port``; a context manager that starts and stops it."""

    def __init__(self, embedder: Embedder, options: ApiOptions | None = None) -> None:
        self.options = options or ApiOptions()
        self.embedder = embedder
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.service: EmbeddingService | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise UserError("the API server has not been started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.options.api_host}:{self.port}"

    def start(self) -> ApiServer:
        o = self.options
        try:
            server = _Server((o.api_host, o.api_port), _Handler)
        except OSError as exc:
            raise UserError(
                f"the API cannot listen on {o.api_host}:{o.api_port} ({exc.strerror or exc}); "
                "choose another --api-port or --api-host"
            ) from None
        server.service = self.service = EmbeddingService(self.embedder, o)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="ese-api-http", daemon=True
        )
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return (
            self._thread is not None
            and self._thread.is_alive()
            and self.service is not None
            and self.service.batcher.is_alive()
        )

    def stop(self) -> None:
        """Stop listening, finish the queued encodes; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self.service is not None:
            self.service.close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
