"""File digests, shared by the exporter (which records them) and the runtime (which checks them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ese.format.manifest import FileEntry

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(root: Path, relative: str) -> FileEntry:
    """A manifest entry for ``root/relative``, measured now."""
    path = Path(root) / relative
    return FileEntry(path=relative, sha256=sha256_of(path), bytes=path.stat().st_size)
