"""Request fields both APIs share, checked one by one: the texts, the width, a flag.

Each check names the field (as the client spelled it), what came, and what to send instead.
"""

from __future__ import annotations

from ese.serving.api.errors import Refusal, RequestRefused


def texts_from(value: object, name: str, max_items: int) -> list[str]:
    """A string or a non-empty list of non-empty strings, at most ``max_items`` of them."""
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, list):
        items = value
    elif value is None:
        raise RequestRefused(
            Refusal.EMPTY_INPUT, f"'{name}' is missing: send a string or a list of strings", name
        )
    else:
        raise RequestRefused(
            Refusal.BAD_FIELD,
            f"'{name}' is {_kind(value)}: send a string or a list of strings",
            name,
        )
    if not items:
        raise RequestRefused(
            Refusal.EMPTY_INPUT, f"'{name}' is an empty list: send at least one string", name
        )
    if len(items) > max_items:
        raise RequestRefused(
            Refusal.TOO_MANY_ITEMS,
            f"'{name}' has {len(items)} items; this server takes at most {max_items} per "
            "request (--api-max-items): split it into smaller requests",
            name,
        )
    for index, item in enumerate(items):
        where = name if isinstance(value, str) else f"{name}[{index}]"
        if not isinstance(item, str):
            hint = " (token ids are not accepted: send the text)" if isinstance(item, int) else ""
            raise RequestRefused(
                Refusal.BAD_ITEM, f"'{where}' is {_kind(item)}, not a string{hint}", name
            )
        if not item:
            raise RequestRefused(
                Refusal.EMPTY_INPUT, f"'{where}' is an empty string: send some text", name
            )
    return items  # type: ignore[return-value]  # every item was checked to be a str


def dims_from(value: object, name: str, default: int, widest: int) -> int:
    """``default`` when absent (null), else a whole number in 1..``widest``."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= widest:
        raise RequestRefused(
            Refusal.BAD_DIMENSIONS,
            f"'{name}' is {value!r:.40}: this model serves 1..{widest} dimensions; ask for a "
            "whole number in that range, or leave it out for "
            f"{default}",
            name,
        )
    return value


def flag_from(value: object, name: str, default: bool) -> bool:
    """``default`` when absent (null), else true or false."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestRefused(
            Refusal.BAD_FIELD, f"'{name}' is {value!r:.40}: send true or false", name
        )
    return value


def choice_from(value: object, name: str, default: str, allowed: tuple[str, ...]) -> str:
    """``default`` when absent (null), else one of ``allowed``."""
    if value is None:
        return default
    if value not in allowed:
        raise RequestRefused(
            Refusal.BAD_FIELD,
            f"'{name}' is {value!r:.40}: send one of {', '.join(allowed)}",
            name,
        )
    return str(value)


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", bool: "a boolean", type(None): "null"}
    if type(value) in names:
        return names[type(value)]
    return f"a number ({value!r:.20})" if isinstance(value, (int, float)) else type(value).__name__
