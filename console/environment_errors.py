"""Operating-system errors that the user's environment causes, not our code: one typed error.

A full disk, a full quota, a read-only file system or a permission denied are for the user to
fix (free space, choose another place, fix the permissions): the console runner turns each
such ``OSError`` into a ``UserError`` (exit 2, one line) here, the one place that maps them
by errno. Every other ``OSError`` stays what it is.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ese.format.errors import UserError

# errno -> (what happened, what to do)
_ENVIRONMENT_ERRNOS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free some space, or write somewhere else"),
    errno.EDQUOT: ("disk quota exceeded", "free some space, or write somewhere else"),
    errno.EROFS: ("read-only file system", "write somewhere writable"),
    errno.EACCES: ("permission denied", "fix the permissions, or write somewhere else"),
}


# How Rust's std::io::Error reads (tokenizers' and safetensors' save raise a bare Exception).
_RUST_IO_ERROR = re.compile(r"\(os error (\d+)\)\s*$")


def as_os_error(exc: BaseException) -> OSError | None:
    """``exc`` itself when it is an ``OSError``; an ``OSError`` of the same errno for a Rust
    library's bare ``Exception("... (os error 28)")``; None otherwise."""
    if isinstance(exc, OSError):
        return exc
    if type(exc) is Exception and (found := _RUST_IO_ERROR.search(str(exc))):
        number = int(found.group(1))
        return OSError(number, os.strerror(number))
    return None


def storage_error(exc: OSError, target: str | None = None) -> UserError | None:
    """The user's error for ``exc`` (``target``: what was being written), or None when the
    errno is not the environment's doing."""
    known = _ENVIRONMENT_ERRNOS.get(exc.errno or 0)
    if known is None:
        return None
    what, advice = known
    # a copy, link or rename names its destination second: the side that was written
    written = exc.filename2 or exc.filename
    place = target or (str(written) if written else "a file")
    return UserError(f"cannot write {place}: {what}; {advice}")


def writing_into(exc: OSError, directory: str) -> bool:
    """True when ``exc`` is a write error (no space, quota, read-only) that names no file
    outside ``directory``: a full disk under a staged output, told as that output's."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return False
    written = exc.filename2 or exc.filename
    return not written or str(written).startswith(directory.rstrip("/") + "/")


@contextmanager
def writing(target: str) -> Iterator[None]:
    """An environment ``OSError`` in the block is a ``UserError`` naming ``target``
    (a write that names no file: ``"standard output"``)."""
    try:
        yield
    except OSError as exc:
        error = storage_error(exc, target)
        if error is None:
            raise
        raise error from exc
