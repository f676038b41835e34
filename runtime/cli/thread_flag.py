"""``--threads`` as an argparse type, checked against this machine's thread limit."""

from __future__ import annotations

import argparse

from ese.console.values import positive_int
from ese.format.errors import BadInputError
from ese.runtime.backends.thread_limit import checked_threads


def thread_count(text: str) -> int:
    """``--threads``: a whole number from 1 to 4 per CPU of this machine (``thread_limit``)."""
    value = positive_int(text)
    try:
        return checked_threads("--threads", value)
    except BadInputError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--threads=")) from None
