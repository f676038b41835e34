"""Open an export directory: read its manifest, check every file it lists, and check that each
graph reads its tensors' data only from files its manifest entry lists."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ese.format.confined import resolve_inside
from ese.format.contract import TOKENIZER_FILE
from ese.format.errors import ExportDirError, IntegrityError, ManifestError
from ese.format.files import sha256_of
from ese.format.graph_external_data import external_locations
from ese.format.manifest import FileEntry, GraphEntry, Manifest, read_manifest
from ese.format.protobuf_wire import ProtobufError


@dataclass(frozen=True)
class ExportDir:
    """A verified export directory: its root and its manifest."""

    root: Path
    manifest: Manifest

    def path(self, entry: FileEntry | str) -> Path:
        relative = entry.path if isinstance(entry, FileEntry) else entry
        return resolve_inside(self.root, relative)

    @property
    def tokenizer_file(self) -> Path:
        """``tokenizer/tokenizer.json``, which the manifest must list (so its sha256 is checked)."""
        if not any(f.path == TOKENIZER_FILE for f in self.manifest.tokenizer):
            raise ManifestError(
                f"the manifest of {self.root} does not list {TOKENIZER_FILE}, so its sha256 "
                "cannot be checked; refusing to use it: re-export the model"
            )
        return self.path(TOKENIZER_FILE)


def verify_file(root: Path, entry: FileEntry) -> None:
    """Check one listed file's presence, size and sha256."""
    path = resolve_inside(root, entry.path)
    if not path.is_file():
        raise IntegrityError(
            f"{entry.path} is listed in the manifest but missing from {root}; "
            "the export is incomplete: re-export the model"
        )
    size = path.stat().st_size
    if size != entry.bytes:
        raise IntegrityError(
            f"{entry.path} is {size} bytes, the manifest says {entry.bytes}: the file was "
            "truncated or replaced; re-export the model"
        )
    digest = sha256_of(path)
    if digest != entry.sha256:
        raise IntegrityError(
            f"{entry.path} has sha256 {digest[:12]}..., the manifest says "
            f"{entry.sha256[:12]}...: the file was modified; re-export the model"
        )


def verify_external_data(root: Path, graph: GraphEntry) -> None:
    """Every file the graph reads its tensors' data from is one of its listed (checked) files."""
    path = resolve_inside(root, graph.file.path)
    try:
        locations = external_locations(path)
    except ProtobufError as exc:
        raise IntegrityError(
            f"{graph.file.path} is not an ONNX graph ({exc}); re-export the model"
        ) from None
    folder = PurePosixPath(graph.file.path).parent
    listed = {f.path for f in graph.external_data}
    for location in sorted(locations):
        relative = posixpath.normpath(str(folder / location)) if location else ""
        if not location or PurePosixPath(location).is_absolute() or relative not in listed:
            raise IntegrityError(
                f"{graph.file.path} reads tensor data from {location!r}, which its manifest "
                f"entry does not list (it lists: {', '.join(sorted(listed)) or 'none'}), so "
                "that file's sha256 is never checked; refusing the graph: re-export the model"
            )


def open_export(root: str | Path, *, verify: bool = True) -> ExportDir:
    """Read ``root/manifest.json`` and (by default) check every listed file's size and sha256."""
    root = Path(root)
    if not root.exists():
        raise ExportDirError(
            f"export directory {root} does not exist (create one with `ese-export --out {root}`)"
        )
    if not root.is_dir():
        raise ExportDirError(
            f"{root} is a file, not an export directory: give the directory ese-export wrote "
            "(the one holding manifest.json)"
        )
    manifest = read_manifest(root)
    if verify:
        for entry in manifest.all_files():
            verify_file(root, entry)
        for graph in manifest.graphs:
            verify_external_data(root, graph)
    return ExportDir(root=root, manifest=manifest)
