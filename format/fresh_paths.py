"""New files and directories with a fresh name, whose mode the kernel derives from the umask.

``tempfile.mkstemp`` and ``mkdtemp`` create 0600 / 0700 entries, and widening them to what the
umask allows needs the umask; ``os.umask`` can only be read by changing it, which races with
every other thread creating files meanwhile. Here the entry is created with 0666 / 0777 and the
kernel applies the umask itself, as for any ``open`` or ``mkdir``: nothing reads or changes it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_TRIES = 100


def fresh_file(directory: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """Create ``directory/<prefix><random><suffix>`` (mode 0666 less the umask); its fd and path."""
    for _ in range(_TRIES):
        path = Path(directory) / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name {prefix}*{suffix} in {directory} after {_TRIES} tries")


def fresh_dir(directory: Path, prefix: str) -> Path:
    """Create ``directory/<prefix><random>`` (mode 0777 less the umask) and return it."""
    for _ in range(_TRIES):
        path = Path(directory) / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name {prefix}* in {directory} after {_TRIES} tries")
