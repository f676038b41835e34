"""A request the API refuses: what was wrong (a kind, for metrics and each API's error shape)
and a one-line reason naming the field and what to send instead."""

from __future__ import annotations

from enum import Enum

from ese.format.errors import UserError


class Refusal(str, Enum):
    """Why a request was refused, with the HTTP status both APIs share for it."""

    MALFORMED_JSON = "malformed_json"
    MEDIA_TYPE = "unsupported_media_type"
    NO_LENGTH = "length_required"
    TOO_LARGE = "request_too_large"
    TOO_MANY_ITEMS = "too_many_items"
    EMPTY_INPUT = "empty_input"
    BAD_ITEM = "bad_item"
    BAD_FIELD = "bad_field"
    BAD_DIMENSIONS = "bad_dimensions"
    TOO_LONG = "input_too_long"
    UNKNOWN_MODEL = "model_not_found"
    NOT_FOUND = "not_found"
    METHOD = "method_not_allowed"
    OVERLOADED = "overloaded"
    INTERNAL = "internal"

    @property
    def status(self) -> int:
        return _STATUS.get(self, 400)


_STATUS = {
    Refusal.MEDIA_TYPE: 415,
    Refusal.NO_LENGTH: 411,
    Refusal.TOO_LARGE: 413,
    Refusal.TOO_MANY_ITEMS: 413,
    Refusal.TOO_LONG: 413,
    Refusal.UNKNOWN_MODEL: 404,
    Refusal.NOT_FOUND: 404,
    Refusal.METHOD: 405,
    Refusal.OVERLOADED: 503,
    Refusal.INTERNAL: 500,
}


class RequestRefused(UserError):
    """One API request is refused with ``kind``'s status; ``param`` names the field at fault."""

    def __init__(self, kind: Refusal, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.param = param

    @property
    def status(self) -> int:
        return self.kind.status
