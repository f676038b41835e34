"""An options record from parsed flags: the fields whose flag has the same name, read once.

A command's options dataclass (``ServeOptions``, ``RunOptions``, ...) takes most of its fields
straight from the flag of the same name (``--http-port`` is ``args.http_port``). The command
names only the fields that are converted or computed; every other field is the flag's value,
or the field's default where the command has no such flag.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def options_from_args(record: type[R], args: argparse.Namespace, **converted: Any) -> R:
    """``record(...)``: ``converted`` as given, each other field from ``args``' same-named flag.

    A field with no flag of its name and not in ``converted`` keeps its default (a field
    without a default then fails as a missing argument: a bug of the command, not the user's).
    """
    flags = {
        f.name: getattr(args, f.name)
        for f in fields(record)
        if f.init and f.name not in converted and hasattr(args, f.name)
    }
    return record(**flags, **converted)
