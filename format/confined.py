"""Paths confined to the export directory: symlinks resolved, nothing outside is used."""

from __future__ import annotations

from pathlib import Path

from ese.format.errors import IntegrityError


def resolve_inside(root: Path, relative: str) -> Path:
    """``root/relative``, refusing anything (symlinks included) that resolves outside root."""
    base = Path(root).resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise IntegrityError(
            f"{relative!r} resolves to {target}, outside the export directory {base}; "
            "refusing to use it (was a file or folder replaced by a symlink?): replace it "
            "with a real file or folder, or re-export the model"
        )
    return target
