"""Write an export into a temporary sibling directory and move it into place only when complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputDirError


def check_output_dir(out: Path, force: bool) -> None:
    """Refuse an existing output without ``force`` and an unwritable parent, before any work."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"--out {out} is an existing file; choose a directory path")
    if out.exists() and not force:
        raise OutputDirError(
            f"--out {out} already exists; pass --force to replace it, or choose another path"
        )
    parent = out.resolve().parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(f"cannot write to {existing} (for --out {out}): permission denied")


@contextmanager
def staged_directory(out: Path, force: bool) -> Iterator[Path]:
    """Yield an empty temporary directory beside ``out``; on success it becomes ``out``.

    On any failure, Ctrl-C included, the temporary directory is removed and ``out`` is left as
    it was: nothing half-written looks like an export.
    """
    check_output_dir(out, force)
    parent = out.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
        current = os.umask(0)
        os.umask(current)
        staging.chmod(0o777 & ~current)
    except OSError as exc:
        raise OutputDirError(f"cannot create the output directory beside {out}: {exc}") from exc
    try:
        yield staging
        _move_into_place(staging, out.resolve(), force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _move_into_place(staging: Path, out: Path, force: bool) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if not force:
        raise OutputDirError(f"--out {out} appeared while exporting; pass --force to replace it")
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    try:
        staging.rename(out)
    except BaseException:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
