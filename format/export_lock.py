"""One writer at a time for an export directory: an exclusive lock around read-build-merge-write.

Two ``ese-variants`` runs that each read the manifest, add their graphs and write it back would
otherwise keep one run's graphs and orphan the other's files. The lock is ``flock`` on the
directory itself (Linux, standard library): no lock file is left behind, and a process that dies
releases it. A second writer waits for it, up to a bound, then gives up with
``ExportDirError``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ese.format.errors import ExportDirError

LOCK_WAIT_S = 3600.0  # adding variants to a large model takes minutes; a stuck run, not hours
_POLL_S = 0.25


@contextmanager
def export_locked(
    export_dir: Path,
    *,
    wait_s: float = LOCK_WAIT_S,
    waiting: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold ``export_dir``'s exclusive lock; wait up to ``wait_s`` seconds for another holder.

    ``waiting`` is told once when another process holds the lock.
    """
    fd = os.open(export_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _acquire(fd, Path(export_dir), wait_s, waiting)
        yield
    finally:
        os.close(fd)  # releases the lock


def _acquire(
    fd: int, export_dir: Path, wait_s: float, waiting: Callable[[str], None] | None
) -> None:
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        if time.monotonic() >= deadline:
            raise ExportDirError(
                f"another process (an ese-variants run) has been writing {export_dir} for over "
                f"{wait_s:.0f} s; let it finish, or stop it, and run again"
            )
        if not told and waiting is not None:
            waiting(f"another process is writing {export_dir}; waiting for it to finish")
            told = True
        time.sleep(_POLL_S)
