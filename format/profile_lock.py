"""One writer at a time for ``DIR/profiles/``: an exclusive lock held around read-merge-write.

Two processes that each read a profile, add their entries and write it back would otherwise
lose one side's entries. The lock is ``flock`` on the folder itself (Linux, standard library),
so no lock file is left behind, and a process that dies releases it.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ese.format.confined import resolve_inside
from ese.format.contract import PROFILES_DIR


@contextmanager
def profiles_locked(export_dir: Path) -> Iterator[Path]:
    """Create ``DIR/profiles`` if needed and hold its lock; yields the folder."""
    folder = resolve_inside(export_dir, PROFILES_DIR)
    folder.mkdir(exist_ok=True)
    fd = os.open(resolve_inside(export_dir, PROFILES_DIR), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)  # releases the lock
