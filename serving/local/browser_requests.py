"""Refuse inference requests that a web page could make a browser send to the local server.

A page on any site can make its visitor's browser POST to ``http://127.0.0.1:8000`` without
asking anyone: a "simple" cross-origin request (``Content-Type: text/plain``, a form's
``application/x-www-form-urlencoded`` or ``multipart/form-data``) goes out with no CORS
preflight, and Triton's HTTP frontend parses the body as JSON whatever the header says. The
page cannot read the answer (Triton sends no ``Access-Control-Allow-*`` header), but the
server does the work.

Triton cannot refuse by header itself, but it can forward headers to the model as request
parameters (``--http-header-forward-pattern``). ``ese-serve`` forwards ``Origin`` and
``Content-Type``, and refuses (INVALID_ARGUMENT, HTTP 400) a request that carries an
``Origin`` (browsers send one on every cross-origin POST; tritonclient, curl and other
programs do not) or a content type other than JSON or Triton's binary-tensor
``application/octet-stream``. A request with no such header (every gRPC request, and
tritonclient's HTTP requests) passes.
"""

from __future__ import annotations

from collections.abc import Mapping

# RE2 pattern Triton matches against each header name (case-insensitively here).
FORWARDED_HEADERS = "(?i)^(origin|content-type)$"
ACCEPTED_TYPES = ("application/json", "application/octet-stream")


def browser_refusal(parameters: Mapping[str, object]) -> str | None:
    """Why a request with these (forwarded-header) parameters is refused; None if it is not."""
    headers = {str(name).lower(): str(value) for name, value in parameters.items()}
    if "origin" in headers:
        return (
            f"requests from web pages (Origin {headers['origin'][:80]!r}) are refused by this "
            "local server; call it from a program (tritonclient, curl) instead"
        )
    content_type = headers.get("content-type")
    if content_type is None:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in ACCEPTED_TYPES:
        return None
    return (
        f"Content-Type {content_type[:80]!r} is refused; send the request as "
        f"{' or '.join(ACCEPTED_TYPES)} (or with no Content-Type)"
    )
